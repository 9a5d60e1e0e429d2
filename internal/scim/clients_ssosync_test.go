package scim_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// The Google Workspace → AWS IAM Identity Center sync tool, ssosync
// (github.com/awslabs/ssosync), replayed from its SCIM client
// (internal/aws/client.go, users.go, groups.go, schema.go / internal/
// interfaces/schema.go): users found with filter=userName eq, groups with
// filter=displayName eq, membership tested with
// filter=id eq "<group>" and members eq "<user>", users created with POST
// and updated with PUT (name, displayName, emails, an address holding only
// its type), groups created with "members": [], members added and removed
// with PATCH {"op":"add"|"remove","path":"members","value":[{"value":id}]},
// users and groups deleted. Responses are decoded into ssosync's own
// shapes, as ssosync does.
//
// Known gap (not fixed, see the report): ssosync declares Group.members as
// []string because AWS never returns members; idcenter returns them
// (RFC 7643 "returned: default"), so decoding a list response holding a
// group with members into ssosync's shape fails. The test decodes group
// lists only where the group has no members.

// ssosync's JSON shapes (written here from its schema, not imported).
type ssoUser struct {
	ID       string   `json:"id,omitempty"`
	Schemas  []string `json:"schemas"`
	Username string   `json:"userName"`
	Name     struct {
		FamilyName string `json:"familyName"`
		GivenName  string `json:"givenName"`
	} `json:"name"`
	DisplayName string `json:"displayName"`
	Active      bool   `json:"active"`
	Emails      []struct {
		Value   string `json:"value"`
		Type    string `json:"type"`
		Primary bool   `json:"primary"`
	} `json:"emails"`
	Addresses []struct {
		Type string `json:"type"`
	} `json:"addresses"`
}

type ssoGroup struct {
	ID          string   `json:"id,omitempty"`
	Schemas     []string `json:"schemas"`
	DisplayName string   `json:"displayName"`
	Members     []string `json:"members"`
}

type ssoList[T any] struct {
	TotalResults int `json:"totalResults"`
	Resources    []T `json:"Resources"`
}

func decodeAs[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.Raw), &v); err != nil {
		t.Fatalf("ssosync cannot decode the response: %v\n%s", err, r.Raw)
	}
	return v
}

func ssoUserBody(id, first, last, email string, active bool) string {
	idField := ""
	if id != "" {
		idField = `"id":"` + id + `",`
	}
	return js(`{%s"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,"name":{"familyName":%q,"givenName":%q},
		"displayName":%q,"active":%v,"emails":[{"value":%q,"type":"work","primary":true}],"addresses":[{"type":"work"}]}`,
		idField, email, last, first, first+" "+last, active, email)
}

func TestClientSSOSync(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		findUser := func(email string) ssoList[ssoUser] {
			return decodeAs[ssoList[ssoUser]](t, s.do("GET", "/Users?filter="+q(`userName eq "`+email+`"`), nil).must(t, http.StatusOK))
		}

		// Users: not found, created, found, updated.
		if l := findUser("alice@corp.example"); l.TotalResults != 0 {
			t.Fatalf("found %+v", l)
		}
		alice := decodeAs[ssoUser](t, s.do("POST", "/Users", ssoUserBody("", "Alice", "Liddell", "alice@corp.example", true)).must(t, http.StatusCreated))
		if alice.ID == "" || alice.Username != "alice@corp.example" || alice.Name.GivenName != "Alice" || !alice.Active ||
			len(alice.Emails) != 1 || alice.Emails[0].Value != "alice@corp.example" {
			t.Fatalf("created %+v", alice)
		}
		// A Google user without a first name: ssosync sends a single space.
		bob := decodeAs[ssoUser](t, s.do("POST", "/Users", ssoUserBody("", " ", "Builder", "bob@corp.example", true)).must(t, http.StatusCreated))
		if l := findUser("ALICE@corp.example"); l.TotalResults != 1 || l.Resources[0].ID != alice.ID {
			t.Fatalf("find alice %+v", l)
		}
		upd := decodeAs[ssoUser](t, s.do("PUT", "/Users/"+alice.ID, ssoUserBody(alice.ID, "Alice", "Kingsleigh", "alice@corp.example", false)).must(t, http.StatusOK))
		if upd.ID != alice.ID || upd.Name.FamilyName != "Kingsleigh" || upd.DisplayName != "Alice Kingsleigh" || upd.Active {
			t.Fatalf("updated %+v", upd)
		}
		s.do("PUT", "/Users/"+alice.ID, ssoUserBody(alice.ID, "Alice", "Kingsleigh", "alice@corp.example", true)).must(t, http.StatusOK)

		// Groups: looked up by name (the Google group's email), created.
		const gname = "engineering@corp.example"
		if l := decodeAs[ssoList[ssoGroup]](t, s.do("GET", "/Groups?filter="+q(`displayName eq "`+gname+`"`), nil).must(t, http.StatusOK)); l.TotalResults != 0 {
			t.Fatalf("found %+v", l)
		}
		g := decodeAs[ssoGroup](t, s.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"`+gname+`","members":[]}`).must(t, http.StatusCreated))
		if g.ID == "" || g.DisplayName != gname {
			t.Fatalf("created group %+v", g)
		}
		if l := decodeAs[ssoList[ssoGroup]](t, s.do("GET", "/Groups?filter="+q(`displayName eq "`+gname+`"`), nil).must(t, http.StatusOK)); l.TotalResults != 1 || l.Resources[0].ID != g.ID {
			t.Fatalf("find group %+v", l)
		}

		// Membership test, add, remove.
		isMember := func(userID string) bool {
			r := s.do("GET", "/Groups?filter="+q(`id eq "`+g.ID+`" and members eq "`+userID+`"`), nil).must(t, http.StatusOK)
			return r.total() > 0
		}
		change := func(op, userID string) {
			s.do("PATCH", "/Groups/"+g.ID, js(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":%q,"path":"members","value":[{"value":%q}]}]}`,
				op, userID)).noContent(t)
		}
		if isMember(alice.ID) {
			t.Fatal("alice is a member before being added")
		}
		change("add", alice.ID)
		change("add", bob.ID)
		if !isMember(alice.ID) || !isMember(bob.ID) {
			t.Fatalf("members %v", s.memberValues(g.ID))
		}
		change("remove", alice.ID)
		if isMember(alice.ID) || !isMember(bob.ID) {
			t.Fatalf("members %v", s.memberValues(g.ID))
		}
		// ... and by value filter, which the AWS endpoint also accepts.
		s.do("PATCH", "/Groups/"+g.ID, patchOps(`{"op":"remove","path":"members[value eq \"`+bob.ID+`\"]"}`)).noContent(t)
		if isMember(bob.ID) {
			t.Fatalf("members %v", s.memberValues(g.ID))
		}

		// Deletion of a user removes their memberships; then the group.
		change("add", alice.ID)
		s.do("DELETE", "/Users/"+alice.ID, nil).noContent(t)
		if isMember(alice.ID) {
			t.Error("deleted user still a member")
		}
		if l := findUser("alice@corp.example"); l.TotalResults != 0 {
			t.Errorf("deleted user found: %+v", l)
		}
		s.do("DELETE", "/Groups/"+g.ID, nil).noContent(t)
		if l := decodeAs[ssoList[ssoGroup]](t, s.do("GET", "/Groups?filter="+q(`displayName eq "`+gname+`"`), nil).must(t, http.StatusOK)); l.TotalResults != 0 {
			t.Fatalf("deleted group found %+v", l)
		}
	})
}
