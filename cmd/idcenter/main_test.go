package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// reply is a canned API response.
type reply struct {
	status int
	body   string
	ctype  string // default application/json (problem+json for >= 400)
}

// seen is one request the fake API received.
type seen struct {
	method, path, query, body string
	header                    http.Header
}

// fakeAPI serves canned replies keyed by "METHOD /path" and records every
// request.
type fakeAPI struct {
	url  string
	reqs []seen
}

func newFakeAPI(t *testing.T, routes map[string]reply) *fakeAPI {
	t.Helper()
	f := &fakeAPI{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.reqs = append(f.reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, string(b), r.Header.Clone()})
		rep, ok := routes[r.Method+" "+r.URL.Path]
		if !ok {
			rep = reply{status: 404, body: `{"title":"Not Found","status":404,"detail":"no such API route"}`}
		}
		ct := rep.ctype
		if ct == "" {
			ct = "application/json"
			if rep.status >= 400 {
				ct = "application/problem+json"
			}
		}
		w.Header().Set("Content-Type", ct)
		if rep.status == 0 {
			rep.status = 200
		}
		w.WriteHeader(rep.status)
		io.WriteString(w, rep.body)
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// result is what one CLI run produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the CLI with env as the whole environment.
func runCLI(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errb strings.Builder
	code := run(args, strings.NewReader(stdin), &out, &errb, func(k string) string { return env[k] })
	return result{code, out.String(), errb.String()}
}

// testEnv is an environment pointing at api with a token and an empty config
// directory.
func testEnv(t *testing.T, api *fakeAPI) map[string]string {
	dir := t.TempDir()
	return map[string]string{"HOME": dir, "XDG_CONFIG_HOME": filepath.Join(dir, "config"), "AppData": dir,
		"IDCENTER_URL": api.url, "IDCENTER_TOKEN": "idc_envtoken"}
}

const aliceJSON = `{"id":"u1","userName":"alice","name":{"givenName":"Alice","familyName":"Liddell"},"displayName":"Alice Liddell","active":true,"emails":[{"value":"alice@example.com","primary":true}],"enterprise":{"department":"R&D"},"role":"admin","created":"2025-01-02T03:04:05Z","lastModified":"2025-01-02T03:04:05Z","version":1}`
const bobJSON = `{"id":"u2","userName":"bob","name":{},"active":false,"enterprise":{},"created":"2025-01-02T03:04:05Z","lastModified":"2025-01-02T03:04:05Z","version":4}`

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(t *testing.T, got, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want JSON: %v", err)
	}
	return reflect.DeepEqual(g, w)
}

func TestCommandsSendRequests(t *testing.T) {
	routes := map[string]reply{
		"POST /api/v1/users":                      {status: 201, body: aliceJSON},
		"PATCH /api/v1/users/alice":               {body: aliceJSON},
		"PUT /api/v1/users/alice/password":        {status: 204},
		"DELETE /api/v1/users/alice":              {status: 204},
		"POST /api/v1/groups":                     {status: 201, body: `{"id":"g1","displayName":"eng","memberCount":2,"version":1}`},
		"PATCH /api/v1/groups/eng":                {body: `{"id":"g1","displayName":"engineering","version":2}`},
		"POST /api/v1/groups/eng/members":         {body: `{"id":"g1","displayName":"eng","memberCount":3}`},
		"DELETE /api/v1/groups/eng/members/alice": {status: 204},
		"DELETE /api/v1/groups/eng/members/bob":   {status: 204},
		"POST /api/v1/tokens":                     {status: 201, body: `{"id":"t1","name":"ci","role":"auditor","hint":"idc_abcd","createdAt":"2025-01-02T03:04:05Z","token":"idc_secretvalue"}`},
		"DELETE /api/v1/tokens/ci":                {body: `{"id":"t1","name":"ci","role":"auditor","hint":"idc_abcd","createdAt":"2025-01-02T03:04:05Z","revokedAt":"2025-02-02T03:04:05Z"}`},
		"GET /api/v1/audit-events":                {body: `{"items":[]}`},
		"POST /api/v1/apply":                      {body: `{"changes":[{"op":"create","kind":"user","name":"carol"}],"applied":false,"text":"+ user carol\n\nPlan: 1 to create, 0 to update, 0 to delete."}`},
	}
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantMethod string
		wantPath   string
		wantQuery  string
		wantBody   string // JSON compared as values; other bodies exactly
		wantHeader map[string]string
		wantStdout string
	}{
		{
			name: "users create sends only the flags given",
			args: []string{"users", "create", "alice", "--email", "alice@example.com", "--given-name", "Alice",
				"--family-name", "Liddell", "--role", "admin", "--department", "R&D", "--manager", "bob", "--title", "CTO"},
			wantMethod: "POST", wantPath: "/api/v1/users",
			wantBody: `{"userName":"alice","active":true,"emails":[{"value":"alice@example.com","primary":true}],
				"name":{"givenName":"Alice","familyName":"Liddell"},"title":"CTO","role":"admin",
				"enterprise":{"department":"R&D","managerId":"bob"}}`,
			wantHeader: map[string]string{"Authorization": "Bearer idc_envtoken", "Content-Type": "application/json"},
			wantStdout: "Created user alice (id u1).\n",
		},
		{
			name:       "users create disabled",
			args:       []string{"users", "create", "alice", "--email", "alice@example.com", "--disabled"},
			wantMethod: "POST", wantPath: "/api/v1/users",
			wantBody: `{"userName":"alice","active":false,"emails":[{"value":"alice@example.com","primary":true}]}`,
		},
		{
			name: "users update sends a merge patch of the flags given",
			args: []string{"users", "update", "alice", "--user-name", "alice2", "--title", "", "--role", "none",
				"--disabled=false", "--given-name", "Al", "--if-version", "3"},
			wantMethod: "PATCH", wantPath: "/api/v1/users/alice",
			wantBody:   `{"userName":"alice2","title":"","role":"","active":true,"name":{"givenName":"Al"}}`,
			wantHeader: map[string]string{"If-Match": `"3"`, "Content-Type": "application/merge-patch+json"},
			wantStdout: "Updated user alice (version 1).\n",
		},
		{
			name:       "users update email replaces the emails",
			args:       []string{"users", "update", "alice", "--email", "new@example.com"},
			wantMethod: "PATCH", wantPath: "/api/v1/users/alice",
			wantBody:   `{"emails":[{"value":"new@example.com","primary":true}]}`,
			wantHeader: map[string]string{"If-Match": ""},
		},
		{
			name:       "users disable",
			args:       []string{"users", "disable", "alice"},
			wantMethod: "PATCH", wantPath: "/api/v1/users/alice", wantBody: `{"active":false}`,
			wantStdout: "Disabled user alice (version 1).\n",
		},
		{
			name:       "users enable",
			args:       []string{"users", "enable", "alice"},
			wantMethod: "PATCH", wantPath: "/api/v1/users/alice", wantBody: `{"active":true}`,
		},
		{
			name:       "users delete",
			args:       []string{"users", "delete", "alice"},
			wantMethod: "DELETE", wantPath: "/api/v1/users/alice",
			wantStdout: "Deleted user alice.\n",
		},
		{
			name:       "set-password reads stdin and trims one newline",
			args:       []string{"users", "set-password", "alice", "--password-stdin"},
			stdin:      " correct horse battery staple \n",
			wantMethod: "PUT", wantPath: "/api/v1/users/alice/password",
			wantBody:   `{"password":" correct horse battery staple "}`,
			wantStdout: "Set the password of alice.\n",
		},
		{
			name:       "set-password accepts CRLF",
			args:       []string{"users", "set-password", "alice", "--password-stdin"},
			stdin:      "pw-with-crlf\r\n",
			wantMethod: "PUT", wantPath: "/api/v1/users/alice/password",
			wantBody: `{"password":"pw-with-crlf"}`,
		},
		{
			name:       "groups create with members",
			args:       []string{"groups", "create", "eng", "--description", "Engineers, all of them", "--member", "alice", "--member", "bob,jr"},
			wantMethod: "POST", wantPath: "/api/v1/groups",
			wantBody:   `{"displayName":"eng","description":"Engineers, all of them","members":["alice","bob,jr"]}`,
			wantStdout: "Created group eng with 2 member(s) (id g1).\n",
		},
		{
			name:       "groups update",
			args:       []string{"groups", "update", "eng", "--name", "engineering", "--if-version", "1"},
			wantMethod: "PATCH", wantPath: "/api/v1/groups/eng",
			wantBody: `{"displayName":"engineering"}`, wantHeader: map[string]string{"If-Match": `"1"`},
		},
		{
			name:       "groups add-member",
			args:       []string{"groups", "add-member", "eng", "alice", "bob"},
			wantMethod: "POST", wantPath: "/api/v1/groups/eng/members",
			wantBody: `{"users":["alice","bob"]}`, wantStdout: "Group eng now has 3 member(s).\n",
		},
		{
			name:       "tokens create prints the secret alone on stdout",
			args:       []string{"tokens", "create", "--name", "ci", "--role", "auditor", "--expires-at", "2030-01-02T03:04:05Z"},
			wantMethod: "POST", wantPath: "/api/v1/tokens",
			wantBody:   `{"name":"ci","role":"auditor","expiresAt":"2030-01-02T03:04:05Z"}`,
			wantStdout: "idc_secretvalue\n",
		},
		{
			name:       "tokens create -o json prints the object with the secret",
			args:       []string{"-o", "json", "tokens", "create", "--name", "ci", "--role", "auditor"},
			wantMethod: "POST", wantPath: "/api/v1/tokens",
			wantBody: `{"name":"ci","role":"auditor"}`,
			wantStdout: `{
  "id": "t1",
  "name": "ci",
  "role": "auditor",
  "hint": "idc_abcd",
  "createdAt": "2025-01-02T03:04:05Z",
  "token": "idc_secretvalue"
}
`,
		},
		{
			name:       "tokens revoke",
			args:       []string{"tokens", "revoke", "ci"},
			wantMethod: "DELETE", wantPath: "/api/v1/tokens/ci",
			wantStdout: "Revoked token ci (at 2025-02-02T03:04:05Z).\n",
		},
		{
			name:       "audit list filters",
			args:       []string{"audit", "list", "--since", "2025-01-01T00:00:00+01:00", "--action", "user.", "--actor", "ci", "--limit", "5"},
			wantMethod: "GET", wantPath: "/api/v1/audit-events",
			wantQuery:  "action=user.&actor=ci&limit=5&since=2024-12-31T23%3A00%3A00Z",
			wantStdout: "TIME  ACTOR  ACTION  TARGET\n",
		},
		{
			name:       "apply from stdin",
			args:       []string{"apply", "-f", "-", "--dry-run"},
			stdin:      "users:\n  - username: carol\n",
			wantMethod: "POST", wantPath: "/api/v1/apply", wantQuery: "dryRun=true&prune=false",
			wantBody:   "users:\n  - username: carol\n",
			wantHeader: map[string]string{"Content-Type": "application/yaml"},
			wantStdout: "+ user carol\n\nPlan: 1 to create, 0 to update, 0 to delete.\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, routes)
			res := runCLI(t, testEnv(t, api), tt.stdin, tt.args...)
			if res.code != 0 {
				t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
			}
			if len(api.reqs) != 1 {
				t.Fatalf("API saw %d requests, want 1: %+v", len(api.reqs), api.reqs)
			}
			got := api.reqs[0]
			if got.method != tt.wantMethod || got.path != tt.wantPath || got.query != tt.wantQuery {
				t.Errorf("request %s %s?%s, want %s %s?%s", got.method, got.path, got.query, tt.wantMethod, tt.wantPath, tt.wantQuery)
			}
			if strings.HasPrefix(tt.wantBody, "{") {
				if !jsonEqual(t, got.body, tt.wantBody) {
					t.Errorf("body %s\nwant %s", got.body, tt.wantBody)
				}
			} else if got.body != tt.wantBody {
				t.Errorf("body %q, want %q", got.body, tt.wantBody)
			}
			for k, v := range tt.wantHeader {
				if h := got.header.Get(k); h != v {
					t.Errorf("header %s = %q, want %q", k, h, v)
				}
			}
			if tt.wantStdout != "" && res.stdout != tt.wantStdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", res.stdout, tt.wantStdout)
			}
		})
	}
}

func TestListOutput(t *testing.T) {
	routes := map[string]reply{
		"GET /api/v1/users":  {body: `{"items":[` + aliceJSON + `,` + bobJSON + `],"nextCursor":"abc"}`},
		"GET /api/v1/groups": {body: `{"items":[{"id":"g1","displayName":"eng","description":"Engineers","memberCount":2,"created":"2025-01-02T03:04:05Z","lastModified":"2025-01-02T03:04:05Z","version":1}]}`},
		"GET /api/v1/tokens": {body: `{"items":[{"id":"t1","name":"ci","role":"admin","hint":"idc_abcd","createdAt":"2025-01-02T03:04:05Z","expiresAt":"2099-01-01T00:00:00Z","lastUsedAt":"2025-01-03T00:00:00Z"},
			{"id":"t2","name":"old","role":"auditor","hint":"idc_wxyz","createdAt":"2025-01-02T03:04:05Z","revokedAt":"2025-01-05T00:00:00Z"}]}`},
		"GET /api/v1/audit-events":       {body: `{"items":[{"id":"e1","time":"2025-01-02T03:04:05Z","actor":{"type":"token","id":"t1","name":"ci"},"action":"user.create","targetType":"user","targetId":"u1","targetName":"alice"}]}`},
		"GET /api/v1/users/alice":        {body: aliceJSON},
		"GET /api/v1/groups/eng/members": {body: `{"items":[{"userId":"u1","userName":"alice","displayName":"Alice Liddell"}]}`},
	}
	tests := []struct {
		name                   string
		args                   []string
		wantStdout, wantStderr string
		wantQuery              string
	}{
		{
			name: "users table",
			args: []string{"users", "list", "--prefix", "a", "--active", "true"},
			wantStdout: "" +
				"USERNAME  DISPLAY NAME   EMAIL              ACTIVE  ROLE   ID\n" +
				"alice     Alice Liddell  alice@example.com  yes     admin  u1\n" +
				"bob       -              -                  no      -      u2\n",
			wantStderr: "More results: rerun with --all, or with --cursor abc for the next page.\n",
			wantQuery:  "active=true&prefix=a",
		},
		{
			name:       "users json is the API's objects as an array",
			args:       []string{"users", "list", "-o", "json"},
			wantStdout: "[" + aliceJSON + "," + bobJSON + "]",
			wantStderr: "More results: rerun with --all, or with --cursor abc for the next page.\n",
		},
		{
			name:       "users get json is the API's object",
			args:       []string{"--output=json", "users", "get", "alice"},
			wantStdout: aliceJSON,
		},
		{
			name: "groups table",
			args: []string{"groups", "list"},
			wantStdout: "" +
				"NAME  MEMBERS  DESCRIPTION  ID\n" +
				"eng   2        Engineers    g1\n",
		},
		{
			name: "tokens table",
			args: []string{"tokens", "list"},
			wantStdout: "" +
				"NAME  ROLE     HINT       EXPIRES               LAST USED             STATUS\n" +
				"ci    admin    idc_abcd…  2099-01-01T00:00:00Z  2025-01-03T00:00:00Z  active\n" +
				"old   auditor  idc_wxyz…  never                 never                 revoked\n",
		},
		{
			name: "audit table",
			args: []string{"audit", "list"},
			wantStdout: "" +
				"TIME                  ACTOR     ACTION       TARGET\n" +
				"2025-01-02T03:04:05Z  token:ci  user.create  user alice\n",
		},
		{
			name: "members table",
			args: []string{"groups", "members", "eng"},
			wantStdout: "" +
				"USERNAME  DISPLAY NAME   ID\n" +
				"alice     Alice Liddell  u1\n",
		},
		{
			name: "user details",
			args: []string{"users", "get", "alice"},
			wantStdout: "" +
				"User name:      alice\n" +
				"ID:             u1\n" +
				"Display name:   Alice Liddell\n" +
				"Name:           Alice Liddell\n" +
				"Emails:         alice@example.com (primary)\n" +
				"Active:         yes\n" +
				"Role:           admin\n" +
				"Department:     R&D\n" +
				"Created:        2025-01-02T03:04:05Z\n" +
				"Last modified:  2025-01-02T03:04:05Z\n" +
				"Version:        1\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, routes)
			res := runCLI(t, testEnv(t, api), "", tt.args...)
			if res.code != 0 {
				t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
			}
			if strings.HasPrefix(tt.wantStdout, "[") || strings.HasPrefix(tt.wantStdout, "{") {
				if !jsonEqual(t, res.stdout, tt.wantStdout) {
					t.Errorf("stdout:\n%s\nwant the same JSON as:\n%s", res.stdout, tt.wantStdout)
				}
			} else if res.stdout != tt.wantStdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", res.stdout, tt.wantStdout)
			}
			if res.stderr != tt.wantStderr {
				t.Errorf("stderr %q, want %q", res.stderr, tt.wantStderr)
			}
			if tt.wantQuery != "" && api.reqs[0].query != tt.wantQuery {
				t.Errorf("query %q, want %q", api.reqs[0].query, tt.wantQuery)
			}
		})
	}
}

func TestAllFollowsPages(t *testing.T) {
	var cursors []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := r.URL.Query().Get("cursor")
		cursors = append(cursors, c)
		w.Header().Set("Content-Type", "application/json")
		if c == "" {
			io.WriteString(w, `{"items":[`+aliceJSON+`],"nextCursor":"p2"}`)
			return
		}
		io.WriteString(w, `{"items":[`+bobJSON+`]}`)
	}))
	defer srv.Close()
	res := runCLI(t, testEnv(t, &fakeAPI{url: srv.URL}), "", "users", "list", "--all", "-o", "json")
	if res.code != 0 || res.stderr != "" {
		t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
	}
	if !jsonEqual(t, res.stdout, "["+aliceJSON+","+bobJSON+"]") || strings.Join(cursors, ",") != ",p2" {
		t.Errorf("stdout %s, cursors %q", res.stdout, cursors)
	}
}

func TestErrors(t *testing.T) {
	routes := map[string]reply{
		"POST /api/v1/users":                      {status: 409, body: `{"type":"about:blank","title":"Conflict","status":409,"detail":"user with userName \"alice\" already exists","requestId":"r1"}`},
		"GET /api/v1/users/ghost":                 {status: 404, body: `{"title":"Not Found","status":404,"detail":"user \"ghost\": not found"}`},
		"PATCH /api/v1/users/alice":               {status: 400, body: `{"title":"Invalid input","status":400,"detail":"invalid input: emails: \"x\" is not a valid email address","errors":[{"field":"emails","reason":"\"x\" is not a valid email address"}]}`},
		"GET /api/v1/tokens":                      {status: 401, body: `{"title":"Unauthorized","status":401,"detail":"a valid bearer token is required"}`},
		"DELETE /api/v1/groups/eng/members/bob":   {status: 404, body: `{"title":"Not Found","status":404,"detail":"user \"bob\": not found"}`},
		"DELETE /api/v1/groups/eng/members/alice": {status: 204},
	}
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantStderr string
		wantReqs   int
	}{
		{
			name:       "conflict",
			args:       []string{"users", "create", "alice", "--email", "a@example.com"},
			wantStderr: "idcenter: 409 Conflict: user with userName \"alice\" already exists\n", wantReqs: 1,
		},
		{
			name:       "not found",
			args:       []string{"users", "get", "ghost"},
			wantStderr: "idcenter: 404 Not Found: user \"ghost\": not found\n", wantReqs: 1,
		},
		{
			name:       "validation",
			args:       []string{"users", "update", "alice", "--email", "x"},
			wantStderr: "idcenter: 400 Bad Request: invalid input: emails: \"x\" is not a valid email address\n", wantReqs: 1,
		},
		{
			name:       "unauthorized has a hint",
			args:       []string{"tokens", "list"},
			wantStderr: "idcenter: 401 Unauthorized: a valid bearer token is required (check --token, IDCENTER_TOKEN or 'idcenter login')\n", wantReqs: 1,
		},
		{
			name:       "set-password refuses without --password-stdin",
			args:       []string{"users", "set-password", "alice"},
			wantStderr: "idcenter: the password is read from standard input: pass --password-stdin (e.g. 'idcenter users set-password alice --password-stdin < file'); it is never taken as an argument\n",
		},
		{
			name:       "set-password refuses an empty password",
			args:       []string{"users", "set-password", "alice", "--password-stdin"},
			stdin:      "\n",
			wantStderr: "idcenter: no password on standard input\n",
		},
		{
			name:       "set-password refuses several lines",
			args:       []string{"users", "set-password", "alice", "--password-stdin"},
			stdin:      "one\ntwo\n",
			wantStderr: "idcenter: password on standard input must be a single line\n",
		},
		{
			name:       "update with nothing to change",
			args:       []string{"users", "update", "alice"},
			wantStderr: "idcenter: nothing to update: give at least one attribute flag (see 'idcenter users update --help')\n",
		},
		{
			name:       "usage error",
			args:       []string{"users", "create", "alice"},
			wantStderr: "idcenter: missing flags: --email=EMAIL (see 'idcenter users create --help')\n",
		},
		{
			name:       "bad enum",
			args:       []string{"tokens", "create", "--name", "x", "--role", "root"},
			wantStderr: "idcenter: --role must be one of \"admin\",\"auditor\" but got \"root\" (see 'idcenter tokens create --help')\n",
		},
		{
			name:       "remove-member stops at the first failure",
			args:       []string{"groups", "remove-member", "eng", "alice", "bob", "carol"},
			wantStderr: "idcenter: removing bob (after removing 1 user(s)): 404 Not Found: user \"bob\": not found\n", wantReqs: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, routes)
			res := runCLI(t, testEnv(t, api), tt.stdin, tt.args...)
			if res.code != 1 {
				t.Errorf("exit %d, want 1", res.code)
			}
			if res.stderr != tt.wantStderr {
				t.Errorf("stderr %q\nwant   %q", res.stderr, tt.wantStderr)
			}
			if len(api.reqs) != tt.wantReqs {
				t.Errorf("API saw %d requests, want %d", len(api.reqs), tt.wantReqs)
			}
		})
	}
}

func TestConnectionErrorIsOneLine(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	res := runCLI(t, map[string]string{"HOME": t.TempDir(), "IDCENTER_URL": url, "IDCENTER_TOKEN": "t"}, "", "users", "list")
	if res.code != 1 || !strings.HasPrefix(res.stderr, "idcenter: ") || strings.Count(res.stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
}

func TestMissingURL(t *testing.T) {
	dir := t.TempDir()
	res := runCLI(t, map[string]string{"HOME": dir, "XDG_CONFIG_HOME": dir}, "", "users", "list")
	want := "idcenter: no server URL: pass --url URL, set IDCENTER_URL, or run 'idcenter login --url URL --token-stdin'\n"
	if res.code != 1 || res.stderr != want {
		t.Errorf("exit %d, stderr %q, want %q", res.code, res.stderr, want)
	}
}

func TestHelpAndVersion(t *testing.T) {
	res := runCLI(t, nil, "", "--help")
	if res.code != 0 || !strings.Contains(res.stdout, "users") || !strings.Contains(res.stdout, "serve") {
		t.Errorf("--help: exit %d, stdout %q", res.code, res.stdout)
	}
	res = runCLI(t, nil, "", "version")
	if res.code != 0 || !strings.HasPrefix(res.stdout, "idcenter ") {
		t.Errorf("version: exit %d, stdout %q", res.code, res.stdout)
	}
}

// whoamiAPI answers whoami and records the bearer tokens it saw.
func whoamiAPI(t *testing.T) (*fakeAPI, *[]string) {
	t.Helper()
	var tokens []string
	f := &fakeAPI{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokens = append(tokens, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"type":"token","id":"t1","name":"ci","role":"admin"}`)
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f, &tokens
}

func TestLoginAndPrecedence(t *testing.T) {
	fileAPI, fileTokens := whoamiAPI(t)
	envAPI, envTokens := whoamiAPI(t)
	flagAPI, flagTokens := whoamiAPI(t)
	home := t.TempDir()
	env := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, "xdg")}
	cfgPath := filepath.Join(home, "xdg", "idcenter", "cli.yaml")

	// login reads the token from stdin, checks it and saves both, mode 0600.
	res := runCLI(t, env, "idc_filetoken\n", "login", "--url", fileAPI.url, "--token-stdin")
	if res.code != 0 {
		t.Fatalf("login: exit %d, stderr %q", res.code, res.stderr)
	}
	st, err := os.Stat(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("config mode %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(cfgPath)
	if want := "url: " + fileAPI.url + "\ntoken: idc_filetoken\n"; string(b) != want {
		t.Errorf("config file:\n%s\nwant:\n%s", b, want)
	}

	steps := []struct {
		name      string
		env       map[string]string
		args      []string
		api       *[]string // the server that must be called
		wantToken string
		wantErr   string
	}{
		{name: "file only", args: []string{"whoami"}, api: fileTokens, wantToken: "idc_filetoken"},
		{name: "env token beats file token", env: map[string]string{"IDCENTER_TOKEN": "idc_env"}, args: []string{"whoami"},
			api: fileTokens, wantToken: "idc_env"},
		{name: "env URL beats file URL", env: map[string]string{"IDCENTER_URL": envAPI.url, "IDCENTER_TOKEN": "idc_env"},
			args: []string{"whoami"}, api: envTokens, wantToken: "idc_env"},
		{name: "flags beat env", env: map[string]string{"IDCENTER_URL": envAPI.url, "IDCENTER_TOKEN": "idc_env"},
			args: []string{"--url", flagAPI.url, "--token", "idc_flag", "whoami"}, api: flagTokens, wantToken: "idc_flag"},
		{name: "saved token is not sent to another server", env: map[string]string{"IDCENTER_URL": envAPI.url},
			args: []string{"whoami"}, wantErr: "no API token for " + envAPI.url},
		{name: "saved token is used with the saved URL given again", args: []string{"--url", fileAPI.url + "/", "whoami"},
			api: fileTokens, wantToken: "idc_filetoken"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range env {
				e[k] = v
			}
			for k, v := range s.env {
				e[k] = v
			}
			before := [][]string{*fileTokens, *envTokens, *flagTokens}
			res := runCLI(t, e, "", s.args...)
			if s.wantErr != "" {
				if res.code != 1 || !strings.Contains(res.stderr, s.wantErr) {
					t.Errorf("exit %d, stderr %q, want an error containing %q", res.code, res.stderr, s.wantErr)
				}
				if len(*fileTokens)+len(*envTokens)+len(*flagTokens) != len(before[0])+len(before[1])+len(before[2]) {
					t.Error("a request was sent")
				}
				return
			}
			if res.code != 0 {
				t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
			}
			if got := *s.api; len(got) == 0 || got[len(got)-1] != s.wantToken {
				t.Errorf("server saw tokens %q, want the last to be %q", got, s.wantToken)
			}
		})
	}

	// logout removes the token and keeps the URL.
	res = runCLI(t, env, "", "logout")
	if res.code != 0 {
		t.Fatalf("logout: exit %d, stderr %q", res.code, res.stderr)
	}
	b, _ = os.ReadFile(cfgPath)
	if want := "url: " + fileAPI.url + "\n"; string(b) != want {
		t.Errorf("config after logout:\n%s\nwant:\n%s", b, want)
	}
	res = runCLI(t, env, "", "whoami")
	if res.code != 1 || !strings.Contains(res.stderr, "no API token") {
		t.Errorf("after logout: exit %d, stderr %q", res.code, res.stderr)
	}
}

func TestLoginRejectsABadToken(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"GET /api/v1/whoami": {status: 401, body: `{"title":"Unauthorized","status":401,"detail":"a valid bearer token is required"}`},
	})
	home := t.TempDir()
	env := map[string]string{"HOME": home, "XDG_CONFIG_HOME": home}
	res := runCLI(t, env, "idc_wrong", "login", "--url", api.url, "--token-stdin")
	if res.code != 1 || !strings.Contains(res.stderr, "401 Unauthorized") {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(home, "idcenter", "cli.yaml")); !os.IsNotExist(err) {
		t.Errorf("config file written after a failed login (stat: %v)", err)
	}
}

func TestExportToFile(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{"GET /api/v1/export": {body: "users: []\ngroups: []\n", ctype: "application/yaml"}})
	out := filepath.Join(t.TempDir(), "dir.yaml")
	res := runCLI(t, testEnv(t, api), "", "export", "-f", out)
	if res.code != 0 {
		t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil || string(b) != "users: []\ngroups: []\n" {
		t.Errorf("file %q, err %v", b, err)
	}
	res = runCLI(t, testEnv(t, api), "", "export")
	if res.code != 0 || res.stdout != "users: []\ngroups: []\n" {
		t.Errorf("exit %d, stdout %q", res.code, res.stdout)
	}
}

func TestCellsAreSafe(t *testing.T) {
	if got := cell("evil\x1b[2J\tname\u202e"); got != "evil [2J name " {
		t.Errorf("cell = %q", got)
	}
}

func TestParseWhen(t *testing.T) {
	now := mustTime(t, "2025-06-10T12:00:00Z")
	tests := []struct{ in, want string }{
		{"24h", "2025-06-09T12:00:00Z"},
		{"7d", "2025-06-03T12:00:00Z"},
		{"1d12h", "2025-06-09T00:00:00Z"},
		{"2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		got, err := parseWhen(tt.in, now)
		if err != nil || !got.Equal(mustTime(t, tt.want)) {
			t.Errorf("parseWhen(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"yesterday", "-5h", "d"} {
		if _, err := parseWhen(bad, now); err == nil {
			t.Errorf("parseWhen(%q): want an error", bad)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
