// Package web holds what every browser surface shares: embedded templates
// and static files rendered into a buffer before writing, the browser
// security headers (a strict CSP: no inline script or style), CSRF
// protection for every form (cross-origin checks plus a token bound to the
// session, or to a pre-session cookie before sign-in), the session cookie,
// and safe return-to URLs.
package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/httpx"
	"github.com/idcenter/idcenter/internal/session"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Static serves the embedded static files under /static/.
func Static() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

// Renderer renders named pages inside the shared layout.
type Renderer struct {
	pages map[string]*template.Template
	Log   *slog.Logger
	// InstanceName is shown in page titles.
	InstanceName string
}

var funcs = template.FuncMap{
	"fmtTime": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"fmtTimePtr": func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"browser":      session.Describe,
	"join":         strings.Join,
	"primaryEmail": func(u directory.User) string { return u.PrimaryEmail() },
	"displayName": func(u any) string {
		switch v := u.(type) {
		case directory.User:
			return DisplayName(v)
		case *directory.User:
			if v != nil {
				return DisplayName(*v)
			}
		}
		return ""
	},
}

// DisplayName is how a user is shown: display name, given + family, or userName.
func DisplayName(u directory.User) string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	if n := strings.TrimSpace(u.Name.GivenName + " " + u.Name.FamilyName); n != "" {
		return n
	}
	return u.UserName
}

// NewRenderer parses every template at start-up; a broken template fails
// start-up, not a request.
func NewRenderer(log *slog.Logger) (*Renderer, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	r := &Renderer{pages: map[string]*template.Template{}, Log: log, InstanceName: "idcenter"}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", n, err)
		}
		r.pages[base] = t
	}
	return r, nil
}

// Page is the data every page gets.
type Page struct {
	Title    string
	Instance string
	User     *directory.User
	IsAdmin  bool
	CSRF     string
	Flash    string
	Error    string
	Nav      string // active navigation item
	Data     any
}

// Render writes page name with status. Rendering happens into a buffer, so a
// template error becomes a clean 500 rather than half a page.
func (rd *Renderer) Render(w http.ResponseWriter, r *http.Request, status int, name string, p Page) {
	t, ok := rd.pages[name]
	if !ok {
		rd.Log.Error("unknown page", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	a := AuthFrom(r.Context())
	if p.User == nil && a.User != nil {
		p.User = a.User
	}
	if p.User != nil {
		p.IsAdmin = p.User.Role == directory.RoleAdmin
	}
	if p.CSRF == "" {
		p.CSRF = a.CSRF
	}
	p.Instance = rd.InstanceName
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		rd.Log.Error("render", "page", name, "error", err.Error(), "request_id", httpx.RequestID(r.Context()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// SecurityHeaders sets the browser defences on every page.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// --- auth context ---

// Auth is the browser's sign-in state for one request.
type Auth struct {
	Session *session.Session
	User    *directory.User
	CSRF    string // token to embed in forms
}

type authKey struct{}

// WithAuth stores a in ctx.
func WithAuth(ctx context.Context, a Auth) context.Context {
	return context.WithValue(ctx, authKey{}, a)
}

// AuthFrom returns the request's Auth.
func AuthFrom(ctx context.Context) Auth {
	a, _ := ctx.Value(authKey{}).(Auth)
	return a
}

// --- cookies ---

// Cookies names and sets the browser cookies. Over https the names carry the
// __Host- prefix (Secure, Path=/, no Domain), which browsers enforce.
type Cookies struct {
	Secure bool
}

func (c Cookies) name(base string) string {
	if c.Secure {
		return "__Host-" + base
	}
	return base
}

// Names of the cookies.
const (
	SessionCookie = "idc_session"
	PendingCookie = "idc_pending"
	CSRFCookie    = "idc_csrf"
	DeviceCookie  = "idc_device"
	// ConsoleCookie is a SameSite=Strict proof bound to the session: the
	// admin console requires it, so no cross-site navigation or request
	// ever reaches the console with the admin's session.
	ConsoleCookie = "idc_console"
)

// Get returns a cookie's value.
func (c Cookies) Get(r *http.Request, base string) string {
	ck, err := r.Cookie(c.name(base))
	if err != nil {
		return ""
	}
	return ck.Value
}

// Set sets an HttpOnly, SameSite=Lax cookie; maxAge 0 means a browser-session cookie.
func (c Cookies) Set(w http.ResponseWriter, base, value string, maxAge time.Duration) {
	ck := &http.Cookie{Name: c.name(base), Value: value, Path: "/", HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteLaxMode}
	if maxAge > 0 {
		ck.MaxAge = int(maxAge.Seconds())
	}
	http.SetCookie(w, ck)
}

// SetStrict sets an HttpOnly, SameSite=Strict cookie.
func (c Cookies) SetStrict(w http.ResponseWriter, base, value string, maxAge time.Duration) {
	ck := &http.Cookie{Name: c.name(base), Value: value, Path: "/", HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteStrictMode}
	if maxAge > 0 {
		ck.MaxAge = int(maxAge.Seconds())
	}
	http.SetCookie(w, ck)
}

// Clear deletes a cookie.
func (c Cookies) Clear(w http.ResponseWriter, base string) {
	http.SetCookie(w, &http.Cookie{Name: c.name(base), Value: "", Path: "/", HttpOnly: true, Secure: c.Secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// --- CSRF ---

// CSRF issues and checks form tokens: HMAC(key, session id) for a signed-in
// browser, HMAC(key, pre-session cookie) before sign-in.
type CSRF struct {
	Key     []byte
	Cookies Cookies
}

func (c CSRF) mac(binding string) string {
	m := hmac.New(sha256.New, c.Key)
	m.Write([]byte(binding))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Token returns the form token for this browser, setting the pre-session
// cookie when needed.
func (c CSRF) Token(w http.ResponseWriter, r *http.Request, sess *session.Session) string {
	if sess != nil {
		return c.mac("session:" + sess.ID)
	}
	v := c.Cookies.Get(r, CSRFCookie)
	if len(v) < 20 {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		v = base64.RawURLEncoding.EncodeToString(b)
		c.Cookies.Set(w, CSRFCookie, v, 0)
		// Make the value visible to Check later in this request too.
		r.AddCookie(&http.Cookie{Name: c.Cookies.name(CSRFCookie), Value: v})
	}
	return c.mac("anon:" + v)
}

// ConsoleProof is the value of the console cookie for a session.
func (c CSRF) ConsoleProof(sess *session.Session) string { return c.mac("console:" + sess.ID) }

// CheckConsole reports whether the request carries the console cookie of
// its session (it is SameSite=Strict, so only same-site requests do).
func (c CSRF) CheckConsole(r *http.Request, sess *session.Session) bool {
	if sess == nil {
		return false
	}
	got := c.Cookies.Get(r, ConsoleCookie)
	return got != "" && hmac.Equal([]byte(got), []byte(c.ConsoleProof(sess)))
}

// Check verifies the token of a state-changing form.
func (c CSRF) Check(r *http.Request, sess *session.Session) bool {
	got := r.PostFormValue("csrf")
	if got == "" {
		got = r.Header.Get("X-CSRF-Token")
	}
	if got == "" {
		return false
	}
	var want string
	if sess != nil {
		want = c.mac("session:" + sess.ID)
	} else {
		v := c.Cookies.Get(r, CSRFCookie)
		if len(v) < 20 {
			return false
		}
		want = c.mac("anon:" + v)
	}
	return hmac.Equal([]byte(got), []byte(want))
}

// --- return-to ---

// SafeReturnTo returns target if it is a local path on this site, else def.
// It refuses absolute URLs, scheme-relative URLs (//evil), backslash tricks,
// and anything that would leave the origin once a browser normalises it.
func SafeReturnTo(target, def string) string {
	if target == "" || len(target) > 2048 || !strings.HasPrefix(target, "/") {
		return def
	}
	if strings.HasPrefix(target, "//") || strings.HasPrefix(target, "/\\") || strings.ContainsAny(target, "\\\r\n\t\x00") {
		return def
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return def
	}
	return target
}
