package idp

// Single logout (SAML Profiles §4.4), IdP side. See docs/saml-idp.md.
//
// An SP sends a LogoutRequest to /saml/apps/{appID}/slo (HTTP-Redirect, or
// HTTP-POST which is stored and resumed by a same-site GET, as for SSO). The
// request is checked (issuer, signature, freshness, Destination, replay), the
// browser's session must be the one named by the SessionIndex and NameID the
// application was given, and that session is ended. Then every other
// application the session signed in to that has an SLO URL gets a
// LogoutRequest front-channel, one after the other: the browser goes to the
// SP, the SP answers with a LogoutResponse to that application's /slo
// address, and the next hop follows. The chain's state lives in
// one_time_tokens under the RelayState. Last, the requesting SP gets its
// LogoutResponse (Success, with PartialLogout when a participant failed).

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/saml"
	"github.com/idcenter/idcenter/internal/web"
)

// Participant is one application a browser session signed in to over SAML,
// with the Name ID it was given.
type Participant struct {
	SessionID    string
	AppID        string
	NameID       string
	NameIDFormat string
	Created      time.Time
}

// ParticipantStore records which applications each session signed in to.
// The Handler's Store implements it when single logout is wired.
type ParticipantStore interface {
	RecordParticipant(ctx context.Context, p Participant) error
	Participants(ctx context.Context, sessionID string) ([]Participant, error)
}

// SLOPOSTPattern is the exact ServeMux pattern of the POST-binding SLO
// endpoint, exempted from the browser CSRF checks like SSOPOSTPattern.
const SLOPOSTPattern = "POST " + Prefix + "{appID}/slo"

// IsSLOPOST reports whether r is a POST to exactly /saml/apps/{id}/slo with
// a non-empty id holding no slash.
func IsSLOPOST(r *http.Request) bool { return isAppPOST(r, "/slo") }

// IsSAMLPOST is the CSRF exemption for the SAML HTTP-POST binding: exactly
// the SSO and SLO endpoints of one application (IsSSOPOST or IsSLOPOST).
func IsSAMLPOST(r *http.Request) bool { return IsSSOPOST(r) || IsSLOPOST(r) }

func isAppPOST(r *http.Request, suffix string) bool {
	if r.Method != http.MethodPost {
		return false
	}
	p := r.URL.Path
	if len(p) <= len(Prefix)+len(suffix) || p[:len(Prefix)] != Prefix || p[len(p)-len(suffix):] != suffix {
		return false
	}
	id := p[len(Prefix) : len(p)-len(suffix)]
	for i := 0; i < len(id); i++ {
		if id[i] == '/' {
			return false
		}
	}
	return id != ""
}

// SLO serves single logout. It shares the Handler's dependencies.
type SLO struct {
	*Handler
	// EndSession ends the browser's current session (web.AuthFrom) and
	// clears its cookies.
	EndSession func(w http.ResponseWriter, r *http.Request) error
}

// Register mounts the SLO endpoints.
func (s *SLO) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"{appID}/slo", s.redirect)
	mux.HandleFunc(SLOPOSTPattern, s.postBinding)
	mux.HandleFunc("GET "+Prefix+"{appID}/slo/continue", s.continuePOST)
}

// Token kinds and lifetimes of single logout.
const (
	KindSeenLogout = "saml-logout"
	SLOStateTTL    = 10 * time.Minute
)

// recordParticipant notes that the session got an assertion for app, so
// that single logout reaches it. Failures are logged, not fatal to SSO.
func (h *Handler) recordParticipant(r *http.Request, app apps.Application, sessionID string, claims apps.Claims) {
	ps, ok := h.Store.(ParticipantStore)
	if !ok || sessionID == "" {
		return
	}
	if err := ps.RecordParticipant(r.Context(), Participant{SessionID: sessionID, AppID: app.ID,
		NameID: claims.NameID, NameIDFormat: claims.NameIDFormat, Created: h.now()}); err != nil {
		h.Log.Error("record SAML session participant", "app", app.ID, "error", err.Error())
	}
}

func (s *SLO) participants(ctx context.Context, sessionID string) ([]Participant, error) {
	ps, ok := s.Store.(ParticipantStore)
	if !ok {
		return nil, nil
	}
	return ps.Participants(ctx, sessionID)
}

// --- incoming messages ---

func (s *SLO) redirect(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Has("SAMLRequest"):
		req, err := saml.ParseLogoutRequestRedirect(r.URL.RawQuery)
		if err != nil {
			s.badLogout(w, r, err)
			return
		}
		s.logoutRequest(w, r, req)
	case q.Has("SAMLResponse"):
		resp, err := saml.ParseLogoutResponseRedirect(r.URL.RawQuery)
		if err != nil {
			s.badLogout(w, r, err)
			return
		}
		s.logoutResponse(w, r, resp)
	default:
		s.badLogout(w, r, errors.New("no SAML message"))
	}
}

type sloPending struct {
	AppID      string `json:"appId"`
	Request    string `json:"samlRequest"`
	RelayState string `json:"relayState,omitempty"`
}

// postBinding receives a cross-site POST. A LogoutResponse (the answer of
// a participant) needs no cookie and is handled at once; a LogoutRequest is
// stored and resumed by a same-site GET, which carries the session cookie.
func (s *SLO) postBinding(w http.ResponseWriter, r *http.Request) {
	appID := r.PathValue("appID")
	if _, err := s.Apps.ByID(r.Context(), appID); err != nil {
		s.Fail(w, r, err)
		return
	}
	if v := r.PostFormValue("SAMLResponse"); v != "" {
		resp, err := saml.ParseLogoutResponsePOST(v, r.PostFormValue("RelayState"))
		if err != nil {
			s.badLogout(w, r, err)
			return
		}
		s.logoutResponse(w, r, resp)
		return
	}
	p := sloPending{AppID: appID, Request: r.PostFormValue("SAMLRequest"), RelayState: r.PostFormValue("RelayState")}
	if _, err := saml.ParseLogoutRequestPOST(p.Request, p.RelayState); err != nil {
		s.badLogout(w, r, err)
		return
	}
	data, _ := json.Marshal(p)
	id, err := s.stash(r.Context(), func(id string) string { return sloKey("pending", id) }, string(data))
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, Prefix+url.PathEscape(appID)+"/slo/continue?req="+url.QueryEscape(id), http.StatusSeeOther)
}

func (s *SLO) continuePOST(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("req")
	if id == "" || len(id) > 64 {
		s.badLogout(w, r, errors.New("missing request"))
		return
	}
	data, err := s.Store.TakePending(r.Context(), sloKey("pending", id), s.now())
	if err != nil {
		s.expired(w, r, err)
		return
	}
	var p sloPending
	if json.Unmarshal([]byte(data), &p) != nil || p.AppID != r.PathValue("appID") {
		s.badLogout(w, r, errors.New("request does not belong to this application"))
		return
	}
	req, err := saml.ParseLogoutRequestPOST(p.Request, p.RelayState)
	if err != nil {
		s.badLogout(w, r, err)
		return
	}
	s.logoutRequest(w, r, req)
}

func sloKey(kind, id string) string {
	sum := sha256.Sum256([]byte("saml-slo-" + kind + "\x00" + id))
	return hex.EncodeToString(sum[:])
}

// logoutRequest handles an SP-initiated LogoutRequest for the application
// in the path.
func (s *SLO) logoutRequest(w http.ResponseWriter, r *http.Request, req *saml.LogoutRequest) {
	ctx := r.Context()
	app, err := s.Apps.ByID(ctx, r.PathValue("appID"))
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	if req.Issuer != app.EntityID {
		s.refuseLogout(w, r, app, "unknown issuer", "issuer", req.Issuer)
		return
	}
	if !s.verifySP(w, r, app, req.Signed, func(certs []*x509.Certificate) error { return req.Verify(certs, saml.VerifyOptions{}) }) {
		return
	}
	if err := req.Check(saml.Checks{Destination: s.SLOURL(app.ID), Now: s.now}); err != nil {
		s.refuseLogout(w, r, app, err.Error())
		return
	}
	now := s.now()
	fresh, err := s.Store.MarkSeen(ctx, sloKey("seen", req.Issuer+"\x00"+req.ID), now, now.Add(2*saml.DefaultMaxSkew+time.Minute))
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	if !fresh {
		s.refuseLogout(w, r, app, "replayed request ID", "requestId", req.ID)
		return
	}
	a := web.AuthFrom(ctx)
	st := sloState{Origin: app.ID, InResponseTo: req.ID, RelayState: req.RelayState}
	if a.Session == nil {
		// Nothing to end here: the principal is already signed out.
		s.audit(r, app, "saml.slo", map[string]any{"requestId": req.ID, "session": "none"})
		s.finish(w, r, st)
		return
	}
	parts, err := s.participants(ctx, a.Session.ID)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	i := slices.IndexFunc(parts, func(p Participant) bool { return p.AppID == app.ID })
	switch {
	case len(req.SessionIndexes) > 0 && !slices.Contains(req.SessionIndexes, a.Session.ID),
		i < 0, parts[i].NameID != req.NameID.Value:
		// Not this browser's session: leave it alone and say so.
		s.audit(r, app, "saml.slo.refused", refusalSummary("unknown principal or session", "requestId", req.ID))
		st.Status = saml.Status{Code: saml.StatusRequester, SubCode: saml.StatusUnknownPrincipal}
		s.finish(w, r, st)
		return
	}
	sessionID := a.Session.ID
	if err := s.EndSession(w, r); err != nil {
		s.Fail(w, r, err)
		return
	}
	for _, p := range parts {
		if p.AppID != app.ID {
			st.Hops = append(st.Hops, hop{AppID: p.AppID, NameID: p.NameID, NameIDFormat: p.NameIDFormat})
		}
	}
	st.SessionID = sessionID
	s.audit(r, app, "saml.slo", map[string]any{"requestId": req.ID, "sessionIndex": sessionID,
		"binding": req.Binding, "propagateTo": len(st.Hops)})
	s.next(w, r, st)
}

// --- propagation ---

type hop struct {
	AppID        string `json:"appId"`
	NameID       string `json:"nameId"`
	NameIDFormat string `json:"nameIdFormat,omitempty"`
}

// sloState is the front-channel chain, kept in one_time_tokens under the
// RelayState sent to the current participant.
type sloState struct {
	Origin       string      `json:"origin,omitempty"` // requesting app ID; "" for portal sign-out
	InResponseTo string      `json:"inResponseTo,omitempty"`
	RelayState   string      `json:"relayState,omitempty"`
	SessionID    string      `json:"sessionId,omitempty"`
	Hops         []hop       `json:"hops,omitempty"` // still to visit
	Current      *hop        `json:"current,omitempty"`
	CurrentID    string      `json:"currentId,omitempty"` // ID of the LogoutRequest sent to Current
	Partial      bool        `json:"partial,omitempty"`
	Status       saml.Status `json:"status"` // set only for a refused request
}

// PropagateLogout sends the browser through the SLO of every application
// the (already ended) session signed in to, then to /signin?signed_out=1.
// It is the portal's sign-out hook.
func (s *SLO) PropagateLogout(w http.ResponseWriter, r *http.Request, sessionID string) bool {
	parts, err := s.participants(r.Context(), sessionID)
	if err != nil || len(parts) == 0 {
		return false
	}
	st := sloState{SessionID: sessionID}
	for _, p := range parts {
		st.Hops = append(st.Hops, hop{AppID: p.AppID, NameID: p.NameID, NameIDFormat: p.NameIDFormat})
	}
	s.next(w, r, st)
	return true
}

// next sends a LogoutRequest to the next participant with an SLO URL, or
// finishes.
func (s *SLO) next(w http.ResponseWriter, r *http.Request, st sloState) {
	ctx := r.Context()
	for len(st.Hops) > 0 {
		h := st.Hops[0]
		st.Hops = st.Hops[1:]
		app, err := s.Apps.ByID(ctx, h.AppID)
		if err != nil || app.SLOURL == "" {
			continue
		}
		signer, err := s.signer(ctx, app)
		if err != nil {
			s.Log.Error("slo: signer", "app", app.ID, "error", err.Error())
			st.Partial = true
			continue
		}
		p := saml.LogoutRequestParams{Issuer: s.EntityID(app.ID), Destination: app.SLOURL,
			NameID: saml.NameID{Value: h.NameID, Format: h.NameIDFormat}, Reason: "urn:oasis:names:tc:SAML:2.0:logout:user", Now: s.now}
		if st.SessionID != "" {
			p.SessionIndexes = []string{st.SessionID}
		}
		if h.NameIDFormat == saml.NameIDFormatPersistent {
			p.NameID.SPNameQualifier = app.EntityID
		}
		post := app.SLOBinding == apps.BindingPOST
		var xmlSigner *saml.Signer
		if post {
			xmlSigner = signer
		}
		msg, id, err := saml.BuildLogoutRequest(p, xmlSigner)
		if err != nil {
			s.Log.Error("slo: build LogoutRequest", "app", app.ID, "error", err.Error())
			st.Partial = true
			continue
		}
		key, err := saml.NewID(nil)
		if err != nil {
			s.Fail(w, r, err)
			return
		}
		cur := h
		st.Current, st.CurrentID = &cur, id
		data, _ := json.Marshal(st)
		now := s.now()
		if err := s.Store.PutPending(ctx, sloKey("state", key), string(data), now, now.Add(SLOStateTTL)); err != nil {
			s.Fail(w, r, err)
			return
		}
		s.audit(r, app, "saml.slo.propagate", map[string]any{"requestId": id, "slo": app.SLOURL})
		s.send(w, r, app.SLOURL, "SAMLRequest", msg, key, post, signer)
		return
	}
	s.finish(w, r, st)
}

// logoutResponse is a participant's answer: check it against the chain's
// state and go on. A bad or failed answer makes the logout partial; it
// never stops the chain.
func (s *SLO) logoutResponse(w http.ResponseWriter, r *http.Request, resp *saml.LogoutResponse) {
	ctx := r.Context()
	if resp.RelayState == "" || len(resp.RelayState) > 64 {
		s.badLogout(w, r, errors.New("LogoutResponse without our RelayState"))
		return
	}
	data, err := s.Store.TakePending(ctx, sloKey("state", resp.RelayState), s.now())
	if err != nil {
		s.expired(w, r, err)
		return
	}
	var st sloState
	if json.Unmarshal([]byte(data), &st) != nil || st.Current == nil || st.Current.AppID != r.PathValue("appID") {
		s.badLogout(w, r, errors.New("LogoutResponse does not belong to this application"))
		return
	}
	app, err := s.Apps.ByID(ctx, st.Current.AppID)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	reason := ""
	switch {
	case resp.Issuer != app.EntityID:
		reason = "unknown issuer"
	case resp.InResponseTo != st.CurrentID:
		reason = "InResponseTo does not match"
	case resp.Signed && len(spCerts(app)) > 0 && resp.Verify(spCerts(app), saml.VerifyOptions{}) != nil:
		reason = "bad signature"
	case app.RequireSignedRequests && !resp.Signed:
		reason = "unsigned LogoutResponse"
	case resp.Check(saml.Checks{Destination: s.SLOURL(app.ID), Now: s.now}) != nil:
		reason = resp.Check(saml.Checks{Destination: s.SLOURL(app.ID), Now: s.now}).Error()
	case resp.Status.Code != saml.StatusSuccess:
		reason = "status " + resp.Status.Code
	}
	if reason != "" {
		st.Partial = true
		s.audit(r, app, "saml.slo.partial", refusalSummary(reason, "requestId", st.CurrentID))
	}
	st.Current, st.CurrentID = nil, ""
	s.next(w, r, st)
}

// finish answers the requesting SP with its LogoutResponse, or, for the
// portal's sign-out, lands on the sign-in page.
func (s *SLO) finish(w http.ResponseWriter, r *http.Request, st sloState) {
	if st.Origin == "" {
		http.Redirect(w, r, "/signin?signed_out=1", http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	app, err := s.Apps.ByID(ctx, st.Origin)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	status := st.Status
	if status.Code == "" {
		status.Code = saml.StatusSuccess
		if st.Partial {
			status.SubCode = saml.StatusPartialLogout
		}
	}
	if app.SLOURL == "" {
		s.Render.Render(w, r, http.StatusOK, "message", web.Page{Title: "Signed out",
			Data: message{"You are signed out.", "/signin", "Sign in again"}})
		return
	}
	signer, err := s.signer(ctx, app)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	post := app.SLOBinding == apps.BindingPOST
	var xmlSigner *saml.Signer
	if post {
		xmlSigner = signer
	}
	msg, err := saml.BuildLogoutResponse(saml.LogoutResponseParams{Issuer: s.EntityID(app.ID), Destination: app.SLOURL,
		InResponseTo: st.InResponseTo, Status: status, Now: s.now}, xmlSigner)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	s.send(w, r, app.SLOURL, "SAMLResponse", msg, st.RelayState, post, signer)
}

// send delivers msg to an SP: a signed-query redirect, or an auto-posted
// form carrying the enveloped-signed XML.
func (s *SLO) send(w http.ResponseWriter, r *http.Request, dest, param string, msg []byte, relayState string, post bool, signer *saml.Signer) {
	w.Header().Set("Cache-Control", "no-cache, no-store")
	if !post {
		u, err := saml.RedirectURL(dest, param, msg, relayState, signer)
		if err != nil {
			s.Fail(w, r, err)
			return
		}
		http.Redirect(w, r, u, http.StatusFound)
		return
	}
	page, err := saml.PostForm{Action: dest, Param: param, Message: msg, RelayState: relayState, ScriptSrc: ScriptPath}.HTML()
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	u, err := url.Parse(dest)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; form-action "+u.Scheme+"://"+u.Host+
		"; frame-ancestors 'none'; base-uri 'none'")
	hdr.Set("Pragma", "no-cache")
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(page)
}

// --- checks and refusals ---

// verifySP applies the signature rule of SSO to a logout message: required
// when the application requires signed requests, and always checked when
// present.
func (s *SLO) verifySP(w http.ResponseWriter, r *http.Request, app apps.Application, signed bool, verify func([]*x509.Certificate) error) bool {
	if !app.RequireSignedRequests && !signed {
		return true
	}
	certs := spCerts(app)
	if len(certs) == 0 {
		if app.RequireSignedRequests {
			s.refuseLogout(w, r, app, "signature required but no SP certificate configured")
			return false
		}
		return true
	}
	if err := verify(certs); err != nil {
		s.refuseLogout(w, r, app, "signature: "+err.Error())
		return false
	}
	return true
}

// refuseLogout renders an error page, sends nothing to the SP, leaves the
// session alone, and audits why (saml.slo.refused).
func (s *SLO) refuseLogout(w http.ResponseWriter, r *http.Request, app apps.Application, reason string, kv ...string) {
	s.reject(w, r, app, rejection{action: "saml.slo.refused", reason: reason, kv: kv, status: http.StatusBadRequest,
		title: "Sign-out refused",
		text:  "The sign-out request from " + app.DisplayName + " was not accepted. You are still signed in here; use Sign out in the portal."})
}

func (s *SLO) badLogout(w http.ResponseWriter, r *http.Request, err error) {
	s.Log.Info("saml logout message refused", "error", err.Error())
	s.Render.Render(w, r, http.StatusBadRequest, "message", web.Page{Title: "Bad sign-out request",
		Data: message{"The sign-out message from the application could not be read.", "/start", "Go to the portal"}})
}
