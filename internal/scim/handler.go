// Package scim is idcenter's SCIM 2.0 service provider (RFC 7643, RFC 7644):
// /scim/v2 Users, Groups and the discovery endpoints, for identity
// providers (Okta, Entra ID, JumpCloud, OneLogin, Google Workspace sync
// tools) that push people and groups into idcenter.
//
// It is a surface: requests are authenticated with SCIM-only bearer tokens,
// parsed (filters, PATCH operations, projections) and turned into calls on
// directory.Service, which validates, writes and audits.
package scim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
)

// Prefix is where the SCIM service is mounted.
const Prefix = "/scim/v2"

// Paging limits, advertised in /ServiceProviderConfig.
const (
	DefaultCount = 100
	MaxResults   = 1000
	// scanBatch is the page size used when a filter must be evaluated in memory.
	scanBatch = 500
	// updateRetries bounds retries of an unconditional update that lost a
	// race. Each round of a race has one winner, so N clients writing one
	// resource at once need up to N-1 retries; with the jittered pause
	// (retryable) 10 carried 12 concurrent PATCHes on PostgreSQL, where 5
	// without a pause answered some of them 412 (TestConcurrentUserPatches).
	updateRetries = 10
)

// Authenticator checks a bearer token.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (audit.Actor, error)
}

// Handler serves /scim/v2.
type Handler struct {
	Directory *directory.Service
	Auth      Authenticator
	// Audit records refused tokens (at most one event per client address a
	// minute); nil: not recorded.
	Audit   audit.Appender
	BaseURL string // public URL of idcenter, without a trailing slash
	Log     *slog.Logger
	Now     func() time.Time

	mu           sync.Mutex
	lastFailures map[string]time.Time
	mux          *http.ServeMux // where Register mounted the handlers (Bulk dispatches through it)
}

func (h *Handler) base() string { return strings.TrimRight(h.BaseURL, "/") + Prefix }

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Register mounts the SCIM endpoints on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	routes := []struct {
		pattern string
		fn      func(http.ResponseWriter, *http.Request, audit.Actor) error
	}{
		{"GET /ServiceProviderConfig", h.serviceProviderConfig},
		{"GET /ResourceTypes", h.resourceTypes},
		{"GET /ResourceTypes/{name}", h.resourceType},
		{"GET /Schemas", h.schemas},
		{"GET /Schemas/{id}", h.schema},
		{"GET /Users", h.listUsers},
		{"POST /Users/.search", h.searchUsers},
		{"POST /Users", h.createUser},
		{"GET /Users/{id}", h.getUser},
		{"PUT /Users/{id}", h.replaceUser},
		{"PATCH /Users/{id}", h.patchUser},
		{"DELETE /Users/{id}", h.deleteUser},
		{"GET /Groups", h.listGroups},
		{"POST /Groups/.search", h.searchGroups},
		{"POST /Groups", h.createGroup},
		{"GET /Groups/{id}", h.getGroup},
		{"PUT /Groups/{id}", h.replaceGroup},
		{"PATCH /Groups/{id}", h.patchGroup},
		{"DELETE /Groups/{id}", h.deleteGroup},
		{"POST /Bulk", h.bulk},
	}
	h.mux = mux
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt.pattern, " ")
		mux.Handle(method+" "+Prefix+path, h.wrap(rt.fn))
	}
	// Everything else under the prefix: authenticate first, then 404 in the
	// SCIM shape (unknown endpoints reveal nothing to anonymous callers).
	mux.Handle(Prefix+"/", h.wrap(func(w http.ResponseWriter, r *http.Request, _ audit.Actor) error {
		return errorf(http.StatusNotFound, "", "no SCIM endpoint %s %s", r.Method, r.URL.Path)
	}))
}

func (h *Handler) wrap(fn func(http.ResponseWriter, *http.Request, audit.Actor) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, err := h.authenticate(r)
		if err == nil {
			err = fn(w, r, actor)
		}
		if err != nil {
			writeError(w, r, h.Log, err)
		}
	})
}

// authenticate accepts only SCIM tokens: an admin API token is refused here
// as a SCIM token is refused by the admin API.
func (h *Handler) authenticate(r *http.Request) (audit.Actor, error) {
	scheme, secret, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" || strings.ContainsAny(secret, " \t") {
		h.recordFailure(r, "missing or malformed bearer token")
		return audit.Actor{}, errs.ErrUnauthenticated
	}
	actor, err := h.Auth.Authenticate(r.Context(), secret)
	if err != nil {
		if errors.Is(err, errs.ErrUnauthenticated) {
			h.recordFailure(r, "unknown, expired or revoked token")
		}
		return audit.Actor{}, err
	}
	if actor.Role != audit.RoleSCIM {
		h.recordFailure(r, "not a SCIM token")
		return audit.Actor{}, errorf(http.StatusUnauthorized, "", "this is not a SCIM token: create one with `idcenter scim-tokens create`")
	}
	return actor, nil
}

func (h *Handler) recordFailure(r *http.Request, reason string) {
	if h.Audit == nil {
		return
	}
	ri := audit.RequestFrom(r.Context())
	now := h.now()
	h.mu.Lock()
	if h.lastFailures == nil {
		h.lastFailures = map[string]time.Time{}
	}
	last, seen := h.lastFailures[ri.ClientIP]
	if seen && now.Sub(last) < time.Minute {
		h.mu.Unlock()
		return
	}
	if len(h.lastFailures) > 10000 {
		h.lastFailures = map[string]time.Time{}
	}
	h.lastFailures[ri.ClientIP] = now
	h.mu.Unlock()
	ev := audit.New(r.Context(), audit.Actor{Type: "anonymous"}, "scim.auth.failure", "", "", "",
		map[string]any{"reason": reason, "method": r.Method, "path": r.URL.Path})
	if err := h.Audit.AppendAudit(r.Context(), ev); err != nil && h.Log != nil {
		h.Log.WarnContext(r.Context(), "scim: audit of a refused token failed", "err", err)
	}
}

// --- request helpers ---

// decodeBody reads a JSON request body (application/scim+json or
// application/json) into v.
func decodeBody(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/scim+json" && mt != "application/json") {
			return errorf(http.StatusUnsupportedMediaType, "invalidSyntax", "send application/scim+json (or application/json)")
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, "tooLarge", "the request body is larger than %d bytes", mbe.Limit)
		}
		if errors.Is(err, io.EOF) {
			return errorf(http.StatusBadRequest, "invalidSyntax", "the request body is empty")
		}
		return errorf(http.StatusBadRequest, "invalidSyntax", "the request body is not valid JSON: %v", err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "invalidSyntax", "the request body holds more than one JSON value")
	}
	return nil
}

// ifMatch returns the version an If-Match header asks for (0: none).
func ifMatch(r *http.Request) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	v, ok := parseETag(h)
	if !ok {
		// An ETag idcenter never issued cannot match.
		return 0, errorf(http.StatusPreconditionFailed, "", "If-Match %s does not match the resource's version", h)
	}
	return v, nil
}

func parseETag(s string) (int64, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	s = strings.Trim(s, `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil && v > 0
}

// notModified answers a GET carrying a matching If-None-Match.
func notModified(w http.ResponseWriter, r *http.Request, version int64) bool {
	inm := r.Header.Get("If-None-Match")
	if inm == "" {
		return false
	}
	for _, t := range strings.Split(inm, ",") {
		if v, ok := parseETag(t); (ok && v == version) || strings.TrimSpace(t) == "*" {
			w.Header().Set("ETag", etag(version))
			w.WriteHeader(http.StatusNotModified)
			return true
		}
	}
	return false
}

// retryable reports whether to retry an update that lost an optimistic-
// concurrency race: only when the client did not ask for a version (then
// the race is its 412) and attempts remain. Before saying yes it pauses for
// a random time that grows with the attempt, so the writers that collided
// do not collide again in lockstep.
func retryable(ctx context.Context, err error, ifVersion int64, attempt int) bool {
	var c *errs.Conflict
	if attempt >= updateRetries || ifVersion != 0 || !errors.As(err, &c) || !c.Stale {
		return false
	}
	pause := time.Duration(rand.Int64N(int64(min(time.Millisecond<<attempt, 50*time.Millisecond)) + 1))
	select {
	case <-ctx.Done():
		return false
	case <-time.After(pause):
		return true
	}
}

func writeResource(w http.ResponseWriter, status int, obj object, version int64, location string) {
	w.Header().Set("ETag", etag(version))
	if location != "" {
		w.Header().Set("Location", location)
	}
	writeJSON(w, status, obj)
}

// --- listing ---

// listParams are the query parameters of a list or .search request.
type listParams struct {
	Filter             string `json:"filter"`
	StartIndex         int    `json:"startIndex"`
	Count              *int   `json:"count"`
	Attributes         any    `json:"attributes"`
	ExcludedAttributes any    `json:"excludedAttributes"`
	SortBy             string `json:"sortBy"`
	SortOrder          string `json:"sortOrder"`
}

func queryParams(r *http.Request) (listParams, error) {
	q := r.URL.Query()
	p := listParams{Filter: q.Get("filter"), SortBy: q.Get("sortBy"), SortOrder: q.Get("sortOrder")}
	if s := q.Get("startIndex"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return p, errorf(400, "invalidValue", "startIndex must be an integer")
		}
		p.StartIndex = n
	}
	if s := q.Get("count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return p, errorf(400, "invalidValue", "count must be an integer")
		}
		p.Count = &n
	}
	if s := q.Get("attributes"); s != "" {
		p.Attributes = s
	}
	if s := q.Get("excludedAttributes"); s != "" {
		p.ExcludedAttributes = s
	}
	return p, nil
}

func searchParams(r *http.Request) (listParams, error) {
	var p listParams
	if err := decodeBody(r, &p); err != nil {
		return p, err
	}
	return p, nil
}

// page computes the window: startIndex < 1 is 1 (RFC 7644 §3.4.2.4), count
// is capped at MaxResults and a negative count is 0.
func (p listParams) window() (start, count int) {
	start = max(p.StartIndex, 1)
	count = DefaultCount
	if p.Count != nil {
		count = min(max(*p.Count, 0), MaxResults)
	}
	return start, count
}

// find evaluates a filter over one resource type. query and count talk to
// the store; decode turns a stored row into the object the filter sees.
type finder[T any] struct {
	query  func(directory.Query) ([]T, error)
	count  func(directory.Pred) (int, error)
	object func(T) object
}

// find returns the matches in the window and the total number of matches.
func (f finder[T]) find(n node, start, count int) ([]T, int, error) {
	where, exact := directory.True, true
	if n != nil {
		where, exact = pred(n)
	}
	if exact {
		total, err := f.count(where)
		if err != nil || count == 0 {
			return nil, total, err
		}
		rows, err := f.query(directory.Query{Where: where, Offset: start - 1, Limit: count})
		return rows, total, err
	}
	// The store narrows the candidates; the filter decides.
	var out []T
	total := 0
	for offset := 0; ; offset += scanBatch {
		rows, err := f.query(directory.Query{Where: where, Offset: offset, Limit: scanBatch})
		if err != nil {
			return nil, 0, err
		}
		for _, row := range rows {
			if !n.match(f.object(row)) {
				continue
			}
			total++
			if total >= start && len(out) < count {
				out = append(out, row)
			}
		}
		if len(rows) < scanBatch {
			return out, total, nil
		}
	}
}

func listResponse(items []object, total, start int) object {
	if items == nil {
		items = []object{}
	}
	return object{
		"schemas": []string{URNListResponse}, "totalResults": total, "startIndex": start,
		"itemsPerPage": len(items), "Resources": items,
	}
}

// checkSort refuses sorting: it is not advertised, and sorting by a
// write-only attribute would be an oracle (SCIM-04).
func checkSort(rt *resourceType, p listParams) error {
	if p.SortBy == "" {
		return nil
	}
	return errorf(400, "invalidValue", "sorting is not supported (see /ServiceProviderConfig); results come in creation order")
}
