package saml

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // SHA-1 signatures are built to test their refusal
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"math/big"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

const (
	idpEntityID = "https://idc.example.test/saml/apps/app1"
	ssoURL      = "https://idc.example.test/saml/apps/app1/sso"
	sloURL      = "https://idc.example.test/saml/apps/app1/slo"
	spEntityID  = "https://sp.example.com/saml/metadata"
	acsURL      = "https://sp.example.com/saml/acs"
	spSLOURL    = "https://sp.example.com/saml/slo"
)

type keyPair struct {
	key  crypto.Signer
	cert *x509.Certificate
}

var (
	keysOnce sync.Once
	testIdP  keyPair // the IdP's signing key
	testSP   keyPair // the SP's signing/encryption key
	testEvil keyPair // another key, same subject as the SP
	testEC   keyPair // an SP with a P-256 key
	testNext keyPair // the IdP's next key (rotation)
)

func keys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		gen := func(cn string) keyPair {
			k, c, err := GenerateSigningKey(2048, 0, cn)
			if err != nil {
				panic(err)
			}
			return keyPair{k, c}
		}
		testIdP = gen("idcenter app1")
		testSP = gen("sp.example.com")
		testEvil = gen("sp.example.com")
		testNext = gen("idcenter app1 next")
		ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "ec sp"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ek.PublicKey, ek)
		if err != nil {
			panic(err)
		}
		c, _ := x509.ParseCertificate(der)
		testEC = keyPair{ek, c}
	})
}

func idpSigner(t testing.TB) *Signer {
	t.Helper()
	keys(t)
	s, err := NewSigner(testIdP.key, testIdP.cert)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fixedNow is the test clock: now, to the second, so certificates are valid.
var fixedNow = time.Now().UTC().Truncate(time.Second)

func clock() time.Time { return fixedNow }

// reqSpec describes an AuthnRequest an SP would send.
type reqSpec struct {
	tag          string // AuthnRequest (default) or LogoutRequest
	id           string
	version      string
	issuer       string
	noIssuer     bool
	destination  string
	noDest       bool
	instant      time.Time
	acs          string
	acsIndex     string
	binding      string
	forceAuthn   string
	isPassive    string
	nameIDPolicy string // Format
	authnCtx     []string
	comparison   string
	notOnOrAfter time.Time
	nameID       string
	sessionIdx   []string
	mutate       func(root *etree.Element)
}

func (s reqSpec) element() *etree.Element {
	tag := s.tag
	if tag == "" {
		tag = "AuthnRequest"
	}
	root := etree.NewElement("samlp:" + tag)
	root.CreateAttr("xmlns:samlp", NSProtocol)
	root.CreateAttr("xmlns:saml", NSAssertion)
	id := s.id
	if id == "" {
		id = "_req0123456789abcdef"
	}
	root.CreateAttr("ID", id)
	v := s.version
	if v == "" {
		v = "2.0"
	}
	root.CreateAttr("Version", v)
	inst := s.instant
	if inst.IsZero() {
		inst = fixedNow
	}
	root.CreateAttr("IssueInstant", inst.UTC().Format(time.RFC3339))
	if !s.noDest {
		d := s.destination
		if d == "" {
			d = ssoURL
			if tag == "LogoutRequest" {
				d = sloURL
			}
		}
		root.CreateAttr("Destination", d)
	}
	if s.acs != "" {
		root.CreateAttr("AssertionConsumerServiceURL", s.acs)
	}
	if s.acsIndex != "" {
		root.CreateAttr("AssertionConsumerServiceIndex", s.acsIndex)
	}
	if s.binding != "" {
		root.CreateAttr("ProtocolBinding", s.binding)
	}
	if s.forceAuthn != "" {
		root.CreateAttr("ForceAuthn", s.forceAuthn)
	}
	if s.isPassive != "" {
		root.CreateAttr("IsPassive", s.isPassive)
	}
	if !s.notOnOrAfter.IsZero() {
		root.CreateAttr("NotOnOrAfter", s.notOnOrAfter.UTC().Format(time.RFC3339))
	}
	if !s.noIssuer {
		iss := s.issuer
		if iss == "" {
			iss = spEntityID
		}
		root.CreateElement("saml:Issuer").SetText(iss)
	}
	if tag == "LogoutRequest" {
		n := s.nameID
		if n == "" {
			n = "alice@example.com"
		}
		nid := root.CreateElement("saml:NameID")
		nid.CreateAttr("Format", NameIDFormatEmailAddress)
		nid.SetText(n)
		for _, si := range s.sessionIdx {
			root.CreateElement("samlp:SessionIndex").SetText(si)
		}
	}
	if s.nameIDPolicy != "" {
		p := root.CreateElement("samlp:NameIDPolicy")
		p.CreateAttr("Format", s.nameIDPolicy)
		p.CreateAttr("AllowCreate", "true")
	}
	if len(s.authnCtx) > 0 {
		r := root.CreateElement("samlp:RequestedAuthnContext")
		if s.comparison != "" {
			r.CreateAttr("Comparison", s.comparison)
		}
		for _, c := range s.authnCtx {
			r.CreateElement("saml:AuthnContextClassRef").SetText(c)
		}
	}
	if s.mutate != nil {
		s.mutate(root)
	}
	return root
}

func (s reqSpec) xml() []byte { return serialize(s.element()) }

func serialize(el *etree.Element) []byte {
	doc := etree.NewDocument()
	doc.SetRoot(el)
	b, err := doc.WriteToBytes()
	if err != nil {
		panic(err)
	}
	return b
}

// spSignXML signs el as an SP would for the POST binding, with goxmldsig
// directly (not through this package's Signer), placing the signature
// after the Issuer.
func spSignXML(t testing.TB, el *etree.Element, kp keyPair, method string) []byte {
	t.Helper()
	ctx, err := dsig.NewSigningContext(kp.key, [][]byte{kp.cert.Raw})
	if err != nil {
		t.Fatal(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if method != "" {
		if err := ctx.SetSignatureMethod(method); err != nil {
			t.Fatal(err)
		}
	}
	sig, err := ctx.ConstructSignature(el, true)
	if err != nil {
		t.Fatal(err)
	}
	el.InsertChildAt(1, sig) // after Issuer
	return serialize(el)
}

func postValue(xml []byte) string { return base64.StdEncoding.EncodeToString(xml) }

func deflateB64(t testing.TB, xml []byte) string {
	t.Helper()
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(xml)
	w.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// redirectQuery builds a Redirect-binding query in spec order, signing it
// with kp and sigAlg when kp.key is set.
func redirectQuery(t testing.TB, param string, xml []byte, relayState string, kp keyPair, sigAlg string) string {
	t.Helper()
	q := param + "=" + url.QueryEscape(deflateB64(t, xml))
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	if kp.key == nil {
		return q
	}
	q += "&SigAlg=" + url.QueryEscape(sigAlg)
	sig := rawSign(t, kp, sigAlg, []byte(q))
	return q + "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
}

func rawSign(t testing.TB, kp keyPair, sigAlg string, octets []byte) []byte {
	t.Helper()
	var h crypto.Hash
	var digest []byte
	switch sigAlg {
	case SigAlgRSASHA1, SigAlgECDSASHA1:
		s := sha1.Sum(octets)
		h, digest = crypto.SHA1, s[:]
	default:
		s := sha256.Sum256(octets)
		h, digest = crypto.SHA256, s[:]
	}
	switch k := kp.key.(type) {
	case *rsa.PrivateKey:
		sig, err := rsa.SignPKCS1v15(rand.Reader, k, h, digest)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	case *ecdsa.PrivateKey:
		sig, err := ecdsa.SignASN1(rand.Reader, k, digest)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	t.Fatalf("key %T", kp.key)
	return nil
}

func xmlUnmarshal(b []byte, v any) error { return xml.Unmarshal(b, v) }
