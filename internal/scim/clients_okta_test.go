package scim_test

import (
	"fmt"
	"net/http"
	"testing"
)

// Okta, as described in Okta's "SCIM 2.0 protocol reference" / "Build a SCIM
// provisioning integration" guide (developer.okta.com/docs/api/openapi/
// okta-scim/guides/scim-20: create, retrieve, update with PUT, deactivate
// with PATCH, group push) and its SCIM 2.0 spec test collection (Runscope
// "Okta SCIM 2.0 Spec Test": userName lookups with startIndex=1&count=100,
// random-id 404, duplicate 409).

func TestClientOktaUsers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		const userName = "test.user@okta.local"
		// Okta checks whether the user exists before creating it.
		s.do("GET", "/Users?filter="+q(`userName eq "`+userName+`"`)+"&startIndex=1&count=100", nil).listOf(t, 0)

		// Create the user: Okta sends a password (and an empty groups list).
		r := s.do("POST", "/Users", `{
			"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName": "test.user@okta.local",
			"name": {"givenName": "Test", "familyName": "User"},
			"emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
			"displayName": "Test User",
			"locale": "en-US",
			"externalId": "00ujl29u0le5T6Aj10h7",
			"groups": [],
			"password": "1mz050nq",
			"active": true
		}`).must(t, http.StatusCreated)
		id := r.str("id")
		if id == "" || r.str("userName") != userName || r.str("externalId") != "00ujl29u0le5T6Aj10h7" || r.str("locale") != "en-US" {
			t.Fatalf("create: %s", r.Raw)
		}
		if _, ok := r.Body["password"]; ok {
			t.Errorf("password returned: %s", r.Raw)
		}
		// The spec test: the same userName again is a 409.
		s.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"test.user@okta.local",
			"name":{"givenName":"Test","familyName":"User"},"emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],
			"displayName":"Test User","active":true}`).scimError(t, http.StatusConflict, "uniqueness")

		// Retrieve: by id and by userName (with Okta's paging parameters).
		g := s.do("GET", "/Users/"+id, nil).must(t, http.StatusOK)
		if g.str("displayName") != "Test User" || g.Body["password"] != nil {
			t.Errorf("get: %s", g.Raw)
		}
		s.do("GET", "/Users?filter="+q(`userName eq "`+userName+`"`)+"&startIndex=1&count=100", nil).listOf(t, 1, id)
		s.do("GET", "/Users/010101", nil).scimError(t, http.StatusNotFound, "")
		s.do("GET", "/Users?filter="+q(`userName eq "not-there@okta.local"`)+"&startIndex=1&count=1", nil).listOf(t, 0)

		// Profile update with PUT: the full resource as Okta holds it.
		r = s.do("PUT", "/Users/"+id, js(`{
			"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
			"id": %q,
			"userName": "test.user@okta.local",
			"name": {"givenName": "Another", "middleName": "", "familyName": "User"},
			"emails": [{"primary": true, "value": "test.user@okta.local", "type": "work", "display": "test.user@okta.local"}],
			"displayName": "Another User",
			"locale": "en-US",
			"externalId": "00ujl29u0le5T6Aj10h7",
			"groups": [],
			"password": "1mz050nq",
			"active": true,
			"meta": {"resourceType": "User"}
		}`, id)).must(t, http.StatusOK)
		if r.str("name.givenName") != "Another" || r.str("displayName") != "Another User" || r.Body["password"] != nil {
			t.Errorf("PUT: %s", r.Raw)
		}
		// A PUT naming another id is refused.
		s.do("PUT", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"00000000-0000-4000-8000-000000000000",
			"userName":"test.user@okta.local","active":true}`).scimError(t, http.StatusBadRequest, "mutability")

		// App Integration Wizard apps deactivate with PUT active:false.
		put := func(active bool) response {
			return s.do("PUT", "/Users/"+id, js(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":%q,
				"userName":"test.user@okta.local","name":{"givenName":"Another","familyName":"User"},"displayName":"Another User",
				"emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],"active":%v,"groups":[]}`, id, active))
		}
		if r := put(false).must(t, http.StatusOK); r.Body["active"] != false {
			t.Errorf("PUT active:false: %s", r.Raw)
		}
		if r := put(true).must(t, http.StatusOK); r.Body["active"] != true {
			t.Errorf("PUT active:true: %s", r.Raw)
		}

		// Deactivate with a path-less PATCH, then reactivate.
		r = s.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`).must(t, http.StatusOK)
		if r.Body["active"] != false || r.str("displayName") != "Another User" {
			t.Errorf("deactivate: %s", r.Raw)
		}
		s.do("GET", "/Users?filter="+q(`userName eq "`+userName+`"`)+"&startIndex=1&count=100", nil).listOf(t, 1, id)
		r = s.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":true}}]}`).must(t, http.StatusOK)
		if r.Body["active"] != true {
			t.Errorf("reactivate: %s", r.Raw)
		}
		// Okta's password sync sends a path-less replace of the password:
		// accepted and ignored.
		r = s.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"password":"t1meMa$heen"}}]}`).must(t, http.StatusOK)
		if r.Body["password"] != nil {
			t.Errorf("password returned: %s", r.Raw)
		}
	})
}

func TestClientOktaGroups(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		u1 := s.createUser("okta-1@okta.local", nil)
		u2 := s.createUser("okta-2@okta.local", nil)

		// Group push: look the group up, create it with no members.
		s.do("GET", "/Groups?filter="+q(`displayName eq "Test SCIMv2"`)+"&startIndex=1&count=100", nil).listOf(t, 0)
		r := s.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Test SCIMv2","members":[]}`).must(t, http.StatusCreated)
		gid := r.str("id")
		if gid == "" || r.str("displayName") != "Test SCIMv2" {
			t.Fatalf("create group: %s", r.Raw)
		}
		s.do("GET", "/Groups/"+gid, nil).must(t, http.StatusOK)

		// Add members (with display), remove one by value filter.
		s.do("PATCH", "/Groups/"+gid, js(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"add","path":"members","value":[{"value":%q,"display":"okta-1@okta.local"},{"value":%q,"display":"okta-2@okta.local"}]}]}`, u1, u2)).noContent(t)
		if got := s.memberValues(gid); !sameSet(got, []string{u1, u2}) {
			t.Fatalf("members = %v", got)
		}
		s.do("PATCH", "/Groups/"+gid, js(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"remove","path":"members[value eq \"%s\"]"}]}`, u1)).noContent(t)
		if got := s.memberValues(gid); !sameSet(got, []string{u2}) {
			t.Fatalf("members = %v", got)
		}

		// Membership update as the guide shows it: remove and add in one
		// request, then a full push with replace.
		s.do("PATCH", "/Groups/"+gid, js(`{
			"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations": [{
					"op": "remove",
					"path": "members[value eq \"%s\"]"
				},
				{
					"op": "add",
					"path": "members",
					"value": [{
						"value": %q,
						"display": "okta-1@okta.local"
				}]
			}]
		}`, u2, u1)).noContent(t)
		if got := s.memberValues(gid); !sameSet(got, []string{u1}) {
			t.Fatalf("members = %v", got)
		}
		s.do("PATCH", "/Groups/"+gid, js(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"members","value":[
			{"value":%q,"display":"okta-1@okta.local"},{"value":%q,"display":"okta-2@okta.local"}]}]}`, u1, u2)).noContent(t)
		if got := s.memberValues(gid); !sameSet(got, []string{u1, u2}) {
			t.Fatalf("members after full push = %v", got)
		}
		s.do("PATCH", "/Groups/"+gid, js(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"members","value":[
			{"value":%q,"display":"okta-2@okta.local"}]}]}`, u2)).noContent(t)
		if got := s.memberValues(gid); !sameSet(got, []string{u2}) {
			t.Fatalf("members after full push = %v", got)
		}

		// Rename: a path-less replace whose value repeats the group's id.
		s.do("PATCH", "/Groups/"+gid, js(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"replace","value":{"id":%q,"displayName":"Test SCIMv2 renamed"}}]}`, gid)).noContent(t)
		g := s.do("GET", "/Groups/"+gid, nil).must(t, http.StatusOK)
		if g.str("displayName") != "Test SCIMv2 renamed" {
			t.Errorf("rename: %s", g.Raw)
		}
		// ... but it cannot change the id.
		s.do("PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"replace","value":{"id":"00000000-0000-4000-8000-000000000000","displayName":"x"}}]}`).scimError(t, http.StatusBadRequest, "mutability")

		// App Integration Wizard apps update groups with PUT (full body).
		r = s.do("PUT", "/Groups/"+gid, js(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":%q,
			"displayName":"Test SCIMv2 renamed","members":[{"value":%q,"display":"okta-1@okta.local"}],"meta":{"resourceType":"Group"}}`, gid, u1)).must(t, http.StatusOK)
		if got := s.memberValues(gid); !sameSet(got, []string{u1}) || r.str("displayName") != "Test SCIMv2 renamed" {
			t.Fatalf("PUT group: members %v, %s", got, r.Raw)
		}
		s.do("PUT", "/Groups/"+gid, js(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":%q,
			"displayName":"Test SCIMv2 renamed","members":[{"value":%q}]}`, gid, u2)).must(t, http.StatusOK)
		if got := s.memberValues(gid); !sameSet(got, []string{u2}) {
			t.Fatalf("PUT group: members %v", got)
		}

		// Group listing with Okta's paging parameters.
		other := s.createGroup("Okta Other")
		l := s.do("GET", "/Groups?startIndex=1&count=1", nil).listOf(t, 2, gid)
		if l.Body["startIndex"] != float64(1) {
			t.Errorf("startIndex = %v", l.Body["startIndex"])
		}
		s.do("GET", "/Groups?startIndex=2&count=1", nil).listOf(t, 2, other)
		s.do("GET", "/Groups?startIndex=3&count=1", nil).listOf(t, 2)

		s.do("DELETE", "/Groups/"+gid, nil).noContent(t)
		if got := s.do("GET", "/Users/"+u2, nil).must(t, http.StatusOK); got.Body["groups"] != nil {
			t.Errorf("user still lists the deleted group: %s", got.Raw)
		}
	})
}

// TestClientOktaPaging pages through every user with Okta's startIndex /
// count loop (startIndex += itemsPerPage until totalResults) and sees each
// user exactly once, also while users are created and deactivated between
// pages.
func TestClientOktaPaging(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		const n = 23
		want := map[string]bool{}
		for i := 0; i < n; i++ {
			want[s.createUser(fmt.Sprintf("page-%02d@okta.local", n-i), nil)] = true
		}
		seen := map[string]int{}
		start, pages := 1, 0
		for {
			r := s.do("GET", fmt.Sprintf("/Users?startIndex=%d&count=5", start), nil).must(t, http.StatusOK)
			if r.total() != n {
				t.Fatalf("totalResults = %d, want %d", r.total(), n)
			}
			for _, id := range r.ids() {
				seen[id]++
			}
			if pages == 1 {
				// Changes to users already seen do not shift the pages.
				s.do("PATCH", "/Users/"+r.ids()[0], `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`).must(t, http.StatusOK)
			}
			pages++
			per := int(r.Body["itemsPerPage"].(float64))
			start += per
			if per == 0 || start > r.total() {
				break
			}
		}
		if pages != 5 || len(seen) != n {
			t.Fatalf("%d pages, %d distinct users, want 5 and %d", pages, len(seen), n)
		}
		for id, c := range seen {
			if c != 1 || !want[id] {
				t.Errorf("user %s seen %d times", id, c)
			}
		}
	})
}
