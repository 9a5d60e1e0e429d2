package app_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSCIMTokensThroughAPI: SCIM tokens are created, listed and revoked
// under /api/v1/scim/tokens, with a one-year default expiry and the SCIM
// base URL; /api/v1/tokens never creates one; the SCIM revoke never ends
// an admin token.
func TestSCIMTokensThroughAPI(t *testing.T) {
	forEngine(t, func(t *testing.T, s *server) {
		before := time.Now()
		created := s.must(201, "POST", "/api/v1/scim/tokens", map[string]any{"name": "okta"}).json(t)
		secret, _ := created["token"].(string)
		if !strings.HasPrefix(secret, "idc_") || len(secret) < 40 {
			t.Fatalf("secret %q", secret)
		}
		if created["role"] != "scim" || created["name"] != "okta" || created["expiringSoon"] != false ||
			created["scimBaseUrl"] != s.app.Config.PublicURL()+"/scim/v2" {
			t.Errorf("created: %v", created)
		}
		exp, err := time.Parse(time.RFC3339Nano, created["expiresAt"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if d := exp.Sub(before); d < 365*24*time.Hour-time.Minute || d > 365*24*time.Hour+time.Minute {
			t.Errorf("default expiry in %v, want one year", d)
		}

		// A second token for rotation, with an explicit expiry inside the
		// warning window.
		soon := time.Now().Add(10 * 24 * time.Hour).UTC().Truncate(time.Second)
		s.must(201, "POST", "/api/v1/scim/tokens", map[string]any{"name": "okta-next", "expiresAt": soon.Format(time.RFC3339)})

		for _, tc := range []struct {
			name   string
			body   any
			status int
			want   string
		}{
			{"too long a lifetime", map[string]any{"name": "x", "expiresAt": time.Now().AddDate(3, 0, 0).Format(time.RFC3339)}, 400, `"field":"expiresAt"`},
			{"expired", map[string]any{"name": "x", "expiresAt": "2001-01-01T00:00:00Z"}, 400, `"field":"expiresAt"`},
			{"no name", map[string]any{}, 400, `"field":"name"`},
			{"a role is not accepted", map[string]any{"name": "x", "role": "admin"}, 400, `unknown field`},
			{"duplicate name", map[string]any{"name": "okta"}, 409, "name"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := s.do("POST", "/api/v1/scim/tokens", adminToken, tc.body)
				if r.Status != tc.status || !strings.Contains(string(r.Body), tc.want) {
					t.Errorf("status %d %s; want %d with %q", r.Status, r.Body, tc.status, tc.want)
				}
			})
		}
		// The admin token endpoint refuses role scim.
		if r := s.do("POST", "/api/v1/tokens", adminToken, map[string]any{"name": "sneaky", "role": "scim"}); r.Status != 400 ||
			!strings.Contains(string(r.Body), `"field":"role"`) {
			t.Errorf("POST /tokens role scim: %d %s", r.Status, r.Body)
		}

		list := s.must(200, "GET", "/api/v1/scim/tokens", nil).json(t)["items"].([]any)
		if len(list) != 2 {
			t.Fatalf("scim tokens: %v", list)
		}
		first, second := list[0].(map[string]any), list[1].(map[string]any)
		if first["name"] != "okta-next" || first["expiringSoon"] != true || second["name"] != "okta" || second["expiringSoon"] != false {
			t.Errorf("list, newest first: %v", list)
		}
		if strings.Contains(s.must(200, "GET", "/api/v1/scim/tokens", nil).json(t)["items"].([]any)[0].(map[string]any)["hint"].(string), secret[8:]) {
			t.Error("list shows more than the hint")
		}
		// GET /tokens lists every token, SCIM ones with their role.
		all := string(s.must(200, "GET", "/api/v1/tokens", nil).Body)
		if !strings.Contains(all, `"name":"okta","role":"scim"`) || strings.Contains(all, secret) {
			t.Errorf("GET /tokens: %s", all)
		}

		// The SCIM revoke does not reach admin tokens.
		ci := s.must(201, "POST", "/api/v1/tokens", map[string]any{"name": "ci", "role": "admin"}).json(t)
		s.must(404, "DELETE", "/api/v1/scim/tokens/ci", nil)
		s.must(404, "DELETE", "/api/v1/scim/tokens/"+ci["id"].(string), nil)
		if r := s.do("GET", "/api/v1/whoami", ci["token"].(string), nil); r.Status != 200 {
			t.Errorf("admin token after the SCIM revoke attempts: %d", r.Status)
		}
		revoked := s.must(200, "DELETE", "/api/v1/scim/tokens/okta", nil).json(t)
		if revoked["revokedAt"] == nil || revoked["name"] != "okta" {
			t.Errorf("revoked: %v", revoked)
		}
		s.must(200, "DELETE", "/api/v1/scim/tokens/okta", nil) // again: no error
		s.must(404, "DELETE", "/api/v1/scim/tokens/nothing", nil)

		// Every change is audited (with the bootstrap token's creation), and no secret is.
		ev := string(s.must(200, "GET", "/api/v1/audit-events?action=token.*&limit=100", nil).Body)
		if strings.Count(ev, `"action":"token.create"`) != 4 || strings.Count(ev, `"action":"token.revoke"`) != 1 || strings.Contains(ev, secret[4:]) {
			t.Errorf("audit: %s", ev)
		}
	})
}

// TestSCIMTokenRefusedByAdminAPI: a SCIM token authenticates (it is a real,
// active token) but no admin API route accepts it, reading or writing; an
// admin token is never taken for a SCIM one.
func TestSCIMTokenRefusedByAdminAPI(t *testing.T) {
	forEngine(t, func(t *testing.T, s *server) {
		scim := s.must(201, "POST", "/api/v1/scim/tokens", map[string]any{"name": "entra"}).json(t)["token"].(string)
		for _, rt := range s.app.API.Routes() {
			method, path, _ := strings.Cut(rt, " ")
			path = strings.NewReplacer("{user}", "admin", "{group}", "x", "{token}", "entra", "{app}", "x", "{type}", "user", "{id}", "x", "{account}", "x", "{ps}", "x").Replace(path)
			t.Run(rt, func(t *testing.T) {
				r := s.do(method, path, scim, `{"userName":"mallory","name":"escalate","role":"admin"}`)
				if r.Status != 403 {
					t.Errorf("SCIM token: status %d, want 403: %s", r.Status, r.Body)
				}
			})
		}
		for _, rq := range []struct{ method, path string }{
			{"GET", "/api/v1/users"}, {"POST", "/api/v1/users"}, {"GET", "/api/v1/whoami"},
			{"POST", "/api/v1/scim/tokens"}, {"DELETE", "/api/v1/scim/tokens/entra"},
		} {
			r := s.do(rq.method, rq.path, scim, `{"userName":"mallory","name":"more"}`)
			if r.Status != 403 || r.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s %s with a SCIM token: %d %s", rq.method, rq.path, r.Status, r.Body)
			}
		}
		// Nothing was written with it, and it is still valid (not revoked
		// by the attempts above).
		if r := s.do("GET", "/api/v1/users/mallory", adminToken, nil); r.Status != 404 {
			t.Errorf("mallory: %d", r.Status)
		}
		list := string(s.must(200, "GET", "/api/v1/scim/tokens", nil).Body)
		if strings.Contains(list, "revokedAt") || strings.Count(list, `"role":"scim"`) != 1 {
			t.Errorf("scim tokens after the attempts: %s", list)
		}
		// The admin token is an admin token, not a SCIM one.
		if me := s.must(200, "GET", "/api/v1/whoami", nil).json(t); me["role"] != "admin" {
			t.Errorf("whoami with the admin token: %v", me)
		}
	})
}

// TestBrowserIgnoresBearerTokens: the portal and the console are
// cookie-based; an Authorization header, with an admin or a SCIM token,
// signs nobody in.
func TestBrowserIgnoresBearerTokens(t *testing.T) {
	s := start(t, testConfig(t, ""))
	scim := s.must(201, "POST", "/api/v1/scim/tokens", map[string]any{"name": "entra"}).json(t)["token"].(string)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tok := range []string{adminToken, scim} {
		for _, path := range []string{"/console", "/console/users", "/console/scim", "/profile", "/start"} {
			req, _ := http.NewRequest("GET", s.srv.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/signin") {
				t.Errorf("GET %s with a bearer token: %d to %q, want a redirect to sign in", path, res.StatusCode, res.Header.Get("Location"))
			}
		}
		req, _ := http.NewRequest("POST", s.srv.URL+"/console/scim/tokens", strings.NewReader("name=x&lifetime=365"))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("POST /console/scim/tokens with a bearer token: %d, want 403", res.StatusCode)
		}
	}
	if n := strings.Count(string(s.must(200, "GET", "/api/v1/scim/tokens", nil).Body), `"role":"scim"`); n != 1 {
		t.Errorf("%d SCIM tokens, want 1", n)
	}
}

// TestTokenExpiryMetric: /metrics exports the seconds until each unrevoked
// token with an expiry expires, labelled by name and role.
func TestTokenExpiryMetric(t *testing.T) {
	s := start(t, testConfig(t, ""))
	re := regexp.MustCompile(`(?m)^idcenter_token_expiry_seconds\{name="([^"]*)",role="([^"]*)"\} (\S+)$`)
	if m := re.FindAllStringSubmatch(string(s.do("GET", "/metrics", "", nil).Body), -1); len(m) != 0 {
		t.Errorf("gauge for tokens without expiry: %q", m)
	}
	s.must(201, "POST", "/api/v1/scim/tokens", map[string]any{"name": "okta"})
	s.must(201, "POST", "/api/v1/scim/tokens", map[string]any{"name": "gone"})
	s.must(200, "DELETE", "/api/v1/scim/tokens/gone", nil)
	s.must(201, "POST", "/api/v1/tokens", map[string]any{"name": "ci", "role": "auditor",
		"expiresAt": time.Now().Add(48 * time.Hour).Format(time.RFC3339)})
	got := map[string]time.Duration{}
	for _, m := range re.FindAllStringSubmatch(string(s.do("GET", "/metrics", "", nil).Body), -1) {
		secs, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatal(err)
		}
		got[m[1]+"/"+m[2]] = time.Duration(secs * float64(time.Second))
	}
	if len(got) != 2 {
		t.Fatalf("gauge: %v, want okta/scim and ci/auditor", got)
	}
	if d := got["okta/scim"]; d < 364*24*time.Hour || d > 366*24*time.Hour {
		t.Errorf("okta expires in %v", d)
	}
	if d := got["ci/auditor"]; d < 47*time.Hour || d > 48*time.Hour {
		t.Errorf("ci expires in %v", d)
	}
}

// TestSCIMTokenOnSCIMServer: the tokens made here are the ones /scim/v2
// accepts, and only those: admin tokens are refused there, several SCIM
// tokens work at once, and a revoked one stops at once.
func TestSCIMTokenOnSCIMServer(t *testing.T) {
	forEngine(t, func(t *testing.T, s *server) {
		old := s.must(201, "POST", "/api/v1/scim/tokens", map[string]any{"name": "okta-2026"}).json(t)["token"].(string)
		next := s.must(201, "POST", "/api/v1/scim/tokens", map[string]any{"name": "okta-2027"}).json(t)["token"].(string)
		for _, tc := range []struct {
			name   string
			token  string
			status int
		}{
			{"old SCIM token", old, 200},
			{"new SCIM token", next, 200},
			{"admin token", adminToken, 401},
		} {
			if r := s.do("GET", "/scim/v2/Users", tc.token, nil); r.Status != tc.status {
				t.Errorf("%s on /scim/v2/Users: %d, want %d: %s", tc.name, r.Status, tc.status, r.Body)
			}
		}
		s.must(200, "DELETE", "/api/v1/scim/tokens/okta-2026", nil)
		if r := s.do("GET", "/scim/v2/Users", old, nil); r.Status != 401 {
			t.Errorf("revoked SCIM token: %d", r.Status)
		}
		if r := s.do("GET", "/scim/v2/Users", next, nil); r.Status != 200 {
			t.Errorf("the other SCIM token after the rotation: %d", r.Status)
		}
		list := string(s.must(200, "GET", "/api/v1/scim/tokens", nil).Body)
		if !strings.Contains(list, `"name":"okta-2027"`) || !strings.Contains(list, `"lastUsedAt"`) {
			t.Errorf("last use not recorded: %s", list)
		}
	})
}
