package app_test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"strings"
	"testing"

	dsig "github.com/russellhaering/goxmldsig"

	"github.com/idcenter/idcenter/internal/saml"
	"github.com/idcenter/idcenter/internal/testenv"
)

// TestAppIdPAddresses: the API reports the IdP's addresses of an
// application (read-only, built from base_url), and serves the same IdP
// metadata XML as the application's metadata URL.
func TestAppIdPAddresses(t *testing.T) {
	run := func(t *testing.T, database string) {
		cfg := testConfig(t, database)
		cfg.BaseURL = "https://id.example.com/"
		s := start(t, cfg)
		created := s.must(201, "POST", "/api/v1/apps", map[string]any{
			"displayName": "Wiki", "entityId": "https://wiki.example.com/saml", "sloUrl": "https://wiki.example.com/slo",
			"acs": []any{map[string]any{"url": "https://wiki.example.com/acs"}},
		}).json(t)
		id := created["id"].(string)
		base := "https://id.example.com/saml/apps/" + id
		want := map[string]any{"idpEntityId": base, "idpSsoUrl": base + "/sso", "idpSloUrl": base + "/slo",
			"idpMetadataUrl": base + "/metadata", "idpStartUrl": base + "/start",
			"sloUrl": "https://wiki.example.com/slo"} // the SP's own SLO URL is unchanged
		check := func(what string, got map[string]any) {
			t.Helper()
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: %s = %v, want %v", what, k, got[k], v)
				}
			}
		}
		check("create", created)
		check("get", s.must(200, "GET", "/api/v1/apps/wiki", nil).json(t))
		items := s.must(200, "GET", "/api/v1/apps", nil).json(t)["items"].([]any)
		check("list", items[0].(map[string]any))

		// Read-only: a patch naming them is accepted and changes nothing
		// (a GET document can be sent back as a patch).
		p := s.must(200, "PATCH", "/api/v1/apps/wiki", map[string]any{"description": "Docs",
			"idpEntityId": "urn:evil", "idpSsoUrl": "https://evil.example/sso", "idpStartUrl": "x"}).json(t)
		check("patch", p)
		if p["description"] != "Docs" {
			t.Errorf("patch: %v", p)
		}

		// Metadata through the admin API is the document the metadata URL serves.
		api := s.must(200, "GET", "/api/v1/apps/wiki/metadata", nil)
		if ct := api.Header.Get("Content-Type"); ct != "application/samlmetadata+xml" {
			t.Errorf("metadata content type %q", ct)
		}
		if !bytes.Contains(api.Body, []byte(`entityID="`+base+`"`)) || !bytes.Contains(api.Body, []byte(`Location="`+base+`/sso"`)) ||
			!bytes.Contains(api.Body, []byte("X509Certificate")) {
			t.Errorf("metadata: %s", api.Body)
		}
		pub := s.do("GET", "/saml/apps/"+id+"/metadata", "", nil)
		if pub.Status != 200 || !bytes.Equal(pub.Body, api.Body) {
			t.Errorf("metadata URL (%d) differs from the API's:\n%s\n---\n%s", pub.Status, pub.Body, api.Body)
		}
		// The metadata is signed by the active certificate (signature checked
		// in depth in internal/saml; here: the served document verifies).
		active := s.must(200, "GET", "/api/v1/apps/wiki/certificate.pem", nil).Body
		verifyMetadata(t, api.Body, active)
		// During rotation both certificates are published, as signing
		// KeyDescriptors (the signature's KeyInfo carries the active one).
		s.must(201, "POST", "/api/v1/apps/wiki/certificates", nil)
		api = s.must(200, "GET", "/api/v1/apps/wiki/metadata", nil)
		if n := strings.Count(string(api.Body), "<md:KeyDescriptor use=\"signing\">"); n != 2 {
			t.Errorf("metadata during rotation: %d certificates\n%s", n, api.Body)
		}
		verifyMetadata(t, api.Body, active)
		if r := s.do("GET", "/api/v1/apps/nope/metadata", adminToken, nil); r.Status != 404 {
			t.Errorf("unknown app metadata: %d %s", r.Status, r.Body)
		}
		var v map[string]any
		if err := json.Unmarshal(s.must(200, "GET", "/api/v1/openapi.json", nil).Body, &v); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "") })
	t.Run("postgres", func(t *testing.T) { run(t, testenv.PostgresDSN(t)) })
}

// verifyMetadata checks the enveloped signature of IdP metadata with
// goxmldsig against the PEM certificate.
func verifyMetadata(t *testing.T, md, certPEM []byte) {
	t.Helper()
	cert, err := saml.DecodeCertificatePEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := saml.ParseUntrusted(md, saml.MaxMetadataBytes)
	if err != nil {
		t.Fatal(err)
	}
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	if _, err := ctx.Validate(doc.Root()); err != nil {
		t.Errorf("metadata signature does not verify: %v\n%s", err, md)
	}
}
