package idp_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/idcenter/idcenter/internal/app"
	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/config"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/saml"
	"github.com/idcenter/idcenter/internal/testenv"
)

const (
	password   = "correct horse battery"
	spEntityID = "https://sp.test/entity"
)

// env is a running idcenter with one application and a recording SP.
type env struct {
	t     *testing.T
	a     *app.App
	srv   *httptest.Server
	sp    *httptest.Server
	acs   string
	appID string

	mu     sync.Mutex
	posted []url.Values
	// ahead moves the IdP handler's clock forward (nanoseconds), for
	// sessions that must look old (ForceAuthn).
	ahead atomic.Int64
}

func forEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newEnv(t, "")) })
	t.Run("postgres", func(t *testing.T) { fn(t, newEnv(t, testenv.PostgresDSN(t))) })
}

func newEnv(t *testing.T, database string) *env {
	t.Helper()
	e := &env{t: t}
	e.sp = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		e.mu.Lock()
		e.posted = append(e.posted, r.PostForm)
		e.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(e.sp.Close)
	e.acs = e.sp.URL + "/acs"

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Database = database
	cfg.BaseURL = "http://" + ln.Addr().String()
	cfg.Auth.MFA.Mode = "never"
	cfg.Auth.MFA.AdminsExempt = true
	cfg.Auth.Argon2MemoryKiB = 8 * 1024
	cfg.Auth.Argon2Iterations = 1
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	e.a = a
	a.IdP.Now = func() time.Time { return time.Now().Add(time.Duration(e.ahead.Load())) }
	e.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: a.Handler()}}
	e.srv.Start()
	t.Cleanup(func() { e.srv.Close(); a.Close() })

	ctx := context.Background()
	for _, u := range []directory.User{
		{UserName: "alice", Active: true, Name: directory.Name{GivenName: "Alice", FamilyName: "Smith"},
			Emails: []directory.MultiValue{{Value: "alice@example.com", Primary: true}}},
		{UserName: "bob", Active: true, Emails: []directory.MultiValue{{Value: "bob@example.com", Primary: true}}},
	} {
		if _, err := a.Directory.CreateUser(ctx, audit.System, u); err != nil {
			t.Fatal(err)
		}
		if err := a.Directory.SetPassword(ctx, audit.System, u.UserName, password); err != nil {
			t.Fatal(err)
		}
	}
	ap, err := a.Apps.Create(ctx, audit.System, apps.CreateRequest{Application: apps.Application{
		DisplayName: "Wiki", EntityID: spEntityID, Enabled: true,
		ACS:          []apps.ACS{{URL: e.acs, Binding: apps.BindingPOST, Default: true}},
		NameIDFormat: apps.NameIDEmail, NameID: "${user:email}",
		DefaultRelayState: "/home",
		Attributes: []apps.Attribute{
			{Name: "FirstName", Value: "${user:givenName}", NameFormat: apps.NameFormatBasic},
			{Name: "Email", Value: "${user:email}", NameFormat: apps.NameFormatBasic},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.appID = ap.ID
	if _, err := a.Apps.Assign(ctx, audit.System, ap.ID, apps.PrincipalUser, "alice"); err != nil {
		t.Fatal(err)
	}
	return e
}

type browser struct {
	e *env
	c *http.Client
}

type page struct {
	status int
	header http.Header
	body   string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{e: e, c: c}
}

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{res.StatusCode, res.Header, string(body)}
}

func (b *browser) get(u string, hdr ...string) page {
	b.e.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = b.e.srv.URL + u
	}
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(req)
}

// open is a click on a link of one of idcenter's own pages (a portal
// tile), as a browser sends it: Sec-Fetch-Site: same-origin.
func (b *browser) open(u string) page {
	b.e.t.Helper()
	return b.get(u, "Sec-Fetch-Site", "same-origin")
}

func (b *browser) post(u string, form url.Values, hdr ...string) page {
	b.e.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = b.e.srv.URL + u
	}
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs in with return_to and returns the redirect target.
func (b *browser) signIn(user, returnTo string) string {
	b.e.t.Helper()
	pg := b.get("/signin?return_to=" + url.QueryEscape(returnTo))
	m := csrfRE.FindStringSubmatch(pg.body)
	if m == nil {
		b.e.t.Fatalf("no csrf token (%d): %s", pg.status, pg.body)
	}
	res := b.post("/signin/password", url.Values{"csrf": {m[1]}, "username": {user}, "password": {password}, "return_to": {returnTo}})
	if res.status != http.StatusSeeOther {
		b.e.t.Fatalf("sign-in: %d %s", res.status, res.body)
	}
	return res.header.Get("Location")
}

var (
	actionRE = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)
	inputRE  = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// form extracts the auto-POST form of a page.
func form(t *testing.T, pg page) (string, url.Values) {
	t.Helper()
	m := actionRE.FindStringSubmatch(pg.body)
	if m == nil || pg.status != 200 {
		t.Fatalf("no SAML form (%d): %s", pg.status, pg.body)
	}
	v := url.Values{}
	for _, in := range inputRE.FindAllStringSubmatch(pg.body, -1) {
		v.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	return html.UnescapeString(m[1]), v
}

// deliver posts the form to the SP like a browser would.
func (b *browser) deliver(pg page) url.Values {
	b.e.t.Helper()
	action, v := form(b.e.t, pg)
	if action != b.e.acs {
		b.e.t.Fatalf("form posts to %q, want %q", action, b.e.acs)
	}
	if got := b.post(action, v); got.status != 200 {
		b.e.t.Fatalf("SP: %d", got.status)
	}
	b.e.mu.Lock()
	defer b.e.mu.Unlock()
	return b.e.posted[len(b.e.posted)-1]
}

// idpCert reads the signing certificate from the application's metadata.
func (e *env) idpCert() *x509.Certificate { return e.idpCertFor(e.appID) }

func (e *env) idpCertFor(appID string) *x509.Certificate {
	e.t.Helper()
	pg := e.browser().get("/saml/apps/" + appID + "/metadata")
	if pg.status != 200 {
		e.t.Fatalf("metadata: %d %s", pg.status, pg.body)
	}
	doc, err := saml.ParseUntrusted([]byte(pg.body), saml.MaxMetadataBytes)
	if err != nil {
		e.t.Fatal(err)
	}
	el := doc.FindElement("//X509Certificate")
	if el == nil {
		e.t.Fatal("no certificate in metadata")
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(el.Text()), ""))
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) idpEntityID() string { return e.srv.URL + "/saml/apps/" + e.appID }

// verify checks a posted SAMLResponse with gosaml2 against the metadata certificate.
func (e *env) verify(v url.Values) *saml2.AssertionInfo {
	e.t.Helper()
	sp := &saml2.SAMLServiceProvider{
		IdentityProviderSSOURL:      e.idpEntityID() + "/sso",
		IdentityProviderIssuer:      e.idpEntityID(),
		AssertionConsumerServiceURL: e.acs,
		ServiceProviderIssuer:       spEntityID,
		AudienceURI:                 spEntityID,
		IDPCertificateStore:         &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{e.idpCert()}},
	}
	info, err := sp.RetrieveAssertionInfo(v.Get("SAMLResponse"))
	if err != nil {
		e.t.Fatalf("gosaml2: %v", err)
	}
	if info.WarningInfo.NotInAudience || info.WarningInfo.InvalidTime {
		e.t.Fatalf("gosaml2 warnings: %+v", info.WarningInfo)
	}
	if info.NameID != "alice@example.com" {
		e.t.Errorf("NameID %q", info.NameID)
	}
	if got := info.Values.Get("FirstName"); got != "Alice" {
		e.t.Errorf("FirstName %q", got)
	}
	if got := info.Values.Get("Email"); got != "alice@example.com" {
		e.t.Errorf("Email %q", got)
	}
	if info.SessionIndex == "" || info.SessionNotOnOrAfter == nil || info.SessionNotOnOrAfter.Before(time.Now().Add(50*time.Minute)) {
		e.t.Errorf("session index %q, not on or after %v", info.SessionIndex, info.SessionNotOnOrAfter)
	}
	xml := decode(e.t, v.Get("SAMLResponse"))
	for _, want := range []string{`Destination="` + e.acs + `"`, `Recipient="` + e.acs + `"`, saml.AuthnContextPassword} {
		if !strings.Contains(xml, want) {
			e.t.Errorf("response lacks %s", want)
		}
	}
	return info
}

func decode(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (e *env) events(action string) []audit.Event {
	e.t.Helper()
	evs, _, err := e.a.API.Audit.List(context.Background(), audit.Actor{Type: audit.ActorUser, Role: audit.RoleAdmin}, audit.Filter{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []audit.Event
	for _, ev := range evs {
		if ev.Action == action {
			out = append(out, ev)
		}
	}
	return out
}

func TestMetadata(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		pg := e.browser().get("/saml/apps/" + e.appID + "/metadata")
		if pg.status != 200 || !strings.Contains(pg.header.Get("Content-Type"), "samlmetadata+xml") {
			t.Fatalf("%d %s", pg.status, pg.header.Get("Content-Type"))
		}
		if _, err := saml.ParseUntrusted([]byte(pg.body), saml.MaxMetadataBytes); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			`entityID="` + e.idpEntityID() + `"`,
			`Binding="` + saml.BindingHTTPRedirect + `" Location="` + e.idpEntityID() + `/sso"`,
			`Binding="` + saml.BindingHTTPPOST + `" Location="` + e.idpEntityID() + `/sso"`,
			`Location="` + e.idpEntityID() + `/slo"`,
		} {
			if !strings.Contains(pg.body, want) {
				t.Errorf("metadata lacks %s:\n%s", want, pg.body)
			}
		}
		e.idpCert()
		if pg := e.browser().get("/saml/apps/nope/metadata"); pg.status != 404 {
			t.Errorf("unknown app: %d", pg.status)
		}
	})
}

func TestIdPInitiated(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		start := "/saml/apps/" + e.appID + "/start"

		// Anonymous: sign in first, then continue to the assertion.
		// (A bookmark: Sec-Fetch-Site none. Cross-site triggers are in
		// idp_initiated_test.go.)
		b := e.browser()
		pg := b.get(start, "Sec-Fetch-Site", "none")
		if pg.status != 303 || pg.header.Get("Location") != "/signin?return_to="+url.QueryEscape(start) {
			t.Fatalf("anonymous: %d %q", pg.status, pg.header.Get("Location"))
		}
		if next := b.signIn("alice", start); next != start {
			t.Fatalf("after sign-in: %q", next)
		}
		pg = b.open(start)
		if csp := pg.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action "+e.sp.URL) {
			t.Errorf("CSP %q", csp)
		}
		got := b.deliver(pg)
		if got.Get("RelayState") != "/home" {
			t.Errorf("RelayState %q", got.Get("RelayState"))
		}
		e.verify(got)
		if strings.Contains(decode(t, got.Get("SAMLResponse")), "InResponseTo") {
			t.Error("IdP-initiated response has InResponseTo")
		}
		if evs := e.events("saml.sso"); len(evs) != 1 || evs[0].TargetID != e.appID || evs[0].Actor.Name != "alice" {
			t.Errorf("audit: %+v", evs)
		}

		// The portal lists the application as a tile linking to its start URL.
		if pg := b.get("/start"); !strings.Contains(pg.body, `href="`+start+`"`) || !strings.Contains(pg.body, "Wiki") {
			t.Errorf("no tile in portal:\n%s", pg.body)
		}

		// Unassigned: 403, no SAMLResponse, audited, no tile.
		bob := e.browser()
		bob.signIn("bob", "/start")
		pg = bob.open(start)
		if pg.status != 403 || strings.Contains(pg.body, "SAMLResponse") || !strings.Contains(pg.body, "not assigned") {
			t.Errorf("unassigned: %d %s", pg.status, pg.body)
		}
		if evs := e.events("saml.sso.refused"); len(evs) != 1 || evs[0].Actor.Name != "bob" || evs[0].Summary["reason"] != "not assigned" {
			t.Errorf("audit: %+v", evs)
		}
		if pg := bob.get("/start"); strings.Contains(pg.body, start) {
			t.Error("unassigned user sees the tile")
		}
	})
}

// authnRequest returns an unsigned AuthnRequest.
func (e *env) authnRequest(id, issuer, acs string) []byte {
	acsAttr := ""
	if acs != "" {
		acsAttr = ` AssertionConsumerServiceURL="` + acs + `" ProtocolBinding="` + saml.BindingHTTPPOST + `"`
	}
	return []byte(fmt.Sprintf(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="%s" Version="2.0" IssueInstant="%s" Destination="%s"%s><saml:Issuer>%s</saml:Issuer></samlp:AuthnRequest>`,
		id, time.Now().UTC().Format("2006-01-02T15:04:05Z"), e.idpEntityID()+"/sso", acsAttr, issuer))
}

func (e *env) redirectURL(msg []byte, relay string) string {
	e.t.Helper()
	u, err := saml.RedirectURL(e.idpEntityID()+"/sso", "SAMLRequest", msg, relay, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func TestSPInitiatedRedirect(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		b := e.browser()
		u := e.redirectURL(e.authnRequest("_req1", spEntityID, e.acs), "relay-1")

		// Anonymous: to sign-in with return_to = this exact URL, then on.
		pg := b.get(u)
		loc, _ := url.Parse(pg.header.Get("Location"))
		rt := loc.Query().Get("return_to")
		if pg.status != 303 || loc.Path != "/signin" || e.srv.URL+rt != u {
			t.Fatalf("anonymous: %d %q", pg.status, pg.header.Get("Location"))
		}
		if next := b.signIn("alice", rt); next != rt {
			t.Fatalf("after sign-in: %q", next)
		}
		got := b.deliver(b.get(rt))
		if got.Get("RelayState") != "relay-1" {
			t.Errorf("RelayState %q", got.Get("RelayState"))
		}
		e.verify(got)
		if !strings.Contains(decode(t, got.Get("SAMLResponse")), `InResponseTo="_req1"`) {
			t.Error("no InResponseTo")
		}

		refused := func(name, u string, status int) {
			t.Helper()
			pg := b.get(u)
			if pg.status != status || strings.Contains(pg.body, "SAMLResponse") {
				t.Errorf("%s: %d %s", name, pg.status, pg.body)
			}
		}
		// Replay of the same request ID.
		refused("replay", u, 400)
		// Unregistered ACS (IDP-01): even a near miss.
		refused("unregistered acs", e.redirectURL(e.authnRequest("_req2", spEntityID, e.acs+"/"), ""), 400)
		refused("foreign acs", e.redirectURL(e.authnRequest("_req3", spEntityID, "https://evil.example/acs"), ""), 400)
		// Unknown issuer.
		refused("unknown issuer", e.redirectURL(e.authnRequest("_req4", "https://other.example/sp", e.acs), ""), 400)
		// Garbage.
		refused("garbage", e.idpEntityID()+"/sso?SAMLRequest=%%%", 400)

		reasons := map[string]bool{}
		for _, ev := range e.events("saml.sso.refused") {
			reasons[strings.SplitN(fmt.Sprint(ev.Summary["reason"]), ":", 2)[0]] = true
		}
		for _, r := range []string{"replayed request ID", "unregistered ACS", "unknown issuer"} {
			if !reasons[r] {
				t.Errorf("no audit event for %q: %v", r, reasons)
			}
		}

		// No ACS in the request: the default one, still with InResponseTo.
		got = b.deliver(b.get(e.redirectURL(e.authnRequest("_req5", spEntityID, ""), "")))
		if !strings.Contains(decode(t, got.Get("SAMLResponse")), `InResponseTo="_req5"`) {
			t.Error("no InResponseTo")
		}
	})
}

func TestIsPassive(t *testing.T) {
	e := newEnv(t, "")
	msg := strings.Replace(string(e.authnRequest("_p1", spEntityID, e.acs)), `Version="2.0"`, `Version="2.0" IsPassive="true"`, 1)
	got := e.browser().deliver(e.browser().get(e.redirectURL([]byte(msg), "")))
	xml := decode(t, got.Get("SAMLResponse"))
	if !strings.Contains(xml, saml.StatusNoPassive) || strings.Contains(xml, "Assertion ") || !strings.Contains(xml, `InResponseTo="_p1"`) {
		t.Errorf("passive response: %s", xml)
	}
}

func TestSPInitiatedPOST(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		b := e.browser()
		b.signIn("alice", "/start")
		req := base64.StdEncoding.EncodeToString(e.authnRequest("_post1", spEntityID, e.acs))
		sso := "/saml/apps/" + e.appID + "/sso"
		// A cross-site POST, as a browser sends it from the SP's page; the
		// session cookie (SameSite=Lax) would not be sent, so the IdP
		// continues on a same-site GET.
		pg := b.post(sso, url.Values{"SAMLRequest": {req}, "RelayState": {"rs"}}, "Origin", e.sp.URL, "Sec-Fetch-Site", "cross-site")
		loc := pg.header.Get("Location")
		if pg.status != 303 || !strings.HasPrefix(loc, "/saml/apps/"+e.appID+"/continue?req=") {
			t.Fatalf("POST: %d %q %s", pg.status, loc, pg.body)
		}
		got := b.deliver(b.get(loc))
		e.verify(got)
		if got.Get("RelayState") != "rs" || !strings.Contains(decode(t, got.Get("SAMLResponse")), `InResponseTo="_post1"`) {
			t.Error("RelayState or InResponseTo")
		}
		// The continuation is single-use.
		if pg := b.get(loc); pg.status != 400 {
			t.Errorf("second continue: %d", pg.status)
		}

		// Anonymous: POST, continue, sign in, continue again.
		anon := e.browser()
		req2 := base64.StdEncoding.EncodeToString(e.authnRequest("_post2", spEntityID, e.acs))
		loc = anon.post(sso, url.Values{"SAMLRequest": {req2}}, "Origin", e.sp.URL, "Sec-Fetch-Site", "cross-site").header.Get("Location")
		pg = anon.get(loc)
		l2, _ := url.Parse(pg.header.Get("Location"))
		rt := l2.Query().Get("return_to")
		if pg.status != 303 || l2.Path != "/signin" || !strings.Contains(rt, "/continue?req=") {
			t.Fatalf("anonymous continue: %d %q", pg.status, pg.header.Get("Location"))
		}
		if next := anon.signIn("alice", rt); next != rt {
			t.Fatalf("after sign-in: %q", next)
		}
		got = anon.deliver(anon.get(rt))
		if !strings.Contains(decode(t, got.Get("SAMLResponse")), `InResponseTo="_post2"`) {
			t.Error("no InResponseTo after sign-in")
		}
	})
}

// TestCSRFExemptionIsNarrow: only POST /saml/apps/{id}/sso skips the CSRF
// checks; other browser POSTs, including near-miss SAML paths, do not.
func TestCSRFExemptionIsNarrow(t *testing.T) {
	e := newEnv(t, "")
	b := e.browser()
	b.signIn("alice", "/start")
	for _, p := range []string{"/signout", "/profile/password", "/saml/apps/" + e.appID + "/start", "/saml/apps/" + e.appID + "/sso/x", "/saml/apps/" + e.appID + "/continue", "/saml/apps/a/b/sso"} {
		for _, cross := range []bool{false, true} {
			hdr := []string{}
			if cross {
				hdr = []string{"Origin", e.sp.URL, "Sec-Fetch-Site", "cross-site"}
			}
			pg := b.post(p, url.Values{"x": {"1"}}, hdr...)
			if pg.status != 403 {
				t.Errorf("POST %s (cross-site %v) without CSRF token: %d, want 403", p, cross, pg.status)
			}
		}
	}
	// Still signed in (sign-out was refused).
	if pg := b.get("/start"); pg.status != 200 {
		t.Errorf("signed out by a forged POST: %d", pg.status)
	}
}

// TestForceAuthn (IDP-14): a ForceAuthn request from a signed-in user whose
// sign-in is older than a minute goes to the sign-in form (prompt=login),
// not to an error; after signing in again the new session replaces the old
// one and the assertion carries a fresh AuthnInstant.
func TestForceAuthn(t *testing.T) {
	forceAuthn := func(e *env, id string) []byte {
		return []byte(strings.Replace(string(e.authnRequest(id, spEntityID, e.acs)), `Version="2.0"`, `Version="2.0" ForceAuthn="true"`, 1))
	}
	instantRE := regexp.MustCompile(`AuthnInstant="([^"]+)"`)
	sessionIndexRE := regexp.MustCompile(`SessionIndex="[^"]+"`)
	instant := func(t *testing.T, v url.Values) time.Time {
		t.Helper()
		m := instantRE.FindStringSubmatch(decode(t, v.Get("SAMLResponse")))
		if m == nil {
			t.Fatal("no AuthnInstant")
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	forEngine(t, func(t *testing.T, e *env) {
		b := e.browser()
		b.signIn("alice", "/start")
		// A fresh session satisfies ForceAuthn at once.
		first := b.deliver(b.get(e.redirectURL(forceAuthn(e, "_f0"), "")))
		e.verify(first)
		old := instant(t, first)
		oldCookie := b.c.Jar.Cookies(mustURL(t, e.srv.URL))

		// Two minutes later (by the IdP's clock) the same session is too old.
		e.ahead.Store(int64(2 * time.Minute))
		u := e.redirectURL(forceAuthn(e, "_f1"), "relay-f")
		pg := b.get(u)
		loc, _ := url.Parse(pg.header.Get("Location"))
		rt := loc.Query().Get("return_to")
		if pg.status != 303 || loc.Path != "/signin" || loc.Query().Get("prompt") != "login" || e.srv.URL+rt != u {
			t.Fatalf("stale session: %d %q %s", pg.status, pg.header.Get("Location"), pg.body)
		}
		// Signed in, but prompt=login shows the form (not a redirect).
		form := b.get(pg.header.Get("Location"))
		if form.status != 200 || !csrfRE.MatchString(form.body) || !strings.Contains(form.body, `value="alice"`) {
			t.Fatalf("prompt=login: %d %s", form.status, form.body)
		}
		// Without prompt=login a signed-in user is still sent on.
		if pg := b.get("/signin?return_to=%2Fstart"); pg.status != 303 {
			t.Errorf("signin without prompt: %d", pg.status)
		}
		e.ahead.Store(0)
		reauth := time.Now().Truncate(time.Second)
		m := csrfRE.FindStringSubmatch(form.body)
		res := b.post("/signin/password", url.Values{"csrf": {m[1]}, "username": {"alice"}, "password": {password}, "return_to": {rt}})
		if res.status != 303 || res.header.Get("Location") != rt {
			t.Fatalf("re-sign-in: %d %q", res.status, res.header.Get("Location"))
		}
		got := b.deliver(b.get(rt))
		e.verify(got)
		xml := decode(t, got.Get("SAMLResponse"))
		if !strings.Contains(xml, `InResponseTo="_f1"`) || got.Get("RelayState") != "relay-f" {
			t.Errorf("response: %s", xml)
		}
		// AuthnInstant has one-second precision: it must not be before the
		// re-authentication, and the session (SessionIndex) must be new.
		if fresh := instant(t, got); fresh.Before(reauth) || fresh.Before(old) {
			t.Errorf("AuthnInstant %v, re-authenticated at %v (first %v)", fresh, reauth, old)
		}
		if a, b := sessionIndexRE.FindString(decode(t, first.Get("SAMLResponse"))), sessionIndexRE.FindString(xml); a == "" || a == b {
			t.Errorf("SessionIndex not new: %q %q", a, b)
		}
		// The old session was replaced: its cookie no longer signs in.
		stale := e.browser()
		stale.c.Jar.SetCookies(mustURL(t, e.srv.URL), oldCookie)
		if pg := stale.get("/start"); pg.status != 303 {
			t.Errorf("old session still valid: %d", pg.status)
		}

		// POST binding: the stored request is resumed after re-authentication.
		e.ahead.Store(int64(2 * time.Minute))
		sso := "/saml/apps/" + e.appID + "/sso"
		loc2 := b.post(sso, url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(forceAuthn(e, "_f2"))}},
			"Origin", e.sp.URL, "Sec-Fetch-Site", "cross-site").header.Get("Location")
		pg = b.get(loc2)
		l, _ := url.Parse(pg.header.Get("Location"))
		if pg.status != 303 || l.Path != "/signin" || l.Query().Get("prompt") != "login" {
			t.Fatalf("POST stale: %d %q", pg.status, pg.header.Get("Location"))
		}
		e.ahead.Store(0)
		rt = l.Query().Get("return_to")
		form = b.get(pg.header.Get("Location"))
		m = csrfRE.FindStringSubmatch(form.body)
		if res := b.post("/signin/password", url.Values{"csrf": {m[1]}, "username": {"alice"}, "password": {password}, "return_to": {rt}}); res.header.Get("Location") != rt {
			t.Fatalf("POST re-sign-in: %d %q", res.status, res.header.Get("Location"))
		}
		got = b.deliver(b.get(rt))
		if !strings.Contains(decode(t, got.Get("SAMLResponse")), `InResponseTo="_f2"`) {
			t.Error("POST: no InResponseTo")
		}

		// ForceAuthn with IsPassive cannot prompt: NoPassive.
		e.ahead.Store(int64(2 * time.Minute))
		passive := strings.Replace(string(forceAuthn(e, "_f3")), `Version="2.0"`, `Version="2.0" IsPassive="true"`, 1)
		got = b.deliver(b.get(e.redirectURL([]byte(passive), "")))
		e.ahead.Store(0)
		if xml := decode(t, got.Get("SAMLResponse")); !strings.Contains(xml, saml.StatusNoPassive) || strings.Contains(xml, "Assertion ") {
			t.Errorf("passive+force: %s", xml)
		}
	})
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
