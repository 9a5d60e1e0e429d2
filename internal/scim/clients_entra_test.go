package scim_test

import (
	"net/http"
	"testing"
)

// Microsoft Entra ID, as described in Microsoft's "Tutorial: Develop and plan
// provisioning for a SCIM endpoint in Microsoft Entra ID" (learn.microsoft.com,
// entra/identity/app-provisioning/use-scim-to-provision-users-and-groups:
// "User operations" and "Group operations" request/response examples), the
// "Known issues and resolution with SCIM 2.0 protocol compliance" page
// (application-provisioning-config-problem-scim-compatibility: capitalised
// op names, string booleans, path-less replace with dotted and URN keys,
// manager as a plain string, member removal by value filter) and the checks
// of Microsoft's SCIM validator (uniqueness, case-insensitive userName,
// 404 for unknown ids, externalId filter).

const entraUserName = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"

func TestClientEntraIDUsers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		mgr := s.createUser("Test_Manager_9c1c@testuser.com", nil)
		mgr2 := s.createUser("Test_Manager_2_4a7f@testuser.com", nil)

		// Get User by query - zero results.
		s.do("GET", "/Users?filter="+q(`userName eq "`+entraUserName+`"`), nil).listOf(t, 0)

		// Create User (the tutorial's body, plus the enterprise extension
		// the default attribute mappings send).
		r := s.do("POST", "/Users", js(`{
			"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
			"userName": %q,
			"active": true,
			"emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
			"meta": {"resourceType": "User"},
			"name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
			"roles": [],
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
				"employeeNumber": "701984", "department": "Tour Operations",
				"manager": {"value": %q}
			}
		}`, entraUserName, mgr)).must(t, http.StatusCreated)
		id := r.str("id")
		if id == "" || r.str("userName") != entraUserName || r.str("externalId") != "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef" ||
			r.str("meta.resourceType") != "User" || r.str("name.formatted") != "givenName familyName" || r.Body["active"] != true {
			t.Fatalf("create: %s", r.Raw)
		}
		if r.Header.Get("Location") != s.URL+"/Users/"+id {
			t.Errorf("Location = %q", r.Header.Get("Location"))
		}
		if m, _ := r.ent()["manager"].(map[string]any); m["value"] != mgr || r.ent()["employeeNumber"] != "701984" {
			t.Errorf("enterprise = %v", r.ent())
		}

		// Get User by query, then Get User.
		s.do("GET", "/Users?filter="+q(`userName eq "`+entraUserName+`"`), nil).listOf(t, 1, id)
		g := s.do("GET", "/Users/"+id, nil).must(t, http.StatusOK)
		if g.str("id") != id || g.emailOf("work") != "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com" {
			t.Errorf("get: %s", g.Raw)
		}

		// Validator: userName matches case-insensitively, externalId filter,
		// uniqueness (also in another case), unknown ids.
		s.do("GET", "/Users?filter="+q(`userName eq "test_user_AB6490EE-1e48-479e-a20b-2d77186b5dd1"`), nil).listOf(t, 1, id)
		s.do("GET", "/Users?filter="+q(`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`), nil).listOf(t, 1, id)
		s.do("GET", "/Users?filter="+q(`externalId eq "0A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF"`), nil).listOf(t, 0) // caseExact
		for _, dup := range []string{entraUserName, "TEST_USER_AB6490EE-1E48-479E-A20B-2D77186B5DD1"} {
			s.do("POST", "/Users", js(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,"active":true,
				"emails":[{"primary":true,"type":"work","value":"dup@testuser.com"}]}`, dup)).scimError(t, http.StatusConflict, "uniqueness")
		}
		const unknown = "/Users/9e5e5c3c-6b9f-4b5a-9a43-1d6c1f8c0f35"
		s.do("GET", unknown, nil).scimError(t, http.StatusNotFound, "")
		s.do("PATCH", unknown, patchOps(`{"op":"Replace","path":"active","value":"False"}`)).scimError(t, http.StatusNotFound, "")
		s.do("DELETE", unknown, nil).scimError(t, http.StatusNotFound, "")

		// Update User [Multi-valued properties].
		r = s.do("PATCH", "/Users/"+id, patchOps(
			`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"}`,
			`{"op":"Replace","path":"name.familyName","value":"updatedFamilyName"}`)).must(t, http.StatusOK)
		if r.emailOf("work") != "updatedEmail@microsoft.com" || r.str("name.familyName") != "updatedFamilyName" || r.str("name.givenName") != "givenName" {
			t.Errorf("multi-valued update: %s", r.Raw)
		}
		// Update User [Single-valued properties].
		r = s.do("PATCH", "/Users/"+id, patchOps(`{"op":"Replace","path":"userName","value":"5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}`)).must(t, http.StatusOK)
		if r.str("userName") != "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com" {
			t.Errorf("userName update: %s", r.Raw)
		}
		// Add on an attribute the user does not have yet.
		r = s.do("PATCH", "/Users/"+id, patchOps(`{"op":"Add","path":"nickName","value":"Babs"}`)).must(t, http.StatusOK)
		if r.str("nickName") != "Babs" {
			t.Errorf("add nickName: %s", r.Raw)
		}
		// A work email on a user who has none: Entra sends replace on the
		// value path and expects the email to appear.
		other := s.createUser("no-email@testuser.com", nil)
		r = s.do("PATCH", "/Users/"+other, patchOps(`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"new@testuser.com"}`)).must(t, http.StatusOK)
		if r.emailOf("work") != "new@testuser.com" {
			t.Errorf("replace on a missing work email: %s", r.Raw)
		}

		// Disable User: "Replace" with the string boolean "False" (apps
		// without the aadOptscim062020 flag), then a real boolean.
		r = s.do("PATCH", "/Users/"+id, patchOps(`{"op":"Replace","path":"active","value":"False"}`)).must(t, http.StatusOK)
		if r.Body["active"] != false {
			t.Errorf("disable: %s", r.Raw)
		}
		if g := s.do("GET", "/Users/"+id, nil).must(t, http.StatusOK); g.Body["active"] != false {
			t.Errorf("disabled user not kept: %s", g.Raw)
		}
		s.do("PATCH", "/Users/"+id, patchOps(`{"op":"Replace","path":"active","value":true}`)).must(t, http.StatusOK)

		// Path-less replace whose value object has plain, dotted, value-path
		// and URN-qualified keys, and string booleans.
		r = s.do("PATCH", "/Users/"+id, patchOps(`{
			"op": "replace",
			"value": {
				"displayName": "Pat Doe",
				"name.givenName": "Pat",
				"name.familyName": "Doe",
				"emails[type eq \"work\"].value": "pat.doe@testuser.com",
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "1234",
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Finance",
				"active": "False"
			}
		}`)).must(t, http.StatusOK)
		if r.str("displayName") != "Pat Doe" || r.str("name.givenName") != "Pat" || r.str("name.familyName") != "Doe" ||
			r.emailOf("work") != "pat.doe@testuser.com" || r.ent()["employeeNumber"] != "1234" || r.ent()["department"] != "Finance" ||
			r.Body["active"] != false {
			t.Errorf("path-less replace: %s", r.Raw)
		}
		if emails, _ := r.Body["emails"].([]any); len(emails) != 1 {
			t.Errorf("the work email was duplicated: %s", r.Raw)
		}

		// Enterprise attributes by URN path.
		r = s.do("PATCH", "/Users/"+id, patchOps(
			`{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"5678"}`,
			`{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter","value":"4130"}`)).must(t, http.StatusOK)
		if r.ent()["employeeNumber"] != "5678" || r.ent()["costCenter"] != "4130" {
			t.Errorf("URN paths: %s", r.Raw)
		}
		r = s.do("PATCH", "/Users/"+id, patchOps(`{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"}`)).must(t, http.StatusOK)
		if _, ok := r.ent()["employeeNumber"]; ok {
			t.Errorf("employeeNumber not removed: %s", r.Raw)
		}

		// Manager sent as a plain string (the value sub-attribute), then
		// removed.
		r = s.do("PATCH", "/Users/"+id, patchOps(`{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"`+mgr2+`"}`)).must(t, http.StatusOK)
		if m, _ := r.ent()["manager"].(map[string]any); m["value"] != mgr2 {
			t.Errorf("manager as a string: %s", r.Raw)
		}
		r = s.do("PATCH", "/Users/"+id, patchOps(`{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"`+mgr+`"}`)).must(t, http.StatusOK)
		if m, _ := r.ent()["manager"].(map[string]any); m["value"] != mgr {
			t.Errorf("manager replace: %s", r.Raw)
		}
		r = s.do("PATCH", "/Users/"+id, patchOps(`{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"`+mgr+`"}`)).must(t, http.StatusOK)
		if _, ok := r.ent()["manager"]; ok {
			t.Errorf("manager not removed: %s", r.Raw)
		}
		if g := s.do("GET", "/Users/"+id, nil); g.ent()["manager"] != nil || g.ent()["costCenter"] != "4130" {
			t.Errorf("after manager removal: %s", g.Raw)
		}

		// Delete User.
		s.do("DELETE", "/Users/"+id, nil).noContent(t)
		s.do("GET", "/Users/"+id, nil).scimError(t, http.StatusNotFound, "")
		s.do("GET", "/Users?filter="+q(`userName eq "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"`), nil).listOf(t, 0)
	})
}

func TestClientEntraIDGroups(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		u1 := s.createUser("entra-member-1@testuser.com", nil)
		u2 := s.createUser("entra-member-2@testuser.com", nil)

		// Get Group by displayName - none yet.
		s.do("GET", "/Groups?excludedAttributes=members&filter="+q(`displayName eq "displayName"`), nil).listOf(t, 0)

		// Create Group (with Microsoft's extra schema URN and meta).
		r := s.do("POST", "/Groups", `{
			"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
			"id": "c4b8a0de-dc48-4d3d-9d83-f5b5d1c1c2a4",
			"displayName": "displayName",
			"meta": {"resourceType": "Group"},
			"members": [],
			"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"]
		}`).must(t, http.StatusCreated)
		gid := r.str("id")
		if gid == "" || gid == "c4b8a0de-dc48-4d3d-9d83-f5b5d1c1c2a4" || r.str("displayName") != "displayName" ||
			r.str("externalId") != "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159" || r.str("meta.resourceType") != "Group" {
			t.Fatalf("create group: %s", r.Raw)
		}
		s.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"DISPLAYNAME"}`).
			scimError(t, http.StatusConflict, "uniqueness")

		// Get Group by displayName / by id, without members.
		l := s.do("GET", "/Groups?excludedAttributes=members&filter="+q(`displayName eq "displayName"`), nil).listOf(t, 1, gid)
		if _, ok := l.resources()[0]["members"]; ok {
			t.Errorf("members returned despite excludedAttributes: %s", l.Raw)
		}
		g := s.do("GET", "/Groups/"+gid+"?excludedAttributes=members", nil).must(t, http.StatusOK)
		if _, ok := g.Body["members"]; ok || g.str("displayName") != "displayName" {
			t.Errorf("get group: %s", g.Raw)
		}
		s.do("GET", "/Groups/4d6e4e5c-0000-4000-8000-000000000000", nil).scimError(t, http.StatusNotFound, "")
		s.do("GET", "/Groups?filter="+q(`externalId eq "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"`), nil).listOf(t, 1, gid)

		// Update Group [Add Members] ("$ref": null as Entra sends it).
		s.do("PATCH", "/Groups/"+gid, patchOps(`{"op":"Add","path":"members","value":[{"$ref":null,"value":"`+u1+`"},{"$ref":null,"value":"`+u2+`"}]}`)).noContent(t)
		if got := s.memberValues(gid); !sameSet(got, []string{u1, u2}) {
			t.Fatalf("members after add = %v", got)
		}
		// Adding an existing member again is not an error.
		s.do("PATCH", "/Groups/"+gid, patchOps(`{"op":"Add","path":"members","value":[{"$ref":null,"value":"`+u1+`"}]}`)).noContent(t)

		// Update Group [Remove Members]: by value filter (aadOptscim062020)
		// and with a value array (older behaviour).
		s.do("PATCH", "/Groups/"+gid, patchOps(`{"op":"Remove","path":"members[value eq \"`+u1+`\"]"}`)).noContent(t)
		if got := s.memberValues(gid); !sameSet(got, []string{u2}) {
			t.Fatalf("members after remove = %v", got)
		}
		s.do("PATCH", "/Groups/"+gid, patchOps(`{"op":"Remove","path":"members","value":[{"$ref":null,"value":"`+u2+`"}]}`)).noContent(t)
		if got := s.memberValues(gid); len(got) != 0 {
			t.Fatalf("members after remove = %v", got)
		}
		// Removing a member who is not in the group is not an error.
		s.do("PATCH", "/Groups/"+gid, patchOps(`{"op":"Remove","path":"members[value eq \"`+u2+`\"]"}`)).noContent(t)

		// Update Group [Non-member attributes].
		s.do("PATCH", "/Groups/"+gid, patchOps(`{"op":"Replace","path":"displayName","value":"1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}`)).noContent(t)
		s.do("GET", "/Groups?excludedAttributes=members&filter="+q(`displayName eq "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"`), nil).listOf(t, 1, gid)
		s.do("GET", "/Groups?excludedAttributes=members&filter="+q(`displayName eq "displayName"`), nil).listOf(t, 0)

		// Delete Group.
		s.do("DELETE", "/Groups/"+gid, nil).noContent(t)
		s.do("GET", "/Groups/"+gid, nil).scimError(t, http.StatusNotFound, "")
		s.do("PATCH", "/Groups/"+gid, patchOps(`{"op":"Replace","path":"displayName","value":"x"}`)).scimError(t, http.StatusNotFound, "")
	})
}
