package idp_test

import (
	"context"
	"fmt"
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
			if pg := b.do(t, "GET", startURL, nil); pg.status != 200 || !strings.Contains(pg.body, "SAMLResponse") {
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
