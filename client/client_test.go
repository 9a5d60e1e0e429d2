package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// recorded is what the fake server saw.
type recorded struct {
	Method, Path, RawPath, Query, Body string
	Header                             http.Header
}

// fake starts a server that records each request and answers with status,
// content type and body.
func fake(t *testing.T, status int, contentType, body string) (*Client, *[]recorded) {
	t.Helper()
	var reqs []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		reqs = append(reqs, recorded{r.Method, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, string(b), r.Header.Clone()})
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return New(srv.URL+"/", "idc_secret", WithHTTPClient(srv.Client()), WithUserAgent("test-agent")), &reqs
}

const userJSON = `{"id":"u1","userName":"alice","name":{"givenName":"Alice","familyName":"Liddell"},
"displayName":"Alice Liddell","active":true,"emails":[{"value":"alice@example.com","primary":true}],
"enterprise":{"department":"R&D","managerId":"u0","managerName":"Bob"},"role":"admin",
"created":"2025-01-02T03:04:05Z","lastModified":"2025-01-02T03:04:06Z","version":3}`

func wantUser() User {
	return User{
		ID: "u1", UserName: "alice", Name: Name{GivenName: "Alice", FamilyName: "Liddell"},
		DisplayName: "Alice Liddell", Active: true,
		Emails:     []MultiValue{{Value: "alice@example.com", Primary: true}},
		Enterprise: Enterprise{Department: "R&D", ManagerID: "u0", ManagerName: "Bob"},
		Role:       "admin",
		Created:    time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), LastModified: time.Date(2025, 1, 2, 3, 4, 6, 0, time.UTC),
		Version: 3,
	}
}

func TestRequests(t *testing.T) {
	active := false
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		status   int
		respType string
		resp     string
		call     func(c *Client) (any, error)
		want     recorded // Header holds only the headers checked
		wantOut  any
	}{
		{
			name: "whoami", status: 200, respType: "application/json",
			resp:    `{"type":"token","id":"t1","name":"ci","role":"admin"}`,
			call:    func(c *Client) (any, error) { return c.WhoAmI(context.Background()) },
			want:    recorded{Method: "GET", Path: "/api/v1/whoami"},
			wantOut: Identity{Type: "token", ID: "t1", Name: "ci", Role: "admin"},
		},
		{
			name: "list users with filters", status: 200, respType: "application/json",
			resp: `{"items":[` + userJSON + `],"nextCursor":"c2"}`,
			call: func(c *Client) (any, error) {
				items, next, err := c.ListUsers(context.Background(), UserListOptions{
					Prefix: "al", Email: "a@b.c", Group: "eng & ops", Active: &active, Cursor: "c1", Limit: 10})
				return []any{items, next}, err
			},
			want:    recorded{Method: "GET", Path: "/api/v1/users", Query: "active=false&cursor=c1&email=a%40b.c&group=eng+%26+ops&limit=10&prefix=al"},
			wantOut: []any{[]User{wantUser()}, "c2"},
		},
		{
			name: "get user escapes the key", status: 200, respType: "application/json; charset=utf-8", resp: userJSON,
			call:    func(c *Client) (any, error) { return c.GetUser(context.Background(), "a/b c") },
			want:    recorded{Method: "GET", Path: "/api/v1/users/a/b c", RawPath: "/api/v1/users/a%2Fb%20c"},
			wantOut: wantUser(),
		},
		{
			name: "get user dot-dot stays a segment", status: 200, respType: "application/json", resp: userJSON,
			call:    func(c *Client) (any, error) { return c.GetUser(context.Background(), "..") },
			want:    recorded{Method: "GET", Path: "/api/v1/users/..", RawPath: "/api/v1/users/%2E%2E"},
			wantOut: wantUser(),
		},
		{
			name: "create user omits server fields", status: 201, respType: "application/json", resp: userJSON,
			call: func(c *Client) (any, error) {
				u := wantUser()
				return c.CreateUser(context.Background(), u)
			},
			want: recorded{Method: "POST", Path: "/api/v1/users",
				Body:   `{"active":true,"displayName":"Alice Liddell","emails":[{"primary":true,"value":"alice@example.com"}],"enterprise":{"department":"R&D","managerId":"u0"},"name":{"familyName":"Liddell","givenName":"Alice"},"role":"admin","userName":"alice"}`,
				Header: http.Header{"Content-Type": {"application/json"}}},
			wantOut: wantUser(),
		},
		{
			name: "update user sends merge patch and If-Match", status: 200, respType: "application/json", resp: userJSON,
			call: func(c *Client) (any, error) {
				return c.UpdateUser(context.Background(), "alice", map[string]any{"active": false, "name": map[string]any{"givenName": "A"}}, 3)
			},
			want: recorded{Method: "PATCH", Path: "/api/v1/users/alice", Body: `{"active":false,"name":{"givenName":"A"}}`,
				Header: http.Header{"If-Match": {`"3"`}, "Content-Type": {"application/merge-patch+json"}}},
			wantOut: wantUser(),
		},
		{
			name: "update without version sends no If-Match", status: 200, respType: "application/json", resp: userJSON,
			call: func(c *Client) (any, error) {
				return c.UpdateUser(context.Background(), "alice", map[string]any{"title": ""}, 0)
			},
			want:    recorded{Method: "PATCH", Path: "/api/v1/users/alice", Body: `{"title":""}`, Header: http.Header{"If-Match": nil}},
			wantOut: wantUser(),
		},
		{
			name: "delete user", status: 204,
			call: func(c *Client) (any, error) { return nil, c.DeleteUser(context.Background(), "alice") },
			want: recorded{Method: "DELETE", Path: "/api/v1/users/alice"},
		},
		{
			name: "set password", status: 204,
			call: func(c *Client) (any, error) { return nil, c.SetPassword(context.Background(), "alice", "s3cret pass") },
			want: recorded{Method: "PUT", Path: "/api/v1/users/alice/password", Body: `{"password":"s3cret pass"}`},
		},
		{
			name: "list groups", status: 200, respType: "application/json",
			resp: `{"items":[{"id":"g1","displayName":"eng","memberCount":2,"created":"2025-01-02T03:04:05Z","lastModified":"2025-01-02T03:04:05Z","version":1}]}`,
			call: func(c *Client) (any, error) {
				items, next, err := c.ListGroups(context.Background(), GroupListOptions{Prefix: "e", Member: "alice"})
				return []any{items, next}, err
			},
			want: recorded{Method: "GET", Path: "/api/v1/groups", Query: "member=alice&prefix=e"},
			wantOut: []any{[]Group{{ID: "g1", DisplayName: "eng", MemberCount: 2,
				Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), LastModified: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Version: 1}}, ""},
		},
		{
			name: "create group", status: 201, respType: "application/json", resp: `{"id":"g1","displayName":"eng"}`,
			call: func(c *Client) (any, error) {
				return c.CreateGroup(context.Background(), Group{DisplayName: "eng", Description: "Engineers"}, []string{"alice", "bob"})
			},
			want:    recorded{Method: "POST", Path: "/api/v1/groups", Body: `{"displayName":"eng","description":"Engineers","members":["alice","bob"]}`},
			wantOut: Group{ID: "g1", DisplayName: "eng"},
		},
		{
			name: "update group", status: 200, respType: "application/json", resp: `{"id":"g1","displayName":"eng2"}`,
			call: func(c *Client) (any, error) {
				return c.UpdateGroup(context.Background(), "eng", map[string]any{"displayName": "eng2"}, 7)
			},
			want:    recorded{Method: "PATCH", Path: "/api/v1/groups/eng", Body: `{"displayName":"eng2"}`, Header: http.Header{"If-Match": {`"7"`}}},
			wantOut: Group{ID: "g1", DisplayName: "eng2"},
		},
		{
			name: "list members", status: 200, respType: "application/json", resp: `{"items":[{"userId":"u1","userName":"alice"}]}`,
			call: func(c *Client) (any, error) {
				items, _, err := c.ListMembers(context.Background(), "eng", PageOptions{Limit: 5})
				return items, err
			},
			want:    recorded{Method: "GET", Path: "/api/v1/groups/eng/members", Query: "limit=5"},
			wantOut: []Member{{UserID: "u1", UserName: "alice"}},
		},
		{
			name: "add members", status: 200, respType: "application/json", resp: `{"id":"g1","displayName":"eng","memberCount":2}`,
			call: func(c *Client) (any, error) {
				return c.AddMembers(context.Background(), "eng", []string{"alice", "bob"})
			},
			want:    recorded{Method: "POST", Path: "/api/v1/groups/eng/members", Body: `{"users":["alice","bob"]}`},
			wantOut: Group{ID: "g1", DisplayName: "eng", MemberCount: 2},
		},
		{
			name: "remove member", status: 204,
			call: func(c *Client) (any, error) { return nil, c.RemoveMember(context.Background(), "eng ops", "alice") },
			want: recorded{Method: "DELETE", Path: "/api/v1/groups/eng ops/members/alice"},
		},
		{
			name: "create token", status: 201, respType: "application/json",
			resp: `{"id":"t1","name":"ci","role":"admin","hint":"idc_abcd","createdAt":"2025-01-02T03:04:05Z","expiresAt":"2030-01-01T00:00:00Z","token":"idc_abcdefg"}`,
			call: func(c *Client) (any, error) {
				return c.CreateToken(context.Background(), TokenRequest{Name: "ci", Role: RoleAdmin, ExpiresAt: &exp})
			},
			want: recorded{Method: "POST", Path: "/api/v1/tokens", Body: `{"name":"ci","role":"admin","expiresAt":"2030-01-01T00:00:00Z"}`},
			wantOut: CreatedToken{Token: Token{ID: "t1", Name: "ci", Role: "admin", Hint: "idc_abcd",
				CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), ExpiresAt: &exp}, Secret: "idc_abcdefg"},
		},
		{
			name: "list tokens", status: 200, respType: "application/json", resp: `{"items":[{"id":"t1","name":"ci","role":"auditor","hint":"idc_","createdAt":"2025-01-02T03:04:05Z"}]}`,
			call: func(c *Client) (any, error) { return c.ListTokens(context.Background()) },
			want: recorded{Method: "GET", Path: "/api/v1/tokens"},
			wantOut: []Token{{ID: "t1", Name: "ci", Role: "auditor", Hint: "idc_",
				CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}},
		},
		{
			name: "revoke token", status: 200, respType: "application/json", resp: `{"id":"t1","name":"ci","role":"admin","hint":"x","createdAt":"2025-01-02T03:04:05Z","revokedAt":"2030-01-01T00:00:00Z"}`,
			call: func(c *Client) (any, error) { return c.RevokeToken(context.Background(), "ci") },
			want: recorded{Method: "DELETE", Path: "/api/v1/tokens/ci"},
			wantOut: Token{ID: "t1", Name: "ci", Role: "admin", Hint: "x",
				CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), RevokedAt: &exp},
		},
		{
			name: "audit events", status: 200, respType: "application/json",
			resp: `{"items":[{"id":"e1","time":"2025-01-02T03:04:05Z","actor":{"type":"token","id":"t1","name":"ci"},"action":"user.create","targetType":"user","targetId":"u1","targetName":"alice","summary":{"role":"admin"}}],"nextCursor":"n"}`,
			call: func(c *Client) (any, error) {
				items, next, err := c.ListAuditEvents(context.Background(), AuditListOptions{
					Since: time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600)), Action: "user.", Limit: 2})
				return []any{items, next}, err
			},
			want: recorded{Method: "GET", Path: "/api/v1/audit-events", Query: "action=user.&limit=2&since=2024-12-31T23%3A00%3A00Z"},
			wantOut: []any{[]AuditEvent{{ID: "e1", Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
				Actor: Actor{Type: "token", ID: "t1", Name: "ci"}, Action: "user.create", TargetType: "user",
				TargetID: "u1", TargetName: "alice", Summary: map[string]any{"role": "admin"}}}, "n"},
		},
		{
			name: "apply", status: 200, respType: "application/json",
			resp: `{"changes":[{"op":"update","kind":"user","name":"alice","fields":{"title":{"from":"","to":"CTO"}}},{"op":"update","kind":"group","name":"eng","membersAdded":["bob"]}],"applied":false,"text":"~ user alice\n"}`,
			call: func(c *Client) (any, error) {
				return c.Apply(context.Background(), []byte("users: []\n"), true, false)
			},
			want: recorded{Method: "POST", Path: "/api/v1/apply", Query: "dryRun=true&prune=false", Body: "users: []\n",
				Header: http.Header{"Content-Type": {"application/yaml"}}},
			wantOut: Plan{Changes: []Change{
				{Op: "update", Kind: "user", Name: "alice", Fields: map[string]FieldChange{"title": {From: "", To: "CTO"}}},
				{Op: "update", Kind: "group", Name: "eng", MembersAdded: []string{"bob"}},
			}, Text: "~ user alice\n"},
		},
		{
			name: "export", status: 200, respType: "application/yaml", resp: "users: []\n",
			call: func(c *Client) (any, error) {
				b, err := c.Export(context.Background())
				return string(b), err
			},
			want:    recorded{Method: "GET", Path: "/api/v1/export", Header: http.Header{"Accept": {"application/yaml, application/problem+json"}}},
			wantOut: "users: []\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, reqs := fake(t, tt.status, tt.respType, tt.resp)
			out, err := tt.call(c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if len(*reqs) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(*reqs))
			}
			got := (*reqs)[0]
			if got.Method != tt.want.Method || got.Path != tt.want.Path || got.RawPath != tt.want.RawPath || got.Query != tt.want.Query {
				t.Errorf("request = %s %q (raw %q) ?%s, want %s %q (raw %q) ?%s",
					got.Method, got.Path, got.RawPath, got.Query, tt.want.Method, tt.want.Path, tt.want.RawPath, tt.want.Query)
			}
			if !sameBody(got.Body, tt.want.Body) {
				t.Errorf("body = %s\nwant   %s", got.Body, tt.want.Body)
			}
			if h := got.Header.Get("Authorization"); h != "Bearer idc_secret" {
				t.Errorf("Authorization = %q", h)
			}
			if h := got.Header.Get("User-Agent"); h != "test-agent" {
				t.Errorf("User-Agent = %q", h)
			}
			for k, v := range tt.want.Header {
				if g := got.Header.Values(k); !reflect.DeepEqual(g, v) {
					t.Errorf("header %s = %q, want %q", k, g, v)
				}
			}
			if tt.wantOut != nil && !reflect.DeepEqual(out, tt.wantOut) {
				t.Errorf("result = %#v\nwant     %#v", out, tt.wantOut)
			}
		})
	}
}

// sameBody compares JSON bodies semantically and other bodies exactly.
func sameBody(got, want string) bool {
	var g, w any
	if json.Unmarshal([]byte(got), &g) == nil && json.Unmarshal([]byte(want), &w) == nil {
		return reflect.DeepEqual(g, w)
	}
	return got == want
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		status                  int
		want                    string
		wantErr                 Error
	}{
		{
			name: "conflict problem", status: 409, contentType: "application/problem+json",
			body:    `{"type":"about:blank","title":"Conflict","status":409,"detail":"user with userName \"alice\" already exists","requestId":"r1"}`,
			want:    `409 Conflict: user with userName "alice" already exists`,
			wantErr: Error{Status: 409, Type: "about:blank", Title: "Conflict", Detail: `user with userName "alice" already exists`, RequestID: "r1"},
		},
		{
			name: "validation problem", status: 400, contentType: "application/problem+json",
			body: `{"title":"Invalid input","status":400,"detail":"invalid input: emails: \"x\" is not a valid email address","errors":[{"field":"emails","reason":"\"x\" is not a valid email address"}]}`,
			want: `400 Bad Request: invalid input: emails: "x" is not a valid email address`,
			wantErr: Error{Status: 400, Title: "Invalid input", Detail: `invalid input: emails: "x" is not a valid email address`,
				Problems: []FieldError{{Field: "emails", Reason: `"x" is not a valid email address`}}, RequestID: "hdr"},
		},
		{
			name: "validation problem without detail", status: 400, contentType: "application/problem+json",
			body: `{"title":"Bad Request","status":400,"errors":[{"field":"a","reason":"is required"},{"field":"b","reason":"is bad"}]}`,
			want: `400 Bad Request: invalid input: a: is required; b: is bad`,
			wantErr: Error{Status: 400, Title: "Bad Request", RequestID: "hdr",
				Problems: []FieldError{{Field: "a", Reason: "is required"}, {Field: "b", Reason: "is bad"}}},
		},
		{
			name: "plain text from http.Error", status: 404, contentType: "text/plain; charset=utf-8", body: "404 page not found\n",
			want: "404 Not Found: 404 page not found", wantErr: Error{Status: 404, Detail: "404 page not found", RequestID: "hdr"},
		},
		{
			name: "status text body is not repeated", status: 503, contentType: "text/plain", body: "Service Unavailable\n",
			want: "503 Service Unavailable (request id hdr)", wantErr: Error{Status: 503, RequestID: "hdr"},
		},
		{
			name: "html from a proxy", status: 502, contentType: "text/html", body: "<html><body>Bad gateway</body></html>",
			want: "502 Bad Gateway (request id hdr)", wantErr: Error{Status: 502, RequestID: "hdr"},
		},
		{
			name: "server error names the request id", status: 500, contentType: "application/problem+json",
			body:    `{"title":"Internal Server Error","status":500,"detail":"an internal error occurred","requestId":"req-9"}`,
			want:    "500 Internal Server Error: an internal error occurred (request id req-9)",
			wantErr: Error{Status: 500, Title: "Internal Server Error", Detail: "an internal error occurred", RequestID: "req-9"},
		},
		{
			name: "other json", status: 401, contentType: "application/json", body: `{"message":"token expired"}`,
			want: "401 Unauthorized: token expired", wantErr: Error{Status: 401, Detail: "token expired", RequestID: "hdr"},
		},
		{
			name: "hostile detail stays on one line", status: 409, contentType: "application/problem+json",
			body:    `{"title":"Conflict","detail":"line1\nline2\u001b[31m\u202Eend"}`,
			want:    "409 Conflict: line1 line2 [31m end",
			wantErr: Error{Status: 409, Title: "Conflict", Detail: "line1\nline2\x1b[31m\u202eend", RequestID: "hdr"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.Header().Set("X-Request-Id", "hdr")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			_, err := New(srv.URL, "t").GetUser(context.Background(), "alice")
			var apiErr *Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if !reflect.DeepEqual(*apiErr, tt.wantErr) {
				t.Errorf("error = %#v\nwant    %#v", *apiErr, tt.wantErr)
			}
			if !IsStatus(err, tt.status) {
				t.Errorf("IsStatus(err, %d) = false", tt.status)
			}
		})
	}
}

func TestAllUsersFollowsCursors(t *testing.T) {
	var cursors []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur := r.URL.Query().Get("cursor")
		cursors = append(cursors, cur)
		w.Header().Set("Content-Type", "application/json")
		switch cur {
		case "":
			io.WriteString(w, `{"items":[{"id":"1","userName":"a"}],"nextCursor":"p2"}`)
		case "p2":
			io.WriteString(w, `{"items":[{"id":"2","userName":"b"}],"nextCursor":"p3"}`)
		default:
			io.WriteString(w, `{"items":[{"id":"3","userName":"c"}]}`)
		}
	}))
	defer srv.Close()
	users, err := New(srv.URL, "t").AllUsers(context.Background(), UserListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.UserName)
	}
	if strings.Join(names, ",") != "a,b,c" || strings.Join(cursors, ",") != ",p2,p3" {
		t.Errorf("names %v, cursors %q", names, cursors)
	}
}

func TestAllUsersStopsOnRepeatedCursor(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"items":[],"nextCursor":"same"}`)
	}))
	defer srv.Close()
	if _, err := New(srv.URL, "t").AllUsers(context.Background(), UserListOptions{}); err == nil {
		t.Fatal("want an error for a server that repeats its cursor")
	}
}

func TestResponseChecks(t *testing.T) {
	tests := []struct {
		name, contentType, body, wantErr string
		call                             func(c *Client) error
	}{
		{
			name: "html instead of json", contentType: "text/html", body: "<html>login</html>", wantErr: "is http",
			call: func(c *Client) error { _, err := c.WhoAmI(context.Background()); return err },
		},
		{
			name: "html instead of yaml", contentType: "text/html", body: "<html>login</html>", wantErr: "unexpected response",
			call: func(c *Client) error { _, err := c.Export(context.Background()); return err },
		},
		{
			name: "too large", contentType: "application/yaml", body: strings.Repeat("x", MaxResponseBytes+1), wantErr: "larger than",
			call: func(c *Client) error { _, err := c.Export(context.Background()); return err },
		},
		{
			name: "bad json", contentType: "application/json", body: "{", wantErr: "decoding response",
			call: func(c *Client) error { _, err := c.WhoAmI(context.Background()); return err },
		},
		{
			name: "empty key", wantErr: "empty user",
			call: func(c *Client) error { _, err := c.GetUser(context.Background(), ""); return err },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := fake(t, 200, tt.contentType, tt.body)
			err := tt.call(c)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestInvalidBaseURL(t *testing.T) {
	for _, base := range []string{"", "example.com", "ftp://x", "http://x?y=1"} {
		if _, err := New(base, "t").WhoAmI(context.Background()); err == nil || !strings.Contains(err.Error(), "invalid server URL") {
			t.Errorf("New(%q): err = %v, want invalid server URL", base, err)
		}
	}
}

func TestRedirectIsAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://id.example.com"+r.URL.Path, http.StatusMovedPermanently)
	}))
	defer srv.Close()
	_, err := New(srv.URL, "t").CreateUser(context.Background(), User{UserName: "a"})
	want := "301 Moved Permanently: the server redirects to https://id.example.com/api/v1/users; use https://id.example.com as the server URL"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}
