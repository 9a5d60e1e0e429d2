package portal_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/app"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/authn"
	"github.com/idcenter/idcenter/internal/config"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/testenv"
)

const apiToken = "idc_recovery-test-token-0123456789"

// mailServer starts idcenter with SMTP pointed at a real SMTP server on
// loopback (STARTTLS and AUTH), and with a base URL that is its own address,
// so the links in the emails work.
func mailServer(t *testing.T) (*app.App, *httptest.Server, *testenv.SMTPSink) {
	t.Helper()
	sink := testenv.StartSMTPSink(t, testenv.SinkOptions{STARTTLS: true, Username: "idc", Password: "smtp-secret"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.BaseURL = "http://" + ln.Addr().String()
	cfg.Auth.MFA.Mode = "never"
	cfg.Auth.MFA.AdminsExempt = true
	cfg.Auth.Argon2MemoryKiB = 8 * 1024
	cfg.Auth.Argon2Iterations = 1
	cfg.SMTP.Host = sink.Host
	cfg.SMTP.Port = sink.Port
	cfg.SMTP.TLS = "starttls"
	cfg.SMTP.InsecureSkipVerify = true // the sink's self-signed certificate, on loopback only
	cfg.SMTP.Username = "idc"
	cfg.SMTP.Password = "smtp-secret"
	cfg.SMTP.From = "no-reply@idcenter.test"
	tf := filepath.Join(cfg.DataDir, "token")
	os.WriteFile(tf, []byte(apiToken), 0o600)
	cfg.Bootstrap.TokenFile = tf
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() { srv.Close(); a.Close() })
	return a, srv, sink
}

func apiPost(t *testing.T, srv *httptest.Server, path string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// waitSubject returns the next message to `to` whose subject contains want,
// skipping others (security notices arrive in between).
func waitSubject(t *testing.T, sink *testenv.SMTPSink, to, want string) testenv.ReceivedMessage {
	t.Helper()
	for {
		m := sink.WaitFor(t, to, 10*time.Second)
		if strings.Contains(m.Subject, want) {
			return m
		}
	}
}

func linkPath(t *testing.T, srv *httptest.Server, m testenv.ReceivedMessage, prefix string) string {
	t.Helper()
	for _, l := range m.Links() {
		if strings.HasPrefix(l, srv.URL+prefix) {
			if !strings.Contains(m.HTML, l) {
				t.Errorf("HTML part lacks the link %s", l)
			}
			return strings.TrimPrefix(l, srv.URL)
		}
	}
	t.Fatalf("no %s link in email:\n%s", prefix, m.Text)
	return ""
}

func TestInvitationByEmail(t *testing.T) {
	a, srv, sink := mailServer(t)
	ctx := context.Background()
	if _, err := a.Directory.CreateUser(ctx, audit.System, directory.User{UserName: "bob", Active: true,
		Name: directory.Name{GivenName: "Bob", FamilyName: "Jones"}, Emails: []directory.MultiValue{{Value: "bob@example.com"}}}); err != nil {
		t.Fatal(err)
	}
	if st := apiPost(t, srv, "/api/v1/users/bob/invitation"); st != 202 {
		t.Fatalf("send invitation: %d", st)
	}
	m := waitSubject(t, sink, "bob@example.com", "Invitation")
	if !m.TLS || m.AuthUser != "idc" || m.Text == "" || m.HTML == "" {
		t.Fatalf("email: tls=%v auth=%q", m.TLS, m.AuthUser)
	}
	path := linkPath(t, srv, m, "/invite/")

	b := newBrowser(t, a, srv)
	form := b.get(path)
	if form.status != 200 || !strings.Contains(form.body, "bob") || form.header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("invitation page: %d %s", form.status, form.header.Get("Referrer-Policy"))
	}
	tok := csrfOf(t, form)
	for _, c := range []struct{ pw, confirm, want string }{
		{"a good long passphrase", "a different one entirely", "do not match"},
		{"password123", "password123", "cannot be used"},
		{"bobjones1", "bobjones1", "cannot be used"},
	} {
		p := b.post(path, url.Values{"csrf": {tok}, "password": {c.pw}, "confirm": {c.confirm}})
		if p.status != 400 || !strings.Contains(p.body, c.want) {
			t.Fatalf("%q: %d, want %q", c.pw, p.status, c.want)
		}
	}
	p := b.post(path, url.Values{"csrf": {tok}, "password": {"a good long passphrase"}, "confirm": {"a good long passphrase"}})
	if p.status != 303 || p.header.Get("Location") != "/start" {
		t.Fatalf("accept: %d %s %s", p.status, p.header.Get("Location"), p.body)
	}
	if s := b.get("/start"); s.status != 200 {
		t.Fatal("not signed in after accepting the invitation")
	}
	// single use
	if again := newBrowser(t, a, srv).get(path); again.status != 410 {
		t.Fatalf("used invitation: %d", again.status)
	}
	// a new invitation replaces the old one
	apiPost(t, srv, "/api/v1/users/bob/invitation")
	first := linkPath(t, srv, waitSubject(t, sink, "bob@example.com", "Invitation"), "/invite/")
	apiPost(t, srv, "/api/v1/users/bob/invitation")
	second := linkPath(t, srv, waitSubject(t, sink, "bob@example.com", "Invitation"), "/invite/")
	if newBrowser(t, a, srv).get(first).status != 410 || newBrowser(t, a, srv).get(second).status != 200 {
		t.Fatal("the older invitation still works")
	}
	// a user without email gets a clear error
	a.Directory.CreateUser(ctx, audit.System, directory.User{UserName: "noemail", Active: true})
	if st := apiPost(t, srv, "/api/v1/users/noemail/invitation"); st != 400 {
		t.Fatalf("invite without email: %d", st)
	}
	// no token ever appears in the audit trail
	evs, _, _ := a.Store.ListAudit(ctx, audit.Filter{Limit: 1000})
	for _, e := range evs {
		if strings.Contains(strings.Join([]string{e.Action, e.TargetName}, " "), path[len("/invite/"):]) {
			t.Fatal("token in audit")
		}
	}
}

func TestPasswordResetByEmail(t *testing.T) {
	a, srv, sink := mailServer(t)
	ctx := context.Background()
	a.Directory.CreateUser(ctx, audit.System, directory.User{UserName: "carol", Active: true, Emails: []directory.MultiValue{{Value: "carol@example.com"}}})
	a.Directory.SetPassword(ctx, audit.System, "carol", "the old passphrase")
	old := newBrowser(t, a, srv)
	if p := old.signIn("carol", "the old passphrase", ""); p.status != 303 {
		t.Fatal("sign-in")
	}

	b := newBrowser(t, a, srv)
	forgot := b.get("/forgot-password")
	tok := csrfOf(t, forgot)
	known := b.post("/forgot-password", url.Values{"csrf": {tok}, "username": {"carol@example.com"}})
	unknown := b.post("/forgot-password", url.Values{"csrf": {tok}, "username": {"nobody"}})
	if known.status != 200 || known.body != unknown.body {
		t.Fatal("the reset form reveals whether an account exists")
	}
	m := waitSubject(t, sink, "carol@example.com", "Reset your")
	path := linkPath(t, srv, m, "/reset/")
	// rate limit: a second request within a minute sends nothing
	b.post("/forgot-password", url.Values{"csrf": {tok}, "username": {"carol"}})
	time.Sleep(300 * time.Millisecond)
	if n := len(sink.Messages()); n != 1 {
		t.Fatalf("%d emails sent, want 1", n)
	}
	form := b.get(path)
	p := b.post(path, url.Values{"csrf": {csrfOf(t, form)}, "password": {"the new passphrase"}, "confirm": {"the new passphrase"}})
	if p.status != 303 || p.header.Get("Location") != "/start" {
		t.Fatalf("reset: %d %s", p.status, p.body)
	}
	if old.get("/start").status != 303 {
		t.Fatal("sessions from before the reset still work")
	}
	if newBrowser(t, a, srv).signIn("carol", "the old passphrase", "").status != 401 {
		t.Fatal("old password still works")
	}
	if newBrowser(t, a, srv).get(path).status != 410 {
		t.Fatal("reset link works twice")
	}
	// admin-forced reset: the password stops working at once and a link is sent
	if st := apiPost(t, srv, "/api/v1/users/carol/password-reset"); st != 202 {
		t.Fatalf("force reset: %d", st)
	}
	waitSubject(t, sink, "carol@example.com", "Reset your")
	if newBrowser(t, a, srv).signIn("carol", "the new passphrase", "").status != 401 {
		t.Fatal("password still works after a forced reset")
	}
	evs, _, _ := a.Store.ListAudit(ctx, audit.Filter{Action: "user.password.", Limit: 100})
	seen := map[string]bool{}
	for _, e := range evs {
		seen[e.Action] = true
	}
	for _, want := range []string{"user.password.reset_request", "user.password.reset", "user.password.force_reset"} {
		if !seen[want] {
			t.Errorf("audit lacks %s", want)
		}
	}
}

func TestSetupLinkOnFirstStart(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.BaseURL = "http://" + ln.Addr().String()
	cfg.Auth.MFA.Mode = "never"
	cfg.Auth.MFA.AdminsExempt = true
	out := &strings.Builder{}
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), out)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() { srv.Close(); a.Close() })
	i := strings.Index(out.String(), cfg.BaseURL+"/invite/")
	if i < 0 {
		t.Fatalf("no setup link printed:\n%s", out)
	}
	path := strings.TrimPrefix(strings.Fields(out.String()[i:])[0], cfg.BaseURL)
	b := newBrowser(t, a, srv)
	form := b.get(path)
	p := b.post(path, url.Values{"csrf": {csrfOf(t, form)}, "password": {"correct horse battery staple"}, "confirm": {"correct horse battery staple"}})
	if p.status != 303 {
		t.Fatalf("setup: %d %s", p.status, p.body)
	}
	if s := b.get("/start"); s.status != 200 || !strings.Contains(s.body, "Admin console") {
		t.Fatal("the first admin is not signed in as an administrator")
	}
}

// TestResetLinksIgnoreHostHeader (WEB-09): links in emails come from the
// configured base URL, never from Host or forwarding headers.
func TestResetLinksIgnoreHostHeader(t *testing.T) {
	a, srv, sink := mailServer(t)
	ctx := context.Background()
	a.Directory.CreateUser(ctx, audit.System, directory.User{UserName: "gina", Active: true, Emails: []directory.MultiValue{{Value: "gina@example.com"}}})
	b := newBrowser(t, a, srv)
	tok := csrfOf(t, b.get("/forgot-password"))
	req, _ := http.NewRequest("POST", srv.URL+"/forgot-password", strings.NewReader(url.Values{"csrf": {tok}, "username": {"gina"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = "evil.example"
	req.Header.Set("X-Forwarded-Host", "evil.example")
	req.Header.Set("Forwarded", "host=evil.example;proto=https")
	u, _ := url.Parse(srv.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	res, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	m := waitSubject(t, sink, "gina@example.com", "Reset your")
	if strings.Contains(m.Text+m.HTML, "evil.example") {
		t.Fatal("the email carries the attacker's host")
	}
	linkPath(t, srv, m, "/reset/")
}

// TestResetDoesNotBypassMFA (WEB-19): after a password reset, a user with an
// authenticator app must still pass it, even in the browser that had it
// remembered; and the reset ends the sessions of whoever knew the old password.
func TestResetDoesNotBypassMFA(t *testing.T) {
	a, srv, sink := mailServer(t)
	a.MFA.Policy.Mode = "context"
	ctx := context.Background()
	u, _ := a.Directory.CreateUser(ctx, audit.System, directory.User{UserName: "hank", Active: true, Emails: []directory.MultiValue{{Value: "hank@example.com"}}})
	a.Directory.SetPassword(ctx, audit.System, "hank", "a first long phrase")
	setup, err := a.MFA.BeginTOTP(ctx, u, "a first long phrase", authn.Client{IP: "192.0.2.9"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.MFA.ConfirmTOTP(ctx, u, authn.TOTPCodeAt(setup.Secret, time.Now()), authn.Client{IP: "192.0.2.9"}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, a, srv)
	tok := csrfOf(t, b.get("/forgot-password"))
	b.post("/forgot-password", url.Values{"csrf": {tok}, "username": {"hank"}})
	path := linkPath(t, srv, waitSubject(t, sink, "hank@example.com", "Reset your"), "/reset/")
	form := b.get(path)
	p := b.post(path, url.Values{"csrf": {csrfOf(t, form)}, "password": {"a second long phrase"}, "confirm": {"a second long phrase"}})
	if p.status != 303 || !strings.HasPrefix(p.header.Get("Location"), "/signin/mfa") {
		t.Fatalf("after reset: %d → %q, want the MFA step\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if b.get("/start").status != 303 {
		t.Fatal("signed in without the second factor")
	}
}

// TestRoleChangeEndsSessions: a change of role ends the user's sessions, so
// a session never carries over from one privilege level to another.
func TestRoleChangeEndsSessions(t *testing.T) {
	a, srv := newServer(t)
	b := newBrowser(t, a, srv)
	b.signIn("alice", "correct horse battery", "")
	if _, err := a.Directory.UpdateUser(context.Background(), audit.System, "alice", 0, func(u *directory.User) error {
		u.Role = directory.RoleAdmin
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if b.get("/start").status != 303 {
		t.Fatal("session survived a role change")
	}
}

// TestSecurityNotices (WEB-19): changing the password sends the user a
// notice by email, with where it came from and a link to review the account.
func TestSecurityNotices(t *testing.T) {
	a, srv, sink := mailServer(t)
	ctx := context.Background()
	a.Directory.CreateUser(ctx, audit.System, directory.User{UserName: "ivan", Active: true, Emails: []directory.MultiValue{{Value: "ivan@example.com"}}})
	a.Directory.SetPassword(ctx, audit.System, "ivan", "a first long phrase")
	b := newBrowser(t, a, srv)
	b.signIn("ivan", "a first long phrase", "")
	prof := b.get("/profile")
	if p := b.post("/profile/password", url.Values{"csrf": {csrfOf(t, prof)}, "current": {"a first long phrase"}, "new": {"a second long phrase"}}); p.status != 303 {
		t.Fatalf("change password: %d", p.status)
	}
	m := waitSubject(t, sink, "ivan@example.com", "Security notice")
	if !strings.Contains(m.Subject, "Your password was changed") || !strings.Contains(m.Text, "127.0.0.1") {
		t.Fatalf("notice: %q\n%s", m.Subject, m.Text)
	}
	linkPath(t, srv, m, "/profile")
}
