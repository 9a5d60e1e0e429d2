package app_test

import (
	"net/url"
	"strings"
	"testing"
)

// TestAccountsThroughAPI drives accounts, permission sets and assignments
// through the admin API on both engines: create, read by id and name, merge
// patch with If-Match, assign and unassign, the roles a member then holds,
// validation errors, deletion cascading to assignments, and the audit trail.
func TestAccountsThroughAPI(t *testing.T) {
	forEngine(t, func(t *testing.T, s *server) {
		s.must(201, "POST", "/api/v1/users", map[string]any{"userName": "alice", "emails": []any{map[string]any{"value": "alice@example.com"}}})
		s.must(201, "POST", "/api/v1/groups", map[string]any{"displayName": "Developers", "members": []string{"alice"}})

		created := s.must(201, "POST", "/api/v1/accounts", map[string]any{"id": "111111111111", "name": "prod", "stsRegion": "eu-west-1",
			"managedBy": "apply", "version": 7})
		a := created.json(t)
		if a["samlProvider"] != "idcenter" || a["signInUrl"] != "https://signin.aws.amazon.com/saml" || a["managedBy"] != nil ||
			a["version"] != float64(1) || created.Header.Get("Location") != "/api/v1/accounts/111111111111" || created.Header.Get("ETag") != `"1"` {
			t.Fatalf("created account: %v %v", a, created.Header)
		}
		for name, c := range map[string]struct {
			body  any
			field string
		}{
			"bad id":        {map[string]any{"id": "12345", "name": "x"}, `"field":"id"`},
			"bad region":    {map[string]any{"id": "222222222222", "name": "x", "stsRegion": "moon-1"}, `"field":"stsRegion"`},
			"http endpoint": {map[string]any{"id": "222222222222", "name": "x", "stsEndpoint": "http://sts.example.com"}, `"field":"stsEndpoint"`},
			"unknown field": {map[string]any{"id": "222222222222", "name": "x", "region": "eu-west-1"}, `unknown field`},
		} {
			if r := s.do("POST", "/api/v1/accounts", adminToken, c.body); r.Status != 400 || !strings.Contains(string(r.Body), c.field) {
				t.Errorf("%s: %d %s", name, r.Status, r.Body)
			}
		}
		if r := s.do("POST", "/api/v1/accounts", adminToken, map[string]any{"id": "222222222222", "name": "PROD"}); r.Status != 409 || !strings.Contains(string(r.Body), "name") {
			t.Errorf("duplicate name: %d %s", r.Status, r.Body)
		}
		if got := s.must(200, "GET", "/api/v1/accounts/PROD", nil).json(t); got["id"] != "111111111111" {
			t.Errorf("get by name: %v", got)
		}
		// Merge patch: null removes, the id and managedBy are the server's.
		p := s.must(200, "PATCH", "/api/v1/accounts/111111111111", map[string]any{"description": "Production", "stsRegion": nil,
			"id": "999999999999", "managedBy": "apply"}, "If-Match", `"1"`).json(t)
		if p["description"] != "Production" || p["stsRegion"] != nil || p["id"] != "111111111111" || p["managedBy"] != nil || p["version"] != float64(2) {
			t.Fatalf("patched account: %v", p)
		}
		if r := s.do("PATCH", "/api/v1/accounts/prod", adminToken, map[string]any{"description": "x"}, "If-Match", `"1"`); r.Status != 409 {
			t.Errorf("stale If-Match: %d %s", r.Status, r.Body)
		}
		if r := s.do("PATCH", "/api/v1/accounts/prod", adminToken, map[string]any{"defaultRegion": 3}); r.Status != 400 {
			t.Errorf("wrong type: %d %s", r.Status, r.Body)
		}

		ps := s.must(201, "POST", "/api/v1/permission-sets", map[string]any{"name": "ReadOnly", "sessionDuration": "pt4h",
			"managedPolicies": []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"},
			"inlinePolicy":    `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}`}).json(t)
		if ps["sessionDuration"] != "PT4H" || ps["iamRoleName"] != "idcenter-ReadOnly" || ps["id"] == "" {
			t.Fatalf("created permission set: %v", ps)
		}
		bad := s.do("POST", "/api/v1/permission-sets", adminToken, map[string]any{"name": "Bad", "sessionDuration": "PT13H",
			"inlinePolicy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Principal":"*"}]}`})
		if bad.Status != 400 || !strings.Contains(string(bad.Body), `"field":"sessionDuration"`) || !strings.Contains(string(bad.Body), "no Principal") {
			t.Errorf("bad permission set: %d %s", bad.Status, bad.Body)
		}
		pp := s.must(200, "PATCH", "/api/v1/permission-sets/readonly", map[string]any{"roleName": "ReadOnlyRole", "iamRoleName": "ignored",
			"tags": []any{map[string]any{"key": "team", "value": "platform"}}}).json(t)
		if pp["iamRoleName"] != "ReadOnlyRole" || pp["version"] != float64(2) || len(pp["tags"].([]any)) != 1 {
			t.Fatalf("patched permission set: %v", pp)
		}
		if got := s.must(200, "GET", "/api/v1/permission-sets/"+ps["id"].(string), nil); got.Header.Get("ETag") != `"2"` {
			t.Errorf("get by id: ETag %q", got.Header.Get("ETag"))
		}
		if l := s.must(200, "GET", "/api/v1/permission-sets", nil).json(t); len(l["items"].([]any)) != 1 {
			t.Errorf("list permission sets: %v", l)
		}

		// Assignments.
		as := s.must(200, "POST", "/api/v1/accounts/prod/assignments", map[string]any{"permissionSet": "ReadOnly", "principalType": "group", "principal": "developers"}).json(t)
		if as["principalName"] != "Developers" || as["permissionSet"] != "ReadOnly" || as["accountId"] != "111111111111" {
			t.Fatalf("assignment: %v", as)
		}
		s.must(200, "POST", "/api/v1/accounts/111111111111/assignments", map[string]any{"permissionSet": "ReadOnly", "principalType": "group", "principal": "Developers"})
		s.must(200, "POST", "/api/v1/accounts/prod/assignments", map[string]any{"permissionSet": ps["id"], "principalType": "user", "principal": "alice"})
		for name, c := range map[string]struct {
			body any
			want string
		}{
			"no principal":   {map[string]any{"permissionSet": "ReadOnly", "principalType": "user"}, `"field":"principal"`},
			"bad type":       {map[string]any{"permissionSet": "ReadOnly", "principalType": "role", "principal": "x"}, `"field":"principalType"`},
			"unknown user":   {map[string]any{"permissionSet": "ReadOnly", "principalType": "user", "principal": "ghost"}, `"field":"user"`},
			"unknown set":    {map[string]any{"permissionSet": "Nope", "principalType": "user", "principal": "alice"}, `"field":"permissionSet"`},
			"old body shape": {map[string]any{"permissionSet": "ReadOnly", "group": "Developers"}, "unknown field"},
		} {
			if r := s.do("POST", "/api/v1/accounts/prod/assignments", adminToken, c.body); r.Status != 400 || !strings.Contains(string(r.Body), c.want) {
				t.Errorf("%s: %d %s", name, r.Status, r.Body)
			}
		}
		if r := s.do("POST", "/api/v1/accounts/nope/assignments", adminToken, map[string]any{"permissionSet": "ReadOnly", "principalType": "user", "principal": "alice"}); r.Status != 400 || !strings.Contains(string(r.Body), `"field":"account"`) {
			t.Errorf("unknown account: %d %s", r.Status, r.Body)
		}
		s.must(404, "GET", "/api/v1/accounts/nope/assignments", nil)
		list := s.must(200, "GET", "/api/v1/accounts/prod/assignments", nil).json(t)
		if n := len(list["items"].([]any)); n != 2 {
			t.Fatalf("assignments: %v", list)
		}
		all := s.must(200, "GET", "/api/v1/account-assignments", nil).json(t)
		if n := len(all["items"].([]any)); n != 2 {
			t.Fatalf("all assignments: %v", all)
		}
		alice := s.app.Directory
		u, err := alice.Store.GetUserByUserName(t.Context(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		roles, err := s.app.Cloud.RolesFor(t.Context(), u.ID)
		if err != nil || len(roles) != 1 || roles[0].RoleName != "ReadOnlyRole" {
			t.Fatalf("alice's roles: %+v %v", roles, err)
		}

		// Unassign by query parameters; a missing one is not an error.
		q := url.Values{"permissionSet": {"ReadOnly"}, "principalType": {"user"}, "principal": {"alice"}}
		s.must(204, "DELETE", "/api/v1/accounts/prod/assignments?"+q.Encode(), nil)
		s.must(204, "DELETE", "/api/v1/accounts/prod/assignments?"+q.Encode(), nil)
		if r := s.do("DELETE", "/api/v1/accounts/prod/assignments?permissionSet=ReadOnly&principalType=user&user=alice", adminToken, nil); r.Status != 400 || !strings.Contains(string(r.Body), `unknown query parameter \"user\"`) {
			t.Errorf("misspelt parameter: %d %s", r.Status, r.Body)
		}
		if list := s.must(200, "GET", "/api/v1/accounts/prod/assignments", nil).json(t); len(list["items"].([]any)) != 1 {
			t.Fatalf("after unassign: %v", list)
		}

		// Deleting the permission set removes its assignments.
		s.must(204, "DELETE", "/api/v1/permission-sets/ReadOnly", nil)
		s.must(404, "GET", "/api/v1/permission-sets/ReadOnly", nil)
		if all := s.must(200, "GET", "/api/v1/account-assignments", nil).json(t); len(all["items"].([]any)) != 0 {
			t.Fatalf("assignments after deleting the permission set: %v", all)
		}
		s.must(204, "DELETE", "/api/v1/accounts/prod", nil)
		s.must(404, "GET", "/api/v1/accounts/111111111111", nil)
		if l := s.must(200, "GET", "/api/v1/accounts", nil).json(t); len(l["items"].([]any)) != 0 {
			t.Errorf("accounts after delete: %v", l)
		}

		ev := string(s.must(200, "GET", "/api/v1/audit-events?action=account*&limit=1000", nil).Body) +
			string(s.must(200, "GET", "/api/v1/audit-events?action=permissionset.*&limit=1000", nil).Body)
		for _, action := range []string{"account.create", "account.update", "account.assign", "account.unassign", "account.delete",
			"permissionset.create", "permissionset.update", "permissionset.delete"} {
			if !strings.Contains(ev, `"action":"`+action+`"`) {
				t.Errorf("audit trail lacks %s", action)
			}
		}
		if n := strings.Count(ev, `"action":"account.assign"`); n != 2 {
			t.Errorf("assigning twice wrote %d account.assign events, want 2 (one per new assignment)", n)
		}
	})
}

// TestAccountsExportApply: accounts made through the API come out of
// export and apply back as a no-op.
func TestAccountsExportApply(t *testing.T) {
	forEngine(t, func(t *testing.T, s *server) {
		s.must(201, "POST", "/api/v1/groups", map[string]any{"displayName": "Ops"})
		s.must(201, "POST", "/api/v1/accounts", map[string]any{"id": "111111111111", "name": "prod"})
		s.must(201, "POST", "/api/v1/permission-sets", map[string]any{"name": "Admin", "managedPolicies": []string{"arn:aws:iam::aws:policy/AdministratorAccess"}})
		s.must(200, "POST", "/api/v1/accounts/prod/assignments", map[string]any{"permissionSet": "Admin", "principalType": "group", "principal": "Ops"})
		doc := s.must(200, "GET", "/api/v1/export", nil).Body
		for _, want := range []string{"accounts:", "permission_sets:", "account_assignments:", "permission_set: Admin", "group: Ops"} {
			if !strings.Contains(string(doc), want) {
				t.Errorf("export lacks %q:\n%s", want, doc)
			}
		}
		plan := s.must(200, "POST", "/api/v1/apply?prune=true", doc).json(t)
		if plan["text"] != "No changes." {
			t.Errorf("export → apply: %v", plan)
		}
	})
}
