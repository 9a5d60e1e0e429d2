package portal_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/idcenter/idcenter/internal/app"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/authn"
	"github.com/idcenter/idcenter/internal/config"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/testenv"
)

// The MFA pages through a real App behind httptest, on both engines.

const mfaPW = "correct horse battery staple"

// mfaOrigin is the public base URL: WebAuthn needs a DNS name. Browsers
// (and virtualwebauthn) put it in clientDataJSON; the test client talks to
// the httptest address.
const mfaOrigin = "http://localhost"

type mfaTestClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *mfaTestClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *mfaTestClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type mfaSite struct {
	t     *testing.T
	app   *app.App
	srv   *httptest.Server
	clock *mfaTestClock
}

// newMFASite starts an App with cfg changed by mutate, a fake clock for
// sign-in and sessions, and users alice (user) and root (admin).
func newMFASite(t *testing.T, database string, mutate func(*config.Config)) *mfaSite {
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Database = database
	cfg.BaseURL = mfaOrigin
	cfg.Auth.Argon2MemoryKiB = 8 * 1024
	cfg.Auth.Argon2Iterations = 1
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	clk := &mfaTestClock{t: time.Unix(1_950_000_015, 0).UTC()}
	a.Auth.Now, a.Sessions.Now = clk.Now, clk.Now
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() { srv.Close(); a.Close() })
	ctx := context.Background()
	for _, u := range []directory.User{{UserName: "alice", Active: true}, {UserName: "root", Active: true, Role: directory.RoleAdmin}} {
		if _, err := a.Directory.CreateUser(ctx, audit.System, u); err != nil {
			t.Fatal(err)
		}
		if err := a.Directory.SetPassword(ctx, audit.System, u.UserName, mfaPW); err != nil {
			t.Fatal(err)
		}
	}
	return &mfaSite{t: t, app: a, srv: srv, clock: clk}
}

func forMFAEngines(t *testing.T, mutate func(*config.Config), fn func(t *testing.T, s *mfaSite)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newMFASite(t, "", mutate)) })
	t.Run("postgres", func(t *testing.T) { fn(t, newMFASite(t, testenv.PostgresDSN(t), mutate)) })
}

type mfaBrowser struct {
	t      *testing.T
	site   *mfaSite
	client *http.Client
}

type mfaPage struct {
	status int
	header http.Header
	body   string
}

func (s *mfaSite) browser(t *testing.T) *mfaBrowser {
	jar, _ := cookiejar.New(nil)
	c := *s.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &mfaBrowser{t: t, site: s, client: &c}
}

func (b *mfaBrowser) do(req *http.Request) mfaPage {
	b.t.Helper()
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return mfaPage{res.StatusCode, res.Header, string(body)}
}

func (b *mfaBrowser) get(path string) mfaPage {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.site.srv.URL+path, nil)
	return b.do(req)
}

func (b *mfaBrowser) post(path string, form url.Values) mfaPage {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.site.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// postJSON posts like webauthn.js: JSON with the token in X-CSRF-Token.
func (b *mfaBrowser) postJSON(path, csrf string, v any) (int, map[string]json.RawMessage) {
	b.t.Helper()
	body, _ := json.Marshal(v)
	req, _ := http.NewRequest("POST", b.site.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	p := b.do(req)
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(p.body), &m); err != nil && p.status < 400 {
		b.t.Fatalf("%s: %d %s", path, p.status, p.body)
	}
	return p.status, m
}

func (b *mfaBrowser) cookie(name string) string {
	u, _ := url.Parse(b.site.srv.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

var (
	mfaCSRFRE     = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	mfaDataCSRFRE = regexp.MustCompile(`data-csrf="([^"]+)"`)
	mfaSecretRE   = regexp.MustCompile(`id="totp-secret" class="secret">([A-Z2-7 ]+)<`)
	mfaCodeRE     = regexp.MustCompile(`<code class="secret">([a-z0-9-]{14})</code>`)
)

func match(t *testing.T, re *regexp.Regexp, p mfaPage) string {
	t.Helper()
	m := re.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("%s not found in page (%d):\n%s", re, p.status, p.body)
	}
	return html.UnescapeString(m[1])
}

func expect(t *testing.T, p mfaPage, status int, location string) {
	t.Helper()
	if p.status != status || (location != "" && p.header.Get("Location") != location) {
		t.Fatalf("status %d location %q, want %d %q\n%s", p.status, p.header.Get("Location"), status, location, p.body)
	}
}

// password signs in with the password and returns the redirect.
func (b *mfaBrowser) password(user, returnTo string) mfaPage {
	b.t.Helper()
	tok := match(b.t, mfaCSRFRE, b.get("/signin"))
	return b.post("/signin/password", url.Values{"csrf": {tok}, "username": {user}, "password": {mfaPW}, "return_to": {returnTo}})
}

func (s *mfaSite) code(secret string) string { return authn.TOTPCodeAt(secret, s.clock.Now()) }

// enrolTOTP runs the enrolment-required flow of a new browser and returns
// the secret.
func (b *mfaBrowser) enrolTOTP(user string) string {
	t := b.t
	p := b.password(user, "/start?tab=apps")
	expect(t, p, 303, "/signin/mfa/enrol?return_to=%2Fstart%3Ftab%3Dapps")
	if b.cookie("idc_pending") == "" || b.cookie("idc_session") != "" {
		t.Fatal("pending cookie expected, no session yet")
	}
	expect(t, b.get("/signin/mfa?return_to=%2Fstart"), 303, "/signin/mfa/enrol?return_to=%2Fstart")
	if b.get("/start").status != 303 {
		t.Fatal("a pending sign-in is not a session")
	}
	enrol := b.get("/signin/mfa/enrol?return_to=%2Fstart%3Ftab%3Dapps")
	expect(t, enrol, 200, "")
	for _, id := range []string{`id="totp-setup"`, `id="webauthn-register"`, `id="webauthn-name"`, `src="/static/webauthn.js"`} {
		if !strings.Contains(enrol.body, id) {
			t.Fatalf("enrol page lacks %s", id)
		}
	}
	p = b.post("/signin/mfa/enrol/totp", url.Values{"csrf": {match(t, mfaCSRFRE, enrol)}, "return_to": {"/start?tab=apps"}})
	expect(t, p, 303, "/signin/mfa/enrol/totp?return_to=%2Fstart%3Ftab%3Dapps")
	setup := b.get(p.header.Get("Location"))
	expect(t, setup, 200, "")
	if !strings.Contains(setup.body, `id="totp-qr" class="qr" src="data:image/png;base64,`) || !strings.Contains(setup.body, `href="otpauth://totp/`) {
		t.Fatalf("setup page lacks the QR code:\n%s", setup.body)
	}
	secret := strings.ReplaceAll(match(t, mfaSecretRE, setup), " ", "")
	tok := match(t, mfaCSRFRE, setup)
	bad := b.post("/signin/mfa/enrol/totp/confirm", url.Values{"csrf": {tok}, "code": {"12345"}, "return_to": {"/start?tab=apps"}})
	if bad.status != 401 || !strings.Contains(bad.body, "not accepted") || !strings.Contains(bad.body, `id="totp-code"`) {
		t.Fatalf("wrong code: %d\n%s", bad.status, bad.body)
	}
	p = b.post("/signin/mfa/enrol/totp/confirm", url.Values{"csrf": {tok}, "code": {b.site.code(secret)}, "return_to": {"/start?tab=apps"}})
	expect(t, p, 303, "/profile/mfa?done=enrolled&return_to=%2Fstart%3Ftab%3Dapps")
	if b.cookie("idc_session") == "" {
		t.Fatal("no session after enrolment")
	}
	b.site.clock.Add(30 * time.Second)
	return secret
}

func TestMFAPagesTOTP(t *testing.T) {
	forMFAEngines(t, nil, func(t *testing.T, s *mfaSite) {
		b := s.browser(t)
		secret := b.enrolTOTP("alice")
		if b.cookie("idc_device") == "" {
			t.Fatal("context mode: the browser is remembered after MFA")
		}
		// The profile asks for recovery codes and offers to continue.
		prof := b.get("/profile/mfa?done=enrolled&return_to=%2Fstart%3Ftab%3Dapps")
		expect(t, prof, 200, "")
		for _, want := range []string{`id="mfa-continue" href="/start?tab=apps"`, `id="recovery-prompt"`, `id="totp-status">On`,
			`id="totp-remove-password"`, `id="webauthn-register"`, `id="recovery-regenerate"`, "Now generate recovery codes"} {
			if !strings.Contains(prof.body, want) {
				t.Fatalf("profile MFA page lacks %s:\n%s", want, prof.body)
			}
		}
		if p := b.get("/profile"); !strings.Contains(p.body, `id="mfa-manage" href="/profile/mfa"`) {
			t.Fatalf("profile lacks the MFA section:\n%s", p.body)
		}
		tok := match(t, mfaCSRFRE, prof)
		if p := b.post("/profile/mfa/recovery", url.Values{"csrf": {tok}, "password": {"wrong"}}); p.status != 400 || !strings.Contains(p.body, "not correct") {
			t.Fatalf("recovery codes with a wrong password: %d", p.status)
		}
		codesPage := b.post("/profile/mfa/recovery", url.Values{"csrf": {tok}, "password": {mfaPW}})
		expect(t, codesPage, 200, "")
		codes := mfaCodeRE.FindAllStringSubmatch(codesPage.body, -1)
		if len(codes) != 10 || !strings.Contains(codesPage.body, `id="recovery-codes"`) || codesPage.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("codes page: %d codes\n%s", len(codes), codesPage.body)
		}

		// A new browser: password, then /signin/mfa, then a TOTP code, then a session.
		nb := s.browser(t)
		p := nb.password("alice", "/start?tab=apps")
		expect(t, p, 303, "/signin/mfa?return_to=%2Fstart%3Ftab%3Dapps")
		step := nb.get(p.header.Get("Location"))
		expect(t, step, 200, "")
		for _, id := range []string{`id="totp-code"`, `id="totp-submit"`, `id="recovery-code"`, `id="recovery-submit"`} {
			if !strings.Contains(step.body, id) {
				t.Fatalf("MFA page lacks %s:\n%s", id, step.body)
			}
		}
		if strings.Contains(step.body, `id="webauthn-signin"`) {
			t.Fatal("no security key registered: no security-key button")
		}
		tok = match(t, mfaCSRFRE, step)
		p = nb.post("/signin/mfa/totp", url.Values{"csrf": {tok}, "code": {"000000"}, "return_to": {"/start?tab=apps"}})
		if p.status != 401 || !strings.Contains(p.body, "not accepted") {
			t.Fatalf("wrong code: %d", p.status)
		}
		p = nb.post("/signin/mfa/totp", url.Values{"csrf": {tok}, "code": {s.code(secret)}, "return_to": {"/start?tab=apps"}})
		expect(t, p, 303, "/start?tab=apps")
		if nb.cookie("idc_pending") != "" || nb.cookie("idc_session") == "" || nb.cookie("idc_device") == "" {
			t.Fatal("cookies after MFA")
		}
		expect(t, nb.get("/start"), 200, "")
		// Replaying the code in a third browser fails.
		rb := s.browser(t)
		p = rb.password("alice", "")
		step = rb.get(p.header.Get("Location"))
		p = rb.post("/signin/mfa/totp", url.Values{"csrf": {match(t, mfaCSRFRE, step)}, "code": {s.code(secret)}})
		if p.status != 401 {
			t.Fatalf("replayed code: %d", p.status)
		}
		// ...but a recovery code works, once.
		p = rb.post("/signin/mfa/recovery", url.Values{"csrf": {match(t, mfaCSRFRE, step)}, "code": {codes[0][1]}})
		expect(t, p, 303, "/start")
		// The remembered browser signs in with the password alone (context mode).
		s.clock.Add(30 * time.Second)
		nb.post("/signout", url.Values{"csrf": {match(t, mfaCSRFRE, nb.get("/start"))}})
		expect(t, nb.password("alice", "/start"), 303, "/start")
		// Removing the app needs the password.
		prof = b.get("/profile/mfa")
		tok = match(t, mfaCSRFRE, prof)
		if p := b.post("/profile/mfa/totp/remove", url.Values{"csrf": {tok}, "password": {"nope"}}); p.status != 400 {
			t.Fatalf("remove with a wrong password: %d", p.status)
		}
		expect(t, b.post("/profile/mfa/totp/remove", url.Values{"csrf": {tok}, "password": {mfaPW}}), 303, "/profile/mfa?done=totp-removed")
		if p := b.get("/profile/mfa?done=totp-removed"); !strings.Contains(p.body, `id="totp-status">Off`) || !strings.Contains(p.body, `id="totp-setup"`) {
			t.Fatalf("after removal:\n%s", p.body)
		}
	})
}

func TestMFAPagesPolicy(t *testing.T) {
	t.Run("block", func(t *testing.T) {
		forMFAEngines(t, func(c *config.Config) { c.Auth.MFA.NoDevice = "block" }, func(t *testing.T, s *mfaSite) {
			b := s.browser(t)
			p := b.password("alice", "")
			expect(t, p, 303, "/signin/mfa")
			step := b.get("/signin/mfa")
			if step.status != 200 || !strings.Contains(step.body, `id="mfa-blocked"`) || strings.Contains(step.body, `id="totp-code"`) {
				t.Fatalf("blocked page:\n%s", step.body)
			}
			if b.cookie("idc_session") != "" {
				t.Fatal("blocked user got a session")
			}
		})
	})
	t.Run("never, admins exempt", func(t *testing.T) {
		forMFAEngines(t, func(c *config.Config) { c.Auth.MFA.Mode = "never"; c.Auth.MFA.AdminsExempt = true }, func(t *testing.T, s *mfaSite) {
			for _, u := range []string{"alice", "root"} {
				expect(t, s.browser(t).password(u, ""), 303, "/start")
			}
		})
	})
	t.Run("never, admins still need MFA", func(t *testing.T) {
		forMFAEngines(t, func(c *config.Config) { c.Auth.MFA.Mode = "never" }, func(t *testing.T, s *mfaSite) {
			expect(t, s.browser(t).password("alice", ""), 303, "/start")
			expect(t, s.browser(t).password("root", ""), 303, "/signin/mfa/enrol")
		})
	})
	t.Run("expired pending sign-in", func(t *testing.T) {
		forMFAEngines(t, nil, func(t *testing.T, s *mfaSite) {
			b := s.browser(t)
			b.password("alice", "")
			s.clock.Add(authn.PendingTTL + time.Second)
			p := b.get("/signin/mfa/enrol")
			if p.status != 400 || !strings.Contains(p.body, "Sign in again") {
				t.Fatalf("expired: %d\n%s", p.status, p.body)
			}
			if p := b.get("/signin/mfa"); p.status != 400 {
				t.Fatalf("no pending sign-in: %d", p.status)
			}
		})
	})
}

// p256 returns a key virtualwebauthn encodes correctly (see authn tests).
func p256() []byte {
	for {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if len(k.X.Bytes()) == 32 && len(k.Y.Bytes()) == 32 {
			der, _ := x509.MarshalPKCS8PrivateKey(k)
			return der
		}
	}
}

func TestMFAPagesWebAuthn(t *testing.T) {
	forMFAEngines(t, nil, func(t *testing.T, s *mfaSite) {
		rp := virtualwebauthn.RelyingParty{ID: "localhost", Name: "idcenter", Origin: mfaOrigin}
		alice, err := s.app.Directory.GetUser(context.Background(), audit.System, "alice")
		if err != nil {
			t.Fatal(err)
		}
		auth := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(alice.ID)})
		cred := virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, p256())

		// Enrol a security key during sign-in, through the JSON endpoints.
		b := s.browser(t)
		p := b.password("alice", "/start")
		enrol := b.get(p.header.Get("Location"))
		csrf := match(t, mfaDataCSRFRE, enrol)
		if status, _ := b.postJSON("/signin/mfa/enrol/webauthn/begin", "wrong-token", map[string]any{"name": "x"}); status != 403 {
			t.Fatalf("JSON without the CSRF token: %d", status)
		}
		status, begin := b.postJSON("/signin/mfa/enrol/webauthn/begin", csrf, map[string]any{"name": "My key"})
		if status != 200 {
			t.Fatalf("begin: %d %s", status, begin["error"])
		}
		opts, err := virtualwebauthn.ParseAttestationOptions(string(begin["options"]))
		if err != nil {
			t.Fatal(err)
		}
		if opts.RelyingPartyID != "localhost" {
			t.Fatalf("RP ID %q", opts.RelyingPartyID)
		}
		var ceremony string
		_ = json.Unmarshal(begin["ceremony"], &ceremony)
		att := json.RawMessage(virtualwebauthn.CreateAttestationResponse(rp, auth, cred, *opts))
		status, fin := b.postJSON("/signin/mfa/enrol/webauthn/finish", csrf, map[string]any{"ceremony": ceremony, "credential": att, "return_to": "/start"})
		if status != 200 || string(fin["redirect"]) != `"/profile/mfa?done=enrolled\u0026return_to=%2Fstart"` {
			t.Fatalf("finish: %d %s %s", status, fin["redirect"], fin["error"])
		}
		auth.AddCredential(cred)
		if b.cookie("idc_session") == "" {
			t.Fatal("no session")
		}
		prof := b.get("/profile/mfa")
		if !strings.Contains(prof.body, `id="webauthn-list"`) || !strings.Contains(prof.body, "My key") || !strings.Contains(prof.body, `id="webauthn-remove-`) {
			t.Fatalf("profile lacks the key:\n%s", prof.body)
		}

		// Sign in with it in a new browser.
		nb := s.browser(t)
		p = nb.password("alice", "/start")
		expect(t, p, 303, "/signin/mfa?return_to=%2Fstart")
		step := nb.get(p.header.Get("Location"))
		if !strings.Contains(step.body, `id="webauthn-signin"`) || strings.Contains(step.body, `id="totp-code"`) {
			t.Fatalf("MFA page:\n%s", step.body)
		}
		csrf = match(t, mfaDataCSRFRE, step)
		status, begin = nb.postJSON("/signin/mfa/webauthn/begin", csrf, map[string]any{})
		if status != 200 {
			t.Fatalf("begin: %d", status)
		}
		aopts, err := virtualwebauthn.ParseAssertionOptions(string(begin["options"]))
		if err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal(begin["ceremony"], &ceremony)
		evil := virtualwebauthn.RelyingParty{ID: "localhost", Origin: "http://evil.localhost"}
		status, fin = nb.postJSON("/signin/mfa/webauthn/finish", csrf, map[string]any{"ceremony": ceremony,
			"credential": json.RawMessage(virtualwebauthn.CreateAssertionResponse(evil, auth, cred, *aopts))})
		if status != 401 {
			t.Fatalf("wrong origin: %d", status)
		}
		status, begin = nb.postJSON("/signin/mfa/webauthn/begin", csrf, map[string]any{})
		aopts, _ = virtualwebauthn.ParseAssertionOptions(string(begin["options"]))
		_ = json.Unmarshal(begin["ceremony"], &ceremony)
		status, fin = nb.postJSON("/signin/mfa/webauthn/finish", csrf, map[string]any{"ceremony": ceremony, "return_to": "/start",
			"credential": json.RawMessage(virtualwebauthn.CreateAssertionResponse(rp, auth, cred, *aopts))})
		if status != 200 || string(fin["redirect"]) != `"/start"` {
			t.Fatalf("finish: %d %s", status, fin["error"])
		}
		expect(t, nb.get("/start"), 200, "")

		// Register a second key on the profile (the password is needed) and remove the first.
		prof = nb.get("/profile/mfa")
		csrf = match(t, mfaDataCSRFRE, prof)
		if status, m := nb.postJSON("/profile/mfa/webauthn/begin", csrf, map[string]any{"name": "Second", "password": "wrong"}); status != 400 {
			t.Fatalf("wrong password: %d %s", status, m["error"])
		}
		status, begin = nb.postJSON("/profile/mfa/webauthn/begin", csrf, map[string]any{"name": "Second", "password": mfaPW})
		if status != 200 {
			t.Fatalf("begin: %d %s", status, begin["error"])
		}
		opts, _ = virtualwebauthn.ParseAttestationOptions(string(begin["options"]))
		_ = json.Unmarshal(begin["ceremony"], &ceremony)
		cred2 := virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, p256())
		status, fin = nb.postJSON("/profile/mfa/webauthn/finish", csrf, map[string]any{"ceremony": ceremony,
			"credential": json.RawMessage(virtualwebauthn.CreateAttestationResponse(rp, auth, cred2, *opts))})
		if status != 200 || string(fin["redirect"]) != `"/profile/mfa?done=webauthn"` {
			t.Fatalf("finish: %d %s", status, fin["error"])
		}
		f, err := s.app.MFA.Factors(context.Background(), alice.ID)
		if err != nil || len(f.WebAuthn) != 2 {
			t.Fatalf("factors: %+v %v", f, err)
		}
		rm := nb.get("/profile/mfa/webauthn/" + f.WebAuthn[0].ID + "/remove")
		if rm.status != 200 || !strings.Contains(rm.body, `id="remove-password"`) || !strings.Contains(rm.body, `id="remove-submit"`) {
			t.Fatalf("remove page:\n%s", rm.body)
		}
		tok := match(t, mfaCSRFRE, rm)
		if p := nb.post("/profile/mfa/webauthn/"+f.WebAuthn[0].ID+"/remove", url.Values{"csrf": {tok}, "password": {"no"}}); p.status != 400 {
			t.Fatalf("remove with a wrong password: %d", p.status)
		}
		expect(t, nb.post("/profile/mfa/webauthn/"+f.WebAuthn[0].ID+"/remove", url.Values{"csrf": {tok}, "password": {mfaPW}}), 303,
			"/profile/mfa?done=webauthn-removed")
		if p := nb.get("/profile/mfa/webauthn/" + f.WebAuthn[0].ID + "/remove"); p.status != 404 {
			t.Fatalf("removed key page: %d", p.status)
		}
	})
}

func TestPasskeySignInPage(t *testing.T) {
	forMFAEngines(t, func(c *config.Config) { c.Auth.MFA.PasskeySignIn = true }, func(t *testing.T, s *mfaSite) {
		b := s.browser(t)
		p := b.get("/signin/passkey?return_to=%2Fstart")
		if p.status != 200 || !strings.Contains(p.body, `id="webauthn-signin"`) || !strings.Contains(p.body, `data-begin="/signin/passkey/begin"`) {
			t.Fatalf("passkey page: %d\n%s", p.status, p.body)
		}
		status, m := b.postJSON("/signin/passkey/begin", match(t, mfaDataCSRFRE, p), map[string]any{})
		if status != 200 || !strings.Contains(string(m["options"]), `"userVerification":"required"`) {
			t.Fatalf("begin: %d %s", status, m["options"])
		}
	})
	// off by default
	s := newMFASite(t, "", nil)
	if p := s.browser(t).get("/signin/passkey"); p.status != 404 {
		t.Fatalf("passkey page when disabled: %d", p.status)
	}
}
