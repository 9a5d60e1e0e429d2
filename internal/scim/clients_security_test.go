package scim_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/idcenter/idcenter/internal/directory"
)

// Behaviour every client profile relies on, and the SECURITY.md cases the
// profiles touch: soft delete vs DELETE (SCIM-07), privileged users out of a
// SCIM token's reach (SCIM-02, SCIM-06), filter injection (SCIM-03, SCIM-04),
// read-only attributes in PATCH (SCIM-06), and the read-only groups
// attribute of a user.

func TestClientSoftAndHardDelete(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		u := s.createUser("leaver@example.com", nil)
		stay := s.createUser("stayer@example.com", nil)
		gid := s.createGroup("Staff", u, stay)

		// active:false keeps the user, their memberships and their lookups.
		s.do("PATCH", "/Users/"+u, patchOps(`{"op":"replace","value":{"active":false}}`)).must(t, http.StatusOK)
		if g := s.do("GET", "/Users/"+u, nil).must(t, http.StatusOK); g.Body["active"] != false {
			t.Errorf("soft-deleted user: %s", g.Raw)
		}
		d, err := s.Dir.GetUser(context.Background(), adminActor, u)
		if err != nil || d.Active {
			t.Fatalf("directory: %+v %v", d, err)
		}
		if got := s.memberValues(gid); !sameSet(got, []string{u, stay}) {
			t.Errorf("soft delete changed memberships: %v", got)
		}
		s.do("GET", "/Users?filter="+q(`userName eq "leaver@example.com"`), nil).listOf(t, 1, u)
		s.do("GET", "/Users?filter="+q(`active eq false`), nil).listOf(t, 1, u)

		// DELETE removes the user and their memberships.
		s.do("DELETE", "/Users/"+u, nil).noContent(t)
		s.do("GET", "/Users/"+u, nil).scimError(t, http.StatusNotFound, "")
		s.do("GET", "/Users?filter="+q(`userName eq "leaver@example.com"`), nil).listOf(t, 0)
		if got := s.memberValues(gid); !sameSet(got, []string{stay}) {
			t.Errorf("memberships after DELETE: %v", got)
		}
		s.do("GET", "/Groups?filter="+q(`members eq "`+u+`"`), nil).listOf(t, 0)
		if _, err := s.Dir.GetUser(context.Background(), adminActor, u); err == nil {
			t.Error("deleted user still in the directory")
		}
		// The userName is free again.
		s.createUser("leaver@example.com", nil)
	})
}

func TestClientPrivilegedUsersInvisible(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		ctx := context.Background()
		admin, err := s.Dir.CreateUser(ctx, adminActor, directory.User{UserName: "root@corp.example", Role: directory.RoleAdmin, Active: true,
			Emails: []directory.MultiValue{{Value: "root@corp.example", Type: "work"}}})
		if err != nil {
			t.Fatal(err)
		}
		auditor, err := s.Dir.CreateUser(ctx, adminActor, directory.User{UserName: "audit@corp.example", Role: directory.RoleAuditor, Active: true})
		if err != nil {
			t.Fatal(err)
		}
		plain := s.createUser("plain@corp.example", nil)
		gid := s.createGroup("Ops", plain)

		for _, p := range []*directory.User{&admin, &auditor} {
			// 404 by id, absent from lookups and lists.
			s.do("GET", "/Users/"+p.ID, nil).scimError(t, http.StatusNotFound, "")
			s.do("GET", "/Users/"+p.UserName, nil).scimError(t, http.StatusNotFound, "")
			s.do("GET", "/Users?filter="+q(`userName eq "`+p.UserName+`"`), nil).listOf(t, 0)
			s.do("GET", "/Users?filter="+q(`id eq "`+p.ID+`"`), nil).listOf(t, 0)
			// No change through any verb.
			s.do("PATCH", "/Users/"+p.ID, patchOps(`{"op":"replace","path":"active","value":false}`)).scimError(t, http.StatusNotFound, "")
			s.do("PUT", "/Users/"+p.ID, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+p.UserName+`","active":false}`).scimError(t, http.StatusNotFound, "")
			s.do("DELETE", "/Users/"+p.ID, nil).scimError(t, http.StatusNotFound, "")
			// A SCIM user cannot take the privileged user's name.
			s.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+strings.ToUpper(p.UserName)+`"}`).
				scimError(t, http.StatusConflict, "uniqueness")
			// Cannot be added to a group (as if unknown), in any shape.
			s.do("PATCH", "/Groups/"+gid, patchOps(`{"op":"add","path":"members","value":[{"value":"`+p.ID+`"}]}`)).scimError(t, http.StatusBadRequest, "invalidValue")
			s.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Sneaky","members":[{"value":"`+p.ID+`"}]}`).
				scimError(t, http.StatusBadRequest, "invalidValue")
			// Cannot be named as a manager (that would reveal the account).
			s.do("PATCH", "/Users/"+plain, patchOps(`{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"`+p.ID+`"}`)).
				scimError(t, http.StatusBadRequest, "invalidValue")
			s.do("PATCH", "/Users/"+plain, patchOps(`{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"`+p.UserName+`"}`)).
				scimError(t, http.StatusBadRequest, "invalidValue")
		}
		l := s.do("GET", "/Users?startIndex=1&count=100", nil).listOf(t, 1, plain)
		if strings.Contains(l.Raw, admin.ID) || strings.Contains(l.Raw, "root@corp.example") {
			t.Errorf("list leaks the admin: %s", l.Raw)
		}

		// An administrator puts the admin into the SCIM-managed group: SCIM
		// member changes (full replace, removal by filter) leave the admin's
		// membership alone.
		// Known gap (reported, not fixed here): the group's members as SCIM
		// shows them still list the admin (directory.MemberIDs is not
		// filtered by role, and the store's member predicates count hidden
		// members; see fuzz_internal_test.go's "Admins hidden member").
		if _, err := s.Dir.AddMembers(ctx, adminActor, gid, []string{admin.ID}); err != nil {
			t.Fatal(err)
		}
		s.do("PATCH", "/Groups/"+gid, patchOps(`{"op":"replace","path":"members","value":[]}`)).noContent(t)
		s.do("PATCH", "/Groups/"+gid, patchOps(`{"op":"remove","path":"members[value eq \"`+admin.ID+`\"]"}`)).noContent(t)
		ms, err := s.Dir.MemberIDs(ctx, adminActor, gid)
		if err != nil || len(ms) != 1 || ms[0].UserID != admin.ID {
			t.Errorf("admin membership after SCIM member changes: %+v %v", ms, err)
		}
		// Deleting the group through SCIM is the IdP's call, but the admin
		// user survives it.
		s.do("DELETE", "/Groups/"+gid, nil).noContent(t)
		if u, err := s.Dir.GetUser(ctx, adminActor, admin.ID); err != nil || u.Role != directory.RoleAdmin || !u.Active {
			t.Errorf("admin after group deletion: %+v %v", u, err)
		}
	})
}

func TestClientFilterInjection(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		a := s.createUser("a", nil)
		pct := s.createUser("%admin", nil)
		s.createUser("x%y", nil)
		under := s.createUser("_svc", nil)
		s.createUser("bob", nil)
		quote := s.createUser(`o'brien`, nil)

		cases := []struct {
			filter string
			want   []string // nil with bad: 400 invalidFilter
			bad    bool
		}{
			{`userName eq "a" or "1" eq "1"`, nil, true},
			{`userName eq "x' OR '1'='1"`, nil, false},
			{`userName eq "x\" OR 1=1 --"`, nil, false},
			{`userName eq "a\" or userName pr or userName eq \"b"`, nil, false},
			{`userName eq "o'brien"`, []string{quote}, false},
			{`userName sw "%"`, []string{pct}, false},
			{`userName sw "_"`, []string{under}, false},
			{`userName co "%"`, []string{pct, "x%y"}, false},
			{`userName ew "%"`, nil, false},
			{`userName co "\\"`, nil, false},
			{`userName) OR (1=1 eq "x"`, nil, true},
			{`userName eq "a"; DROP TABLE users; --`, nil, true},
			{`password eq "x"`, nil, true},
			{`password pr`, nil, true},
			{`password sw "a"`, nil, true},
			{`hashed_password eq "x"`, nil, true},
			{`urn:evil:schema:userName eq "a"`, nil, true},
			{`emails[value eq "a" or "1" eq "1"]`, nil, true},
			{`groups.value eq "x"`, nil, true},
			{`userName eq "a"`, []string{a}, false},
		}
		for _, c := range cases {
			r := s.do("GET", "/Users?filter="+q(c.filter), nil)
			if c.bad {
				r.scimError(t, http.StatusBadRequest, "invalidFilter")
				if strings.Contains(strings.ToLower(r.Raw), "sql") {
					t.Errorf("%s: error mentions SQL: %s", c.filter, r.Raw)
				}
				continue
			}
			// x%y is created third; resolve its id from the list.
			var want []string
			for _, w := range c.want {
				if w == "x%y" {
					w = s.do("GET", "/Users?filter="+q(`userName eq "x%y"`), nil).listOf(t, 1, s.do("GET", "/Users?filter="+q(`userName eq "x%y"`), nil).ids()...).ids()[0]
				}
				want = append(want, w)
			}
			if r.Status != http.StatusOK {
				t.Errorf("%s: %d %s", c.filter, r.Status, r.Raw)
				continue
			}
			r.listOf(t, len(want), want...)
		}
		// Write-only and unknown attributes in attributes/sortBy never leak.
		r := s.do("GET", "/Users?attributes=password,userName", nil).must(t, http.StatusOK)
		if strings.Contains(r.Raw, "password") {
			t.Errorf("password in response: %s", r.Raw)
		}
		s.do("GET", "/Users?sortBy=password", nil).scimError(t, http.StatusBadRequest, "invalidValue")
		s.do("POST", "/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"password sw \"a\""}`).
			scimError(t, http.StatusBadRequest, "invalidFilter")
	})
}

func TestClientReadOnlyAttributes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		u := s.createUser("ro@example.com", nil)
		g := s.do("GET", "/Users/"+u, nil).must(t, http.StatusOK)
		gid := s.createGroup("RO", u)
		for _, op := range []string{
			`{"op":"replace","path":"id","value":"x"}`,
			`{"op":"add","path":"id","value":"x"}`,
			`{"op":"remove","path":"id"}`,
			`{"op":"replace","path":"meta.created","value":"2001-01-01T00:00:00Z"}`,
			`{"op":"replace","path":"meta","value":{"created":"2001-01-01T00:00:00Z"}}`,
			`{"op":"replace","value":{"id":"x"}}`,
			`{"op":"replace","value":{"meta.created":"2001-01-01T00:00:00Z"}}`,
			`{"op":"add","path":"groups","value":[{"value":"` + gid + `"}]}`,
			`{"op":"remove","path":"groups"}`,
		} {
			s.do("PATCH", "/Users/"+u, patchOps(op)).scimError(t, http.StatusBadRequest, "mutability")
		}
		for _, op := range []string{
			`{"op":"replace","path":"id","value":"x"}`,
			`{"op":"replace","path":"meta.created","value":"2001-01-01T00:00:00Z"}`,
			`{"op":"replace","path":"members[value eq \"` + u + `\"].display","value":"Someone"}`,
		} {
			s.do("PATCH", "/Groups/"+gid, patchOps(op)).scimError(t, http.StatusBadRequest, "mutability")
		}
		a := s.do("GET", "/Users/"+u, nil).must(t, http.StatusOK)
		if a.str("id") != u || a.str("meta.created") != g.str("meta.created") || a.Header.Get("ETag") != g.Header.Get("ETag") {
			t.Errorf("read-only attributes changed: %s", a.Raw)
		}
		// On POST and PUT, read-only values are ignored (RFC 7643 §2.2).
		r := s.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ro2@example.com","id":"my-id",
			"meta":{"created":"2001-01-01T00:00:00Z"},"groups":[{"value":"`+gid+`"}]}`).must(t, http.StatusCreated)
		if r.str("id") == "my-id" || strings.HasPrefix(r.str("meta.created"), "2001") {
			t.Errorf("POST took read-only values: %s", r.Raw)
		}
		if got := s.memberValues(gid); !sameSet(got, []string{u}) {
			t.Errorf("POST with groups changed memberships: %v", got)
		}
		// Internal flags are not SCIM attributes: ignored on POST.
		r = s.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ro3@example.com",
			"isAdmin":true,"role":"admin","passwordHash":"x","emailVerified":true,"mfaExempt":true}`).must(t, http.StatusCreated)
		if d, err := s.Dir.GetUser(context.Background(), adminActor, r.str("id")); err != nil || d.Role != directory.RoleNone {
			t.Errorf("internal flags: %+v %v", d, err)
		}
	})
}

func TestClientUserGroupsAttribute(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		u := s.createUser("member@example.com", nil)
		g1 := s.createGroup("Alpha", u)
		g2 := s.createGroup("Beta", u)
		s.createGroup("Gamma")

		r := s.do("GET", "/Users/"+u, nil).must(t, http.StatusOK)
		groups, _ := r.Body["groups"].([]any)
		var ids []string
		for _, x := range groups {
			m := x.(map[string]any)
			ids = append(ids, m["value"].(string))
			if m["$ref"] != s.URL+"/Groups/"+m["value"].(string) || (m["display"] != "Alpha" && m["display"] != "Beta") || m["type"] != "direct" {
				t.Errorf("group entry %v", m)
			}
		}
		if !sameSet(ids, []string{g1, g2}) {
			t.Errorf("groups %v, want %s %s", ids, g1, g2)
		}
		// Projection: excluded, or asked for alone (also in lists).
		if r := s.do("GET", "/Users/"+u+"?excludedAttributes=groups", nil).must(t, http.StatusOK); r.Body["groups"] != nil {
			t.Errorf("excludedAttributes=groups: %s", r.Raw)
		}
		r = s.do("GET", "/Users/"+u+"?attributes=groups", nil).must(t, http.StatusOK)
		if gs, _ := r.Body["groups"].([]any); len(gs) != 2 || r.Body["userName"] != nil {
			t.Errorf("attributes=groups: %s", r.Raw)
		}
		l := s.do("GET", "/Users?attributes=userName,groups&filter="+q(`userName eq "member@example.com"`), nil).listOf(t, 1, u)
		if gs, _ := l.resources()[0]["groups"].([]any); len(gs) != 2 {
			t.Errorf("list attributes=groups: %s", l.Raw)
		}
		// Membership changes show up at once; the attribute is read-only
		// (checked in TestClientReadOnlyAttributes).
		s.do("PATCH", "/Groups/"+g1, patchOps(`{"op":"remove","path":"members[value eq \"`+u+`\"]"}`)).noContent(t)
		r = s.do("GET", "/Users/"+u, nil).must(t, http.StatusOK)
		if gs, _ := r.Body["groups"].([]any); len(gs) != 1 || gs[0].(map[string]any)["value"] != g2 {
			t.Errorf("groups after removal: %s", r.Raw)
		}
	})
}
