package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
)

// TestAppsCLIAgainstServer drives the application commands against a real
// server on SQLite and PostgreSQL: create from the catalog and by hand,
// assign a group, preview, rotate the certificate, clean up.
func TestAppsCLIAgainstServer(t *testing.T) {
	for _, eng := range []string{"sqlite", "postgres"} {
		t.Run(eng, func(t *testing.T) {
			srv := startCLIServer(t, eng)
			env := srv.Env
			cli := func(args ...string) (string, string, int) {
				t.Helper()
				var out, errb bytes.Buffer
				code := run(args, strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
				return out.String(), errb.String(), code
			}
			must := func(args ...string) string {
				t.Helper()
				out, errs, code := cli(args...)
				if code != 0 {
					t.Fatalf("idcenter %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
				}
				return out
			}

			must("users", "create", "alice", "--email", "alice@example.com", "--given-name", "Alice", "--family-name", "Smith")
			must("groups", "create", "Analysts", "--member", "alice")

			if out := must("apps", "catalog"); !strings.Contains(out, "heap") || !strings.Contains(out, "aws-account") {
				t.Fatalf("catalog:\n%s", out)
			}
			if out := must("apps", "catalog", "heap"); !strings.Contains(out, "## Set up Heap") {
				t.Fatalf("catalog heap:\n%s", out)
			}
			_, errs, code := cli("apps", "create", "Heap", "--template", "heap")
			if code != 1 || !strings.Contains(errs, "acs[0].url: replace the placeholder <app-id>") {
				t.Fatalf("heap without its app id: %d %s", code, errs)
			}
			_, errs, code = cli("apps", "create", "Evil", "--entity-id", "urn:evil", "--acs", "javascript:alert(document.domain)")
			if code != 1 || !strings.Contains(errs, "400 Bad Request") || !strings.Contains(errs, "acs[0].url") {
				t.Fatalf("javascript ACS: %d %s", code, errs)
			}
			must("apps", "create", "Heap", "--template", "heap", "--acs", "https://heapanalytics.com/saml/finalize/42/")
			must("apps", "create", "Wiki", "--entity-id", "urn:wiki", "--acs", "http://127.0.0.1:8080/acs",
				"--name-id-format", "persistent", "--attribute", "groups=${user:groups};basic", "--attribute", "mail=${user:email}")
			_, errs, code = cli("apps", "update", "Wiki", "--attribute", "x=${user:groups}!")
			if code != 1 || !strings.Contains(errs, "${user:groups} at position 1") {
				t.Fatalf("multi-valued concatenation: %d %s", code, errs)
			}

			must("apps", "assign", "Heap", "--group", "analysts")
			if out := must("apps", "assignments", "Heap"); !strings.Contains(out, "group") || !strings.Contains(out, "Analysts") {
				t.Fatalf("assignments:\n%s", out)
			}
			out := must("apps", "preview", "Heap", "--user", "alice")
			if !strings.Contains(out, "alice@example.com") || !strings.Contains(out, "Assigned:") || strings.Contains(out, "Warning") {
				t.Fatalf("preview:\n%s", out)
			}
			out = must("apps", "preview", "Wiki", "--user", "alice")
			if !strings.Contains(out, "not assigned") || !strings.Contains(out, "groups = Analysts") {
				t.Fatalf("wiki preview:\n%s", out)
			}

			var got map[string]any
			if err := json.Unmarshal([]byte(must("apps", "get", "heap", "-o", "json")), &got); err != nil {
				t.Fatal(err)
			}
			if got["entityId"] != "heapanalytics.com" || got["template"] != "heap" {
				t.Fatalf("apps get -o json: %v", got)
			}
			if out := must("apps", "list"); !strings.Contains(out, "Heap") || !strings.Contains(out, "Wiki") {
				t.Fatalf("apps list:\n%s", out)
			}

			pemOut := must("apps", "certificate", "Heap")
			if b, _ := pem.Decode([]byte(pemOut)); b == nil || b.Type != "CERTIFICATE" {
				t.Fatalf("certificate:\n%s", pemOut)
			}
			var next map[string]any
			if err := json.Unmarshal([]byte(must("apps", "certificates", "add", "Heap", "-o", "json")), &next); err != nil {
				t.Fatal(err)
			}
			var certs []map[string]any
			if err := json.Unmarshal([]byte(must("apps", "certificates", "list", "Heap", "-o", "json")), &certs); err != nil {
				t.Fatal(err)
			}
			if len(certs) != 2 || certs[0]["status"] != "active" || certs[1]["status"] != "next" {
				t.Fatalf("certificates: %v", certs)
			}
			must("apps", "certificates", "activate", "Heap", next["id"].(string))
			must("apps", "certificates", "remove", "Heap", certs[0]["id"].(string))
			if got := must("apps", "certificate", "Heap"); got != next["pem"] {
				t.Fatal("the active certificate is not the rotated one")
			}

			must("apps", "unassign", "Heap", "--group", "Analysts")
			must("apps", "update", "Heap", "--disabled")
			must("apps", "delete", "Heap")
			if _, errs, code := cli("apps", "get", "Heap"); code != 1 || !strings.Contains(errs, "404") {
				t.Fatalf("get after delete: %d %s", code, errs)
			}
		})
	}
}

// TestAppsIncludeAWSRolesCLI: `apps create/update --include-aws-roles
// --aws-role-account` set the option, and `apps get` shows it.
func TestAppsIncludeAWSRolesCLI(t *testing.T) {
	srv := startCLIServer(t, "sqlite")
	cli := func(args ...string) string {
		t.Helper()
		out, errs, code := srv.run("", args...)
		if code != 0 {
			t.Fatalf("idcenter %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
		}
		return out
	}
	cli("accounts", "create", "111111111111", "--name", "prod")
	cli("apps", "create", "Data platform", "--entity-id", "https://data.example/sp", "--acs", "https://data.example/acs", "--include-aws-roles")
	if out := cli("apps", "get", "Data platform"); !strings.Contains(out, "included (all accounts)") {
		t.Fatalf("get:\n%s", out)
	}
	cli("apps", "update", "Data platform", "--aws-role-account", "111111111111")
	if out := cli("apps", "get", "Data platform", "-o", "json"); !strings.Contains(out, `"awsRoleAccounts": [`) || !strings.Contains(out, `"111111111111"`) {
		t.Fatalf("json:\n%s", out)
	}
	cli("apps", "update", "Data platform", "--no-include-aws-roles")
	if out := cli("apps", "get", "Data platform"); strings.Contains(out, "AWS roles") {
		t.Fatalf("after --no-include-aws-roles:\n%s", out)
	}
}
