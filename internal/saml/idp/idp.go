// Package idp serves idcenter's SAML 2.0 identity-provider endpoints for
// each application: metadata, the IdP-initiated start URL, and single
// sign-on for AuthnRequests over the HTTP-Redirect and HTTP-POST bindings.
// Handlers are thin: internal/saml parses, checks and builds the messages,
// internal/apps resolves applications, assignments, claims and keys, and the
// browser session comes from portal.Middleware (web.AuthFrom). See
// docs/saml-idp.md.
package idp

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/httpx"
	"github.com/idcenter/idcenter/internal/saml"
	"github.com/idcenter/idcenter/internal/web"
)

// Prefix is the path prefix of every per-application SAML endpoint.
const Prefix = saml.AppPathPrefix

// ScriptPath serves saml.AutoSubmitScript for the POST form.
const ScriptPath = "/saml/post.js"

// ForceAuthnMaxAge is how recent a sign-in must be to satisfy ForceAuthn.
const ForceAuthnMaxAge = time.Minute

// PendingTTL bounds how long a POST-binding AuthnRequest waits for its
// same-site continuation (and for a sign-in in between).
const PendingTTL = 10 * time.Minute

// Token kinds in the one-time store.
const (
	KindSeenRequest = "saml-request"
	KindPending     = "saml-pending"
)

// Store keeps what the endpoints must remember: AuthnRequest IDs already
// answered (replay protection), POST-binding requests waiting for their
// same-site continuation, and audit events.
type Store interface {
	// MarkSeen records key until expires; it reports false when the key
	// was already recorded (a replay).
	MarkSeen(ctx context.Context, key string, now, expires time.Time) (bool, error)
	// PutPending stores data under key until expires.
	PutPending(ctx context.Context, key, data string, now, expires time.Time) error
	// TakePending returns and uses up the live data under key; errs.ErrNotFound
	// when there is none.
	TakePending(ctx context.Context, key string, now time.Time) (string, error)
	audit.Appender
}

// Handler serves the SAML endpoints.
type Handler struct {
	Apps    *apps.Service
	Store   Store
	Render  *web.Renderer
	BaseURL string // public base URL, no trailing slash
	Log     *slog.Logger
	Now     func() time.Time
	// Fail renders an error page for err (portal.Fail).
	Fail func(w http.ResponseWriter, r *http.Request, err error)
}

// Register mounts the endpoints on the browser mux (behind portal.Middleware).
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+ScriptPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write([]byte(saml.AutoSubmitScript))
	})
	mux.HandleFunc("GET "+Prefix+"{appID}/metadata", h.metadata)
	mux.HandleFunc("GET "+Prefix+"{appID}/start", h.start)
	mux.HandleFunc("POST "+Prefix+"{appID}/start", h.startPOST) // CSRF-checked, not exempt
	mux.HandleFunc("GET "+Prefix+"{appID}/sso", h.ssoRedirect)
	mux.HandleFunc("POST "+Prefix+"{appID}/sso", h.ssoPOST)
	mux.HandleFunc("GET "+Prefix+"{appID}/continue", h.continuePOST)
}

// SSOPOSTPattern is the exact ServeMux pattern of the POST-binding SSO
// endpoint, exempted from the browser CSRF checks (an SP posts it cross-site).
const SSOPOSTPattern = "POST " + Prefix + "{appID}/sso"

// IsSSOPOST reports whether r is a POST to the SSO endpoint of one
// application: exactly /saml/apps/{id}/sso with a non-empty id holding no
// slash. Used by portal.Middleware's narrow CSRF exemption.
func IsSSOPOST(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	p := r.URL.Path
	if len(p) <= len(Prefix)+len("/sso") || p[:len(Prefix)] != Prefix || p[len(p)-4:] != "/sso" {
		return false
	}
	id := p[len(Prefix) : len(p)-4]
	for i := 0; i < len(id); i++ {
		if id[i] == '/' {
			return false
		}
	}
	return id != ""
}

// EntityID, SSOURL, SLOURL, MetadataURL and StartURL are the IdP's
// per-application addresses.
func (h *Handler) EntityID(appID string) string { return saml.IdPURLsFor(h.BaseURL, appID).EntityID }
func (h *Handler) SSOURL(appID string) string   { return saml.IdPURLsFor(h.BaseURL, appID).SSOURL }
func (h *Handler) SLOURL(appID string) string   { return saml.IdPURLsFor(h.BaseURL, appID).SLOURL }
func (h *Handler) MetadataURL(appID string) string {
	return saml.IdPURLsFor(h.BaseURL, appID).MetadataURL
}
func (h *Handler) StartURL(appID string) string { return saml.IdPURLsFor(h.BaseURL, appID).StartURL }

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC()
	}
	return time.Now().UTC()
}

// --- metadata ---

func (h *Handler) metadata(w http.ResponseWriter, r *http.Request) {
	app, err := h.Apps.ByID(r.Context(), r.PathValue("appID"))
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	published, err := h.Apps.PublishedCertificates(r.Context(), app.ID)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	xml, err := saml.AppIdPMetadata(h.BaseURL, app, published)
	if err != nil {
		h.Fail(w, r, fmt.Errorf("application %s metadata: %w", app.ID, err))
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	if r.URL.Query().Get("download") == "1" {
		w.Header().Set("Content-Disposition", `attachment; filename="idcenter-`+app.ID+`-metadata.xml"`)
	}
	_, _ = w.Write(xml)
}

// --- IdP-initiated ---

// ConfirmParam on the start URL asks for the confirmation page even on a
// same-origin navigation. idcenter adds it to the sign-in return_to of a
// start URL that was not opened directly, so that signing in does not turn
// a cross-site trigger into a direct one.
const ConfirmParam = "confirm"

// start answers GET /saml/apps/{appID}/start. An unsolicited Response has
// no login-CSRF protection at the SP (IDP-09), so only a navigation known to
// be direct (the portal tile, a bookmark, the address bar; see
// directNavigation) is answered at once. Any other trigger (another site,
// another origin of the same site, or no evidence either way) gets a
// confirmation page whose same-origin, CSRF-protected POST (startPOST)
// continues. Query parameters other than ConfirmParam are ignored: the
// Response always goes to the application's default ACS with its default
// RelayState.
func (h *Handler) start(w http.ResponseWriter, r *http.Request) {
	direct := directNavigation(r, h.BaseURL) && !r.URL.Query().Has(ConfirmParam)
	a := web.AuthFrom(r.Context())
	if a.User == nil {
		back := Prefix + url.PathEscape(r.PathValue("appID")) + "/start"
		if !direct {
			back += "?" + ConfirmParam + "=1"
		}
		h.toSignIn(w, r, back)
		return
	}
	app, err := h.Apps.ByID(r.Context(), r.PathValue("appID"))
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	acs, ok := h.idpInitiatedACS(w, r, app)
	if !ok {
		return
	}
	if !direct {
		h.Log.Info("saml idp-initiated start needs confirmation", "app", app.ID,
			"sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "request_id", httpx.RequestID(r.Context()))
		h.Render.Render(w, r, http.StatusOK, "saml_start", web.Page{Title: "Continue to " + app.DisplayName,
			Data: startConfirmation{AppName: app.DisplayName, Action: Prefix + url.PathEscape(app.ID) + "/start"}})
		return
	}
	h.answer(w, r, app, acs, nil, app.DefaultRelayState)
}

type startConfirmation struct{ AppName, Action string }

// startPOST is the confirmation page's button. portal.Middleware has
// checked its CSRF token (bound to the session) and http.CrossOriginProtection
// that it came from this origin; the route is not exempt from either.
func (h *Handler) startPOST(w http.ResponseWriter, r *http.Request) {
	if web.AuthFrom(r.Context()).User == nil {
		h.toSignIn(w, r, Prefix+url.PathEscape(r.PathValue("appID"))+"/start?"+ConfirmParam+"=1")
		return
	}
	app, err := h.Apps.ByID(r.Context(), r.PathValue("appID"))
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	acs, ok := h.idpInitiatedACS(w, r, app)
	if !ok {
		return
	}
	h.answer(w, r, app, acs, nil, app.DefaultRelayState)
}

// idpInitiatedACS checks the user may use app and returns its default ACS;
// otherwise it has answered with the refusal page.
func (h *Handler) idpInitiatedACS(w http.ResponseWriter, r *http.Request, app apps.Application) (saml.Endpoint, bool) {
	if !h.allowed(w, r, app) {
		return saml.Endpoint{}, false
	}
	acs, err := saml.SelectACS(endpoints(app), nil)
	if err != nil {
		h.refuse(w, r, app, http.StatusBadRequest, "no usable ACS", "This application has no usable assertion consumer service URL. Ask your administrator to check its settings.")
		return saml.Endpoint{}, false
	}
	return acs, true
}

// directNavigation reports whether a GET navigation is known to come from
// this origin's own pages or from the user: Sec-Fetch-Site same-origin
// (the portal tile) or none (address bar, bookmark); from a browser
// without Fetch Metadata, an Origin or Referer of this origin (our pages
// send Referrer-Policy: same-origin). A foreign Origin or Referer, any
// other Sec-Fetch-Site (cross-site, and same-site: another origin under the
// same registrable domain), or no evidence at all is not direct.
func directNavigation(r *http.Request, base string) bool {
	self := origin(base)
	evidence := false
	for _, k := range []string{"Origin", "Referer"} {
		v := r.Header.Get(k)
		if v == "" {
			continue
		}
		if origin(v) != self || self == "" {
			return false
		}
		evidence = true
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
		return evidence
	}
	return false
}

// origin returns scheme://host[:port] of u, lower case, without the
// scheme's default port; "" when u is not an absolute http(s) URL.
func origin(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return ""
	}
	scheme, host, port := strings.ToLower(p.Scheme), strings.ToLower(p.Hostname()), p.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if scheme != "http" && scheme != "https" {
		return ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host
}

// --- SP-initiated, HTTP-Redirect binding ---

func (h *Handler) ssoRedirect(w http.ResponseWriter, r *http.Request) {
	req, err := saml.ParseAuthnRequestRedirect(r.URL.RawQuery)
	if err != nil {
		h.badRequest(w, r, err)
		return
	}
	h.sso(w, r, req, r.URL.RequestURI())
}

// --- SP-initiated, HTTP-POST binding ---

type pending struct {
	AppID      string `json:"appId"`
	Request    string `json:"samlRequest"`
	RelayState string `json:"relayState,omitempty"`
}

// ssoPOST receives the cross-site POST. The SameSite=Lax session cookie is
// not sent with it, so it only stores the request and sends the browser to a
// same-site GET, where the cookie is present.
func (h *Handler) ssoPOST(w http.ResponseWriter, r *http.Request) {
	appID := r.PathValue("appID")
	if _, err := h.Apps.ByID(r.Context(), appID); err != nil {
		h.Fail(w, r, err)
		return
	}
	p := pending{AppID: appID, Request: r.PostFormValue("SAMLRequest"), RelayState: r.PostFormValue("RelayState")}
	// Parse now so garbage is refused at once and never stored.
	if _, err := saml.ParseAuthnRequestPOST(p.Request, p.RelayState); err != nil {
		h.badRequest(w, r, err)
		return
	}
	data, _ := json.Marshal(p)
	id, err := h.stash(r.Context(), pendingKey, string(data))
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, Prefix+url.PathEscape(appID)+"/continue?req="+url.QueryEscape(id), http.StatusSeeOther)
}

func (h *Handler) continuePOST(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("req")
	if id == "" || len(id) > 64 {
		h.badRequest(w, r, errors.New("missing request"))
		return
	}
	if web.AuthFrom(r.Context()).User == nil {
		// Anonymous: an IsPassive request is answered NoPassive now; any
		// other is stored again under a fresh key (the old one is used up)
		// and resumed by the same-site GET after sign-in.
		data, err := h.Store.TakePending(r.Context(), pendingKey(id), h.now())
		if err != nil {
			h.expired(w, r, err)
			return
		}
		var p pending
		if json.Unmarshal([]byte(data), &p) != nil || p.AppID != r.PathValue("appID") {
			h.badRequest(w, r, errors.New("request does not belong to this application"))
			return
		}
		req, err := saml.ParseAuthnRequestPOST(p.Request, p.RelayState)
		if err != nil {
			h.badRequest(w, r, err)
			return
		}
		if req.IsPassive {
			h.sso(w, r, req, "")
			return
		}
		nid, err := h.stash(r.Context(), pendingKey, data)
		if err != nil {
			h.Fail(w, r, err)
			return
		}
		h.toSignIn(w, r, Prefix+url.PathEscape(p.AppID)+"/continue?req="+url.QueryEscape(nid))
		return
	}
	data, err := h.Store.TakePending(r.Context(), pendingKey(id), h.now())
	if err != nil {
		h.expired(w, r, err)
		return
	}
	var p pending
	if json.Unmarshal([]byte(data), &p) != nil || p.AppID != r.PathValue("appID") {
		h.badRequest(w, r, errors.New("request does not belong to this application"))
		return
	}
	req, err := saml.ParseAuthnRequestPOST(p.Request, p.RelayState)
	if err != nil {
		h.badRequest(w, r, err)
		return
	}
	returnTo := ""
	if req.ForceAuthn && !req.IsPassive && h.stale(web.AuthFrom(r.Context())) {
		// Stored again under a fresh key so that sso can send the browser
		// to sign in again and resume this request after.
		nid, err := h.stash(r.Context(), pendingKey, data)
		if err != nil {
			h.Fail(w, r, err)
			return
		}
		returnTo = Prefix + url.PathEscape(p.AppID) + "/continue?req=" + url.QueryEscape(nid)
	}
	h.sso(w, r, req, returnTo)
}

// stash stores data for PendingTTL under key(id) for a fresh random id and
// returns the id: a message received cross-site (or waiting for a sign-in)
// is continued later by a same-site request naming it.
func (h *Handler) stash(ctx context.Context, key func(string) string, data string) (string, error) {
	id, err := saml.NewID(nil)
	if err != nil {
		return "", err
	}
	now := h.now()
	return id, h.Store.PutPending(ctx, key(id), data, now, now.Add(PendingTTL))
}

func pendingKey(id string) string {
	sum := sha256.Sum256([]byte("saml-pending\x00" + id))
	return hex.EncodeToString(sum[:])
}

func seenKey(issuer, id string) string {
	sum := sha256.Sum256([]byte("saml-request\x00" + issuer + "\x00" + id))
	return hex.EncodeToString(sum[:])
}

// sso handles a parsed AuthnRequest for the application in the path.
// returnTo is where sign-in brings the browser back ("" when the request
// cannot be replayed by URL; POST binding, already stored).
func (h *Handler) sso(w http.ResponseWriter, r *http.Request, req *saml.AuthnRequest, returnTo string) {
	ctx := r.Context()
	app, err := h.Apps.ByID(ctx, r.PathValue("appID"))
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	if req.Issuer != app.EntityID {
		h.refuse(w, r, app, http.StatusBadRequest, "unknown issuer",
			"The application that sent you here is not the one configured at this address (its issuer does not match the application's entity ID).", "issuer", req.Issuer)
		return
	}
	if app.RequireSignedRequests || req.Signed {
		certs := spCerts(app)
		if len(certs) == 0 && app.RequireSignedRequests {
			h.refuse(w, r, app, http.StatusBadRequest, "signature required but no SP certificate configured",
				"This application requires signed requests, but no service-provider certificate is configured.")
			return
		}
		if len(certs) > 0 {
			if err := req.Verify(certs, saml.VerifyOptions{}); err != nil {
				h.refuse(w, r, app, http.StatusBadRequest, "signature: "+err.Error(),
					"The sign-in request's signature could not be verified. Ask your administrator to check the application's certificate.")
				return
			}
		}
	}
	if err := req.Check(saml.Checks{Destination: h.SSOURL(app.ID), Now: h.now}); err != nil {
		reason := "The sign-in request was not accepted."
		if errors.Is(err, saml.ErrStale) {
			reason = "The sign-in request is too old (or the application's clock is wrong). Go back to the application and try again."
		}
		h.refuse(w, r, app, http.StatusBadRequest, err.Error(), reason)
		return
	}
	acs, err := saml.SelectACS(endpoints(app), req)
	if err != nil {
		h.refuse(w, r, app, http.StatusBadRequest, "unregistered ACS: "+err.Error(),
			"The application asked for the sign-in to be sent to an address that is not registered for it. Nothing was sent.",
			"acs", req.AssertionConsumerServiceURL)
		return
	}
	a := web.AuthFrom(ctx)
	if a.User == nil {
		if req.IsPassive {
			h.status(w, r, app, acs, req, saml.Status{Code: saml.StatusResponder, SubCode: saml.StatusNoPassive})
			return
		}
		if returnTo == "" {
			h.badRequest(w, r, errors.New("cannot resume this request after sign-in"))
			return
		}
		h.toSignIn(w, r, returnTo)
		return
	}
	if req.ForceAuthn && h.stale(a) {
		// ForceAuthn (IDP-14): sign in again (/signin?prompt=login); the
		// new session replaces this one and the request is resumed with it.
		if req.IsPassive {
			h.status(w, r, app, acs, req, saml.Status{Code: saml.StatusResponder, SubCode: saml.StatusNoPassive})
			return
		}
		if returnTo == "" {
			h.badRequest(w, r, errors.New("cannot resume this request after sign-in"))
			return
		}
		h.toSignInPrompt(w, r, returnTo, true)
		return
	}
	if !h.allowed(w, r, app) {
		return
	}
	if p := req.NameIDPolicy; p != nil && p.Format != "" && p.Format != saml.NameIDFormatUnspecified &&
		p.Format != apps.NameIDFormatURN(app.NameIDFormat) {
		h.status(w, r, app, acs, req, saml.Status{Code: saml.StatusRequester, SubCode: saml.StatusInvalidNameIDPolicy})
		return
	}
	now := h.now()
	fresh, err := h.Store.MarkSeen(ctx, seenKey(req.Issuer, req.ID), now, now.Add(2*saml.DefaultMaxSkew+time.Minute))
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	if !fresh {
		h.refuse(w, r, app, http.StatusBadRequest, "replayed request ID",
			"This sign-in request was already used. Go back to the application and sign in again.", "requestId", req.ID)
		return
	}
	h.answer(w, r, app, acs, req, req.RelayState)
}

// allowed checks the application is enabled and the signed-in user active
// and assigned; otherwise it renders the "not assigned" page (403, audited).
func (h *Handler) allowed(w http.ResponseWriter, r *http.Request, app apps.Application) bool {
	a := web.AuthFrom(r.Context())
	if !app.Enabled {
		h.refuse(w, r, app, http.StatusForbidden, "application disabled", "This application is currently disabled.")
		return false
	}
	ok, err := h.Apps.IsAssigned(r.Context(), app.ID, a.User.ID)
	if err != nil {
		h.Fail(w, r, err)
		return false
	}
	if !ok || !a.User.Active {
		h.refuse(w, r, app, http.StatusForbidden, "not assigned",
			"You are not assigned to "+app.DisplayName+". Ask your administrator for access.")
		return false
	}
	return true
}

// answer builds, signs and posts the Response for the signed-in user.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, app apps.Application, acs saml.Endpoint, req *saml.AuthnRequest, relayState string) {
	ctx := r.Context()
	a := web.AuthFrom(ctx)
	actual := saml.AuthnContextPassword
	if a.Session.MFA {
		actual = saml.AuthnContextMFA
	}
	classRef := actual
	inResponseTo := ""
	if req != nil {
		inResponseTo = req.ID
		classRef = saml.ChooseAuthnContext(req.RequestedAuthnContext, actual)
		if classRef == "" {
			h.status(w, r, app, acs, req, saml.Status{Code: saml.StatusRequester, SubCode: saml.StatusNoAuthnContext})
			return
		}
	}
	claims, err := h.Apps.ClaimsFor(ctx, app, a.User.ID)
	if err != nil {
		h.refuse(w, r, app, http.StatusInternalServerError, "claims: "+err.Error(),
			"Your account is missing a value this application needs (for example an email address). Ask your administrator.")
		return
	}
	signer, err := h.signer(ctx, app)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	now := h.now()
	session := app.Session()
	if claims.SessionDuration > 0 { // an aws-account application's SessionDuration
		session = claims.SessionDuration
	}
	p := saml.AssertionParams{
		Issuer:               h.EntityID(app.ID),
		Audience:             app.EntityID,
		Destination:          acs.Location,
		InResponseTo:         inResponseTo,
		NameID:               claims.NameID,
		NameIDFormat:         claims.NameIDFormat,
		SessionIndex:         a.Session.ID,
		AuthnInstant:         a.Session.Created,
		AuthnContextClassRef: classRef,
		SessionNotOnOrAfter:  now.Add(session),
		Now:                  h.now,
	}
	if claims.NameIDFormat == saml.NameIDFormatPersistent {
		p.SPNameQualifier = app.EntityID
	}
	for _, at := range claims.Attributes {
		p.Attributes = append(p.Attributes, saml.Attribute{Name: at.Name, NameFormat: at.NameFormat, Values: at.Values})
	}
	opts := saml.SignOptions{
		SignResponse:  app.SigningMode != apps.SignAssertion,
		SignAssertion: app.SigningMode != apps.SignResponse,
	}
	if app.EncryptAssertions && app.EncryptionCertificate != "" {
		c, err := saml.DecodeCertificatePEM([]byte(app.EncryptionCertificate))
		if err != nil {
			h.Fail(w, r, fmt.Errorf("application %s encryption certificate: %w", app.ID, err))
			return
		}
		opts.EncryptTo = c
	}
	xml, err := saml.BuildResponse(p, signer, opts)
	if err != nil {
		h.refuse(w, r, app, http.StatusInternalServerError, "build response: "+err.Error(),
			"The sign-in response could not be built. Ask your administrator to preview this application's assertion.")
		return
	}
	summary := map[string]any{"acs": acs.Location, "nameIdFormat": claims.NameIDFormat, "authnContext": classRef,
		"sessionIndex": a.Session.ID}
	if req != nil {
		summary["flow"], summary["requestId"], summary["binding"] = "sp-initiated", req.ID, req.Binding
	} else {
		summary["flow"] = "idp-initiated"
	}
	h.audit(r, app, "saml.sso", summary)
	h.recordParticipant(r, app, a.Session.ID, claims) // single logout (slo.go)
	h.post(w, r, acs.Location, xml, relayState)
}

// status posts a Response carrying only a status to the ACS.
func (h *Handler) status(w http.ResponseWriter, r *http.Request, app apps.Application, acs saml.Endpoint, req *saml.AuthnRequest, st saml.Status) {
	signer, err := h.signer(r.Context(), app)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	xml, err := saml.BuildStatusResponse(saml.StatusResponseParams{Issuer: h.EntityID(app.ID), Destination: acs.Location,
		InResponseTo: req.ID, Status: st, Now: h.now}, signer)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	h.audit(r, app, "saml.sso.status", map[string]any{"status": st.Code, "subStatus": st.SubCode, "requestId": req.ID, "acs": acs.Location})
	h.post(w, r, acs.Location, xml, req.RelayState)
}

func (h *Handler) signer(ctx context.Context, app apps.Application) (*saml.Signer, error) {
	key, cert, err := h.Apps.SigningKey(ctx, app.ID)
	if err != nil {
		return nil, err
	}
	x, err := saml.DecodeCertificatePEM([]byte(cert.PEM))
	if err != nil {
		return nil, err
	}
	return saml.NewSigner(key, x)
}

// post writes the auto-submitting form. The page's CSP allows the form to
// go to the ACS origin only, and the script from this origin only.
func (h *Handler) post(w http.ResponseWriter, r *http.Request, action string, msg []byte, relayState string) {
	page, err := saml.PostForm{Action: action, Param: "SAMLResponse", Message: msg, RelayState: relayState, ScriptSrc: ScriptPath}.HTML()
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	u, err := url.Parse(action)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; form-action "+u.Scheme+"://"+u.Host+
		"; frame-ancestors 'none'; base-uri 'none'")
	hdr.Set("Cache-Control", "no-cache, no-store")
	hdr.Set("Pragma", "no-cache")
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(page)
}

func (h *Handler) toSignIn(w http.ResponseWriter, r *http.Request, returnTo string) {
	h.toSignInPrompt(w, r, returnTo, false)
}

// toSignInPrompt sends the browser to sign in; with login it asks even a
// signed-in user to sign in again (ForceAuthn).
func (h *Handler) toSignInPrompt(w http.ResponseWriter, r *http.Request, returnTo string, login bool) {
	q := url.Values{}
	if web.SafeReturnTo(returnTo, "") != "" {
		q.Set("return_to", returnTo)
	}
	if login {
		q.Set("prompt", "login")
	}
	target := "/signin"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// stale reports whether the session's sign-in is too old for ForceAuthn.
func (h *Handler) stale(a web.Auth) bool {
	return h.now().Sub(a.Session.Created) > ForceAuthnMaxAge
}

type message struct{ Message, Link, LinkText string }

// refuse renders an error page, sends nothing to the SP, and audits why
// (saml.sso.refused).
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, app apps.Application, status int, reason, text string, kv ...string) {
	title := "Sign-in refused"
	if reason == "not assigned" {
		title = "Not assigned"
	}
	h.reject(w, r, app, rejection{action: "saml.sso.refused", reason: reason, kv: kv, status: status, title: title, text: text})
}

// rejection is a refused SAML message (SSO or SLO): why, for the audit
// event and the log (never shown to the browser), and the error page the
// browser gets instead of any message to the SP.
type rejection struct {
	action string   // audit action: saml.sso.refused or saml.slo.refused
	reason string   // private reason; its stable code is apps.SSOReasonCode
	kv     []string // extra audit summary pairs (issuer, acs, requestId, …)

	status      int // of the error page
	title, text string
}

// reject handles every refusal of the SSO and SLO endpoints the same way:
// the audit event (refusalSummary), a warning in the log with the request
// id, and the error page with a link to the portal. Nothing is sent to the
// SP and the session is left as it is.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, app apps.Application, j rejection) {
	h.audit(r, app, j.action, refusalSummary(j.reason, j.kv...))
	h.Log.Warn(strings.ReplaceAll(j.action, ".", " "), "app", app.ID, "reason", j.reason, "request_id", httpx.RequestID(r.Context()))
	h.Render.Render(w, r, j.status, "message", web.Page{Title: j.title, Data: message{j.text, "/start", "Go to the portal"}})
}

// refusalSummary is the audit summary of a refused or failed SAML message:
// the reason, its stable code (apps.SSOReasonCode), and the pairs of kv.
// Refusals answered with a SAML status instead of a page use it too.
func refusalSummary(reason string, kv ...string) map[string]any {
	summary := map[string]any{"reason": reason, "reasonCode": apps.SSOReasonCode(reason)}
	for i := 0; i+1 < len(kv); i += 2 {
		summary[kv[i]] = kv[i+1]
	}
	return summary
}

func (h *Handler) badRequest(w http.ResponseWriter, r *http.Request, err error) {
	h.Log.Info("saml request refused", "error", err.Error(), "request_id", httpx.RequestID(r.Context()))
	h.Render.Render(w, r, http.StatusBadRequest, "message", web.Page{Title: "Bad sign-in request",
		Data: message{"The sign-in request from the application could not be read. Go back to the application and try again.", "/start", "Go to the portal"}})
}

func (h *Handler) expired(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, errs.ErrNotFound) {
		h.Fail(w, r, err)
		return
	}
	h.Render.Render(w, r, http.StatusBadRequest, "message", web.Page{Title: "Sign-in request expired",
		Data: message{"This sign-in request has expired or was already used. Go back to the application and try again.", "/start", "Go to the portal"}})
}

func (h *Handler) audit(r *http.Request, app apps.Application, action string, summary map[string]any) {
	actor := audit.Actor{Type: audit.ActorUser}
	if u := web.AuthFrom(r.Context()).User; u != nil {
		actor = audit.Actor{Type: audit.ActorUser, ID: u.ID, Name: u.UserName, Role: u.Role}
	} else {
		actor.Name = "anonymous"
	}
	e := audit.New(r.Context(), actor, action, "application", app.ID, app.DisplayName, summary)
	if err := h.Store.AppendAudit(r.Context(), e); err != nil {
		h.Log.Error("audit append failed", "action", action, "error", err.Error(), "request_id", httpx.RequestID(r.Context()))
	}
}

func endpoints(app apps.Application) []saml.Endpoint {
	out := make([]saml.Endpoint, 0, len(app.ACS))
	for _, a := range app.ACS {
		e := saml.Endpoint{Binding: a.Binding, Location: a.URL, Index: a.Index}
		if a.Default {
			t := true
			e.IsDefault = &t
		}
		out = append(out, e)
	}
	return out
}

func spCerts(app apps.Application) []*x509.Certificate {
	var out []*x509.Certificate
	for _, p := range app.SigningCertificates {
		if c, _, err := apps.ParseCertificate(p); err == nil {
			out = append(out, c)
		}
	}
	return out
}
