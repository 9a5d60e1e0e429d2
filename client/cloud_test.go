package client

import (
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"testing"
)

func TestCreatePermissionSetBody(t *testing.T) {
	c, reqs := fake(t, 201, "application/json", `{"id":"p1","name":"ReadOnly","sessionDuration":"PT4H","iamRoleName":"idcenter-ReadOnly","version":1}`)
	p, err := c.CreatePermissionSet(context.Background(), PermissionSet{
		ID: "ignored", Name: "ReadOnly", SessionDuration: "PT4H", IAMRoleName: "ignored", ManagedBy: "apply", Version: 9,
		ManagedPolicies: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"},
		Boundary:        &Boundary{CustomerPolicy: &PolicyRef{Name: "B"}},
	})
	if err != nil || p.ID != "p1" || p.IAMRoleName != "idcenter-ReadOnly" {
		t.Fatalf("CreatePermissionSet: %+v %v", p, err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte((*reqs)[0].Body), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "ReadOnly", "sessionDuration": "PT4H",
		"managedPolicies":     []any{"arn:aws:iam::aws:policy/ReadOnlyAccess"},
		"permissionsBoundary": map[string]any{"customerPolicy": map[string]any{"name": "B"}}}
	if r := (*reqs)[0]; !reflect.DeepEqual(got, want) || r.Method != "POST" || r.Path != "/api/v1/permission-sets" {
		t.Errorf("request %s %s\n body %v\n want %v", r.Method, r.Path, got, want)
	}
}

func TestCreateAccountBody(t *testing.T) {
	c, reqs := fake(t, 201, "application/json", `{"id":"111111111111","name":"prod","samlProvider":"idcenter","version":1}`)
	if _, err := c.CreateAccount(context.Background(), Account{ID: "111111111111", Name: "prod", STSRegion: "eu-west-1", Version: 4, ManagedBy: "x"}); err != nil {
		t.Fatal(err)
	}
	if got := (*reqs)[0].Body; got != `{"id":"111111111111","name":"prod","stsRegion":"eu-west-1"}` {
		t.Errorf("body %s", got)
	}
}

func TestAccountAssignmentRequests(t *testing.T) {
	c, reqs := fake(t, 200, "application/json", `{"accountId":"111111111111","permissionSet":"ReadOnly","principalType":"group","principalName":"Dev Ops"}`)
	ctx := context.Background()
	as, err := c.AssignAccount(ctx, "prod/eu", "ReadOnly", PrincipalGroup, "Dev Ops")
	if err != nil || as.PrincipalName != "Dev Ops" {
		t.Fatalf("AssignAccount: %+v %v", as, err)
	}
	if err := c.UnassignAccount(ctx, "prod", "ReadOnly", PrincipalUser, "a&b"); err != nil {
		t.Fatal(err)
	}
	if r := (*reqs)[0]; r.Method != "POST" || r.RawPath != "/api/v1/accounts/prod%2Feu/assignments" ||
		r.Body != `{"permissionSet":"ReadOnly","principal":"Dev Ops","principalType":"group"}` {
		t.Errorf("assign: %s %s %s", r.Method, r.RawPath, r.Body)
	}
	r := (*reqs)[1]
	q, _ := url.ParseQuery(r.Query)
	if r.Method != "DELETE" || r.Path != "/api/v1/accounts/prod/assignments" || r.Body != "" ||
		q.Get("permissionSet") != "ReadOnly" || q.Get("principalType") != "user" || q.Get("principal") != "a&b" {
		t.Errorf("unassign: %s %s ?%s body %q", r.Method, r.Path, r.Query, r.Body)
	}
	if _, err := c.ListAccountAssignments(ctx, ""); err == nil {
		t.Error("empty account key accepted")
	}
	if err := c.DeletePermissionSet(ctx, ".."); err != nil {
		t.Fatal(err)
	}
	if r := (*reqs)[2]; r.RawPath != "/api/v1/permission-sets/%2E%2E" {
		t.Errorf("delete permission set: %q", r.RawPath)
	}
}
