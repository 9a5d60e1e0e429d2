package adminapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/httpx"
	"github.com/idcenter/idcenter/internal/saml"
)

// AppInput creates an application: a catalog template, the size of the
// signing key, and the application's fields (overriding the template's).
type AppInput struct {
	apps.CreateRequest
	// SPMetadata is the service provider's SAML metadata XML; its entity ID,
	// ACS and SLO endpoints, certificates and Name ID formats fill the
	// application (fields given explicitly win).
	SPMetadata string `json:"spMetadata,omitempty"`
	// SPMetadataURL is an https URL the server fetches the SP metadata
	// from (saml.FetchSPMetadata: https only, public addresses only, at most
	// 3 redirects, 10 s, 512 KiB). Not together with SPMetadata.
	SPMetadataURL string `json:"spMetadataUrl,omitempty"`
}

// MaxSPMetadataBytes bounds uploaded SP metadata.
const MaxSPMetadataBytes = 512 << 10

// AssignmentInput names the user or the group to assign (id or name).
type AssignmentInput struct {
	User  string `json:"user,omitempty"`
	Group string `json:"group,omitempty"`
}

// CertificateInput asks for a next signing certificate.
type CertificateInput struct {
	KeyBits int `json:"keyBits,omitempty"` // 2048 (default) or 3072
	// ActivateAt, when set, schedules the certificate to become the active
	// one at that time (RFC 3339, in the future).
	ActivateAt *time.Time `json:"activateAt,omitempty"`
}

// AppView is an application as the API returns it: the application, plus
// the IdP's read-only addresses for it (saml.IdPURLsFor). They are prefixed
// with idp because sloUrl and startUrl already name the service provider's
// SLO URL and the application start URL.
type AppView struct {
	apps.Application
	IdPEntityID    string `json:"idpEntityId"`
	IdPSSOURL      string `json:"idpSsoUrl"`
	IdPSLOURL      string `json:"idpSloUrl"`
	IdPMetadataURL string `json:"idpMetadataUrl"`
	IdPStartURL    string `json:"idpStartUrl"`
}

func (a *API) view(app apps.Application) AppView {
	u := saml.IdPURLsFor(a.BaseURL, app.ID)
	return AppView{Application: app, IdPEntityID: u.EntityID, IdPSSOURL: u.SSOURL, IdPSLOURL: u.SLOURL,
		IdPMetadataURL: u.MetadataURL, IdPStartURL: u.StartURL}
}

// readOnlyAppFields are ignored in a patch: the server owns them.
var readOnlyAppFields = []string{"id", "created", "lastModified", "version", "template", "managedBy",
	"idpEntityId", "idpSsoUrl", "idpSloUrl", "idpMetadataUrl", "idpStartUrl"}

// appRoutes are the application operations; table() includes them.
func (a *API) appRoutes() []route {
	return []route{
		{Method: "GET", Path: "/apps", ID: "listApps", Tag: "apps", Summary: "List SAML applications in name order", Access: accessRead,
			Status: 200, Resp: List[AppView]{}, h: a.listApps},
		{Method: "POST", Path: "/apps", ID: "createApp", Tag: "apps",
			Summary: "Create an application, from a catalog template or by hand; a signing certificate is generated", Access: accessAdmin,
			Body: AppInput{}, Status: 201, Resp: AppView{}, h: a.createApp},
		{Method: "GET", Path: "/apps/{app}", ID: "getApp", Tag: "apps", Summary: "Get an application by id or name", Access: accessRead,
			Status: 200, Resp: AppView{}, h: a.getApp},
		{Method: "PATCH", Path: "/apps/{app}", ID: "updateApp", Tag: "apps", Summary: "Update an application (JSON merge patch)", Access: accessAdmin,
			Headers: ifMatch, Body: apps.Application{}, BodyMedia: "application/merge-patch+json", Status: 200, Resp: AppView{}, h: a.updateApp},
		{Method: "DELETE", Path: "/apps/{app}", ID: "deleteApp", Tag: "apps", Summary: "Delete an application, its certificates and assignments", Access: accessAdmin,
			Status: 204, h: a.deleteApp},

		{Method: "GET", Path: "/apps/{app}/assignments", ID: "listAppAssignments", Tag: "apps", Summary: "List the users and groups assigned to an application", Access: accessRead,
			Status: 200, Resp: List[apps.Assignment]{}, h: a.listAppAssignments},
		{Method: "POST", Path: "/apps/{app}/assignments", ID: "assignApp", Tag: "apps", Summary: "Assign a user or a group to an application", Access: accessAdmin,
			Body: AssignmentInput{}, Status: 200, Resp: apps.Assignment{}, h: a.assignApp},
		{Method: "DELETE", Path: "/apps/{app}/assignments/{type}/{id}", ID: "unassignApp", Tag: "apps", Summary: "Remove a user's (type user) or group's (type group) assignment", Access: accessAdmin,
			Status: 204, h: a.unassignApp},

		{Method: "GET", Path: "/apps/{app}/certificates", ID: "listAppCertificates", Tag: "apps", Summary: "List an application's signing certificates (active, next, retired)", Access: accessRead,
			Status: 200, Resp: List[apps.Certificate]{}, h: a.listAppCertificates},
		{Method: "POST", Path: "/apps/{app}/certificates", ID: "addAppCertificate", Tag: "apps", Summary: "Generate the next signing certificate (published in metadata before it signs), optionally scheduled to activate at activateAt", Access: accessAdmin,
			Body: CertificateInput{}, Status: 201, Resp: apps.Certificate{}, h: a.addAppCertificate},
		{Method: "POST", Path: "/apps/{app}/certificates/{id}/activate", ID: "activateAppCertificate", Tag: "apps", Summary: "Sign with this certificate from now on; the previous one is retired", Access: accessAdmin,
			Status: 200, Resp: apps.Certificate{}, h: a.activateAppCertificate},
		{Method: "DELETE", Path: "/apps/{app}/certificates/{id}", ID: "removeAppCertificate", Tag: "apps", Summary: "Remove a next or retired certificate", Access: accessAdmin,
			Status: 204, h: a.removeAppCertificate},
		{Method: "GET", Path: "/apps/{app}/certificate.pem", ID: "getAppCertificatePEM", Tag: "apps", Summary: "Download the active signing certificate as PEM", Access: accessRead,
			Status: 200, Resp: "", RespMedia: "application/x-pem-file", h: a.appCertificatePEM},
		{Method: "GET", Path: "/apps/{app}/metadata", ID: "getAppMetadata", Tag: "apps", Summary: "Download the IdP metadata XML of an application (as served at its metadata URL)", Access: accessRead,
			Status: 200, Resp: "", RespMedia: "application/samlmetadata+xml", h: a.appMetadata},
		{Method: "GET", Path: "/apps/{app}/preview", ID: "previewApp", Tag: "apps", Summary: "Show the Name ID and attributes a user would receive, with warnings", Access: accessRead,
			Query: []param{{"user", "string", "the user (id or userName)"}}, Status: 200, Resp: PreviewView{}, h: a.previewApp},
		{Method: "GET", Path: "/apps/{app}/sso-events", ID: "listAppSSOEvents", Tag: "apps",
			Summary: "Recent SAML sign-in and sign-out events of an application, newest first, each failure with its reason in plain words and the setting that fixes it", Access: accessRead,
			Query: []param{{"limit", "integer", "how many events (default 50, at most 500)"}}, Status: 200, Resp: List[apps.SSOEvent]{}, h: a.appSSOEvents},

		{Method: "GET", Path: "/catalog", ID: "listCatalog", Tag: "apps", Summary: "List the application templates and their setup instructions", Access: accessRead,
			Status: 200, Resp: List[apps.Template]{}, h: a.listCatalog},
	}
}

func (a *API) listApps(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	list, err := a.Apps.List(r.Context(), actor)
	if err != nil {
		return err
	}
	views := make([]AppView, 0, len(list))
	for _, app := range list {
		views = append(views, a.view(app))
	}
	httpx.WriteJSON(w, 200, List[AppView]{Items: views})
	return nil
}

func (a *API) createApp(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	var in AppInput
	in.Enabled = true
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	in.ManagedBy, in.Metadata = "", nil
	if len(in.SPMetadata) > MaxSPMetadataBytes {
		return errs.Invalidf("spMetadata", "is larger than %d bytes", MaxSPMetadataBytes)
	}
	if in.SPMetadata != "" && in.SPMetadataURL != "" {
		return errs.Invalidf("spMetadataUrl", "give spMetadata or spMetadataUrl, not both")
	}
	if in.SPMetadata != "" {
		md, err := spMetadata([]byte(in.SPMetadata))
		if err != nil {
			return err
		}
		in.Metadata = md
	}
	if in.SPMetadataURL != "" {
		md, err := a.fetchSPMetadata(r.Context(), in.SPMetadataURL)
		if err != nil {
			return err
		}
		in.Metadata = md
	}
	app, err := a.Apps.Create(r.Context(), actor, in.CreateRequest)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/apps/"+app.ID)
	setETag(w, app.Version)
	httpx.WriteJSON(w, 201, a.view(app))
	return nil
}

func (a *API) getApp(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	app, err := a.Apps.Get(r.Context(), actor, r.PathValue("app"))
	if err != nil {
		return err
	}
	setETag(w, app.Version)
	httpx.WriteJSON(w, 200, a.view(app))
	return nil
}

func (a *API) updateApp(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	app, err := mergePatchUpdate(r, readOnlyAppFields, func(ver int64, mutate func(*apps.Application) error) (apps.Application, error) {
		return a.Apps.Update(r.Context(), actor, r.PathValue("app"), ver, mutate)
	})
	if err != nil {
		return err
	}
	setETag(w, app.Version)
	httpx.WriteJSON(w, 200, a.view(app))
	return nil
}

func (a *API) deleteApp(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	if err := a.Apps.Delete(r.Context(), actor, r.PathValue("app")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listAppAssignments(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	list, err := a.Apps.ListAssignments(r.Context(), actor, r.PathValue("app"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 200, List[apps.Assignment]{Items: nonNil(list)})
	return nil
}

func (a *API) assignApp(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	var in AssignmentInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	kind, key := apps.PrincipalUser, in.User
	switch {
	case in.User != "" && in.Group != "":
		return httpx.Badf("give either user or group, not both")
	case in.Group != "":
		kind, key = apps.PrincipalGroup, in.Group
	case in.User == "":
		return httpx.Badf(`give the user ({"user": "alice"}) or the group ({"group": "Developers"}) to assign`)
	}
	as, err := a.Apps.Assign(r.Context(), actor, r.PathValue("app"), kind, key)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 200, as)
	return nil
}

func (a *API) unassignApp(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	kind := r.PathValue("type")
	if kind != apps.PrincipalUser && kind != apps.PrincipalGroup {
		return httpx.Badf("assignment type must be user or group, got %q", kind)
	}
	if err := a.Apps.Unassign(r.Context(), actor, r.PathValue("app"), kind, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listAppCertificates(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	list, err := a.Apps.ListCertificates(r.Context(), actor, r.PathValue("app"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 200, List[apps.Certificate]{Items: nonNil(list)})
	return nil
}

func (a *API) addAppCertificate(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	var in CertificateInput
	// The body is optional: an empty POST asks for the default key size.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := httpx.DecodeJSON(r, &in); err != nil {
			return err
		}
	}
	var at time.Time
	if in.ActivateAt != nil {
		at = *in.ActivateAt
	}
	c, err := a.Apps.AddScheduledCertificate(r.Context(), actor, r.PathValue("app"), in.KeyBits, at)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 201, c)
	return nil
}

func (a *API) activateAppCertificate(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	c, err := a.Apps.ActivateCertificate(r.Context(), actor, r.PathValue("app"), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 200, c)
	return nil
}

func (a *API) removeAppCertificate(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	if err := a.Apps.RemoveCertificate(r.Context(), actor, r.PathValue("app"), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) appCertificatePEM(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	c, err := a.Apps.ActiveCertificate(r.Context(), actor, r.PathValue("app"))
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-pem-file")
	// The file name is built from the id alone: no user text in a header.
	h.Set("Content-Disposition", `attachment; filename="idcenter-app-`+c.AppID+`.pem"`)
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = io.WriteString(w, c.PEM)
	return nil
}

func (a *API) appMetadata(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	app, err := a.Apps.Get(r.Context(), actor, r.PathValue("app"))
	if err != nil {
		return err
	}
	published, err := a.Apps.PublishedCertificates(r.Context(), app.ID)
	if err != nil {
		return err
	}
	xml, err := saml.AppIdPMetadata(a.BaseURL, app, published)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/samlmetadata+xml")
	h.Set("Content-Disposition", `attachment; filename="idcenter-`+app.ID+`-metadata.xml"`)
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(xml)
	return nil
}

func (a *API) previewApp(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	user := strings.TrimSpace(r.URL.Query().Get("user"))
	if user == "" {
		return httpx.Badf("the user query parameter is required (?user=alice)")
	}
	p, err := a.Apps.Preview(r.Context(), actor, r.PathValue("app"), user)
	if err != nil {
		return err
	}
	app, err := a.Apps.Get(r.Context(), actor, p.AppID)
	if err != nil {
		return err
	}
	xml, err := a.previewXML(r.Context(), app, p)
	if err != nil {
		// The preview still answers; the reason is a warning.
		p.Warnings = append(p.Warnings, "the assertion could not be built: "+err.Error())
	}
	httpx.WriteJSON(w, 200, PreviewView{Preview: p, AssertionXML: string(xml)})
	return nil
}

func (a *API) listCatalog(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	httpx.WriteJSON(w, 200, List[apps.Template]{Items: apps.Catalog()})
	return nil
}

// fetchSPMetadata fetches SP metadata by URL (IDP-04) into the
// applications model.
func (a *API) fetchSPMetadata(ctx context.Context, rawURL string) (*apps.SPMetadata, error) {
	fetch := a.FetchSPMetadata
	if fetch == nil {
		fetch = func(ctx context.Context, u string) (*saml.SPMetadata, error) {
			return saml.FetchSPMetadata(ctx, u, saml.FetchOptions{})
		}
	}
	md, err := fetch(ctx, rawURL)
	if err != nil {
		return nil, errs.Invalidf("spMetadataUrl", "%v", err)
	}
	out, err := saml.AppMetadata(md)
	if err != nil {
		return nil, errs.Invalidf("spMetadataUrl", "%v", err)
	}
	return out, nil
}

// spMetadata parses untrusted SP metadata XML into the applications model.
func spMetadata(data []byte) (*apps.SPMetadata, error) {
	md, err := saml.ParseSPMetadata(data)
	if err != nil {
		return nil, errs.Invalidf("spMetadata", "%v", err)
	}
	out, err := saml.AppMetadata(md)
	if err != nil {
		return nil, errs.Invalidf("spMetadata", "%v", err)
	}
	return out, nil
}
