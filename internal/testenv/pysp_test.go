package testenv

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/saml"
)

const (
	fakeIdPEntity = "http://127.0.0.1:1/saml/apps/app1/metadata"
	fakeIdPSSO    = "http://127.0.0.1:1/saml/apps/app1/sso"
	fakeIdPSLO    = "http://127.0.0.1:1/saml/apps/app1/slo"
)

type fakeIdP struct {
	signer *saml.Signer
	cert   *x509.Certificate
	md     []byte
}

func newFakeIdP(t *testing.T) fakeIdP {
	t.Helper()
	key, cert, err := saml.GenerateSigningKey(2048, 0, "fake idp")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := saml.NewSigner(key, cert)
	if err != nil {
		t.Fatal(err)
	}
	md, err := saml.BuildIdPMetadata(saml.IdPMetadata{
		EntityID: fakeIdPEntity, SigningCertificates: []*x509.Certificate{cert},
		SSOURL: fakeIdPSSO, SLOURL: fakeIdPSLO,
		NameIDFormats: []string{saml.NameIDFormatEmailAddress, saml.NameIDFormatPersistent},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fakeIdP{signer, cert, md}
}

func postACS(t *testing.T, sp *PySP, samlResponse []byte, relay string) PySPResult {
	t.Helper()
	form := url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(samlResponse)}, "RelayState": {relay}}
	resp, err := http.PostForm(sp.ACSURL(), form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /acs: %s: %s", resp.Status, body)
	}
	return sp.Result(t)
}

func TestPythonSP(t *testing.T) {
	idp := newFakeIdP(t)
	spKey, spCert := GenerateSPKeyPair(t, "test sp")
	for _, kind := range []string{PySPOneLogin, PySPPySAML2} {
		for _, inline := range []bool{true, false} {
			name := kind + "/metadata"
			if !inline {
				name = kind + "/fields"
			}
			t.Run(name, func(t *testing.T) {
				cfg := PySPConfig{
					SPKeyPEM: spKey, SPCertPEM: spCert, SignAuthnRequests: true, SignLogout: true,
					WantAssertionsSigned: true, WantMessagesSigned: true,
					NameIDFormat: saml.NameIDFormatEmailAddress,
				}
				if inline {
					cfg.IdPMetadataXML = string(idp.md)
				} else {
					cfg.IdPEntityID, cfg.IdPSSOURL, cfg.IdPSLOURL = fakeIdPEntity, fakeIdPSSO, fakeIdPSLO
					cfg.IdPCertPEM = string(saml.EncodeCertificatePEM(idp.cert))
				}
				sp := StartPythonSP(t, kind, cfg)
				testPySP(t, sp, idp)
			})
		}
	}
}

func testPySP(t *testing.T, sp *PySP, idp fakeIdP) {
	// /metadata: parsable by our SP-metadata parser, with the entity ID,
	// the ACS and the SP certificate.
	md, err := saml.ParseSPMetadata(sp.Metadata(t))
	if err != nil {
		t.Fatalf("SP metadata: %v\n%s", err, sp.Metadata(t))
	}
	if md.EntityID != sp.EntityID() {
		t.Errorf("metadata entityID %q, want %q", md.EntityID, sp.EntityID())
	}
	if len(md.AssertionConsumerServices) == 0 || md.AssertionConsumerServices[0].Location != sp.ACSURL() {
		t.Errorf("metadata ACS %+v, want %s", md.AssertionConsumerServices, sp.ACSURL())
	}
	if len(md.SigningCertificates) == 0 {
		t.Errorf("metadata has no signing certificate")
	}

	// /login?binding=redirect: a signed AuthnRequest our parser accepts.
	resp, err := pyspClient.Get(sp.LoginURL("redirect", "relay-r"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, fakeIdPSSO+"?") {
		t.Fatalf("login redirect: %s Location %q", resp.Status, loc)
	}
	u, _ := url.Parse(loc)
	req, err := saml.ParseAuthnRequestRedirect(u.RawQuery)
	if err != nil {
		t.Fatalf("parse AuthnRequest: %v", err)
	}
	if req.Issuer != sp.EntityID() || !req.Signed {
		t.Errorf("AuthnRequest issuer %q signed %v", req.Issuer, req.Signed)
	}
	if err := req.Verify(md.SigningCertificates, saml.VerifyOptions{}); err != nil {
		t.Errorf("redirect AuthnRequest signature: %v", err)
	}
	if u.Query().Get("RelayState") != "relay-r" {
		t.Errorf("RelayState %q", u.Query().Get("RelayState"))
	}

	// /login?binding=post: a form with a signed SAMLRequest.
	resp, err = pyspClient.Get(sp.LoginURL("post", "relay-p"))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(page, []byte(`name="SAMLRequest"`)) ||
		!bytes.Contains(page, []byte(fakeIdPSSO)) {
		t.Fatalf("login post: %s\n%s", resp.Status, page)
	}
	samlReq := formValue(t, string(page), "SAMLRequest")
	preq, err := saml.ParseAuthnRequestPOST(samlReq, formValue(t, string(page), "RelayState"))
	if err != nil {
		t.Fatalf("parse POST AuthnRequest: %v\n%s", err, page)
	}
	if err := preq.Verify(md.SigningCertificates, saml.VerifyOptions{}); err != nil {
		t.Errorf("POST AuthnRequest signature: %v", err)
	}

	// Garbage at /acs is an error, not a crash.
	for _, garbage := range [][]byte{[]byte("not xml"), []byte("<samlp:Response/>"), nil} {
		r := postACS(t, sp, garbage, "x")
		if r.OK || r.Error == "" {
			t.Errorf("garbage %q: %+v", garbage, r)
		}
	}

	// A valid signed response from our builder, solicited by the redirect
	// request: accepted with every attribute value.
	build := func(inResponseTo string, mutate func(*saml.AssertionParams)) []byte {
		p := saml.AssertionParams{
			Issuer: fakeIdPEntity, Audience: sp.EntityID(), Destination: sp.ACSURL(),
			InResponseTo: inResponseTo, NameID: "alice@example.com", NameIDFormat: saml.NameIDFormatEmailAddress,
			SessionIndex: "_sess1", AuthnInstant: time.Now(), AuthnContextClassRef: saml.AuthnContextPassword,
			Attributes: []saml.Attribute{
				{Name: "email", NameFormat: saml.AttrNameFormatBasic, Values: []string{"alice@example.com"}},
				{Name: "groups", NameFormat: saml.AttrNameFormatBasic, Values: []string{"admins", "engineers", "ops"}},
			},
		}
		if mutate != nil {
			mutate(&p)
		}
		b, err := saml.BuildResponse(p, idp.signer, saml.SignOptions{SignResponse: true, SignAssertion: true})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	wantAttrs := map[string][]string{"email": {"alice@example.com"}, "groups": {"admins", "engineers", "ops"}}
	r := postACS(t, sp, build(req.ID, nil), "relay-r")
	if !r.OK {
		t.Fatalf("valid solicited response refused: %+v", r)
	}
	if r.NameID != "alice@example.com" || r.NameIDFormat != saml.NameIDFormatEmailAddress ||
		r.SessionIndex != "_sess1" || r.InResponseTo != req.ID || r.RelayState != "relay-r" ||
		!reflect.DeepEqual(r.Attributes, wantAttrs) {
		t.Errorf("result %+v", r)
	}
	// The same request ID again: replay of a consumed request.
	if r := postACS(t, sp, build(req.ID, nil), "relay-r"); r.OK {
		t.Errorf("second response to a consumed request accepted: %+v", r)
	}
	// IdP-initiated (no InResponseTo) is accepted.
	if r := postACS(t, sp, build("", nil), "idp-init"); !r.OK || r.RelayState != "idp-init" {
		t.Errorf("IdP-initiated response refused: %+v", r)
	}

	// Refusals.
	cases := map[string][]byte{
		"unknown InResponseTo": build("_never_sent", nil),
		"wrong audience":       build("", func(p *saml.AssertionParams) { p.Audience = "https://other.example" }),
		"wrong destination": build("", func(p *saml.AssertionParams) {
			p.Destination = "http://127.0.0.1:1/acs"
		}),
		"expired": build("", func(p *saml.AssertionParams) {
			p.Now = func() time.Time { return time.Now().Add(-time.Hour) }
			p.AuthnInstant = time.Now().Add(-time.Hour)
		}),
		"tampered NameID":    bytes.Replace(build("", nil), []byte("alice@example.com</saml:NameID>"), []byte("mallory@example.com</saml:NameID>"), 1),
		"tampered attribute": bytes.Replace(build("", nil), []byte(">engineers<"), []byte(">superusers<"), 1),
	}
	for name, doc := range cases {
		if name == "tampered NameID" || name == "tampered attribute" {
			if bytes.Equal(doc, build("", nil)) {
				t.Fatalf("%s: replacement did not apply", name)
			}
		}
		if r := postACS(t, sp, doc, "x"); r.OK {
			t.Errorf("%s: accepted: %+v", name, r)
		} else {
			t.Logf("%s: %s", name, r.Error)
		}
	}

	// Encrypted assertions (AES-256-GCM, RSA-OAEP) to the SP's certificate,
	// once the SP wants them: accepted; a plain assertion is then refused.
	sp.Configure(t, PySPConfig{WantAssertionsEncrypted: true})
	spCert, err := saml.DecodeCertificatePEM([]byte(sp.Config.SPCertPEM))
	if err != nil {
		t.Fatal(err)
	}
	p := saml.AssertionParams{
		Issuer: fakeIdPEntity, Audience: sp.EntityID(), Destination: sp.ACSURL(),
		NameID: "bob@example.com", NameIDFormat: saml.NameIDFormatEmailAddress, SessionIndex: "_sess2",
		AuthnInstant: time.Now(), AuthnContextClassRef: saml.AuthnContextMFA,
		Attributes: []saml.Attribute{{Name: "groups", Values: []string{"a", "b"}}},
	}
	enc, err := saml.BuildResponse(p, idp.signer, saml.SignOptions{SignResponse: true, SignAssertion: true, EncryptTo: spCert})
	if err != nil {
		t.Fatal(err)
	}
	if r := postACS(t, sp, enc, "enc"); !r.OK || r.NameID != "bob@example.com" ||
		!reflect.DeepEqual(r.Attributes["groups"], []string{"a", "b"}) {
		t.Errorf("encrypted response: %+v", r)
	}
	if sp.Kind == PySPOneLogin { // pysaml2 has no "require encryption" switch
		if r := postACS(t, sp, build("", nil), "plain"); r.OK {
			t.Errorf("plain assertion accepted although encryption is wanted: %+v", r)
		}
	}
}

func formValue(t *testing.T, page, name string) string {
	t.Helper()
	i := strings.Index(page, `name="`+name+`"`)
	if i < 0 {
		t.Fatalf("no %s in form", name)
	}
	rest := page[i:]
	j := strings.Index(rest, `value="`)
	if j < 0 {
		t.Fatalf("no value for %s", name)
	}
	rest = rest[j+len(`value="`):]
	return htmlUnescape(rest[:strings.IndexByte(rest, '"')])
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#x27;", "'", "&#39;", "'", "&#x2B;", "+", "&#43;", "+", "&#x3D;", "=").Replace(s)
}
