package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcenter/idcenter/internal/app"
	"github.com/idcenter/idcenter/internal/config"
	"github.com/idcenter/idcenter/internal/testenv"
)

// TestCLIAgainstServer drives the real CLI against a real server (on
// loopback, in-process) on SQLite and PostgreSQL: the README quickstart,
// the JSON output, errors, and export → apply being a no-op.
func TestCLIAgainstServer(t *testing.T) {
	for _, eng := range []string{"sqlite", "postgres"} {
		t.Run(eng, func(t *testing.T) {
			cfg := config.Defaults()
			cfg.DataDir = t.TempDir()
			if eng == "postgres" {
				cfg.Database = testenv.PostgresDSN(t)
			}
			const token = "idc_e2e-bootstrap-token-0123456789"
			tf := filepath.Join(cfg.DataDir, "token")
			os.WriteFile(tf, []byte(token), 0o600)
			cfg.Bootstrap.TokenFile = tf
			a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(a.Handler())
			t.Cleanup(func() { srv.Close(); a.Close() })
			home := t.TempDir()
			env := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, ".config")}
			getenv := func(k string) string { return env[k] }
			cli := func(stdin string, args ...string) (string, string, int) {
				t.Helper()
				var out, errb bytes.Buffer
				code := run(args, strings.NewReader(stdin), &out, &errb, getenv)
				return out.String(), errb.String(), code
			}
			must := func(stdin string, args ...string) string {
				t.Helper()
				out, errs, code := cli(stdin, args...)
				if code != 0 {
					t.Fatalf("idcenter %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
				}
				return out
			}

			must(token+"\n", "login", "--url", srv.URL, "--token-stdin")
			must("", "groups", "create", "Developers", "--description", "People who write code")
			must("", "users", "create", "alice", "--email", "alice@example.com", "--given-name", "Alice", "--family-name", "Smith")
			must("", "groups", "add-member", "Developers", "alice")
			must("a long passphrase\n", "users", "set-password", "alice", "--password-stdin")

			table := must("", "users", "list")
			if !strings.Contains(table, "alice") || !strings.Contains(table, "alice@example.com") || !strings.Contains(table, "USERNAME") {
				t.Fatalf("users list:\n%s", table)
			}
			var u map[string]any
			if err := json.Unmarshal([]byte(must("", "users", "get", "ALICE", "-o", "json")), &u); err != nil {
				t.Fatal(err)
			}
			if u["userName"] != "alice" || u["name"].(map[string]any)["familyName"] != "Smith" {
				t.Fatalf("users get -o json: %v", u)
			}
			members := must("", "groups", "members", "developers")
			if !strings.Contains(members, "alice") {
				t.Fatalf("members:\n%s", members)
			}

			// errors: one line on stderr, exit 1
			_, errs, code := cli("", "users", "create", "Alice", "--email", "x@example.com")
			if code != 1 || !strings.Contains(errs, "409") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Fatalf("duplicate user: exit %d, stderr %q", code, errs)
			}
			_, errs, code = cli("", "users", "create", "zed", "--email", "not-an-email")
			if code != 1 || !strings.Contains(errs, "email") {
				t.Fatalf("bad email: exit %d, stderr %q", code, errs)
			}

			secret := strings.TrimSpace(must("", "tokens", "create", "--name", "ci", "--role", "auditor"))
			if !strings.HasPrefix(secret, "idc_") {
				t.Fatalf("tokens create printed %q", secret)
			}
			if !strings.Contains(must("", "tokens", "list"), "ci") {
				t.Fatal("token not listed")
			}

			// declarative: apply a file, then export → apply is a no-op
			doc := filepath.Join(t.TempDir(), "idcenter.yaml")
			os.WriteFile(doc, []byte("users:\n  - username: bob\n    email: bob@example.com\n    given_name: Bob\ngroups:\n  - name: Operations\n    members: [alice, bob]\n"), 0o600)
			plan := must("", "apply", "-f", doc, "--dry-run")
			if !strings.Contains(plan, "bob") || !strings.Contains(plan, "Operations") {
				t.Fatalf("dry-run plan:\n%s", plan)
			}
			if _, _, code := cli("", "users", "get", "bob"); code != 1 {
				t.Fatal("dry-run created bob")
			}
			must("", "apply", "-f", doc)
			if !strings.Contains(must("", "groups", "members", "Operations"), "bob") {
				t.Fatal("apply did not add bob to Operations")
			}
			again := must("", "apply", "-f", doc)
			if !strings.Contains(again, "No changes") {
				t.Fatalf("second apply:\n%s", again)
			}
			exported := filepath.Join(t.TempDir(), "export.yaml")
			must("", "export", "-f", exported)
			if out := must("", "apply", "-f", exported); !strings.Contains(out, "No changes") {
				t.Fatalf("export → apply is not a no-op:\n%s", out)
			}
			b, _ := os.ReadFile(exported)
			if !strings.Contains(string(b), "username: alice") || strings.Contains(string(b), "passphrase") {
				t.Fatalf("export:\n%s", b)
			}

			audit := must("", "audit", "list", "--action", "user.*", "--limit", "100")
			for _, want := range []string{"user.create", "user.password.set"} {
				if !strings.Contains(audit, want) {
					t.Errorf("audit list lacks %s:\n%s", want, audit)
				}
			}
			must("", "tokens", "revoke", "ci")
		})
	}
}
