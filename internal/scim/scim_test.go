package scim_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/idcenter/idcenter/internal/scim"
)

func TestUserLifecycle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		r := s.do("POST", "/Users", map[string]any{
			"schemas":  []string{scim.URNUser, scim.URNEnterprise},
			"userName": "Barbara.Jensen@example.com", "externalId": "bjensen",
			"name":   map[string]any{"givenName": "Barbara", "familyName": "Jensen"},
			"emails": []any{map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true}},
			scim.URNEnterprise: map[string]any{"department": "Tour Operations", "employeeNumber": "701984"},
			"password":         "t1meMa$heen",
		}).must(t, http.StatusCreated)
		id := r.str("id")
		if r.Header.Get("Location") != s.URL+"/Users/"+id || r.str("meta.location") != s.URL+"/Users/"+id {
			t.Errorf("Location %q meta.location %q", r.Header.Get("Location"), r.str("meta.location"))
		}
		if r.Header.Get("ETag") == "" || r.Header.Get("ETag") != r.str("meta.version") {
			t.Errorf("ETag %q meta.version %q", r.Header.Get("ETag"), r.str("meta.version"))
		}
		if r.Body["password"] != nil {
			t.Error("password returned")
		}
		if got := lookup(r.Body, scim.URNEnterprise+".department"); got != nil {
			// lookup splits on dots; read the extension directly.
		}
		ent, _ := r.Body[scim.URNEnterprise].(map[string]any)
		if ent["department"] != "Tour Operations" {
			t.Errorf("enterprise = %v", ent)
		}
		g := s.do("GET", "/Users/"+id, nil).must(t, http.StatusOK)
		if g.str("userName") != "Barbara.Jensen@example.com" || g.str("name.givenName") != "Barbara" {
			t.Errorf("GET = %s", g.Raw)
		}
		s.do("GET", "/Users/"+id, nil, "If-None-Match", g.Header.Get("ETag")).must(t, http.StatusNotModified)

		l := s.do("GET", `/Users?filter=`+q(`userName eq "barbara.jensen@EXAMPLE.com"`), nil).must(t, http.StatusOK)
		if l.total() != 1 || l.resources()[0]["id"] != id {
			t.Errorf("filter = %s", l.Raw)
		}
		p := s.do("PATCH", "/Users/"+id, map[string]any{
			"schemas": []string{scim.URNPatchOp},
			"Operations": []any{
				map[string]any{"op": "Replace", "path": "active", "value": "False"},
				map[string]any{"op": "replace", "path": `emails[type eq "work"].value`, "value": "babs@example.com"},
			},
		}).must(t, http.StatusOK)
		if p.Body["active"] != false || fmt.Sprint(lookup(p.Body, "emails")) != "[map[primary:true type:work value:babs@example.com]]" {
			t.Errorf("PATCH = %s", p.Raw)
		}
		s.do("PATCH", "/Users/"+id, map[string]any{"Operations": []any{map[string]any{"op": "replace", "path": "active", "value": true}}},
			"If-Match", g.Header.Get("ETag")).scimError(t, http.StatusPreconditionFailed, "")
		s.do("DELETE", "/Users/"+id, nil).must(t, http.StatusNoContent)
		s.do("GET", "/Users/"+id, nil).scimError(t, http.StatusNotFound, "")
	})
}

func TestGroupMembers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		a, b, c := s.createUser("a@example.com", nil), s.createUser("b@example.com", nil), s.createUser("c@example.com", nil)
		gid := s.createGroup("Engineering", a)
		op := func(ops ...any) response {
			return s.do("PATCH", "/Groups/"+gid, map[string]any{"schemas": []string{scim.URNPatchOp}, "Operations": ops})
		}
		op(map[string]any{"op": "Add", "path": "members", "value": []any{map[string]any{"value": b}, map[string]any{"value": c}}}).must(t, http.StatusNoContent)
		if got := s.memberValues(gid); len(got) != 3 {
			t.Fatalf("members = %v", got)
		}
		op(map[string]any{"op": "Remove", "path": fmt.Sprintf(`members[value eq "%s"]`, a)}).must(t, http.StatusNoContent)
		op(map[string]any{"op": "remove", "path": "members", "value": []any{map[string]any{"value": b}}}).must(t, http.StatusNoContent)
		if got := s.memberValues(gid); len(got) != 1 || got[0] != c {
			t.Fatalf("members = %v", got)
		}
		op(map[string]any{"op": "replace", "path": "members", "value": []any{}}).must(t, http.StatusNoContent)
		if got := s.memberValues(gid); len(got) != 0 {
			t.Fatalf("members = %v", got)
		}
		op(map[string]any{"op": "replace", "value": map[string]any{"displayName": "Eng"}}).must(t, http.StatusNoContent)
		l := s.do("GET", "/Groups?excludedAttributes=members&filter="+q(`displayName eq "eng"`), nil).must(t, http.StatusOK)
		if l.total() != 1 || l.resources()[0]["members"] != nil {
			t.Errorf("list = %s", l.Raw)
		}
	})
}

func TestAuthRequired(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		for _, path := range []string{"/Users", "/Groups", "/ServiceProviderConfig", "/Users/x", "/Bulk", "/nope"} {
			for _, auth := range []string{"", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer wrong", "Bearer " + adminToken, "bearer  " + scimToken} {
				r := s.do("GET", path, nil, "Authorization", auth)
				if auth == "" {
					r = s.do("GET", path, nil, "Authorization", "")
				}
				r.scimError(t, http.StatusUnauthorized, "")
			}
		}
	})
}
