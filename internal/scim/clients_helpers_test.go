package scim_test

import (
	"fmt"
	"strings"
	"testing"
)

// Helpers for the client-profile tests (clients_*_test.go). Each profile
// replays, request by request, what one real SCIM client sends according to
// its published documentation or source; request bodies are written as JSON
// text in the client's own shape (key order, casing, nulls and all).

// js formats a JSON request body: %s arguments are substituted as they are
// (ids, names), so the document reads like the client's.
func js(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// patchOps wraps PATCH operations (JSON text) in a PatchOp message.
func patchOps(ops ...string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

// ids returns the ids of a list response's resources, in order.
func (r response) ids() []string {
	var out []string
	for _, res := range r.resources() {
		id, _ := res["id"].(string)
		out = append(out, id)
	}
	return out
}

// listOf checks a ListResponse: status 200, schema, totalResults and the
// ids returned (in order).
func (r response) listOf(t testing.TB, total int, ids ...string) response {
	t.Helper()
	r.must(t, 200)
	if schemas, _ := r.Body["schemas"].([]any); len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:ListResponse" {
		t.Errorf("list schemas = %v", r.Body["schemas"])
	}
	if _, ok := r.Body["Resources"].([]any); !ok {
		t.Errorf("list has no Resources array (clients index it even when empty): %s", r.Raw)
	}
	got := r.ids()
	if r.total() != total || strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Fatalf("list: totalResults %d ids %v, want %d %v\n%s", r.total(), got, total, ids, r.Raw)
	}
	if n, _ := r.Body["itemsPerPage"].(float64); int(n) != len(ids) {
		t.Errorf("itemsPerPage = %v, want %d", r.Body["itemsPerPage"], len(ids))
	}
	return r
}

// ent returns the enterprise extension object of a user response.
func (r response) ent() map[string]any {
	m, _ := r.Body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)
	return m
}

// emailOf returns the value of the user's email of a type.
func (r response) emailOf(typ string) string {
	arr, _ := r.Body["emails"].([]any)
	for _, x := range arr {
		e, _ := x.(map[string]any)
		if e["type"] == typ {
			v, _ := e["value"].(string)
			return v
		}
	}
	return ""
}

// noContent checks a 204 with an empty body.
func (r response) noContent(t testing.TB) {
	t.Helper()
	r.must(t, 204)
	if r.Raw != "" {
		t.Errorf("204 with a body: %s", r.Raw)
	}
}

// sameSet reports whether a and b hold the same strings (any order).
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}
