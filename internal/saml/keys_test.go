package saml

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/url"
	"testing"
	"time"
)

func TestGenerateSigningKey(t *testing.T) {
	for _, bits := range []int{0, 3072} {
		key, cert, err := GenerateSigningKey(bits, 0, "idcenter test")
		if err != nil {
			t.Fatal(err)
		}
		want := bits
		if want == 0 {
			want = 2048
		}
		if key.N.BitLen() != want || cert.Subject.CommonName != "idcenter test" {
			t.Errorf("bits %d cn %q", key.N.BitLen(), cert.Subject.CommonName)
		}
		if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
			t.Errorf("not self-signed: %v", err)
		}
		if life := cert.NotAfter.Sub(time.Now()); life < DefaultCertValidity-time.Hour || life > DefaultCertValidity+time.Hour {
			t.Errorf("validity %s", life)
		}
		if !key.PublicKey.Equal(cert.PublicKey) {
			t.Error("certificate holds another key")
		}
	}
	_, cert, err := GenerateSigningKey(2048, 24*time.Hour, "short")
	if err != nil || cert.NotAfter.Sub(time.Now()) > 25*time.Hour {
		t.Errorf("custom validity: %v %v", cert.NotAfter, err)
	}
	for _, bits := range []int{1024, 2000, 8192} {
		if _, _, err := GenerateSigningKey(bits, 0, "x"); err == nil {
			t.Errorf("%d bits accepted", bits)
		}
	}
	if _, _, err := GenerateSigningKey(2048, 0, ""); err == nil {
		t.Error("empty common name accepted")
	}
}

func TestPEM(t *testing.T) {
	keys(t)
	c, err := DecodeCertificatePEM(EncodeCertificatePEM(testIdP.cert))
	if err != nil || !c.Equal(testIdP.cert) {
		t.Fatalf("cert round trip: %v", err)
	}
	both := append(EncodeCertificatePEM(testIdP.cert), EncodeCertificatePEM(testNext.cert)...)
	certs, err := DecodeCertificatesPEM(both)
	if err != nil || len(certs) != 2 || !certs[1].Equal(testNext.cert) {
		t.Errorf("two certs: %v", err)
	}
	for _, k := range []keyPair{testIdP, testEC} {
		p, err := EncodePrivateKeyPEM(k.key)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodePrivateKeyPEM(p)
		if err != nil {
			t.Fatal(err)
		}
		if !back.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k.key.Public()) {
			t.Errorf("%T key round trip", k.key)
		}
	}
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(testIdP.key.(*rsa.PrivateKey))})
	if _, err := DecodePrivateKeyPEM(pkcs1); err != nil {
		t.Errorf("PKCS#1: %v", err)
	}
	sec1, _ := x509.MarshalECPrivateKey(testEC.key.(*ecdsa.PrivateKey))
	if _, err := DecodePrivateKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})); err != nil {
		t.Errorf("SEC 1: %v", err)
	}
	for name, bad := range map[string][]byte{
		"empty":   nil,
		"garbage": []byte("not pem"),
		"other":   pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}}),
		"corrupt": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}),
	} {
		if _, err := DecodePrivateKeyPEM(bad); err == nil {
			t.Errorf("key %s accepted", name)
		}
		if _, err := DecodeCertificatePEM(bad); err == nil {
			t.Errorf("cert %s accepted", name)
		}
	}
	if _, err := DecodeCertificatePEM(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})); err == nil {
		t.Error("corrupt certificate accepted")
	}
}

func TestNewSigner(t *testing.T) {
	keys(t)
	if _, err := NewSigner(testIdP.key, testSP.cert); err == nil {
		t.Error("mismatched certificate accepted")
	}
	if _, err := NewSigner(nil, testIdP.cert); err == nil {
		t.Error("nil key accepted")
	}
	if _, err := NewSigner(testIdP.key); err == nil {
		t.Error("no certificate accepted")
	}
	s, err := NewSigner(testIdP.key, testIdP.cert, testNext.cert)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Certificate().Equal(testIdP.cert) || len(s.Chain()) != 2 {
		t.Error("chain")
	}
	ec, err := NewSigner(testEC.key, testEC.cert)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := BuildResponse(testParams(""), ec, SignOptions{SignAssertion: true}); err == nil {
		t.Error("XML signed with an ECDSA key")
	}
	// Redirect-binding signatures work with ECDSA (r‖s encoding).
	msg, _, err := BuildLogoutRequest(LogoutRequestParams{Issuer: idpEntityID, Destination: spSLOURL, NameID: NameID{Value: "a"}, Now: clock}, nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := RedirectURL(spSLOURL, "SAMLRequest", msg, "", ec)
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	r, err := ParseLogoutRequestRedirect(pu.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Verify([]*x509.Certificate{testEC.cert}, VerifyOptions{}); err != nil {
		t.Errorf("ECDSA redirect signature: %v", err)
	}
	if err := r.Verify([]*x509.Certificate{testIdP.cert}, VerifyOptions{}); !errors.Is(err, ErrSignature) {
		t.Errorf("ECDSA signature against RSA cert: %v", err)
	}
}
