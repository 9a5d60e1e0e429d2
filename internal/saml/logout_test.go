package saml

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"
)

func gosamlSP(t testing.TB) *saml2.SAMLServiceProvider {
	keys(t)
	return &saml2.SAMLServiceProvider{
		IdentityProviderSSOURL:      ssoURL,
		IdentityProviderSLOURL:      sloURL,
		IdentityProviderIssuer:      idpEntityID,
		AssertionConsumerServiceURL: acsURL,
		ServiceProviderSLOURL:       spSLOURL,
		ServiceProviderIssuer:       spEntityID,
		AudienceURI:                 spEntityID,
		SignAuthnRequests:           true,
		SPSigningKeyStore:           dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{testSP.cert.Raw}, PrivateKey: testSP.key}),
		IDPCertificateStore:         &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{testIdP.cert}},
		Clock:                       dsig.NewFakeClockAt(fixedNow),
	}
}

func TestParseLogoutRequest(t *testing.T) {
	keys(t)
	spec := reqSpec{tag: "LogoutRequest", nameID: "alice@example.com", sessionIdx: []string{"_s1", "_s2"}, notOnOrAfter: fixedNow.Add(time.Minute)}
	sp := []*x509.Certificate{testSP.cert}
	cases := []struct {
		name       string
		parse      func() (*LogoutRequest, error)
		wantVerify error
	}{
		{"redirect signed", func() (*LogoutRequest, error) {
			return ParseLogoutRequestRedirect(redirectQuery(t, "SAMLRequest", spec.xml(), "rs", testSP, SigAlgRSASHA256))
		}, nil},
		{"redirect unsigned", func() (*LogoutRequest, error) {
			return ParseLogoutRequestRedirect(redirectQuery(t, "SAMLRequest", spec.xml(), "rs", keyPair{}, ""))
		}, ErrUnsigned},
		{"redirect other key", func() (*LogoutRequest, error) {
			return ParseLogoutRequestRedirect(redirectQuery(t, "SAMLRequest", spec.xml(), "rs", testEvil, SigAlgRSASHA256))
		}, ErrSignature},
		{"redirect sha1", func() (*LogoutRequest, error) {
			return ParseLogoutRequestRedirect(redirectQuery(t, "SAMLRequest", spec.xml(), "rs", testSP, SigAlgRSASHA1))
		}, ErrAlgorithm},
		{"post signed", func() (*LogoutRequest, error) {
			return ParseLogoutRequestPOST(postValue(spSignXML(t, spec.element(), testSP, "")), "rs")
		}, nil},
		{"post unsigned", func() (*LogoutRequest, error) { return ParseLogoutRequestPOST(postValue(spec.xml()), "rs") }, ErrUnsigned},
		{"post NameID edited", func() (*LogoutRequest, error) {
			x := strings.Replace(string(spSignXML(t, spec.element(), testSP, "")), "alice@example.com", "bob@example.com", 1)
			return ParseLogoutRequestPOST(postValue([]byte(x)), "rs")
		}, ErrSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.parse()
			if err != nil {
				t.Fatal(err)
			}
			if r.Issuer != spEntityID || r.Destination != sloURL || r.RelayState != "rs" || len(r.SessionIndexes) != 2 || r.SessionIndexes[1] != "_s2" ||
				r.NameID.Format != NameIDFormatEmailAddress || !r.NotOnOrAfter.Equal(fixedNow.Add(time.Minute)) {
				t.Errorf("parsed %+v", r)
			}
			err = r.Verify(sp, VerifyOptions{})
			if tc.wantVerify == nil && err != nil || tc.wantVerify != nil && !errors.Is(err, tc.wantVerify) {
				t.Errorf("Verify: %v, want %v", err, tc.wantVerify)
			}
			if tc.wantVerify == nil && r.NameID.Value != "alice@example.com" {
				t.Errorf("NameID %q", r.NameID.Value)
			}
			if err := r.Check(Checks{Destination: sloURL, Now: clock}); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

func TestLogoutRequestCheckAndMalformed(t *testing.T) {
	check := func(spec reqSpec) error {
		spec.tag = "LogoutRequest"
		r, err := ParseLogoutRequestPOST(postValue(spec.xml()), "")
		if err != nil {
			return err
		}
		return r.Check(Checks{Destination: sloURL, Now: clock})
	}
	for _, tc := range []struct {
		name string
		spec reqSpec
		want error
	}{
		{"expired NotOnOrAfter", reqSpec{notOnOrAfter: fixedNow.Add(-time.Second)}, ErrExpired},
		{"NotOnOrAfter now", reqSpec{notOnOrAfter: fixedNow}, ErrExpired},
		{"wrong destination", reqSpec{destination: "https://other.example/slo"}, ErrDestination},
		{"stale", reqSpec{instant: fixedNow.Add(-time.Hour)}, ErrStale},
		{"version", reqSpec{version: "1.0"}, ErrVersion},
	} {
		if err := check(tc.spec); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	for name, spec := range map[string]reqSpec{
		"no NameID": {tag: "LogoutRequest", mutate: func(r *etree.Element) { r.RemoveChild(r.SelectElement("saml:NameID")) }},
		"EncryptedID": {tag: "LogoutRequest", mutate: func(r *etree.Element) {
			r.RemoveChild(r.SelectElement("saml:NameID"))
			r.CreateElement("saml:EncryptedID")
		}},
		"two NameIDs":  {tag: "LogoutRequest", mutate: func(r *etree.Element) { r.CreateElement("saml:NameID").SetText("x") }},
		"empty NameID": {tag: "LogoutRequest", mutate: func(r *etree.Element) { r.SelectElement("saml:NameID").SetText("") }},
		"AuthnRequest": {},
		"no issuer":    {tag: "LogoutRequest", noIssuer: true},
	} {
		if _, err := ParseLogoutRequestPOST(postValue(spec.xml()), ""); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestLogoutFromGosaml2(t *testing.T) {
	sp := gosamlSP(t)
	doc, err := sp.BuildLogoutRequestDocument("alice@example.com", "_sess1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := doc.WriteToBytes()
	r, err := ParseLogoutRequestPOST(base64.StdEncoding.EncodeToString(b), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Verify([]*x509.Certificate{testSP.cert}, VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
	if r.NameID.Value != "alice@example.com" || len(r.SessionIndexes) != 1 || r.SessionIndexes[0] != "_sess1" {
		t.Errorf("%+v", r)
	}
	doc, _ = sp.BuildLogoutRequestDocumentNoSig("alice@example.com", "_sess1")
	u, err := sp.BuildLogoutURLRedirect("relay", doc)
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	r, err = ParseLogoutRequestRedirect(pu.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Verify([]*x509.Certificate{testSP.cert}, VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestBuildLogoutResponse(t *testing.T) {
	signer := idpSigner(t)
	sp := gosamlSP(t)
	p := LogoutResponseParams{Issuer: idpEntityID, Destination: spSLOURL, InResponseTo: "_l1", Now: clock}
	t.Run("post signed, gosaml2 accepts", func(t *testing.T) {
		out, err := BuildLogoutResponse(p, signer)
		if err != nil {
			t.Fatal(err)
		}
		lr, err := sp.ValidateEncodedLogoutResponsePOST(base64.StdEncoding.EncodeToString(out))
		if err != nil {
			t.Fatal(err)
		}
		if lr.InResponseTo != "_l1" || !lr.SignatureValidated {
			t.Errorf("%+v", lr)
		}
		bad := strings.Replace(string(out), `InResponseTo="_l1"`, `InResponseTo="_l2"`, 1)
		if _, err := sp.ValidateEncodedLogoutResponsePOST(base64.StdEncoding.EncodeToString([]byte(bad))); err == nil {
			t.Error("gosaml2 accepted a tampered LogoutResponse")
		}
		own, err := ParseLogoutResponsePOST(base64.StdEncoding.EncodeToString(out), "")
		if err != nil {
			t.Fatal(err)
		}
		if err := own.Verify([]*x509.Certificate{testIdP.cert}, VerifyOptions{}); err != nil {
			t.Fatal(err)
		}
		if own.Status.Code != StatusSuccess || own.InResponseTo != "_l1" {
			t.Errorf("%+v", own)
		}
	})
	t.Run("redirect", func(t *testing.T) {
		pp := p
		pp.Status = Status{Code: StatusResponder, SubCode: StatusPartialLogout, Message: "one app did not answer"}
		out, err := BuildLogoutResponse(pp, nil)
		if err != nil {
			t.Fatal(err)
		}
		u, err := RedirectURL(spSLOURL+"?a=b", "SAMLResponse", out, "state / 1", signer)
		if err != nil {
			t.Fatal(err)
		}
		pu, _ := url.Parse(u)
		if pu.Query().Get("a") != "b" || pu.Query().Get("SigAlg") != SigAlgRSASHA256 {
			t.Errorf("URL %s", u)
		}
		r, err := ParseLogoutResponseRedirect(pu.RawQuery)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Verify([]*x509.Certificate{testIdP.cert}, VerifyOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := r.Check(Checks{Destination: spSLOURL, Now: clock}); err != nil {
			t.Error(err)
		}
		if r.RelayState != "state / 1" || r.Status != pp.Status {
			t.Errorf("%+v", r)
		}
		if err := r.Verify([]*x509.Certificate{testSP.cert}, VerifyOptions{}); !errors.Is(err, ErrSignature) {
			t.Errorf("wrong cert: %v", err)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		if _, err := BuildLogoutResponse(LogoutResponseParams{Issuer: idpEntityID, Destination: "javascript:alert(1)"}, signer); err == nil {
			t.Error("javascript destination")
		}
		if _, err := BuildLogoutResponse(LogoutResponseParams{Destination: spSLOURL}, signer); err == nil {
			t.Error("no issuer")
		}
		if _, err := RedirectURL(spSLOURL, "Evil", nil, "", nil); err == nil {
			t.Error("bad param")
		}
		if _, err := RedirectURL("data:text/html,x", "SAMLResponse", []byte("<x/>"), "", nil); err == nil {
			t.Error("data: URL")
		}
	})
}

func TestBuildLogoutRequest(t *testing.T) {
	signer := idpSigner(t)
	sp := gosamlSP(t)
	p := LogoutRequestParams{
		Issuer: idpEntityID, Destination: spSLOURL, Now: clock,
		NameID:         NameID{Value: "alice@example.com", Format: NameIDFormatEmailAddress, SPNameQualifier: spEntityID},
		SessionIndexes: []string{"_sess1"},
	}
	out, id, err := BuildLogoutRequest(p, signer)
	if err != nil {
		t.Fatal(err)
	}
	lr, err := sp.ValidateEncodedLogoutRequestPOST(base64.StdEncoding.EncodeToString(out))
	if err != nil {
		t.Fatalf("gosaml2: %v", err)
	}
	if lr.ID != id || lr.NameID.Value != "alice@example.com" || !lr.SignatureValidated {
		t.Errorf("%+v", lr)
	}
	own, err := ParseLogoutRequestPOST(base64.StdEncoding.EncodeToString(out), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := own.Verify([]*x509.Certificate{testIdP.cert}, VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := own.Check(Checks{Destination: spSLOURL, Now: clock}); err != nil {
		t.Error(err)
	}
	if own.NameID != p.NameID || len(own.SessionIndexes) != 1 || own.NotOnOrAfter.IsZero() {
		t.Errorf("%+v", own)
	}
	unsigned, _, err := BuildLogoutRequest(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := RedirectURL(spSLOURL, "SAMLRequest", unsigned, "", signer)
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	r, err := ParseLogoutRequestRedirect(pu.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Verify([]*x509.Certificate{testIdP.cert}, VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := BuildLogoutRequest(LogoutRequestParams{Issuer: idpEntityID, Destination: spSLOURL}, signer); err == nil {
		t.Error("built a LogoutRequest without NameID")
	}
}
