package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSCIMTokenRotationWithoutFailedRequest (issue 5, "tokens can be rotated
// without a failed request"): provisioning clients run continuously on token
// A; an admin creates B, the clients switch to B, the admin revokes A. No
// request fails at any point, and A is refused from the moment it is
// revoked. Real tokens, real app, both engines.
func TestSCIMTokenRotationWithoutFailedRequest(t *testing.T) {
	forEngine(t, func(t *testing.T, s *server) {
		create := func(name string) string {
			tok, _ := s.must(201, "POST", "/api/v1/scim/tokens", map[string]any{"name": name}).json(t)["token"].(string)
			if tok == "" {
				t.Fatalf("no secret for %s", name)
			}
			return tok
		}
		tokA := create("okta-2026")

		// Each client provisions users and reads them back, in a loop, with
		// whichever token is current when the request starts.
		const clients = 3
		created := &sync.Map{} // client → id of the user it created last
		var current atomic.Pointer[string]
		current.Store(&tokA)
		var (
			stop     = make(chan struct{})
			wg       sync.WaitGroup
			mu       sync.Mutex
			failures []string
			usedB    [clients]atomic.Int64 // requests each client finished with B
			total    atomic.Int64
		)
		for c := range clients {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					tok := *current.Load()
					status, body, err := scimRequest(s, created, tok, c, i)
					total.Add(1)
					if err != nil || status >= 300 {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("client %d request %d (token %s…): %d %v %.200s", c, i, tok[:8], status, err, body))
						mu.Unlock()
					}
					if tok != tokA {
						usedB[c].Add(1)
					}
				}
			})
		}
		waitFor := func(what string, cond func() bool) {
			t.Helper()
			deadline := time.Now().Add(30 * time.Second)
			for !cond() {
				if time.Now().After(deadline) {
					close(stop)
					wg.Wait()
					t.Fatalf("timed out waiting for %s", what)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		waitFor("traffic on A", func() bool { return total.Load() >= 30 })

		// Rotation: B is created while A is in use; the clients move to B;
		// once no request can still be on its way with A, A is revoked.
		tokB := create("okta-2027")
		current.Store(&tokB)
		waitFor("every client on B", func() bool {
			for c := range clients {
				if usedB[c].Load() == 0 {
					return false
				}
			}
			return true
		})
		s.must(200, "DELETE", "/api/v1/scim/tokens/okta-2026", nil)
		// A is refused at once; B keeps working.
		if r := s.do("GET", "/scim/v2/Users?count=1", tokA, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("revoked token A: status %d, want 401: %s", r.Status, r.Body)
		}
		afterRevoke := total.Load()
		waitFor("traffic on B after the revocation", func() bool { return total.Load() >= afterRevoke+30 })
		close(stop)
		wg.Wait()

		for _, f := range failures {
			t.Error(f)
		}
		t.Logf("%d requests, %d failed", total.Load(), len(failures))
		for _, path := range []string{"/scim/v2/Users", "/scim/v2/Groups", "/scim/v2/ServiceProviderConfig"} {
			if r := s.do("GET", path, tokA, nil); r.Status != http.StatusUnauthorized {
				t.Errorf("GET %s with the revoked token: %d", path, r.Status)
			}
			if r := s.do("GET", path, tokB, nil); r.Status != http.StatusOK {
				t.Errorf("GET %s with the new token: %d", path, r.Status)
			}
		}
		// The listing shows A revoked and B in use.
		items, _ := s.must(200, "GET", "/api/v1/scim/tokens", nil).json(t)["items"].([]any)
		for _, x := range items {
			tok, _ := x.(map[string]any)
			switch tok["name"] {
			case "okta-2026":
				if tok["revokedAt"] == nil || tok["lastUsedAt"] == nil {
					t.Errorf("token A: %v", tok)
				}
			case "okta-2027":
				if tok["revokedAt"] != nil || tok["lastUsedAt"] == nil {
					t.Errorf("token B: %v", tok)
				}
			}
		}
	})
}

// scimRequest is one request of a provisioning client: a create, a filtered
// lookup or a PATCH, in turn. It runs on a client goroutine, so it reports
// instead of failing the test.
func scimRequest(s *server, created *sync.Map, token string, client, i int) (int, string, error) {
	userName := fmt.Sprintf("rot-%d-%d@example.com", client, i/3)
	var method, path string
	var body any
	switch i % 3 {
	case 0:
		method, path = "POST", "/scim/v2/Users"
		body = map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": userName, "active": true}
	case 1:
		method, path = "GET", "/scim/v2/Users?filter="+url.QueryEscape(fmt.Sprintf(`userName eq "%s"`, userName))
	default:
		id, _ := created.Load(client)
		method, path = "PATCH", fmt.Sprint("/scim/v2/Users/", id)
		body = map[string]any{"Operations": []any{map[string]any{"op": "replace", "path": "title", "value": fmt.Sprint("t", i)}}}
	}
	var rd io.Reader
	if body != nil {
		buf, _ := json.Marshal(body)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, s.srv.URL+path, rd)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	res, err := s.srv.Client().Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if method == "POST" && res.StatusCode == http.StatusCreated {
		var u struct{ ID string }
		_ = json.Unmarshal(raw, &u)
		created.Store(client, u.ID)
	}
	return res.StatusCode, string(raw), nil
}

// TestSCIMOversizedRequestsThroughApp: SCIM-05 at the HTTP layer of the
// real app: a 1 MB filter in a .search body or any oversized body is
// refused before any SCIM work (413), and in a URL it is a 400 invalidFilter
// (the test server takes request lines up to 1 MiB; the app's own server
// stops at 64 KiB with a 431), quickly.
func TestSCIMOversizedRequestsThroughApp(t *testing.T) {
	s := start(t, testConfig(t, ""))
	tok, _ := s.must(201, "POST", "/api/v1/scim/tokens", map[string]any{"name": "big"}).json(t)["token"].(string)
	big := `userName eq "` + strings.Repeat("a", 1<<20) + `"`
	for _, tc := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", "/scim/v2/Users?filter=" + url.QueryEscape(big), nil, http.StatusBadRequest},
		{"POST", "/scim/v2/Users/.search", map[string]any{"filter": big}, http.StatusRequestEntityTooLarge},
		{"POST", "/scim/v2/Users", map[string]any{"userName": "x", "title": strings.Repeat("a", 1<<20)}, http.StatusRequestEntityTooLarge},
	} {
		start := time.Now()
		r := s.do(tc.method, tc.path, tok, tc.body)
		if r.Status != tc.want || tc.want == http.StatusBadRequest && !strings.Contains(string(r.Body), `"scimType":"invalidFilter"`) {
			t.Errorf("%s %.40s…: status %d, want %d: %.300s", tc.method, tc.path, r.Status, tc.want, r.Body)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s %.40s…: took %v", tc.method, tc.path, d)
		}
	}
}
