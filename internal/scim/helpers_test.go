package scim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/scim"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

// Test tokens: the fake authenticator knows these secrets.
const (
	scimToken  = "idc_scim-token-for-tests-0123456789"
	scimToken2 = "idc_second-scim-token-for-rotation"
	adminToken = "idc_admin-token-not-for-scim-000000"
)

var (
	scimActor  = audit.Actor{Type: audit.ActorToken, ID: "tok-scim", Name: "okta", Role: audit.RoleSCIM}
	scimActor2 = audit.Actor{Type: audit.ActorToken, ID: "tok-scim2", Name: "okta-next", Role: audit.RoleSCIM}
	adminActor = audit.Actor{Type: audit.ActorToken, ID: "tok-admin", Name: "ci", Role: audit.RoleAdmin}
)

type fakeAuth map[string]audit.Actor

func (f fakeAuth) Authenticate(_ context.Context, secret string) (audit.Actor, error) {
	a, ok := f[secret]
	if !ok {
		return audit.Actor{}, errs.ErrUnauthenticated
	}
	return a, nil
}

// server is a SCIM endpoint on loopback over one store.
type server struct {
	t     testing.TB
	URL   string // base URL including /scim/v2
	Store *sqlstore.Store
	Dir   *directory.Service
	Auth  fakeAuth
	token string
}

func newServer(t testing.TB, st *sqlstore.Store) *server {
	t.Helper()
	dir := &directory.Service{Store: st.Directory()}
	auth := fakeAuth{scimToken: scimActor, scimToken2: scimActor2, adminToken: adminActor}
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux) // listens on 127.0.0.1
	srv.Start()
	t.Cleanup(srv.Close)
	h := &scim.Handler{Directory: dir, Auth: auth, Audit: st, BaseURL: srv.URL}
	h.Register(mux)
	return &server{t: t, URL: srv.URL + scim.Prefix, Store: st, Dir: dir, Auth: auth, token: scimToken}
}

// forEachEngine runs fn against a fresh SCIM server on SQLite and PostgreSQL.
func forEachEngine(t *testing.T, fn func(t *testing.T, s *server)) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		fn(t, newServer(t, st))
	})
}

// response is a decoded answer.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

// do sends a request with the SCIM token; body may be a string (sent as is)
// or any value (JSON-encoded). Extra headers come in pairs.
func (s *server) do(method, path string, body any, headers ...string) response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			s.t.Fatalf("%s %s: response is not a JSON object: %v\n%s", method, path, err, raw)
		}
	}
	return out
}

// must fails the test unless the response has the status.
func (r response) must(t testing.TB, status int) response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	return r
}

// str returns a string at a dotted path of the body ("meta.location").
func (r response) str(path string) string {
	v, _ := lookup(r.Body, path).(string)
	return v
}

func lookup(m map[string]any, path string) any {
	var cur any = m
	for _, p := range strings.Split(path, ".") {
		o, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = o[p]
	}
	return cur
}

// scimError checks a SCIM error response.
func (r response) scimError(t testing.TB, status int, scimType string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	schemas, _ := r.Body["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != scim.URNError {
		t.Errorf("error schemas = %v", r.Body["schemas"])
	}
	if got, _ := r.Body["status"].(string); got != itoa(status) {
		t.Errorf("error status field = %v, want the string %q", r.Body["status"], itoa(status))
	}
	if got, _ := r.Body["scimType"].(string); got != scimType {
		t.Errorf("scimType = %q, want %q (%s)", got, scimType, r.Raw)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		t.Errorf("Content-Type = %q", ct)
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// resources returns a list response's Resources.
func (r response) resources() []map[string]any {
	arr, _ := r.Body["Resources"].([]any)
	out := make([]map[string]any, 0, len(arr))
	for _, x := range arr {
		m, _ := x.(map[string]any)
		out = append(out, m)
	}
	return out
}

func (r response) total() int {
	f, _ := r.Body["totalResults"].(float64)
	return int(f)
}

// createUser provisions a user through SCIM and returns its id.
func (s *server) createUser(userName string, extra map[string]any) string {
	s.t.Helper()
	body := map[string]any{"schemas": []string{scim.URNUser}, "userName": userName, "active": true}
	for k, v := range extra {
		body[k] = v
	}
	r := s.do("POST", "/Users", body).must(s.t, http.StatusCreated)
	return r.str("id")
}

// createGroup provisions a group with members (user ids).
func (s *server) createGroup(name string, members ...string) string {
	s.t.Helper()
	var ms []map[string]any
	for _, m := range members {
		ms = append(ms, map[string]any{"value": m})
	}
	body := map[string]any{"schemas": []string{scim.URNGroup}, "displayName": name, "members": ms}
	return s.do("POST", "/Groups", body).must(s.t, http.StatusCreated).str("id")
}

// memberValues returns a group's member ids as the SCIM GET shows them.
func (s *server) memberValues(groupID string) []string {
	s.t.Helper()
	r := s.do("GET", "/Groups/"+groupID, nil).must(s.t, http.StatusOK)
	arr, _ := r.Body["members"].([]any)
	var out []string
	for _, x := range arr {
		m, _ := x.(map[string]any)
		v, _ := m["value"].(string)
		out = append(out, v)
	}
	return out
}

// q escapes a query parameter value.
func q(s string) string { return url.QueryEscape(s) }
