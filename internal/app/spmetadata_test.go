package app_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/saml"
)

// TestCreateAppFromSPMetadata: an application created from SP metadata takes
// its entity ID, ACS and SLO endpoints and signing certificate; bad
// metadata (DTD, garbage, oversized) is a 400 naming spMetadata and creates
// nothing.
func TestCreateAppFromSPMetadata(t *testing.T) {
	md, err := os.ReadFile("../saml/testdata/sp-metadata.xml")
	if err != nil {
		t.Fatal(err)
	}
	forEngine(t, func(t *testing.T, s *server) {
		app := s.must(201, "POST", "/api/v1/apps", map[string]any{"displayName": "Example SP", "spMetadata": string(md)}).json(t)
		if app["entityId"] != "https://sp.example.com/saml/metadata" {
			t.Fatalf("entity id: %v", app["entityId"])
		}
		body, _ := s.do("GET", "/api/v1/apps/Example%20SP", adminToken, nil).Body, 0
		for _, want := range []string{"https://sp.example.com/saml/acs", "https://sp.example.com/saml/slo"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("app lacks %s: %s", want, body)
			}
		}
		for name, bad := range map[string]string{
			"doctype":   `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&e;"/>`,
			"garbage":   "not xml at all",
			"oversized": "<x>" + strings.Repeat("a", 600<<10) + "</x>",
		} {
			r := s.do("POST", "/api/v1/apps", adminToken, map[string]any{"displayName": "Bad " + name, "spMetadata": bad})
			if r.Status != 400 && r.Status != 413 || (r.Status == 400 && !strings.Contains(string(r.Body), "spMetadata")) {
				t.Errorf("%s metadata: %d %s", name, r.Status, r.Body)
			}
			if g := s.do("GET", "/api/v1/apps/Bad%20"+name, adminToken, nil); g.Status != 404 {
				t.Errorf("%s: app created anyway (%d)", name, g.Status)
			}
		}
	})
}

// TestCreateAppFromSPMetadataURL (IDP-04): spMetadataUrl is fetched by the
// server; a loopback address is refused at dial time, http is refused, and
// with loopback allowed (tests only) the metadata fills the application.
func TestCreateAppFromSPMetadataURL(t *testing.T) {
	md, err := os.ReadFile("../saml/testdata/sp-metadata.xml")
	if err != nil {
		t.Fatal(err)
	}
	sp := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(md) }))
	defer sp.Close()
	s := start(t, testConfig(t, ""))
	for name, u := range map[string]string{"loopback": sp.URL + "/md", "http": "http://" + sp.Listener.Addr().String() + "/md"} {
		r := s.do("POST", "/api/v1/apps", adminToken, map[string]any{"displayName": "Bad " + name, "spMetadataUrl": u})
		if r.Status != 400 || !strings.Contains(string(r.Body), "spMetadataUrl") {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	r := s.do("POST", "/api/v1/apps", adminToken, map[string]any{"displayName": "Both", "spMetadataUrl": sp.URL, "spMetadata": string(md)})
	if r.Status != 400 {
		t.Errorf("both: %d %s", r.Status, r.Body)
	}
	tr := sp.Client().Transport.(*http.Transport).Clone()
	tr.DialContext = saml.NewMetadataDialer(true).DialContext
	s.app.API.FetchSPMetadata = func(ctx context.Context, u string) (*saml.SPMetadata, error) {
		return saml.FetchSPMetadata(ctx, u, saml.FetchOptions{Transport: tr})
	}
	app := s.must(201, "POST", "/api/v1/apps", map[string]any{"displayName": "Example SP", "spMetadataUrl": sp.URL + "/md"}).json(t)
	if app["entityId"] != "https://sp.example.com/saml/metadata" {
		t.Fatalf("entity id: %v", app["entityId"])
	}
}

// TestSPMetadataRefresh: an application created from spMetadataUrl
// remembers the URL; RefreshMetadata (run by the janitor) applies changed
// metadata once the interval has passed, and on failure keeps the settings,
// shows the error in GET /api/v1/apps/{app} and counts it in /metrics. A
// metadata signing certificate makes unsigned metadata a 400.
func TestSPMetadataRefresh(t *testing.T) {
	md, err := os.ReadFile("../saml/testdata/sp-metadata.xml")
	if err != nil {
		t.Fatal(err)
	}
	forEngine(t, func(t *testing.T, s *server) {
		var mu sync.Mutex
		served := md
		sp := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			w.Write(served)
		}))
		defer sp.Close()
		serve := func(b []byte) { mu.Lock(); served = b; mu.Unlock() }
		tr := sp.Client().Transport.(*http.Transport).Clone()
		tr.DialContext = saml.NewMetadataDialer(true).DialContext
		s.app.API.FetchSPMetadata = func(ctx context.Context, u string) (*saml.SPMetadata, error) {
			return saml.FetchSPMetadata(ctx, u, saml.FetchOptions{Transport: tr})
		}
		s.app.FetchSPMetadata = func(ctx context.Context, u string) (*apps.SPMetadata, error) {
			m, err := saml.FetchSPMetadata(ctx, u, saml.FetchOptions{Transport: tr})
			if err != nil {
				return nil, err
			}
			return saml.AppMetadata(m)
		}
		clock := time.Now().UTC()
		s.app.Apps.Now = func() time.Time { return clock }
		ctx := context.Background()

		// A signing certificate for the metadata: this unsigned document is refused.
		r := s.do("POST", "/api/v1/apps", adminToken, map[string]any{"displayName": "Signed SP", "spMetadataUrl": sp.URL + "/md",
			"spMetadataSigningCertificate": testCertPEM(t)})
		if r.Status != 400 || !strings.Contains(string(r.Body), "spMetadataUrl") || !strings.Contains(string(r.Body), "not signed") {
			t.Errorf("unsigned metadata with a signing certificate: %d %s", r.Status, r.Body)
		}

		app := s.must(201, "POST", "/api/v1/apps", map[string]any{"displayName": "Example SP", "spMetadataUrl": sp.URL + "/md"}).json(t)
		if app["spMetadataUrl"] != sp.URL+"/md" || app["metadataRefresh"] == nil {
			t.Fatalf("created: %v", app)
		}
		if res, err := s.app.RefreshMetadata(ctx); err != nil || res != (apps.RefreshResult{}) {
			t.Fatalf("refresh right after creation: %+v %v", res, err)
		}

		serve(bytes.ReplaceAll(md, []byte("https://sp.example.com/saml/acs"), []byte("https://sp.example.com/saml/acs2")))
		clock = clock.Add(25 * time.Hour)
		if res, err := s.app.RefreshMetadata(ctx); err != nil || res.Changed != 1 {
			t.Fatalf("refresh: %+v %v", res, err)
		}
		got := s.must(200, "GET", "/api/v1/apps/Example%20SP", nil)
		if !strings.Contains(string(got.Body), "https://sp.example.com/saml/acs2") || strings.Contains(string(got.Body), `"error"`) {
			t.Errorf("after refresh: %s", got.Body)
		}

		serve([]byte("<not metadata"))
		clock = clock.Add(25 * time.Hour)
		if res, err := s.app.RefreshMetadata(ctx); err != nil || res.Failed != 1 {
			t.Fatalf("failing refresh: %+v %v", res, err)
		}
		got = s.must(200, "GET", "/api/v1/apps/Example%20SP", nil)
		v := got.json(t)
		mr, _ := v["metadataRefresh"].(map[string]any)
		if e, _ := mr["error"].(string); e == "" || !strings.Contains(string(got.Body), "https://sp.example.com/saml/acs2") {
			t.Errorf("failed refresh: %s", got.Body)
		}
		if m := string(s.do("GET", "/metrics", "", nil).Body); !strings.Contains(m, "idcenter_app_metadata_refresh_failures_total 1") {
			t.Errorf("metrics lack the failure:\n%s", m)
		}
	})
}

// testCertPEM is a certificate that signed nothing.
func testCertPEM(t *testing.T) string {
	t.Helper()
	_, c, err := saml.GenerateSigningKey(2048, 0, "metadata signer")
	if err != nil {
		t.Fatal(err)
	}
	return string(saml.EncodeCertificatePEM(c))
}
