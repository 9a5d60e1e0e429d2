package portal_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/app"
	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/config"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/portal"
	"github.com/idcenter/idcenter/internal/saml"
	"github.com/idcenter/idcenter/internal/testenv"
)

// fakeFederation stands in for the AWS federation (internal/awsfed): it
// returns a recognisable console sign-in and credentials, or err, and
// records which roles it was asked for.
type fakeFederation struct {
	mu    sync.Mutex
	calls []string // "console <role ARN>" / "keys <role ARN>"
	err   error
}

const fakeSignInURL = "https://signin.aws.amazon.com/saml"

func fakeResponse(role cloud.Role) string {
	return base64.StdEncoding.EncodeToString([]byte(`<samlp:Response>fake for ` + role.RoleARN + `</samlp:Response>`))
}

func (f *fakeFederation) record(kind string, role cloud.Role) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, kind+" "+role.RoleARN)
	return f.err
}

func (f *fakeFederation) ConsoleSignIn(_ context.Context, _ string, role cloud.Role) (cloud.ConsoleSignIn, error) {
	if err := f.record("console", role); err != nil {
		return cloud.ConsoleSignIn{}, err
	}
	return cloud.ConsoleSignIn{URL: fakeSignInURL, SAMLResponse: fakeResponse(role), RelayState: role.PermissionSet.RelayState}, nil
}

func (f *fakeFederation) AccessKeys(_ context.Context, _ string, role cloud.Role) (cloud.Credentials, error) {
	if err := f.record("keys", role); err != nil {
		return cloud.Credentials{}, err
	}
	return cloud.Credentials{AccessKeyID: "ASIAFAKE" + role.Account.ID, SecretAccessKey: "fakeSecret/Key+" + role.PermissionSet.Name,
		SessionToken: "FwoGZXIvYXdzEFAKE//token+=", Expiration: time.Now().Add(time.Hour).UTC().Truncate(time.Second)}, nil
}

func (f *fakeFederation) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeFederation) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// cloudSite is an instance with two accounts and permission sets:
// alice holds prod/ReadOnly and dev/Admin through the Developers group and
// dev/ReadOnly directly; prod/Admin belongs to the Ops group only.
type cloudSite struct {
	a   *app.App
	srv *httptest.Server
	fed *fakeFederation
}

func newCloudSite(t *testing.T, database string) *cloudSite {
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Database = database
	cfg.Auth.MFA.Mode = "never"
	cfg.Auth.MFA.AdminsExempt = true
	cfg.Auth.Argon2MemoryKiB, cfg.Auth.Argon2Iterations = 8*1024, 1
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() { srv.Close(); a.Close() })
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []directory.User{{UserName: "alice", Active: true}, {UserName: "root", Active: true, Role: directory.RoleAdmin}} {
		must(a.Directory.CreateUser(ctx, audit.System, u))
		must(nil, a.Directory.SetPassword(ctx, audit.System, u.UserName, "correct horse battery"))
	}
	must(a.Directory.CreateGroup(ctx, audit.System, directory.Group{DisplayName: "Developers"}, []string{"alice"}))
	must(a.Directory.CreateGroup(ctx, audit.System, directory.Group{DisplayName: "Ops"}, []string{"root"}))
	must(a.Cloud.CreateAccount(ctx, audit.System, cloud.Account{ID: "111111111111", Name: "prod", Description: "Production"}))
	must(a.Cloud.CreateAccount(ctx, audit.System, cloud.Account{ID: "222222222222", Name: "dev", DefaultRegion: "eu-west-1"}))
	must(a.Cloud.CreatePermissionSet(ctx, audit.System, cloud.PermissionSet{Name: "ReadOnly", Description: "Look, don't touch",
		RelayState: "https://console.aws.amazon.com/s3/home", ManagedPolicies: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}}))
	must(a.Cloud.CreatePermissionSet(ctx, audit.System, cloud.PermissionSet{Name: "Admin", ManagedPolicies: []string{"arn:aws:iam::aws:policy/AdministratorAccess"}}))
	for _, as := range []cloud.AssignRequest{
		{Account: "prod", PermissionSet: "ReadOnly", PrincipalType: "group", Principal: "Developers"},
		{Account: "dev", PermissionSet: "Admin", PrincipalType: "group", Principal: "Developers"},
		{Account: "dev", PermissionSet: "ReadOnly", PrincipalType: "user", Principal: "alice"},
		{Account: "prod", PermissionSet: "Admin", PrincipalType: "group", Principal: "Ops"},
	} {
		must(a.Cloud.Assign(ctx, audit.System, as))
	}
	fed := &fakeFederation{}
	a.Portal.Federation = fed
	return &cloudSite{a: a, srv: srv, fed: fed}
}

func forCloudEngines(t *testing.T, fn func(t *testing.T, s *cloudSite)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newCloudSite(t, "")) })
	t.Run("postgres", func(t *testing.T) { fn(t, newCloudSite(t, testenv.PostgresDSN(t))) })
}

func (s *cloudSite) signedIn(t *testing.T, user string) (*browser, string) {
	t.Helper()
	b := newBrowser(t, s.a, s.srv)
	if p := b.signIn(user, "correct horse battery", ""); p.status != http.StatusSeeOther {
		t.Fatalf("sign in %s: %d", user, p.status)
	}
	return b, csrfOf(t, b.get("/profile"))
}

// navigate is a GET as a browser sends it for a click on one of our pages.
func (b *browser) navigate(path, fetchSite string) page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.srv.URL+path, nil)
	if fetchSite != "" {
		req.Header.Set("Sec-Fetch-Site", fetchSite)
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{res.StatusCode, res.Header, string(body)}
}

func (s *cloudSite) events(t *testing.T, action string) []audit.Event {
	t.Helper()
	evs, _, err := s.a.Store.ListAudit(context.Background(), audit.Filter{Action: action, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

var roleRE = regexp.MustCompile(`<li class="role" data-permission-set="([^"]+)">`)
var accountRE = regexp.MustCompile(`<li class="account card" id="account-(\d+)">`)

// shownRoles lists "account/permission set" for each role on an Accounts page.
func shownRoles(t *testing.T, p page) []string {
	t.Helper()
	if p.status != http.StatusOK {
		t.Fatalf("accounts page: %d\n%s", p.status, p.body)
	}
	var out []string
	parts := accountRE.FindAllStringSubmatchIndex(p.body, -1)
	for i, m := range parts {
		end := len(p.body)
		if i+1 < len(parts) {
			end = parts[i+1][0]
		}
		acct := p.body[m[2]:m[3]]
		for _, r := range roleRE.FindAllStringSubmatch(p.body[m[1]:end], -1) {
			out = append(out, acct+"/"+r[1])
		}
	}
	return out
}

func TestAccountsView(t *testing.T) {
	forCloudEngines(t, func(t *testing.T, s *cloudSite) {
		alice, _ := s.signedIn(t, "alice")
		// the tab on /start, and the roles alice holds, by account name
		if p := alice.get("/start"); !strings.Contains(p.body, `id="accounts-tab"`) || !strings.Contains(p.body, `href="/start/accounts"`) {
			t.Fatalf("/start has no accounts tab:\n%s", p.body)
		}
		p := alice.get("/start/accounts")
		want := "222222222222/Admin 222222222222/ReadOnly 111111111111/ReadOnly"
		if got := strings.Join(shownRoles(t, p), " "); got != want {
			t.Fatalf("roles shown: %s, want %s", got, want)
		}
		for _, s := range []string{`<h3 class="account-name">dev <span class="muted small account-id">222222222222</span>`, `<h3 class="account-name">prod `, "Production", "Look, don&#39;t touch",
			`href="/start/accounts/111111111111/ReadOnly/console"`, `action="/start/accounts/222222222222/Admin/keys"`} {
			if !strings.Contains(p.body, s) {
				t.Errorf("accounts page lacks %q", s)
			}
		}
		if strings.Contains(p.body, "111111111111/Admin") {
			t.Error("alice sees prod/Admin, which only Ops holds")
		}

		// search, server-side, across accounts and roles
		for q, want := range map[string]string{
			"admin":       "222222222222/Admin",
			"PROD":        "111111111111/ReadOnly",
			"readonly":    "222222222222/ReadOnly 111111111111/ReadOnly",
			"222222":      "222222222222/Admin 222222222222/ReadOnly",
			"touch":       "222222222222/ReadOnly 111111111111/ReadOnly",
			"no-such-one": "",
		} {
			p := alice.get("/start/accounts?q=" + url.QueryEscape(q))
			if got := strings.Join(shownRoles(t, p), " "); got != want {
				t.Errorf("q=%s: %q, want %q", q, got, want)
			}
			if want == "" && !strings.Contains(p.body, "No account or role matches") {
				t.Errorf("q=%s: no empty-search message", q)
			}
		}
		if p := alice.get("/start?q=admin"); !strings.Contains(p.body, "AWS accounts (1)") || !strings.Contains(p.body, `href="/start/accounts?q=admin"`) {
			t.Errorf("/start?q=admin does not count the matching roles:\n%s", p.body)
		}

		// leaving the group removes its roles at once
		if _, err := s.a.Directory.RemoveMembers(context.Background(), audit.System, "Developers", []string{"alice"}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(shownRoles(t, alice.get("/start/accounts")), " "); got != "222222222222/ReadOnly" {
			t.Fatalf("after leaving Developers: %s", got)
		}
		if p := alice.navigate("/start/accounts/111111111111/ReadOnly/console", "same-origin"); p.status != http.StatusForbidden {
			t.Fatalf("console sign-in to a role no longer held: %d", p.status)
		}

		// root holds nothing: no tab, and an empty state
		root, _ := s.signedIn(t, "root")
		s.a.Cloud.Unassign(context.Background(), audit.System, cloud.AssignRequest{Account: "prod", PermissionSet: "Admin", PrincipalType: "group", Principal: "Ops"})
		if p := root.get("/start"); strings.Contains(p.body, `id="accounts-tab"`) {
			t.Error("a user without roles sees the accounts tab")
		}
		if p := root.get("/start/accounts"); p.status != 200 || !strings.Contains(p.body, "No accounts yet.") {
			t.Errorf("empty state: %d\n%s", p.status, p.body)
		}
		if len(s.fed.Calls()) != 0 {
			t.Errorf("listing called the federation: %v", s.fed.Calls())
		}
	})
}

var formRE = regexp.MustCompile(`<form id="saml-post" method="post" action="([^"]+)">\s*<input type="hidden" name="SAMLResponse" value="([^"]+)">\s*(?:<input type="hidden" name="RelayState" value="([^"]*)">)?`)

// autoPost checks an auto-POST page and returns its action, SAMLResponse
// and RelayState.
func autoPost(t *testing.T, p page) (action, response, relay string) {
	t.Helper()
	m := formRE.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		t.Fatalf("not an auto-POST form: %d\n%s", p.status, p.body)
	}
	csp := p.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "form-action https://signin.aws.amazon.com;") || strings.Contains(csp, "form-action 'self'") {
		t.Errorf("CSP: %s", csp)
	}
	if p.header.Get("Cache-Control") != "no-cache, no-store" {
		t.Errorf("Cache-Control: %s", p.header.Get("Cache-Control"))
	}
	if !strings.Contains(p.body, `<script src="/saml/post.js" defer></script>`) {
		t.Error("no auto-submit script")
	}
	return html.UnescapeString(m[1]), html.UnescapeString(m[2]), html.UnescapeString(m[3])
}

func TestConsoleSignIn(t *testing.T) {
	forCloudEngines(t, func(t *testing.T, s *cloudSite) {
		alice, csrf := s.signedIn(t, "alice")
		prodRO := cloud.RoleFor(cloud.Account{ID: "111111111111", SAMLProvider: "idcenter"}, cloud.PermissionSet{Name: "ReadOnly"})

		// a click in the portal: the form posts the fake's response to AWS, with the permission set's relay state
		action, resp, relay := autoPost(t, alice.navigate("/start/accounts/111111111111/ReadOnly/console", "same-origin"))
		if action != fakeSignInURL || resp != fakeResponse(prodRO) || relay != "https://console.aws.amazon.com/s3/home" {
			t.Fatalf("form: %s %s %s", action, resp, relay)
		}
		// the account name and any case of the permission set name work too
		if _, resp, _ := autoPost(t, alice.navigate("/start/accounts/prod/readonly/console", "none")); resp != fakeResponse(prodRO) {
			t.Fatalf("by name: %s", resp)
		}
		if evs := s.events(t, "aws.console.signin"); len(evs) != 2 || evs[0].Actor.Name != "alice" || evs[0].TargetID != "111111111111" ||
			evs[0].Summary["permissionSet"] != "ReadOnly" {
			t.Fatalf("signin events: %+v", evs)
		}

		// from another site (or without Fetch Metadata): a confirmation page, whose POST continues
		for _, site := range []string{"cross-site", "same-site", ""} {
			p := alice.navigate("/start/accounts/111111111111/ReadOnly/console", site)
			if p.status != 200 || strings.Contains(p.body, "SAMLResponse") || !strings.Contains(p.body, `id="saml-start-continue"`) {
				t.Fatalf("%q: no confirmation page: %d\n%s", site, p.status, p.body)
			}
		}
		n := len(s.fed.Calls())
		autoPost(t, alice.post("/start/accounts/111111111111/ReadOnly/console", url.Values{"csrf": {csrf}}))
		if p := alice.post("/start/accounts/111111111111/ReadOnly/console", url.Values{}); p.status != http.StatusForbidden {
			t.Fatalf("POST without csrf: %d", p.status)
		}
		if got := len(s.fed.Calls()); got != n+1 {
			t.Fatalf("federation calls: %d, want %d", got, n+1)
		}

		// a role alice does not hold: 403, audited, the federation never asked
		n = len(s.fed.Calls())
		for _, path := range []string{"/start/accounts/111111111111/Admin/console", "/start/accounts/333333333333/ReadOnly/console", "/start/accounts/prod/Nope/console"} {
			p := alice.navigate(path, "same-origin")
			if p.status != http.StatusForbidden || !strings.Contains(p.body, "You do not hold the role") {
				t.Fatalf("%s: %d\n%s", path, p.status, p.body)
			}
		}
		if p := alice.post("/start/accounts/111111111111/Admin/keys", url.Values{"csrf": {csrf}}); p.status != http.StatusForbidden {
			t.Fatalf("keys for a role not held: %d", p.status)
		}
		if len(s.fed.Calls()) != n {
			t.Fatalf("the federation was asked for a role not held: %v", s.fed.Calls()[n:])
		}
		evs := s.events(t, "aws.console.refused")
		if len(evs) != 3 || evs[2].TargetID != "111111111111" || evs[2].Summary["permissionSet"] != "Admin" || evs[2].Summary["reason"] != "role not held" || evs[2].Actor.Name != "alice" {
			t.Fatalf("refused events: %+v", evs)
		}
		if evs := s.events(t, "aws.credentials.refused"); len(evs) != 1 {
			t.Fatalf("credentials refused events: %+v", evs)
		}

		// shortcut links: destination becomes the RelayState, AWS hosts only
		for _, dest := range []string{"https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#Instances:", "https://console.aws.amazon.com/",
			"https://s3.console.aws.amazon.com/s3/buckets/x", "https://console.amazonaws-us-gov.com/"} {
			path := "/start/accounts/111111111111/ReadOnly/console?destination=" + url.QueryEscape(dest)
			if _, _, relay := autoPost(t, alice.navigate(path, "none")); relay != dest {
				t.Errorf("destination %s: relay state %q", dest, relay)
			}
			// and through the confirmation page
			p := alice.navigate(path, "cross-site")
			if !strings.Contains(p.body, `action="/start/accounts/111111111111/ReadOnly/console?destination=`+url.QueryEscape(dest)) &&
				!strings.Contains(html.UnescapeString(p.body), `action="/start/accounts/111111111111/ReadOnly/console?destination=`+url.QueryEscape(dest)) {
				t.Errorf("confirmation page for %s loses the destination:\n%s", dest, p.body)
			}
		}
		n = len(s.fed.Calls())
		for _, dest := range []string{"https://evil.example.com/", "http://console.aws.amazon.com/", "https://console.aws.amazon.com.evil.com/",
			"https://evil.com\\@console.aws.amazon.com/", "https://user@console.aws.amazon.com/", "https://aws.amazon.com/", "https://amazonaws.com/",
			"https://ec2-1-2-3-4.compute-1.amazonaws.com/", "https://bucket.s3-website-us-east-1.amazonaws.com/",
			"javascript:alert(1)", "//console.aws.amazon.com/", "/start", "https://console.aws.amazon.com:8443/", "https://evilaws.amazon.com/",
			"https://console.aws.amazon.com/" + strings.Repeat("a", 3000)} {
			p := alice.navigate("/start/accounts/111111111111/ReadOnly/console?destination="+url.QueryEscape(dest), "same-origin")
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, "outside the AWS console") {
				t.Errorf("destination %s: %d", dest, p.status)
			}
		}
		if len(s.fed.Calls()) != n {
			t.Fatal("the federation was asked for a refused destination")
		}

		// an error from the federation is a clear message
		s.fed.fail(fmt.Errorf("sign: %w", errors.New("no AWS application")))
		if p := alice.navigate("/start/accounts/111111111111/ReadOnly/console", "same-origin"); p.status != http.StatusBadGateway ||
			!strings.Contains(p.body, "could not sign you in to the role ReadOnly in AWS account prod (111111111111)") {
			t.Fatalf("federation error: %d\n%s", p.status, p.body)
		}
	})
}

func TestAllowedDestination(t *testing.T) {
	for dest, want := range map[string]bool{
		"https://console.aws.amazon.com/":                          true,
		"https://us-east-1.console.aws.amazon.com/console/home":    true,
		"https://console.amazonaws-us-gov.com/":                    true,
		"https://console.amazonaws.cn/":                            true,
		"https://signin.aws.amazon.com/":                           true,
		"https://x.amazonaws.com/":                                 false, // customer hosts live there
		"https://CONSOLE.AWS.AMAZON.COM/":                          true,
		"https://console.aws.amazon.com:443/":                      true,
		"":                                                         false,
		"https://aws.amazon.com/":                                  false,
		"https://.aws.amazon.com/":                                 false,
		"https://console.aws.amazon.com.evil.com/":                 false,
		"https://evil.com/https://console.aws.amazon.com/":         false,
		"https://console.aws.amazon.com@evil.com/":                 false,
		"http://console.aws.amazon.com/":                           false,
		"https://console.aws.amazon.com/\"><script>":               false,
		"https://con sole.aws.amazon.com/":                         false,
		"https://xn--80ak6aa92e.aws.amazon.com/":                   true,
		"https://console.aws.amazon.com\\@evil.com/":               false,
		"ftp://console.aws.amazon.com/":                            false,
		"https://evil.com#.aws.amazon.com":                         false,
		"https://evil.com?.aws.amazon.com":                         false,
		"https://console.aws.amazon.com./":                         false,
		"https://a..aws.amazon.com/":                               false,
		"https://console.aws.amazon.com/" + strings.Repeat("x", 5): true,
	} {
		if got := portal.AllowedDestination(dest); got != want {
			t.Errorf("AllowedDestination(%q) = %v, want %v", dest, got, want)
		}
	}
}

func TestAccessKeys(t *testing.T) {
	forCloudEngines(t, func(t *testing.T, s *cloudSite) {
		alice, csrf := s.signedIn(t, "alice")
		const path = "/start/accounts/222222222222/Admin/keys"

		// the GET page only offers the button
		p := alice.get(path)
		if p.status != 200 || !strings.Contains(p.body, `id="get-keys"`) || strings.Contains(p.body, "ASIAFAKE") {
			t.Fatalf("GET keys: %d\n%s", p.status, p.body)
		}
		if len(s.fed.Calls()) != 0 {
			t.Fatal("a GET minted credentials")
		}
		// a POST without the CSRF token mints nothing
		if p := alice.post(path, url.Values{}); p.status != http.StatusForbidden || len(s.fed.Calls()) != 0 {
			t.Fatalf("POST without csrf: %d, calls %v", p.status, s.fed.Calls())
		}

		p = alice.post(path, url.Values{"csrf": {csrf}})
		if p.status != 200 {
			t.Fatalf("POST keys: %d\n%s", p.status, p.body)
		}
		body := html.UnescapeString(p.body)
		for _, want := range []string{
			// macOS and Linux
			`export AWS_ACCESS_KEY_ID="ASIAFAKE222222222222"`, `export AWS_SECRET_ACCESS_KEY="fakeSecret/Key+Admin"`,
			`export AWS_SESSION_TOKEN="FwoGZXIvYXdzEFAKE//token+="`, `export AWS_REGION="eu-west-1"`,
			// Windows: PowerShell and cmd
			`$Env:AWS_ACCESS_KEY_ID="ASIAFAKE222222222222"`, `$Env:AWS_SECRET_ACCESS_KEY="fakeSecret/Key+Admin"`, `$Env:AWS_SESSION_TOKEN="FwoGZXIvYXdzEFAKE//token+="`,
			`SET AWS_ACCESS_KEY_ID=ASIAFAKE222222222222`, `SET AWS_SECRET_ACCESS_KEY=fakeSecret/Key+Admin`, `SET AWS_SESSION_TOKEN=FwoGZXIvYXdzEFAKE//token+=`,
			// the credentials file profile
			"[222222222222_Admin]\naws_access_key_id=ASIAFAKE222222222222\naws_secret_access_key=fakeSecret/Key+Admin\naws_session_token=FwoGZXIvYXdzEFAKE//token+=\nregion=eu-west-1\n",
			"--profile 222222222222_Admin",
			// single values and the expiry
			`id="access-key-id" class="secret">ASIAFAKE222222222222<`, `id="secret-access-key" class="secret">fakeSecret/Key+Admin<`,
			`id="session-token" class="secret">FwoGZXIvYXdzEFAKE//token+=<`, "These temporary credentials expire at", "(in 1 h)", "UTC",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("keys page lacks %q", want)
			}
		}
		if got := s.fed.Calls(); len(got) != 1 || got[0] != "keys arn:aws:iam::222222222222:role/idcenter-Admin" {
			t.Fatalf("calls: %v", got)
		}
		if p.header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control: %q", p.header.Get("Cache-Control"))
		}
		evs := s.events(t, "aws.credentials.issue")
		if len(evs) != 1 || evs[0].Actor.Name != "alice" || evs[0].TargetID != "222222222222" || evs[0].Summary["accessKeyId"] != "ASIAFAKE222222222222" {
			t.Fatalf("issue events: %+v", evs)
		}
		if sum := fmt.Sprint(evs[0].Summary); strings.Contains(sum, "fakeSecret") || strings.Contains(sum, "FwoG") {
			t.Fatalf("the audit event holds a secret: %s", sum)
		}

		// each error of the federation is a clear message on the same page
		for _, c := range []struct {
			err    error
			status int
			text   string
		}{
			{&cloud.STSError{Kind: cloud.ErrAssertionExpired, Code: "ExpiredTokenException"}, http.StatusBadGateway, "assertion had expired"},
			{fmt.Errorf("assume: %w", cloud.ErrRoleNotInAssertion), http.StatusBadGateway, "the role is not in idcenter's SAML assertion"},
			{&cloud.STSError{Kind: cloud.ErrSTSUnavailable, Underlying: errors.New("connection refused")}, http.StatusServiceUnavailable, "AWS STS cannot be reached right now"},
			{cloud.ErrAssertionRejected, http.StatusBadGateway, "may not hold idcenter's current metadata"},
			{cloud.ErrSTSRefused, http.StatusBadGateway, "AWS STS refused to issue credentials"},
			{cloud.ErrRoleSessionName, http.StatusBadRequest, "session name"},
			{cloud.ErrRoleNotHeld, http.StatusForbidden, "any more"},
			{errors.New("something odd"), http.StatusBadGateway, "could not sign you in to the role Admin in AWS account dev (222222222222)"},
		} {
			s.fed.fail(c.err)
			p := alice.post(path, url.Values{"csrf": {csrf}})
			if p.status != c.status || !strings.Contains(html.UnescapeString(p.body), c.text) || !strings.Contains(p.body, `role="alert"`) {
				t.Errorf("%v: %d, want %d with %q\n%s", c.err, p.status, c.status, c.text, p.body)
			}
			if strings.Contains(p.body, "ASIAFAKE") || strings.Contains(p.body, "connection refused") {
				t.Errorf("%v: the page shows credentials or the private cause", c.err)
			}
		}
		if evs := s.events(t, "aws.credentials.failed"); len(evs) != 8 || evs[0].Summary["reason"] != "error" {
			t.Errorf("failed events: %d", len(evs))
		}
	})
}

func TestAccountsWithoutFederation(t *testing.T) {
	s := newCloudSite(t, "")
	s.a.Portal.Federation = nil
	alice, csrf := s.signedIn(t, "alice")
	p := alice.get("/start/accounts")
	if len(shownRoles(t, p)) != 3 || strings.Contains(p.body, "/console\"") || strings.Contains(p.body, "Access keys") {
		t.Fatalf("without a federation the roles are listed without buttons:\n%s", p.body)
	}
	if p := alice.navigate("/start/accounts/111111111111/ReadOnly/console", "same-origin"); p.status != http.StatusNotFound {
		t.Fatalf("console: %d", p.status)
	}
	if p := alice.post("/start/accounts/111111111111/ReadOnly/keys", url.Values{"csrf": {csrf}}); p.status != http.StatusNotFound {
		t.Fatalf("keys: %d", p.status)
	}
}

func TestAccountsNeedSignIn(t *testing.T) {
	s := newCloudSite(t, "")
	b := newBrowser(t, s.a, s.srv)
	for _, path := range []string{"/start/accounts", "/start/accounts/111111111111/ReadOnly/console?destination=https%3A%2F%2Fconsole.aws.amazon.com%2F", "/start/accounts/111111111111/ReadOnly/keys"} {
		p := b.get(path)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/signin?return_to="+url.QueryEscape(path) {
			t.Errorf("%s: %d %s", path, p.status, p.header.Get("Location"))
		}
	}
}

// TestAccessKeysThroughFakeSTS runs the access-key page through the real
// Federation (internal/awsfed) against the FAKE STS of testenv: working
// credentials, then an expired assertion, a provider holding other metadata
// and STS down, each a clear message.
func TestAccessKeysThroughFakeSTS(t *testing.T) {
	forCloudEngines(t, func(t *testing.T, s *cloudSite) {
		ctx := context.Background()
		sts := testenv.StartFakeSTS(t)
		s.a.Portal.Federation = s.a.Federation
		if _, err := s.a.Directory.CreateUser(ctx, audit.System, directory.User{UserName: "carol", Active: true,
			Emails: []directory.MultiValue{{Value: "carol@example.com", Primary: true}}}); err != nil {
			t.Fatal(err)
		}
		if err := s.a.Directory.SetPassword(ctx, audit.System, "carol", "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		acct, err := s.a.Cloud.UpdateAccount(ctx, audit.System, "dev", 0, func(a *cloud.Account) error { a.STSEndpoint = sts.URL; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.a.Cloud.Assign(ctx, audit.System, cloud.AssignRequest{Account: "dev", PermissionSet: "Admin", PrincipalType: "user", Principal: "carol"}); err != nil {
			t.Fatal(err)
		}
		awsApp, err := s.a.Federation.AWSApplication(ctx, acct)
		if err != nil {
			t.Fatal(err)
		}
		metadata := func(appID string) []byte {
			app, err := s.a.Apps.Get(ctx, audit.System, appID)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := s.a.Apps.PublishedCertificates(ctx, app.ID)
			if err != nil {
				t.Fatal(err)
			}
			md, err := saml.AppIdPMetadata(s.a.Config.PublicURL(), app, pub)
			if err != nil {
				t.Fatal(err)
			}
			return md
		}
		register := func(md []byte) {
			if err := sts.Register(testenv.FakeSTSProvider{AccountID: "222222222222", Name: "idcenter", Metadata: md}); err != nil {
				t.Fatal(err)
			}
		}
		register(metadata(awsApp.ID))

		carol, csrf := s.signedIn(t, "carol")
		const path = "/start/accounts/222222222222/Admin/keys"
		p := carol.post(path, url.Values{"csrf": {csrf}})
		body := html.UnescapeString(p.body)
		if p.status != 200 || !strings.Contains(body, `export AWS_ACCESS_KEY_ID="ASIA`) || !strings.Contains(body, "[222222222222_Admin]") ||
			!strings.Contains(body, "(in 1 h)") {
			t.Fatalf("credentials from the fake STS: %d\n%s", p.status, p.body)
		}
		if calls := sts.Calls(); len(calls) != 1 || calls[0].Code != "" || calls[0].RoleARN != "arn:aws:iam::222222222222:role/idcenter-Admin" {
			t.Fatalf("STS calls: %+v", calls)
		}

		// console sign-in through the real Federation: a signed Response in the auto-POST form
		action, resp, _ := autoPost(t, carol.navigate("/start/accounts/222222222222/Admin/console", "same-origin"))
		xml, err := base64.StdEncoding.DecodeString(resp)
		if action != cloud.DefaultSignInURL || err != nil || !strings.Contains(string(xml), "arn:aws:iam::222222222222:role/idcenter-Admin,arn:aws:iam::222222222222:saml-provider/idcenter") ||
			!strings.Contains(string(xml), "Signature") {
			t.Fatalf("console sign-in: %s %v\n%s", action, err, xml)
		}

		check := func(name string, status int, text string) {
			t.Helper()
			p := carol.post(path, url.Values{"csrf": {csrf}})
			if p.status != status || !strings.Contains(html.UnescapeString(p.body), text) || strings.Contains(p.body, "export AWS_") {
				t.Errorf("%s: %d, want %d with %q\n%s", name, p.status, status, text, p.body)
			}
		}
		sts.Now = func() time.Time { return time.Now().Add(10 * time.Minute) }
		check("expired assertion", http.StatusBadGateway, "assertion had expired")
		sts.Now = nil

		other, err := s.a.Apps.Create(ctx, audit.System, apps.CreateRequest{Application: apps.Application{
			DisplayName: "Other", EntityID: "urn:other", ACS: []apps.ACS{{URL: "https://other.example.com/acs", Binding: apps.BindingPOST}}}})
		if err != nil {
			t.Fatal(err)
		}
		register(metadata(other.ID))
		check("provider with other metadata", http.StatusBadGateway, "may not hold idcenter's current metadata")
		register(metadata(awsApp.ID))

		sts.Close()
		check("STS down", http.StatusServiceUnavailable, "AWS STS cannot be reached right now")
	})
}
