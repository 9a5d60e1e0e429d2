package declarative

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/saml"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

// TestApplySPMetadataURL: sp_metadata_url is fetched (over https, before
// the transaction) and fills the application like sp_metadata; the
// application remembers the URL, export writes it back, and applying the
// export changes nothing. A URL together with sp_metadata, a failed fetch
// and expired metadata are problems naming sp_metadata_url.
func TestApplySPMetadataURL(t *testing.T) {
	expired := strings.Replace(spMetadataXML, `entityID="https://meta.example.com/sp"`,
		`entityID="https://meta.example.com/sp" validUntil="2001-01-01T00:00:00Z"`, 1)
	sp := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/md":
			w.Write([]byte(spMetadataXML))
		case "/expired":
			w.Write([]byte(expired))
		default:
			http.NotFound(w, r)
		}
	}))
	defer sp.Close()
	tr := sp.Client().Transport.(*http.Transport).Clone()
	tr.DialContext = saml.NewMetadataDialer(true).DialContext
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		var fetched []string
		e.svc.FetchSPMetadata = func(ctx context.Context, u string) (*apps.SPMetadata, error) {
			fetched = append(fetched, u)
			md, err := saml.FetchSPMetadata(ctx, u, saml.FetchOptions{Transport: tr})
			if err != nil {
				return nil, err
			}
			return saml.AppMetadata(md)
		}
		doc := func(app string) string { return baseDoc + "\napplications:\n" + app }
		for name, c := range map[string]struct{ app, want string }{
			"both":    {"  - name: Both\n    sp_metadata_url: " + sp.URL + "/md\n    sp_metadata: '<x/>'\n", "applications[0].sp_metadata_url: give one of"},
			"404":     {"  - name: Missing\n    sp_metadata_url: " + sp.URL + "/nope\n", "applications[0].sp_metadata_url: metadata fetch"},
			"expired": {"  - name: Expired\n    sp_metadata_url: " + sp.URL + "/expired\n", "applications[0].sp_metadata_url: has expired: its validUntil (2001-01-01T00:00:00Z)"},
			"http":    {"  - name: Plain\n    sp_metadata_url: http://127.0.0.1:1/md\n", "applications[0].sp_metadata_url: metadata fetch: only https"},
		} {
			_, err := e.applyFile(doc(c.app), Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v, want %q", name, err, c.want)
			}
		}
		if names := e.appNames(); len(names) != 0 {
			t.Fatalf("refused documents created %v", names)
		}

		fetched = nil
		plan, err := e.applyFile(doc("  - name: Remote\n    sp_metadata_url: "+sp.URL+"/md\n"), Options{})
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if len(fetched) != 1 || fetched[0] != sp.URL+"/md" {
			t.Errorf("fetched %v", fetched)
		}
		ch := appChanges(plan)
		if len(ch) != 1 || ch[0].Fields["sp_metadata_url"].To != sp.URL+"/md" || ch[0].Fields["entity_id"].To != "https://meta.example.com/sp" {
			t.Errorf("plan: %+v", ch)
		}
		a := e.app("Remote")
		if a.SPMetadataURL != sp.URL+"/md" || a.EntityID != "https://meta.example.com/sp" || a.MetadataRefresh == nil {
			t.Errorf("application: url %q entity %q refresh %+v", a.SPMetadataURL, a.EntityID, a.MetadataRefresh)
		}
		out := e.export()
		if !strings.Contains(out, "sp_metadata_url: "+sp.URL+"/md") {
			t.Fatalf("export lacks the URL:\n%s", out)
		}
		d, err := Parse([]byte(out))
		if err != nil {
			t.Fatal(err)
		}
		if plan, err := e.svc.Apply(e.ctx, e.actor, d, Options{}); err != nil || len(plan.Changes) != 0 {
			t.Errorf("applying the export: %v %v", err, plan)
		}
		// Leaving the URL out of the document stops the refresh.
		if _, err := e.applyFile(doc("  - name: Remote\n    entity_id: https://meta.example.com/sp\n    acs_urls: [https://meta.example.com/acs]\n"), Options{}); err != nil {
			t.Fatal(err)
		}
		if a := e.app("Remote"); a.SPMetadataURL != "" || a.MetadataRefresh != nil {
			t.Errorf("URL kept: %q %+v", a.SPMetadataURL, a.MetadataRefresh)
		}
	})
}
