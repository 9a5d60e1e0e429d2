package declarative

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

// cloudDoc adds accounts, permission sets and assignments to baseDoc.
const cloudDoc = baseDoc + `
accounts:
  - id: "111111111111"
    name: prod
    description: Production
    sts_region: eu-west-1
    default_region: eu-west-1
  - id: 222222222222          # unquoted: still text
    name: staging
    saml_provider: idc
permission_sets:
  - name: ReadOnly
    managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]
    session_duration: pt4h
    tags:
      - {key: team, value: platform}
  - name: Admin
    description: Full access
    managed_policies: [arn:aws:iam::aws:policy/AdministratorAccess]
    customer_policies:
      - {name: Deny-Billing}
      - {name: Team, path: /platform/}
    permissions_boundary:
      customer_policy: {name: Boundary}
    inline_policy: |
      {"Version": "2012-10-17",
       "Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}
    relay_state: https://console.aws.amazon.com/ec2/
    role_name: PlatformAdmin
account_assignments:
  - {account: prod, permission_set: ReadOnly, group: Developers}
  - {account: "111111111111", permission_set: admin, user: alice}
  - {account: staging, permission_set: ReadOnly, user: carol}
`

// cloudEnv is env with accounts.
func cloudEnv(t *testing.T, st *sqlstore.Store) (*env, *cloud.Service) {
	e := newEnv(t, st)
	cl := &cloud.Service{Store: st.Cloud()}
	e.svc.Cloud = cl
	return e, cl
}

func cloudChanges(p Plan) []Change {
	var out []Change
	for _, c := range p.Changes {
		if c.Kind == KindAccount || c.Kind == KindPermissionSet {
			out = append(out, c)
		}
	}
	return out
}

// accountAssignments lists an account's assignments as PS:type:NAME.
func accountAssignments(t *testing.T, e *env, cl *cloud.Service, account string) []string {
	t.Helper()
	list, err := cl.ListAssignments(e.ctx, e.actor, account)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range list {
		out = append(out, a.PermissionSet+":"+a.PrincipalType+":"+a.PrincipalName)
	}
	slices.Sort(out)
	return out
}

func TestApplyAccountsCreate(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e, cl := cloudEnv(t, st)
		dry := e.apply(cloudDoc, Options{DryRun: true})
		if accts, _ := cl.ListAccounts(e.ctx, e.actor); len(accts) != 0 {
			t.Fatalf("dry run wrote accounts: %v", accts)
		}
		plan := e.apply(cloudDoc, Options{})
		if diff := cmp.Diff(dry.Changes, plan.Changes); diff != "" {
			t.Errorf("dry run and apply differ:\n%s", diff)
		}
		want := []Change{
			{Op: OpCreate, Kind: KindPermissionSet, Name: "Admin", Fields: map[string]FieldChange{
				"description": fc("", "Full access"), "session_duration": fc("", "PT1H"),
				"managed_policies":     fc("", "arn:aws:iam::aws:policy/AdministratorAccess"),
				"customer_policies":    fc("", "/Deny-Billing /platform/Team"),
				"permissions_boundary": fc("", "customer:/Boundary"),
				"inline_policy":        fc("", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"*"}]}`),
				"relay_state":          fc("", "https://console.aws.amazon.com/ec2/"), "role_name": fc("", "PlatformAdmin")}},
			{Op: OpCreate, Kind: KindPermissionSet, Name: "ReadOnly", Fields: map[string]FieldChange{
				"session_duration": fc("", "PT4H"), "managed_policies": fc("", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
				"tags": fc("", "team=platform")}},
			{Op: OpCreate, Kind: KindAccount, Name: "prod", Fields: map[string]FieldChange{
				"id": fc("", "111111111111"), "description": fc("", "Production"), "saml_provider": fc("", "idcenter"),
				"sts_region": fc("", "eu-west-1"), "default_region": fc("", "eu-west-1"), "sign_in_url": fc("", cloud.DefaultSignInURL)},
				AssignmentsAdded: []string{"Admin:user:alice", "ReadOnly:group:Developers"}},
			{Op: OpCreate, Kind: KindAccount, Name: "staging", Fields: map[string]FieldChange{
				"id": fc("", "222222222222"), "saml_provider": fc("", "idc"), "sign_in_url": fc("", cloud.DefaultSignInURL)},
				AssignmentsAdded: []string{"ReadOnly:user:carol"}},
		}
		if diff := cmp.Diff(want, cloudChanges(plan)); diff != "" {
			t.Errorf("cloud changes (-want +got):\n%s", diff)
		}
		if s := plan.String(); !strings.Contains(s, "+ account prod: id \"111111111111\"") ||
			!strings.Contains(s, "assignments +Admin:user:alice +ReadOnly:group:Developers") {
			t.Errorf("plan text:\n%s", s)
		}
		// Cloud objects come after users and groups in the plan.
		if last := plan.Changes[len(plan.Changes)-1]; last.Kind != KindAccount || last.Name != "staging" {
			t.Errorf("last change %+v", last)
		}

		prod, err := cl.GetAccount(e.ctx, e.actor, "prod")
		if err != nil || prod.ManagedBy != directory.ManagedByApply || prod.STSRegion != "eu-west-1" {
			t.Fatalf("prod = %+v, %v", prod, err)
		}
		admin, err := cl.GetPermissionSet(e.ctx, e.actor, "Admin")
		if err != nil || admin.ManagedBy != directory.ManagedByApply || admin.Role() != "PlatformAdmin" ||
			admin.Boundary == nil || admin.Boundary.CustomerPolicy.Path != "/" || !strings.HasSuffix(admin.InlinePolicy, "}]}\n") {
			t.Fatalf("Admin = %+v, %v", admin, err)
		}
		if diff := cmp.Diff([]string{"Admin:user:alice", "ReadOnly:group:Developers"}, accountAssignments(t, e, cl, "prod")); diff != "" {
			t.Errorf("prod assignments (-want +got):\n%s", diff)
		}
		// bob holds ReadOnly in prod through Developers; carol is disabled.
		roles, err := cl.RolesFor(e.ctx, e.user("bob").ID)
		if err != nil || len(roles) != 1 || roles[0].RoleARN != "arn:aws:iam::111111111111:role/idcenter-ReadOnly" {
			t.Errorf("bob's roles = %+v, %v", roles, err)
		}
		c := counted(e.actions())
		if c["account.create"] != 2 || c["permissionset.create"] != 2 || c["account.assign"] != 3 || c["config.apply"] != 1 {
			t.Errorf("audit actions: %v", c)
		}

		// Applying again changes nothing and writes nothing.
		before := len(e.actions())
		if again := e.apply(cloudDoc, Options{}); len(again.Changes) != 0 || len(e.actions()) != before {
			t.Errorf("second apply:\n%s", again)
		}
	})
}

func TestApplyAccountsUpdate(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e, cl := cloudEnv(t, st)
		e.apply(cloudDoc, Options{})
		next := strings.NewReplacer(
			"session_duration: pt4h", "session_duration: PT8H",
			"  - {account: prod, permission_set: ReadOnly, group: Developers}\n", "  - {account: production, permission_set: ReadOnly, user: bob}\n",
			"    name: prod\n", "    name: Production\n",
			"{account: prod,", "{account: production,",
		).Replace(cloudDoc)
		plan := e.apply(next, Options{})
		want := []Change{
			{Op: OpUpdate, Kind: KindPermissionSet, Name: "ReadOnly", Fields: map[string]FieldChange{"session_duration": fc("PT4H", "PT8H")}},
			{Op: OpUpdate, Kind: KindAccount, Name: "Production", Fields: map[string]FieldChange{"name": fc("prod", "Production")},
				AssignmentsAdded: []string{"ReadOnly:user:bob"}, AssignmentsRemoved: []string{"ReadOnly:group:Developers"}},
		}
		if diff := cmp.Diff(want, cloudChanges(plan)); diff != "" {
			t.Errorf("cloud changes (-want +got):\n%s", diff)
		}
		if s := plan.String(); !strings.Contains(s, `~ account Production: name "prod" → "Production", assignments +ReadOnly:user:bob -ReadOnly:group:Developers`) {
			t.Errorf("plan text:\n%s", s)
		}
		if diff := cmp.Diff([]string{"Admin:user:alice", "ReadOnly:user:bob"}, accountAssignments(t, e, cl, "111111111111")); diff != "" {
			t.Errorf("assignments (-want +got):\n%s", diff)
		}
		if c := counted(e.actions()); c["account.unassign"] != 1 || c["account.update"] != 1 || c["permissionset.update"] != 1 {
			t.Errorf("audit actions: %v", c)
		}
	})
}

func TestExportApplyAccountsIsNoop(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e, cl := cloudEnv(t, st)
		e.handMade()
		e.apply(cloudDoc, Options{})
		// Objects made by hand, with every field set, join those of apply.
		if _, err := cl.CreateAccount(e.ctx, e.actor, cloud.Account{ID: "333333333333", Name: "Sandbox", Description: "  by hand ",
			STSEndpoint: "https://sts.example.com", SignInURL: "https://us-east-1.signin.aws.amazon.com/saml", DefaultRegion: "us-east-1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.CreatePermissionSet(e.ctx, e.actor, cloud.PermissionSet{Name: "Billing", SessionDuration: "PT12H",
			ManagedPolicies: []string{"arn:aws:iam::aws:policy/job-function/Billing", "arn:aws:iam::aws:policy/ReadOnlyAccess"},
			Boundary:        &cloud.Boundary{ManagedPolicyARN: "arn:aws:iam::aws:policy/PowerUserAccess"},
			Tags:            []cloud.Tag{{Key: "z", Value: "1"}, {Key: "a", Value: ""}},
			InlinePolicy:    `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}}`}); err != nil {
			t.Fatal(err)
		}
		for _, r := range []cloud.AssignRequest{
			{Account: "Sandbox", PermissionSet: "Billing", PrincipalType: "group", Principal: "Hand Group"},
			{Account: "Sandbox", PermissionSet: "ReadOnly", PrincipalType: "user", Principal: "hand"},
		} {
			if _, err := cl.Assign(e.ctx, e.actor, r); err != nil {
				t.Fatal(err)
			}
		}
		out := e.export()
		for _, want := range []string{"id: \"333333333333\"", "sts_endpoint: https://sts.example.com", "permissions_boundary:",
			"account: Sandbox", "saml_provider: idc\n", "session_duration: PT12H"} {
			if !strings.Contains(out, want) {
				t.Errorf("export lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "saml_provider: idcenter") || strings.Contains(out, "path: /\n") {
			t.Errorf("export writes defaults:\n%s", out)
		}
		d, err := Parse([]byte(out))
		if err != nil {
			t.Fatalf("Parse(export): %v\n%s", err, out)
		}
		before := len(e.actions())
		plan, err := e.svc.Apply(e.ctx, e.actor, d, Options{Prune: true})
		if err != nil {
			t.Fatalf("Apply(export): %v", err)
		}
		if len(plan.Changes) != 0 || len(e.actions()) != before {
			t.Errorf("apply of the export changed something:\n%s\n%s", plan, out)
		}
		if a, _ := cl.GetAccount(e.ctx, e.actor, "Sandbox"); a.ManagedBy != "" {
			t.Errorf("the hand-made account changed owner: %q", a.ManagedBy)
		}
	})
}

func TestApplyAccountsPrune(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e, cl := cloudEnv(t, st)
		if _, err := cl.CreateAccount(e.ctx, e.actor, cloud.Account{ID: "999999999999", Name: "hand"}); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.CreatePermissionSet(e.ctx, e.actor, cloud.PermissionSet{Name: "HandSet"}); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Assign(e.ctx, e.actor, cloud.AssignRequest{Account: "hand", PermissionSet: "HandSet", PrincipalType: "user", Principal: "root"}); err != nil {
			t.Fatal(err)
		}
		e.apply(cloudDoc, Options{})
		// Drop staging, Admin and their assignments: apply created them, so they go.
		doc := cloudDoc[:strings.Index(cloudDoc, "  - id: 222222222222")] + `permission_sets:
  - name: ReadOnly
    managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]
    session_duration: pt4h
    tags:
      - {key: team, value: platform}
account_assignments:
  - {account: prod, permission_set: ReadOnly, group: Developers}
`
		doc = strings.Replace(doc, "users:\n", "users:\n  - username: root\n    email: root@example.com\n    role: admin\n", 1)
		plan := e.apply(doc, Options{})
		want := []Change{
			{Op: OpUpdate, Kind: KindAccount, Name: "prod", AssignmentsRemoved: []string{"Admin:user:alice"}},
			{Op: OpDelete, Kind: KindAccount, Name: "staging"},
			{Op: OpDelete, Kind: KindPermissionSet, Name: "Admin"},
		}
		if diff := cmp.Diff(want, cloudChanges(plan)); diff != "" {
			t.Errorf("cloud changes (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"HandSet:user:root"}, accountAssignments(t, e, cl, "hand")); diff != "" {
			t.Errorf("the hand-made account's assignments changed (-want +got):\n%s", diff)
		}
		// With prune, the hand-made account and permission set go too.
		plan = e.apply(doc, Options{Prune: true})
		want = []Change{{Op: OpDelete, Kind: KindAccount, Name: "hand"}, {Op: OpDelete, Kind: KindPermissionSet, Name: "HandSet"}}
		if diff := cmp.Diff(want, cloudChanges(plan)); diff != "" {
			t.Errorf("cloud changes with prune (-want +got):\n%s", diff)
		}
		accts, _ := cl.ListAccounts(e.ctx, e.actor)
		sets, _ := cl.ListPermissionSets(e.ctx, e.actor)
		if len(accts) != 1 || accts[0].Name != "prod" || len(sets) != 1 || sets[0].Name != "ReadOnly" {
			t.Errorf("left: %v %v", accts, sets)
		}
		// A permission set an assignment uses cannot be dropped.
		_, err := e.applyErr(strings.Replace(doc, "  - name: ReadOnly\n    managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]\n    session_duration: pt4h\n    tags:\n      - {key: team, value: platform}\n", "", 1), Options{})
		if ps := problems(t, err); !slices.ContainsFunc(ps, func(p errs.FieldError) bool {
			return p.Field == "account_assignments[0].permission_set" && strings.Contains(p.Reason, "would be deleted")
		}) {
			t.Errorf("problems = %v", ps)
		}
	})
}

func TestApplyAccountsReject(t *testing.T) {
	for _, tc := range []struct {
		name    string
		doc     string
		wantErr []string // "field: reason substring"
	}{
		{name: "account fields", doc: `
accounts:
  - {id: "12345", name: short, sts_region: mars-1, sts_endpoint: "http://sts.example.com"}
  - {id: "111111111111", name: A}
  - {id: "111111111111", name: a}
  - {name: noid}
`, wantErr: []string{"accounts[0].id: must be a 12-digit", "accounts[0].sts_region: ", "accounts[0].sts_endpoint: must be an absolute https URL",
			"accounts[2].id: duplicate of accounts[1]", "accounts[2].name: duplicate of accounts[1]", "accounts[3].id: is required"}},
		{name: "permission set fields", doc: `
permission_sets:
  - name: Bad
    session_duration: PT13H
    managed_policies: [ReadOnlyAccess]
    inline_policy: '{"Version": "2012-10-17", "Statement": []}'
    permissions_boundary: {managed_policy_arn: "arn:aws:iam::aws:policy/X", customer_policy: {name: Y}}
  - name: "has space"
`, wantErr: []string{"permission_sets[0].session_duration: ", "permission_sets[0].managed_policies: ",
			"permission_sets[0].inline_policy: needs at least one Statement", "permission_sets[0].permissions_boundary: set either",
			"permission_sets[1].name: must be 1–32"}},
		{name: "assignments", doc: `
accounts:
  - {id: "111111111111", name: prod}
permission_sets:
  - {name: ReadOnly}
account_assignments:
  - {account: elsewhere, permission_set: ReadOnly, user: dave}
  - {account: prod, permission_set: Nope, user: dave}
  - {account: prod, permission_set: ReadOnly, user: ghost}
  - {account: prod, permission_set: ReadOnly, group: Ghosts}
  - {account: prod, permission_set: ReadOnly, user: dave, group: Ghosts}
  - {account: prod, permission_set: ReadOnly}
  - {account: prod, permission_set: readonly, user: dave}
  - {account: "111111111111", permission_set: ReadOnly, user: Dave}
`, wantErr: []string{"account_assignments[0].account: account \"elsewhere\" is not in the document's accounts",
			"account_assignments[1].permission_set: unknown permission set", "account_assignments[2].user: unknown user",
			"account_assignments[3].group: unknown group", "account_assignments[4]: give either user or group",
			"account_assignments[5]: give the user or the group", "account_assignments[7]: duplicate of account_assignments[6]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
				e, cl := cloudEnv(t, st)
				users, actions := e.usernames(), len(e.actions())
				_, err := e.applyErr("users:\n  - username: dave\n"+tc.doc, Options{})
				ps := problems(t, err)
				for _, want := range tc.wantErr {
					field, reason, _ := strings.Cut(want, ": ")
					if !slices.ContainsFunc(ps, func(p errs.FieldError) bool { return p.Field == field && strings.Contains(p.Reason, reason) }) {
						t.Errorf("no problem %q in %v", want, ps)
					}
				}
				accts, _ := cl.ListAccounts(e.ctx, e.actor)
				sets, _ := cl.ListPermissionSets(e.ctx, e.actor)
				if diff := cmp.Diff(users, e.usernames()); diff != "" || len(e.actions()) != actions || len(accts)+len(sets) != 0 {
					t.Errorf("something was written: users %s, actions %d → %d, accounts %v, sets %v", diff, actions, len(e.actions()), accts, sets)
				}
			})
		})
	}
}

func TestApplyAccountsWithoutCloud(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st) // no cloud service
		_, err := e.applyErr("accounts:\n  - {id: \"111111111111\", name: prod}\n", Options{})
		if ps := problems(t, err); len(ps) != 1 || ps[0].Field != "accounts" {
			t.Errorf("problems = %v", ps)
		}
	})
}

func TestInlinePolicyFile(t *testing.T) {
	dir := t.TempDir()
	policy := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "s3.json"), []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Parse([]byte("permission_sets:\n  - name: S3\n    inline_policy_file: s3.json\n  - name: Both\n    inline_policy: '{}'\n    inline_policy_file: s3.json\n  - name: Missing\n    inline_policy_file: nope.json\n"))
	if err != nil {
		t.Fatal(err)
	}
	ps := problems(t, d.ResolveFiles(dir))
	if got := fields(ps); !slices.Equal(got, []string{"permission_sets[1].inline_policy_file", "permission_sets[2].inline_policy_file"}) {
		t.Errorf("problems = %v", ps)
	}
	if d.PermissionSets[0].InlinePolicy != policy {
		t.Errorf("inline policy = %q", d.PermissionSets[0].InlinePolicy)
	}
	// Unread, the file is a problem of the document.
	d, _ = Parse([]byte("permission_sets:\n  - name: S3\n    inline_policy_file: s3.json\n"))
	if ps := problems(t, d.Validate()); len(ps) != 1 || ps[0].Field != "permission_sets[0].inline_policy_file" {
		t.Errorf("unread file: %v", ps)
	}
}

func TestParseCloudKeys(t *testing.T) {
	_, err := Parse([]byte("accounts:\n  - id: \"111111111111\"\n    name: prod\n    region: eu-west-1\naccount_assignments:\n  - {account: prod, permissionSet: X}\n"))
	got := fields(problems(t, err))
	if !slices.Equal(got, []string{"account_assignments[0].permissionSet", "accounts[0].region"}) {
		t.Errorf("problems = %v", got)
	}
}
