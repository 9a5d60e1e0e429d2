package iac_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/iac"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var prod = cloud.Account{ID: "111111111111", Name: "prod", SAMLProvider: "idcenter", SignInURL: cloud.DefaultSignInURL}

// fixture is an account with three permission sets covering every field.
func fixture(t *testing.T) iac.Input {
	return iac.Input{
		Account: prod,
		PermissionSets: []cloud.PermissionSet{
			{ID: "ps-3", Name: "ReadOnly", SessionDuration: "PT4H",
				ManagedPolicies: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"}},
			{ID: "ps-1", Name: "Admin+Ops", SessionDuration: "PT12H", RoleName: "ops-admin",
				ManagedPolicies:  []string{"arn:aws:iam::aws:policy/PowerUserAccess"},
				CustomerPolicies: []cloud.PolicyRef{{Name: "team-policy", Path: "/"}, {Name: "deploy", Path: "/ci/"}},
				InlinePolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],` +
					`"Resource":"arn:aws:s3:::home/${aws:username}/*"},{"Effect":"Deny","NotAction":"iam:*","Resource":"*","Condition":{"NumericLessThan":{"aws:MultiFactorAuthAge":3600}}}]}`,
				Boundary: &cloud.Boundary{CustomerPolicy: &cloud.PolicyRef{Name: "boundary", Path: "/"}},
				Tags:     []cloud.Tag{{Key: "team", Value: "ops"}, {Key: "cost-center", Value: "42"}}},
			{ID: "ps-2", Name: "Billing", SessionDuration: "PT1H",
				ManagedPolicies: []string{"arn:aws:iam::aws:policy/job-function/Billing"},
				Boundary:        &cloud.Boundary{ManagedPolicyARN: "arn:aws:iam::aws:policy/ReadOnlyAccess"}},
		},
		Metadata: readFile(t, "metadata.xml"),
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct{ format, golden string }{
		{iac.FormatCloudFormation, "prod.cloudformation.json"},
		{iac.FormatCloudFormationYAML, "prod.cloudformation.yaml"},
		{iac.FormatTerraform, "prod.tf.json"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			got, err := iac.Render(fixture(t), tc.format)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the rendering (go test ./internal/iac -update to accept):\n%s", path, got)
			}
		})
	}
}

// TestDeterministic: the order of permission sets, policies and tags in the
// input does not change the output.
func TestDeterministic(t *testing.T) {
	in := fixture(t)
	want, err := iac.Terraform(in)
	if err != nil {
		t.Fatal(err)
	}
	wantCFN, _ := iac.CloudFormation(in)
	sh := fixture(t)
	ps := sh.PermissionSets
	ps[0], ps[1], ps[2] = ps[2], ps[0], ps[1]
	for i := range ps {
		p := &ps[i]
		for l, r := 0, len(p.ManagedPolicies)-1; l < r; l, r = l+1, r-1 {
			p.ManagedPolicies[l], p.ManagedPolicies[r] = p.ManagedPolicies[r], p.ManagedPolicies[l]
		}
		for l, r := 0, len(p.Tags)-1; l < r; l, r = l+1, r-1 {
			p.Tags[l], p.Tags[r] = p.Tags[r], p.Tags[l]
		}
	}
	sh.PermissionSets = append(sh.PermissionSets, ps[0]) // assigned twice
	got, _ := iac.Terraform(sh)
	gotCFN, _ := iac.CloudFormation(sh)
	if !bytes.Equal(got, want) || !bytes.Equal(gotCFN, wantCFN) {
		t.Errorf("output depends on input order")
	}
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value")
	}
	return m
}

func obj(t *testing.T, v any, path ...string) map[string]any {
	t.Helper()
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%v: not an object at %q", path, p)
		}
		v = m[p]
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%v: %T is not an object", path, v)
	}
	return m
}

// checkPolicy checks an IAM policy document: a JSON object with Version
// 2012-10-17 and statements that each have an Effect and an action.
func checkPolicy(t *testing.T, name string, doc map[string]any) []map[string]any {
	t.Helper()
	if doc["Version"] != "2012-10-17" {
		t.Errorf("%s: Version = %v", name, doc["Version"])
	}
	var stmts []map[string]any
	switch s := doc["Statement"].(type) {
	case []any:
		for _, x := range s {
			stmts = append(stmts, x.(map[string]any))
		}
	case map[string]any:
		stmts = append(stmts, s)
	default:
		t.Fatalf("%s: Statement is %T", name, doc["Statement"])
	}
	if len(stmts) == 0 {
		t.Errorf("%s: no statement", name)
	}
	for i, s := range stmts {
		if e := s["Effect"]; e != "Allow" && e != "Deny" {
			t.Errorf("%s statement %d: Effect %v", name, i, e)
		}
		if s["Action"] == nil && s["NotAction"] == nil {
			t.Errorf("%s statement %d: no Action", name, i)
		}
	}
	return stmts
}

// checkTrust checks a role's trust policy: the SAML provider may call
// AssumeRoleWithSAML and TagSession for assertions to the sign-in URL.
func checkTrust(t *testing.T, name string, doc map[string]any, federated any) {
	t.Helper()
	stmts := checkPolicy(t, name, doc)
	if len(stmts) != 1 {
		t.Fatalf("%s: %d statements", name, len(stmts))
	}
	s := stmts[0]
	if !reflect.DeepEqual(s["Principal"], map[string]any{"Federated": federated}) {
		t.Errorf("%s: Principal = %v, want Federated %v", name, s["Principal"], federated)
	}
	if !reflect.DeepEqual(s["Action"], []any{"sts:AssumeRoleWithSAML", "sts:TagSession"}) {
		t.Errorf("%s: Action = %v", name, s["Action"])
	}
	if aud := obj(t, s, "Condition", "StringEquals")["SAML:aud"]; aud != "https://signin.aws.amazon.com/saml" {
		t.Errorf("%s: SAML:aud = %v", name, aud)
	}
}

var logicalID = regexp.MustCompile(`^[A-Za-z0-9]{1,255}$`)

func TestCloudFormation(t *testing.T) {
	in := fixture(t)
	j, err := iac.CloudFormation(in)
	if err != nil {
		t.Fatal(err)
	}
	doc := decode(t, j)
	if doc["AWSTemplateFormatVersion"] != "2010-09-09" {
		t.Errorf("version: %v", doc["AWSTemplateFormatVersion"])
	}
	res := obj(t, doc, "Resources")
	types := map[string]int{}
	roles := map[string]map[string]any{}
	for id, r := range res {
		if !logicalID.MatchString(id) {
			t.Errorf("logical ID %q is not alphanumeric", id)
		}
		typ := r.(map[string]any)["Type"].(string)
		types[typ]++
		props := obj(t, r, "Properties")
		switch typ {
		case "AWS::IAM::SAMLProvider":
			if props["Name"] != "idcenter" || props["SamlMetadataDocument"] != string(in.Metadata) {
				t.Errorf("provider properties: %v", props["Name"])
			}
		case "AWS::IAM::Role":
			roles[props["RoleName"].(string)] = props
			checkTrust(t, id, obj(t, props, "AssumeRolePolicyDocument"), map[string]any{"Ref": "SAMLProvider"})
		}
	}
	if !reflect.DeepEqual(types, map[string]int{"AWS::IAM::SAMLProvider": 1, "AWS::IAM::Role": 3}) {
		t.Fatalf("resource types: %v", types)
	}
	ops := roles["ops-admin"]
	if ops == nil || ops["MaxSessionDuration"] != float64(43200) || ops["PermissionsBoundary"] != "arn:aws:iam::111111111111:policy/boundary" {
		t.Fatalf("ops-admin: %v", ops)
	}
	wantARNs := []any{"arn:aws:iam::111111111111:policy/ci/deploy", "arn:aws:iam::111111111111:policy/team-policy", "arn:aws:iam::aws:policy/PowerUserAccess"}
	if !reflect.DeepEqual(ops["ManagedPolicyArns"], wantARNs) {
		t.Errorf("ManagedPolicyArns = %v", ops["ManagedPolicyArns"])
	}
	pols := ops["Policies"].([]any)
	if len(pols) != 1 || pols[0].(map[string]any)["PolicyName"] != "idcenter-inline" {
		t.Fatalf("Policies = %v", pols)
	}
	stmts := checkPolicy(t, "inline", obj(t, pols[0], "PolicyDocument"))
	if stmts[0]["Resource"] != "arn:aws:s3:::home/${aws:username}/*" {
		t.Errorf("policy variable changed: %v", stmts[0]["Resource"])
	}
	if !reflect.DeepEqual(ops["Tags"], []any{map[string]any{"Key": "cost-center", "Value": "42"}, map[string]any{"Key": "team", "Value": "ops"}}) {
		t.Errorf("Tags = %v", ops["Tags"])
	}
	if ro := roles["idcenter-ReadOnly"]; ro == nil || ro["MaxSessionDuration"] != float64(14400) || ro["Policies"] != nil || ro["PermissionsBoundary"] != nil {
		t.Errorf("ReadOnly: %v", ro)
	}
	if b := roles["idcenter-Billing"]; b == nil || b["PermissionsBoundary"] != "arn:aws:iam::aws:policy/ReadOnlyAccess" {
		t.Errorf("Billing: %v", b)
	}
	out := obj(t, doc, "Outputs")
	if !reflect.DeepEqual(obj(t, out, "SAMLProviderArn")["Value"], map[string]any{"Ref": "SAMLProvider"}) {
		t.Errorf("outputs: %v", out)
	}

	// The YAML template is the same document.
	y, err := iac.CloudFormationYAML(in)
	if err != nil {
		t.Fatal(err)
	}
	var fromYAML any
	if err := yaml.Unmarshal(y, &fromYAML); err != nil {
		t.Fatalf("YAML: %v", err)
	}
	yj, _ := json.Marshal(fromYAML)
	var a, b any
	json.Unmarshal(yj, &a)
	json.Unmarshal(j, &b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("YAML and JSON templates differ:\n%s", y)
	}
	if !bytes.Contains(y, []byte(`AWSTemplateFormatVersion: "2010-09-09"`)) {
		t.Errorf("the version must stay a string:\n%.200s", y)
	}
}

func TestTerraform(t *testing.T) {
	in := fixture(t)
	b, err := iac.Terraform(in)
	if err != nil {
		t.Fatal(err)
	}
	doc := decode(t, b)
	if doc["provider"] != nil || doc["terraform"] != nil {
		t.Errorf("the document must not configure providers")
	}
	res := obj(t, doc, "resource")
	counts := map[string]int{}
	for typ, blocks := range res {
		counts[typ] = len(blocks.(map[string]any))
		for name := range blocks.(map[string]any) {
			if !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`).MatchString(name) {
				t.Errorf("%s.%s: not a Terraform name", typ, name)
			}
		}
	}
	// ReadOnly 2, ops-admin 1 AWS managed + 2 customer managed, Billing 1.
	want := map[string]int{"aws_iam_saml_provider": 1, "aws_iam_role": 3, "aws_iam_role_policy_attachment": 6, "aws_iam_role_policy": 1}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("resource blocks: %v, want %v", counts, want)
	}
	prov := obj(t, res, "aws_iam_saml_provider", "idcenter")
	if prov["name"] != "idcenter" || prov["saml_metadata_document"] != string(in.Metadata) {
		t.Errorf("provider: %v", prov["name"])
	}
	var ops map[string]any
	for _, r := range obj(t, res, "aws_iam_role") {
		r := r.(map[string]any)
		var trust map[string]any
		if err := json.Unmarshal([]byte(r["assume_role_policy"].(string)), &trust); err != nil {
			t.Fatalf("assume_role_policy is not JSON: %v", err)
		}
		checkTrust(t, r["name"].(string), trust, "${aws_iam_saml_provider.idcenter.arn}")
		if r["name"] == "ops-admin" {
			ops = r
		}
	}
	if ops["max_session_duration"] != float64(43200) || ops["permissions_boundary"] != "arn:aws:iam::111111111111:policy/boundary" ||
		!reflect.DeepEqual(ops["tags"], map[string]any{"team": "ops", "cost-center": "42"}) {
		t.Errorf("ops-admin: %v", ops)
	}
	var arns []string
	for _, a := range obj(t, res, "aws_iam_role_policy_attachment") {
		a := a.(map[string]any)
		if !strings.HasPrefix(a["role"].(string), "${aws_iam_role.Role") {
			t.Errorf("attachment role %v", a["role"])
		}
		arns = append(arns, a["policy_arn"].(string))
	}
	if !strings.Contains(strings.Join(arns, " "), "arn:aws:iam::111111111111:policy/ci/deploy") {
		t.Errorf("customer managed policy not attached: %v", arns)
	}
	for _, p := range obj(t, res, "aws_iam_role_policy") {
		p := p.(map[string]any)
		pol := p["policy"].(string)
		// Policy variables are escaped from Terraform's templates.
		if !strings.Contains(pol, "$${aws:username}") || strings.Contains(strings.ReplaceAll(pol, "$${", ""), "${") {
			t.Errorf("policy variables not escaped: %s", pol)
		}
		var d map[string]any
		if err := json.Unmarshal([]byte(strings.ReplaceAll(pol, "$${", "${")), &d); err != nil {
			t.Fatalf("inline policy is not JSON: %v", err)
		}
		checkPolicy(t, "inline", d)
		if p["name"] != "idcenter-inline" {
			t.Errorf("inline policy name %v", p["name"])
		}
	}
}

func TestRenderRefuses(t *testing.T) {
	dup := fixture(t)
	dup.PermissionSets = append(dup.PermissionSets, cloud.PermissionSet{ID: "ps-9", Name: "Other", RoleName: "OPS-ADMIN", SessionDuration: "PT1H"})
	noMeta := fixture(t)
	noMeta.Metadata = []byte("<html/>")
	for name, in := range map[string]iac.Input{"same role name": dup, "not metadata": noMeta} {
		t.Run(name, func(t *testing.T) {
			_, err := iac.CloudFormation(in)
			var v *errs.Invalid
			if !errors.As(err, &v) {
				t.Errorf("err = %v, want invalid", err)
			}
		})
	}
	if _, err := iac.Render(fixture(t), "pulumi"); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestLogicalIDs: names that differ only in punctuation get distinct IDs.
func TestLogicalIDs(t *testing.T) {
	in := fixture(t)
	in.PermissionSets = []cloud.PermissionSet{{ID: "a", Name: "Admin-Ops"}, {ID: "b", Name: "Admin.Ops"}, {ID: "c", Name: "AdminOps"}}
	b, err := iac.CloudFormation(in)
	if err != nil {
		t.Fatal(err)
	}
	res := obj(t, decode(t, b), "Resources")
	if len(res) != 4 {
		t.Fatalf("resources: %d", len(res))
	}
	for id := range res {
		if !logicalID.MatchString(id) {
			t.Errorf("logical ID %q", id)
		}
	}
}

// TestExternalValidators runs cfn-lint and terraform validate on the
// rendered documents when they are installed (skipped otherwise).
func TestExternalValidators(t *testing.T) {
	in := fixture(t)
	dir := t.TempDir()
	t.Run("cfn-lint", func(t *testing.T) {
		if _, err := exec.LookPath("cfn-lint"); err != nil {
			t.Skip("cfn-lint not installed")
		}
		for _, f := range []string{iac.FormatCloudFormation, iac.FormatCloudFormationYAML} {
			b, err := iac.Render(in, f)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, iac.FileName(in.Account.ID, f))
			os.WriteFile(p, b, 0o644)
			if out, err := exec.Command("cfn-lint", "--regions", "us-east-1", "--", p).CombinedOutput(); err != nil {
				t.Errorf("cfn-lint %s: %v\n%s", f, err, out)
			}
		}
	})
	t.Run("terraform", func(t *testing.T) {
		if _, err := exec.LookPath("terraform"); err != nil {
			t.Skip("terraform not installed")
		}
		mod := filepath.Join(dir, "tf")
		os.MkdirAll(mod, 0o755)
		b, err := iac.Terraform(in)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(mod, iac.FileName(in.Account.ID, iac.FormatTerraform)), b, 0o644)
		args := []string{"init", "-backend=false", "-input=false"}
		if pd := os.Getenv("IDCENTER_TF_PLUGIN_DIR"); pd != "" {
			args = append(args, "-plugin-dir="+pd)
		}
		init := exec.Command("terraform", args...)
		init.Dir = mod
		if out, err := init.CombinedOutput(); err != nil {
			t.Skipf("terraform init (needs the aws provider; set IDCENTER_TF_PLUGIN_DIR offline): %v\n%s", err, out)
		}
		v := exec.Command("terraform", "validate", "-no-color")
		v.Dir = mod
		if out, err := v.CombinedOutput(); err != nil {
			t.Errorf("terraform validate: %v\n%s", err, out)
		}
	})
}
