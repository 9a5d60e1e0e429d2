package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/directory"
)

// TestAWSCLIAgainstServer drives "idcenter aws render" and "aws check"
// against a real server on SQLite and PostgreSQL: render one account to
// stdout and every account into a directory, check (exit 1 on drift, 0
// after rendering again), and drift after a certificate rotation.
func TestAWSCLIAgainstServer(t *testing.T) {
	for _, eng := range []string{"sqlite", "postgres"} {
		t.Run(eng, func(t *testing.T) {
			srv := startCLIServer(t, eng)
			a, env := srv.App, srv.Env
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

			// The model, through the services (the accounts CLI is another
			// command's business).
			ctx := context.Background()
			root := audit.Actor{Type: audit.ActorUser, ID: "t", Name: "test", Role: audit.RoleAdmin}
			if _, err := a.Directory.CreateGroup(ctx, root, directory.Group{DisplayName: "Developers"}, nil); err != nil {
				t.Fatal(err)
			}
			for _, acct := range []cloud.Account{{ID: "111111111111", Name: "prod"}, {ID: "222222222222", Name: "dev"}} {
				if _, err := a.Cloud.CreateAccount(ctx, root, acct); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := a.Cloud.CreatePermissionSet(ctx, root, cloud.PermissionSet{Name: "ReadOnly",
				ManagedPolicies: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}}); err != nil {
				t.Fatal(err)
			}
			for _, acct := range []string{"prod", "dev"} {
				if _, err := a.Cloud.Assign(ctx, root, cloud.AssignRequest{Account: acct, PermissionSet: "ReadOnly", PrincipalType: "group", Principal: "Developers"}); err != nil {
					t.Fatal(err)
				}
			}
			must("apps", "create", "AWS", "--template", "aws-account")

			// Never rendered: drift, exit 1, a table naming both accounts.
			out, errs, code := cli("aws", "check")
			if code != 1 || !strings.Contains(out, "ACCOUNT") || !strings.Contains(out, "222222222222") || !strings.Contains(out, "never rendered") ||
				!strings.Contains(errs, "drift in 2 account(s)") {
				t.Fatalf("check before render: exit %d\n%s%s", code, out, errs)
			}

			// One account to stdout.
			var cfn map[string]any
			if err := json.Unmarshal([]byte(must("aws", "render", "--account", "prod")), &cfn); err != nil {
				t.Fatal(err)
			}
			if _, ok := cfn["Resources"].(map[string]any)["RoleReadOnly"]; !ok {
				t.Fatalf("render: %v", cfn)
			}
			out = must("aws", "check", "--account", "prod")
			if !strings.Contains(out, "in sync") {
				t.Fatalf("check prod:\n%s", out)
			}
			// Several accounts need a directory.
			if _, errs, code := cli("aws", "render"); code != 1 || !strings.Contains(errs, "-f DIR") {
				t.Errorf("render all to stdout: exit %d %s", code, errs)
			}
			dir := filepath.Join(t.TempDir(), "iam")
			_, errs, _ = cli("aws", "render", "--format", "terraform", "-f", dir)
			for _, id := range []string{"111111111111", "222222222222"} {
				b, err := os.ReadFile(filepath.Join(dir, id, "idcenter-iam-"+id+".tf.json"))
				if err != nil || !bytes.Contains(b, []byte(`"aws_iam_saml_provider"`)) || !bytes.Contains(b, []byte("arn:aws:iam::aws:policy/ReadOnlyAccess")) {
					t.Fatalf("terraform for %s: %v %s (%s)", id, err, b, errs)
				}
			}
			out = must("aws", "check", "-o", "json")
			var ds []map[string]any
			if err := json.Unmarshal([]byte(out), &ds); err != nil || len(ds) != 2 || ds[0]["inSync"] != true || ds[1]["inSync"] != true {
				t.Fatalf("check -o json: %v\n%s", err, out)
			}
			// One account into an existing directory, as YAML.
			must("aws", "render", "--account", "dev", "--format", "cloudformation-yaml", "-f", dir)
			if b, err := os.ReadFile(filepath.Join(dir, "idcenter-iam-222222222222.yaml")); err != nil || !bytes.Contains(b, []byte("AWS::IAM::SAMLProvider")) {
				t.Fatalf("yaml: %v %s", err, b)
			}

			// Rotation: the next certificate must reach the providers.
			must("apps", "certificates", "add", "AWS")
			out, errs, code = cli("aws", "check", "--account", "dev")
			if code != 1 || !strings.Contains(out, "re-apply: provider metadata changed") || !strings.Contains(errs, "drift in 1 account(s)") {
				t.Fatalf("check after rotation: exit %d\n%s%s", code, out, errs)
			}
			must("aws", "render", "--account", "dev", "-f", filepath.Join(dir, "dev.json"))
			must("aws", "check", "--account", "dev")
			if _, _, code := cli("aws", "check"); code != 1 {
				t.Errorf("prod still drifts, yet check exits %d", code)
			}
		})
	}
}
