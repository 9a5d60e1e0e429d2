package console_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/tokens"
)

var (
	secretRE   = regexp.MustCompile(`id="scim-token" class="secret">(idc_[A-Za-z0-9_-]+)<`)
	revokeRE   = regexp.MustCompile(`action="/console/scim/tokens/([0-9a-f-]+)/revoke"`)
	scimNavRE  = regexp.MustCompile(`<a href="/console/scim" aria-current="page">Provisioning \(SCIM\)</a>`)
	tokenRowRE = func(name string) *regexp.Regexp {
		return regexp.MustCompile(`(?s)<td>` + regexp.QuoteMeta(name) + ` <span class="muted small">idc_[^<]*</span></td>(.*?)</tr>`)
	}
)

// TestSCIMTokensPage: the Provisioning page shows the SCIM base URL and the
// tokens; a created token's secret is shown once, works as a SCIM token and
// never appears again; expiry warnings; revocation.
func TestSCIMTokensPage(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		b := e.signedIn("root")
		base := e.app.Config.PublicURL() + "/scim/v2"

		p := b.get("/console/scim")
		expect(t, p, http.StatusOK, `<code id="scim-base-url">`+base+`</code>`, "No SCIM tokens yet.", `action="/console/scim/tokens"`)
		if !scimNavRE.MatchString(p.Body) {
			t.Errorf("the sidebar lacks the current Provisioning (SCIM) link:\n%s", p.Body)
		}
		if p := b.get("/console"); !strings.Contains(p.Body, `<a href="/console/scim">Provisioning (SCIM)</a>`) {
			t.Error("the console sidebar lacks the Provisioning (SCIM) link")
		}

		// create: the secret is on the result page, once
		start := time.Now()
		p = b.post("/console/scim/tokens", url.Values{"name": {"okta"}, "lifetime": {"90"}})
		expect(t, p, http.StatusOK, "SCIM token created", "shown only this once", base, "okta")
		m := secretRE.FindStringSubmatch(p.Body)
		if m == nil {
			t.Fatalf("no secret on the result page:\n%s", p.Body)
		}
		secret := m[1]
		actor, err := e.app.Tokens.Authenticate(ctx, secret)
		if err != nil || actor.Role != audit.RoleSCIM || actor.Name != "okta" || actor.Type != audit.ActorToken {
			t.Fatalf("the shown secret authenticates as %+v, %v", actor, err)
		}
		list, err := e.app.Tokens.ListSCIM(ctx, audit.System)
		if err != nil || len(list) != 1 || list[0].ExpiresAt == nil {
			t.Fatalf("SCIM tokens: %+v, %v", list, err)
		}
		if d := list[0].ExpiresAt.Sub(start); d < 90*24*time.Hour-time.Minute || d > 90*24*time.Hour+time.Minute {
			t.Errorf("expires in %v, want 90 days", d)
		}

		// a second one that expires within 30 days: flagged
		expect(t, b.post("/console/scim/tokens", url.Values{"name": {"okta-next"}, "lifetime": {"30"}}), http.StatusOK, "SCIM token created")
		p = b.get("/console/scim")
		expect(t, p, http.StatusOK, `id="scim-tokens"`)
		if strings.Contains(p.Body, secret) || strings.Contains(p.Body, secret[8:]) {
			t.Fatal("the list shows the secret")
		}
		okta, next := tokenRowRE("okta").FindStringSubmatch(p.Body), tokenRowRE("okta-next").FindStringSubmatch(p.Body)
		if okta == nil || next == nil {
			t.Fatalf("token rows missing:\n%s", p.Body)
		}
		// okta was used (authenticated above): its last use is shown.
		if strings.Contains(okta[1], "Expires soon") || !strings.Contains(okta[1], `<span class="badge">Active</span>`) || strings.Contains(okta[1], "Never") {
			t.Errorf("okta row: %s", okta[1])
		}
		if !strings.Contains(next[1], "Expires soon") || !strings.Contains(next[1], "Never") {
			t.Errorf("okta-next row lacks the warning or shows a use: %s", next[1])
		}

		// form errors keep the values; nothing is created
		expect(t, b.post("/console/scim/tokens", url.Values{"name": {"okta"}, "lifetime": {"365"}}), http.StatusConflict,
			`id="token-name-error"`, "Another token already has this name.")
		expect(t, b.post("/console/scim/tokens", url.Values{"name": {" "}, "lifetime": {"365"}}), http.StatusBadRequest, `id="token-name-error"`)
		for _, lifetime := range []string{"999", "", "-1", "1000000"} {
			expect(t, b.post("/console/scim/tokens", url.Values{"name": {"x"}, "lifetime": {lifetime}}), http.StatusBadRequest,
				`id="token-lifetime-error"`, `value="x"`)
		}
		if list, _ := e.app.Tokens.ListSCIM(ctx, audit.System); len(list) != 2 {
			t.Fatalf("%d SCIM tokens after the refused forms, want 2", len(list))
		}

		// revoke needs the CSRF token
		ids := revokeRE.FindAllStringSubmatch(p.Body, -1)
		if len(ids) != 2 {
			t.Fatalf("revoke buttons: %q", ids)
		}
		oktaID := list[len(list)-1].ID // oldest last
		if p := b.do("POST", "/console/scim/tokens/"+oktaID+"/revoke", url.Values{"csrf": {"forged-token-forged-token"}}); p.Status != http.StatusForbidden {
			t.Fatalf("revoke without the CSRF token: %d", p.Status)
		}
		if _, err := e.app.Tokens.Authenticate(ctx, secret); err != nil {
			t.Fatalf("token revoked without CSRF: %v", err)
		}
		p = b.post("/console/scim/tokens/"+oktaID+"/revoke", nil)
		loc := expectRedirect(t, p, "/console/scim?done=scim-token-revoked")
		if _, err := e.app.Tokens.Authenticate(ctx, secret); !errors.Is(err, errs.ErrUnauthenticated) {
			t.Fatalf("revoked token authenticates: %v", err)
		}
		p = b.get(loc)
		expect(t, p, http.StatusOK, "The SCIM token was revoked")
		if row := tokenRowRE("okta").FindStringSubmatch(p.Body); row == nil || !strings.Contains(row[1], "Revoked") || strings.Contains(row[1], "/revoke") {
			t.Errorf("revoked row: %v", row)
		}

		// the page cannot revoke an admin API token
		adm, admSecret, err := e.app.Tokens.Create(ctx, audit.System, tokens.CreateRequest{Name: "deploy", Role: audit.RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		if p := b.post("/console/scim/tokens/"+adm.ID+"/revoke", nil); p.Status != http.StatusNotFound {
			t.Errorf("revoking an admin token through the SCIM page: %d", p.Status)
		}
		if _, err := e.app.Tokens.Authenticate(ctx, admSecret); err != nil {
			t.Errorf("admin token after the attempt: %v", err)
		}
		if p := b.get("/console/scim"); strings.Contains(p.Body, "deploy") {
			t.Error("the SCIM page lists an admin API token")
		}

		// audited with the administrator as actor
		evs, _, err := e.app.Store.ListAudit(ctx, audit.Filter{Action: "token.", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range evs {
			if ev.Actor.Name == "root" {
				got = append(got, ev.Action+" "+ev.TargetName)
			}
		}
		if want := "token.revoke okta,token.create okta-next,token.create okta"; strings.Join(got, ",") != want {
			t.Errorf("audit by root: %q, want %q", got, want)
		}
	})
}

// TestProvisionedBySCIM: users and groups an identity provider provisioned
// carry a badge and a warning on their edit forms, which still work.
func TestProvisionedBySCIM(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		b := e.signedIn("root")
		sync := e.createUser(directory.User{UserName: "synced", Active: true, ManagedBy: directory.ManagedBySCIM}, "")
		g, err := e.app.Directory.CreateGroup(ctx, audit.System, directory.Group{DisplayName: "Synced Group", ManagedBy: directory.ManagedBySCIM}, []string{"synced"})
		if err != nil {
			t.Fatal(err)
		}
		hand, err := e.app.Directory.CreateGroup(ctx, audit.System, directory.Group{DisplayName: "Hand Group"}, nil)
		if err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct {
			path        string
			provisioned bool
		}{
			{"/console/users/" + sync.ID, true},
			{"/console/users/" + e.bob.ID, false},
			{"/console/groups/" + g.ID, true},
			{"/console/groups/" + hand.ID, false},
		} {
			p := b.get(tc.path)
			expect(t, p, http.StatusOK, `id="save"`)
			hasBadge := strings.Contains(p.Body, `<span id="provisioned" class="badge">Provisioned by SCIM</span>`)
			hasWarning := strings.Contains(p.Body, `id="scim-warning"`) && strings.Contains(p.Body, "overwritten by its next sync")
			if hasBadge != tc.provisioned || hasWarning != tc.provisioned {
				t.Errorf("%s: badge %v, warning %v; want %v", tc.path, hasBadge, hasWarning, tc.provisioned)
			}
		}
		users := b.get("/console/users")
		if !strings.Contains(users.Body, `>synced</a> <span class="badge" title="Provisioned by SCIM">SCIM</span>`) ||
			strings.Contains(users.Body, `>bob</a> <span class="badge" title="Provisioned by SCIM">`) {
			t.Errorf("users list badges:\n%s", users.Body)
		}
		groups := b.get("/console/groups")
		if !strings.Contains(groups.Body, `>Synced Group</a> <span class="badge" title="Provisioned by SCIM">SCIM</span>`) ||
			strings.Contains(groups.Body, `>Hand Group</a> <span class="badge"`) {
			t.Errorf("groups list badges:\n%s", groups.Body)
		}

		// The warning does not block: edits are saved, and the objects stay
		// provisioned.
		p := b.post("/console/users/"+sync.ID, url.Values{"version": {fmt.Sprint(sync.Version)}, "username": {"synced"}, "displayName": {"Edited by hand"}})
		expectRedirect(t, p, "/console/users/"+sync.ID+"?done=user-saved")
		if u := e.mustUser("synced"); u.DisplayName != "Edited by hand" || u.ManagedBy != directory.ManagedBySCIM {
			t.Errorf("after the edit: %q managed by %q", u.DisplayName, u.ManagedBy)
		}
		p = b.post("/console/groups/"+g.ID, url.Values{"version": {fmt.Sprint(g.Version)}, "displayName": {"Synced Group"}, "description": {"by hand"}})
		expectRedirect(t, p, "/console/groups/"+g.ID+"?done=group-saved")
		if g2, err := e.app.Directory.GetGroup(ctx, audit.System, g.ID); err != nil || g2.Description != "by hand" || g2.ManagedBy != directory.ManagedBySCIM {
			t.Errorf("group after the edit: %+v, %v", g2, err)
		}
	})
}
