// Package portal is the end user's side of idcenter in the browser: sign-in
// (username, password, then a second factor when required), sign-out, the
// access portal at /start, and the user's profile (password, MFA devices,
// sessions). Handlers are thin: they parse the form and call one authn or
// session service method.
package portal

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/authn"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/httpx"
	"github.com/idcenter/idcenter/internal/session"
	"github.com/idcenter/idcenter/internal/web"
)

// Users reads users by id for the signed-in browser.
type Users interface {
	GetUser(ctx context.Context, id string) (directory.User, error)
}

// Portal holds the browser handlers' dependencies.
type Portal struct {
	Render   *web.Renderer
	Auth     *authn.Service
	Sessions *session.Service
	Users    Users
	Cookies  web.Cookies
	CSRF     web.CSRF
	Log      *slog.Logger
	// MFA and Recovery are the services behind the second-factor and the
	// invitation/reset pages (set by the app; see mfa.go and recovery.go).
	MFA any
	// Accounts sends and accepts invitations and password resets.
	Accounts *authn.Accounts
	// CSRFExempt, when set, names the only requests that skip the CSRF-token
	// check: the SAML HTTP-POST binding's SSO endpoint, which service
	// providers post to cross-site (idp.IsSSOPOST). It must match exact paths.
	CSRFExempt func(*http.Request) bool
	// Tiles lists the signed-in user's applications for /start (tiles.go).
	Tiles Tiles
	// Cloud lists the signed-in user's AWS roles for the Accounts view
	// (accounts.go); nil: no Accounts view. Federation signs in to the AWS
	// console and obtains access keys; nil hides those buttons. Audit
	// records console sign-ins, issued keys and refusals. PostScript is the
	// same-origin URL of the SAML auto-submit script (idp.ScriptPath).
	Cloud      Roles
	Federation cloud.Federation
	Audit      audit.Appender
	PostScript string
	// SignedOut, when set, runs after sign-out has ended the session and
	// cleared the cookies; it reports whether it answered (SAML single
	// logout propagation, idp.SLO.PropagateLogout).
	SignedOut func(w http.ResponseWriter, r *http.Request, sessionID string) bool
}

// Register mounts the portal's routes on mux. Every route shows its access
// rule: p.public (anyone) or p.signedIn (a live session).
func (p *Portal) Register(mux *http.ServeMux) {
	mux.Handle("GET /static/", web.Static())
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.WriteHeader(http.StatusNoContent)
	})
	mux.Handle("GET /{$}", p.public(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/start", http.StatusSeeOther) }))
	mux.Handle("GET /signin", p.public(p.signInPage))
	mux.Handle("POST /signin", p.public(p.signInUsername))
	mux.Handle("POST /signin/password", p.public(p.signInPassword))
	mux.Handle("POST /signout", p.signedIn(p.signOut))
	mux.Handle("GET /start", p.signedIn(p.start))
	mux.Handle("GET /profile", p.signedIn(p.profile))
	mux.Handle("POST /profile/password", p.signedIn(p.changePassword))
	mux.Handle("POST /profile/sessions/{id}/end", p.signedIn(p.endSession))
	p.registerAccounts(mux)
	p.registerMFA(mux)
	p.registerRecovery(mux)
}

// Middleware loads the browser's session and enforces CSRF on every
// state-changing request. It wraps the whole browser mux.
func (p *Portal) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a web.Auth
		if tok := p.Cookies.Get(r, web.SessionCookie); tok != "" {
			sess, err := p.Sessions.Validate(r.Context(), tok)
			switch {
			case errors.Is(err, session.ErrNoSession):
				p.Cookies.Clear(w, web.SessionCookie)
			case err != nil:
				p.fail(w, r, err)
				return
			default:
				u, err := p.Users.GetUser(r.Context(), sess.UserID)
				switch {
				case errors.Is(err, errs.ErrNotFound):
					p.Cookies.Clear(w, web.SessionCookie)
				case err != nil:
					p.fail(w, r, err)
					return
				case u.Active:
					a.Session, a.User = &sess, &u
				default:
					p.Cookies.Clear(w, web.SessionCookie)
				}
			}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && (p.CSRFExempt == nil || !p.CSRFExempt(r)) {
			if !p.CSRF.Check(r, a.Session) {
				p.Log.Warn("csrf check failed", "path", r.URL.Path, "request_id", httpx.RequestID(r.Context()))
				p.Render.Render(w, r, http.StatusForbidden, "message", web.Page{Title: "Request refused",
					Data: msg("This form has expired or did not come from this site. Go back, reload the page and try again.", "/start", "Go to the portal")})
				return
			}
		}
		a.CSRF = p.CSRF.Token(w, r, a.Session)
		if a.User != nil {
			ctx := r.Context()
			ri := audit.RequestFrom(ctx)
			ctx = audit.WithRequest(ctx, ri)
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r.WithContext(web.WithAuth(r.Context(), a)))
	})
}

type message struct {
	Message, Link, LinkText string
}

func msg(text, link, linkText string) message {
	return message{Message: text, Link: link, LinkText: linkText}
}

func (p *Portal) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, _, _, _ := httpx.ErrorStatus(err)
	if status >= 500 {
		p.Log.Error("request failed", "error", err.Error(), "request_id", httpx.RequestID(r.Context()))
	}
	text := "Something went wrong. Try again; if it keeps happening, quote request " + httpx.RequestID(r.Context()) + "."
	switch status {
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "5")
		text = "idcenter cannot reach its database right now. Try again in a moment."
	case http.StatusNotFound:
		text = "That page or object does not exist."
	case http.StatusForbidden:
		text = "You do not have access to this page."
	case http.StatusBadRequest, http.StatusConflict:
		text = err.Error()
	}
	p.Render.Render(w, r, status, "message", web.Page{Title: http.StatusText(status), Data: msg(text, "/start", "Go to the portal")})
}

func (p *Portal) public(h http.HandlerFunc) http.Handler { return h }

// signedIn requires a live session; anonymous browsers are sent to sign in
// and brought back afterwards.
func (p *Portal) signedIn(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if web.AuthFrom(r.Context()).User == nil {
			target := "/signin"
			if r.Method == http.MethodGet {
				target += "?return_to=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		h(w, r)
	})
}

// SignedIn exposes the signed-in guard to other browser surfaces.
func (p *Portal) SignedIn(h http.HandlerFunc) http.Handler { return p.signedIn(h) }

// Fail renders an error page for err.
func (p *Portal) Fail(w http.ResponseWriter, r *http.Request, err error) { p.fail(w, r, err) }

func client(r *http.Request) authn.Client {
	return authn.Client{IP: audit.RequestFrom(r.Context()).ClientIP, UserAgent: r.UserAgent()}
}

// --- sign-in ---

type signInData struct {
	Username, ReturnTo string
	Passkey            bool // offer "Sign in with a passkey"
}

func (p *Portal) passkeyEnabled() bool {
	m, ok := p.MFA.(interface{ PasskeySignInEnabled() bool })
	return ok && m.PasskeySignInEnabled()
}

func (p *Portal) signInPage(w http.ResponseWriter, r *http.Request) {
	rt := web.SafeReturnTo(r.URL.Query().Get("return_to"), "")
	d := signInData{ReturnTo: rt, Passkey: p.passkeyEnabled()}
	if u := web.AuthFrom(r.Context()).User; u != nil {
		// prompt=login (SAML ForceAuthn, IDP-14) asks a signed-in user to
		// sign in again; the new session replaces this one.
		if r.URL.Query().Get("prompt") != "login" {
			http.Redirect(w, r, web.SafeReturnTo(rt, "/start"), http.StatusSeeOther)
			return
		}
		d.Username = u.UserName
	}
	page := web.Page{Title: "Sign in", Data: d}
	if r.URL.Query().Get("signed_out") == "1" {
		page.Flash = "You have signed out."
	}
	p.Render.Render(w, r, http.StatusOK, "signin", page)
}

func (p *Portal) signInUsername(w http.ResponseWriter, r *http.Request) {
	d := signInData{Username: strings.TrimSpace(r.PostFormValue("username")), ReturnTo: web.SafeReturnTo(r.PostFormValue("return_to"), "")}
	if d.Username == "" || len(d.Username) > 256 {
		p.Render.Render(w, r, http.StatusBadRequest, "signin", web.Page{Title: "Sign in", Error: "Enter your username.", Data: d})
		return
	}
	// The same page for every username: nothing here says whether it exists.
	p.Render.Render(w, r, http.StatusOK, "password", web.Page{Title: "Sign in", Data: d})
}

func (p *Portal) signInPassword(w http.ResponseWriter, r *http.Request) {
	d := signInData{Username: strings.TrimSpace(r.PostFormValue("username")), ReturnTo: web.SafeReturnTo(r.PostFormValue("return_to"), "")}
	password := r.PostFormValue("password")
	replaces := ""
	if s := web.AuthFrom(r.Context()).Session; s != nil {
		replaces = s.ID
	}
	out, err := p.Auth.PasswordStep(r.Context(), d.Username, password, client(r), p.Cookies.Get(r, web.DeviceCookie), replaces)
	var te *authn.ThrottledError
	switch {
	case errors.As(err, &te):
		w.Header().Set("Retry-After", itoa(int(te.RetryAfter.Seconds()+1)))
		p.Render.Render(w, r, http.StatusTooManyRequests, "password", web.Page{Title: "Sign in", Error: te.Error(), Data: d})
		return
	case errors.Is(err, authn.ErrSignInFailed):
		p.Render.Render(w, r, http.StatusUnauthorized, "password", web.Page{Title: "Sign in", Error: authn.ErrSignInFailed.Error(), Data: d})
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	p.finish(w, r, out, d.ReturnTo)
}

// finish sets the cookies for an outcome and redirects: to the second
// factor when one is pending, else to the return-to page.
func (p *Portal) finish(w http.ResponseWriter, r *http.Request, out authn.Outcome, returnTo string) {
	if out.Pending != "" {
		p.Cookies.Set(w, web.PendingCookie, out.Pending, authn.PendingTTL)
		target := "/signin/mfa"
		if out.Enrol {
			target = "/signin/mfa/enrol"
		}
		if returnTo != "" {
			target += "?return_to=" + url.QueryEscape(returnTo)
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	p.SetSession(w, out)
	http.Redirect(w, r, web.SafeReturnTo(returnTo, "/start"), http.StatusSeeOther)
}

// SetSession sets the session cookie of a finished sign-in and drops the
// pending one.
func (p *Portal) SetSession(w http.ResponseWriter, out authn.Outcome) {
	p.Cookies.Clear(w, web.PendingCookie)
	p.Cookies.Set(w, web.SessionCookie, out.SessionToken, time.Until(out.Session.Expires))
	p.Cookies.SetStrict(w, web.ConsoleCookie, p.CSRF.ConsoleProof(&out.Session), time.Until(out.Session.Expires))
}

// ConsoleRequest reports whether a request may reach the admin console: it
// must carry the SameSite=Strict console cookie of its session.
func (p *Portal) ConsoleRequest(r *http.Request) bool {
	return p.CSRF.CheckConsole(r, web.AuthFrom(r.Context()).Session)
}

// Finish exposes finish to other browser surfaces (MFA, invitations).
func (p *Portal) Finish(w http.ResponseWriter, r *http.Request, out authn.Outcome, returnTo string) {
	p.finish(w, r, out, returnTo)
}

func (p *Portal) signOut(w http.ResponseWriter, r *http.Request) {
	a := web.AuthFrom(r.Context())
	if err := p.Auth.SignOut(r.Context(), *a.Session, *a.User); err != nil && !errors.Is(err, errs.ErrNotFound) {
		p.fail(w, r, err)
		return
	}
	p.Cookies.Clear(w, web.SessionCookie)
	p.Cookies.Clear(w, web.ConsoleCookie)
	if p.SignedOut != nil && p.SignedOut(w, r, a.Session.ID) {
		return
	}
	http.Redirect(w, r, "/signin?signed_out=1", http.StatusSeeOther)
}

func itoa(n int) string {
	if n < 1 {
		n = 1
	}
	b := []byte{}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// --- portal and profile ---

type tile = Tile

type startData struct {
	Query string
	Apps  []tile
	// Roles is how many AWS roles the user holds (the Accounts tab is
	// shown only when there are some); Matches how many match Query.
	Roles, Matches int
}

func (p *Portal) start(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	tiles, err := p.startTiles(r, q)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	roles, err := p.userRoles(r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.Render.Render(w, r, http.StatusOK, "start", web.Page{Title: "Access portal", Nav: "start",
		Data: startData{Query: q, Apps: tiles, Roles: len(roles), Matches: len(filterRoles(roles, q))}})
}

type profileData struct {
	User           directory.User
	Sessions       []session.Session
	CurrentSession string
	Extra          any
}

func (p *Portal) profile(w http.ResponseWriter, r *http.Request) {
	p.renderProfile(w, r, http.StatusOK, "", "")
}

func (p *Portal) renderProfile(w http.ResponseWriter, r *http.Request, status int, flash, errText string) {
	a := web.AuthFrom(r.Context())
	sessions, err := p.Sessions.List(r.Context(), a.User.ID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if flash == "" {
		flash = r.URL.Query().Get("done")
		switch flash {
		case "password":
			flash = "Your password was changed. Your other sessions were signed out."
		case "session":
			flash = "The session was ended."
		default:
			flash = ""
		}
	}
	p.Render.Render(w, r, status, "profile", web.Page{Title: "My profile", Nav: "profile", Flash: flash, Error: errText,
		Data: profileData{User: *a.User, Sessions: sessions, CurrentSession: a.Session.ID}})
}

func (p *Portal) changePassword(w http.ResponseWriter, r *http.Request) {
	a := web.AuthFrom(r.Context())
	err := p.Auth.ChangePassword(r.Context(), *a.User, a.Session.ID, r.PostFormValue("current"), r.PostFormValue("new"))
	var inv *errs.Invalid
	switch {
	case errors.Is(err, authn.ErrSignInFailed):
		p.renderProfile(w, r, http.StatusBadRequest, "", "Your current password is not correct.")
	case errors.As(err, &inv):
		p.renderProfile(w, r, http.StatusBadRequest, "", "The new password was not accepted: "+inv.Problems[0].Reason+".")
	case err != nil:
		p.fail(w, r, err)
	default:
		http.Redirect(w, r, "/profile?done=password", http.StatusSeeOther)
	}
}

func (p *Portal) endSession(w http.ResponseWriter, r *http.Request) {
	a := web.AuthFrom(r.Context())
	actor := audit.Actor{Type: audit.ActorUser, ID: a.User.ID, Name: a.User.UserName, Role: a.User.Role}
	if err := p.Sessions.End(r.Context(), actor, a.User.ID, r.PathValue("id"), "ended by user"); err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/profile?done=session", http.StatusSeeOther)
}
