package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/directory"
)

var testAdmin = audit.Actor{Type: audit.ActorUser, ID: "t", Name: "test", Role: audit.RoleAdmin}

// seedCloud creates the account prod with the group Developers holding
// ReadOnly there, and the permission set Admin (not assigned).
func seedCloud(t *testing.T, s *server) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.app.Directory.CreateGroup(ctx, testAdmin, directory.Group{DisplayName: "Developers"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.app.Cloud.CreateAccount(ctx, testAdmin, cloud.Account{ID: "111111111111", Name: "prod"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []cloud.PermissionSet{
		{Name: "ReadOnly", ManagedPolicies: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}, SessionDuration: "PT4H"},
		{Name: "Admin", ManagedPolicies: []string{"arn:aws:iam::aws:policy/AdministratorAccess"},
			InlinePolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"*"}]}`},
	} {
		if _, err := s.app.Cloud.CreatePermissionSet(ctx, testAdmin, p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.app.Cloud.Assign(ctx, testAdmin, cloud.AssignRequest{Account: "prod", PermissionSet: "ReadOnly", PrincipalType: "group", Principal: "Developers"}); err != nil {
		t.Fatal(err)
	}
}

func TestIAMAsCodeThroughAPI(t *testing.T) {
	forEngine(t, func(t *testing.T, s *server) {
		seedCloud(t, s)
		// The AWS application signs for every account without an appId (it
		// is created on first need otherwise; awsfed.AWSApplication).
		app := s.must(201, "POST", "/api/v1/apps", map[string]any{"template": "aws-account", "displayName": "AWS"}).json(t)
		appID := app["id"].(string)

		drift := s.must(200, "GET", "/api/v1/accounts/prod/iam/drift", nil).json(t)
		if drift["inSync"] != false || drift["rendered"] != false || !strings.Contains(string(mustJSON(drift["differences"])), "never rendered") {
			t.Fatalf("drift before render: %v", drift)
		}

		// CloudFormation: the provider holds the application's metadata.
		r := s.must(200, "GET", "/api/v1/accounts/prod/iam", nil)
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="idcenter-iam-111111111111.json"` {
			t.Errorf("Content-Disposition %q", cd)
		}
		cfn := r.json(t)
		res := cfn["Resources"].(map[string]any)
		md := string(s.must(200, "GET", "/api/v1/apps/"+appID+"/metadata", nil).Body)
		prov := res["SAMLProvider"].(map[string]any)["Properties"].(map[string]any)
		if prov["SamlMetadataDocument"] != md || prov["Name"] != "idcenter" {
			t.Fatalf("provider: %v", prov["Name"])
		}
		role := res["RoleReadOnly"].(map[string]any)
		if role["Type"] != "AWS::IAM::Role" || len(res) != 2 {
			t.Fatalf("resources: %v", res)
		}
		props := role["Properties"].(map[string]any)
		trust := mustJSON(props["AssumeRolePolicyDocument"])
		if props["RoleName"] != "idcenter-ReadOnly" || props["MaxSessionDuration"] != float64(14400) ||
			!strings.Contains(trust, `"SAML:aud":"https://signin.aws.amazon.com/saml"`) || !strings.Contains(trust, `"Federated":{"Ref":"SAMLProvider"}`) {
			t.Errorf("role: %v", props)
		}
		s.must(200, "GET", "/api/v1/accounts/111111111111/iam/drift", nil)
		if d := s.must(200, "GET", "/api/v1/accounts/111111111111/iam/drift", nil).json(t); d["inSync"] != true {
			t.Fatalf("drift after render: %v", d)
		}

		// A new assignment is drift until rendered again.
		if _, err := s.app.Cloud.Assign(context.Background(), testAdmin, cloud.AssignRequest{Account: "prod", PermissionSet: "Admin", PrincipalType: "group", Principal: "Developers"}); err != nil {
			t.Fatal(err)
		}
		d := s.must(200, "GET", "/api/v1/accounts/prod/iam/drift", nil).json(t)
		if d["inSync"] != false || !strings.Contains(mustJSON(d["differences"]), `"kind":"role-added","role":"idcenter-Admin"`) {
			t.Fatalf("drift after assign: %v", d)
		}

		// Terraform, then YAML.
		r = s.must(200, "GET", "/api/v1/accounts/prod/iam?format=terraform", nil)
		if cd := r.Header.Get("Content-Disposition"); !strings.HasSuffix(cd, `filename="idcenter-iam-111111111111.tf.json"`) {
			t.Errorf("Content-Disposition %q", cd)
		}
		tf := r.json(t)["resource"].(map[string]any)
		if len(tf["aws_iam_role"].(map[string]any)) != 2 || len(tf["aws_iam_role_policy"].(map[string]any)) != 1 {
			t.Errorf("terraform: %v", tf)
		}
		r = s.must(200, "GET", "/api/v1/accounts/prod/iam?format=cloudformation-yaml", nil)
		var y map[string]any
		if err := yaml.Unmarshal(r.Body, &y); err != nil || r.Header.Get("Content-Type") != "application/yaml" || len(y["Resources"].(map[string]any)) != 3 {
			t.Fatalf("yaml: %v %s", err, r.Body)
		}
		if d := s.must(200, "GET", "/api/v1/iam/drift", nil).json(t); mustJSON(d["items"]) == "" || d["items"].([]any)[0].(map[string]any)["inSync"] != true {
			t.Fatalf("drift after render: %v", d)
		}

		// Rotating the application's certificate: the next certificate is
		// published, so the provider metadata must be re-applied.
		s.must(201, "POST", "/api/v1/apps/"+appID+"/certificates", nil)
		d = s.must(200, "GET", "/api/v1/accounts/prod/iam/drift", nil).json(t)
		if d["inSync"] != false || !strings.Contains(mustJSON(d["differences"]), "re-apply: provider metadata changed") {
			t.Fatalf("drift after rotation: %v", d)
		}
		cfn = s.must(200, "GET", "/api/v1/accounts/prod/iam", nil).json(t)
		rotated := string(s.must(200, "GET", "/api/v1/apps/"+appID+"/metadata", nil).Body)
		if rotated == md || cfn["Resources"].(map[string]any)["SAMLProvider"].(map[string]any)["Properties"].(map[string]any)["SamlMetadataDocument"] != rotated {
			t.Errorf("the rendered provider does not hold the rotated metadata")
		}
		if d := s.must(200, "GET", "/api/v1/accounts/prod/iam/drift", nil).json(t); d["inSync"] != true {
			t.Fatalf("drift after re-render: %v", d)
		}

		// Errors and roles.
		if r := s.do("GET", "/api/v1/accounts/prod/iam?format=pulumi", adminToken, nil); r.Status != 400 || !strings.Contains(string(r.Body), `"field":"format"`) {
			t.Errorf("bad format: %d %s", r.Status, r.Body)
		}
		if r := s.do("GET", "/api/v1/accounts/999999999999/iam", adminToken, nil); r.Status != 404 {
			t.Errorf("unknown account: %d %s", r.Status, r.Body)
		}
		auditor := s.must(201, "POST", "/api/v1/tokens", map[string]any{"name": "watch", "role": "auditor"}).json(t)["token"].(string)
		// An auditor reads the documents without recording the render.
		if _, err := s.app.Cloud.Unassign(context.Background(), testAdmin, cloud.AssignRequest{Account: "prod", PermissionSet: "Admin", PrincipalType: "group", Principal: "Developers"}); err != nil {
			t.Fatal(err)
		}
		if r := s.do("GET", "/api/v1/accounts/prod/iam", auditor, nil); r.Status != 200 || r.Header.Get("X-IAM-Recorded") != "false" {
			t.Errorf("auditor render: %d %v", r.Status, r.Header)
		}
		if r := s.do("GET", "/api/v1/accounts/prod/iam/drift", auditor, nil); r.Status != 200 || !strings.Contains(string(r.Body), `"kind":"role-removed"`) {
			t.Errorf("auditor drift: %d %s", r.Status, r.Body)
		}
		ev := s.must(200, "GET", "/api/v1/audit-events?action=account.iam.render", nil).json(t)["items"].([]any)
		if len(ev) != 4 || ev[0].(map[string]any)["targetId"] != "111111111111" {
			t.Errorf("audit events: %v", ev)
		}
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestIAMRenderByAuditorDoesNotWrite: before any AWS application exists,
// an auditor's render is a 400 naming appId and creates nothing; an
// administrator's render creates the instance's AWS application.
func TestIAMRenderByAuditorDoesNotWrite(t *testing.T) {
	forEngine(t, func(t *testing.T, s *server) {
		seedCloud(t, s)
		auditor := s.must(201, "POST", "/api/v1/tokens", map[string]any{"name": "watch", "role": "auditor"}).json(t)["token"].(string)
		if r := s.do("GET", "/api/v1/accounts/prod/iam", auditor, nil); r.Status != 400 || !strings.Contains(string(r.Body), "appId") {
			t.Fatalf("auditor render: %d %s", r.Status, r.Body)
		}
		if apps := s.must(200, "GET", "/api/v1/apps", nil).json(t)["items"].([]any); len(apps) != 0 {
			t.Fatalf("an auditor's read created %v", apps)
		}
		s.must(200, "GET", "/api/v1/accounts/prod/iam", nil)
		if apps := s.must(200, "GET", "/api/v1/apps", nil).json(t)["items"].([]any); len(apps) != 1 {
			t.Fatalf("the admin's render did not create the AWS application: %v", apps)
		}
	})
}
