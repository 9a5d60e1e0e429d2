package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcenter/idcenter/internal/app"
	"github.com/idcenter/idcenter/internal/config"
	"github.com/idcenter/idcenter/internal/testenv"
)

const adminToken = "idc_test-bootstrap-token-0123456789"

// server is an idcenter instance behind httptest on loopback.
type server struct {
	t   *testing.T
	app *app.App
	srv *httptest.Server
	out *bytes.Buffer
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// testConfig returns a config for engine ("sqlite" or a postgres DSN).
func testConfig(t *testing.T, database string) config.Config {
	t.Helper()
	cfg := config.Defaults()
	dir := t.TempDir()
	cfg.DataDir = dir
	cfg.Database = database
	cfg.Listen = "127.0.0.1:0"
	cfg.Bootstrap.TokenFile = writeFile(t, dir, "token", adminToken+"\n")
	return cfg
}

func start(t *testing.T, cfg config.Config) *server {
	t.Helper()
	out := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(context.Background(), cfg, log, out)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() { srv.Close(); a.Close() })
	return &server{t: t, app: a, srv: srv, out: out}
}

// forEngine runs fn on SQLite and PostgreSQL with a fresh instance each.
func forEngine(t *testing.T, fn func(t *testing.T, s *server)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, start(t, testConfig(t, ""))) })
	t.Run("postgres", func(t *testing.T) { fn(t, start(t, testConfig(t, testenv.PostgresDSN(t)))) })
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
	return m
}

func (s *server) do(method, path, token string, body any, hdr ...string) response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.srv.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

func (s *server) must(status int, method, path string, body any, hdr ...string) response {
	s.t.Helper()
	r := s.do(method, path, adminToken, body, hdr...)
	if r.Status != status {
		s.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, status, r.Body)
	}
	return r
}

func TestDirectoryThroughAPI(t *testing.T) {
	forEngine(t, func(t *testing.T, s *server) {
		u := s.must(201, "POST", "/api/v1/users", map[string]any{
			"userName": "alice", "name": map[string]any{"givenName": "Alice", "familyName": "Smith"},
			"emails": []any{map[string]any{"value": "alice@example.com"}},
		}).json(t)
		if u["id"] == "" || u["userName"] != "alice" || u["active"] != true {
			t.Fatalf("created user: %v", u)
		}
		// case-insensitive lookup by userName
		got := s.must(200, "GET", "/api/v1/users/ALICE", nil)
		if got.Header.Get("ETag") != `"1"` {
			t.Errorf("ETag = %q", got.Header.Get("ETag"))
		}
		// duplicate userName, different case → 409 naming the field
		dup := s.do("POST", "/api/v1/users", adminToken, map[string]any{"userName": "Alice"})
		if dup.Status != 409 || !strings.Contains(string(dup.Body), "userName") ||
			dup.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("duplicate: %d %s", dup.Status, dup.Body)
		}
		// merge patch
		p := s.must(200, "PATCH", "/api/v1/users/alice", map[string]any{"displayName": "Alice S.", "name": map[string]any{"middleName": "Q"}}).json(t)
		if p["displayName"] != "Alice S." || p["name"].(map[string]any)["givenName"] != "Alice" || p["version"] != float64(2) {
			t.Fatalf("patched: %v", p)
		}
		// stale If-Match → 409
		if r := s.do("PATCH", "/api/v1/users/alice", adminToken, map[string]any{"title": "x"}, "If-Match", `"1"`); r.Status != 409 {
			t.Fatalf("stale If-Match: %d %s", r.Status, r.Body)
		}
		s.must(200, "PATCH", "/api/v1/users/alice", map[string]any{"title": "Engineer"}, "If-Match", `"2"`)

		s.must(201, "POST", "/api/v1/users", map[string]any{"userName": "bob", "active": false})
		g := s.must(201, "POST", "/api/v1/groups", map[string]any{"displayName": "Developers", "members": []string{"alice"}}).json(t)
		if g["memberCount"] != float64(1) {
			t.Fatalf("group: %v", g)
		}
		s.must(200, "POST", "/api/v1/groups/developers/members", map[string]any{"users": []string{"bob"}})
		unknown := s.do("POST", "/api/v1/groups/Developers/members", adminToken, map[string]any{"users": []string{"nobody"}})
		if unknown.Status != 400 || !strings.Contains(string(unknown.Body), `"field":"members"`) {
			t.Fatalf("unknown member: %d %s", unknown.Status, unknown.Body)
		}
		members := s.must(200, "GET", "/api/v1/groups/Developers/members", nil).json(t)
		if n := len(members["items"].([]any)); n != 2 {
			t.Fatalf("members: %v", members)
		}
		list := s.must(200, "GET", "/api/v1/users?group=Developers&active=true", nil).json(t)
		if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["userName"] != "alice" {
			t.Fatalf("filtered list: %v", list)
		}
		s.must(204, "DELETE", "/api/v1/groups/Developers/members/bob", nil)
		s.must(204, "PUT", "/api/v1/users/alice/password", map[string]any{"password": "correct horse battery"})
		if r := s.do("PUT", "/api/v1/users/alice/password", adminToken, map[string]any{"password": "short"}); r.Status != 400 {
			t.Fatalf("short password: %d", r.Status)
		}
		s.must(204, "DELETE", "/api/v1/users/bob", nil)
		s.must(404, "GET", "/api/v1/users/bob", nil)

		// every change above is in the audit trail, newest first; passwords never
		ev := s.must(200, "GET", "/api/v1/audit-events?limit=1000", nil)
		for _, action := range []string{"user.create", "user.update", "group.create", "group.member.add", "group.member.remove", "user.password.set", "user.delete"} {
			if !strings.Contains(string(ev.Body), `"action":"`+action+`"`) {
				t.Errorf("audit trail lacks %s", action)
			}
		}
		if strings.Contains(string(ev.Body), "correct horse") {
			t.Fatal("audit trail contains a password")
		}
		f := s.must(200, "GET", "/api/v1/audit-events?action=group.*&target=Developers", nil).json(t)
		for _, e := range f["items"].([]any) {
			if !strings.HasPrefix(e.(map[string]any)["action"].(string), "group.") {
				t.Fatalf("filter leaked %v", e)
			}
		}
	})
}

func TestBadInput(t *testing.T) {
	forEngine(t, func(t *testing.T, s *server) {
		cases := []struct {
			name, method, path string
			body               any
			status             int
			want               string
		}{
			{"malformed JSON", "POST", "/api/v1/users", `{"userName": "x",`, 400, "truncated"},
			{"syntax error", "POST", "/api/v1/users", `{"userName" "x"}`, 400, "malformed JSON"},
			{"unknown field", "POST", "/api/v1/users", `{"userName":"x","isAdmin":true}`, 400, `unknown field \"isAdmin\"`},
			{"wrong type", "POST", "/api/v1/users", `{"userName":42}`, 400, "userName"},
			{"two objects", "POST", "/api/v1/users", `{"userName":"x"}{}`, 400, "single JSON value"},
			{"empty body", "POST", "/api/v1/users", ``, 400, "empty"},
			{"empty userName", "POST", "/api/v1/users", `{"userName":"  "}`, 400, `"field":"userName"`},
			{"long userName", "POST", "/api/v1/users", `{"userName":"` + strings.Repeat("a", 129) + `"}`, 400, "at most 128"},
			{"bad email", "POST", "/api/v1/users", `{"userName":"x","emails":[{"value":"not-an-email"}]}`, 400, `"field":"emails"`},
			{"bad role", "POST", "/api/v1/users", `{"userName":"x","role":"root"}`, 400, `"field":"role"`},
			{"bad limit", "GET", "/api/v1/users?limit=0", nil, 400, "limit"},
			{"bad cursor", "GET", "/api/v1/users?cursor=!!!", nil, 400, "cursor"},
			{"bad active", "GET", "/api/v1/users?active=maybe", nil, 400, "active"},
			{"bad since", "GET", "/api/v1/audit-events?since=yesterday", nil, 400, "RFC 3339"},
			{"bad If-Match", "PATCH", "/api/v1/users/nobody", `{}`, 400, "If-Match"},
			{"unknown user", "GET", "/api/v1/users/nobody", nil, 404, "not found"},
			{"unknown route", "GET", "/api/v1/nothing", nil, 404, "no such API route"},
			{"patch unknown field", "PATCH", "/api/v1/users/admin-x", `{"bogus":1}`, 404, ""},
			{"injection", "GET", "/api/v1/users?userName=%27%20OR%20%271%27%3D%271", nil, 200, `"items":[]`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var hdr []string
				if c.name == "bad If-Match" {
					hdr = []string{"If-Match", "abc"}
				}
				r := s.do(c.method, c.path, adminToken, c.body, hdr...)
				if r.Status != c.status || !strings.Contains(string(r.Body), c.want) {
					t.Fatalf("status %d body %s; want %d containing %q", r.Status, r.Body, c.status, c.want)
				}
				if r.Status >= 400 && r.Header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("content type %q", r.Header.Get("Content-Type"))
				}
			})
		}
		// nothing was half-written by any of the above
		list := s.must(200, "GET", "/api/v1/users", nil).json(t)
		if n := len(list["items"].([]any)); n != 1 { // only the bootstrap "admin"
			t.Fatalf("bad input created %d users", n-1)
		}
		// oversized body → 413, with and without Content-Length
		big := `{"userName":"x","title":"` + strings.Repeat("a", 2<<20) + `"}`
		if r := s.do("POST", "/api/v1/users", adminToken, big); r.Status != 413 {
			t.Fatalf("oversized: %d", r.Status)
		}
		req, _ := http.NewRequest("POST", s.srv.URL+"/api/v1/users", io.MultiReader(strings.NewReader(big)))
		req.ContentLength = -1
		req.Header.Set("Authorization", "Bearer "+adminToken)
		res, err := s.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 413 {
			t.Fatalf("chunked oversized: %d", res.StatusCode)
		}
	})
}

func TestAuthorization(t *testing.T) {
	forEngine(t, func(t *testing.T, s *server) {
		aud := s.must(201, "POST", "/api/v1/tokens", map[string]any{"name": "auditor", "role": "auditor"}).json(t)
		auditor := aud["token"].(string)
		if !strings.HasPrefix(auditor, "idc_") {
			t.Fatalf("token secret %q", auditor)
		}
		routes := s.app.API.Routes()
		for _, rt := range routes {
			method, path, _ := strings.Cut(rt, " ")
			path = strings.NewReplacer("{user}", "x", "{group}", "x", "{token}", "x", "{app}", "x", "{type}", "user", "{id}", "x", "{account}", "x", "{ps}", "x").Replace(path)
			t.Run(rt, func(t *testing.T) {
				for _, tok := range []string{"", "idc_not-a-real-token-000000000000", "garbage"} {
					if r := s.do(method, path, tok, nil); r.Status != 401 {
						t.Errorf("token %q: status %d, want 401", tok, r.Status)
					}
				}
				r := s.do(method, path, auditor, `{}`)
				write := method != "GET"
				if rt == "GET /api/v1/tokens" || rt == "GET /api/v1/scim/tokens" {
					write = true // token metadata is for admins only
				}
				if write && r.Status != 403 {
					t.Errorf("auditor on %s: status %d, want 403", rt, r.Status)
				}
				if !write && (r.Status == 401 || r.Status == 403) {
					t.Errorf("auditor read %s: status %d", rt, r.Status)
				}
			})
		}
		// revoked tokens stop working at once
		s.must(200, "DELETE", "/api/v1/tokens/auditor", nil)
		if r := s.do("GET", "/api/v1/users", auditor, nil); r.Status != 401 {
			t.Fatalf("revoked token: %d", r.Status)
		}
		// cookies are never honoured
		req, _ := http.NewRequest("GET", s.srv.URL+"/api/v1/users", nil)
		req.AddCookie(&http.Cookie{Name: "session", Value: adminToken})
		res, _ := s.srv.Client().Do(req)
		res.Body.Close()
		if res.StatusCode != 401 {
			t.Fatalf("cookie auth: %d", res.StatusCode)
		}
	})
}

func TestOpenAPICoversRoutes(t *testing.T) {
	s := start(t, testConfig(t, ""))
	r := s.do("GET", "/api/v1/openapi.json", "", nil)
	if r.Status != 200 {
		t.Fatalf("openapi: %d", r.Status)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	registered := map[string]bool{}
	for _, rt := range s.app.API.Routes() {
		registered[rt] = true
		if !documented[rt] {
			t.Errorf("route %s is not in the OpenAPI document", rt)
		}
	}
	for rt := range documented {
		if !registered[rt] {
			t.Errorf("documented %s is not a route", rt)
		}
		// and it really is served: not 404 "no such API route" nor 405
		method, path, _ := strings.Cut(rt, " ")
		path = strings.NewReplacer("{user}", "x", "{group}", "x", "{token}", "x", "{app}", "x", "{type}", "user", "{id}", "x", "{account}", "x", "{ps}", "x").Replace(path)
		res := s.do(method, path, adminToken, nil)
		if res.Status == 405 || strings.Contains(string(res.Body), "no such API route") {
			t.Errorf("documented %s is not served: %d %s", rt, res.Status, res.Body)
		}
	}
	if len(documented) < 20 {
		t.Fatalf("only %d operations documented", len(documented))
	}
}

func TestOpsEndpoints(t *testing.T) {
	s := start(t, testConfig(t, ""))
	if r := s.do("GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("healthz %d", r.Status)
	}
	if r := s.do("GET", "/readyz", "", nil); r.Status != 200 {
		t.Fatalf("readyz %d %s", r.Status, r.Body)
	}
	s.must(200, "GET", "/api/v1/users", nil)
	m := s.do("GET", "/metrics", "", nil)
	for _, want := range []string{
		`idcenter_http_requests_total{method="GET",route="GET /api/v1/users",status="200"} 1`,
		"idcenter_http_request_duration_seconds_bucket",
		"idcenter_store_errors_total",
	} {
		if !strings.Contains(string(m.Body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if r := s.do("GET", "/api/v1/users", adminToken, nil); r.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
}

func TestBootstrap(t *testing.T) {
	t.Run("printed token works once and is never printed again", func(t *testing.T) {
		cfg := testConfig(t, "")
		cfg.Bootstrap.TokenFile = ""
		s := start(t, cfg)
		out := s.out.String()
		i := strings.Index(out, "idc_")
		if i < 0 {
			t.Fatalf("no token printed:\n%s", out)
		}
		secret := strings.Fields(out[i:])[0]
		if r := s.do("GET", "/api/v1/whoami", secret, nil); r.Status != 200 || !strings.Contains(string(r.Body), `"role":"admin"`) {
			t.Fatalf("whoami: %d %s", r.Status, r.Body)
		}
		s.srv.Close()
		s.app.Close()
		again := start(t, cfg)
		if strings.Contains(again.out.String(), "idc_") {
			t.Fatal("second start printed a token")
		}
		if fi, err := os.Stat(filepath.Join(cfg.DataDir, "master.key")); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("master key: %v %v", fi, err)
		}
	})
	t.Run("admin user and token from files", func(t *testing.T) {
		cfg := testConfig(t, "")
		cfg.Bootstrap.AdminUsername = "root"
		cfg.Bootstrap.AdminEmail = "root@example.com"
		cfg.Bootstrap.AdminPasswordFile = writeFile(t, cfg.DataDir, "pw", "a long admin password\n")
		s := start(t, cfg)
		if strings.Contains(s.out.String(), "idc_") {
			t.Fatal("token printed although supplied by file")
		}
		u := s.must(200, "GET", "/api/v1/users/root", nil).json(t)
		if u["role"] != "admin" {
			t.Fatalf("admin user: %v", u)
		}
	})
	t.Run("wrong master key refuses to start", func(t *testing.T) {
		cfg := testConfig(t, "")
		s := start(t, cfg)
		s.srv.Close()
		s.app.Close()
		other := writeFile(t, t.TempDir(), "key", "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=\n")
		cfg.MasterKeyFile = other
		_, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "does not match") {
			t.Fatalf("wrong key: %v", err)
		}
	})
	t.Run("unreachable database", func(t *testing.T) {
		cfg := testConfig(t, "postgres://postgres@127.0.0.1:1/nope?connect_timeout=2")
		_, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "connect to postgres") {
			t.Fatalf("unreachable DB: %v", err)
		}
	})
}

func TestTwoReplicasShareOnePostgres(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	a := start(t, testConfig(t, dsn))
	cfgB := testConfig(t, dsn)
	// Replicas share the master key; B gets A's.
	cfgB.MasterKeyFile = filepath.Join(a.app.Config.DataDir, "master.key")
	b := start(t, cfgB)
	a.must(201, "POST", "/api/v1/users", map[string]any{"userName": "carol"})
	if r := b.must(200, "GET", "/api/v1/users/carol", nil).json(t); r["userName"] != "carol" {
		t.Fatalf("replica B: %v", r)
	}
	gid := b.must(201, "POST", "/api/v1/groups", map[string]any{"displayName": "Ops", "members": []string{"carol"}}).json(t)["id"].(string)
	if g := a.must(200, "GET", "/api/v1/groups/ops", nil).json(t); g["memberCount"] != float64(1) {
		t.Fatalf("replica A: %v", g)
	}
	// a token revoked on A is refused by B at once
	tok := a.must(201, "POST", "/api/v1/tokens", map[string]any{"name": "temp", "role": "admin"}).json(t)["token"].(string)
	if r := b.do("GET", "/api/v1/whoami", tok, nil); r.Status != 200 {
		t.Fatalf("B before revoke: %d", r.Status)
	}
	a.must(200, "DELETE", "/api/v1/tokens/temp", nil)
	if r := b.do("GET", "/api/v1/whoami", tok, nil); r.Status != 401 {
		t.Fatalf("B after revoke: %d", r.Status)
	}
	// concurrent conflicting renames through the two replicas: one wins
	res := make(chan int, 2)
	for i, s := range []*server{a, b} {
		go func() {
			r := s.do("PATCH", "/api/v1/groups/"+gid, adminToken, map[string]any{"displayName": fmt.Sprintf("Ops-%d", i)}, "If-Match", `"2"`)
			res <- r.Status
		}()
	}
	got := []int{<-res, <-res}
	if !(got[0] == 200 && got[1] == 409 || got[0] == 409 && got[1] == 200) {
		t.Fatalf("concurrent renames: %v, want one 200 and one 409", got)
	}
}
