package idp_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/saml"
	"github.com/idcenter/idcenter/internal/testenv"
)

// TestInteropCertificateRotation rotates an application's signing
// certificate under python3-saml (onelogin) and pysaml2: a next certificate
// is published beside the active one; an SP configured with that metadata
// keeps accepting responses once the next certificate is activated (they
// are then signed with the new key), while an SP that only knows the old
// certificate refuses them; after the old certificate is removed the
// metadata publishes the new one alone, and an SP configured with it
// accepts.
func TestInteropCertificateRotation(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	if _, err := e.a.Directory.CreateGroup(ctx, audit.System, directory.Group{DisplayName: "rotation-users"}, []string{"alice"}); err != nil {
		t.Fatal(err)
	}
	spKey, spCert := testenv.GenerateSPKeyPair(t, "interop rotation sp")
	for _, kind := range []string{testenv.PySPOneLogin, testenv.PySPPySAML2} {
		t.Run(kind, func(t *testing.T) { rotatePeer(t, e, kind, spKey, spCert) })
	}
}

func rotatePeer(t *testing.T, e *env, kind, spKey, spCert string) {
	testenv.RequirePythonSAML(t, kind)
	ctx := context.Background()
	port := testenv.FreeLoopbackPort(t)
	spBase := fmt.Sprintf("http://127.0.0.1:%d", port)
	ap, err := e.a.Apps.Create(ctx, audit.System, apps.CreateRequest{Application: apps.Application{
		DisplayName: "Rotation " + kind, EntityID: spBase + "/metadata", Enabled: true,
		ACS:          []apps.ACS{{URL: spBase + "/acs", Binding: apps.BindingPOST, Default: true}},
		NameIDFormat: apps.NameIDEmail, NameID: "${user:email}",
		Attributes: []apps.Attribute{{Name: "email", Value: "${user:email}", NameFormat: apps.NameFormatBasic}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Apps.Assign(ctx, audit.System, ap.ID, apps.PrincipalGroup, "rotation-users"); err != nil {
		t.Fatal(err)
	}
	certByStatus := func(status string) apps.Certificate {
		t.Helper()
		cs, err := e.a.Apps.ListCertificates(ctx, audit.System, ap.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Status == status {
				return c
			}
		}
		t.Fatalf("no %s certificate in %+v", status, cs)
		return apps.Certificate{}
	}
	metadata := func() (string, []*x509.Certificate) {
		t.Helper()
		pg := newMBrowser(e.srv.URL, "").do(t, "GET", e.srv.URL+"/saml/apps/"+ap.ID+"/metadata", nil)
		if pg.status != 200 {
			t.Fatalf("metadata: %d %s", pg.status, pg.body)
		}
		return pg.body, signingCerts(t, pg.body)
	}
	pemCert := func(c apps.Certificate) *x509.Certificate {
		t.Helper()
		x, err := saml.DecodeCertificatePEM([]byte(c.PEM))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}

	oldCert := certByStatus(apps.CertActive)
	mdOld, published := metadata()
	if len(published) != 1 || !published[0].Equal(pemCert(oldCert)) {
		t.Fatalf("before rotation the metadata publishes %d certificates, want the active one", len(published))
	}
	nextCert, err := e.a.Apps.AddCertificate(ctx, audit.System, ap.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	oldX, nextX := pemCert(oldCert), pemCert(nextCert)
	mdBoth, published := metadata()
	if len(published) != 2 || !published[0].Equal(oldX) || !published[1].Equal(nextX) {
		t.Fatalf("during rotation the metadata publishes %d certificates, want the active then the next one:\n%s", len(published), mdBoth)
	}

	sp := testenv.StartPythonSP(t, kind, testenv.PySPConfig{
		Port: port, IdPMetadataXML: mdBoth, SPKeyPEM: spKey, SPCertPEM: spCert,
		WantAssertionsSigned: true, WantMessagesSigned: true, NameIDFormat: saml.NameIDFormatEmailAddress,
	})
	// signIn runs SP-initiated SSO and returns the Response and what the SP made of it.
	signIn := func(t *testing.T, relay string) ([]byte, testenv.PySPResult) {
		t.Helper()
		fr := newMBrowser(e.srv.URL, "alice").flow(t, sp.LoginURL("redirect", relay))
		if !fr.postedToSP {
			t.Fatalf("no SAMLResponse reached the SP; ended at %s with %d: %.2000s", fr.finalURL, fr.final.status, fr.final.body)
		}
		r := sp.Result(t)
		if r.RelayState != relay {
			t.Fatalf("the SP's last result is not this flow's: %+v", r)
		}
		return fr.samlResponse, r
	}
	accepted := func(t *testing.T, relay string, signer, other *x509.Certificate) {
		t.Helper()
		resp, r := signIn(t, relay)
		if !r.OK || r.NameID != "alice@example.com" {
			t.Fatalf("%s refused the response: %s %v", kind, r.Error, r.Errors)
		}
		if !signedBy(t, resp, signer) || signedBy(t, resp, other) {
			t.Errorf("the response is not signed by the expected key alone")
		}
	}

	t.Run("both-published-old-signs", func(t *testing.T) { accepted(t, "r-old", oldX, nextX) })

	if _, err := e.a.Apps.ActivateCertificate(ctx, audit.System, ap.ID, nextCert.ID); err != nil {
		t.Fatal(err)
	}
	t.Run("activated-new-signs", func(t *testing.T) { accepted(t, "r-new", nextX, oldX) })

	t.Run("sp-with-old-cert-only-refuses", func(t *testing.T) {
		sp.Configure(t, testenv.PySPConfig{IdPMetadataXML: mdOld})
		resp, r := signIn(t, "r-stale")
		if r.OK {
			t.Fatalf("%s accepted a response signed with a key it was never given", kind)
		}
		if !signedBy(t, resp, nextX) {
			t.Error("the refused response is not signed by the new key")
		}
		t.Logf("%s refused as expected: %s", kind, r.Error)
	})

	t.Run("old-retired", func(t *testing.T) {
		if err := e.a.Apps.RemoveCertificate(ctx, audit.System, ap.ID, oldCert.ID); err != nil {
			t.Fatal(err)
		}
		if c := certByStatus(apps.CertActive); c.ID != nextCert.ID {
			t.Fatalf("active certificate %s, want %s", c.ID, nextCert.ID)
		}
		mdNew, published := metadata()
		if len(published) != 1 || !published[0].Equal(nextX) {
			t.Fatalf("after retirement the metadata publishes %d certificates, want the new one only", len(published))
		}
		sp.Configure(t, testenv.PySPConfig{IdPMetadataXML: mdNew})
		accepted(t, "r-retired", nextX, oldX)
	})
}

// signingCerts returns the certificates of the metadata's signing
// KeyDescriptors (use="signing" or no use), in document order; a
// signature's own KeyInfo is not one of them.
func signingCerts(t *testing.T, md string) []*x509.Certificate {
	t.Helper()
	doc, err := saml.ParseUntrusted([]byte(md), saml.MaxMetadataBytes)
	if err != nil {
		t.Fatal(err)
	}
	var out []*x509.Certificate
	for _, kd := range doc.FindElements("//IDPSSODescriptor/KeyDescriptor") {
		if use := kd.SelectAttrValue("use", ""); use != "" && use != "signing" {
			continue
		}
		el := kd.FindElement(".//X509Certificate")
		if el == nil {
			t.Fatalf("KeyDescriptor without a certificate:\n%s", md)
		}
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(el.Text()), ""))
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// signedBy reports whether the Response's own signature verifies with
// cert (goxmldsig, the certificate as the only trusted one).
func signedBy(t *testing.T, resp []byte, cert *x509.Certificate) bool {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(resp); err != nil {
		t.Fatal(err)
	}
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	_, err := ctx.Validate(doc.Root())
	return err == nil
}
