package idp_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/saml"
	"github.com/idcenter/idcenter/internal/testenv"
)

// TestInteropSLO: SP-initiated sign-in, then SP-initiated single logout
// through our /slo, against python3-saml (onelogin) and pysaml2. The SP must
// accept our LogoutResponse, and the idcenter session must be gone.
func TestInteropSLO(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	if _, err := e.a.Directory.CreateGroup(ctx, audit.System, directory.Group{DisplayName: "slo-users"}, []string{"alice"}); err != nil {
		t.Fatal(err)
	}
	spKey, spCert := testenv.GenerateSPKeyPair(t, "interop slo sp")
	for _, kind := range []string{testenv.PySPOneLogin, testenv.PySPPySAML2} {
		t.Run(kind, func(t *testing.T) {
			testenv.RequirePythonSAML(t, kind)
			port := testenv.FreeLoopbackPort(t)
			spBase := fmt.Sprintf("http://127.0.0.1:%d", port)
			ap, err := e.a.Apps.Create(ctx, audit.System, apps.CreateRequest{Application: apps.Application{
				DisplayName: "SLO " + kind, EntityID: spBase + "/metadata", Enabled: true,
				ACS:    []apps.ACS{{URL: spBase + "/acs", Binding: apps.BindingPOST, Default: true}},
				SLOURL: spBase + "/sls", SLOBinding: apps.BindingRedirect,
				NameIDFormat: apps.NameIDEmail, NameID: "${user:email}",
				SigningCertificates: []string{spCert},
				// python3-saml refuses a Response without an AttributeStatement.
				Attributes: []apps.Attribute{{Name: "email", Value: "${user:email}", NameFormat: apps.NameFormatBasic}},
			}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.a.Apps.Assign(ctx, audit.System, ap.ID, apps.PrincipalGroup, "slo-users"); err != nil {
				t.Fatal(err)
			}
			md := newMBrowser(e.srv.URL, "").do(t, "GET", e.srv.URL+"/saml/apps/"+ap.ID+"/metadata", nil)
			if md.status != 200 {
				t.Fatalf("metadata: %d %s", md.status, md.body)
			}
			sp := testenv.StartPythonSP(t, kind, testenv.PySPConfig{
				Port: port, IdPMetadataXML: md.body, SPKeyPEM: spKey, SPCertPEM: spCert,
				WantAssertionsSigned: true, WantMessagesSigned: true, NameIDFormat: saml.NameIDFormatEmailAddress,
			})

			b := newMBrowser(e.srv.URL, "alice")
			fr := b.flow(t, sp.LoginURL("redirect", "slo-in"))
			if !fr.postedToSP {
				t.Fatalf("no SAMLResponse reached the SP; ended at %s with %d: %.2000s", fr.finalURL, fr.final.status, fr.final.body)
			}
			if r := sp.Result(t); !r.OK {
				t.Fatalf("%s refused the response: %s %v", kind, r.Error, r.Errors)
			}
			startURL := e.srv.URL + "/saml/apps/" + ap.ID + "/start"
			if pg := b.doSite(t, "GET", startURL, nil, "none"); pg.status != 200 || !strings.Contains(pg.body, "SAMLResponse") {
				t.Fatalf("before logout the session should answer IdP-initiated SSO: %d", pg.status)
			}

			out := b.flow(t, sp.LogoutURL("slo-out"))
			lr := sp.LogoutResult(t)
			if !lr.OK || lr.Kind != "LogoutResponse" {
				t.Fatalf("%s did not accept our LogoutResponse: %+v (flow ended at %s with %d: %.1500s)",
					kind, lr, out.finalURL, out.final.status, out.final.body)
			}
			pg := b.do(t, "GET", startURL, nil)
			if pg.status < 300 || pg.status >= 400 || !strings.Contains(pg.header.Get("Location"), "/signin") {
				t.Fatalf("after logout the idcenter session is still alive: %d %s", pg.status, pg.header.Get("Location"))
			}
		})
	}
}

// TestInteropSLOIdPInitiated: portal sign-out propagates a LogoutRequest
// front-channel to a real SP with an SLO URL, the SP answers with a
// LogoutResponse, and idcenter checks it. The application requires signed
// messages: while the SP leaves its LogoutResponse unsigned, idcenter
// records the logout as partial (so the check is real); once the SP signs,
// the chain completes cleanly. pysaml2 also receives the LogoutRequest over
// HTTP-POST, and sends its own LogoutRequest over HTTP-POST (SP-initiated);
// python3-saml does logout over HTTP-Redirect only.
func TestInteropSLOIdPInitiated(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	if _, err := e.a.Directory.CreateGroup(ctx, audit.System, directory.Group{DisplayName: "idp-slo-users"}, []string{"alice"}); err != nil {
		t.Fatal(err)
	}
	spKey, spCert := testenv.GenerateSPKeyPair(t, "interop idp slo sp")
	for _, kind := range []string{testenv.PySPOneLogin, testenv.PySPPySAML2} {
		t.Run(kind, func(t *testing.T) {
			testenv.RequirePythonSAML(t, kind)
			port := testenv.FreeLoopbackPort(t)
			spBase := fmt.Sprintf("http://127.0.0.1:%d", port)
			ap, err := e.a.Apps.Create(ctx, audit.System, apps.CreateRequest{Application: apps.Application{
				DisplayName: "IdP SLO " + kind, EntityID: spBase + "/metadata", Enabled: true,
				ACS:    []apps.ACS{{URL: spBase + "/acs", Binding: apps.BindingPOST, Default: true}},
				SLOURL: spBase + "/sls", SLOBinding: apps.BindingRedirect,
				NameIDFormat: apps.NameIDEmail, NameID: "${user:email}",
				SigningCertificates: []string{spCert}, RequireSignedRequests: true,
				Attributes: []apps.Attribute{{Name: "email", Value: "${user:email}", NameFormat: apps.NameFormatBasic}},
			}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.a.Apps.Assign(ctx, audit.System, ap.ID, apps.PrincipalGroup, "idp-slo-users"); err != nil {
				t.Fatal(err)
			}
			md := newMBrowser(e.srv.URL, "").do(t, "GET", e.srv.URL+"/saml/apps/"+ap.ID+"/metadata", nil)
			if md.status != 200 {
				t.Fatalf("metadata: %d %s", md.status, md.body)
			}
			sp := testenv.StartPythonSP(t, kind, testenv.PySPConfig{
				Port: port, IdPMetadataXML: md.body, SPKeyPEM: spKey, SPCertPEM: spCert, SignAuthnRequests: true,
				WantAssertionsSigned: true, WantMessagesSigned: true, NameIDFormat: saml.NameIDFormatEmailAddress,
			})
			startURL := e.srv.URL + "/saml/apps/" + ap.ID + "/start"
			appEvents := func(action string) int {
				n := 0
				for _, ev := range e.events(action) {
					if ev.TargetID == ap.ID {
						n++
					}
				}
				return n
			}
			signIn := func(t *testing.T) *mbrowser {
				t.Helper()
				b := newMBrowser(e.srv.URL, "alice")
				if fr := b.flow(t, sp.LoginURL("redirect", "in")); !fr.postedToSP || !sp.Result(t).OK {
					t.Fatalf("sign-in: %+v at %s: %.1000s", sp.Result(t), fr.finalURL, fr.final.body)
				}
				b.user = "" // from here on the sign-in page ends a flow
				return b
			}
			// portalSignOut posts the portal's Sign out form and follows the
			// chain; it must end on idcenter's signed-out page with the
			// session gone.
			portalSignOut := func(t *testing.T, b *mbrowser) {
				t.Helper()
				portal := b.doSite(t, "GET", e.srv.URL+"/start", nil, "none")
				m := csrfRE.FindStringSubmatch(portal.body)
				if portal.status != 200 || m == nil {
					t.Fatalf("portal: %d", portal.status)
				}
				fr := b.navigate(t, e.srv.URL+"/start", "POST", e.srv.URL+"/signout", url.Values{"csrf": {html.UnescapeString(m[1])}})
				if fr.finalURL != e.srv.URL+"/signin?signed_out=1" || fr.final.status != 200 {
					t.Fatalf("sign-out ended at %s with %d: %.1500s", fr.finalURL, fr.final.status, fr.final.body)
				}
				if pg := b.doSite(t, "GET", startURL, nil, "none"); pg.status != http.StatusSeeOther {
					t.Fatalf("after sign-out the idcenter session is still alive: %d", pg.status)
				}
			}
			checkSPGotRequest := func(t *testing.T, binding string) {
				t.Helper()
				lr := sp.LogoutResult(t)
				if !lr.OK || lr.Kind != "LogoutRequest" || lr.Binding != binding {
					t.Fatalf("%s did not accept our LogoutRequest over %s: %+v", kind, binding, lr)
				}
			}

			t.Run("unsigned-answer-is-partial", func(t *testing.T) {
				propagated, partial := appEvents("saml.slo.propagate"), appEvents("saml.slo.partial")
				portalSignOut(t, signIn(t))
				checkSPGotRequest(t, "redirect")
				if appEvents("saml.slo.propagate") != propagated+1 {
					t.Error("no saml.slo.propagate event")
				}
				evs := e.events("saml.slo.partial")
				if appEvents("saml.slo.partial") != partial+1 || evs[0].Summary["reason"] != "unsigned LogoutResponse" {
					t.Errorf("an unsigned LogoutResponse was not refused: %+v", evs)
				}
			})

			sp.Configure(t, testenv.PySPConfig{SignLogout: true})
			t.Run("redirect", func(t *testing.T) {
				propagated, partial := appEvents("saml.slo.propagate"), appEvents("saml.slo.partial")
				portalSignOut(t, signIn(t))
				checkSPGotRequest(t, "redirect")
				if appEvents("saml.slo.propagate") != propagated+1 || appEvents("saml.slo.partial") != partial {
					t.Errorf("propagate %d→%d, partial %d→%d", propagated, appEvents("saml.slo.propagate"), partial, appEvents("saml.slo.partial"))
				}
			})
			if kind != testenv.PySPPySAML2 {
				// python3-saml: LogoutRequests over HTTP-Redirect only.
				if pg := newMBrowser(e.srv.URL, "").do(t, "GET", sp.LogoutURLBinding("post", "x"), nil); pg.status != http.StatusBadRequest {
					t.Errorf("python3-saml POST logout: %d", pg.status)
				}
				return
			}

			if _, err := e.a.Apps.Update(ctx, audit.System, ap.ID, 0, func(a *apps.Application) error {
				a.SLOBinding = apps.BindingPOST
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			t.Run("post", func(t *testing.T) {
				propagated, partial := appEvents("saml.slo.propagate"), appEvents("saml.slo.partial")
				portalSignOut(t, signIn(t))
				checkSPGotRequest(t, "post")
				if appEvents("saml.slo.propagate") != propagated+1 || appEvents("saml.slo.partial") != partial {
					t.Errorf("propagate %d→%d, partial %d→%d", propagated, appEvents("saml.slo.propagate"), partial, appEvents("saml.slo.partial"))
				}
			})
			t.Run("sp-initiated-post", func(t *testing.T) {
				b := signIn(t)
				ended := appEvents("saml.slo")
				out := b.flow(t, sp.LogoutURLBinding("post", "slo-post"))
				lr := sp.LogoutResult(t)
				if !lr.OK || lr.Kind != "LogoutResponse" || lr.Binding != "post" {
					t.Fatalf("%s did not accept our LogoutResponse: %+v (flow ended at %s with %d: %.1500s)",
						kind, lr, out.finalURL, out.final.status, out.final.body)
				}
				evs := e.events("saml.slo")
				if appEvents("saml.slo") != ended+1 || evs[0].Summary["binding"] != saml.BindingHTTPPOST {
					t.Errorf("the IdP did not take a POST-binding LogoutRequest: %+v", evs)
				}
				if pg := b.doSite(t, "GET", startURL, nil, "none"); pg.status != http.StatusSeeOther {
					t.Fatalf("after logout the idcenter session is still alive: %d", pg.status)
				}
			})
		})
	}
}
