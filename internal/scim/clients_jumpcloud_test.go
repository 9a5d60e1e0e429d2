package scim_test

import (
	"net/http"
	"testing"
)

// JumpCloud's outbound SCIM ("Identity Management" connectors and the custom
// SCIM integration, support.jumpcloud.com / jumpcloud.com/support): users
// looked up by userName and created with the enterprise extension, updated
// with PUT; groups looked up by displayName and taken over when the name
// matches, created only with members ("empty groups are not created"),
// membership changed with PATCH add/remove on "members" carrying a value
// array of {"value": id} (no RFC value filter), renamed, deleted; users of a
// group that is disassociated are deactivated (active:false), not deleted.

func TestClientJumpCloud(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		// User provisioning.
		s.do("GET", "/Users?filter="+q(`userName eq "jane.doe@jc.example"`), nil).listOf(t, 0)
		r := s.do("POST", "/Users", `{
			"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			"userName": "jane.doe@jc.example",
			"externalId": "5f3e3bd8a1b2c3d4e5f60718",
			"name": {"givenName": "Jane", "familyName": "Doe"},
			"displayName": "Jane Doe",
			"title": "Engineer",
			"emails": [{"value": "jane.doe@jc.example", "type": "work", "primary": true}],
			"phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
			"addresses": [{"type": "work", "streetAddress": "1 Main St", "locality": "Boulder", "region": "CO", "postalCode": "80301", "country": "US"}],
			"active": true,
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": 1042, "department": "R&D", "costCenter": "CC-7"}
		}`).must(t, http.StatusCreated)
		jane := r.str("id")
		if r.ent()["employeeNumber"] != "1042" || r.ent()["department"] != "R&D" {
			t.Errorf("enterprise (a numeric employeeNumber is kept as text): %v", r.ent())
		}
		john := s.createUser("john.roe@jc.example", nil)
		ann := s.createUser("ann.poe@jc.example", nil)

		// Profile update with PUT.
		r = s.do("PUT", "/Users/"+jane, js(`{
			"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			"id": %q, "userName": "jane.doe@jc.example", "externalId": "5f3e3bd8a1b2c3d4e5f60718",
			"name": {"givenName": "Jane", "familyName": "Smith"}, "displayName": "Jane Smith",
			"emails": [{"value": "jane.doe@jc.example", "type": "work", "primary": true}],
			"active": true,
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "1042", "department": "Platform"}
		}`, jane)).must(t, http.StatusOK)
		if r.str("name.familyName") != "Smith" || r.ent()["department"] != "Platform" || r.ent()["costCenter"] != nil || r.Body["title"] != nil {
			t.Errorf("PUT replaces the whole resource: %s", r.Raw)
		}

		// Group takeover: a group with the same name already exists.
		existing := s.createGroup("Engineering")
		s.do("GET", "/Groups?filter="+q(`displayName eq "Engineering"`), nil).listOf(t, 1, existing)
		// A new group is created with its members.
		s.do("GET", "/Groups?filter="+q(`displayName eq "Design"`), nil).listOf(t, 0)
		r = s.do("POST", "/Groups", js(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Design",
			"members":[{"value":%q},{"value":%q}]}`, jane, john)).must(t, http.StatusCreated)
		design := r.str("id")
		if got := s.memberValues(design); !sameSet(got, []string{jane, john}) {
			t.Fatalf("created with members %v", got)
		}

		// Membership: add and remove with value arrays.
		s.do("PATCH", "/Groups/"+existing, js(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"add","path":"members","value":[{"value":%q},{"value":%q},{"value":%q}]}]}`, jane, john, ann)).noContent(t)
		if got := s.memberValues(existing); !sameSet(got, []string{jane, john, ann}) {
			t.Fatalf("members %v", got)
		}
		s.do("PATCH", "/Groups/"+existing, js(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"remove","path":"members","value":[{"value":%q},{"value":%q}]}]}`, john, ann)).noContent(t)
		if got := s.memberValues(existing); !sameSet(got, []string{jane}) {
			t.Fatalf("members %v", got)
		}
		// Adding and removing in one request; removing a non-member is fine.
		s.do("PATCH", "/Groups/"+existing, js(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"add","path":"members","value":[{"value":%q}]},{"op":"remove","path":"members","value":[{"value":%q},{"value":%q}]}]}`,
			ann, jane, john)).noContent(t)
		if got := s.memberValues(existing); !sameSet(got, []string{ann}) {
			t.Fatalf("members %v", got)
		}
		// An unknown member is a 400, and changes nothing.
		s.do("PATCH", "/Groups/"+existing, js(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"add","path":"members","value":[{"value":%q},{"value":"0190aaaa-0000-7000-8000-000000000000"}]}]}`, john)).
			scimError(t, http.StatusBadRequest, "invalidValue")
		if got := s.memberValues(existing); !sameSet(got, []string{ann}) {
			t.Fatalf("members after a refused add %v", got)
		}

		// Rename.
		s.do("PATCH", "/Groups/"+design, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"replace","path":"displayName","value":"Product Design"}]}`).noContent(t)
		s.do("GET", "/Groups?filter="+q(`displayName eq "Product Design"`), nil).listOf(t, 1, design)

		// Disassociated group: its members are deactivated, then the group
		// is deleted; deactivated users stay.
		for _, id := range []string{jane, john} {
			s.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations":[{"op":"replace","path":"active","value":false}]}`).must(t, http.StatusOK)
		}
		s.do("DELETE", "/Groups/"+design, nil).noContent(t)
		s.do("GET", "/Users?filter="+q(`active eq false`), nil).listOf(t, 2, jane, john)
		if g := s.do("GET", "/Users/"+jane, nil).must(t, http.StatusOK); g.Body["groups"] != nil {
			t.Errorf("deleted group still listed on the user: %s", g.Raw)
		}

		// User deletion.
		s.do("DELETE", "/Users/"+ann, nil).noContent(t)
		if got := s.memberValues(existing); len(got) != 0 {
			t.Errorf("deleted user still a member: %v", got)
		}
	})
}
