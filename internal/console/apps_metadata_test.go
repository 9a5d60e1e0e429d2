package console_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
)

// TestAppCertificateActivateAtAndMetadata: the "create next certificate"
// form schedules the activation (datetime-local, UTC); the edit form sets
// the metadata URL and metadata signing certificate, and the page shows the
// URL, the last refresh and the last refresh error.
func TestAppCertificateActivateAtAndMetadata(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		b := e.signedIn("root")
		loc := expectRedirect(t, b.post("/console/apps", url.Values{"template": {"custom"}, "displayName": {"Wiki"},
			"entityId": {"https://wiki.example.com/saml"}, "acs": {"https://wiki.example.com/saml/acs"}}), "/console/apps/")
		wiki := idFrom(loc, "/console/apps/")
		expect(t, b.get(loc), http.StatusOK, `id="activate-at" name="activateAt" type="datetime-local"`, "(UTC, optional")

		expect(t, b.post("/console/apps/"+wiki+"/certificates", url.Values{"activateAt": {"tomorrow"}}), http.StatusBadRequest,
			`id="activate-at-error"`, "YYYY-MM-DDTHH:MM, UTC")
		expect(t, b.post("/console/apps/"+wiki+"/certificates", url.Values{"activateAt": {"2001-01-01T00:00"}}), http.StatusBadRequest,
			`id="activate-at-error"`, "must be in the future")
		if cs, _ := e.app.Apps.ListCertificates(ctx, audit.System, wiki); len(cs) != 1 {
			t.Fatalf("a refused schedule added a certificate: %+v", cs)
		}
		at := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Minute)
		expectRedirect(t, b.post("/console/apps/"+wiki+"/certificates", url.Values{"activateAt": {at.Format("2006-01-02T15:04")}}),
			"/console/apps/"+wiki+"?done=cert-added")
		var next apps.Certificate
		cs, _ := e.app.Apps.ListCertificates(ctx, audit.System, wiki)
		for _, c := range cs {
			if c.Status == apps.CertNext {
				next = c
			}
		}
		if next.ActivateAt == nil || !next.ActivateAt.Equal(at) {
			t.Fatalf("next certificate scheduled at %v, want %v", next.ActivateAt, at)
		}

		// Metadata URL and signing certificate through the edit form.
		a, _ := e.app.Apps.Get(ctx, audit.System, wiki)
		v := url.Values{"version": {fmt.Sprint(a.Version)}, "displayName": {"Wiki"}, "entityId": {a.EntityID},
			"acs": {"https://wiki.example.com/saml/acs"}, "nameIdFormat": {a.NameIDFormat}, "nameId": {a.NameID},
			"spMetadataUrl": {"http://wiki.example.com/md"}, "spMetadataSigningCertificate": {"not a certificate"}}
		expect(t, b.post("/console/apps/"+wiki, v), http.StatusBadRequest, `id="sp-metadata-url-error"`, `id="sp-metadata-signing-certificate-error"`)
		v.Set("spMetadataUrl", "https://wiki.example.com/md")
		v.Set("spMetadataSigningCertificate", next.PEM)
		expectRedirect(t, b.post("/console/apps/"+wiki, v), "/console/apps/"+wiki+"?done=app-saved")
		a, _ = e.app.Apps.Get(ctx, audit.System, wiki)
		if a.SPMetadataURL != "https://wiki.example.com/md" || a.SPMetadataSigningCertificate == "" {
			t.Fatalf("metadata settings %q %q", a.SPMetadataURL, a.SPMetadataSigningCertificate)
		}
		expect(t, b.get("/console/apps/"+wiki), http.StatusOK, `id="metadata-refresh"`, "https://wiki.example.com/md",
			"not yet: within the next few minutes", `id="sp-metadata-url" name="spMetadataUrl" type="url"`)

		// A failed refresh shows its error; the settings stay.
		res, err := e.app.Apps.RefreshMetadata(ctx, func(context.Context, string) (*apps.SPMetadata, error) {
			return nil, errors.New("metadata fetch: wiki.example.com answered 503 Service Unavailable")
		}, time.Hour)
		if err != nil || res.Failed != 1 {
			t.Fatalf("refresh: %+v %v", res, err)
		}
		expect(t, b.get("/console/apps/"+wiki), http.StatusOK, `id="metadata-refresh-error"`, "answered 503 Service Unavailable",
			`<dd id="metadata-refreshed">never</dd>`)
	})
}
