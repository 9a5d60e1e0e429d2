package iac_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/iac"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

var (
	admin   = audit.Actor{Type: audit.ActorUser, ID: "a", Name: "root", Role: audit.RoleAdmin}
	auditor = audit.Actor{Type: audit.ActorUser, ID: "w", Name: "watcher", Role: audit.RoleAuditor}
)

// metadata is a MetadataSource whose document the test switches, as a
// certificate rotation does.
type metadata struct {
	mu  sync.Mutex
	doc []byte
}

func (m *metadata) set(b []byte) { m.mu.Lock(); m.doc = b; m.mu.Unlock() }

func (m *metadata) IdPMetadata(context.Context, audit.Actor, cloud.Account) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.doc, nil
}

func details(d iac.Drift) string {
	var s []string
	for _, x := range d.Differences {
		s = append(s, x.Kind+" "+x.Role+": "+x.Detail)
	}
	return strings.Join(s, "\n")
}

func TestDrift(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		dir := &directory.Service{Store: st.Directory()}
		cl := &cloud.Service{Store: st.Cloud()}
		md := &metadata{doc: readFile(t, "metadata.xml")}
		svc := &iac.Service{Model: cl, Metadata: md, Store: st.IaC()}

		if _, err := dir.CreateGroup(ctx, admin, directory.Group{DisplayName: "Developers"}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.CreateAccount(ctx, admin, cloud.Account{ID: "111111111111", Name: "prod"}); err != nil {
			t.Fatal(err)
		}
		for _, p := range []cloud.PermissionSet{
			{Name: "ReadOnly", ManagedPolicies: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}, SessionDuration: "PT4H"},
			{Name: "Admin", ManagedPolicies: []string{"arn:aws:iam::aws:policy/AdministratorAccess"}},
		} {
			if _, err := cl.CreatePermissionSet(ctx, admin, p); err != nil {
				t.Fatal(err)
			}
		}
		assign := func(ps string) {
			t.Helper()
			for _, g := range []string{"Developers"} {
				if _, err := cl.Assign(ctx, admin, cloud.AssignRequest{Account: "prod", PermissionSet: ps, PrincipalType: "group", Principal: g}); err != nil {
					t.Fatal(err)
				}
			}
		}
		assign("ReadOnly")
		drift := func(want ...string) iac.Drift {
			t.Helper()
			d, err := svc.Drift(ctx, auditor, "prod")
			if err != nil {
				t.Fatal(err)
			}
			got := details(d)
			if d.InSync != (len(want) == 0) || len(d.Differences) != len(want) {
				t.Fatalf("drift (inSync %v):\n%s\nwant %d differences %q", d.InSync, got, len(want), want)
			}
			for _, w := range want {
				if !strings.Contains(got, w) {
					t.Errorf("drift lacks %q:\n%s", w, got)
				}
			}
			return d
		}

		drift("not-rendered : never rendered")
		// An auditor may read the documents without moving the baseline.
		if doc, err := svc.Render(ctx, auditor, "prod", ""); err != nil || doc.Recorded || !strings.Contains(string(doc.Body), "AWS::IAM::Role") {
			t.Errorf("auditor render: %v %v", doc.Recorded, err)
		}
		drift("not-rendered : never rendered")
		if _, err := svc.Render(ctx, audit.Actor{Type: audit.ActorToken, Role: audit.RoleSCIM}, "prod", ""); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("scim render: %v", err)
		}
		doc, err := svc.Render(ctx, admin, "prod", "terraform")
		if err != nil {
			t.Fatal(err)
		}
		if doc.FileName != "idcenter-iam-111111111111.tf.json" || !strings.Contains(string(doc.Body), "idcenter-ReadOnly") ||
			strings.Contains(string(doc.Body), "idcenter-Admin") {
			t.Fatalf("render: %s %s", doc.FileName, doc.Body)
		}
		d := drift()
		if !d.Rendered || d.Format != "terraform" || d.RenderedBy != "root" || d.RecordedDigest != d.CurrentDigest {
			t.Errorf("record: %+v", d)
		}
		// Rendering the same model in another format records the same state.
		if _, err := svc.Render(ctx, admin, "111111111111", "cloudformation"); err != nil {
			t.Fatal(err)
		}
		drift()

		// A new assignment adds a role.
		assign("Admin")
		drift("role-added idcenter-Admin: role added")

		if _, err := svc.Render(ctx, admin, "prod", "cloudformation"); err != nil {
			t.Fatal(err)
		}
		drift()

		// A policy and the session duration change.
		if _, err := cl.UpdatePermissionSet(ctx, admin, "ReadOnly", 0, func(p *cloud.PermissionSet) error {
			p.ManagedPolicies = []string{"arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"}
			p.InlinePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}`
			p.SessionDuration = "PT2H"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		drift("session duration changed from 4h to 2h",
			"managed policy arn:aws:iam::aws:policy/job-function/ViewOnlyAccess attached",
			"managed policy arn:aws:iam::aws:policy/ReadOnlyAccess detached",
			"inline policy added")
		if _, err := svc.Render(ctx, admin, "prod", "cloudformation"); err != nil {
			t.Fatal(err)
		}

		// Certificate rotation: the application publishes a next
		// certificate, so the provider must get the new metadata.
		md.set(readFile(t, "metadata-rotating.xml"))
		drift("re-apply: provider metadata changed (signing certificate SHA256")
		doc, err = svc.Render(ctx, admin, "prod", "cloudformation")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc.Body), "KeyDescriptor use=\\\"signing\\\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>MII") {
			t.Errorf("rendered metadata is not the rotated one")
		}
		drift()

		// Removing the assignment removes the role; all accounts at once.
		if _, err := cl.Unassign(ctx, admin, cloud.AssignRequest{Account: "prod", PermissionSet: "Admin", PrincipalType: "group", Principal: "Developers"}); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.CreateAccount(ctx, admin, cloud.Account{ID: "222222222222", Name: "dev"}); err != nil {
			t.Fatal(err)
		}
		all, err := svc.DriftAll(ctx, auditor)
		if err != nil || len(all) != 2 {
			t.Fatalf("all: %+v %v", all, err)
		}
		if all[0].AccountName != "dev" || all[0].Differences[0].Kind != iac.DiffNotRendered ||
			all[1].AccountName != "prod" || details(all[1]) != "role-removed idcenter-Admin: role removed (permission set Admin is no longer assigned in the account)" {
			t.Errorf("all:\n%s\n%s", details(all[0]), details(all[1]))
		}

		// The record goes with the account.
		if err := cl.DeleteAccount(ctx, admin, "prod"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.IaC().GetIAMRender(ctx, "111111111111"); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("record after delete: %v", err)
		}
	})
}

func TestCompare(t *testing.T) {
	base, err := iac.Summarize(fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	if d := iac.Compare(base, base); len(d) != 0 {
		t.Errorf("same state: %v", d)
	}
	in := fixture(t)
	in.Account.SAMLProvider = "corp"
	in.Account.SignInURL = "https://eu-west-1.signin.aws.amazon.com/saml"
	in.PermissionSets[1].Tags = []cloud.Tag{{Key: "team", Value: "platform"}, {Key: "env", Value: "prod"}}
	in.PermissionSets[1].Boundary = nil
	in.PermissionSets[1].InlinePolicy = ""
	in.PermissionSets[2].Name = "Finance"
	cur, err := iac.Summarize(in)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range iac.Compare(base, cur) {
		got = append(got, d.Kind+" "+d.Role+": "+d.Detail)
	}
	want := []string{
		"provider : re-apply: SAML provider renamed from idcenter to corp (every role's trust policy names it)",
		"provider : re-apply: trust policies' SAML:aud changed from https://signin.aws.amazon.com/saml to https://eu-west-1.signin.aws.amazon.com/saml",
		"role-removed idcenter-Billing: role removed (permission set Billing is no longer assigned in the account)",
		"role-added idcenter-Finance: role added (permission set Finance is now assigned in the account)",
		"role-changed ops-admin: inline policy removed",
		"role-changed ops-admin: permissions boundary arn:aws:iam::111111111111:policy/boundary removed",
		"role-changed ops-admin: tag cost-center removed",
		"role-changed ops-admin: tag env=prod added",
		"role-changed ops-admin: tag team changed from ops to platform",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("differences:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The metadata's validUntil and signature are not drift.
	later := fixture(t)
	later.Metadata = []byte(strings.Replace(string(later.Metadata), `validUntil="2030-01-08T00:00:00Z"`, `validUntil="2030-01-15T00:00:00Z"`, 1))
	ls, _ := iac.Summarize(later)
	if ls.Digest() != base.Digest() {
		t.Errorf("validUntil changed the digest")
	}
}
