package idp_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/saml"
	"github.com/idcenter/idcenter/internal/saml/idp"
)

// sloEnv gives the Wiki application an SLO URL and an SP signing key, and
// adds a second application (Chat) with its own SLO URL, both assigned to
// alice.
type sloEnv struct {
	*env
	spSigner *saml.Signer
	chatID   string
	wikiSLO  string
	chatSLO  string
}

const chatEntityID = "https://chat.test/entity"

func newSLOEnv(t *testing.T, database string, requireSigned bool) *sloEnv {
	t.Helper()
	return setupSLO(t, newEnv(t, database), requireSigned)
}

func setupSLO(t *testing.T, e *env, requireSigned bool) *sloEnv {
	t.Helper()
	s := &sloEnv{env: e, wikiSLO: e.sp.URL + "/slo", chatSLO: e.sp.URL + "/chat/slo"}
	key, cert, err := saml.GenerateSigningKey(2048, 24*time.Hour, "sp.test")
	if err != nil {
		t.Fatal(err)
	}
	if s.spSigner, err = saml.NewSigner(key, cert); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := e.a.Apps.Update(ctx, audit.System, e.appID, 0, func(a *apps.Application) error {
		a.SLOURL, a.SLOBinding = s.wikiSLO, apps.BindingRedirect
		a.SigningCertificates = []string{string(saml.EncodeCertificatePEM(cert))}
		a.RequireSignedRequests = requireSigned
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	chat, err := e.a.Apps.Create(ctx, audit.System, apps.CreateRequest{Application: apps.Application{
		DisplayName: "Chat", EntityID: chatEntityID, Enabled: true,
		ACS:    []apps.ACS{{URL: e.sp.URL + "/chat/acs", Binding: apps.BindingPOST, Default: true}},
		SLOURL: s.chatSLO, SLOBinding: apps.BindingRedirect,
		NameIDFormat: apps.NameIDEmail, NameID: "${user:email}",
	}})
	if err != nil {
		t.Fatal(err)
	}
	s.chatID = chat.ID
	if _, err := e.a.Apps.Assign(ctx, audit.System, chat.ID, apps.PrincipalUser, "alice"); err != nil {
		t.Fatal(err)
	}
	return s
}

// signInToBoth signs alice in and gets an assertion for Wiki (returned
// SessionIndex) and for Chat.
func (s *sloEnv) signInToBoth(b *browser) string {
	s.t.Helper()
	b.signIn("alice", "/start")
	info := s.verify(b.deliver(b.open("/saml/apps/" + s.appID + "/start")))
	if pg := b.open("/saml/apps/" + s.chatID + "/start"); pg.status != 200 || !strings.Contains(pg.body, "SAMLResponse") {
		s.t.Fatalf("chat sso: %d %s", pg.status, pg.body)
	}
	return info.SessionIndex
}

// logoutRequest is what the Wiki SP sends.
func (s *sloEnv) logoutRequest(issuer, nameID, sessionIndex string, signed bool, relay string) (string, string) {
	s.t.Helper()
	msg, id, err := saml.BuildLogoutRequest(saml.LogoutRequestParams{Issuer: issuer, Destination: s.idpEntityID() + "/slo",
		NameID: saml.NameID{Value: nameID, Format: saml.NameIDFormatEmailAddress}, SessionIndexes: []string{sessionIndex}}, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	var signer *saml.Signer
	if signed {
		signer = s.spSigner
	}
	u, err := saml.RedirectURL(s.idpEntityID()+"/slo", "SAMLRequest", msg, relay, signer)
	if err != nil {
		s.t.Fatal(err)
	}
	return u, id
}

func signedIn(b *browser) bool { return b.get("/start").status == 200 }

func TestSLORedirectPropagates(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		s := setupSLO(t, e, true)
		b := s.browser()
		sessionIndex := s.signInToBoth(b)
		u, reqID := s.logoutRequest(spEntityID, "alice@example.com", sessionIndex, true, "rs-1")

		// 1. To Chat's SLO with a signed LogoutRequest.
		pg := b.get(u)
		loc := pg.header.Get("Location")
		if pg.status != http.StatusFound || !strings.HasPrefix(loc, s.chatSLO+"?") {
			t.Fatalf("first hop: %d %q %s", pg.status, loc, pg.body)
		}
		if signedIn(b) {
			t.Fatal("session still live after SLO")
		}
		lu, _ := url.Parse(loc)
		lr, err := saml.ParseLogoutRequestRedirect(lu.RawQuery)
		if err != nil {
			t.Fatal(err)
		}
		if err := lr.Verify([]*x509.Certificate{s.idpCertFor(s.chatID)}, saml.VerifyOptions{}); err != nil {
			t.Fatalf("propagated request signature: %v", err)
		}
		if lr.Issuer != s.srv.URL+"/saml/apps/"+s.chatID || lr.NameID.Value != "alice@example.com" ||
			len(lr.SessionIndexes) != 1 || lr.SessionIndexes[0] != sessionIndex || lr.Destination != s.chatSLO {
			t.Errorf("propagated request: %+v", lr)
		}

		// 2. Chat answers to its own /slo; the chain ends at Wiki's LogoutResponse.
		chatIdP := s.srv.URL + "/saml/apps/" + s.chatID + "/slo"
		answer, err := saml.BuildLogoutResponse(saml.LogoutResponseParams{Issuer: chatEntityID, Destination: chatIdP, InResponseTo: lr.ID}, nil)
		if err != nil {
			t.Fatal(err)
		}
		au, err := saml.RedirectURL(chatIdP, "SAMLResponse", answer, lr.RelayState, nil)
		if err != nil {
			t.Fatal(err)
		}
		pg = b.get(au)
		loc = pg.header.Get("Location")
		if pg.status != http.StatusFound || !strings.HasPrefix(loc, s.wikiSLO+"?") {
			t.Fatalf("final: %d %q %s", pg.status, loc, pg.body)
		}
		lu, _ = url.Parse(loc)
		resp, err := saml.ParseLogoutResponseRedirect(lu.RawQuery)
		if err != nil {
			t.Fatal(err)
		}
		if err := resp.Verify([]*x509.Certificate{s.idpCert()}, saml.VerifyOptions{}); err != nil {
			t.Fatalf("LogoutResponse signature: %v", err)
		}
		if resp.Status.Code != saml.StatusSuccess || resp.Status.SubCode != "" || resp.InResponseTo != reqID ||
			resp.RelayState != "rs-1" || resp.Destination != s.wikiSLO || resp.Issuer != s.idpEntityID() {
			t.Errorf("LogoutResponse: %+v", resp)
		}
		if evs := s.events("saml.slo"); len(evs) != 1 || evs[0].Summary["sessionIndex"] != sessionIndex {
			t.Errorf("audit: %+v", evs)
		}
		// The state is single-use: Chat's answer replayed goes nowhere.
		if pg := b.get(au); pg.status != 400 {
			t.Errorf("replayed LogoutResponse: %d", pg.status)
		}

		// 3. A replay of the LogoutRequest in a new session is refused and harmless.
		b.signIn("alice", "/start")
		if pg := b.get(u); pg.status != 400 || strings.Contains(pg.header.Get("Location"), "SAMLResponse") {
			t.Errorf("replay: %d %q", pg.status, pg.header.Get("Location"))
		}
		if !signedIn(b) {
			t.Error("replay ended the new session")
		}
	})
}

func TestSLORefusals(t *testing.T) {
	s := newSLOEnv(t, "", true)
	b := s.browser()
	sessionIndex := s.signInToBoth(b)
	refused := func(name, u string) {
		t.Helper()
		pg := b.get(u)
		if pg.status != 400 || pg.header.Get("Location") != "" {
			t.Errorf("%s: %d %q", name, pg.status, pg.header.Get("Location"))
		}
		if !signedIn(b) {
			t.Fatalf("%s: session ended", name)
		}
	}
	u, _ := s.logoutRequest(spEntityID, "alice@example.com", sessionIndex, false, "")
	refused("unsigned while required", u)
	u, _ = s.logoutRequest("https://other.example/sp", "alice@example.com", sessionIndex, true, "")
	refused("wrong issuer", u)
	u, _ = s.logoutRequest(chatEntityID, "alice@example.com", sessionIndex, true, "")
	refused("other application's issuer", u)
	refused("garbage", s.idpEntityID()+"/slo?SAMLRequest=%%%")
	// Wrong destination (the SSO URL).
	msg, _, _ := saml.BuildLogoutRequest(saml.LogoutRequestParams{Issuer: spEntityID, Destination: s.idpEntityID() + "/sso",
		NameID: saml.NameID{Value: "alice@example.com"}}, nil)
	u, _ = saml.RedirectURL(s.idpEntityID()+"/slo", "SAMLRequest", msg, "", s.spSigner)
	refused("wrong destination", u)
	// Stale.
	msg, _, _ = saml.BuildLogoutRequest(saml.LogoutRequestParams{Issuer: spEntityID, Destination: s.idpEntityID() + "/slo",
		NameID: saml.NameID{Value: "alice@example.com"}, Now: func() time.Time { return time.Now().Add(-time.Hour) }}, nil)
	u, _ = saml.RedirectURL(s.idpEntityID()+"/slo", "SAMLRequest", msg, "", s.spSigner)
	refused("stale", u)
	if n := len(s.events("saml.slo.refused")); n < 5 {
		t.Errorf("refusals audited: %d", n)
	}

	// Another user's Name ID or another session: UnknownPrincipal, session intact.
	for name, c := range map[string][2]string{"name id": {"bob@example.com", sessionIndex}, "session": {"alice@example.com", "_other"}} {
		u, _ := s.logoutRequest(spEntityID, c[0], c[1], true, "")
		pg := b.get(u)
		lu, _ := url.Parse(pg.header.Get("Location"))
		resp, err := saml.ParseLogoutResponseRedirect(lu.RawQuery)
		if err != nil || resp.Status.SubCode != saml.StatusUnknownPrincipal {
			t.Errorf("%s: %v %+v", name, err, resp)
		}
		if !signedIn(b) {
			t.Fatalf("%s: session ended", name)
		}
	}
}

// TestSLOPOST: a signed LogoutRequest posted cross-site is resumed by a
// same-site GET, which carries the session cookie.
func TestSLOPOST(t *testing.T) {
	s := newSLOEnv(t, "", true)
	ctx := context.Background()
	if _, err := s.a.Apps.Update(ctx, audit.System, s.chatID, 0, func(a *apps.Application) error {
		a.SLOURL = "" // only Wiki: the answer comes at once
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b := s.browser()
	sessionIndex := s.signInToBoth(b)
	msg, id, err := saml.BuildLogoutRequest(saml.LogoutRequestParams{Issuer: spEntityID, Destination: s.idpEntityID() + "/slo",
		NameID: saml.NameID{Value: "alice@example.com"}, SessionIndexes: []string{sessionIndex}}, s.spSigner)
	if err != nil {
		t.Fatal(err)
	}
	pg := b.post(s.idpEntityID()+"/slo", url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(msg)}, "RelayState": {"p"}},
		"Origin", s.sp.URL, "Sec-Fetch-Site", "cross-site")
	if pg.status != http.StatusSeeOther || !strings.Contains(pg.header.Get("Location"), "/slo/continue?req=") {
		t.Fatalf("POST: %d %q %s", pg.status, pg.header.Get("Location"), pg.body)
	}
	pg = b.get(pg.header.Get("Location"))
	lu, _ := url.Parse(pg.header.Get("Location"))
	resp, err := saml.ParseLogoutResponseRedirect(lu.RawQuery)
	if err != nil || resp.InResponseTo != id || resp.Status.Code != saml.StatusSuccess || resp.RelayState != "p" {
		t.Fatalf("response: %d %v %+v", pg.status, err, resp)
	}
	if signedIn(b) {
		t.Error("session still live")
	}
}

// TestPortalSignOutPropagates: portal sign-out ends the session, then goes
// through the applications' SLO URLs and lands on the sign-in page.
func TestPortalSignOutPropagates(t *testing.T) {
	s := newSLOEnv(t, "", false)
	b := s.browser()
	s.signInToBoth(b)
	pg := b.get("/start")
	m := csrfRE.FindStringSubmatch(pg.body)
	if m == nil {
		t.Fatal("no csrf token")
	}
	pg = b.post("/signout", url.Values{"csrf": {m[1]}})
	seen := map[string]bool{}
	for i := 0; i < 3 && pg.status == http.StatusFound; i++ {
		lu, _ := url.Parse(pg.header.Get("Location"))
		seen[lu.Scheme+"://"+lu.Host+lu.Path] = true
		lr, err := saml.ParseLogoutRequestRedirect(lu.RawQuery)
		if err != nil {
			t.Fatal(err)
		}
		issuer, back := spEntityID, s.idpEntityID()+"/slo"
		if strings.HasSuffix(lr.Issuer, s.chatID) {
			issuer, back = chatEntityID, s.srv.URL+"/saml/apps/"+s.chatID+"/slo"
		}
		answer, _ := saml.BuildLogoutResponse(saml.LogoutResponseParams{Issuer: issuer, Destination: back, InResponseTo: lr.ID}, nil)
		au, _ := saml.RedirectURL(back, "SAMLResponse", answer, lr.RelayState, nil)
		pg = b.get(au)
	}
	if pg.status != http.StatusSeeOther || pg.header.Get("Location") != "/signin?signed_out=1" {
		t.Fatalf("end: %d %q %s", pg.status, pg.header.Get("Location"), pg.body)
	}
	if !seen[s.wikiSLO] || !seen[s.chatSLO] {
		t.Errorf("visited %v", seen)
	}
	if signedIn(b) {
		t.Error("still signed in")
	}
}

// TestSLOCSRFExemptionIsNarrow: only POST /saml/apps/{id}/slo skips the
// CSRF checks; near-miss paths do not.
func TestSLOCSRFExemptionIsNarrow(t *testing.T) {
	s := newSLOEnv(t, "", true)
	b := s.browser()
	b.signIn("alice", "/start")
	for _, p := range []string{"/saml/apps/" + s.appID + "/slo/x", "/saml/apps/" + s.appID + "/slo/continue",
		"/saml/apps/a/b/slo", "/saml/apps/" + s.appID + "/slox", "/saml/apps/" + s.appID + "/SLO"} {
		for _, cross := range []bool{false, true} {
			hdr := []string{}
			if cross {
				hdr = []string{"Origin", s.sp.URL, "Sec-Fetch-Site", "cross-site"}
			}
			if pg := b.post(p, url.Values{"x": {"1"}}, hdr...); pg.status != 403 {
				t.Errorf("POST %s (cross-site %v): %d, want 403", p, cross, pg.status)
			}
		}
	}
	// The exact path is exempt: garbage gets a 400, not a CSRF 403.
	if pg := b.post("/saml/apps/"+s.appID+"/slo", url.Values{"SAMLRequest": {"x"}}, "Origin", s.sp.URL, "Sec-Fetch-Site", "cross-site"); pg.status != 400 {
		t.Errorf("exact SLO POST: %d", pg.status)
	}
	if !signedIn(b) {
		t.Error("signed out by a forged POST")
	}
	for p, want := range map[string]bool{"/saml/apps/x/slo": true, "/saml/apps/x/sso": true, "/saml/apps/x/slo/": false,
		"/saml/apps//slo": false, "/saml/apps/x/y/slo": false, "/saml/apps/x/continue": false} {
		r, _ := http.NewRequest("POST", p, nil)
		if got := idp.IsSAMLPOST(r); got != want {
			t.Errorf("IsSAMLPOST(%s) = %v", p, got)
		}
	}
}
