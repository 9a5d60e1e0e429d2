// Package adminapi is the admin REST API under /api/v1: thin handlers that
// decode a request, call one domain service method and map the result or the
// error (RFC 9457 problem documents). Every route is declared once in a table
// that also generates the OpenAPI document, with its required role visible in
// the declaration; bearer API tokens authenticate, cookies are never honoured.
package adminapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/declarative"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/httpx"
	"github.com/idcenter/idcenter/internal/iac"
	"github.com/idcenter/idcenter/internal/saml"
	"github.com/idcenter/idcenter/internal/tokens"
)

// Authenticator turns a bearer secret into an actor.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (audit.Actor, error)
}

// API holds the services the handlers call.
type API struct {
	Directory   *directory.Service
	Tokens      *tokens.Service
	Audit       *audit.Service
	Declarative *declarative.Service
	Apps        *apps.Service
	// Cloud manages AWS accounts, permission sets and account assignments.
	Cloud *cloud.Service
	Auth  Authenticator
	// BaseURL is the public base URL (no trailing slash): the IdP addresses
	// of applications are built from it.
	BaseURL string
	// Accounts sends invitations and password resets; SignIn unlocks
	// accounts; Sessions ends a user's sessions.
	Accounts AccountActions
	SignIn   Unlocker
	Sessions SessionEnder
	Log      *slog.Logger
	// OnError is told about every error response (metrics).
	OnError func(status int)
	// IaC renders accounts' IAM set-up as code and checks it for drift.
	IaC *iac.Service
	// FetchSPMetadata fetches SP metadata by URL for spMetadataUrl; nil
	// means saml.FetchSPMetadata with its defaults (tests replace it).
	FetchSPMetadata func(ctx context.Context, url string) (*saml.SPMetadata, error)

	routes []route
}

// Access levels a route requires. There is no "any token" level: SCIM
// tokens (audit.RoleSCIM) authenticate through the same tokens service but
// are scoped to /scim/v2, so every admin API route names the roles it
// accepts and none accepts scim.
const (
	accessAdmin = "admin"         // admin role
	accessRead  = "admin,auditor" // admin or read-only auditor
)

// AccountActions are the admin's email actions on a user.
type AccountActions interface {
	SendInvitation(ctx context.Context, actor audit.Actor, userID string) error
	ForcePasswordReset(ctx context.Context, actor audit.Actor, userID string) error
}

// Unlocker clears a locked-out account.
type Unlocker interface {
	Unlock(ctx context.Context, actor audit.Actor, u directory.User) error
}

// SessionEnder ends every session of a user.
type SessionEnder interface {
	EndAllForUser(ctx context.Context, actor audit.Actor, userID, reason string) (int, error)
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, actor audit.Actor) error

// route is one API operation; it drives both the mux and the OpenAPI document.
type route struct {
	Method, Path string // Path relative to /api/v1, with {name} parameters
	ID, Summary  string
	Tag          string
	Access       string
	Query        []param
	Headers      []param
	Body         any // zero value of the request body type, or nil
	BodyMedia    string
	Status       int
	Resp         any // zero value of the response type, or nil
	RespMedia    string
	h            handlerFunc
}

type param struct {
	Name, Type, Desc string
}

// Prefix is the API's base path.
const Prefix = "/api/v1"

// Register mounts every route on mux.
func (a *API) Register(mux *http.ServeMux) {
	a.routes = a.table()
	for _, rt := range a.routes {
		mux.Handle(rt.Method+" "+Prefix+rt.Path, a.wrap(rt))
	}
	mux.HandleFunc("GET "+Prefix+"/openapi.json", a.serveOpenAPI)
	mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteProblem(w, r, http.StatusNotFound, "", "no such API route: "+r.Method+" "+r.URL.Path, nil)
	})
}

// Routes lists "METHOD /api/v1/path" for every registered operation.
func (a *API) Routes() []string {
	out := make([]string, 0, len(a.routes)+1)
	for _, rt := range a.table() {
		out = append(out, rt.Method+" "+Prefix+rt.Path)
	}
	return out
}

func (a *API) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		actor, err := a.authenticate(r)
		if err == nil {
			err = authorize(actor, rt.Access)
		}
		if err == nil {
			err = rt.h(w, r, actor)
		}
		if err != nil {
			a.writeError(w, r, err)
		}
	})
}

func (a *API) authenticate(r *http.Request) (audit.Actor, error) {
	h := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return audit.Actor{}, errs.ErrUnauthenticated
	}
	return a.Auth.Authenticate(r.Context(), strings.TrimSpace(secret))
}

func authorize(actor audit.Actor, access string) error {
	return audit.RequireRole(actor, strings.Split(access, ",")...)
}

func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, title, detail, fields := httpx.ErrorStatus(err)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="idcenter"`)
	}
	if status >= 500 {
		a.Log.ErrorContext(r.Context(), "request failed", "request_id", httpx.RequestID(r.Context()), "error", err.Error())
	}
	if a.OnError != nil {
		a.OnError(status)
	}
	httpx.WriteProblem(w, r, status, title, detail, fields)
}

var errNoRoute = errors.New("no route")
