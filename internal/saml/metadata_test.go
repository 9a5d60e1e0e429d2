package saml

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewsaml "github.com/crewjam/saml"
	"github.com/russellhaering/gosaml2/types"
	dsig "github.com/russellhaering/goxmldsig"
)

func TestValidateEndpointURL(t *testing.T) {
	for _, u := range []string{
		"https://sp.example.com/acs", "https://sp.example.com:8443/saml/acs?tenant=1", "https://heapanalytics.com/saml/finalize/123/",
		"http://localhost:8080/acs", "http://127.0.0.1/acs", "http://127.5.6.7:9/acs", "http://[::1]:8000/acs", "http://app.localhost/acs",
		"HTTPS://sp.example.com/acs",
	} {
		if err := ValidateEndpointURL(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{
		"", "javascript:alert(document.domain)", "JavaScript:alert(1)", "data:text/html,<script>alert(1)</script>",
		"http://sp.example.com/acs", "http://10.0.0.1/acs", "http://localhost.evil.com/acs", "ftp://sp.example.com/acs",
		`https://x/"><script>alert(1)</script>`, "https://sp.example.com/acs#frag", "https://user:pw@sp.example.com/acs",
		"https://sp.example.com@attacker.example/acs", "/relative/acs", "//sp.example.com/acs", "https:///acs", "https://sp.example.com/a b",
		"https://sp.example.com/\x00", "vbscript:msgbox", "https://" + strings.Repeat("a", 3000) + ".com/",
	} {
		if err := ValidateEndpointURL(u); !errors.Is(err, ErrEndpointURL) {
			t.Errorf("%q accepted (%v)", u, err)
		}
	}
}

func TestParseSPMetadataFile(t *testing.T) {
	data, err := os.ReadFile("testdata/sp-metadata.xml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseSPMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.EntityID != "https://sp.example.com/saml/metadata" || !m.AuthnRequestsSigned || !m.WantAssertionsSigned {
		t.Errorf("%+v", m)
	}
	if !m.ValidUntil.Equal(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("validUntil %v", m.ValidUntil)
	}
	if len(m.AssertionConsumerServices) != 3 {
		t.Fatalf("ACS %+v", m.AssertionConsumerServices)
	}
	a := m.AssertionConsumerServices[1]
	if a.Index != 1 || a.Binding != BindingHTTPPOST || a.Location != "https://sp.example.com/saml/acs" || a.IsDefault == nil || !*a.IsDefault {
		t.Errorf("ACS[1] %+v", a)
	}
	if m.AssertionConsumerServices[0].IsDefault != nil {
		t.Error("ACS[0] isDefault should be absent")
	}
	if len(m.SingleLogoutServices) != 2 || m.SingleLogoutServices[0].ResponseLocation != "https://sp.example.com/saml/slo/response" {
		t.Errorf("SLO %+v", m.SingleLogoutServices)
	}
	// signing, encryption, and one KeyDescriptor without use (both).
	if len(m.SigningCertificates) != 2 || len(m.EncryptionCertificates) != 2 {
		t.Errorf("certs: %d signing, %d encryption", len(m.SigningCertificates), len(m.EncryptionCertificates))
	}
	if len(m.NameIDFormats) != 2 || m.NameIDFormats[0] != NameIDFormatEmailAddress {
		t.Errorf("NameIDFormats %q", m.NameIDFormats)
	}
	e, err := SelectACS(m.AssertionConsumerServices, nil)
	if err != nil || e.Index != 1 {
		t.Errorf("default ACS %+v %v", e, err)
	}
}

// TestParseSPMetadataFromCrewjam reads the metadata another SP stack emits.
func TestParseSPMetadataFromCrewjam(t *testing.T) {
	keys(t)
	acs, _ := url.Parse(acsURL)
	slo, _ := url.Parse(spSLOURL)
	md, _ := url.Parse(spEntityID)
	sp := crewsaml.ServiceProvider{EntityID: spEntityID, Key: testSP.key.(*rsa.PrivateKey), Certificate: testSP.cert,
		AcsURL: *acs, SloURL: *slo, MetadataURL: *md, AuthnNameIDFormat: crewsaml.EmailAddressNameIDFormat,
		SignatureMethod: dsig.RSASHA256SignatureMethod}
	out, err := xml.MarshalIndent(sp.Metadata(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseSPMetadata(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if m.EntityID != spEntityID || len(m.SigningCertificates) != 1 || !m.SigningCertificates[0].Equal(testSP.cert) || len(m.EncryptionCertificates) != 1 || !m.AuthnRequestsSigned {
		t.Errorf("%+v", m)
	}
	e, err := SelectACS(m.AssertionConsumerServices, nil)
	if err != nil || e.Location != acsURL {
		t.Errorf("ACS %+v %v", e, err)
	}
}

func TestParseSPMetadataRefuses(t *testing.T) {
	keys(t)
	certB64 := base64.StdEncoding.EncodeToString(testSP.cert.Raw)
	md := func(inner string) string {
		return `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://sp.example.com">` +
			`<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` + inner + `</md:SPSSODescriptor></md:EntityDescriptor>`
	}
	acs := func(loc string) string {
		return `<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + loc + `" index="0"/>`
	}
	good := acs("https://sp.example.com/acs")
	if _, err := ParseSPMetadata([]byte(md(good))); err != nil {
		t.Fatalf("baseline: %v", err)
	}
	cases := map[string]string{
		"javascript ACS":      md(acs("javascript:alert(document.domain)")),
		"data ACS":            md(acs("data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;")),
		"http ACS":            md(acs("http://sp.example.com/acs")),
		"markup in ACS":       md(acs(`https://x/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;`)),
		"javascript SLO":      md(good + `<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="javascript:x"/>`),
		"bad SLO response":    md(good + `<md:SingleLogoutService Binding="b" Location="https://sp.example.com/slo" ResponseLocation="http://evil/"/>`),
		"no ACS":              md(""),
		"ACS without index":   md(`<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example.com/acs"/>`),
		"duplicate index":     md(good + acs("https://sp.example.com/acs2")),
		"bad isDefault":       md(`<md:AssertionConsumerService Binding="b" Location="https://sp.example.com/acs" index="0" isDefault="maybe"/>`),
		"bad certificate":     md(`<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>bm90IGEgY2VydA==</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` + good),
		"empty KeyDescriptor": md(`<md:KeyDescriptor use="signing"/>` + good),
		"bad use":             md(`<md:KeyDescriptor use="both"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + certB64 + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` + good),
		"no entityID":         strings.Replace(md(good), ` entityID="https://sp.example.com"`, "", 1),
		"no SPSSODescriptor":  `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`,
		"SAML 1.1 only":       strings.Replace(md(good), "urn:oasis:names:tc:SAML:2.0:protocol", "urn:oasis:names:tc:SAML:1.1:protocol", 1),
		"two entities":        `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` + strings.Repeat(strings.Replace(md(good), ` xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"`, "", 1), 2) + `</md:EntitiesDescriptor>`,
		"wrong root":          `<EntityDescriptor entityID="x"/>`,
		"doctype":             `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>` + md(acs("https://sp.example.com/&e;")),
		"oversized":           md(good + `<!--` + strings.Repeat("x", MaxMetadataBytes) + `-->`),
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			if m, err := ParseSPMetadata([]byte(doc)); err == nil {
				t.Errorf("accepted: %+v", m)
			}
		})
	}
	one := `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` + strings.Replace(md(good), ` xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"`, "", 1) + `</md:EntitiesDescriptor>`
	if _, err := ParseSPMetadata([]byte(one)); err != nil {
		t.Errorf("EntitiesDescriptor with one entity: %v", err)
	}
}

func TestBuildIdPMetadata(t *testing.T) {
	signer := idpSigner(t)
	m := IdPMetadata{
		EntityID: idpEntityID, SigningCertificates: []*x509.Certificate{testIdP.cert, testNext.cert},
		WantAuthnRequestsSigned: true, NameIDFormats: []string{NameIDFormatEmailAddress, NameIDFormatPersistent},
		SSOURL: ssoURL, SLOURL: sloURL, ValidUntil: fixedNow.Add(48 * time.Hour), CacheDuration: time.Hour,
	}
	for _, s := range []*Signer{nil, signer} {
		out, err := BuildIdPMetadata(m, s)
		if err != nil {
			t.Fatal(err)
		}
		var ed crewsaml.EntityDescriptor
		if err := xml.Unmarshal(out, &ed); err != nil {
			t.Fatal(err)
		}
		idp := ed.IDPSSODescriptors[0]
		if ed.EntityID != idpEntityID || len(idp.KeyDescriptors) != 2 || len(idp.SingleSignOnServices) != 2 ||
			len(idp.SingleLogoutServices) != 2 || idp.WantAuthnRequestsSigned == nil || !*idp.WantAuthnRequestsSigned || len(idp.NameIDFormats) != 2 {
			t.Errorf("crewjam reads %+v", idp)
		}
		var ged types.EntityDescriptor
		if err := xml.Unmarshal(out, &ged); err != nil {
			t.Fatal(err)
		}
		if ged.IDPSSODescriptor == nil || len(ged.IDPSSODescriptor.KeyDescriptors) != 2 {
			t.Errorf("gosaml2 reads %+v", ged)
		}
		if _, err := ParseUntrusted(out, MaxMetadataBytes); err != nil {
			t.Errorf("own metadata fails ParseUntrusted: %v", err)
		}
		if s != nil {
			doc, _ := ParseUntrusted(out, MaxMetadataBytes)
			ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{testIdP.cert}})
			ctx.Clock = dsig.NewFakeClockAt(fixedNow)
			if _, err := ctx.Validate(doc.Root()); err != nil {
				t.Errorf("signed metadata does not verify: %v", err)
			}
			if _, err := ctx.Validate(mustParse(t, bytes.Replace(out, []byte(sloURL), []byte("https://evil.example/slo"), 1))); err == nil {
				t.Error("tampered metadata verifies")
			}
		}
	}
	for name, bad := range map[string]IdPMetadata{
		"no entity":      {SigningCertificates: m.SigningCertificates, SSOURL: ssoURL},
		"no cert":        {EntityID: idpEntityID, SSOURL: ssoURL},
		"javascript SSO": {EntityID: idpEntityID, SigningCertificates: m.SigningCertificates, SSOURL: "javascript:x"},
		"http SLO":       {EntityID: idpEntityID, SigningCertificates: m.SigningCertificates, SSOURL: ssoURL, SLOURL: "http://idc.example.test/slo"},
		"newline entity": {EntityID: "a\nb", SigningCertificates: m.SigningCertificates, SSOURL: ssoURL},
	} {
		if _, err := BuildIdPMetadata(bad, nil); err == nil {
			t.Errorf("%s: built", name)
		}
	}
}

func mustParse(t *testing.T, b []byte) *etree.Element {
	t.Helper()
	doc, err := ParseUntrusted(b, MaxMetadataBytes)
	if err != nil {
		t.Fatal(err)
	}
	return doc.Root()
}
