package saml

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewsaml "github.com/crewjam/saml"
	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/idcenter/idcenter/internal/testenv"
)

// Values users control, with every character XML treats specially (IDP-12).
const (
	nastyDisplayName = `x</saml:AttributeValue></saml:Attribute><saml:Attribute Name="role"><saml:AttributeValue>admin`
	nastyGiven       = `]]>`
	nastyFamily      = `O'Brien & "Sons" <ltd> ]]> &amp;`
	nastyEmail       = `a@b.c<!--`
)

var testGroups = []string{"engineering", "R&D <core>", `"quoted" 'group'`, "]]>"}

func testParams(inResponseTo string) AssertionParams {
	return AssertionParams{
		Issuer:               idpEntityID,
		Audience:             spEntityID,
		Destination:          acsURL,
		InResponseTo:         inResponseTo,
		NameID:               "alice@example.com",
		NameIDFormat:         NameIDFormatEmailAddress,
		SessionIndex:         "_sess0123456789abcdef0123456789abcdef01234567",
		AuthnInstant:         fixedNow.Add(-time.Minute),
		AuthnContextClassRef: AuthnContextMFA,
		SessionNotOnOrAfter:  fixedNow.Add(8 * time.Hour),
		Attributes: []Attribute{
			{Name: "email", NameFormat: AttrNameFormatBasic, Values: []string{nastyEmail}},
			{Name: "displayName", NameFormat: AttrNameFormatBasic, Values: []string{nastyDisplayName}},
			{Name: "givenName", NameFormat: AttrNameFormatBasic, Values: []string{nastyGiven}},
			{Name: "familyName", NameFormat: AttrNameFormatBasic, Values: []string{nastyFamily}},
			{Name: "groups", NameFormat: AttrNameFormatBasic, Values: testGroups},
			{Name: "urn:oid:0.9.2342.19200300.100.1.3", NameFormat: AttrNameFormatURI, FriendlyName: "mail", Values: []string{"alice@example.com"}},
		},
		Now: clock,
	}
}

func wantAttrs(p AssertionParams) map[string][]string {
	m := map[string][]string{}
	for _, a := range p.Attributes {
		m[a.Name] = a.Values
	}
	return m
}

func idpMetadataXML(t testing.TB, certs ...*x509.Certificate) []byte {
	t.Helper()
	md, err := BuildIdPMetadata(IdPMetadata{
		EntityID: idpEntityID, SigningCertificates: certs, SSOURL: ssoURL, SLOURL: sloURL,
		NameIDFormats: []string{NameIDFormatEmailAddress, NameIDFormatPersistent},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return md
}

// crewjamAccepts parses the response with crewjam/saml's ServiceProvider at
// the fixed clock and returns NameID and attributes.
func crewjamAccepts(t testing.TB, resp []byte, inResponseTo string) (string, map[string][]string, error) {
	t.Helper()
	keys(t)
	var ed crewsaml.EntityDescriptor
	if err := xml.Unmarshal(idpMetadataXML(t, testIdP.cert), &ed); err != nil {
		t.Fatal(err)
	}
	acs, _ := url.Parse(acsURL)
	sp := crewsaml.ServiceProvider{
		EntityID:          spEntityID,
		Key:               testSP.key.(*rsa.PrivateKey),
		Certificate:       testSP.cert,
		AcsURL:            *acs,
		IDPMetadata:       &ed,
		AllowIDPInitiated: inResponseTo == "",
	}
	crewsaml.TimeNow = clock
	crewsaml.Clock = dsig.NewFakeClockAt(fixedNow)
	var ids []string
	if inResponseTo != "" {
		ids = []string{inResponseTo}
	}
	a, err := sp.ParseXMLResponse(resp, ids, *acs)
	if err != nil {
		var ire *crewsaml.InvalidResponseError
		if errors.As(err, &ire) {
			err = ire.PrivateErr
		}
		return "", nil, err
	}
	attrs := map[string][]string{}
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			for _, v := range at.Values {
				attrs[at.Name] = append(attrs[at.Name], v.Value)
			}
		}
	}
	return a.Subject.NameID.Value, attrs, nil
}

// gosaml2Accepts parses the response with gosaml2 and fails on its warnings.
func gosaml2Accepts(t testing.TB, resp []byte, audience string) (*saml2.AssertionInfo, error) {
	t.Helper()
	keys(t)
	sp := &saml2.SAMLServiceProvider{
		IdentityProviderSSOURL:      ssoURL,
		IdentityProviderIssuer:      idpEntityID,
		AssertionConsumerServiceURL: acsURL,
		ServiceProviderIssuer:       spEntityID,
		AudienceURI:                 audience,
		IDPCertificateStore:         &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{testIdP.cert}},
		SPKeyStore:                  dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{testSP.cert.Raw}, PrivateKey: testSP.key}),
		Clock:                       dsig.NewFakeClockAt(fixedNow),
	}
	info, err := sp.RetrieveAssertionInfo(base64.StdEncoding.EncodeToString(resp))
	if err != nil {
		return nil, err
	}
	if info.WarningInfo.NotInAudience || info.WarningInfo.InvalidTime {
		return info, errors.New("gosaml2 warning: not in audience or invalid time")
	}
	return info, nil
}

var signModes = []struct {
	name string
	opts SignOptions
}{
	{"both", SignOptions{SignResponse: true, SignAssertion: true}},
	{"assertion", SignOptions{SignAssertion: true}},
	{"response", SignOptions{SignResponse: true}},
}

func TestBuildResponseAcceptedByOracles(t *testing.T) {
	signer := idpSigner(t)
	for _, mode := range signModes {
		for _, inResp := range []string{"_req0123456789abcdef", ""} {
			name := mode.name + "/sp-initiated"
			if inResp == "" {
				name = mode.name + "/idp-initiated"
			}
			t.Run(name, func(t *testing.T) {
				p := testParams(inResp)
				resp, err := BuildResponse(p, signer, mode.opts)
				if err != nil {
					t.Fatal(err)
				}
				nameID, attrs, err := crewjamAccepts(t, resp, inResp)
				if err != nil {
					t.Fatalf("crewjam rejected: %v\n%s", err, resp)
				}
				if nameID != p.NameID {
					t.Errorf("crewjam NameID %q", nameID)
				}
				for k, v := range wantAttrs(p) {
					if !slices.Equal(attrs[k], v) {
						t.Errorf("crewjam attribute %s = %q, want %q", k, attrs[k], v)
					}
				}
				if _, ok := attrs["role"]; ok || len(attrs) != len(p.Attributes) {
					t.Errorf("crewjam saw attributes %v", attrs)
				}
				info, err := gosaml2Accepts(t, resp, spEntityID)
				if err != nil {
					t.Fatalf("gosaml2 rejected: %v", err)
				}
				if info.NameID != p.NameID || info.SessionIndex != p.SessionIndex {
					t.Errorf("gosaml2 NameID %q SessionIndex %q", info.NameID, info.SessionIndex)
				}
				for k, v := range wantAttrs(p) {
					if got := info.Values.GetAll(k); !slices.Equal(got, v) {
						t.Errorf("gosaml2 attribute %s = %q, want %q", k, got, v)
					}
				}
				if len(info.Values) != len(p.Attributes) {
					t.Errorf("gosaml2 saw %d attributes", len(info.Values))
				}
				if got := info.Assertions[0].AuthnStatement.AuthnContext.AuthnContextClassRef; got == nil || got.Value != AuthnContextMFA {
					t.Errorf("AuthnContextClassRef %q", got)
				}
				checkShape(t, resp, mode.opts, inResp)
			})
		}
	}
}

// checkShape checks what IDP-10 asks of the XML itself.
func checkShape(t *testing.T, resp []byte, opts SignOptions, inResp string) {
	t.Helper()
	doc, err := ParseUntrusted(resp, 1<<20)
	if err != nil {
		t.Fatalf("own output fails ParseUntrusted: %v", err)
	}
	r := doc.Root()
	if r.SelectAttrValue("Destination", "") != acsURL || r.SelectAttrValue("InResponseTo", "") != inResp {
		t.Error("Response Destination / InResponseTo")
	}
	as := children(r, NSAssertion, "Assertion")
	if len(as) != 1 {
		t.Fatalf("%d assertions", len(as))
	}
	a := as[0]
	for _, el := range []struct {
		el     *etree.Element
		signed bool
	}{{r, opts.SignResponse}, {a, opts.SignAssertion}} {
		kids := el.el.ChildElements()
		sigs := children(el.el, nsDSig, "Signature")
		if el.signed != (len(sigs) == 1) {
			t.Errorf("<%s> signed=%v, want %v", el.el.Tag, len(sigs) == 1, el.signed)
		}
		if el.signed && (kids[0].Tag != "Issuer" || kids[1].Tag != "Signature") {
			t.Errorf("<%s>: Signature must follow Issuer", el.el.Tag)
		}
		for _, s := range sigs {
			si := children(s, nsDSig, "SignedInfo")[0]
			if got := children(si, nsDSig, "SignatureMethod")[0].SelectAttrValue("Algorithm", ""); got != SigAlgRSASHA256 {
				t.Errorf("SignatureMethod %s", got)
			}
			if got := children(si, nsDSig, "CanonicalizationMethod")[0].SelectAttrValue("Algorithm", ""); got != string(dsig.CanonicalXML10ExclusiveAlgorithmId) {
				t.Errorf("CanonicalizationMethod %s", got)
			}
			refs := children(si, nsDSig, "Reference")
			if len(refs) != 1 || refs[0].SelectAttrValue("URI", "") != "#"+el.el.SelectAttrValue("ID", "") {
				t.Error("want one Reference to the signed element")
			}
			if got := children(refs[0], nsDSig, "DigestMethod")[0].SelectAttrValue("Algorithm", ""); got != digestSHA256 {
				t.Errorf("DigestMethod %s", got)
			}
		}
	}
	if n := len(a.FindElements("./AuthnStatement")); n != 1 {
		t.Errorf("%d AuthnStatements", n)
	}
	scd := a.FindElement("./Subject/SubjectConfirmation/SubjectConfirmationData")
	if scd.SelectAttr("NotBefore") != nil || scd.SelectAttrValue("Recipient", "") != acsURL || scd.SelectAttrValue("InResponseTo", "") != inResp {
		t.Error("SubjectConfirmationData")
	}
	if got := a.FindElement("./Conditions/AudienceRestriction/Audience").Text(); got != spEntityID {
		t.Errorf("Audience %q", got)
	}
	if bytes.Contains(resp, []byte("<!DOCTYPE")) {
		t.Error("DOCTYPE in output")
	}
}

func TestBuildResponseTamperRejected(t *testing.T) {
	signer := idpSigner(t)
	tampers := []struct{ name, from, to string }{
		{"NameID", ">alice@example.com</saml:NameID>", ">mallory@example.com</saml:NameID>"},
		{"attribute", ">engineering<", ">admins<"},
		{"Audience", ">" + spEntityID + "</saml:Audience>", ">" + spEntityID + " </saml:Audience>"},
	}
	for _, mode := range signModes {
		for _, tc := range tampers {
			t.Run(mode.name+"/"+tc.name, func(t *testing.T) {
				resp, err := BuildResponse(testParams("_r1"), signer, mode.opts)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Contains(resp, []byte(tc.from)) {
					t.Fatalf("%q not in response", tc.from)
				}
				bad := bytes.Replace(resp, []byte(tc.from), []byte(tc.to), 1)
				if _, _, err := crewjamAccepts(t, bad, "_r1"); err == nil {
					t.Error("crewjam accepted a tampered response")
				}
				if _, err := gosaml2Accepts(t, bad, spEntityID); err == nil {
					t.Error("gosaml2 accepted a tampered response")
				}
			})
		}
	}
}

func TestBuildResponseOraclesAreStrict(t *testing.T) {
	signer := idpSigner(t)
	t.Run("wrong audience", func(t *testing.T) {
		resp, err := BuildResponse(testParams("_r1"), signer, SignOptions{SignResponse: true, SignAssertion: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := gosaml2Accepts(t, resp, "https://other.example.com"); err == nil {
			t.Error("gosaml2 accepted another audience")
		}
	})
	t.Run("other key", func(t *testing.T) {
		keys(t)
		evil, err := NewSigner(testEvil.key, testEvil.cert)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := BuildResponse(testParams("_r1"), evil, SignOptions{SignResponse: true, SignAssertion: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := crewjamAccepts(t, resp, "_r1"); err == nil {
			t.Error("crewjam accepted a response signed by another key")
		}
		if _, err := gosaml2Accepts(t, resp, spEntityID); err == nil {
			t.Error("gosaml2 accepted a response signed by another key")
		}
	})
	t.Run("expired", func(t *testing.T) {
		p := testParams("_r1")
		p.Now = func() time.Time { return fixedNow.Add(-time.Hour) }
		resp, err := BuildResponse(p, signer, SignOptions{SignResponse: true, SignAssertion: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := crewjamAccepts(t, resp, "_r1"); err == nil {
			t.Error("crewjam accepted an hour-old response")
		}
		if _, err := gosaml2Accepts(t, resp, spEntityID); err == nil {
			t.Error("gosaml2 accepted an hour-old response")
		}
	})
}

func TestBuildResponseEncrypted(t *testing.T) {
	signer := idpSigner(t)
	for _, mode := range signModes {
		t.Run(mode.name, func(t *testing.T) {
			p := testParams("_r1")
			opts := mode.opts
			opts.EncryptTo = testSP.cert
			resp, err := BuildResponse(p, signer, opts)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(resp, []byte("alice@example.com")) || bytes.Contains(resp, []byte("engineering")) {
				t.Fatal("plaintext visible in an encrypted response")
			}
			info, err := gosaml2Accepts(t, resp, spEntityID)
			if err != nil {
				t.Fatalf("gosaml2 rejected: %v", err)
			}
			if info.NameID != p.NameID || !slices.Equal(info.Values.GetAll("groups"), testGroups) {
				t.Errorf("gosaml2 decrypted NameID %q groups %q", info.NameID, info.Values.GetAll("groups"))
			}
			// Flip one byte of the ciphertext: GCM must refuse it.
			re := regexp.MustCompile(`(<xenc:EncryptedData[\s\S]*</ds:KeyInfo><xenc:CipherData><xenc:CipherValue>)([A-Za-z0-9+/]{8})`)
			bad := re.ReplaceAllFunc(resp, func(m []byte) []byte {
				m = bytes.Clone(m)
				if m[len(m)-1] == 'A' {
					m[len(m)-1] = 'B'
				} else {
					m[len(m)-1] = 'A'
				}
				return m
			})
			if bytes.Equal(bad, resp) {
				t.Fatal("tamper did not apply")
			}
			if _, err := gosaml2Accepts(t, bad, spEntityID); err == nil {
				t.Error("gosaml2 accepted a tampered ciphertext")
			}
		})
	}
	t.Run("not RSA", func(t *testing.T) {
		_, err := BuildResponse(testParams(""), signer, SignOptions{SignAssertion: true, EncryptTo: testEC.cert})
		if err == nil {
			t.Error("encrypted to an EC certificate")
		}
	})
}

func TestBuildResponseRefusesBadValues(t *testing.T) {
	signer := idpSigner(t)
	cases := []struct {
		name string
		mod  func(p *AssertionParams)
	}{
		{"NUL in attribute", func(p *AssertionParams) { p.Attributes[0].Values = []string{"a\x00b"} }},
		{"ESC in attribute", func(p *AssertionParams) { p.Attributes[0].Values = []string{"a\x1bb"} }},
		{"CR in attribute", func(p *AssertionParams) { p.Attributes[0].Values = []string{"a\rb"} }},
		{"invalid UTF-8", func(p *AssertionParams) { p.Attributes[0].Values = []string{"a\xffb"} }},
		{"U+FFFE", func(p *AssertionParams) { p.NameID = "a\ufffe" }},
		{"10 KB value", func(p *AssertionParams) { p.Attributes[0].Values = []string{strings.Repeat("x", 10<<10)} }},
		{"too many values", func(p *AssertionParams) {
			p.Attributes[4].Values = make([]string, MaxAttributeValues+1)
		}},
		{"newline in NameID format", func(p *AssertionParams) { p.NameIDFormat = "a\nb" }},
		{"javascript ACS", func(p *AssertionParams) { p.Destination = "javascript:alert(1)" }},
		{"http ACS", func(p *AssertionParams) { p.Destination = "http://sp.example.com/acs" }},
		{"no NameID", func(p *AssertionParams) { p.NameID = "" }},
		{"no SessionIndex", func(p *AssertionParams) { p.SessionIndex = "" }},
		{"no AuthnInstant", func(p *AssertionParams) { p.AuthnInstant = time.Time{} }},
		{"no class", func(p *AssertionParams) { p.AuthnContextClassRef = "" }},
		{"no audience", func(p *AssertionParams) { p.Audience = "" }},
		{"unnamed attribute", func(p *AssertionParams) { p.Attributes[0].Name = "" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := testParams("")
			tc.mod(&p)
			if _, err := BuildResponse(p, signer, SignOptions{SignAssertion: true}); err == nil {
				t.Error("built a response with a bad value")
			}
		})
	}
	if _, err := BuildResponse(testParams(""), signer, SignOptions{}); err == nil {
		t.Error("built an unsigned response")
	}
	// Tab and newline in text are fine and survive.
	p := testParams("")
	p.Attributes = []Attribute{{Name: "note", Values: []string{"line1\nline2\tend", ""}}}
	resp, err := BuildResponse(p, signer, SignOptions{SignAssertion: true, SignResponse: true})
	if err != nil {
		t.Fatal(err)
	}
	info, err := gosaml2Accepts(t, resp, spEntityID)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Values.GetAll("note"); !slices.Equal(got, []string{"line1\nline2\tend", ""}) {
		t.Errorf("note = %q", got)
	}
}

func TestResponseIDsAreFreshAndUnique(t *testing.T) {
	signer := idpSigner(t)
	idRe := regexp.MustCompile(`^_[0-9a-f]{40}$`)
	seen := map[string]bool{}
	for range 50 {
		resp, err := BuildResponse(testParams(""), signer, SignOptions{SignAssertion: true})
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := ParseUntrusted(resp, 1<<20)
		for _, el := range []*etree.Element{doc.Root(), doc.Root().FindElement("./Assertion")} {
			id := el.SelectAttrValue("ID", "")
			if !idRe.MatchString(id) || seen[id] {
				t.Fatalf("ID %q not fresh or not 160-bit hex", id)
			}
			seen[id] = true
		}
	}
	a, _ := NewID(nil)
	b, _ := NewID(nil)
	if a == b || !idRe.MatchString(a) {
		t.Errorf("NewID: %q %q", a, b)
	}
}

func TestStatusResponse(t *testing.T) {
	signer := idpSigner(t)
	out, err := BuildStatusResponse(StatusResponseParams{
		Issuer: idpEntityID, Destination: acsURL, InResponseTo: "_r1",
		Status: Status{Code: StatusResponder, SubCode: StatusNoPassive, Message: "no session <here>"}, Now: clock,
	}, signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := crewjamAccepts(t, out, "_r1"); err == nil || !strings.Contains(err.Error(), "Status") && !strings.Contains(err.Error(), "status") {
		t.Errorf("crewjam: %v", err)
	}
	doc, err := ParseUntrusted(out, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if v := doc.Root().FindElement("./Status/StatusCode/StatusCode").SelectAttrValue("Value", ""); v != StatusNoPassive {
		t.Errorf("sub status %q", v)
	}
	if _, err := BuildStatusResponse(StatusResponseParams{Issuer: idpEntityID, Destination: acsURL, Status: Status{Code: StatusSuccess}}, signer); err == nil {
		t.Error("built a success status response")
	}
}

// TestXmlsec1Verifies checks every signature with xmlsec1, the C library
// many SPs use, against the published certificate.
func TestXmlsec1Verifies(t *testing.T) {
	bin, err := exec.LookPath("xmlsec1")
	if err != nil {
		testenv.SkipOrFail(t, "xmlsec1 not installed (apt-get install xmlsec1)")
		return
	}
	signer := idpSigner(t)
	dir := t.TempDir()
	certPEM := filepath.Join(dir, "cert.pem")
	keyPEM := filepath.Join(dir, "sp-key.pem")
	if err := os.WriteFile(certPEM, EncodeCertificatePEM(testIdP.cert), 0o600); err != nil {
		t.Fatal(err)
	}
	kp, _ := EncodePrivateKeyPEM(testSP.key)
	if err := os.WriteFile(keyPEM, kp, 0o600); err != nil {
		t.Fatal(err)
	}
	verify := func(t *testing.T, file, node string, wantOK bool) {
		t.Helper()
		args := []string{"--verify",
			"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response",
			"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
			"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:LogoutResponse",
			"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor",
			"--pubkey-cert-pem", certPEM}
		if node != "" {
			args = append(args, "--node-xpath", node)
		}
		out, err := exec.Command(bin, append(args, file)...).CombinedOutput()
		if (err == nil) != wantOK {
			t.Errorf("xmlsec1 %s (node %q): ok=%v, want %v\n%s", filepath.Base(file), node, err == nil, wantOK, out)
		}
	}
	write := func(name string, b []byte) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	const respSig = "/*[local-name()='Response']/*[local-name()='Signature']"
	const asrtSig = "//*[local-name()='Assertion']/*[local-name()='Signature']"
	for _, mode := range signModes {
		t.Run(mode.name, func(t *testing.T) {
			resp, err := BuildResponse(testParams("_r1"), signer, mode.opts)
			if err != nil {
				t.Fatal(err)
			}
			f := write(mode.name+".xml", resp)
			bad := write(mode.name+"-bad.xml", bytes.Replace(resp, []byte(">engineering<"), []byte(">admins<"), 1))
			if mode.opts.SignResponse {
				verify(t, f, respSig, true)
				verify(t, bad, respSig, false)
			}
			if mode.opts.SignAssertion {
				verify(t, f, asrtSig, true)
				verify(t, bad, asrtSig, false)
			}
		})
	}
	t.Run("encrypted", func(t *testing.T) {
		resp, err := BuildResponse(testParams("_r1"), signer, SignOptions{SignAssertion: true, SignResponse: true, EncryptTo: testSP.cert})
		if err != nil {
			t.Fatal(err)
		}
		f := write("enc.xml", resp)
		verify(t, f, respSig, true)
		out, err := exec.Command(bin, "--decrypt", "--privkey-pem", keyPEM, "--output", filepath.Join(dir, "dec.xml"), f).CombinedOutput()
		if err != nil {
			t.Fatalf("xmlsec1 --decrypt: %v\n%s", err, out)
		}
		dec, _ := os.ReadFile(filepath.Join(dir, "dec.xml"))
		if !bytes.Contains(dec, []byte(">alice@example.com</saml:NameID>")) {
			t.Fatalf("decrypted document lacks the NameID:\n%s", dec)
		}
		verify(t, filepath.Join(dir, "dec.xml"), asrtSig, true)
	})
	t.Run("metadata", func(t *testing.T) {
		md, err := BuildIdPMetadata(IdPMetadata{EntityID: idpEntityID, SigningCertificates: []*x509.Certificate{testIdP.cert}, SSOURL: ssoURL}, signer)
		if err != nil {
			t.Fatal(err)
		}
		verify(t, write("md.xml", md), "", true)
	})
	t.Run("logout response", func(t *testing.T) {
		lr, err := BuildLogoutResponse(LogoutResponseParams{Issuer: idpEntityID, Destination: spSLOURL, InResponseTo: "_l1", Now: clock}, signer)
		if err != nil {
			t.Fatal(err)
		}
		verify(t, write("lr.xml", lr), "", true)
	})
}

func BenchmarkBuildResponse(b *testing.B) {
	signer := idpSigner(b)
	p := testParams("_r1")
	for _, mode := range signModes {
		b.Run(mode.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := BuildResponse(p, signer, mode.opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// onelogin's Debian package ships the OASIS schemas that python3-saml
// validates every message against.
const schemaDir = "/usr/lib/python3/dist-packages/onelogin/saml2/schemas"

// TestOutputMatchesSchemas validates everything the package builds against
// the SAML 2.0 XSDs with xmllint, as schema-validating SPs do.
func TestOutputMatchesSchemas(t *testing.T) {
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		testenv.SkipOrFail(t, "xmllint not installed (apt-get install libxml2-utils)")
		return
	}
	if _, err := os.Stat(filepath.Join(schemaDir, "saml-schema-protocol-2.0.xsd")); err != nil {
		testenv.SkipOrFail(t, "SAML schemas not installed (apt-get install python3-onelogin-saml2)")
		return
	}
	signer := idpSigner(t)
	dir := t.TempDir()
	must := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	lreq, _, err := BuildLogoutRequest(LogoutRequestParams{Issuer: idpEntityID, Destination: spSLOURL, Now: clock,
		NameID: NameID{Value: "alice", Format: NameIDFormatPersistent, SPNameQualifier: spEntityID}, SessionIndexes: []string{"_s1", "_s2"}, Reason: "urn:oasis:names:tc:SAML:2.0:logout:user"}, signer)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string][]byte{
		"response-both":       must(BuildResponse(testParams("_r1"), signer, SignOptions{SignResponse: true, SignAssertion: true})),
		"response-idp":        must(BuildResponse(testParams(""), signer, SignOptions{SignAssertion: true})),
		"response-encrypted":  must(BuildResponse(testParams("_r1"), signer, SignOptions{SignResponse: true, SignAssertion: true, EncryptTo: testSP.cert})),
		"response-status":     must(BuildStatusResponse(StatusResponseParams{Issuer: idpEntityID, Destination: acsURL, InResponseTo: "_r1", Status: Status{Code: StatusResponder, SubCode: StatusNoAuthnContext, Message: "m"}}, signer)),
		"logout-response":     must(BuildLogoutResponse(LogoutResponseParams{Issuer: idpEntityID, Destination: spSLOURL, InResponseTo: "_l1", Status: Status{Code: StatusSuccess, SubCode: StatusPartialLogout}}, signer)),
		"logout-request":      lreq,
		"logout-unsigned":     must(BuildLogoutResponse(LogoutResponseParams{Issuer: idpEntityID, Destination: spSLOURL}, nil)),
		"metadata-idp":        must(BuildIdPMetadata(IdPMetadata{EntityID: idpEntityID, SigningCertificates: []*x509.Certificate{testIdP.cert, testNext.cert}, WantAuthnRequestsSigned: true, NameIDFormats: []string{NameIDFormatEmailAddress}, SSOURL: ssoURL, SLOURL: sloURL, ValidUntil: fixedNow.Add(time.Hour), CacheDuration: time.Hour}, signer)),
		"metadata-idp-nosign": idpMetadataXML(t, testIdP.cert),
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			schema := "saml-schema-protocol-2.0.xsd"
			if strings.HasPrefix(name, "metadata") {
				schema = "saml-schema-metadata-2.0.xsd"
			}
			f := filepath.Join(dir, name+".xml")
			if err := os.WriteFile(f, doc, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "--noout", "--nonet", "--schema", filepath.Join(schemaDir, schema), f).CombinedOutput()
			if err != nil {
				t.Errorf("%s does not validate: %v\n%s", name, err, out)
			}
		})
	}
}

// BenchmarkRSASign2048 is the bare RSA-2048 PKCS#1 v1.5 SHA-256 signature
// that BenchmarkBuildResponse is compared with (issue 4's performance goal).
func BenchmarkRSASign2048(b *testing.B) {
	keys(b)
	digest := make([]byte, 32)
	for b.Loop() {
		if _, err := testIdP.key.Sign(nil, digest, crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
}
