package scim_test

// SCIM-05: filter, paging and PATCH resource limits, over HTTP on both
// engines. Every oversized or overdeep input is refused quickly with a 400
// (or 413 / 431 from the HTTP layer), never a 500, a hang or a silently
// truncated answer.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/scim"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
)

// seedUsers inserts n users in one transaction, straight into the store
// (paging tests need more users than is quick to create over HTTP).
func limitsSeedUsers(t testing.TB, st *sqlstore.Store, n int, prefix string) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	err := st.WithTx(context.Background(), func(tx *sqlstore.Tx) error {
		for i := range n {
			u := directory.User{
				ID: uuid.Must(uuid.NewV7()).String(), UserName: fmt.Sprintf("%s%05d@example.com", prefix, i), Active: true,
				Name:    directory.Name{GivenName: "Seed", FamilyName: fmt.Sprint(i)},
				Created: now, LastModified: now, Version: 1, ManagedBy: directory.ManagedBySCIM,
			}
			if err := tx.InsertUser(context.Background(), u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// timed runs fn and fails if it took longer than limit.
func limitsTimed(t *testing.T, what string, limit time.Duration, fn func() response) response {
	t.Helper()
	start := time.Now()
	r := fn()
	if d := time.Since(start); d > limit {
		t.Errorf("%s took %v, want under %v", what, d, limit)
	}
	return r
}

func TestFilterLimits(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		s.createUser("u1@example.com", nil)
		list := func(filter string) response {
			return s.do("GET", "/Users?filter="+q(filter), nil)
		}
		search := func(filter string) response {
			return s.do("POST", "/Users/.search", map[string]any{"schemas": []string{scim.URNSearchRequest}, "filter": filter})
		}
		nested := func(depth int) string {
			return strings.Repeat("(", depth) + `userName eq "u1@example.com"` + strings.Repeat(")", depth)
		}
		ors := func(n int) string {
			terms := make([]string, n)
			for i := range terms {
				terms[i] = fmt.Sprintf(`userName eq "u%d@example.com"`, i)
			}
			return strings.Join(terms, " or ")
		}

		// Within the limits: accepted and evaluated.
		if r := list(nested(16)).must(t, http.StatusOK); r.total() != 1 {
			t.Errorf("16 levels of parentheses: %s", r.Raw)
		}
		if r := list(ors(64)).must(t, http.StatusOK); r.total() != 1 {
			t.Errorf("64 or clauses: %s", r.Raw)
		}
		// Beyond them: 400 invalidFilter, quickly.
		for name, f := range map[string]string{
			"17 levels of parentheses":      nested(17),
			"1000 levels of parentheses":    nested(1000),
			"1000 unbalanced parentheses":   strings.Repeat("(", 1000),
			"1000 levels of not":            strings.Repeat("not (", 1000) + `userName pr` + strings.Repeat(")", 1000),
			"1000 levels of value brackets": "emails" + strings.Repeat("[", 1000) + `value pr` + strings.Repeat("]", 1000),
			"65 or clauses":                 ors(65),
			"10000 or clauses":              ors(10000),
			"a 4 KiB string":                `userName eq "` + strings.Repeat("a", 4096) + `"`,
			"60 KB filter":                  `userName eq "` + strings.Repeat("x", 60_000) + `"`,
		} {
			t.Run(name, func(t *testing.T) {
				limitsTimed(t, "GET "+name, time.Second, func() response { return list(f) }).scimError(t, http.StatusBadRequest, "invalidFilter")
				limitsTimed(t, ".search "+name, time.Second, func() response { return search(f) }).scimError(t, http.StatusBadRequest, "invalidFilter")
			})
		}
		// A 1 MB filter: in a POST body it reaches the handler, which refuses
		// it by its length before parsing; in a URL the HTTP server refuses
		// the request line (431) before any handler runs. In the app the
		// body limit (1 MiB) answers 413 first (internal/app).
		big := `userName eq "` + strings.Repeat("a", 1<<20) + `"`
		limitsTimed(t, ".search with a 1 MB filter", 2*time.Second, func() response { return search(big) }).
			scimError(t, http.StatusBadRequest, "invalidFilter")
		r := limitsTimed(t, "GET with a 1 MB filter", 2*time.Second, func() response { return list(big) })
		switch r.Status {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusRequestURITooLong, http.StatusRequestHeaderFieldsTooLarge:
		default:
			t.Errorf("GET with a 1 MB filter: status %d, want 400, 413, 414 or 431", r.Status)
		}
		// Groups share the parser and its limits.
		limitsTimed(t, "groups", time.Second, func() response {
			return s.do("GET", "/Groups?filter="+q(strings.Repeat("(", 1000)+`displayName pr`+strings.Repeat(")", 1000)), nil)
		}).scimError(t, http.StatusBadRequest, "invalidFilter")
	})
}

func TestPagingLimits(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		const n = scim.MaxResults + 5
		limitsSeedUsers(t, s.Store, n, "page")
		cfg := s.do("GET", "/ServiceProviderConfig", nil).must(t, http.StatusOK)
		if got, _ := lookup(cfg.Body, "filter.maxResults").(float64); int(got) != scim.MaxResults {
			t.Errorf("filter.maxResults = %v, want %d", lookup(cfg.Body, "filter.maxResults"), scim.MaxResults)
		}

		// count above maxResults is capped, and totalResults still counts all.
		r := s.do("GET", "/Users?count=1000000&excludedAttributes=emails", nil).must(t, http.StatusOK)
		if r.total() != n || len(r.resources()) != scim.MaxResults || lookup(r.Body, "itemsPerPage") != float64(scim.MaxResults) {
			t.Errorf("count=1000000: totalResults %d, %d resources, itemsPerPage %v; want %d, %d, %d",
				r.total(), len(r.resources()), r.Body["itemsPerPage"], n, scim.MaxResults, scim.MaxResults)
		}
		// The same in a .search body, and with a filter the store cannot
		// answer alone (evaluated in memory, still capped).
		r = s.do("POST", "/Users/.search", map[string]any{"count": 1000000, "filter": `name.givenName eq "Seed"`}).must(t, http.StatusOK)
		if r.total() != n || len(r.resources()) != scim.MaxResults {
			t.Errorf(".search count=1000000: totalResults %d, %d resources", r.total(), len(r.resources()))
		}

		// startIndex below 1 is 1.
		first := s.do("GET", "/Users?count=3", nil).must(t, http.StatusOK)
		for _, si := range []string{"-1", "0", "-2147483648"} {
			r := s.do("GET", "/Users?count=3&startIndex="+si, nil).must(t, http.StatusOK)
			if lookup(r.Body, "startIndex") != float64(1) || len(r.resources()) != 3 || r.resources()[0]["id"] != first.resources()[0]["id"] {
				t.Errorf("startIndex=%s: %s", si, r.Raw)
			}
		}
		// Past the end: an empty page with the right total.
		r = s.do("GET", fmt.Sprintf("/Users?startIndex=%d", n+1), nil).must(t, http.StatusOK)
		if r.total() != n || len(r.resources()) != 0 {
			t.Errorf("startIndex past the end: %s", r.Raw)
		}
		r = s.do("GET", "/Users?startIndex=9223372036854775807&count=1000000", nil)
		if r.Status != http.StatusOK || len(r.resources()) != 0 {
			t.Errorf("startIndex=MaxInt64: %d %.300s", r.Status, r.Raw)
		}
		// A negative count is 0: only the total.
		r = s.do("GET", "/Users?count=-5", nil).must(t, http.StatusOK)
		if r.total() != n || len(r.resources()) != 0 {
			t.Errorf("count=-5: totalResults %d, %d resources", r.total(), len(r.resources()))
		}
		for _, bad := range []string{"count=ten", "startIndex=1.5", "count=99999999999999999999"} {
			s.do("GET", "/Users?"+bad, nil).scimError(t, http.StatusBadRequest, "invalidValue")
		}
	})
}

func TestPatchLimits(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		id := s.createUser("limits@example.com", nil)
		gid := s.createGroup("Limits", id)
		ops := func(n int) map[string]any {
			list := make([]any, n)
			for i := range list {
				list[i] = map[string]any{"op": "replace", "path": "title", "value": fmt.Sprintf("t%d", i)}
			}
			return map[string]any{"schemas": []string{scim.URNPatchOp}, "Operations": list}
		}
		limitsTimed(t, "PATCH with 1001 operations", 2*time.Second, func() response { return s.do("PATCH", "/Users/"+id, ops(1001)) }).
			scimError(t, http.StatusBadRequest, "invalidValue")
		limitsTimed(t, "PATCH with 100000 operations", 5*time.Second, func() response { return s.do("PATCH", "/Groups/"+gid, ops(100_000)) }).
			scimError(t, http.StatusBadRequest, "invalidValue")
		if r := s.do("PATCH", "/Users/"+id, ops(1000)).must(t, http.StatusOK); r.str("title") != "t999" {
			t.Errorf("1000 operations: title %q", r.str("title"))
		}
		// Paths: long, and deeply nested inside a value filter.
		for name, path := range map[string]string{
			"a 2 KiB path":          strings.Repeat("a", 2048),
			"500 nested parens":     "emails[" + strings.Repeat("(", 500) + `type eq "work"` + strings.Repeat(")", 500) + "].value",
			"unbalanced value path": "emails[" + strings.Repeat("(", 1000),
		} {
			limitsTimed(t, name, time.Second, func() response {
				return s.do("PATCH", "/Users/"+id, map[string]any{"Operations": []any{map[string]any{"op": "add", "path": path, "value": "x@example.com"}}})
			}).scimError(t, http.StatusBadRequest, "invalidPath")
		}
		// A multi-valued attribute with too many values.
		many := make([]any, 10_001)
		for i := range many {
			many[i] = map[string]any{"value": fmt.Sprintf("u%d", i)}
		}
		limitsTimed(t, "10001 members", 5*time.Second, func() response {
			return s.do("PATCH", "/Groups/"+gid, map[string]any{"Operations": []any{map[string]any{"op": "add", "path": "members", "value": many}}})
		}).scimError(t, http.StatusBadRequest, "invalidValue")
	})
}
