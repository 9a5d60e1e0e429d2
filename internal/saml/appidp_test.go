package saml

import (
	"bytes"
	"crypto/x509"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewsaml "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/testenv"
)

const appBase = "https://idc.example.test"

func publishedKeys(t *testing.T, at time.Time) apps.PublishedKeys {
	t.Helper()
	keys(t)
	active := apps.Certificate{ID: "c1", Status: apps.CertActive, PEM: string(EncodeCertificatePEM(testIdP.cert))}
	next := apps.Certificate{ID: "c2", Status: apps.CertNext, PEM: string(EncodeCertificatePEM(testNext.cert))}
	return apps.PublishedKeys{Certificates: []apps.Certificate{active, next}, Signer: testIdP.key, Active: active, At: at}
}

var metadataApp = apps.Application{ID: "app1", NameIDFormat: apps.NameIDEmail, RequireSignedRequests: true}

// verifyGo checks an enveloped signature on the document's root with goxmldsig.
func verifyGo(t *testing.T, doc []byte, cert *x509.Certificate) error {
	t.Helper()
	d, err := ParseUntrusted(doc, MaxMetadataBytes)
	if err != nil {
		t.Fatal(err)
	}
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	_, err = ctx.Validate(d.Root())
	return err
}

// TestAppIdPMetadataSigned: the per-application IdP metadata is signed with
// the active key (goxmldsig and xmlsec1 verify it; a tampered copy or
// another certificate does not), publishes both certificates, carries
// validUntil (7 to 8 days ahead, at midnight UTC) and cacheDuration, and is
// the same bytes all day long.
func TestAppIdPMetadataSigned(t *testing.T) {
	day := time.Date(2030, 5, 17, 0, 0, 0, 0, time.UTC)
	out, err := AppIdPMetadata(appBase, metadataApp, publishedKeys(t, day.Add(3*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyGo(t, out, testIdP.cert); err != nil {
		t.Fatalf("signature does not verify: %v\n%s", err, out)
	}
	if err := verifyGo(t, out, testNext.cert); err == nil {
		t.Error("verifies with the next certificate, which did not sign")
	}
	tampered := bytes.Replace(out, []byte(appBase+"/saml/apps/app1/sso"), []byte("https://evil.example/sso"), 1)
	if bytes.Equal(tampered, out) {
		t.Fatal("tampering changed nothing")
	}
	if err := verifyGo(t, tampered, testIdP.cert); err == nil {
		t.Error("tampered metadata verifies")
	}

	var ed crewsaml.EntityDescriptor
	if err := xml.Unmarshal(out, &ed); err != nil {
		t.Fatal(err)
	}
	if want := day.Add(8 * 24 * time.Hour); !ed.ValidUntil.Equal(want) {
		t.Errorf("validUntil %v, want %v", ed.ValidUntil, want)
	}
	if ed.CacheDuration != 24*time.Hour {
		t.Errorf("cacheDuration %v", ed.CacheDuration)
	}
	if idp := ed.IDPSSODescriptors[0]; len(idp.KeyDescriptors) != 2 || ed.EntityID != appBase+"/saml/apps/app1" ||
		idp.WantAuthnRequestsSigned == nil || !*idp.WantAuthnRequestsSigned {
		t.Errorf("crewjam reads %+v", ed)
	}

	// Deterministic within a UTC day; validUntil moves with the day.
	again, err := AppIdPMetadata(appBase, metadataApp, publishedKeys(t, day.Add(23*time.Hour)))
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("same day, different document (%v)", err)
	}
	tomorrow, err := AppIdPMetadata(appBase, metadataApp, publishedKeys(t, day.Add(25*time.Hour)))
	if err != nil || bytes.Equal(tomorrow, out) || !bytes.Contains(tomorrow, []byte(`validUntil="2030-05-26T00:00:00Z"`)) {
		t.Errorf("next day: %v\n%s", err, tomorrow)
	}

	noKey := publishedKeys(t, day)
	noKey.Signer = nil
	if _, err := AppIdPMetadata(appBase, metadataApp, noKey); err == nil {
		t.Error("built metadata without a signing key")
	}
	wrongKey := publishedKeys(t, day)
	wrongKey.Signer = testNext.key
	if _, err := AppIdPMetadata(appBase, metadataApp, wrongKey); err == nil {
		t.Error("signed with a key that is not the active certificate's")
	}

	t.Run("xmlsec1", func(t *testing.T) {
		bin, err := exec.LookPath("xmlsec1")
		if err != nil {
			testenv.SkipOrFail(t, "xmlsec1 not installed (apt-get install xmlsec1)")
			return
		}
		dir := t.TempDir()
		write := func(name string, b []byte) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}
		active, next := write("active.pem", EncodeCertificatePEM(testIdP.cert)), write("next.pem", EncodeCertificatePEM(testNext.cert))
		for _, c := range []struct {
			name, cert string
			doc        []byte
			ok         bool
		}{{"signed", active, out, true}, {"tampered", active, tampered, false}, {"other certificate", next, out, false}} {
			res, err := exec.Command(bin, "--verify", "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor",
				"--pubkey-cert-pem", c.cert, write(strings.ReplaceAll(c.name, " ", "-")+".xml", c.doc)).CombinedOutput()
			if (err == nil) != c.ok {
				t.Errorf("xmlsec1 %s: ok=%v, want %v\n%s", c.name, err == nil, c.ok, res)
			}
		}
	})
}

func TestIdPMetadataValidUntil(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2030, 1, 1, 0, 0, 1, 0, time.UTC),
		time.Date(2030, 1, 1, 23, 59, 59, 999, time.UTC),
		time.Date(2030, 1, 1, 12, 0, 0, 0, time.FixedZone("x", 5*3600)),
	} {
		v := IdPMetadataValidUntil(at)
		if d := v.Sub(at); d < IdPMetadataValidity || d >= IdPMetadataValidity+24*time.Hour || !v.Equal(v.Truncate(24*time.Hour)) || v.Location() != time.UTC {
			t.Errorf("%v: validUntil %v (%v ahead)", at, v, d)
		}
	}
}

// signedSPMetadata returns the test SP metadata with an ID on el (the root,
// or its one EntityDescriptor when wrap is set) signed by kp.
func signedSPMetadata(t *testing.T, kp keyPair, wrap bool) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/sp-metadata.xml")
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	ed := doc.Root()
	ed.CreateAttr("ID", "_spmd1")
	ctx, err := dsig.NewSigningContext(kp.key, [][]byte{kp.cert.Raw})
	if err != nil {
		t.Fatal(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	sig, err := ctx.ConstructSignature(ed, true)
	if err != nil {
		t.Fatal(err)
	}
	ed.InsertChildAt(0, sig)
	if wrap {
		root := etree.NewElement("md:EntitiesDescriptor")
		root.CreateAttr("xmlns:md", NSMetadata)
		doc.RemoveChild(ed)
		root.AddChild(ed)
		doc.SetRoot(root)
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSPMetadataVerifySignature (IDP-04): SP metadata signed by the
// configured certificate verifies, on the root or on the one
// EntityDescriptor of an EntitiesDescriptor; unsigned metadata, another
// signer and a change after signing are refused.
func TestSPMetadataVerifySignature(t *testing.T) {
	keys(t)
	for _, wrap := range []bool{false, true} {
		signed := signedSPMetadata(t, testSP, wrap)
		md, err := ParseSPMetadata(signed)
		if err != nil {
			t.Fatal(err)
		}
		if err := md.VerifySignature(testSP.cert); err != nil {
			t.Errorf("wrap=%v: signed metadata refused: %v", wrap, err)
		}
		if err := md.VerifySignature(testEvil.cert); err == nil || !strings.Contains(err.Error(), "not signed by the metadata signing certificate") {
			t.Errorf("wrap=%v: another certificate: %v", wrap, err)
		}
		tampered, err := ParseSPMetadata(bytes.Replace(signed, []byte("https://sp.example.com/saml/acs"), []byte("https://sp.example.com/saml/evil"), 1))
		if err != nil {
			t.Fatal(err)
		}
		if err := tampered.VerifySignature(testSP.cert); err == nil {
			t.Errorf("wrap=%v: metadata changed after signing verifies", wrap)
		}
	}
	raw, _ := os.ReadFile("testdata/sp-metadata.xml")
	unsigned, err := ParseSPMetadata(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := unsigned.VerifySignature(testSP.cert); err == nil || !strings.Contains(err.Error(), "not signed") {
		t.Errorf("unsigned: %v", err)
	}
	if err := (&SPMetadata{}).VerifySignature(testSP.cert); err == nil {
		t.Error("metadata without its document verifies")
	}

	// Through the applications model: the check takes the PEM certificate.
	md, _ := ParseSPMetadata(signedSPMetadata(t, testSP, false))
	md.SourceURL = "https://sp.example.com/md"
	am, err := AppMetadata(md)
	if err != nil {
		t.Fatal(err)
	}
	if am.URL != md.SourceURL || !am.ValidUntil.Equal(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)) || am.VerifySignature == nil {
		t.Fatalf("AppMetadata: %+v", am)
	}
	if err := am.VerifySignature(string(EncodeCertificatePEM(testSP.cert))); err != nil {
		t.Errorf("PEM check: %v", err)
	}
	if err := am.VerifySignature(string(EncodeCertificatePEM(testEvil.cert))); err == nil {
		t.Error("PEM check with another certificate passed")
	}
	if err := am.VerifySignature("not a certificate"); err == nil {
		t.Error("PEM check with garbage passed")
	}
}

// TestAWSMetadataDoesNotExpire: AWS IAM copies validUntil into the SAML
// provider's expiry, so the AWS application's metadata carries none (but is
// still signed); other applications keep theirs.
func TestAWSMetadataDoesNotExpire(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	aws := metadataApp
	aws.Template = apps.TemplateAWSAccount
	out, err := AppIdPMetadata(appBase, aws, publishedKeys(t, at))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "validUntil") || !strings.Contains(string(out), "SignatureValue") {
		t.Errorf("AWS metadata:\n%s", out)
	}
	other, err := AppIdPMetadata(appBase, metadataApp, publishedKeys(t, at))
	if err != nil || !strings.Contains(string(other), "validUntil") {
		t.Errorf("other metadata lost validUntil: %v", err)
	}
}
