// Package httpx holds HTTP plumbing shared by every surface: request ids,
// client IPs (X-Forwarded-For only from trusted proxies), the access log,
// request metrics, panic recovery, size-limited strict JSON decoding, and
// RFC 9457 problem responses.
package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
)

type ctxKey int

const requestIDKey ctxKey = 0

// RequestID returns the request id stored in ctx.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{8,128}$`)

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Proxies decides which peers may set X-Forwarded-For.
type Proxies []netip.Prefix

// ParseProxies parses CIDRs (validated by config).
func ParseProxies(cidrs []string) Proxies {
	var p Proxies
	for _, c := range cidrs {
		if pr, err := netip.ParsePrefix(c); err == nil {
			p = append(p, pr)
		}
	}
	return p
}

func (p Proxies) trusted(a netip.Addr) bool {
	for _, pr := range p {
		if pr.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// ClientIP returns the client address: the peer, or, when the peer is a
// trusted proxy, the right-most X-Forwarded-For entry that is not itself one.
func (p Proxies) ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !p.trusted(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return host
		}
		if !p.trusted(a) {
			return a.Unmap().String()
		}
	}
	return host
}

// statusWriter records the status and size written.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Observer receives one call per finished request (metrics).
type Observer func(route, method string, status int, d time.Duration)

// Middleware wraps the root handler: request id, client IP, body limit,
// panic recovery, access log and metrics.
type Middleware struct {
	Log          *slog.Logger
	Proxies      Proxies
	MaxBodyBytes int64
	// BodyLimits overrides MaxBodyBytes for exact "METHOD /path" keys
	// (e.g. declarative apply, whose documents can be large).
	BodyLimits map[string]int64
	Observe    Observer
}

// Wrap returns next with the middleware applied.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID.MatchString(id) {
			id = newRequestID()
		}
		ip := m.Proxies.ClientIP(r)
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		ctx = audit.WithRequest(ctx, audit.RequestInfo{RequestID: id, ClientIP: ip})
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", id)
		limit := m.MaxBodyBytes
		if l, ok := m.BodyLimits[r.Method+" "+r.URL.Path]; ok {
			limit = l
		}
		if limit > 0 && r.Body != nil {
			if r.ContentLength > limit {
				WriteProblem(w, r, http.StatusRequestEntityTooLarge, "request body too large",
					"the request body is larger than "+strconv.FormatInt(limit, 10)+" bytes", nil)
				m.done(r, http.StatusRequestEntityTooLarge, start, ip)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				m.Log.ErrorContext(ctx, "panic", "request_id", id, "panic", v)
				if sw.status == 0 {
					WriteProblem(sw, r, http.StatusInternalServerError, "", "", nil)
				}
			}
			m.done(r, sw.status, start, ip)
		}()
		next.ServeHTTP(sw, r)
	})
}

func (m *Middleware) done(r *http.Request, status int, start time.Time, ip string) {
	if status == 0 {
		status = http.StatusOK
	}
	d := time.Since(start)
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	if m.Observe != nil {
		m.Observe(route, r.Method, status, d)
	}
	m.Log.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("request_id", RequestID(r.Context())), slog.String("method", r.Method),
		slog.String("route", route), slog.Int("status", status),
		slog.Duration("duration", d), slog.String("client_ip", ip))
}
