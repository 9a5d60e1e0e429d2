package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAccountsCLIAgainstServer drives the account and permission set
// commands against a real server on SQLite and PostgreSQL: create, list as
// a table and as JSON, assign a group and a user, update, errors as one
// line with exit 1, a declarative round trip with an inline policy file,
// and clean-up.
func TestAccountsCLIAgainstServer(t *testing.T) {
	for _, eng := range []string{"sqlite", "postgres"} {
		t.Run(eng, func(t *testing.T) {
			srv := startCLIServer(t, eng)
			env := srv.Env
			cli := func(stdin string, args ...string) (string, string, int) {
				t.Helper()
				var out, errb bytes.Buffer
				code := run(args, strings.NewReader(stdin), &out, &errb, func(k string) string { return env[k] })
				return out.String(), errb.String(), code
			}
			must := func(args ...string) string {
				t.Helper()
				out, errs, code := cli("", args...)
				if code != 0 {
					t.Fatalf("idcenter %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
				}
				return out
			}
			fails := func(want string, args ...string) {
				t.Helper()
				out, errs, code := cli("", args...)
				if code != 1 || !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 || out != "" {
					t.Errorf("idcenter %s: exit %d, stdout %q, stderr %q; want exit 1 and one line with %q", strings.Join(args, " "), code, out, errs, want)
				}
			}
			jsonOf := func(out string, v any) {
				t.Helper()
				if m, ok := v.(*map[string]any); ok {
					*m = nil // Unmarshal keeps the keys of a map it decodes into
				}
				if err := json.Unmarshal([]byte(out), v); err != nil {
					t.Fatalf("%v:\n%s", err, out)
				}
			}

			must("users", "create", "alice", "--email", "alice@example.com")
			must("groups", "create", "Developers", "--member", "alice")

			if out := must("accounts", "create", "111111111111", "--name", "prod", "--description", "Production",
				"--sts-endpoint", "https://sts.eu-west-1.amazonaws.com/", "--default-region", "eu-west-1"); !strings.Contains(out, "Created account prod (111111111111)") {
				t.Errorf("create:\n%s", out)
			}
			must("accounts", "create", "222222222222", "--name", "staging", "--saml-provider", "idc-staging", "--sts-region", "us-east-2",
				"--sign-in-url", "https://us-east-2.signin.aws.amazon.com/saml")
			fails("400 Bad Request: invalid input: id: must be a 12-digit AWS account id", "accounts", "create", "12345", "--name", "bad")
			fails("409 Conflict", "accounts", "create", "333333333333", "--name", "PROD")
			fails("--name", "accounts", "create", "333333333333")

			var accounts []map[string]any
			jsonOf(must("accounts", "list", "-o", "json"), &accounts)
			if len(accounts) != 2 || accounts[0]["name"] != "prod" || accounts[0]["samlProvider"] != "idcenter" || accounts[1]["stsRegion"] != "us-east-2" {
				t.Fatalf("accounts list -o json: %v", accounts)
			}
			table := must("accounts", "list")
			if !strings.Contains(table, "SAML PROVIDER") || !strings.Contains(table, "https://sts.us-east-2.amazonaws.com/") || !strings.Contains(table, "idc-staging") {
				t.Errorf("accounts list:\n%s", table)
			}
			if out := must("accounts", "get", "staging"); !strings.Contains(out, "arn:aws:iam::222222222222:saml-provider/idc-staging") {
				t.Errorf("accounts get:\n%s", out)
			}

			dir := t.TempDir()
			policy := filepath.Join(dir, "deny.json")
			os.WriteFile(policy, []byte(`{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}`), 0o600)
			must("permission-sets", "create", "ReadOnly", "--managed-policy", "arn:aws:iam::aws:policy/ReadOnlyAccess",
				"--managed-policy", "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess", "--session-duration", "PT4H",
				"--customer-policy", "Billing:/finance/", "--customer-policy", "Audit", "--inline-policy-file", policy,
				"--boundary-managed-policy", "arn:aws:iam::aws:policy/PowerUserAccess", "--tag", "team=platform",
				"--relay-state", "https://console.aws.amazon.com/ec2/", "--description", "Look, don't touch")
			fails("--boundary-managed-policy and --boundary-customer-policy can't be used together", "permission-sets", "create", "X",
				"--boundary-managed-policy", "arn:aws:iam::aws:policy/A", "--boundary-customer-policy", "B")
			fails("sessionDuration", "permission-sets", "create", "Long", "--session-duration", "PT13H")
			fails("--tag \"nokey\": want KEY=VALUE", "permission-sets", "create", "T", "--tag", "nokey")
			var ps map[string]any
			jsonOf(must("permission-sets", "get", "readonly", "-o", "json"), &ps)
			if ps["sessionDuration"] != "PT4H" || ps["iamRoleName"] != "idcenter-ReadOnly" || len(ps["managedPolicies"].([]any)) != 2 ||
				ps["customerPolicies"].([]any)[1].(map[string]any)["path"] != "/" || !strings.Contains(ps["inlinePolicy"].(string), "iam:*") ||
				ps["permissionsBoundary"].(map[string]any)["managedPolicyArn"] != "arn:aws:iam::aws:policy/PowerUserAccess" {
				t.Fatalf("permission-sets get -o json: %v", ps)
			}
			// The boundary is replaced, not merged; "" clears a list.
			must("permission-sets", "update", "ReadOnly", "--boundary-customer-policy", "Boundary", "--managed-policy", "", "--role-name", "RO")
			jsonOf(must("permission-sets", "get", "ReadOnly", "-o", "json"), &ps)
			if b := ps["permissionsBoundary"].(map[string]any); b["managedPolicyArn"] != nil || b["customerPolicy"].(map[string]any)["name"] != "Boundary" ||
				ps["managedPolicies"] != nil || ps["iamRoleName"] != "RO" || ps["version"] != float64(2) {
				t.Fatalf("after update: %v", ps)
			}
			if out := must("permission-sets", "get", "ReadOnly"); !strings.Contains(out, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny"`) ||
				!strings.Contains(out, "customer policy /Boundary") || !strings.Contains(out, "/finance/Billing") {
				t.Errorf("permission-sets get:\n%s", out)
			}
			if out := must("permission-sets", "list"); !strings.Contains(out, "2 customer, inline, boundary") || !strings.Contains(out, "RO") {
				t.Errorf("permission-sets list:\n%s", out)
			}
			fails("nothing to update", "permission-sets", "update", "ReadOnly")
			fails("409 Conflict", "permission-sets", "update", "ReadOnly", "--description", "x", "--if-version", "1")

			must("accounts", "assign", "111111111111", "--permission-set", "ReadOnly", "--group", "Developers")
			if out := must("accounts", "assign", "prod", "--permission-set", "ReadOnly", "--user", "alice"); !strings.Contains(out, "Assigned ReadOnly to user alice in account prod") {
				t.Errorf("assign:\n%s", out)
			}
			must("accounts", "assign", "staging", "--permission-set", "ReadOnly", "--user", "alice")
			fails("missing flags: --", "accounts", "assign", "prod", "--permission-set", "ReadOnly")
			fails("permissionSet: no permission set", "accounts", "assign", "prod", "--permission-set", "Nope", "--user", "alice")
			if out := must("accounts", "assignments", "prod"); !strings.Contains(out, "PERMISSION SET") || !strings.Contains(out, "Developers") || strings.Contains(out, "staging") {
				t.Errorf("assignments prod:\n%s", out)
			}
			var all []map[string]any
			jsonOf(must("accounts", "assignments", "-o", "json"), &all)
			if len(all) != 3 {
				t.Fatalf("all assignments: %v", all)
			}
			out := must("accounts", "assignments")
			if strings.Index(out, "prod") > strings.Index(out, "staging") {
				t.Errorf("assignments are not in account name order:\n%s", out)
			}
			must("accounts", "unassign", "prod", "--permission-set", "ReadOnly", "--user", "alice")
			if out := must("accounts", "assignments", "prod"); strings.Contains(out, "alice") {
				t.Errorf("after unassign:\n%s", out)
			}

			if out := must("accounts", "update", "prod", "--name", "production", "--sts-endpoint", ""); !strings.Contains(out, "Updated account production (version 2)") {
				t.Errorf("update:\n%s", out)
			}
			var acct map[string]any
			jsonOf(must("accounts", "get", "111111111111", "-o", "json"), &acct)
			if acct["name"] != "production" || acct["stsEndpoint"] != nil || acct["defaultRegion"] != "eu-west-1" {
				t.Errorf("after update: %v", acct)
			}

			// Declarative: the export applies as a no-op; a document with an
			// inline policy file creates a permission set.
			exported := filepath.Join(dir, "export.yaml")
			must("export", "-f", exported)
			if out := must("apply", "-f", exported); !strings.Contains(out, "No changes") {
				t.Fatalf("export → apply is not a no-op:\n%s", out)
			}
			b, _ := os.ReadFile(exported)
			doc := strings.Replace(string(b), "permission_sets:\n", "permission_sets:\n  - name: Deny\n    inline_policy_file: deny.json\n", 1)
			docFile := filepath.Join(dir, "doc.yaml")
			os.WriteFile(docFile, []byte(doc), 0o600)
			if out := must("apply", "-f", docFile); !strings.Contains(out, "+ permission_set Deny: ") || !strings.Contains(out, "inline_policy") {
				t.Errorf("apply with inline_policy_file:\n%s", out)
			}

			must("accounts", "delete", "production")
			must("permission-sets", "delete", "ReadOnly")
			fails("404", "accounts", "get", "prod")
			fails("404", "permission-sets", "get", "ReadOnly")
			if out := must("accounts", "assignments"); strings.Contains(out, "ReadOnly") {
				t.Errorf("assignments after deletes:\n%s", out)
			}
		})
	}
}
