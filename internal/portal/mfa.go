package portal

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/idcenter/idcenter/internal/authn"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/httpx"
	"github.com/idcenter/idcenter/internal/web"
)

// mfa returns the MFA service the app put in p.MFA (nil when MFA is not wired).
func (p *Portal) mfa() *authn.MFAService {
	m, _ := p.MFA.(*authn.MFAService)
	return m
}

// registerMFA mounts the second-factor pages: the MFA step of sign-in and
// enrolment during sign-in (public: the pending sign-in cookie identifies the
// user), passkey sign-in, and the user's own management pages (signed in).
// Every change to a user's factors needs their current password.
func (p *Portal) registerMFA(mux *http.ServeMux) {
	if p.mfa() == nil {
		return
	}
	// The MFA step of sign-in.
	mux.Handle("GET /signin/mfa", p.public(p.mfaPage))
	mux.Handle("POST /signin/mfa/totp", p.public(p.mfaTOTP))
	mux.Handle("POST /signin/mfa/recovery", p.public(p.mfaRecovery))
	mux.Handle("POST /signin/mfa/webauthn/begin", p.public(p.mfaWebAuthnBegin))
	mux.Handle("POST /signin/mfa/webauthn/finish", p.public(p.mfaWebAuthnFinish))
	// Enrolment during sign-in (auth.mfa.no_device: require_registration).
	mux.Handle("GET /signin/mfa/enrol", p.public(p.enrolPage))
	mux.Handle("POST /signin/mfa/enrol/totp", p.public(p.enrolTOTPStart))
	mux.Handle("GET /signin/mfa/enrol/totp", p.public(p.enrolTOTPPage))
	mux.Handle("POST /signin/mfa/enrol/totp/confirm", p.public(p.enrolTOTPConfirm))
	mux.Handle("POST /signin/mfa/enrol/webauthn/begin", p.public(p.enrolWebAuthnBegin))
	mux.Handle("POST /signin/mfa/enrol/webauthn/finish", p.public(p.enrolWebAuthnFinish))
	// Sign-in with a passkey alone (auth.mfa.passkey_sign_in).
	mux.Handle("GET /signin/passkey", p.public(p.passkeyPage))
	mux.Handle("POST /signin/passkey/begin", p.public(p.passkeyBegin))
	mux.Handle("POST /signin/passkey/finish", p.public(p.passkeyFinish))
	// Self-service.
	mux.Handle("GET /profile/mfa", p.signedIn(p.profileMFA))
	mux.Handle("POST /profile/mfa/totp/setup", p.signedIn(p.profileTOTPSetup))
	mux.Handle("GET /profile/mfa/totp", p.signedIn(p.profileTOTPPage))
	mux.Handle("POST /profile/mfa/totp/confirm", p.signedIn(p.profileTOTPConfirm))
	mux.Handle("POST /profile/mfa/totp/remove", p.signedIn(p.profileTOTPRemove))
	mux.Handle("POST /profile/mfa/webauthn/begin", p.signedIn(p.profileWebAuthnBegin))
	mux.Handle("POST /profile/mfa/webauthn/finish", p.signedIn(p.profileWebAuthnFinish))
	mux.Handle("GET /profile/mfa/webauthn/{id}/remove", p.signedIn(p.profileWebAuthnRemovePage))
	mux.Handle("POST /profile/mfa/webauthn/{id}/remove", p.signedIn(p.profileWebAuthnRemove))
	mux.Handle("POST /profile/mfa/recovery", p.signedIn(p.profileRecoveryCodes))
}

// --- shared helpers ---

// withReturnTo appends a safe return_to to a local path.
func withReturnTo(path, returnTo string) string {
	if returnTo = web.SafeReturnTo(returnTo, ""); returnTo == "" {
		return path
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "return_to=" + url.QueryEscape(returnTo)
}

func pngDataURL(b []byte) template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b))
}

// mfaError maps an MFA service error to a status and a message for the user;
// ok is false for unexpected errors (which go to p.fail or a generic message).
func mfaError(err error) (status int, text string, ok bool) {
	var te *authn.ThrottledError
	switch {
	case errors.As(err, &te):
		return http.StatusTooManyRequests, te.Error(), true
	case errors.Is(err, authn.ErrMFAFailed):
		return http.StatusUnauthorized, err.Error(), true
	case errors.Is(err, authn.ErrReauthFailed):
		return http.StatusBadRequest, err.Error(), true
	case errors.Is(err, authn.ErrTokenInvalid):
		return http.StatusBadRequest, "This sign-in has expired or was already completed. Sign in again.", true
	case errors.Is(err, authn.ErrFactorExists), errors.Is(err, authn.ErrCredentialExists):
		return http.StatusConflict, err.Error(), true
	case errors.Is(err, authn.ErrLastFactor), errors.Is(err, authn.ErrNoFactor), errors.Is(err, authn.ErrTooManyCredentials),
		errors.Is(err, authn.ErrWebAuthnUnavailable), errors.Is(err, authn.ErrPasskeyDisabled):
		return http.StatusBadRequest, err.Error(), true
	case errors.Is(err, errs.ErrNotFound):
		return http.StatusNotFound, "That security key or passkey does not exist.", true
	}
	return 0, "", false
}

func retryAfter(w http.ResponseWriter, err error) {
	var te *authn.ThrottledError
	if errors.As(err, &te) {
		w.Header().Set("Retry-After", strconv.Itoa(int(te.RetryAfter.Seconds())+1))
	}
}

// ceremonyRequest is the JSON body webauthn.js posts.
type ceremonyRequest struct {
	Ceremony   string          `json:"ceremony,omitempty"`
	Credential json.RawMessage `json:"credential,omitempty"`
	Name       string          `json:"name,omitempty"`
	Password   string          `json:"password,omitempty"`
	ReturnTo   string          `json:"return_to,omitempty"`
}

// maxCeremonyBody bounds a JSON body of webauthn.js.
const maxCeremonyBody = 64 << 10

// decodeCeremonyRequest parses a JSON body from webauthn.js (untrusted):
// one object, known fields only, bounded sizes.
func decodeCeremonyRequest(body []byte) (ceremonyRequest, error) {
	var req ceremonyRequest
	if len(body) > maxCeremonyBody {
		return req, httpx.Badf("request too large")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return ceremonyRequest{}, httpx.Badf("malformed request")
	}
	if dec.More() {
		return ceremonyRequest{}, httpx.Badf("malformed request")
	}
	if len(req.Ceremony) > 128 || len(req.Name) > 1024 || len(req.Password) > authn.MaxPasswordLen || len(req.ReturnTo) > 2048 ||
		len(req.Credential) > authn.MaxWebAuthnBody {
		return ceremonyRequest{}, httpx.Badf("malformed request")
	}
	return req, nil
}

func (p *Portal) readCeremony(w http.ResponseWriter, r *http.Request) (ceremonyRequest, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCeremonyBody))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "The request was too large or malformed."})
		return ceremonyRequest{}, false
	}
	req, err := decodeCeremonyRequest(b)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "The request was malformed."})
		return ceremonyRequest{}, false
	}
	return req, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// jsonFail answers a JSON request that failed.
func (p *Portal) jsonFail(w http.ResponseWriter, r *http.Request, err error) {
	if status, text, ok := mfaError(err); ok {
		retryAfter(w, err)
		writeJSON(w, status, map[string]string{"error": text})
		return
	}
	status, _, _, _ := httpx.ErrorStatus(err)
	text := "Something went wrong. Try again; if it keeps happening, quote request " + httpx.RequestID(r.Context()) + "."
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
		text = "idcenter cannot reach its database right now. Try again in a moment."
	} else if status < 500 {
		text = "The request was not accepted."
	} else {
		p.Log.Error("request failed", "error", err.Error(), "request_id", httpx.RequestID(r.Context()))
	}
	writeJSON(w, status, map[string]string{"error": text})
}

// setMFACookies sets the cookies of a sign-in finished with a second factor.
func (p *Portal) setMFACookies(w http.ResponseWriter, out authn.MFAOutcome) {
	if out.DeviceToken != "" {
		p.Cookies.Set(w, web.DeviceCookie, out.DeviceToken, out.DeviceTTL)
	}
	p.SetSession(w, out.Outcome)
}

func replacesSession(r *http.Request) string {
	if s := web.AuthFrom(r.Context()).Session; s != nil {
		return s.ID
	}
	return ""
}

func (p *Portal) expired(w http.ResponseWriter, r *http.Request) {
	p.Cookies.Clear(w, web.PendingCookie)
	p.Render.Render(w, r, http.StatusBadRequest, "message", web.Page{Title: "Sign in again",
		Data: msg("This sign-in has expired or was already completed. Sign in again.", "/signin", "Sign in")})
}

// --- the MFA step of sign-in ---

type mfaStepData struct {
	ReturnTo  string
	UserName  string
	TOTP      bool
	WebAuthn  bool
	Recovery  bool
	Blocked   bool
	Admin     bool
	Recovered bool // the user chose the recovery-code form
}

func (p *Portal) renderMFAStep(w http.ResponseWriter, r *http.Request, status int, st authn.PendingState, returnTo, errText string) {
	d := mfaStepData{
		ReturnTo: web.SafeReturnTo(returnTo, ""), UserName: st.User.UserName,
		TOTP: st.Factors.TOTP, WebAuthn: st.WebAuthn && len(st.Factors.WebAuthn) > 0, Recovery: st.Factors.RecoveryCodes > 0,
		Blocked: st.Blocked, Admin: st.User.Role == directory.RoleAdmin,
	}
	title := "Verify it's you"
	if d.Blocked {
		title = "Second factor required"
	}
	p.Render.Render(w, r, status, "mfa_signin", web.Page{Title: title, Error: errText, Data: d})
}

func (p *Portal) mfaPage(w http.ResponseWriter, r *http.Request) {
	returnTo := r.URL.Query().Get("return_to")
	st, err := p.mfa().Pending(r.Context(), p.Cookies.Get(r, web.PendingCookie))
	switch {
	case errors.Is(err, authn.ErrTokenInvalid):
		p.expired(w, r)
		return
	case err != nil:
		p.fail(w, r, err)
		return
	case st.Data.Enrol:
		http.Redirect(w, r, withReturnTo("/signin/mfa/enrol", returnTo), http.StatusSeeOther)
		return
	}
	p.renderMFAStep(w, r, http.StatusOK, st, returnTo, "")
}

// mfaFormResult finishes a form-posted second factor: cookies and redirect
// on success, the MFA page again with the error otherwise.
func (p *Portal) mfaFormResult(w http.ResponseWriter, r *http.Request, out authn.MFAOutcome, err error, returnTo string) {
	if err == nil {
		p.setMFACookies(w, out)
		target := web.SafeReturnTo(returnTo, "/start")
		if lastMethod(out) == authn.CredRecoveryCode && out.RecoveryCodesLeft <= 3 {
			target = withReturnTo("/profile/mfa?done=recovery-low", returnTo)
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	if errors.Is(err, authn.ErrTokenInvalid) {
		p.expired(w, r)
		return
	}
	status, text, ok := mfaError(err)
	if !ok {
		p.fail(w, r, err)
		return
	}
	retryAfter(w, err)
	st, perr := p.mfa().Pending(r.Context(), p.Cookies.Get(r, web.PendingCookie))
	if perr != nil {
		p.expired(w, r)
		return
	}
	p.renderMFAStep(w, r, status, st, returnTo, text)
}

func lastMethod(out authn.MFAOutcome) string {
	if m := out.Session.Methods; len(m) > 0 {
		return m[len(m)-1]
	}
	return ""
}

func (p *Portal) mfaTOTP(w http.ResponseWriter, r *http.Request) {
	returnTo := r.PostFormValue("return_to")
	out, err := p.mfa().SignInTOTP(r.Context(), p.Cookies.Get(r, web.PendingCookie), r.PostFormValue("code"), client(r), replacesSession(r))
	p.mfaFormResult(w, r, out, err, returnTo)
}

func (p *Portal) mfaRecovery(w http.ResponseWriter, r *http.Request) {
	returnTo := r.PostFormValue("return_to")
	out, err := p.mfa().SignInRecoveryCode(r.Context(), p.Cookies.Get(r, web.PendingCookie), r.PostFormValue("code"), client(r), replacesSession(r))
	p.mfaFormResult(w, r, out, err, returnTo)
}

func (p *Portal) mfaWebAuthnBegin(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.readCeremony(w, r); !ok {
		return
	}
	c, err := p.mfa().BeginWebAuthnSignIn(r.Context(), p.Cookies.Get(r, web.PendingCookie))
	if err != nil {
		p.jsonFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (p *Portal) mfaWebAuthnFinish(w http.ResponseWriter, r *http.Request) {
	req, ok := p.readCeremony(w, r)
	if !ok {
		return
	}
	out, err := p.mfa().FinishWebAuthnSignIn(r.Context(), p.Cookies.Get(r, web.PendingCookie), req.Ceremony, req.Credential, client(r), replacesSession(r))
	if err != nil {
		p.jsonFail(w, r, err)
		return
	}
	p.setMFACookies(w, out)
	writeJSON(w, http.StatusOK, map[string]string{"redirect": web.SafeReturnTo(req.ReturnTo, "/start")})
}

// --- enrolment during sign-in ---

type enrolData struct {
	ReturnTo string
	UserName string
	WebAuthn bool
}

func (p *Portal) enrolState(w http.ResponseWriter, r *http.Request) (authn.PendingState, bool) {
	st, err := p.mfa().Pending(r.Context(), p.Cookies.Get(r, web.PendingCookie))
	switch {
	case errors.Is(err, authn.ErrTokenInvalid):
		p.expired(w, r)
		return st, false
	case err != nil:
		p.fail(w, r, err)
		return st, false
	case !st.Data.Enrol:
		http.Redirect(w, r, withReturnTo("/signin/mfa", r.FormValue("return_to")), http.StatusSeeOther)
		return st, false
	}
	return st, true
}

func (p *Portal) enrolPage(w http.ResponseWriter, r *http.Request) {
	st, ok := p.enrolState(w, r)
	if !ok {
		return
	}
	p.Render.Render(w, r, http.StatusOK, "mfa_enrol", web.Page{Title: "Set up a second factor",
		Data: enrolData{ReturnTo: web.SafeReturnTo(r.URL.Query().Get("return_to"), ""), UserName: st.User.UserName, WebAuthn: st.WebAuthn}})
}

func (p *Portal) enrolTOTPStart(w http.ResponseWriter, r *http.Request) {
	returnTo := r.PostFormValue("return_to")
	if _, err := p.mfa().StartEnrolTOTP(r.Context(), p.Cookies.Get(r, web.PendingCookie)); err != nil {
		if errors.Is(err, authn.ErrTokenInvalid) {
			p.expired(w, r)
			return
		}
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, withReturnTo("/signin/mfa/enrol/totp", returnTo), http.StatusSeeOther)
}

// totpSetupData is the authenticator-app setup page, for sign-in enrolment
// and for the profile.
type totpSetupData struct {
	QR       template.URL
	URL      template.URL // otpauth:// link, for phones
	Secret   string
	Action   string
	Cancel   string
	ReturnTo string
	SignIn   bool
}

func (p *Portal) renderTOTPSetup(w http.ResponseWriter, r *http.Request, status int, s authn.TOTPSetup, signIn bool, returnTo, errText string) {
	d := totpSetupData{QR: pngDataURL(s.QRPNG), URL: template.URL(s.URL), Secret: s.SecretGroup, SignIn: signIn,
		ReturnTo: web.SafeReturnTo(returnTo, "")}
	if signIn {
		d.Action, d.Cancel = "/signin/mfa/enrol/totp/confirm", withReturnTo("/signin/mfa/enrol", returnTo)
	} else {
		d.Action, d.Cancel = "/profile/mfa/totp/confirm", "/profile/mfa"
	}
	page := web.Page{Title: "Set up an authenticator app", Error: errText, Data: d}
	if !signIn {
		page.Nav = "profile"
	}
	p.Render.Render(w, r, status, "mfa_totp", page)
}

func (p *Portal) enrolTOTPPage(w http.ResponseWriter, r *http.Request) {
	returnTo := r.URL.Query().Get("return_to")
	if _, ok := p.enrolState(w, r); !ok {
		return
	}
	s, err := p.mfa().PendingEnrolTOTP(r.Context(), p.Cookies.Get(r, web.PendingCookie))
	if errors.Is(err, errs.ErrNotFound) {
		http.Redirect(w, r, withReturnTo("/signin/mfa/enrol", returnTo), http.StatusSeeOther)
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.renderTOTPSetup(w, r, http.StatusOK, s, true, returnTo, "")
}

// enrolledTarget is where a sign-in that enrolled its first factor goes: the
// MFA page of the profile, which asks for recovery codes, then return_to.
func enrolledTarget(returnTo string) string {
	return withReturnTo("/profile/mfa?done=enrolled", returnTo)
}

func (p *Portal) enrolTOTPConfirm(w http.ResponseWriter, r *http.Request) {
	returnTo := r.PostFormValue("return_to")
	pending := p.Cookies.Get(r, web.PendingCookie)
	out, err := p.mfa().ConfirmEnrolTOTP(r.Context(), pending, r.PostFormValue("code"), client(r), replacesSession(r))
	if err == nil {
		p.setMFACookies(w, out)
		http.Redirect(w, r, enrolledTarget(returnTo), http.StatusSeeOther)
		return
	}
	if errors.Is(err, authn.ErrTokenInvalid) {
		p.expired(w, r)
		return
	}
	status, text, ok := mfaError(err)
	if !ok {
		p.fail(w, r, err)
		return
	}
	retryAfter(w, err)
	s, serr := p.mfa().PendingEnrolTOTP(r.Context(), pending)
	if serr != nil {
		p.expired(w, r)
		return
	}
	p.renderTOTPSetup(w, r, status, s, true, returnTo, text)
}

func (p *Portal) enrolWebAuthnBegin(w http.ResponseWriter, r *http.Request) {
	req, ok := p.readCeremony(w, r)
	if !ok {
		return
	}
	c, err := p.mfa().BeginEnrolWebAuthn(r.Context(), p.Cookies.Get(r, web.PendingCookie), req.Name)
	if err != nil {
		p.jsonFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (p *Portal) enrolWebAuthnFinish(w http.ResponseWriter, r *http.Request) {
	req, ok := p.readCeremony(w, r)
	if !ok {
		return
	}
	out, err := p.mfa().FinishEnrolWebAuthn(r.Context(), p.Cookies.Get(r, web.PendingCookie), req.Ceremony, req.Credential, client(r), replacesSession(r))
	if err != nil {
		p.jsonFail(w, r, err)
		return
	}
	p.setMFACookies(w, out)
	writeJSON(w, http.StatusOK, map[string]string{"redirect": enrolledTarget(req.ReturnTo)})
}

// --- passkey sign-in ---

func (p *Portal) passkeyPage(w http.ResponseWriter, r *http.Request) {
	if !p.mfa().PasskeySignInEnabled() {
		p.Render.Render(w, r, http.StatusNotFound, "message", web.Page{Title: "Not available",
			Data: msg(authn.ErrPasskeyDisabled.Error(), "/signin", "Sign in with your password")})
		return
	}
	p.Render.Render(w, r, http.StatusOK, "mfa_passkey", web.Page{Title: "Sign in with a passkey",
		Data: enrolData{ReturnTo: web.SafeReturnTo(r.URL.Query().Get("return_to"), "")}})
}

func (p *Portal) passkeyBegin(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.readCeremony(w, r); !ok {
		return
	}
	c, err := p.mfa().BeginPasskeySignIn(r.Context())
	if err != nil {
		p.jsonFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (p *Portal) passkeyFinish(w http.ResponseWriter, r *http.Request) {
	req, ok := p.readCeremony(w, r)
	if !ok {
		return
	}
	out, err := p.mfa().FinishPasskeySignIn(r.Context(), req.Ceremony, req.Credential, client(r), replacesSession(r))
	if err != nil {
		p.jsonFail(w, r, err)
		return
	}
	p.setMFACookies(w, out)
	writeJSON(w, http.StatusOK, map[string]string{"redirect": web.SafeReturnTo(req.ReturnTo, "/start")})
}

// --- the user's own factors ---

type profileMFAData struct {
	Factors  authn.Factors
	WebAuthn bool
	MaxKeys  int
	ReturnTo string
	Prompt   bool // ask for recovery codes (a factor exists, no codes left)
}

var profileMFAFlash = map[string]string{
	"enrolled":         "Your second factor is set up. Now generate recovery codes and keep them safe: they let you sign in if you lose it.",
	"totp":             "Your authenticator app is set up.",
	"totp-removed":     "Your authenticator app was removed.",
	"webauthn":         "Your security key or passkey was registered.",
	"webauthn-removed": "The security key or passkey was removed.",
	"recovery-low":     "You signed in with a recovery code, and few are left. Generate new ones.",
}

func (p *Portal) renderProfileMFA(w http.ResponseWriter, r *http.Request, status int, errText string) {
	a := web.AuthFrom(r.Context())
	f, err := p.mfa().Factors(r.Context(), a.User.ID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	d := profileMFAData{Factors: f, WebAuthn: p.mfa().WebAuthnEnabled(), MaxKeys: authn.MaxWebAuthnCredentials,
		ReturnTo: web.SafeReturnTo(r.FormValue("return_to"), ""), Prompt: f.Any() && f.RecoveryCodes == 0}
	p.Render.Render(w, r, status, "profile_mfa", web.Page{Title: "Multi-factor authentication", Nav: "profile",
		Flash: profileMFAFlash[r.URL.Query().Get("done")], Error: errText, Data: d})
}

func (p *Portal) profileMFA(w http.ResponseWriter, r *http.Request) {
	p.renderProfileMFA(w, r, http.StatusOK, "")
}

// profileFail shows an MFA error on the MFA profile page.
func (p *Portal) profileFail(w http.ResponseWriter, r *http.Request, err error) {
	status, text, ok := mfaError(err)
	if !ok {
		p.fail(w, r, err)
		return
	}
	retryAfter(w, err)
	p.renderProfileMFA(w, r, status, text)
}

func (p *Portal) profileTOTPSetup(w http.ResponseWriter, r *http.Request) {
	a := web.AuthFrom(r.Context())
	if _, err := p.mfa().BeginTOTP(r.Context(), *a.User, r.PostFormValue("password"), client(r)); err != nil {
		p.profileFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/profile/mfa/totp", http.StatusSeeOther)
}

func (p *Portal) profileTOTPPage(w http.ResponseWriter, r *http.Request) {
	a := web.AuthFrom(r.Context())
	s, err := p.mfa().PendingTOTP(r.Context(), *a.User)
	if errors.Is(err, errs.ErrNotFound) {
		http.Redirect(w, r, "/profile/mfa", http.StatusSeeOther)
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.renderTOTPSetup(w, r, http.StatusOK, s, false, "", "")
}

func (p *Portal) profileTOTPConfirm(w http.ResponseWriter, r *http.Request) {
	a := web.AuthFrom(r.Context())
	err := p.mfa().ConfirmTOTP(r.Context(), *a.User, r.PostFormValue("code"), client(r))
	if err == nil {
		http.Redirect(w, r, "/profile/mfa?done=totp", http.StatusSeeOther)
		return
	}
	status, text, ok := mfaError(err)
	if !ok || errors.Is(err, authn.ErrFactorExists) {
		p.profileFail(w, r, err)
		return
	}
	retryAfter(w, err)
	s, serr := p.mfa().PendingTOTP(r.Context(), *a.User)
	if serr != nil {
		http.Redirect(w, r, "/profile/mfa", http.StatusSeeOther)
		return
	}
	p.renderTOTPSetup(w, r, status, s, false, "", text)
}

func (p *Portal) profileTOTPRemove(w http.ResponseWriter, r *http.Request) {
	a := web.AuthFrom(r.Context())
	if err := p.mfa().RemoveTOTP(r.Context(), *a.User, r.PostFormValue("password"), client(r)); err != nil {
		if errors.Is(err, errs.ErrNotFound) {
			http.Redirect(w, r, "/profile/mfa", http.StatusSeeOther)
			return
		}
		p.profileFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/profile/mfa?done=totp-removed", http.StatusSeeOther)
}

func (p *Portal) profileWebAuthnBegin(w http.ResponseWriter, r *http.Request) {
	req, ok := p.readCeremony(w, r)
	if !ok {
		return
	}
	a := web.AuthFrom(r.Context())
	c, err := p.mfa().BeginRegisterWebAuthn(r.Context(), *a.User, a.Session.ID, req.Name, req.Password, client(r))
	if err != nil {
		p.jsonFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (p *Portal) profileWebAuthnFinish(w http.ResponseWriter, r *http.Request) {
	req, ok := p.readCeremony(w, r)
	if !ok {
		return
	}
	a := web.AuthFrom(r.Context())
	if err := p.mfa().FinishRegisterWebAuthn(r.Context(), *a.User, a.Session.ID, req.Ceremony, req.Credential, client(r)); err != nil {
		p.jsonFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": "/profile/mfa?done=webauthn"})
}

type removeKeyData struct {
	Key    authn.WebAuthnKey
	Action string
}

func (p *Portal) profileWebAuthnRemovePage(w http.ResponseWriter, r *http.Request) {
	a := web.AuthFrom(r.Context())
	k, err := p.mfa().WebAuthnKey(r.Context(), *a.User, r.PathValue("id"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.Render.Render(w, r, http.StatusOK, "mfa_remove", web.Page{Title: "Remove a security key", Nav: "profile",
		Data: removeKeyData{Key: k, Action: "/profile/mfa/webauthn/" + url.PathEscape(k.ID) + "/remove"}})
}

func (p *Portal) profileWebAuthnRemove(w http.ResponseWriter, r *http.Request) {
	a := web.AuthFrom(r.Context())
	id := r.PathValue("id")
	err := p.mfa().RemoveWebAuthn(r.Context(), *a.User, id, r.PostFormValue("password"), client(r))
	if err == nil {
		http.Redirect(w, r, "/profile/mfa?done=webauthn-removed", http.StatusSeeOther)
		return
	}
	status, text, ok := mfaError(err)
	if !ok || errors.Is(err, errs.ErrNotFound) {
		p.profileFail(w, r, err)
		return
	}
	k, kerr := p.mfa().WebAuthnKey(r.Context(), *a.User, id)
	if kerr != nil {
		p.profileFail(w, r, err)
		return
	}
	retryAfter(w, err)
	p.Render.Render(w, r, status, "mfa_remove", web.Page{Title: "Remove a security key", Nav: "profile", Error: text,
		Data: removeKeyData{Key: k, Action: "/profile/mfa/webauthn/" + url.PathEscape(k.ID) + "/remove"}})
}

type recoveryCodesData struct {
	Codes    []string
	ReturnTo string
}

func (p *Portal) profileRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	a := web.AuthFrom(r.Context())
	codes, err := p.mfa().GenerateRecoveryCodes(r.Context(), *a.User, r.PostFormValue("password"), client(r))
	if err != nil {
		p.profileFail(w, r, err)
		return
	}
	// Shown once: this response is the only place the codes ever appear.
	p.Render.Render(w, r, http.StatusOK, "mfa_recovery_codes", web.Page{Title: "Your recovery codes", Nav: "profile",
		Data: recoveryCodesData{Codes: codes, ReturnTo: web.SafeReturnTo(r.PostFormValue("return_to"), "")}})
}
