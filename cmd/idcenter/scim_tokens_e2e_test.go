package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
)

// TestSCIMTokensCLI: scim-tokens create (JSON with the secret in "token",
// or a table with a warning), list with expiry warnings, revoke by name or
// id, against a real server on SQLite and PostgreSQL.
func TestSCIMTokensCLI(t *testing.T) {
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
			must := func(args ...string) (string, string) {
				t.Helper()
				out, errs, code := cli(args...)
				if code != 0 {
					t.Fatalf("idcenter %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
				}
				return out, errs
			}
			ctx := context.Background()

			// -o json: the secret in "token", with the expiry and the base URL
			start := time.Now()
			out, _ := must("scim-tokens", "create", "okta", "-o", "json")
			var created struct {
				ID, Name, Role, Token, ScimBaseURL string
				ExpiresAt                          time.Time
			}
			if err := json.Unmarshal([]byte(out), &created); err != nil {
				t.Fatalf("%v in %s", err, out)
			}
			var raw map[string]any
			json.Unmarshal([]byte(out), &raw)
			if created.Name != "okta" || created.Role != "scim" || !strings.HasPrefix(created.Token, "idc_") ||
				raw["scimBaseUrl"] != a.Config.PublicURL()+"/scim/v2" {
				t.Errorf("create -o json: %s", out)
			}
			if d := created.ExpiresAt.Sub(start); d < 365*24*time.Hour-time.Minute || d > 365*24*time.Hour+time.Minute {
				t.Errorf("default expiry in %v", d)
			}
			if actor, err := a.Tokens.Authenticate(ctx, created.Token); err != nil || actor.Role != audit.RoleSCIM || actor.Name != "okta" {
				t.Errorf("printed secret authenticates as %+v, %v", actor, err)
			}

			// table: the secret once, the base URL, a warning on stderr
			out, errs := must("scim-tokens", "create", "okta-next", "--expires-in", "10d")
			secret := ""
			for _, line := range strings.Split(out, "\n") {
				if k, v, ok := strings.Cut(line, ":"); ok && k == "Token" {
					secret = strings.TrimSpace(v)
				}
			}
			if !strings.HasPrefix(secret, "idc_") || !strings.Contains(out, "SCIM base URL:") || !strings.Contains(out, "/scim/v2") ||
				!strings.Contains(errs, "will not be shown again") {
				t.Errorf("create table:\n%s\nstderr: %s", out, errs)
			}
			if _, err := a.Tokens.Authenticate(ctx, secret); err != nil {
				t.Errorf("table secret: %v", err)
			}
			at := time.Now().Add(400 * 24 * time.Hour).UTC().Truncate(time.Second)
			out, _ = must("scim-tokens", "create", "entra", "--expires-at", at.Format(time.RFC3339), "-o", "json")
			if !strings.Contains(out, `"expiresAt": "`+at.Format(time.RFC3339)+`"`) {
				t.Errorf("--expires-at: %s", out)
			}

			// refused input: one line on stderr, exit 1
			for _, tc := range []struct {
				args []string
				want string
			}{
				{[]string{"scim-tokens", "create", "x", "--expires-in", "soon"}, "--expires-in"},
				{[]string{"scim-tokens", "create", "x", "--expires-in", "-5d"}, "--expires-in"},
				{[]string{"scim-tokens", "create", "x", "--expires-at", "tomorrow"}, "--expires-at"},
				{[]string{"scim-tokens", "create", "x", "--expires-in", "900d"}, "expiresAt"},
				{[]string{"scim-tokens", "create", "x", "--expires-in", "1d", "--expires-at", at.Format(time.RFC3339)}, "can't be used together"},
				{[]string{"scim-tokens", "create", "okta"}, "409"},
				{[]string{"scim-tokens", "create"}, "expected \"<name>\""},
			} {
				_, errs, code := cli(tc.args...)
				if code != 1 || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
					t.Errorf("idcenter %s: exit %d, stderr %q; want 1 with %q", strings.Join(tc.args, " "), code, errs, tc.want)
				}
			}

			// list: newest first, the 10-day token flagged
			out, errs = must("scim-tokens", "list")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[0], "EXPIRES") || !strings.Contains(lines[0], "LAST USED") {
				t.Fatalf("list:\n%s", out)
			}
			byName := map[string]string{}
			for _, l := range lines[1:] {
				byName[strings.Fields(l)[0]] = l
			}
			// okta was used (authenticated above), entra not yet.
			if !strings.Contains(byName["okta-next"], "expires soon (!)") || strings.Contains(byName["okta"], "soon") ||
				strings.Contains(byName["okta"], "never") || !strings.Contains(byName["entra"], "never") || strings.Contains(byName["entra"], "soon") {
				t.Errorf("list rows: %q", byName)
			}
			if strings.Contains(out, created.Token) || strings.Contains(out, secret) || strings.Contains(out, "e2e-bootstrap") {
				t.Errorf("list shows a secret or an admin token:\n%s", out)
			}
			if !strings.Contains(errs, "1 SCIM token(s) expire within 30 days") {
				t.Errorf("list stderr: %q", errs)
			}
			out, _ = must("scim-tokens", "list", "-o", "json")
			var list []map[string]any
			if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 3 || list[1]["name"] != "okta-next" || list[1]["expiringSoon"] != true {
				t.Errorf("list -o json: %v\n%s", err, out)
			}

			// revoke by name and by id; an admin token is not a SCIM token
			out, _ = must("scim-tokens", "revoke", "okta")
			if !strings.Contains(out, "Revoked SCIM token okta") {
				t.Errorf("revoke: %q", out)
			}
			must("scim-tokens", "revoke", created.ID) // the same token, by id: no error
			if _, err := a.Tokens.Authenticate(ctx, created.Token); err == nil {
				t.Error("revoked token still authenticates")
			}
			if _, err := a.Tokens.Authenticate(ctx, secret); err != nil {
				t.Errorf("the other token after the rotation: %v", err)
			}
			if _, errs, code := cli("scim-tokens", "revoke", "bootstrap"); code != 1 || !strings.Contains(errs, "404") {
				t.Errorf("revoking the bootstrap admin token as a SCIM token: exit %d %q", code, errs)
			}
			if out, _ := must("scim-tokens", "list"); !strings.Contains(out, "revoked") {
				t.Errorf("list after revoke:\n%s", out)
			}

			// The admin token commands show SCIM tokens and refuse to make one.
			if out, _ := must("tokens", "list"); !strings.Contains(out, "okta-next") || !strings.Contains(out, "scim") {
				t.Errorf("tokens list:\n%s", out)
			}
			if _, errs, code := cli("tokens", "create", "--name", "x", "--role", "scim"); code != 1 || !strings.Contains(errs, "role") {
				t.Errorf("tokens create --role scim: exit %d %q", code, errs)
			}

			// A SCIM token cannot drive the admin CLI.
			env["IDCENTER_TOKEN"] = secret
			if _, errs, code := cli("users", "list"); code != 1 || !strings.Contains(errs, "403") {
				t.Errorf("users list with a SCIM token: exit %d %q", code, errs)
			}
			if _, errs, code := cli("scim-tokens", "create", "more"); code != 1 || !strings.Contains(errs, "403") {
				t.Errorf("scim-tokens create with a SCIM token: exit %d %q", code, errs)
			}
		})
	}
}
