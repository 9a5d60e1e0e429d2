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
			"name":             map[string]any{"givenName": "Barbara", "familyName": "Jensen"},
			"emails":           []any{map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true}},
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

func TestBulk(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		r := s.do("POST", "/Bulk", map[string]any{
			"schemas": []string{scim.URNBulkRequest},
			"Operations": []any{
				// The group comes first and refers to a user created later.
				map[string]any{"method": "POST", "path": "/Groups", "bulkId": "g1", "data": map[string]any{
					"displayName": "Tour Guides", "members": []any{map[string]any{"value": "bulkId:u1"}}}},
				map[string]any{"method": "POST", "path": "/Users", "bulkId": "u1", "data": map[string]any{"userName": "alice@example.com"}},
				map[string]any{"method": "POST", "path": "/Users", "bulkId": "dup", "data": map[string]any{"userName": "ALICE@example.com"}},
				// A cycle: each manager is the other.
				map[string]any{"method": "POST", "path": "/Users", "bulkId": "c1", "data": map[string]any{"userName": "c1@example.com",
					scim.URNEnterprise: map[string]any{"manager": map[string]any{"value": "bulkId:c2"}}}},
				map[string]any{"method": "POST", "path": "/Users", "bulkId": "c2", "data": map[string]any{"userName": "c2@example.com",
					scim.URNEnterprise: map[string]any{"manager": map[string]any{"value": "bulkId:c1"}}}},
				map[string]any{"method": "PATCH", "path": "/Users/bulkId:u1", "data": map[string]any{
					"Operations": []any{map[string]any{"op": "replace", "path": "displayName", "value": "Alice"}}}},
				map[string]any{"method": "GET", "path": "/Users"},
			},
		}).must(t, http.StatusOK)
		ops, _ := r.Body["Operations"].([]any)
		status := map[string]string{}
		for i, o := range ops {
			m := o.(map[string]any)
			key, _ := m["bulkId"].(string)
			if key == "" {
				key = fmt.Sprint(i)
			}
			status[key] = m["status"].(string)
		}
		want := map[string]string{"g1": "201", "u1": "201", "dup": "409", "c1": "409", "c2": "409", "5": "200", "6": "400"}
		if fmt.Sprint(status) != fmt.Sprint(want) {
			t.Errorf("statuses = %v, want %v\n%s", status, want, r.Raw)
		}
		l := s.do("GET", "/Groups?filter="+q(`displayName eq "Tour Guides"`), nil).must(t, http.StatusOK)
		if l.total() != 1 {
			t.Fatalf("group not created: %s", l.Raw)
		}
		members := s.memberValues(l.resources()[0]["id"].(string))
		u := s.do("GET", "/Users?filter="+q(`userName eq "alice@example.com"`), nil).must(t, http.StatusOK).resources()
		if len(members) != 1 || len(u) != 1 || members[0] != u[0]["id"] || u[0]["displayName"] != "Alice" {
			t.Errorf("members %v, user %v", members, u)
		}

		var many []any
		for i := 0; i <= scim.BulkMaxOperations; i++ {
			many = append(many, map[string]any{"method": "DELETE", "path": "/Users/x"})
		}
		s.do("POST", "/Bulk", map[string]any{"Operations": many}).scimError(t, http.StatusRequestEntityTooLarge, "tooMany")

		// failOnErrors stops after the first failure.
		r = s.do("POST", "/Bulk", map[string]any{"failOnErrors": 1, "Operations": []any{
			map[string]any{"method": "DELETE", "path": "/Users/nope"},
			map[string]any{"method": "POST", "path": "/Users", "data": map[string]any{"userName": "never@example.com"}},
		}}).must(t, http.StatusOK)
		if ops, _ := r.Body["Operations"].([]any); len(ops) != 1 {
			t.Errorf("failOnErrors: %s", r.Raw)
		}
		if s.do("GET", "/Users?filter="+q(`userName eq "never@example.com"`), nil).must(t, http.StatusOK).total() != 0 {
			t.Error("an operation after failOnErrors ran")
		}
	})
}

// TestUnstorableIDs: PostgreSQL refuses NUL and invalid UTF-8 in text
// parameters; such ids are simply not found (found by probing, was a 500).
func TestUnstorableIDs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		for _, p := range []string{"/Users/%00", "/Groups/%00", "/Users/%ff%fe", "/Groups/a%00b"} {
			s.do("GET", p, nil).scimError(t, http.StatusNotFound, "")
			s.do("PATCH", p, `{"Operations":[{"op":"add","path":"displayName","value":"x"}]}`).scimError(t, http.StatusNotFound, "")
			s.do("DELETE", p, nil).scimError(t, http.StatusNotFound, "")
		}
	})
}
