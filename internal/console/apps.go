package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/httpx"
	"github.com/idcenter/idcenter/internal/saml"
	"github.com/idcenter/idcenter/internal/web"
)

// maxSPMetadataBytes bounds pasted SP metadata (as the admin API does).
const maxSPMetadataBytes = 512 << 10

// blankAttrRows is how many empty attribute rows the edit form offers.
const blankAttrRows = 3

func appPath(id string) string { return "/console/apps/" + url.PathEscape(id) }

// --- list ---

type appRow struct {
	App        apps.Application
	CertExpiry time.Time
}

// appsPage is the list page, or (New) the create page: first the catalog
// to pick a template from, then (Template set) the form.
type appsPage struct {
	frame
	Apps []appRow

	New      bool
	Catalog  []apps.Template
	Template *apps.Template
	Form     newAppForm
	Errors   map[string]string // per input id
}

func (c *Console) listApps(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	ctx := r.Context()
	list, err := c.Apps.List(ctx, actor)
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	d := appsPage{frame: newFrame("Applications")}
	for _, a := range list {
		row := appRow{App: a}
		if cert, err := c.Apps.ActiveCertificate(ctx, actor, a.ID); err == nil {
			row.CertExpiry = cert.NotAfter
		} else if !errors.Is(err, errs.ErrNotFound) {
			c.Fail(w, r, err)
			return
		}
		d.Apps = append(d.Apps, row)
	}
	c.render(w, r, http.StatusOK, "console_apps", web.Page{Title: "Applications", Data: d})
}

// --- create ---

// newAppForm is what the create form posts.
type newAppForm struct {
	Template, DisplayName, EntityID, ACS, SPMetadata string
}

func acsFieldsInto(m map[string]field, input string, n int) {
	m["acs"] = field{input, "ACS URLs"}
	for i := 0; i < n; i++ {
		f := field{input, fmt.Sprintf("ACS URL %d", i+1)}
		for _, s := range []string{"url", "binding", "index"} {
			m[fmt.Sprintf("acs[%d].%s", i, s)] = f
		}
	}
}

func newAppFields(acs int) map[string]field {
	m := map[string]field{
		"template":    {"template", "Template"},
		"displayName": {"display-name", "Name"},
		"entityId":    {"entity-id", "Entity ID"},
		"spMetadata":  {"sp-metadata", "SP metadata"},
	}
	acsFieldsInto(m, "acs", acs)
	return m
}

func (c *Console) newApp(w http.ResponseWriter, r *http.Request, _ audit.Actor) {
	d := appsPage{frame: newFrame("Applications"), New: true, Catalog: apps.Catalog()}
	if id := query(r, "template"); id != "" {
		t, ok := apps.LookupTemplate(id)
		if !ok {
			c.Fail(w, r, errs.ErrNotFound)
			return
		}
		d.Template, d.Form.Template = &t, t.ID
		if t.ID != apps.TemplateCustom {
			d.Form.DisplayName = t.Name
		}
	}
	c.render(w, r, http.StatusOK, "console_apps", web.Page{Title: "New application", Data: d})
}

// lines splits a textarea into its trimmed, non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (c *Console) createApp(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	f := newAppForm{Template: r.PostFormValue("template"), DisplayName: r.PostFormValue("displayName"),
		EntityID: r.PostFormValue("entityId"), ACS: r.PostFormValue("acs"), SPMetadata: r.PostFormValue("spMetadata")}
	t, ok := apps.LookupTemplate(strings.TrimSpace(f.Template))
	if !ok {
		c.Fail(w, r, httpx.Badf("the form's template field is not valid"))
		return
	}
	req := apps.CreateRequest{Template: t.ID, Application: apps.Application{DisplayName: f.DisplayName, EntityID: f.EntityID, Enabled: true}}
	urls := lines(f.ACS)
	for _, u := range urls {
		req.ACS = append(req.ACS, apps.ACS{URL: u, Binding: apps.BindingPOST})
	}
	var err error
	switch md := strings.TrimSpace(f.SPMetadata); {
	case len(md) > maxSPMetadataBytes:
		err = errs.Invalidf("spMetadata", "is larger than %d bytes", maxSPMetadataBytes)
	case md != "":
		req.Metadata, err = spMetadata([]byte(md))
	}
	var a apps.Application
	if err == nil {
		a, err = c.Apps.Create(r.Context(), actor, req)
	}
	if fields, general, status, ok := formError(err, newAppFields(max(len(urls), 20))); ok {
		c.render(w, r, status, "console_apps", web.Page{Title: "New application", Error: general,
			Data: appsPage{frame: newFrame("Applications"), New: true, Catalog: apps.Catalog(), Template: &t, Form: f, Errors: fields}})
		return
	}
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, appPath(a.ID), "app-created")
}

// spMetadata parses untrusted SP metadata XML into the applications model.
func spMetadata(data []byte) (*apps.SPMetadata, error) {
	md, err := saml.ParseSPMetadata(data)
	if err != nil {
		return nil, errs.Invalidf("spMetadata", "could not be read: %v", err)
	}
	out, err := saml.AppMetadata(md)
	if err != nil {
		return nil, errs.Invalidf("spMetadata", "could not be used: %v", err)
	}
	return out, nil
}

// --- show and edit ---

type attrRow struct {
	Name, Value, Format string
	N                   int // the row's number, for labels
}

// appForm is what the edit form posts.
type appForm struct {
	DisplayName, Description, EntityID, ACS, SLOURL, StartURL, RelayState, SessionDuration string
	NameIDFormat, NameID                                                                   string
	// Signing and encryption: SigningCertificates holds the SP's PEM
	// certificates, one after another.
	SigningCertificates, EncryptionCertificate, SigningMode, SLOBinding string
	RequireSignedRequests, EncryptAssertions                            bool
	// SPMetadataURL and SPMetadataSigningCertificate: the periodic refresh
	// of the SP's metadata, and the certificate that must have signed it.
	SPMetadataURL, SPMetadataSigningCertificate string
	Attrs                                       []attrRow
	Version                                     int64
}

func formFromApp(a apps.Application) appForm {
	f := appForm{DisplayName: a.DisplayName, Description: a.Description, EntityID: a.EntityID, SLOURL: a.SLOURL,
		StartURL: a.StartURL, RelayState: a.DefaultRelayState, SessionDuration: a.SessionDuration,
		NameIDFormat: a.NameIDFormat, NameID: a.NameID, Version: a.Version,
		SigningCertificates: strings.Join(a.SigningCertificates, "\n"), EncryptionCertificate: a.EncryptionCertificate,
		SigningMode: a.SigningMode, SLOBinding: a.SLOBinding,
		RequireSignedRequests: a.RequireSignedRequests, EncryptAssertions: a.EncryptAssertions,
		SPMetadataURL: a.SPMetadataURL, SPMetadataSigningCertificate: a.SPMetadataSigningCertificate}
	var urls []string
	for _, e := range a.ACS {
		urls = append(urls, e.URL)
	}
	f.ACS = strings.Join(urls, "\n")
	for _, at := range a.Attributes {
		f.Attrs = append(f.Attrs, attrRow{Name: at.Name, Value: at.Value, Format: at.NameFormat})
	}
	for i := 0; i < blankAttrRows; i++ {
		// A new row starts with the API's default name format.
		f.Attrs = append(f.Attrs, attrRow{Format: apps.NameFormatUnspecified})
	}
	return f
}

func parseAppForm(r *http.Request) (appForm, error) {
	f := appForm{DisplayName: r.PostFormValue("displayName"), Description: r.PostFormValue("description"),
		EntityID: r.PostFormValue("entityId"), ACS: r.PostFormValue("acs"), SLOURL: r.PostFormValue("sloUrl"),
		StartURL: r.PostFormValue("startUrl"), RelayState: r.PostFormValue("relayState"),
		SessionDuration: r.PostFormValue("sessionDuration"), NameIDFormat: r.PostFormValue("nameIdFormat"),
		NameID: r.PostFormValue("nameId"), SigningCertificates: r.PostFormValue("signingCertificates"),
		EncryptionCertificate: r.PostFormValue("encryptionCertificate"), SigningMode: r.PostFormValue("signingMode"),
		SLOBinding: r.PostFormValue("sloBinding"), RequireSignedRequests: r.PostFormValue("requireSignedRequests") != "",
		EncryptAssertions: r.PostFormValue("encryptAssertions") != "",
		SPMetadataURL:     r.PostFormValue("spMetadataUrl"), SPMetadataSigningCertificate: r.PostFormValue("spMetadataSigningCertificate")}
	names, values, formats := r.PostForm["attrName"], r.PostForm["attrValue"], r.PostForm["attrFormat"]
	if len(values) != len(names) || len(formats) != len(names) || len(names) > 200 {
		return f, httpx.Badf("the form's attribute rows are not valid")
	}
	for i := range names {
		f.Attrs = append(f.Attrs, attrRow{Name: names[i], Value: values[i], Format: formats[i]})
	}
	v := r.PostFormValue("version")
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return f, httpx.Badf("the form's version field is not valid")
	}
	f.Version = n
	return f, nil
}

// appFields maps the service's field names to the edit form's inputs; rows
// maps the index of a stored attribute to its row in the form.
func appFields(acs, certs int, rows []int) map[string]field {
	m := map[string]field{
		"displayName":       {"display-name", "Name"},
		"description":       {"description", "Description"},
		"entityId":          {"entity-id", "Entity ID"},
		"sloUrl":            {"slo-url", "SLO URL"},
		"sloBinding":        {"slo-binding", "SLO binding"},
		"startUrl":          {"start-url", "Start URL"},
		"defaultRelayState": {"relay-state", "Relay state"},
		"sessionDuration":   {"session-duration", "Session duration"},
		"nameIdFormat":      {"name-id-format", "Name ID format"},
		"nameId":            {"name-id", "Name ID"},
		"attributes":        {"attributes", "Attributes"},

		"signingCertificates":   {"signing-certificates", "SP signing certificates"},
		"requireSignedRequests": {"require-signed-requests", "Require signed requests"},
		"encryptionCertificate": {"encryption-certificate", "SP encryption certificate"},
		"encryptAssertions":     {"encrypt-assertions", "Encrypt assertions"},
		"signingMode":           {"signing-mode", "Signing mode"},

		"spMetadataUrl":                {"sp-metadata-url", "Metadata URL"},
		"spMetadataSigningCertificate": {"sp-metadata-signing-certificate", "Metadata signing certificate"},
	}
	acsFieldsInto(m, "acs", acs)
	for i := 0; i < certs; i++ {
		m[fmt.Sprintf("signingCertificates[%d]", i)] = field{"signing-certificates", fmt.Sprintf("SP signing certificate %d", i+1)}
	}
	for i, row := range rows {
		for _, s := range []struct{ key, id, label string }{{"name", "attr-name-%d", "Attribute name"}, {"value", "attr-value-%d", "Attribute value"}, {"nameFormat", "attr-format-%d", "Attribute format"}} {
			m[fmt.Sprintf("attributes[%d].%s", i, s.key)] = field{fmt.Sprintf(s.id, row), fmt.Sprintf("%s %d", s.label, row+1)}
		}
	}
	return m
}

type appPage struct {
	frame
	App          apps.Application
	Form         appForm
	Errors       map[string]string // per input id
	IdP          saml.AppIdPURLs
	Assignments  []apps.Assignment
	Certificates []apps.Certificate
	HasNext      bool
	Template     string // the template's name

	AssignType, AssignName string

	PreviewUser   string
	Preview       *apps.Preview
	PreviewXML    string // the SAML Response the preview's user would receive
	NameIDFormats []string
	NameFormats   []string
	SigningModes  []option
	SLOBindings   []option

	Events []apps.SSOEvent // the recent SSO and SLO events, newest first
}

// option is one choice of a select.
type option struct{ Value, Label string }

// recentSSOEvents is how many SSO and SLO events the application page lists.
const recentSSOEvents = 20

// pemBlocks splits a textarea of PEM certificates into one string per
// certificate; text after the last END line is kept as one more entry (the
// service reports it).
func pemBlocks(s string) []string {
	const end = "-----END CERTIFICATE-----"
	var out []string
	for {
		i := strings.Index(s, end)
		if i < 0 {
			break
		}
		if b := strings.TrimSpace(s[:i+len(end)]); b != "" {
			out = append(out, b)
		}
		s = s[i+len(end):]
	}
	if s = strings.TrimSpace(s); s != "" {
		out = append(out, s)
	}
	return out
}

// ssoEvents returns the last n SSO and SLO events of the application,
// explained.
func (c *Console) ssoEvents(ctx context.Context, actor audit.Actor, appID string, n int) ([]apps.SSOEvent, error) {
	var out []apps.SSOEvent
	f := audit.Filter{Target: appID, Action: "saml.*", Limit: n}
	for len(out) < n {
		evs, next, err := c.Audit.List(ctx, actor, f)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			// Target matches names too: keep this application's events only.
			if e.TargetType != "application" || e.TargetID != appID || !apps.IsSSOAction(e.Action) {
				continue
			}
			if len(out) < n {
				out = append(out, apps.ExplainSSOEvent(e))
			}
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	return out, nil
}

// previewXML builds the SAML Response a preview's user would receive, as
// the admin API's preview does: signed with the active key in the
// application's signing mode, never encrypted, IDs and instants examples.
func (c *Console) previewXML(ctx context.Context, app apps.Application, p apps.Preview) (string, error) {
	key, cert, err := c.Apps.SigningKey(ctx, app.ID)
	if err != nil {
		return "", err
	}
	out, err := saml.AppPreviewResponse(c.BaseURL, app, p, key, cert.PEM)
	return string(out), err
}

func (c *Console) showApp(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	c.renderApp(w, r, actor, http.StatusOK, nil, nil, "", "", "")
}

// renderApp shows the application named by the path with its edit form
// (form, or the stored values when nil), assignments, certificates, the
// preview asked for by ?preview= and errors.
func (c *Console) renderApp(w http.ResponseWriter, r *http.Request, actor audit.Actor, status int, form *appForm,
	fields map[string]string, errText, assignType, assignName string) {
	ctx := r.Context()
	a, err := c.Apps.Get(ctx, actor, r.PathValue("id"))
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	d := appPage{frame: newFrame("Applications"), App: a, Form: formFromApp(a), Errors: fields,
		IdP: saml.IdPURLsFor(c.BaseURL, a.ID), AssignType: assignType, AssignName: assignName,
		NameIDFormats: []string{apps.NameIDEmail, apps.NameIDPersistent, apps.NameIDTransient, apps.NameIDUnspecified},
		NameFormats:   []string{apps.NameFormatBasic, apps.NameFormatURI, apps.NameFormatUnspecified},
		SigningModes: []option{{apps.SignBoth, "Response and assertion"}, {apps.SignResponse, "Response only"},
			{apps.SignAssertion, "Assertion only"}},
		SLOBindings: []option{{apps.BindingRedirect, "HTTP-Redirect"}, {apps.BindingPOST, "HTTP-POST"}}}
	if form != nil {
		d.Form = *form
	}
	d.Form.Attrs = append([]attrRow(nil), d.Form.Attrs...)
	for i := range d.Form.Attrs {
		d.Form.Attrs[i].N = i + 1
	}
	if d.AssignType == "" {
		d.AssignType = apps.PrincipalGroup
	}
	if t, ok := apps.LookupTemplate(a.Template); ok {
		d.Template = t.Name
	}
	if d.Assignments, err = c.Apps.ListAssignments(ctx, actor, a.ID); err != nil {
		c.Fail(w, r, err)
		return
	}
	if d.Certificates, err = c.Apps.ListCertificates(ctx, actor, a.ID); err != nil {
		c.Fail(w, r, err)
		return
	}
	for _, cert := range d.Certificates {
		if cert.Status == apps.CertNext {
			d.HasNext = true
		}
	}
	if u := query(r, "preview"); u != "" && form == nil && fields == nil {
		d.PreviewUser = u
		p, err := c.Apps.Preview(ctx, actor, a.ID, u)
		var inv *errs.Invalid
		switch {
		case errors.Is(err, errs.ErrNotFound):
			text := "There is no user " + quoted(u) + "."
			d.Errors, errText, status = map[string]string{"preview-user": text}, text, http.StatusBadRequest
		case errors.As(err, &inv):
			errText, status = "The preview failed: "+sentence(err.Error()), http.StatusBadRequest
		case err != nil:
			c.Fail(w, r, err)
			return
		default:
			d.Preview = &p
			if d.PreviewXML, err = c.previewXML(ctx, a, p); err != nil {
				c.Fail(w, r, err)
				return
			}
		}
	}
	if d.Events, err = c.ssoEvents(ctx, actor, a.ID, recentSSOEvents); err != nil {
		c.Fail(w, r, err)
		return
	}
	c.render(w, r, status, "console_app", web.Page{Title: a.DisplayName, Error: errText, Data: d})
}

func (c *Console) updateApp(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	f, err := parseAppForm(r)
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	urls := lines(f.ACS)
	spCerts := pemBlocks(f.SigningCertificates)
	var attrs []apps.Attribute
	var rows []int
	for i, row := range f.Attrs {
		if strings.TrimSpace(row.Name) == "" && strings.TrimSpace(row.Value) == "" {
			continue
		}
		attrs = append(attrs, apps.Attribute{Name: row.Name, Value: row.Value, NameFormat: row.Format})
		rows = append(rows, i)
	}
	a, err := c.Apps.Update(r.Context(), actor, r.PathValue("id"), f.Version, func(a *apps.Application) error {
		a.DisplayName, a.Description, a.EntityID = f.DisplayName, f.Description, f.EntityID
		// Keep the index and default flag of the URLs that stay; new ones get
		// fresh indexes.
		next := 0
		for _, e := range a.ACS {
			next = max(next, e.Index+1)
		}
		acs := make([]apps.ACS, 0, len(urls))
		for _, u := range urls {
			if e, ok := a.ACSByURL(u); ok {
				acs = append(acs, e)
				continue
			}
			acs = append(acs, apps.ACS{URL: u, Binding: apps.BindingPOST, Index: next})
			next++
		}
		a.ACS = acs
		a.SLOURL, a.SLOBinding = f.SLOURL, f.SLOBinding
		a.SigningCertificates, a.RequireSignedRequests = spCerts, f.RequireSignedRequests
		a.EncryptionCertificate, a.EncryptAssertions = f.EncryptionCertificate, f.EncryptAssertions
		a.SigningMode = f.SigningMode
		a.SPMetadataURL, a.SPMetadataSigningCertificate = f.SPMetadataURL, f.SPMetadataSigningCertificate
		a.StartURL, a.DefaultRelayState, a.SessionDuration = f.StartURL, f.RelayState, f.SessionDuration
		if f.NameIDFormat != a.NameIDFormat && strings.TrimSpace(f.NameID) == a.NameID {
			// A new format with the old expression: let the format's default apply.
			a.NameID = ""
		} else {
			a.NameID = f.NameID
		}
		a.NameIDFormat = f.NameIDFormat
		a.Attributes = attrs
		return nil
	})
	if fields, general, status, ok := formError(err, appFields(max(len(urls), 20), max(len(spCerts), 20), rows)); ok {
		c.renderApp(w, r, actor, status, &f, fields, general, "", "")
		return
	}
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, appPath(a.ID), "app-saved")
}

func (c *Console) setAppEnabled(enabled bool) handler {
	return func(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
		a, err := c.Apps.Update(r.Context(), actor, r.PathValue("id"), 0, func(a *apps.Application) error {
			a.Enabled = enabled
			return nil
		})
		if _, general, status, ok := formError(err, nil); ok {
			c.renderApp(w, r, actor, status, nil, nil, general, "", "")
			return
		}
		if err != nil {
			c.Fail(w, r, err)
			return
		}
		done := "app-disabled"
		if enabled {
			done = "app-enabled"
		}
		redirect(w, r, appPath(a.ID), done)
	}
}

// --- delete ---

func (c *Console) confirmDeleteApp(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	a, err := c.Apps.Get(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "console_confirm", web.Page{Title: "Delete application", Data: confirmPage{frame: newFrame("Applications"),
		Kind: "application", Name: a.DisplayName, Action: appPath(a.ID) + "/delete", Cancel: appPath(a.ID)}})
}

func (c *Console) deleteApp(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	if err := c.Apps.Delete(r.Context(), actor, r.PathValue("id")); err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, "/console/apps", "app-deleted")
}

// --- assignments ---

func (c *Console) assignApp(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	kind := r.PostFormValue("type")
	if kind != apps.PrincipalUser && kind != apps.PrincipalGroup {
		c.Fail(w, r, httpx.Badf("the form's type field is not valid"))
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" || len(name) > 1024 {
		text := "Enter the name of the " + kind + " to assign."
		c.renderApp(w, r, actor, http.StatusBadRequest, nil, map[string]string{"assign-name": text}, text, kind, name)
		return
	}
	_, err := c.Apps.Assign(r.Context(), actor, r.PathValue("id"), kind, name)
	var inv *errs.Invalid
	if errors.As(err, &inv) {
		text := "There is no " + kind + " " + quoted(name) + "."
		c.renderApp(w, r, actor, http.StatusBadRequest, nil, map[string]string{"assign-name": text}, text, kind, name)
		return
	}
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, appPath(r.PathValue("id")), "assigned")
}

func (c *Console) unassignApp(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	kind := r.PathValue("type")
	if kind != apps.PrincipalUser && kind != apps.PrincipalGroup {
		c.Fail(w, r, errs.ErrNotFound)
		return
	}
	if err := c.Apps.Unassign(r.Context(), actor, r.PathValue("id"), kind, r.PathValue("principal")); err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, appPath(r.PathValue("id")), "unassigned")
}

// --- certificates ---

// certResult finishes a certificate action: a refused change shows on the
// page, anything else fails.
func (c *Console) certResult(w http.ResponseWriter, r *http.Request, actor audit.Actor, err error, done string) {
	if _, general, status, ok := formError(err, nil); ok {
		c.renderApp(w, r, actor, status, nil, nil, general, "", "")
		return
	}
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, appPath(r.PathValue("id")), done)
}

// activateAtLayout is what a datetime-local input posts; the console
// states that the time is UTC.
const activateAtLayout = "2006-01-02T15:04"

// addAppCertificate creates the next certificate, scheduled to activate at
// the optional activateAt (UTC), as `apps certificates add --activate-at`.
func (c *Console) addAppCertificate(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	var at time.Time
	var err error
	if v := strings.TrimSpace(r.PostFormValue("activateAt")); v != "" {
		if at, err = time.ParseInLocation(activateAtLayout, v, time.UTC); err != nil {
			if at, err = time.ParseInLocation(activateAtLayout+":05", v, time.UTC); err != nil {
				err = errs.Invalidf("activateAt", "must be a date and time (YYYY-MM-DDTHH:MM, UTC)")
			}
		}
	}
	if err == nil {
		_, err = c.Apps.AddScheduledCertificate(r.Context(), actor, r.PathValue("id"), 0, at)
	}
	if fields, general, status, ok := formError(err, map[string]field{"activateAt": {"activate-at", "Activation time"}}); ok {
		c.renderApp(w, r, actor, status, nil, fields, general, "", "")
		return
	}
	c.certResult(w, r, actor, err, "cert-added")
}

func (c *Console) activateAppCertificate(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	_, err := c.Apps.ActivateCertificate(r.Context(), actor, r.PathValue("id"), r.PathValue("cert"))
	c.certResult(w, r, actor, err, "cert-activated")
}

func (c *Console) removeAppCertificate(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	err := c.Apps.RemoveCertificate(r.Context(), actor, r.PathValue("id"), r.PathValue("cert"))
	c.certResult(w, r, actor, err, "cert-removed")
}

// appCertificatePEM downloads the active signing certificate (the admin
// API's is bearer-only).
func (c *Console) appCertificatePEM(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	cert, err := c.Apps.ActiveCertificate(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-pem-file")
	// The file name is built from the id alone: no user text in a header.
	h.Set("Content-Disposition", `attachment; filename="idcenter-app-`+cert.AppID+`.pem"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, cert.PEM)
}
