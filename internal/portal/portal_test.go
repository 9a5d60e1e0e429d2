package portal_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/idcenter/idcenter/internal/app"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/config"
	"github.com/idcenter/idcenter/internal/directory"
)

type browser struct {
	t      *testing.T
	srv    *httptest.Server
	client *http.Client
	app    *app.App
}

func newServer(t *testing.T) (*app.App, *httptest.Server) {
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Auth.MFA.Mode = "never"
	cfg.Auth.MFA.AdminsExempt = true
	cfg.Auth.Argon2MemoryKiB = 8 * 1024
	cfg.Auth.Argon2Iterations = 1
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() { srv.Close(); a.Close() })
	ctx := context.Background()
	for _, u := range []directory.User{{UserName: "alice", Active: true}, {UserName: "root", Active: true, Role: directory.RoleAdmin}} {
		if _, err := a.Directory.CreateUser(ctx, audit.System, u); err != nil {
			t.Fatal(err)
		}
		if err := a.Directory.SetPassword(ctx, audit.System, u.UserName, "correct horse battery"); err != nil {
			t.Fatal(err)
		}
	}
	return a, srv
}

func newBrowser(t *testing.T, a *app.App, srv *httptest.Server) *browser {
	jar, _ := cookiejar.New(nil)
	c := *srv.Client() // a client of its own: each browser has its own cookie jar
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: t, srv: srv, client: &c, app: a}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) get(path string) page {
	b.t.Helper()
	res, err := b.client.Get(b.srv.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{res.StatusCode, res.Header, string(body)}
}

func (b *browser) post(path string, form url.Values, hdr ...string) page {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{res.StatusCode, res.Header, string(body)}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, p page) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no csrf token in page (%d):\n%s", p.status, p.body)
	}
	return m[1]
}

func (b *browser) signIn(user, pw, returnTo string) page {
	b.t.Helper()
	pg := b.get("/signin")
	if pg.status == 303 { // already signed in
		pg = b.get("/start")
	}
	tok := csrfOf(b.t, pg)
	return b.post("/signin/password", url.Values{"csrf": {tok}, "username": {user}, "password": {pw}, "return_to": {returnTo}})
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.srv.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestSignInFlow(t *testing.T) {
	a, srv := newServer(t)
	b := newBrowser(t, a, srv)
	if p := b.get("/start"); p.status != 303 || !strings.HasPrefix(p.header.Get("Location"), "/signin?return_to=%2Fstart") {
		t.Fatalf("anonymous /start: %d %s", p.status, p.header.Get("Location"))
	}
	tok := csrfOf(t, b.get("/signin"))
	pw := b.post("/signin", url.Values{"csrf": {tok}, "username": {"alice"}})
	if pw.status != 200 || !strings.Contains(pw.body, `type="password"`) {
		t.Fatalf("username step: %d", pw.status)
	}
	p := b.post("/signin/password", url.Values{"csrf": {tok}, "username": {"alice"}, "password": {"correct horse battery"}})
	if p.status != 303 || p.header.Get("Location") != "/start" {
		t.Fatalf("password step: %d %s", p.status, p.header.Get("Location"))
	}
	// WEB-05: cookie attributes
	setCookie := p.header.Values("Set-Cookie")
	var sc string
	for _, c := range setCookie {
		if strings.HasPrefix(c, "idc_session=") {
			sc = c
		}
	}
	for _, attr := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(sc, attr) {
			t.Errorf("session cookie %q lacks %s", sc, attr)
		}
	}
	start := b.get("/start")
	if start.status != 200 || !strings.Contains(start.body, "Access portal") {
		t.Fatalf("/start: %d", start.status)
	}
	// WEB-07: headers
	for h, want := range map[string]string{
		"Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY",
		"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
	} {
		if !strings.Contains(start.header.Get(h), want) {
			t.Errorf("%s = %q, want %q", h, start.header.Get(h), want)
		}
	}
	if strings.Contains(start.header.Get("Content-Security-Policy"), "unsafe-inline") || strings.Contains(start.body, "<script>") ||
		strings.Contains(start.body, " style=") {
		t.Error("inline script or style present, or CSP allows it")
	}
	// sign out ends the session server-side
	old := b.cookie("idc_session").Value
	out := b.post("/signout", url.Values{"csrf": {csrfOf(t, start)}})
	if out.status != 303 || out.header.Get("Location") != "/signin?signed_out=1" {
		t.Fatalf("signout: %d %s", out.status, out.header.Get("Location"))
	}
	replay := newBrowser(t, a, srv)
	u, _ := url.Parse(srv.URL)
	replay.client.Jar.SetCookies(u, []*http.Cookie{{Name: "idc_session", Value: old}})
	if p := replay.get("/start"); p.status != 303 {
		t.Fatalf("old session cookie still works after sign-out: %d", p.status)
	}
}

func TestSessionFixation(t *testing.T) {
	a, srv := newServer(t)
	b := newBrowser(t, a, srv)
	u, _ := url.Parse(srv.URL)
	// An attacker plants a session cookie value; sign-in must issue a new one.
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "idc_session", Value: "attacker-chosen-value-0123456789012345678901"}})
	b.signIn("alice", "correct horse battery", "")
	if c := b.cookie("idc_session"); c == nil || c.Value == "attacker-chosen-value-0123456789012345678901" {
		t.Fatal("session id not renewed at sign-in")
	}
	// signing in again (e.g. as another user) replaces, and revokes, the old session
	first := b.cookie("idc_session").Value
	b.signIn("root", "correct horse battery", "")
	second := b.cookie("idc_session").Value
	if first == second {
		t.Fatal("second sign-in kept the session id")
	}
	replay := newBrowser(t, a, srv)
	replay.client.Jar.SetCookies(u, []*http.Cookie{{Name: "idc_session", Value: first}})
	if p := replay.get("/start"); p.status != 303 {
		t.Fatal("replaced session still valid")
	}
}

func TestCSRF(t *testing.T) {
	a, srv := newServer(t)
	b := newBrowser(t, a, srv)
	b.signIn("alice", "correct horse battery", "")
	start := b.get("/start")
	tok := csrfOf(t, start)
	cases := []struct {
		name string
		form url.Values
		hdr  []string
	}{
		{"no token", url.Values{}, nil},
		{"wrong token", url.Values{"csrf": {"AAAA" + tok[4:]}}, nil},
		{"cross-site fetch", url.Values{"csrf": {tok}}, []string{"Sec-Fetch-Site", "cross-site"}},
		{"foreign origin", url.Values{"csrf": {tok}}, []string{"Origin", "https://evil.example"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if p := b.post("/signout", c.form, c.hdr...); p.status != 403 {
				t.Fatalf("status %d, want 403", p.status)
			}
			if p := b.get("/start"); p.status != 200 {
				t.Fatal("session was ended by a forged request")
			}
		})
	}
	// WEB-03 login CSRF: a cross-site sign-in POST is refused
	other := newBrowser(t, a, srv)
	tok2 := csrfOf(t, other.get("/signin"))
	p := other.post("/signin/password", url.Values{"csrf": {tok2}, "username": {"alice"}, "password": {"correct horse battery"}},
		"Sec-Fetch-Site", "cross-site")
	if p.status != 403 || other.cookie("idc_session") != nil {
		t.Fatalf("cross-site sign-in: %d", p.status)
	}
	// a token from one browser does not work in another
	third := newBrowser(t, a, srv)
	third.get("/signin")
	if p := third.post("/signin/password", url.Values{"csrf": {tok2}, "username": {"alice"}, "password": {"correct horse battery"}}); p.status != 403 {
		t.Fatalf("foreign csrf token accepted: %d", p.status)
	}
}

func TestOpenRedirect(t *testing.T) {
	a, srv := newServer(t)
	for _, c := range []struct{ returnTo, want string }{
		{"/profile", "/profile"},
		{"/start?q=x", "/start?q=x"},
		{"https://evil.example/", "/start"},
		{"//evil.example/", "/start"},
		{"/\\evil.example", "/start"},
		{"/%2F%2Fevil.example", "/start"},
		{"javascript:alert(1)", "/start"},
		{"/start\r\nLocation: https://evil.example", "/start"},
		{"", "/start"},
	} {
		b := newBrowser(t, a, srv)
		p := b.signIn("alice", "correct horse battery", c.returnTo)
		if p.status != 303 || p.header.Get("Location") != c.want {
			t.Errorf("return_to %q → %d %q, want %q", c.returnTo, p.status, p.header.Get("Location"), c.want)
		}
	}
}

func TestNoUserEnumeration(t *testing.T) {
	a, srv := newServer(t)
	var bodies []string
	for _, c := range []struct{ user, pw string }{{"alice", "wrong"}, {"nobody", "wrong"}, {"ALICE", ""}} {
		b := newBrowser(t, a, srv)
		p := b.signIn(c.user, c.pw, "")
		if p.status != 401 || !strings.Contains(p.body, "Incorrect username or password") {
			t.Fatalf("%s: %d", c.user, p.status)
		}
		bodies = append(bodies, csrfRE.ReplaceAllString(strings.ReplaceAll(p.body, c.user, "U"), ""))
	}
	if bodies[0] != bodies[1] {
		t.Fatal("responses for known and unknown users differ")
	}
	// the username step looks the same whatever the name
	b := newBrowser(t, a, srv)
	tok := csrfOf(t, b.get("/signin"))
	k := b.post("/signin", url.Values{"csrf": {tok}, "username": {"alice"}})
	u := b.post("/signin", url.Values{"csrf": {tok}, "username": {"nobodyx"}})
	if strings.ReplaceAll(k.body, "alice", "X") != strings.ReplaceAll(u.body, "nobodyx", "X") {
		t.Fatal("username step reveals existence")
	}
}

func TestProfile(t *testing.T) {
	a, srv := newServer(t)
	b := newBrowser(t, a, srv)
	b.signIn("alice", "correct horse battery", "")
	other := newBrowser(t, a, srv)
	other.signIn("alice", "correct horse battery", "")
	prof := b.get("/profile")
	if prof.status != 200 || strings.Count(prof.body, "this browser") != 1 || !strings.Contains(prof.body, "/end") {
		t.Fatalf("profile: %d", prof.status)
	}
	// end the other browser's session from this one
	m := regexp.MustCompile(`action="/profile/sessions/([^/]+)/end"`).FindStringSubmatch(prof.body)
	if m == nil {
		t.Fatal("no end-session form")
	}
	if p := b.post("/profile/sessions/"+m[1]+"/end", url.Values{"csrf": {csrfOf(t, prof)}}); p.status != 303 {
		t.Fatalf("end session: %d", p.status)
	}
	t.Logf("ended %s", m[1])
	if p := b.get("/profile"); strings.Contains(p.body, m[1]) {
		t.Fatalf("ended session still listed")
	}
	if p := other.get("/start"); p.status != 303 {
		t.Fatal("ended session still works")
	}
	// change password
	prof = b.get("/profile")
	p := b.post("/profile/password", url.Values{"csrf": {csrfOf(t, prof)}, "current": {"wrong"}, "new": {"another long passphrase"}})
	if p.status != 400 || !strings.Contains(p.body, "current password is not correct") {
		t.Fatalf("wrong current: %d", p.status)
	}
	p = b.post("/profile/password", url.Values{"csrf": {csrfOf(t, prof)}, "current": {"correct horse battery"}, "new": {"another long passphrase"}})
	if p.status != 303 {
		t.Fatalf("change password: %d %s", p.status, p.body)
	}
	if p := newBrowser(t, a, srv).signIn("alice", "another long passphrase", ""); p.status != 303 {
		t.Fatal("new password refused")
	}
	// a session of a disabled user stops working at once
	if _, err := a.Directory.UpdateUser(context.Background(), audit.System, "alice", 0, func(u *directory.User) error { u.Active = false; return nil }); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/start"); p.status != 303 {
		t.Fatal("disabled user's session still works")
	}
}

// TestConsoleNeedsStrictCookie (WEB-05): the console acts only on requests
// that carry the SameSite=Strict console cookie of the session, which a
// browser never sends on a cross-site navigation or request.
func TestConsoleNeedsStrictCookie(t *testing.T) {
	a, srv := newServer(t)
	b := newBrowser(t, a, srv)
	p := b.signIn("root", "correct horse battery", "")
	var strict string
	for _, c := range p.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "idc_console=") {
			strict = c
		}
	}
	if !strings.Contains(strict, "SameSite=Strict") || !strings.Contains(strict, "HttpOnly") {
		t.Fatalf("console cookie %q", strict)
	}
	if c := b.get("/console/users"); c.status != 200 || !strings.Contains(c.body, "Users") {
		t.Fatalf("console with the cookie: %d", c.status)
	}
	// as a cross-site navigation would arrive: the session cookie (Lax) but not the Strict one
	u, _ := url.Parse(srv.URL)
	x := newBrowser(t, a, srv)
	x.client.Jar.SetCookies(u, []*http.Cookie{b.cookie("idc_session")})
	page := x.get("/console/users")
	if page.status != 200 || !strings.Contains(page.body, "Continue to the admin console") || strings.Contains(page.body, "New user") {
		t.Fatalf("cross-site console GET: %d", page.status)
	}
	tok := csrfOf(t, x.get("/start"))
	if p := x.post("/console/users", url.Values{"csrf": {tok}, "username": {"mallory"}}); p.status != 403 {
		t.Fatalf("console POST without the strict cookie: %d", p.status)
	}
	if _, err := a.Directory.GetUser(context.Background(), audit.System, "mallory"); err == nil {
		t.Fatal("user created")
	}
}
