package cloud_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

var admin = audit.Actor{Type: audit.ActorUser, ID: "a", Name: "root", Role: audit.RoleAdmin}

func TestRolesFollowAssignmentsAndGroups(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		dir := &directory.Service{Store: st.Directory()}
		svc := &cloud.Service{Store: st.Cloud()}
		alice, err := dir.CreateUser(ctx, admin, directory.User{UserName: "alice", Active: true})
		if err != nil {
			t.Fatal(err)
		}
		devs, err := dir.CreateGroup(ctx, admin, directory.Group{DisplayName: "Developers"}, []string{alice.ID})
		if err != nil {
			t.Fatal(err)
		}
		prod, err := svc.CreateAccount(ctx, admin, cloud.Account{ID: "111111111111", Name: "prod"})
		if err != nil {
			t.Fatal(err)
		}
		if prod.SAMLProvider != "idcenter" || prod.SignInURL != cloud.DefaultSignInURL {
			t.Errorf("defaults: %+v", prod)
		}
		if _, err := svc.CreateAccount(ctx, admin, cloud.Account{ID: "222222222222", Name: "PROD"}); !isConflict(err, "name") {
			t.Errorf("duplicate name: %v", err)
		}
		if _, err := svc.CreateAccount(ctx, admin, cloud.Account{ID: "111111111111", Name: "other"}); !isConflict(err, "id") {
			t.Errorf("duplicate id: %v", err)
		}
		ro, err := svc.CreatePermissionSet(ctx, admin, cloud.PermissionSet{Name: "ReadOnly",
			ManagedPolicies: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}, SessionDuration: "PT4H"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Assign(ctx, admin, cloud.AssignRequest{Account: "prod", PermissionSet: "readonly", PrincipalType: "group", Principal: "Developers"}); err != nil {
			t.Fatal(err)
		}
		// Assigning again, and directly to the user, still yields one role.
		svc.Assign(ctx, admin, cloud.AssignRequest{Account: "111111111111", PermissionSet: ro.ID, PrincipalType: "group", Principal: devs.ID})
		if _, err := svc.Assign(ctx, admin, cloud.AssignRequest{Account: "prod", PermissionSet: "ReadOnly", PrincipalType: "user", Principal: "alice"}); err != nil {
			t.Fatal(err)
		}
		roles, err := svc.RolesFor(ctx, alice.ID)
		if err != nil || len(roles) != 1 {
			t.Fatalf("roles = %+v, %v", roles, err)
		}
		want := "arn:aws:iam::111111111111:role/idcenter-ReadOnly,arn:aws:iam::111111111111:saml-provider/idcenter"
		if roles[0].AttributeValue() != want {
			t.Errorf("role = %q", roles[0].AttributeValue())
		}
		// Only the group grants it now; leaving the group removes it at once.
		if _, err := svc.Unassign(ctx, admin, cloud.AssignRequest{Account: "prod", PermissionSet: "ReadOnly", PrincipalType: "user", Principal: "alice"}); err != nil {
			t.Fatal(err)
		}
		if roles, _ := svc.RolesFor(ctx, alice.ID); len(roles) != 1 {
			t.Fatalf("group role lost: %+v", roles)
		}
		if _, err := dir.RemoveMembers(ctx, admin, "Developers", []string{"alice"}); err != nil {
			t.Fatal(err)
		}
		if roles, _ := svc.RolesFor(ctx, alice.ID); len(roles) != 0 {
			t.Errorf("roles after leaving the group: %+v", roles)
		}
		as, err := svc.ListAssignments(ctx, admin, "prod")
		if err != nil || len(as) != 1 || as[0].PrincipalName != "Developers" || as[0].PermissionSet != "ReadOnly" {
			t.Errorf("assignments = %+v, %v", as, err)
		}
		// Deleting the permission set removes its assignments.
		if err := svc.DeletePermissionSet(ctx, admin, "ReadOnly"); err != nil {
			t.Fatal(err)
		}
		if as, _ := svc.ListAssignments(ctx, admin, ""); len(as) != 0 {
			t.Errorf("assignments after delete: %+v", as)
		}
		auditor := audit.Actor{Type: audit.ActorUser, Name: "w", Role: audit.RoleAuditor}
		if _, err := svc.CreateAccount(ctx, auditor, cloud.Account{ID: "333333333333", Name: "x"}); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("auditor create: %v", err)
		}
	})
}

func isConflict(err error, field string) bool {
	var c *errs.Conflict
	return errors.As(err, &c) && c.Field == field
}

func TestValidation(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		svc := &cloud.Service{Store: st.Cloud()}
		for _, a := range []cloud.Account{
			{ID: "12345", Name: "short"}, {ID: "111111111111"}, {ID: "111111111111", Name: "x", DefaultRegion: "Europe"},
			{ID: "111111111111", Name: "x", SignInURL: "https://evil.example/saml"}, {ID: "111111111111", Name: "x", STSEndpoint: "http://sts.example"},
			{ID: "111111111111", Name: "x", SAMLProvider: "bad name"},
		} {
			if _, err := svc.CreateAccount(ctx, admin, a); !isInvalid(err) {
				t.Errorf("%+v: %v", a, err)
			}
		}
		long := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"` + strings.Repeat("a", 10300) + `"}]}`
		for _, p := range []cloud.PermissionSet{
			{Name: ""}, {Name: strings.Repeat("a", 33)}, {Name: "bad name"}, {Name: "x", SessionDuration: "PT30M"},
			{Name: "x", SessionDuration: "PT13H"}, {Name: "x", SessionDuration: "1h"}, {Name: "x", ManagedPolicies: []string{"ReadOnlyAccess"}},
			{Name: "x", InlinePolicy: `{"Statement":[]}`}, {Name: "x", InlinePolicy: `not json`}, {Name: "x", InlinePolicy: long},
			{Name: "x", InlinePolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Principal":"*"}]}`},
			{Name: "x", Boundary: &cloud.Boundary{}}, {Name: "x", Tags: []cloud.Tag{{Key: "aws:x", Value: "y"}}},
			{Name: "x", CustomerPolicies: []cloud.PolicyRef{{Name: "p", Path: "team"}}}, {Name: "x", RelayState: "javascript:alert(1)"},
		} {
			if _, err := svc.CreatePermissionSet(ctx, admin, p); !isInvalid(err) {
				t.Errorf("%+v: %v", p.Name, err)
			}
		}
		ok := cloud.PermissionSet{Name: "Admin+Ops", SessionDuration: "pt12h", RelayState: "https://console.aws.amazon.com/ec2/",
			InlinePolicy:     `{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotAction":"iam:*","Resource":"*"}}`,
			CustomerPolicies: []cloud.PolicyRef{{Name: "team-policy"}}, Boundary: &cloud.Boundary{ManagedPolicyARN: "arn:aws:iam::aws:policy/PowerUserAccess"},
			Tags: []cloud.Tag{{Key: "team", Value: "ops"}}}
		p, err := svc.CreatePermissionSet(ctx, admin, ok)
		if err != nil {
			t.Fatal(err)
		}
		if p.SessionDuration != "PT12H" || p.CustomerPolicies[0].Path != "/" || p.Role() != "idcenter-Admin+Ops" {
			t.Errorf("normalised: %+v", p)
		}
		got, err := svc.GetPermissionSet(ctx, admin, "admin+ops")
		if err != nil || got.InlinePolicy != ok.InlinePolicy || got.Boundary == nil || len(got.Tags) != 1 {
			t.Errorf("round trip: %+v %v", got, err)
		}
	})
}

func isInvalid(err error) bool {
	var v *errs.Invalid
	return errors.As(err, &v)
}
