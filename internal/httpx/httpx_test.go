package httpx

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestClientIP(t *testing.T) {
	p := ParseProxies([]string{"10.0.0.0/8"})
	cases := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"direct, header ignored", "203.0.113.9:1234", []string{"1.2.3.4"}, "203.0.113.9"},
		{"trusted proxy", "10.1.2.3:80", []string{"198.51.100.7"}, "198.51.100.7"},
		{"spoofed left-most entry ignored", "10.1.2.3:80", []string{"6.6.6.6, 198.51.100.7"}, "198.51.100.7"},
		{"chain of trusted proxies", "10.1.2.3:80", []string{"198.51.100.7, 10.9.9.9"}, "198.51.100.7"},
		{"garbage entry falls back to peer", "10.1.2.3:80", []string{"not-an-ip"}, "10.1.2.3"},
		{"only proxies", "10.1.2.3:80", []string{"10.2.2.2"}, "10.1.2.3"},
		{"ipv6 peer", "[2001:db8::1]:443", nil, "2001:db8::1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.remote
			for _, h := range c.xff {
				r.Header.Add("X-Forwarded-For", h)
			}
			if got := p.ClientIP(r); got != c.want {
				t.Fatalf("ClientIP = %q, want %q", got, c.want)
			}
		})
	}
}

func TestMiddleware(t *testing.T) {
	var seen string
	m := &Middleware{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxBodyBytes: 16}
	h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = RequestID(r.Context())
		if r.URL.Path == "/panic" {
			panic("boom")
		}
		if _, err := io.ReadAll(r.Body); err != nil {
			status, _, _, _ := ErrorStatus(err)
			w.WriteHeader(status)
		}
	}))
	for _, c := range []struct {
		name, path, reqID, body string
		status                  int
		keepID                  bool
	}{
		{"client id kept", "/", "abcdef0123456789", "", 200, true},
		{"bad client id replaced", "/", "x\r\nInjected: 1", "", 200, false},
		{"body over limit", "/", "", strings.Repeat("a", 17), 413, false},
		{"panic becomes 500", "/panic", "", "", 500, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", c.path, strings.NewReader(c.body))
			if c.reqID != "" {
				r.Header["X-Request-Id"] = []string{c.reqID}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d", w.Code, c.status)
			}
			got := w.Header().Get("X-Request-Id")
			if c.keepID && got != c.reqID || !c.keepID && (got == c.reqID || len(got) != 24) {
				t.Fatalf("request id %q (sent %q)", got, c.reqID)
			}
			if c.status == 500 && (strings.Contains(w.Body.String(), "boom") || !strings.Contains(w.Body.String(), got)) {
				t.Fatalf("panic response %s", w.Body.String())
			}
			_ = seen
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	type in struct {
		Name string `json:"name"`
		N    int    `json:"n"`
	}
	for _, c := range []struct{ body, ct, want string }{
		{`{"name":"a","n":1}`, "application/json", ""},
		{`{"name":"a"}`, "application/merge-patch+json", ""},
		{`{"name":"a"}`, "text/plain", "Content-Type"},
		{`{"name":"a","x":1}`, "", `unknown field "x"`},
		{`{"n":"1"}`, "", `field "n"`},
		{`{"name":`, "", "truncated"},
		{`{"name" 1}`, "", "malformed JSON at byte"},
		{``, "", "empty"},
		{`{} {}`, "", "single JSON value"},
		{`[1]`, "", "expected"},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
		if c.ct != "" {
			r.Header.Set("Content-Type", c.ct)
		}
		var v in
		err := DecodeJSON(r, &v)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%q (%s): %v, want %q", c.body, c.ct, err, c.want)
		}
	}
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add(`{"name":"a"}`)
	f.Add(`{"name":`)
	f.Fuzz(func(t *testing.T, body string) {
		var v map[string]any
		_ = DecodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(body)), &v)
	})
}
