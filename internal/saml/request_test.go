package saml

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewsaml "github.com/crewjam/saml"
	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"
)

func TestParseAuthnRequestFields(t *testing.T) {
	keys(t)
	spec := reqSpec{
		id: "${java.version}", acs: acsURL, binding: BindingHTTPPOST, forceAuthn: "true", isPassive: "1",
		nameIDPolicy: NameIDFormatPersistent, authnCtx: []string{AuthnContextPassword, AuthnContextMFA}, comparison: "minimum",
	}
	for _, tc := range []struct {
		name  string
		parse func() (*AuthnRequest, error)
	}{
		{"redirect", func() (*AuthnRequest, error) {
			return ParseAuthnRequestRedirect(redirectQuery(t, "SAMLRequest", spec.xml(), "state 1/2", keyPair{}, ""))
		}},
		{"post", func() (*AuthnRequest, error) { return ParseAuthnRequestPOST(postValue(spec.xml()), "state 1/2") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.parse()
			if err != nil {
				t.Fatal(err)
			}
			if r.ID != "${java.version}" || r.Issuer != spEntityID || r.Version != "2.0" || !r.IssueInstant.Equal(fixedNow) ||
				r.Destination != ssoURL || r.AssertionConsumerServiceURL != acsURL || r.AssertionConsumerServiceIndex != nil ||
				r.ProtocolBinding != BindingHTTPPOST || !r.ForceAuthn || !r.IsPassive || r.RelayState != "state 1/2" || r.Signed {
				t.Errorf("parsed %+v", r)
			}
			if r.NameIDPolicy == nil || r.NameIDPolicy.Format != NameIDFormatPersistent || !r.NameIDPolicy.AllowCreate {
				t.Errorf("NameIDPolicy %+v", r.NameIDPolicy)
			}
			if c := r.RequestedAuthnContext; c == nil || c.Comparison != "minimum" || len(c.ClassRefs) != 2 {
				t.Errorf("RequestedAuthnContext %+v", c)
			}
			if err := r.Check(Checks{Destination: ssoURL, Now: clock}); err != nil {
				t.Error(err)
			}
			if err := r.Verify([]*x509.Certificate{testSP.cert}, VerifyOptions{}); !errors.Is(err, ErrUnsigned) {
				t.Errorf("Verify unsigned: %v", err)
			}
		})
	}
	r, err := ParseAuthnRequestPOST(postValue(reqSpec{acsIndex: "3"}.xml()), "")
	if err != nil || r.AssertionConsumerServiceIndex == nil || *r.AssertionConsumerServiceIndex != 3 {
		t.Errorf("index: %v %v", r, err)
	}
}

func TestParseAuthnRequestMalformed(t *testing.T) {
	cases := []struct {
		name string
		spec reqSpec
	}{
		{"no issuer", reqSpec{noIssuer: true}},
		{"empty issuer", reqSpec{mutate: func(r *etree.Element) { r.SelectElement("saml:Issuer").SetText(" ") }}},
		{"issuer with other format", reqSpec{mutate: func(r *etree.Element) {
			r.SelectElement("saml:Issuer").CreateAttr("Format", NameIDFormatEmailAddress)
		}}},
		{"two issuers", reqSpec{mutate: func(r *etree.Element) { r.CreateElement("saml:Issuer").SetText("x") }}},
		{"no ID", reqSpec{mutate: func(r *etree.Element) { r.RemoveAttr("ID") }}},
		{"bad IssueInstant", reqSpec{mutate: func(r *etree.Element) { r.CreateAttr("IssueInstant", "yesterday") }}},
		{"bad index", reqSpec{acsIndex: "99999"}},
		{"URL and index", reqSpec{acs: acsURL, acsIndex: "1"}},
		{"bad boolean", reqSpec{forceAuthn: "yes"}},
		{"bad comparison", reqSpec{authnCtx: []string{AuthnContextMFA}, comparison: "sideways"}},
		{"wrong element", reqSpec{tag: "LogoutRequest"}},
		{"wrong namespace", reqSpec{mutate: func(r *etree.Element) { r.CreateAttr("xmlns:samlp", "urn:evil") }}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseAuthnRequestPOST(postValue(tc.spec.xml()), ""); !errors.Is(err, ErrMalformed) {
				t.Errorf("POST: %v", err)
			}
			if _, err := ParseAuthnRequestRedirect(redirectQuery(t, "SAMLRequest", tc.spec.xml(), "", keyPair{}, "")); !errors.Is(err, ErrMalformed) {
				t.Errorf("Redirect: %v", err)
			}
		})
	}
	for _, tc := range unsafeXML {
		t.Run("unsafe/"+tc.name, func(t *testing.T) {
			if _, err := ParseAuthnRequestPOST(postValue([]byte(tc.doc)), ""); err == nil {
				t.Error("POST accepted")
			}
			q := "SAMLRequest=" + url.QueryEscape(deflateB64(t, []byte(tc.doc)))
			if len(q) <= MaxRedirectQueryBytes {
				if _, err := ParseAuthnRequestRedirect(q); err == nil {
					t.Error("Redirect accepted")
				}
			}
		})
	}
}

func TestAuthnRequestCheck(t *testing.T) {
	cases := []struct {
		name   string
		spec   reqSpec
		signed bool
		want   error
	}{
		{"fresh", reqSpec{}, false, nil},
		{"4 minutes old", reqSpec{instant: fixedNow.Add(-4 * time.Minute)}, false, nil},
		{"1 year old", reqSpec{instant: fixedNow.AddDate(-1, 0, 0)}, false, ErrStale},
		{"10 minutes ahead", reqSpec{instant: fixedNow.Add(10 * time.Minute)}, false, ErrStale},
		{"wrong destination", reqSpec{destination: "https://idp.wrongDestination.com/saml/sso"}, false, ErrDestination},
		{"wrong port", reqSpec{destination: "https://idc.example.test:8443/saml/apps/app1/sso"}, false, ErrDestination},
		{"case differs", reqSpec{destination: strings.ToUpper(ssoURL)}, false, ErrDestination},
		{"unsigned without destination", reqSpec{noDest: true}, false, nil},
		{"signed without destination", reqSpec{noDest: true}, true, ErrDestination},
		{"version 4.2", reqSpec{version: "4.2"}, false, ErrVersion},
		{"version 1.1", reqSpec{version: "1.1"}, false, ErrVersion},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keys(t)
			var err error
			var r *AuthnRequest
			if tc.signed {
				r, err = ParseAuthnRequestRedirect(redirectQuery(t, "SAMLRequest", tc.spec.xml(), "", testSP, SigAlgRSASHA256))
			} else {
				r, err = ParseAuthnRequestPOST(postValue(tc.spec.xml()), "")
			}
			if err != nil {
				t.Fatal(err)
			}
			err = r.Check(Checks{Destination: ssoURL, Now: clock})
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Check: %v, want %v", err, tc.want)
			}
		})
	}
	r, _ := ParseAuthnRequestPOST(postValue(reqSpec{instant: fixedNow.Add(-90 * time.Second)}.xml()), "")
	if err := r.Check(Checks{Destination: ssoURL, Now: clock, MaxSkew: time.Minute}); !errors.Is(err, ErrStale) {
		t.Errorf("custom skew: %v", err)
	}
	if err := r.Check(Checks{Now: clock}); !errors.Is(err, ErrDestination) {
		t.Errorf("no expected destination: %v", err)
	}
}

// swapParams reorders a raw query.
func reorder(q string) string {
	parts := strings.Split(q, "&")
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "&")
}

func setParam(q, key, rawVal string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		if strings.HasPrefix(p, key+"=") {
			parts[i] = key + "=" + rawVal
		}
	}
	return strings.Join(parts, "&")
}

func dropParam(q, key string) string {
	var out []string
	for p := range strings.SplitSeq(q, "&") {
		if !strings.HasPrefix(p, key+"=") {
			out = append(out, p)
		}
	}
	return strings.Join(out, "&")
}

func weakCert(t *testing.T) *x509.Certificate {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "weak"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	c, _ := x509.ParseCertificate(der)
	return c
}

func TestRedirectSignature(t *testing.T) {
	keys(t)
	xml := reqSpec{acs: acsURL}.xml()
	const relay = "https://sp.example.com/after/login?x=1"
	signed := redirectQuery(t, "SAMLRequest", xml, relay, testSP, SigAlgRSASHA256)
	if !strings.Contains(signed, "%2F") {
		t.Fatal("test query has no %2F to re-encode")
	}
	sp := []*x509.Certificate{testSP.cert}
	cases := []struct {
		name  string
		query string
		certs []*x509.Certificate
		opts  VerifyOptions
		want  error // nil: verifies
	}{
		{"valid", signed, sp, VerifyOptions{}, nil},
		{"leading ?", "?" + signed, sp, VerifyOptions{}, nil},
		{"rollover: second cert matches", signed, []*x509.Certificate{testEvil.cert, testSP.cert}, VerifyOptions{}, nil},
		{"reordered query", reorder(signed), sp, VerifyOptions{}, nil},
		{"extra parameter", signed + "&foo=bar", sp, VerifyOptions{}, nil},
		{"unsigned", redirectQuery(t, "SAMLRequest", xml, relay, keyPair{}, ""), sp, VerifyOptions{}, ErrUnsigned},
		{"missing signature", dropParam(dropParam(signed, "Signature"), "SigAlg"), sp, VerifyOptions{}, ErrUnsigned},
		{"signed by another key", redirectQuery(t, "SAMLRequest", xml, relay, testEvil, SigAlgRSASHA256), sp, VerifyOptions{}, ErrSignature},
		{"only the wrong cert", signed, []*x509.Certificate{testEvil.cert}, VerifyOptions{}, ErrSignature},
		{"RelayState changed", setParam(signed, "RelayState", url.QueryEscape("https://evil.example/")), sp, VerifyOptions{}, ErrSignature},
		{"RelayState dropped", dropParam(signed, "RelayState"), sp, VerifyOptions{}, ErrSignature},
		{"RelayState re-encoded %2F to %2f", strings.ReplaceAll(signed, "%2F", "%2f"), sp, VerifyOptions{}, ErrSignature},
		{"SAMLRequest swapped", setParam(signed, "SAMLRequest", url.QueryEscape(deflateB64(t, reqSpec{acs: "https://attacker.example/acs"}.xml()))), sp, VerifyOptions{}, ErrSignature},
		{"SigAlg changed", setParam(signed, "SigAlg", url.QueryEscape(SigAlgRSASHA512)), sp, VerifyOptions{}, ErrSignature},
		{"signature bytes flipped", setParam(signed, "Signature", url.QueryEscape(base64.StdEncoding.EncodeToString(make([]byte, 256)))), sp, VerifyOptions{}, ErrSignature},
		{"rsa-sha1 refused", redirectQuery(t, "SAMLRequest", xml, relay, testSP, SigAlgRSASHA1), sp, VerifyOptions{}, ErrAlgorithm},
		{"rsa-sha1 allowed explicitly", redirectQuery(t, "SAMLRequest", xml, relay, testSP, SigAlgRSASHA1), sp, VerifyOptions{AllowSHA1: true}, nil},
		{"unknown SigAlg", setParam(signed, "SigAlg", "urn%3Aevil"), sp, VerifyOptions{}, ErrAlgorithm},
		{"ecdsa-sha256 DER", redirectQuery(t, "SAMLRequest", xml, relay, testEC, SigAlgECDSASHA256), []*x509.Certificate{testEC.cert}, VerifyOptions{}, nil},
		{"ecdsa sig against RSA cert", redirectQuery(t, "SAMLRequest", xml, relay, testEC, SigAlgECDSASHA256), sp, VerifyOptions{}, ErrSignature},
		{"rsa SigAlg against EC cert", signed, []*x509.Certificate{testEC.cert}, VerifyOptions{}, ErrSignature},
		{"1024-bit cert refused", signed, []*x509.Certificate{weakCert(t)}, VerifyOptions{}, ErrAlgorithm},
		{"no certs", signed, nil, VerifyOptions{}, ErrSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseAuthnRequestRedirect(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			err = r.Verify(tc.certs, tc.opts)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Verify: %v, want %v", err, tc.want)
			}
			if r.Verified != (err == nil) {
				t.Error("Verified flag wrong")
			}
		})
	}
}

func TestRedirectSignatureSpecialRelayState(t *testing.T) {
	keys(t)
	// Keycloak's vector: the signature covers the value as encoded.
	const relay = "New Document (1).doc"
	q := redirectQuery(t, "SAMLRequest", reqSpec{}.xml(), relay, testSP, SigAlgRSASHA256)
	r, err := ParseAuthnRequestRedirect(q)
	if err != nil {
		t.Fatal(err)
	}
	if r.RelayState != relay {
		t.Errorf("RelayState %q", r.RelayState)
	}
	if err := r.Verify([]*x509.Certificate{testSP.cert}, VerifyOptions{}); err != nil {
		t.Error(err)
	}
	// Same value encoded %20 instead of +: different bytes, so refused.
	q2 := strings.Replace(q, "New+Document+%281%29.doc", "New%20Document%20%281%29.doc", 1)
	if q2 == q {
		t.Fatal("encoding not as expected")
	}
	r2, err := ParseAuthnRequestRedirect(q2)
	if err != nil {
		t.Fatal(err)
	}
	if r2.RelayState != relay {
		t.Errorf("RelayState %q", r2.RelayState)
	}
	if err := r2.Verify([]*x509.Certificate{testSP.cert}, VerifyOptions{}); !errors.Is(err, ErrSignature) {
		t.Errorf("re-encoded RelayState: %v", err)
	}
	// An empty RelayState signed as present or absent both verify.
	base := "SAMLRequest=" + url.QueryEscape(deflateB64(t, reqSpec{}.xml()))
	for _, signedPart := range []string{base + "&RelayState=&SigAlg=" + url.QueryEscape(SigAlgRSASHA256), base + "&SigAlg=" + url.QueryEscape(SigAlgRSASHA256)} {
		sig := rawSign(t, testSP, SigAlgRSASHA256, []byte(signedPart))
		q := base + "&RelayState=&SigAlg=" + url.QueryEscape(SigAlgRSASHA256) + "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
		r, err := ParseAuthnRequestRedirect(q)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Verify([]*x509.Certificate{testSP.cert}, VerifyOptions{}); err != nil {
			t.Errorf("empty RelayState: %v", err)
		}
	}
}

func TestRedirectQueryMalformed(t *testing.T) {
	keys(t)
	xml := reqSpec{}.xml()
	signed := redirectQuery(t, "SAMLRequest", xml, "rs", testSP, SigAlgRSASHA256)
	cases := []struct {
		name  string
		query string
		want  error
	}{
		{"empty", "", ErrMalformed},
		{"no SAMLRequest", "RelayState=x", ErrMalformed},
		{"empty SAMLRequest", "SAMLRequest=", ErrMalformed},
		{"duplicate SAMLRequest", signed + "&SAMLRequest=" + url.QueryEscape(deflateB64(t, xml)), ErrMalformed},
		{"duplicate Signature", signed + "&Signature=AAAA", ErrMalformed},
		{"duplicate RelayState", signed + "&RelayState=y", ErrMalformed},
		{"Signature without SigAlg", dropParam(signed, "SigAlg"), ErrMalformed},
		{"SigAlg without Signature", dropParam(signed, "Signature"), ErrMalformed},
		{"bad base64", "SAMLRequest=%%%%", ErrMalformed},
		{"bad escape", "SAMLRequest=%zz", ErrMalformed},
		{"not deflated", "SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString(xml)), ErrMalformed},
		{"huge query", "SAMLRequest=" + strings.Repeat("A", 100<<10), ErrTooLarge},
		{"RelayState 4 KB", "SAMLRequest=" + url.QueryEscape(deflateB64(t, xml)) + "&RelayState=" + strings.Repeat("a", 4096), ErrRelayState},
		{"RelayState not UTF-8", "SAMLRequest=" + url.QueryEscape(deflateB64(t, xml)) + "&RelayState=%ff%fe", ErrRelayState},
		{"SAMLResponse instead", strings.Replace(signed, "SAMLRequest=", "SAMLResponse=", 1), ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseAuthnRequestRedirect(tc.query); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	// RelayState over the 80 bytes of the spec but under the cap passes
	// through untouched, as does markup (escaped later by the form).
	long := strings.Repeat("r", 81) + `"><script>alert(1)</script>`
	r, err := ParseAuthnRequestRedirect("SAMLRequest=" + url.QueryEscape(deflateB64(t, xml)) + "&RelayState=" + url.QueryEscape(long))
	if err != nil || r.RelayState != long {
		t.Errorf("long RelayState: %v %q", err, r.RelayState)
	}
}

func TestPOSTSignature(t *testing.T) {
	keys(t)
	sp := []*x509.Certificate{testSP.cert}
	sign := func(spec reqSpec, kp keyPair, method string) []byte { return spSignXML(t, spec.element(), kp, method) }
	good := sign(reqSpec{acs: acsURL}, testSP, "")
	cases := []struct {
		name  string
		xml   []byte
		certs []*x509.Certificate
		opts  VerifyOptions
		want  error
	}{
		{"valid", good, sp, VerifyOptions{}, nil},
		{"rollover", good, []*x509.Certificate{testEvil.cert, testSP.cert}, VerifyOptions{}, nil},
		{"unsigned", reqSpec{acs: acsURL}.xml(), sp, VerifyOptions{}, ErrUnsigned},
		{"signed by another key", sign(reqSpec{acs: acsURL}, testEvil, ""), sp, VerifyOptions{}, ErrSignature},
		{"ACS edited after signing", []byte(strings.Replace(string(good), acsURL, "https://attacker.example/acs", 1)), sp, VerifyOptions{}, ErrSignature},
		{"rsa-sha1 refused", sign(reqSpec{}, testSP, SigAlgRSASHA1), sp, VerifyOptions{}, ErrAlgorithm},
		{"rsa-sha1 allowed", sign(reqSpec{}, testSP, SigAlgRSASHA1), sp, VerifyOptions{AllowSHA1: true}, nil},
		{"XSW: evil root wraps signed request", func() []byte {
			orig := spSignXML(t, reqSpec{id: "_orig"}.element(), testSP, "")
			doc := etree.NewDocument()
			doc.ReadFromBytes(orig)
			evil := reqSpec{id: "_evil", acs: "https://attacker.example/acs"}.element()
			evil.CreateElement("samlp:Extensions").AddChild(doc.Root())
			return serialize(evil)
		}(), sp, VerifyOptions{}, ErrMalformed},
		{"XSW: evil root with the signature only", func() []byte {
			orig := spSignXML(t, reqSpec{id: "_orig"}.element(), testSP, "")
			doc := etree.NewDocument()
			doc.ReadFromBytes(orig)
			sig := children(doc.Root(), nsDSig, "Signature")[0]
			evil := reqSpec{id: "_evil", acs: "https://attacker.example/acs"}.element()
			evil.InsertChildAt(1, sig)
			return serialize(evil)
		}(), sp, VerifyOptions{}, ErrSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseAuthnRequestPOST(postValue(tc.xml), "")
			if err == nil {
				err = r.Verify(tc.certs, tc.opts)
			}
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
			if err == nil && (!r.Signed || !r.Verified || r.AssertionConsumerServiceURL == "https://attacker.example/acs") {
				t.Errorf("verified request: %+v", r)
			}
		})
	}
}

// TestRequestsFromOtherSPStacks parses signed requests built by gosaml2
// and crewjam/saml, as real SPs would send them.
func TestRequestsFromOtherSPStacks(t *testing.T) {
	keys(t)
	sp := []*x509.Certificate{testSP.cert}
	g := &saml2.SAMLServiceProvider{
		IdentityProviderSSOURL:      ssoURL,
		IdentityProviderIssuer:      idpEntityID,
		AssertionConsumerServiceURL: acsURL,
		ServiceProviderIssuer:       spEntityID,
		AudienceURI:                 spEntityID,
		SignAuthnRequests:           true,
		SPSigningKeyStore:           dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{testSP.cert.Raw}, PrivateKey: testSP.key}),
		IDPCertificateStore:         &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{testIdP.cert}},
		Clock:                       dsig.NewFakeClockAt(fixedNow),
		ForceAuthn:                  true,
	}
	t.Run("gosaml2 redirect (alphabetical order)", func(t *testing.T) {
		doc, err := g.BuildAuthRequestDocumentNoSig()
		if err != nil {
			t.Fatal(err)
		}
		u, err := g.BuildAuthURLRedirect("relay/state x", doc)
		if err != nil {
			t.Fatal(err)
		}
		pu, _ := url.Parse(u)
		r, err := ParseAuthnRequestRedirect(pu.RawQuery)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Verify(sp, VerifyOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := r.Check(Checks{Destination: ssoURL}); err != nil {
			t.Error(err)
		}
		if r.Issuer != spEntityID || r.AssertionConsumerServiceURL != acsURL || !r.ForceAuthn || r.RelayState != "relay/state x" {
			t.Errorf("%+v", r)
		}
	})
	t.Run("gosaml2 post (c14n 1.1)", func(t *testing.T) {
		doc, err := g.BuildAuthRequestDocument()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := doc.WriteToBytes()
		r, err := ParseAuthnRequestPOST(base64.StdEncoding.EncodeToString(b), "rs")
		if err != nil {
			t.Fatal(err)
		}
		if !r.Signed {
			t.Fatal("not seen as signed")
		}
		if err := r.Verify(sp, VerifyOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := r.Verify([]*x509.Certificate{testEvil.cert}, VerifyOptions{}); !errors.Is(err, ErrSignature) {
			t.Errorf("other cert: %v", err)
		}
	})
	t.Run("crewjam redirect", func(t *testing.T) {
		var ed crewsaml.EntityDescriptor
		if err := xmlUnmarshal(idpMetadataXML(t, testIdP.cert), &ed); err != nil {
			t.Fatal(err)
		}
		acs, _ := url.Parse(acsURL)
		c := crewsaml.ServiceProvider{
			EntityID: spEntityID, Key: testSP.key.(*rsa.PrivateKey), Certificate: testSP.cert,
			AcsURL: *acs, IDPMetadata: &ed, SignatureMethod: dsig.RSASHA256SignatureMethod,
		}
		crewsaml.TimeNow = clock
		u, err := c.MakeRedirectAuthenticationRequest("state123")
		if err != nil {
			t.Fatal(err)
		}
		r, err := ParseAuthnRequestRedirect(u.RawQuery)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Verify(sp, VerifyOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := r.Check(Checks{Destination: ssoURL, Now: clock}); err != nil {
			t.Error(err)
		}
		if r.RelayState != "state123" || r.NameIDPolicy == nil {
			t.Errorf("%+v", r)
		}
	})
}

func TestSelectACS(t *testing.T) {
	tr, fa := true, false
	reg := []Endpoint{
		{Binding: BindingHTTPArtifact, Location: "https://sp.example.com/art", Index: 0},
		{Binding: BindingHTTPPOST, Location: "https://sp.example.com/acs", Index: 1, IsDefault: &fa},
		{Binding: BindingHTTPPOST, Location: "https://sp.example.com/acs2", Index: 2},
		{Binding: BindingHTTPPOST, Location: "https://sp.example.com/acs3", Index: 3, IsDefault: &tr},
	}
	idx := func(i int) *int { return &i }
	cases := []struct {
		name string
		req  *AuthnRequest
		want string // "" means refused
	}{
		{"idp-initiated uses default", nil, "https://sp.example.com/acs3"},
		{"no ACS attributes uses default", &AuthnRequest{}, "https://sp.example.com/acs3"},
		{"exact URL", &AuthnRequest{AssertionConsumerServiceURL: "https://sp.example.com/acs"}, "https://sp.example.com/acs"},
		{"index", &AuthnRequest{AssertionConsumerServiceIndex: idx(2)}, "https://sp.example.com/acs2"},
		{"index 99", &AuthnRequest{AssertionConsumerServiceIndex: idx(99)}, ""},
		{"index of artifact endpoint", &AuthnRequest{AssertionConsumerServiceIndex: idx(0)}, ""},
		{"artifact binding", &AuthnRequest{ProtocolBinding: BindingHTTPArtifact}, ""},
		{"POST binding", &AuthnRequest{ProtocolBinding: BindingHTTPPOST}, "https://sp.example.com/acs3"},
	}
	for _, u := range []string{
		"https://attacker.example/acs", "https://sp.example.com.attacker.example/acs", "https://sp.example.com@attacker.example/acs",
		"https://sp.example.com:443/acs", "https://sp.example.com/acs/", "https://SP.example.com/acs", "https://sp.example.com/acs?x=1",
		"https://sp.example.com/acs#x", "http://sp.example.com/acs", "https://sp.example.com/%2e%2e/evil", "javascript:alert(1)",
		"https://sp.example.com/art",
	} {
		cases = append(cases, struct {
			name string
			req  *AuthnRequest
			want string
		}{"IDP-01 " + u, &AuthnRequest{AssertionConsumerServiceURL: u}, ""})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := SelectACS(reg, tc.req)
			if tc.want == "" {
				if !errors.Is(err, ErrACS) {
					t.Errorf("got %v %v, want refusal", e, err)
				}
				return
			}
			if err != nil || e.Location != tc.want {
				t.Errorf("got %q %v, want %q", e.Location, err, tc.want)
			}
		})
	}
	if e, _ := SelectACS(reg[1:3], nil); e.Location != "https://sp.example.com/acs2" {
		t.Errorf("first without isDefault=false: %q", e.Location)
	}
	if e, _ := SelectACS(reg[1:2], nil); e.Location != "https://sp.example.com/acs" {
		t.Errorf("only isDefault=false: %q", e.Location)
	}
	if _, err := SelectACS(reg[:1], nil); !errors.Is(err, ErrACS) {
		t.Errorf("no POST endpoint: %v", err)
	}
}

func TestChooseAuthnContext(t *testing.T) {
	rac := func(cmp string, refs ...string) *RequestedAuthnContext {
		return &RequestedAuthnContext{Comparison: cmp, ClassRefs: refs}
	}
	cases := []struct {
		name   string
		req    *RequestedAuthnContext
		actual string
		want   string
	}{
		{"none requested", nil, AuthnContextPassword, AuthnContextPassword},
		{"exact match", rac("exact", AuthnContextPassword), AuthnContextPassword, AuthnContextPassword},
		{"exact MFA, user has password only", rac("exact", AuthnContextMFA), AuthnContextPassword, ""},
		{"exact password, user did MFA", rac("exact", AuthnContextPassword), AuthnContextMFA, ""},
		{"exact unspecified", rac("exact", authnContextUnspecified), AuthnContextMFA, AuthnContextMFA},
		{"minimum PPT with MFA", rac("minimum", AuthnContextPassword), AuthnContextMFA, AuthnContextMFA},
		{"minimum MFA with password", rac("minimum", AuthnContextMFA), AuthnContextPassword, ""},
		{"minimum Microsoft MFA", rac("minimum", authnContextMSMultiple), AuthnContextMFA, AuthnContextMFA},
		{"better than password", rac("better", AuthnContextPassword), AuthnContextMFA, AuthnContextMFA},
		{"better than password, password", rac("better", AuthnContextPassword), AuthnContextPassword, ""},
		{"maximum PPT with password", rac("maximum", AuthnContextPassword), AuthnContextPassword, AuthnContextPassword},
		{"maximum PPT with MFA", rac("maximum", AuthnContextPassword), AuthnContextMFA, ""},
		{"unknown class", rac("minimum", "urn:x:smartcard"), AuthnContextMFA, ""},
	}
	for _, tc := range cases {
		if got := ChooseAuthnContext(tc.req, tc.actual); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
