package saml

import (
	"crypto/x509"
	"net/url"
	"os"
	"testing"
	"time"
)

// The fuzz targets' seeds run in every go test. Each target drives the
// parser and, when it accepts, Verify, Check and SelectACS: any panic or
// hang is a failure (XML-08).

var fuzzChecks = Checks{Destination: ssoURL, Now: clock}

func fuzzCerts(f *testing.F) []*x509.Certificate {
	keys(f)
	return []*x509.Certificate{testSP.cert, testEC.cert}
}

// seedDocs are XML documents every target starts from.
func seedDocs(f *testing.F) [][]byte {
	keys(f)
	docs := [][]byte{
		reqSpec{}.xml(),
		reqSpec{acs: acsURL, nameIDPolicy: NameIDFormatPersistent, authnCtx: []string{AuthnContextMFA}, comparison: "minimum"}.xml(),
		spSignXML(f, reqSpec{acs: acsURL}.element(), testSP, ""),
		reqSpec{tag: "LogoutRequest", sessionIdx: []string{"_s1"}}.xml(),
		spSignXML(f, reqSpec{tag: "LogoutRequest"}.element(), testSP, ""),
		// Malformed signatures (goxmldsig CVE-2020-7711 shape: empty parts).
		[]byte(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a" Version="2.0" IssueInstant="2024-01-01T00:00:00Z"><saml:Issuer>x</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo/><ds:SignatureValue/></ds:Signature></samlp:AuthnRequest>`),
		[]byte(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a" Version="2.0" IssueInstant="2024-01-01T00:00:00Z"><saml:Issuer>x</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#_a"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/></ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature></samlp:AuthnRequest>`),
	}
	for _, u := range unsafeXML {
		if len(u.doc) < 64<<10 {
			docs = append(docs, []byte(u.doc))
		}
	}
	return docs
}

func FuzzParseAuthnRequestRedirect(f *testing.F) {
	certs := fuzzCerts(f)
	for _, d := range seedDocs(f) {
		f.Add(redirectQuery(f, "SAMLRequest", d, "rs", keyPair{}, ""))
	}
	f.Add(redirectQuery(f, "SAMLRequest", reqSpec{}.xml(), "rs", testSP, SigAlgRSASHA256))
	f.Add(redirectQuery(f, "SAMLRequest", reqSpec{}.xml(), "", testEC, SigAlgECDSASHA256))
	f.Add("SAMLRequest=%zz&Signature=&SigAlg=")
	f.Add("SAMLRequest=AAAA&SAMLRequest=BBBB")
	f.Add("SAMLRequest=" + url.QueryEscape(deflateB64(f, []byte("<a>"))) + "&RelayState=%ff")
	f.Fuzz(func(t *testing.T, q string) {
		r, err := ParseAuthnRequestRedirect(q)
		if err != nil {
			return
		}
		_ = r.Verify(certs, VerifyOptions{})
		_ = r.Check(fuzzChecks)
		_, _ = SelectACS([]Endpoint{{Binding: BindingHTTPPOST, Location: acsURL}}, r)
		_ = ChooseAuthnContext(r.RequestedAuthnContext, AuthnContextPassword)
	})
}

func FuzzParseAuthnRequestPOST(f *testing.F) {
	certs := fuzzCerts(f)
	for _, d := range seedDocs(f) {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		r, err := ParseAuthnRequestPOST(postValue(doc), "rs")
		if err != nil {
			return
		}
		if err := r.Verify(certs, VerifyOptions{}); err == nil && !r.Signed {
			t.Fatal("verified an unsigned request")
		}
		_ = r.Check(fuzzChecks)
		_, _ = SelectACS([]Endpoint{{Binding: BindingHTTPPOST, Location: acsURL}}, r)
	})
}

func FuzzParseLogoutRequest(f *testing.F) {
	certs := fuzzCerts(f)
	for _, d := range seedDocs(f) {
		f.Add(d, false)
		f.Add(d, true)
	}
	f.Fuzz(func(t *testing.T, doc []byte, redirect bool) {
		var r *LogoutRequest
		var err error
		if redirect {
			q := redirectQuery(t, "SAMLRequest", doc, "rs", keyPair{}, "")
			if len(q) > MaxRedirectQueryBytes {
				return
			}
			r, err = ParseLogoutRequestRedirect(q)
		} else {
			r, err = ParseLogoutRequestPOST(postValue(doc), "rs")
		}
		if err != nil {
			return
		}
		if err := r.Verify(certs, VerifyOptions{}); err == nil && !r.Signed {
			t.Fatal("verified an unsigned request")
		}
		_ = r.Check(Checks{Destination: sloURL, Now: func() time.Time { return fixedNow }})
	})
}

func FuzzParseSPMetadata(f *testing.F) {
	if b, err := os.ReadFile("testdata/sp-metadata.xml"); err == nil {
		f.Add(b)
	}
	keys(f)
	f.Add(idpMetadataXML(f, testIdP.cert))
	for _, d := range seedDocs(f) {
		f.Add(d)
	}
	f.Add([]byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:AssertionConsumerService Binding="b" Location="https://a/" index="0" isDefault="true"/></md:SPSSODescriptor></md:EntityDescriptor>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		m, err := ParseSPMetadata(doc)
		if err != nil {
			return
		}
		for _, e := range append(m.AssertionConsumerServices, m.SingleLogoutServices...) {
			if ValidateEndpointURL(e.Location) != nil {
				t.Fatalf("accepted endpoint %q", e.Location)
			}
		}
		_, _ = SelectACS(m.AssertionConsumerServices, nil)
	})
}
