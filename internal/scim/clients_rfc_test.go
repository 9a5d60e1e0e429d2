package scim_test

import (
	"net/http"
	"testing"
	"time"
)

// The examples of RFC 7644 itself: §3.3 (creating resources), §3.4.2.2
// (filtering), §3.5.2 (PATCH: add, remove, replace, with value filters) and
// §3.14 (versioning with ETags).

func TestClientRFC7644Create(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		// §3.3.
		r := s.do("POST", "/Users", `{
			"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":"bjensen",
			"externalId":"bjensen",
			"name":{
				"formatted":"Ms. Barbara J Jensen III",
				"familyName":"Jensen",
				"givenName":"Barbara"
			}
		}`).must(t, http.StatusCreated)
		id := r.str("id")
		if r.Header.Get("Location") != s.URL+"/Users/"+id || r.str("meta.location") != s.URL+"/Users/"+id {
			t.Errorf("Location %q meta.location %q", r.Header.Get("Location"), r.str("meta.location"))
		}
		if r.str("meta.resourceType") != "User" || r.str("meta.created") == "" || r.str("meta.created") != r.str("meta.lastModified") {
			t.Errorf("meta = %v", r.Body["meta"])
		}
		if r.Header.Get("ETag") == "" || r.Header.Get("ETag") != r.str("meta.version") {
			t.Errorf("ETag %q meta.version %q", r.Header.Get("ETag"), r.str("meta.version"))
		}
		if r.str("name.formatted") != "Ms. Barbara J Jensen III" || r.Body["active"] != true {
			t.Errorf("created = %s", r.Raw)
		}
		// "If the service provider determines that the creation of the
		// requested resource conflicts with existing resources ... 409
		// with scimType uniqueness."
		s.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"BJensen"}`).scimError(t, http.StatusConflict, "uniqueness")
	})
}

func TestClientRFC7644Filters(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		before := time.Now().UTC().Add(-time.Second).Format(time.RFC3339)
		bj := s.createUser("bjensen", map[string]any{
			"name":     map[string]any{"familyName": "O'Malley", "givenName": "Barbara"},
			"title":    "Tour Guide",
			"userType": "Employee",
			"emails": []any{
				map[string]any{"value": "bjensen@example.com", "type": "work"},
				map[string]any{"value": "babs@jensen.org", "type": "home"},
			},
			"ims": []any{map[string]any{"value": "bjensen@foo.com", "type": "xmpp"}},
		})
		jsmith := s.createUser("Jsmith", map[string]any{
			"userType": "Intern",
			"emails":   []any{map[string]any{"value": "jsmith@example.org", "type": "work"}},
		})
		jdoe := s.createUser("jdoe", map[string]any{
			"userType": "Employee",
			"title":    "Engineer",
			"emails":   []any{map[string]any{"value": "jdoe@example.org", "type": "home"}},
		})
		contractor := s.createUser("kcontractor", map[string]any{
			"userType": "Contractor",
			"emails":   []any{map[string]any{"value": "k@elsewhere.net", "type": "work"}},
		})
		after := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)

		cases := []struct {
			filter string
			want   []string
		}{
			{`userName eq "bjensen"`, []string{bj}},
			{`name.familyName co "O'Malley"`, []string{bj}},
			{`userName sw "J"`, []string{jsmith, jdoe}},
			{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`, []string{jsmith, jdoe}},
			{`title pr`, []string{bj, jdoe}},
			{`meta.lastModified gt "` + before + `"`, []string{bj, jsmith, jdoe, contractor}},
			{`meta.lastModified ge "` + before + `"`, []string{bj, jsmith, jdoe, contractor}},
			{`meta.lastModified lt "` + after + `"`, []string{bj, jsmith, jdoe, contractor}},
			{`meta.lastModified le "` + before + `"`, nil},
			{`meta.lastModified gt "` + after + `"`, nil},
			{`title pr and userType eq "Employee"`, []string{bj, jdoe}},
			{`title pr or userType eq "Intern"`, []string{bj, jsmith, jdoe}},
			{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`, []string{bj, jdoe}},
			{`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`, []string{contractor}},
			{`userType eq "Employee" and (emails.type eq "work")`, []string{bj}},
			{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`, []string{bj}},
			{`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`, []string{bj}},
			{`emails[type eq "work" and value co "@example.com"]`, []string{bj}},
			// Attribute names and operators are case-insensitive.
			{`USERNAME EQ "BJENSEN"`, []string{bj}},
			{`Emails[Type eq "work"] and UserType Eq "Intern"`, []string{jsmith}},
		}
		for _, c := range cases {
			var want []string
			want = append(want, c.want...)
			s.do("GET", "/Users?filter="+q(c.filter), nil).listOf(t, len(want), want...)
			// The same through POST /.search (§3.4.3).
			s.do("POST", "/Users/.search", map[string]any{
				"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "filter": c.filter,
			}).listOf(t, len(want), want...)
		}
		// §3.4.2.2 also filters on schemas ("schemas eq
		// urn:…:enterprise:2.0:User") and on a bare attribute of the
		// enterprise extension.
		s.do("GET", "/Users?filter="+q(`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber pr`), nil).listOf(t, 0)
		// Malformed filters are invalidFilter.
		for _, f := range []string{`userName eq`, `userName xx "a"`, `(userName eq "a"`, `emails[type eq "work"`, `meta.lastModified gt "yesterday"`, `nope eq "a"`} {
			s.do("GET", "/Users?filter="+q(f), nil).scimError(t, http.StatusBadRequest, "invalidFilter")
		}
	})
}

func TestClientRFC7644Patch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		babs := s.createUser("bjensen@example.com", map[string]any{"displayName": "Babs Jensen"})
		james := s.createUser("jsmith@example.com", map[string]any{"displayName": "James Smith"})
		other := s.createUser("other@example.com", nil)
		gid := s.createGroup("Tour Guides", other)
		patch := func(path string, ops ...string) response { return s.do("PATCH", path, patchOps(ops...)) }

		// §3.5.2.1: add a member.
		patch("/Groups/"+gid, js(`{"op":"add","path":"members","value":[{"display":"Babs Jensen","$ref":"%s/Users/%s","value":%q}]}`, s.URL, babs, babs)).noContent(t)
		if got := s.memberValues(gid); !sameSet(got, []string{other, babs}) {
			t.Fatalf("members %v", got)
		}
		// The group lists the member with display and $ref.
		g := s.do("GET", "/Groups/"+gid, nil).must(t, http.StatusOK)
		for _, x := range g.Body["members"].([]any) {
			m := x.(map[string]any)
			if m["value"] == babs && (m["display"] != "Babs Jensen" || m["$ref"] != s.URL+"/Users/"+babs) {
				t.Errorf("member %v", m)
			}
		}

		// §3.5.2.1: path-less add ("nickname" in the RFC's casing).
		r := patch("/Users/"+babs, `{"op":"add","value":{"emails":[{"value":"babs@jensen.org","type":"home"}],"nickname":"Babs"}}`).must(t, http.StatusOK)
		if r.str("nickName") != "Babs" || r.emailOf("home") != "babs@jensen.org" {
			t.Errorf("path-less add: %s", r.Raw)
		}

		// §3.5.2.2: remove one member, remove all, remove-then-add.
		patch("/Groups/"+gid, `{"op":"remove","path":"members[value eq \"`+other+`\"]"}`).noContent(t)
		if got := s.memberValues(gid); !sameSet(got, []string{babs}) {
			t.Fatalf("members %v", got)
		}
		patch("/Groups/"+gid, `{"op":"remove","path":"members"}`).noContent(t)
		if got := s.memberValues(gid); len(got) != 0 {
			t.Fatalf("members %v", got)
		}
		patch("/Groups/"+gid,
			`{"op":"remove","path":"members"}`,
			js(`{"op":"add","path":"members","value":[{"display":"Babs Jensen","$ref":"%s/Users/%s","value":%q},{"display":"James Smith","$ref":"%s/Users/%s","value":%q}]}`,
				s.URL, babs, babs, s.URL, james, james)).noContent(t)
		if got := s.memberValues(gid); !sameSet(got, []string{babs, james}) {
			t.Fatalf("members %v", got)
		}
		// §3.5.2.2: remove with a value filter on a user attribute.
		s.do("PATCH", "/Users/"+babs, patchOps(`{"op":"add","path":"emails","value":[{"value":"bjensen@example.com","type":"work"}]}`)).must(t, http.StatusOK)
		r = patch("/Users/"+babs, `{"op":"remove","path":"emails[type eq \"work\" and value ew \"example.com\"]"}`).must(t, http.StatusOK)
		if r.emailOf("work") != "" || r.emailOf("home") != "babs@jensen.org" {
			t.Errorf("remove by value filter: %s", r.Raw)
		}
		// Removing from an attribute filter that matches nothing is fine;
		// a path to nothing that exists is invalidPath; no path is noTarget.
		patch("/Users/"+babs, `{"op":"remove","path":"emails[type eq \"other\"]"}`).must(t, http.StatusOK)
		patch("/Users/"+babs, `{"op":"remove","path":"nosuchattr"}`).scimError(t, http.StatusBadRequest, "invalidPath")
		patch("/Users/"+babs, `{"op":"remove"}`).scimError(t, http.StatusBadRequest, "noTarget")

		// §3.5.2.3: replace all members.
		patch("/Groups/"+gid, js(`{"op":"replace","path":"members","value":[{"display":"Babs Jensen","$ref":"%s/Users/%s","value":%q}]}`, s.URL, babs, babs)).noContent(t)
		if got := s.memberValues(gid); !sameSet(got, []string{babs}) {
			t.Fatalf("members %v", got)
		}
		// §3.5.2.3: replace a work address by value filter, then one
		// sub-attribute of it.
		s.do("PATCH", "/Users/"+babs, patchOps(`{"op":"add","path":"addresses","value":[{"type":"work","streetAddress":"100 Old St","locality":"Hollywood"},{"type":"home","locality":"Pasadena"}]}`)).must(t, http.StatusOK)
		r = patch("/Users/"+babs, `{"op":"replace","path":"addresses[type eq \"work\"]","value":{"type":"work","streetAddress":"911 Universal City Plaza","locality":"Hollywood","region":"CA","postalCode":"91608","country":"US","formatted":"911 Universal City Plaza\nHollywood, CA 91608 US","primary":true}}`).must(t, http.StatusOK)
		addr := func(r response, typ string) map[string]any {
			for _, x := range r.Body["addresses"].([]any) {
				if a := x.(map[string]any); a["type"] == typ {
					return a
				}
			}
			return nil
		}
		if a := addr(r, "work"); a["streetAddress"] != "911 Universal City Plaza" || a["postalCode"] != "91608" || a["primary"] != true {
			t.Errorf("work address %v", a)
		}
		if a := addr(r, "home"); a["locality"] != "Pasadena" {
			t.Errorf("home address changed: %v", a)
		}
		r = patch("/Users/"+babs, `{"op":"replace","path":"addresses[type eq \"work\"].streetAddress","value":"1010 Broadway Ave"}`).must(t, http.StatusOK)
		if a := addr(r, "work"); a["streetAddress"] != "1010 Broadway Ave" || a["postalCode"] != "91608" {
			t.Errorf("work street %v", a)
		}
		// §3.5.2.3: path-less replace of several attributes.
		r = patch("/Users/"+babs, `{"op":"replace","value":{"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}],"nickName":"Babs"}}`).must(t, http.StatusOK)
		if emails, _ := r.Body["emails"].([]any); len(emails) != 2 || r.emailOf("work") != "bjensen@example.com" {
			t.Errorf("path-less replace: %s", r.Raw)
		}
		// §3.5.2: an unknown op is invalidSyntax; a bad value invalidValue.
		patch("/Users/"+babs, `{"op":"move","path":"nickName","value":"x"}`).scimError(t, http.StatusBadRequest, "invalidSyntax")
		patch("/Users/"+babs, `{"op":"replace","path":"active","value":"maybe"}`).scimError(t, http.StatusBadRequest, "invalidValue")
	})
}

func TestClientRFC7644ETags(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		// §3.14: the version comes as ETag and meta.version.
		r := s.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bjensen"}`).must(t, http.StatusCreated)
		id, v1 := r.str("id"), r.Header.Get("ETag")
		if v1 == "" || v1[:2] != `W/` {
			t.Fatalf("ETag %q", v1)
		}
		g := s.do("GET", "/Users/"+id, nil).must(t, http.StatusOK)
		if g.Header.Get("ETag") != v1 {
			t.Errorf("GET ETag %q, POST gave %q", g.Header.Get("ETag"), v1)
		}
		// If-None-Match with the current version: 304.
		if nm := s.do("GET", "/Users/"+id, nil, "If-None-Match", v1); nm.Status != http.StatusNotModified || nm.Raw != "" {
			t.Errorf("If-None-Match: %d %s", nm.Status, nm.Raw)
		}
		// If-Match with the current version: applied, new version.
		p := s.do("PATCH", "/Users/"+id, patchOps(`{"op":"replace","path":"displayName","value":"Babs"}`), "If-Match", v1).must(t, http.StatusOK)
		v2 := p.Header.Get("ETag")
		if v2 == v1 || p.str("meta.version") != v2 {
			t.Errorf("versions %q → %q (meta %q)", v1, v2, p.str("meta.version"))
		}
		// A stale If-Match: 412 and nothing changes, for PATCH, PUT and DELETE.
		s.do("PATCH", "/Users/"+id, patchOps(`{"op":"replace","path":"displayName","value":"Stale"}`), "If-Match", v1).scimError(t, http.StatusPreconditionFailed, "")
		s.do("PUT", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bjensen","displayName":"Stale"}`, "If-Match", v1).
			scimError(t, http.StatusPreconditionFailed, "")
		s.do("DELETE", "/Users/"+id, nil, "If-Match", v1).scimError(t, http.StatusPreconditionFailed, "")
		if g := s.do("GET", "/Users/"+id, nil, "If-None-Match", v1).must(t, http.StatusOK); g.str("displayName") != "Babs" {
			t.Errorf("after stale writes: %s", g.Raw)
		}
		// The old version no longer matches If-None-Match; the new one does.
		s.do("GET", "/Users/"+id, nil, "If-None-Match", v2).must(t, http.StatusNotModified)

		// Groups carry versions too.
		gr := s.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Tour Guides"}`).must(t, http.StatusCreated)
		gid, gv := gr.str("id"), gr.Header.Get("ETag")
		s.do("GET", "/Groups/"+gid, nil, "If-None-Match", gv).must(t, http.StatusNotModified)
		s.do("PATCH", "/Groups/"+gid, patchOps(`{"op":"replace","path":"displayName","value":"Guides"}`), "If-Match", gv).noContent(t)
		s.do("PATCH", "/Groups/"+gid, patchOps(`{"op":"replace","path":"displayName","value":"Stale"}`), "If-Match", gv).scimError(t, http.StatusPreconditionFailed, "")
		s.do("DELETE", "/Groups/"+gid, nil, "If-Match", gv).scimError(t, http.StatusPreconditionFailed, "")
		s.do("DELETE", "/Users/"+id, nil, "If-Match", v2).noContent(t)
	})
}
