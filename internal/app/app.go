// Package app is the composition root: it opens the store, runs migrations,
// initialises a new instance, builds the domain services, mounts the HTTP
// surfaces and runs the server until its context ends.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/idcenter/idcenter/internal/adminapi"
	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/authn"
	"github.com/idcenter/idcenter/internal/awsfed"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/config"
	"github.com/idcenter/idcenter/internal/declarative"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/httpx"
	"github.com/idcenter/idcenter/internal/keys"
	"github.com/idcenter/idcenter/internal/mail"
	"github.com/idcenter/idcenter/internal/portal"
	"github.com/idcenter/idcenter/internal/saml/idp"
	"github.com/idcenter/idcenter/internal/scim"
	"github.com/idcenter/idcenter/internal/session"
	"github.com/idcenter/idcenter/internal/store/postgres"
	"github.com/idcenter/idcenter/internal/store/sqlite"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/tokens"
	"github.com/idcenter/idcenter/internal/web"
)

// App is a running idcenter instance.
type App struct {
	Config    config.Config
	Log       *slog.Logger
	Store     *sqlstore.Store
	Keys      *keys.Keyring
	Directory *directory.Service
	Tokens    *tokens.Service
	API       *adminapi.API
	SCIM      *scim.Handler
	Cloud     *cloud.Service
	Sessions  *session.Service
	Auth      *authn.Service
	Portal    *portal.Portal
	MFA       *authn.MFAService
	Accounts  *authn.Accounts
	Mail      mail.Sender
	Apps      *apps.Service
	IdP       *idp.Handler
	// FetchSPMetadata fetches SP metadata for the periodic refresh
	// (RefreshMetadata); wireApps sets saml.FetchSPMetadata, tests replace it.
	FetchSPMetadata apps.MetadataFetcher
	// Federation signs users in to AWS accounts and gets them STS
	// credentials (a cloud.Federation; wire_cloud.go).
	Federation *awsfed.Service

	metrics                 *metrics
	metadataRefreshFailures prometheus.Counter
	handler                 http.Handler
}

// OpenStore opens the configured store without migrating it.
func OpenStore(ctx context.Context, cfg config.Config) (*sqlstore.Store, error) {
	if cfg.Database != "" {
		return postgres.Open(ctx, cfg.Database)
	}
	return sqlite.Open(ctx, cfg.DataDir)
}

// New opens and migrates the store, initialises the instance on first start
// (writing the one-time bootstrap instructions to out) and builds the server.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, out io.Writer) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a, err := build(ctx, cfg, log, st, out)
	if err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

func build(ctx context.Context, cfg config.Config, log *slog.Logger, st *sqlstore.Store, out io.Writer) (*App, error) {
	n, err := st.Migrate(ctx)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		log.Info("applied migrations", "count", n, "engine", st.Dialect().Name)
	}
	ac := cfg.Auth
	hasher := authn.NewHasher(authn.Argon2Params{MemoryKiB: uint32(ac.Argon2MemoryKiB), Iterations: uint32(ac.Argon2Iterations),
		Parallelism: uint8(ac.Argon2Parallelism)}, max(2, runtime.GOMAXPROCS(0)))
	hasher.MinLen = int(ac.PasswordMinLength)
	a := &App{
		Config: cfg, Log: log, Store: st,
		Directory: &directory.Service{Store: st.Directory(), Hasher: hasher},
		Tokens:    &tokens.Service{Store: st},
	}
	if err := a.initInstance(ctx, out); err != nil {
		return nil, err
	}
	a.Sessions = &session.Service{Store: st, Absolute: ac.SessionDuration, Idle: ac.IdleTimeout}
	a.Auth = &authn.Service{
		Store: st, Hasher: hasher, Sessions: a.Sessions,
		Lockout: authn.Lockout{MaxFailures: int(ac.LockoutThreshold), Duration: ac.LockoutDuration, IPMaxFailures: int(ac.IPLockoutThreshold)},
	}
	rd, err := web.NewRenderer(log)
	if err != nil {
		return nil, err
	}
	rd.InstanceName = cfg.InstanceName
	cookies := web.Cookies{Secure: strings.HasPrefix(cfg.PublicURL(), "https://")}
	a.Portal = &portal.Portal{
		Render: rd, Auth: a.Auth, Sessions: a.Sessions, Users: st, Cookies: cookies,
		CSRF: web.CSRF{Key: a.Keys.Derive("csrf"), Cookies: cookies}, Log: log,
	}
	if err := a.wireMFA(); err != nil {
		return nil, err
	}
	if err := a.wireRecovery(); err != nil {
		return nil, err
	}
	a.metrics = newMetrics()
	a.wireApps()
	a.metrics.reg.MustRegister(newCertExpiry(a.Apps), newTokenExpiry(a.Tokens))
	a.Cloud = &cloud.Service{Store: st.Cloud()}
	a.wireFederation()
	a.API = &adminapi.API{
		Directory:   a.Directory,
		Tokens:      a.Tokens,
		Audit:       &audit.Service{Store: st},
		Declarative: &declarative.Service{Directory: a.Directory, Store: st.Directory(), Apps: a.Apps, Cloud: a.Cloud},
		Apps:        a.Apps,
		Cloud:       a.Cloud,
		BaseURL:     cfg.PublicURL(),
		Auth:        a.Tokens,
		Accounts:    a.Accounts,
		SignIn:      a.Auth,
		Sessions:    a.Sessions,
		Log:         log,
		OnError:     a.metrics.observeError,
	}
	a.API.IaC = a.wireIaC()
	a.SCIM = &scim.Handler{Directory: a.Directory, Auth: a.Tokens, Audit: st, BaseURL: cfg.PublicURL(), Log: log}
	a.handler = a.routes()
	return a, nil
}

// ApplyMaxBodyBytes is the body limit of POST /api/v1/apply.
const ApplyMaxBodyBytes = 16 << 20

// Handler is the root HTTP handler.
func (a *App) Handler() http.Handler { return a.handler }

// Close releases the store.
func (a *App) Close() error { return a.Store.Close() }

func (a *App) routes() http.Handler {
	// Browser pages: session cookie, CSRF, strict CSP, on their own mux.
	browser := http.NewServeMux()
	a.wirePortalAccounts()
	a.Portal.Register(browser)
	a.registerConsole(browser)
	cop := http.NewCrossOriginProtection()
	a.wireIdP(browser, cop)
	browserHandler := web.SecurityHeaders(cop.Handler(a.Portal.Middleware(browser)))

	mux := http.NewServeMux()
	mux.Handle("/", browserHandler)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.Handle("GET /metrics", a.metrics.handler())
	a.API.Register(mux)
	a.SCIM.Register(mux)
	mw := &httpx.Middleware{
		Log: a.Log, Proxies: httpx.ParseProxies(a.Config.HTTP.TrustedProxies),
		MaxBodyBytes: a.Config.HTTP.MaxBodyBytes, Observe: a.metrics.observe,
		// A declarative document lists the whole directory; allow it more room.
		BodyLimits: map[string]int64{"POST " + adminapi.Prefix + "/apply": max(a.Config.HTTP.MaxBodyBytes, ApplyMaxBodyBytes)},
	}
	return apiHeaders(mw.Wrap(mux))
}

// apiHeaders sets defensive headers on non-browser responses; browser pages
// set their own (web.SecurityHeaders).
func apiHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		if strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, scim.Prefix+"/") || r.URL.Path == "/metrics" || r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		}
		next.ServeHTTP(w, r)
	})
}

func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := a.Store.Ready(ctx); err != nil {
		a.Log.Warn("not ready", "error", err.Error())
		a.metrics.storeErrors.Inc()
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "not ready: store unavailable or migrations pending\n")
		return
	}
	_, _ = io.WriteString(w, "ready\n")
}

// Server returns an http.Server with the configured timeouts.
func (a *App) Server() *http.Server {
	h := a.Config.HTTP
	return &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: h.ReadHeaderTimeout,
		ReadTimeout:       h.ReadTimeout,
		WriteTimeout:      h.WriteTimeout,
		IdleTimeout:       h.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
}

// janitor purges expired sessions, tokens and counters now and then,
// activates application signing certificates whose scheduled time has come,
// and refreshes SP metadata fetched by URL once it is older than
// apps.metadata_refresh_interval (RefreshMetadata).
func (a *App) janitor(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if n, err := a.Store.PurgeExpired(ctx, time.Now().UTC()); err != nil && ctx.Err() == nil {
			a.Log.Warn("purge of expired rows failed", "error", err.Error())
		} else if n > 0 {
			a.Log.Info("purged expired rows", "count", n)
		}
		if a.Apps != nil {
			if n, err := a.Apps.ActivateDue(ctx, time.Now().UTC()); err != nil && ctx.Err() == nil {
				a.Log.Warn("scheduled certificate activation failed", "error", err.Error())
			} else if n > 0 {
				a.Log.Info("activated scheduled signing certificates", "count", n)
			}
			if _, err := a.RefreshMetadata(ctx); err != nil && ctx.Err() == nil {
				a.Log.Warn("SP metadata refresh failed", "error", err.Error())
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Serve serves on ln until ctx ends, then shuts down gracefully.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	go a.janitor(ctx)
	srv := a.Server()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.Log.Info("listening", "addr", ln.Addr().String(), "base_url", a.Config.PublicURL(), "engine", a.Store.Dialect().Name)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), a.Config.HTTP.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Run listens on the configured address and serves until ctx ends.
func (a *App) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.Config.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.Config.Listen, err)
	}
	return a.Serve(ctx, ln)
}

// Version is the build's version string.
func Version() string { return version() }
