package declarative

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// baseDoc is the document most tests start from.
const baseDoc = `
version: 1
users:
  - username: alice
    email: alice@example.com
    given_name: Alice
    family_name: Smith
    display_name: Alice Smith
    title: CTO
    role: admin
  - username: bob
    email: bob@example.com
    given_name: Bob
    manager: alice
    department: Engineering
  - username: carol
    email: carol@example.com
    active: false
groups:
  - name: Developers
    description: People who write code
    members: [bob, alice]
  - name: Empty
`

// env is one directory with a hand-made administrator, root, who applies.
type env struct {
	t     *testing.T
	ctx   context.Context
	st    *sqlstore.Store
	dir   *directory.Service
	apps  *apps.Service
	svc   *Service
	actor audit.Actor
}

func newEnv(t *testing.T, st *sqlstore.Store) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), st: st, dir: &directory.Service{Store: st.Directory()}}
	e.apps = &apps.Service{Store: st.Apps(), Keys: testKeyring(t), GenerateKey: testKey}
	e.svc = &Service{Directory: e.dir, Store: st.Directory(), Apps: e.apps}
	root, err := e.dir.CreateUser(e.ctx, audit.System, directory.User{
		UserName: "root", Active: true, Role: directory.RoleAdmin, Emails: []directory.MultiValue{{Value: "root@example.com"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.actor = audit.Actor{Type: audit.ActorUser, ID: root.ID, Name: root.UserName, Role: audit.RoleAdmin}
	return e
}

// handMade adds a user and a group the way an administrator would by hand.
func (e *env) handMade() {
	e.t.Helper()
	if _, err := e.dir.CreateUser(e.ctx, e.actor, directory.User{UserName: "hand", Active: true,
		Emails: []directory.MultiValue{{Value: "hand@example.com"}}}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.dir.CreateGroup(e.ctx, e.actor, directory.Group{DisplayName: "Hand Group"}, []string{"hand"}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) applyErr(doc string, opts Options) (Plan, error) {
	e.t.Helper()
	d, err := Parse([]byte(doc))
	if err != nil {
		e.t.Fatalf("Parse: %v", err)
	}
	return e.svc.Apply(e.ctx, e.actor, d, opts)
}

func (e *env) apply(doc string, opts Options) Plan {
	e.t.Helper()
	p, err := e.applyErr(doc, opts)
	if err != nil {
		e.t.Fatalf("Apply: %v", err)
	}
	return p
}

func (e *env) user(name string) directory.User {
	e.t.Helper()
	u, err := e.dir.GetUser(e.ctx, e.actor, name)
	if err != nil {
		e.t.Fatalf("GetUser(%s): %v", name, err)
	}
	return u
}

func (e *env) usernames() []string {
	e.t.Helper()
	users, err := listUsers(e.ctx, e.st.Directory())
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, u := range users {
		out = append(out, u.UserName)
	}
	return out
}

func (e *env) groupNames() []string {
	e.t.Helper()
	groups, err := listGroups(e.ctx, e.st.Directory())
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, g := range groups {
		out = append(out, g.DisplayName)
	}
	return out
}

func (e *env) members(group string) []string {
	e.t.Helper()
	ms, _, err := e.dir.ListMembers(e.ctx, e.actor, group, "", 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, m.UserName)
	}
	return out
}

// actions returns the audit actions recorded so far, oldest first.
func (e *env) actions() []string {
	e.t.Helper()
	evs, _, err := e.st.ListAudit(e.ctx, audit.Filter{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for i := len(evs) - 1; i >= 0; i-- {
		out = append(out, evs[i].Action)
	}
	return out
}

func (e *env) export() string {
	e.t.Helper()
	doc, err := e.svc.Export(e.ctx, e.actor)
	if err != nil {
		e.t.Fatalf("Export: %v", err)
	}
	b, err := doc.Marshal()
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// counted turns a list of actions into counts, for order-insensitive checks.
func counted(actions []string) map[string]int {
	out := map[string]int{}
	for _, a := range actions {
		out[a]++
	}
	return out
}

func fc(from, to string) FieldChange { return FieldChange{From: from, To: to} }

var basePlan = []Change{
	{Op: OpCreate, Kind: KindUser, Name: "alice", Fields: map[string]FieldChange{
		"email": fc("", "alice@example.com"), "given_name": fc("", "Alice"), "family_name": fc("", "Smith"),
		"display_name": fc("", "Alice Smith"), "title": fc("", "CTO"), "role": fc("", "admin")}},
	{Op: OpCreate, Kind: KindUser, Name: "bob", Fields: map[string]FieldChange{
		"email": fc("", "bob@example.com"), "given_name": fc("", "Bob"), "manager": fc("", "alice"), "department": fc("", "Engineering")}},
	{Op: OpCreate, Kind: KindUser, Name: "carol", Fields: map[string]FieldChange{
		"email": fc("", "carol@example.com"), "active": fc("", "false")}},
	{Op: OpCreate, Kind: KindGroup, Name: "Developers", Fields: map[string]FieldChange{"description": fc("", "People who write code")},
		MembersAdded: []string{"alice", "bob"}},
	{Op: OpCreate, Kind: KindGroup, Name: "Empty"},
}

func TestApplyFromEmpty(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		before := len(e.actions())
		plan := e.apply(baseDoc, Options{})
		if diff := cmp.Diff(Plan{Changes: basePlan, Applied: true}, plan); diff != "" {
			t.Errorf("plan (-want +got):\n%s", diff)
		}
		golden(t, "plan_create.txt", plan.String()+"\n")

		if diff := cmp.Diff([]string{"alice", "bob", "carol", "root"}, e.usernames()); diff != "" {
			t.Errorf("users (-want +got):\n%s", diff)
		}
		alice, bob, carol := e.user("alice"), e.user("bob"), e.user("carol")
		for _, u := range []directory.User{alice, bob, carol} {
			if u.ManagedBy != directory.ManagedByApply {
				t.Errorf("%s.ManagedBy = %q, want %q", u.UserName, u.ManagedBy, directory.ManagedByApply)
			}
		}
		if bob.Enterprise.ManagerID != alice.ID {
			t.Errorf("bob's manager = %q, want alice (%s)", bob.Enterprise.ManagerID, alice.ID)
		}
		if carol.Active || alice.Role != directory.RoleAdmin || bob.PrimaryEmail() != "bob@example.com" {
			t.Errorf("carol.Active = %v, alice.Role = %q, bob's email = %q", carol.Active, alice.Role, bob.PrimaryEmail())
		}
		if diff := cmp.Diff([]string{"alice", "bob"}, e.members("Developers")); diff != "" {
			t.Errorf("Developers members (-want +got):\n%s", diff)
		}
		want := map[string]int{"user.create": 3, "group.create": 2, "group.member.add": 2, ActionApply: 1}
		actions := e.actions()[before:]
		if diff := cmp.Diff(want, counted(actions)); diff != "" {
			t.Errorf("audit actions (-want +got):\n%s", diff)
		}
		if actions[len(actions)-1] != ActionApply {
			t.Errorf("last action = %q, want %q", actions[len(actions)-1], ActionApply)
		}
	})
}

func TestApplyDryRun(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		users, actions := e.usernames(), e.actions()
		plan := e.apply(baseDoc, Options{DryRun: true})
		if diff := cmp.Diff(Plan{Changes: basePlan}, plan); diff != "" {
			t.Errorf("dry-run plan (-want +got):\n%s", diff)
		}
		if !strings.HasSuffix(plan.String(), "Plan: 5 to create, 0 to update, 0 to delete.") {
			t.Errorf("String:\n%s", plan)
		}
		if diff := cmp.Diff(users, e.usernames()); diff != "" {
			t.Errorf("dry run changed users (-before +after):\n%s", diff)
		}
		if diff := cmp.Diff(actions, e.actions()); diff != "" {
			t.Errorf("dry run wrote audit events (-before +after):\n%s", diff)
		}
		// A dry run on a populated directory plans exactly what apply does.
		e.apply(baseDoc, Options{})
		next := strings.Replace(baseDoc, "title: CTO", "title: CEO", 1)
		dry := e.apply(next, Options{DryRun: true})
		real := e.apply(next, Options{})
		dry.Applied = true
		if diff := cmp.Diff(real, dry); diff != "" {
			t.Errorf("dry-run plan differs from the applied one (-applied +dry):\n%s", diff)
		}
	})
}

func TestApplyTwiceIsNoop(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		e.handMade()
		e.apply(baseDoc, Options{})
		actions := e.actions()
		plan := e.apply(baseDoc, Options{})
		if diff := cmp.Diff(Plan{Changes: []Change{}, Applied: true}, plan); diff != "" {
			t.Errorf("second apply (-want +got):\n%s", diff)
		}
		if plan.String() != "No changes." {
			t.Errorf("String = %q", plan.String())
		}
		if diff := cmp.Diff(actions, e.actions()); diff != "" {
			t.Errorf("a no-op apply wrote audit events (-before +after):\n%s", diff)
		}
	})
}

// TestExportApplyIsNoop fills the directory by hand with everything the
// document does and does not model, exports it, and applies the export.
func TestExportApplyIsNoop(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		e.apply(baseDoc, Options{})
		e.handMade()
		must := func(_ any, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		temp, err := e.dir.CreateUser(e.ctx, e.actor, directory.User{UserName: "temp", Active: true})
		must(temp, err)
		must(e.dir.CreateUser(e.ctx, e.actor, directory.User{
			UserName: "Dave", Active: false, Role: directory.RoleAuditor, DisplayName: "Dave \"D\" O'Neil",
			Name:     directory.Name{GivenName: "Dave", FamilyName: "O'Neil", MiddleName: "Q", Formatted: "Dave Q. O'Neil", HonorificPrefix: "Dr."},
			NickName: "dq", ProfileURL: "https://example.com/dave", Title: "true", UserType: "Contractor", PreferredLanguage: "fr-CA",
			Locale: "fr_CA", Timezone: "America/Montreal", ExternalID: "00042",
			Emails:       []directory.MultiValue{{Value: "dave@home.example", Type: "home"}, {Value: "Dave@Example.com", Type: "work", Primary: true}},
			PhoneNumbers: []directory.MultiValue{{Value: "+1 555 0100", Type: "work"}},
			Addresses:    []directory.Address{{Locality: "Montréal", Country: "CA"}},
			Enterprise: directory.Enterprise{EmployeeNumber: "0123", CostCenter: "CC-1", Organization: "Org", Division: "Div",
				Department: "Dept", ManagerID: temp.ID},
		}))
		must(e.dir.CreateUser(e.ctx, e.actor, directory.User{UserName: "frank", Active: true, Enterprise: directory.Enterprise{ManagerID: "Dave"}}))
		must(e.dir.CreateGroup(e.ctx, e.actor, directory.Group{DisplayName: "ops: on-call", Description: "Pager\nrotation", ExternalID: "x-1"},
			[]string{"Dave", "frank", "alice", "hand"}))
		// Dave's manager is deleted: the export leaves it out.
		if err := e.dir.DeleteUser(e.ctx, e.actor, "temp"); err != nil {
			t.Fatal(err)
		}

		exported := e.export()
		golden(t, "export.yaml", exported)
		doc, err := Parse([]byte(exported))
		if err != nil {
			t.Fatalf("Parse(export): %v\n%s", err, exported)
		}
		actions := e.actions()
		for _, opts := range []Options{{DryRun: true}, {}, {Prune: true}} {
			plan, err := e.svc.Apply(e.ctx, e.actor, doc, opts)
			if err != nil {
				t.Fatalf("Apply(export, %+v): %v", opts, err)
			}
			if len(plan.Changes) != 0 {
				t.Errorf("Apply(export, %+v) plans changes:\n%s", opts, plan)
			}
		}
		if diff := cmp.Diff(actions, e.actions()); diff != "" {
			t.Errorf("applying the export wrote audit events (-before +after):\n%s", diff)
		}
		if diff := cmp.Diff(exported, e.export()); diff != "" {
			t.Errorf("export changed (-before +after):\n%s", diff)
		}
	})
}

// TestApplyKeepsUnmodelledAttributes updates a hand-made user through the
// document and checks what the document does not describe survives.
func TestApplyKeepsUnmodelledAttributes(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		if _, err := e.dir.CreateUser(e.ctx, e.actor, directory.User{
			UserName: "dave", Active: true, ProfileURL: "https://example.com/dave",
			Emails: []directory.MultiValue{
				{Value: "dave@old.example", Type: "work", Primary: true}, {Value: "dave@home.example", Type: "home"}, {Value: "dave@new.example"},
			},
			PhoneNumbers: []directory.MultiValue{{Value: "+1 555 0100"}},
		}); err != nil {
			t.Fatal(err)
		}
		plan := e.apply("users:\n  - username: dave\n    email: dave@new.example\n    title: Boss\n", Options{})
		want := []Change{{Op: OpUpdate, Kind: KindUser, Name: "dave", Fields: map[string]FieldChange{
			"email": fc("dave@old.example", "dave@new.example"), "title": fc("", "Boss")}}}
		if diff := cmp.Diff(want, plan.Changes); diff != "" {
			t.Errorf("plan (-want +got):\n%s", diff)
		}
		dave := e.user("dave")
		wantEmails := []directory.MultiValue{{Value: "dave@new.example", Type: "work", Primary: true}, {Value: "dave@home.example", Type: "home"}}
		if diff := cmp.Diff(wantEmails, dave.Emails); diff != "" {
			t.Errorf("emails (-want +got):\n%s", diff)
		}
		if dave.ProfileURL == "" || len(dave.PhoneNumbers) != 1 || dave.ManagedBy != directory.ManagedByHand {
			t.Errorf("dave lost attributes or changed owner: %+v", dave)
		}
		// Leaving dave out of the document keeps him: apply did not create him.
		if plan := e.apply("version: 1\n", Options{}); len(plan.Changes) != 0 {
			t.Errorf("plan without dave:\n%s", plan)
		}
	})
}

func TestApplyChanges(t *testing.T) {
	for _, tc := range []struct {
		name  string
		next  string
		opts  Options
		want  []Change
		users []string // usernames afterwards; nil skips the check
		check func(t *testing.T, e *env)
	}{
		{
			name: "field update shows from and to",
			next: strings.NewReplacer("bob@example.com", "bob@new.example", "department: Engineering", "department: Research").Replace(baseDoc),
			want: []Change{{Op: OpUpdate, Kind: KindUser, Name: "bob", Fields: map[string]FieldChange{
				"email": fc("bob@example.com", "bob@new.example"), "department": fc("Engineering", "Research")}}},
			check: func(t *testing.T, e *env) {
				if bob := e.user("bob"); bob.PrimaryEmail() != "bob@new.example" {
					got := bob.PrimaryEmail()
					t.Errorf("bob's email = %q", got)
				}
			},
		},
		{
			name: "omitted fields are cleared and active defaults to true",
			next: strings.NewReplacer("    title: CTO\n", "", "    active: false\n", "").Replace(baseDoc),
			want: []Change{
				{Op: OpUpdate, Kind: KindUser, Name: "alice", Fields: map[string]FieldChange{"title": fc("CTO", "")}},
				{Op: OpUpdate, Kind: KindUser, Name: "carol", Fields: map[string]FieldChange{"active": fc("false", "true")}},
			},
		},
		{
			name:  "a dropped apply-managed user is deleted, a hand-made one kept",
			next:  strings.Replace(baseDoc, "  - username: carol\n    email: carol@example.com\n    active: false\n", "", 1),
			want:  []Change{{Op: OpDelete, Kind: KindUser, Name: "carol"}},
			users: []string{"alice", "bob", "hand", "root"},
		},
		{
			name: "a dropped apply-managed group is deleted, a hand-made one kept",
			next: strings.Replace(baseDoc, "  - name: Empty\n", "", 1),
			want: []Change{{Op: OpDelete, Kind: KindGroup, Name: "Empty"}},
			check: func(t *testing.T, e *env) {
				if diff := cmp.Diff([]string{"Developers", "Hand Group"}, e.groupNames()); diff != "" {
					t.Errorf("groups (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "prune deletes hand-made objects",
			next: strings.Replace(baseDoc, "users:\n", "users:\n  - {username: root, email: root@example.com, role: admin}\n", 1),
			opts: Options{Prune: true},
			want: []Change{
				{Op: OpDelete, Kind: KindGroup, Name: "Hand Group"},
				{Op: OpDelete, Kind: KindUser, Name: "hand"},
			},
			users: []string{"alice", "bob", "carol", "root"},
		},
		{
			name: "membership add and remove",
			next: strings.Replace(baseDoc, "members: [bob, alice]", "members: [alice, carol]", 1),
			want: []Change{{Op: OpUpdate, Kind: KindGroup, Name: "Developers", MembersAdded: []string{"carol"}, MembersRemoved: []string{"bob"}}},
			check: func(t *testing.T, e *env) {
				if diff := cmp.Diff([]string{"alice", "carol"}, e.members("Developers")); diff != "" {
					t.Errorf("members (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "a hand-made group in the document gets the document's members",
			next: baseDoc + "  - name: hand group\n    members: [carol]\n",
			want: []Change{{Op: OpUpdate, Kind: KindGroup, Name: "hand group", Fields: map[string]FieldChange{"name": fc("Hand Group", "hand group")},
				MembersAdded: []string{"carol"}, MembersRemoved: []string{"hand"}}},
			check: func(t *testing.T, e *env) {
				g, err := e.dir.GetGroup(e.ctx, e.actor, "hand group")
				if err != nil || g.ManagedBy != directory.ManagedByHand {
					t.Errorf("hand group = %+v, %v; want it still hand-made", g, err)
				}
			},
		},
		{
			name: "names match case-insensitively and take the document's spelling",
			next: strings.Replace(baseDoc, "username: alice", "username: Alice", 1),
			want: []Change{{Op: OpUpdate, Kind: KindUser, Name: "Alice", Fields: map[string]FieldChange{"username": fc("alice", "Alice")}}},
		},
		{
			name: "a hand-made user in the document is updated and stays hand-made",
			next: baseDoc[:strings.Index(baseDoc, "groups:")] + "  - {username: hand, email: hand@example.com, title: Builder}\n" + baseDoc[strings.Index(baseDoc, "groups:"):],
			want: []Change{{Op: OpUpdate, Kind: KindUser, Name: "hand", Fields: map[string]FieldChange{"title": fc("", "Builder")}}},
			check: func(t *testing.T, e *env) {
				if got := e.user("hand").ManagedBy; got != directory.ManagedByHand {
					t.Errorf("hand.ManagedBy = %q", got)
				}
			},
		},
		{
			name: "renaming a user moves the email, manager and memberships",
			next: strings.NewReplacer("username: alice", "username: alice.smith", "manager: alice", "manager: alice.smith",
				"[bob, alice]", "[bob, alice.smith]").Replace(baseDoc),
			want: []Change{
				{Op: OpCreate, Kind: KindUser, Name: "alice.smith", Fields: map[string]FieldChange{
					"email": fc("", "alice@example.com"), "given_name": fc("", "Alice"), "family_name": fc("", "Smith"),
					"display_name": fc("", "Alice Smith"), "title": fc("", "CTO"), "role": fc("", "admin")}},
				{Op: OpUpdate, Kind: KindUser, Name: "bob", Fields: map[string]FieldChange{"manager": fc("alice", "alice.smith")}},
				{Op: OpUpdate, Kind: KindGroup, Name: "Developers", MembersAdded: []string{"alice.smith"}, MembersRemoved: []string{"alice"}},
				{Op: OpDelete, Kind: KindUser, Name: "alice"},
			},
			users: []string{"alice.smith", "bob", "carol", "hand", "root"},
			check: func(t *testing.T, e *env) {
				if e.user("bob").Enterprise.ManagerID != e.user("alice.smith").ID {
					t.Error("bob's manager is not alice.smith")
				}
				if diff := cmp.Diff([]string{"alice.smith", "bob"}, e.members("Developers")); diff != "" {
					t.Errorf("members (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "an email moves between users of the document",
			next: strings.NewReplacer("alice@example.com", "bob@example.com", "email: bob@example.com\n    given_name: Bob", "email: bob@new.example\n    given_name: Bob").Replace(baseDoc),
			want: []Change{
				{Op: OpUpdate, Kind: KindUser, Name: "alice", Fields: map[string]FieldChange{"email": fc("alice@example.com", "bob@example.com")}},
				{Op: OpUpdate, Kind: KindUser, Name: "bob", Fields: map[string]FieldChange{"email": fc("bob@example.com", "bob@new.example")}},
			},
			check: func(t *testing.T, e *env) {
				if alice := e.user("alice"); alice.PrimaryEmail() != "bob@example.com" {
					got := alice.PrimaryEmail()
					t.Errorf("alice's email = %q", got)
				}
			},
		},
		{
			name: "new users managing each other",
			next: baseDoc[:strings.Index(baseDoc, "groups:")] + "  - {username: x, manager: y}\n  - {username: y, manager: x}\n" + baseDoc[strings.Index(baseDoc, "groups:"):],
			want: []Change{
				{Op: OpCreate, Kind: KindUser, Name: "x", Fields: map[string]FieldChange{"manager": fc("", "y")}},
				{Op: OpCreate, Kind: KindUser, Name: "y", Fields: map[string]FieldChange{"manager": fc("", "x")}},
			},
			check: func(t *testing.T, e *env) {
				x, y := e.user("x"), e.user("y")
				if x.Enterprise.ManagerID != y.ID || y.Enterprise.ManagerID != x.ID {
					t.Errorf("x's manager = %q, y's = %q; want each other (%s, %s)", x.Enterprise.ManagerID, y.Enterprise.ManagerID, x.ID, y.ID)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
				e := newEnv(t, st)
				e.apply(baseDoc, Options{})
				e.handMade()
				dry := e.apply(tc.next, Options{DryRun: true, Prune: tc.opts.Prune})
				plan := e.apply(tc.next, tc.opts)
				if diff := cmp.Diff(tc.want, plan.Changes, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("plan (-want +got):\n%s\n%s", diff, plan)
				}
				if diff := cmp.Diff(plan.Changes, dry.Changes); diff != "" {
					t.Errorf("dry-run plan differs (-applied +dry):\n%s", diff)
				}
				if tc.users != nil {
					if diff := cmp.Diff(tc.users, e.usernames()); diff != "" {
						t.Errorf("users (-want +got):\n%s", diff)
					}
				}
				if tc.check != nil {
					tc.check(t, e)
				}
				if again := e.apply(tc.next, tc.opts); len(again.Changes) != 0 {
					t.Errorf("applying again plans changes:\n%s", again)
				}
			})
		})
	}
}

func TestApplyRejects(t *testing.T) {
	withUsers := func(extra string) string {
		i := strings.Index(baseDoc, "groups:")
		return baseDoc[:i] + extra + baseDoc[i:]
	}
	for _, tc := range []struct {
		name string
		doc  string
		opts Options
		want []string // problem fields, sorted
		// reason, when set, must appear in the first problem's reason.
		reason string
	}{
		{
			name: "one invalid email among valid users",
			doc:  withUsers("  - {username: dan, email: dan@example.com}\n  - {username: erin, email: not-an-email}\n  - {username: fay, email: fay@example.com}\n"),
			want: []string{"users[4].email"}, reason: "not a valid email",
		},
		{
			name: "invalid field of an existing user",
			doc:  strings.Replace(baseDoc, "given_name: Bob", "given_name: \""+strings.Repeat("b", 300)+"\"", 1),
			want: []string{"users[1].given_name"},
		},
		{
			name: "unknown member",
			doc:  strings.Replace(baseDoc, "[bob, alice]", "[bob, nobody, alice]", 1),
			want: []string{"groups[0].members[1]"}, reason: `unknown user "nobody"`,
		},
		{
			name: "member that would be deleted",
			doc:  strings.Replace(strings.Replace(baseDoc, "  - username: carol\n    email: carol@example.com\n    active: false\n", "", 1), "[bob, alice]", "[bob, carol]", 1),
			want: []string{"groups[0].members[1]"}, reason: "would be deleted",
		},
		{
			name: "unknown manager",
			doc:  strings.Replace(baseDoc, "manager: alice", "manager: nobody", 1),
			want: []string{"users[1].manager"},
		},
		{
			name: "duplicate usernames",
			doc:  withUsers("  - {username: ALICE}\n"),
			want: []string{"users[3].username"}, reason: "duplicate of users[0]",
		},
		{
			name: "duplicate group names",
			doc:  baseDoc + "  - name: developers\n",
			want: []string{"groups[2].name"},
		},
		{
			name: "duplicate emails",
			doc:  withUsers("  - {username: dan, email: Alice@Example.com}\n"),
			want: []string{"users[3].email"},
		},
		{
			name: "email of a user not in the document",
			doc:  withUsers("  - {username: dan, email: hand@example.com}\n"),
			want: []string{"users[3].email"}, reason: `user "hand"`,
		},
		{
			name: "emails swapped",
			doc:  strings.NewReplacer("alice@example.com", "bob@example.com", "email: bob@example.com\n    given_name: Bob", "email: alice@example.com\n    given_name: Bob").Replace(baseDoc),
			want: []string{"users[0].email", "users[1].email"}, reason: "cycle",
		},
		{
			name: "the last administrator demoted",
			doc:  strings.Replace(withUsers("  - {username: root, email: root@example.com}\n"), "role: admin", "", 1),
			want: []string{"users[3].role"}, reason: "last active administrator",
		},
		{
			name: "prune would delete the actor",
			doc:  baseDoc,
			opts: Options{Prune: true},
			want: []string{"users"}, reason: `"root" is your own account`,
		},
		{
			name: "many problems at once",
			doc: strings.NewReplacer("alice@example.com", "alice@", "[bob, alice]", "[bob, ghost]", "family_name: Smith", "family_name: \"\\x01\"",
				"version: 1", "version: 2").Replace(baseDoc),
			want: []string{"groups[0].members[1]", "users[0].email", "users[0].family_name", "version"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
				e := newEnv(t, st)
				e.apply(baseDoc, Options{})
				e.handMade()
				users, actions, exported := e.usernames(), e.actions(), e.export()
				for _, opts := range []Options{{DryRun: true, Prune: tc.opts.Prune}, tc.opts} {
					_, err := e.applyErr(tc.doc, opts)
					ps := problems(t, err)
					if diff := cmp.Diff(tc.want, fields(ps)); diff != "" {
						t.Errorf("%+v: problem fields (-want +got):\n%s\n%v", opts, diff, err)
					}
					if tc.reason != "" && !strings.Contains(ps[0].Reason, tc.reason) {
						t.Errorf("%+v: reason %q does not mention %q", opts, ps[0].Reason, tc.reason)
					}
				}
				if diff := cmp.Diff(users, e.usernames()); diff != "" {
					t.Errorf("users changed (-before +after):\n%s", diff)
				}
				if diff := cmp.Diff(actions, e.actions()); diff != "" {
					t.Errorf("audit events written (-before +after):\n%s", diff)
				}
				if diff := cmp.Diff(exported, e.export()); diff != "" {
					t.Errorf("directory changed (-before +after):\n%s", diff)
				}
			})
		})
	}
}

func TestRoles(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		e.apply(baseDoc, Options{})
		doc, _ := Parse([]byte(baseDoc))
		auditor := audit.Actor{Type: audit.ActorToken, ID: "t-1", Name: "ci", Role: audit.RoleAuditor}
		nobody := audit.Actor{Type: audit.ActorUser, ID: "u-1", Name: "someone"}
		if _, err := e.svc.Apply(e.ctx, auditor, doc, Options{DryRun: true}); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("auditor Apply: %v, want ErrForbidden", err)
		}
		if _, err := e.svc.Export(e.ctx, nobody); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("user Export: %v, want ErrForbidden", err)
		}
		got, err := e.svc.Export(e.ctx, auditor)
		if err != nil {
			t.Fatalf("auditor Export: %v", err)
		}
		names := []string{}
		for _, u := range got.Users {
			names = append(names, u.Username)
		}
		if !slices.Equal(names, []string{"alice", "bob", "carol", "root"}) {
			t.Errorf("exported users = %v", names)
		}
		// A token applying with prune owns no account, so root is pruned
		// like any other hand-made user (alice stays an administrator).
		ci := audit.Actor{Type: audit.ActorToken, ID: "t-2", Name: "deploy", Role: audit.RoleAdmin}
		plan, err := e.svc.Apply(e.ctx, ci, doc, Options{Prune: true})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]Change{{Op: OpDelete, Kind: KindUser, Name: "root"}}, plan.Changes); diff != "" {
			t.Errorf("plan (-want +got):\n%s", diff)
		}
		// The last active administrator cannot be pruned away.
		e.apply(strings.Replace(baseDoc, "users:\n", "users:\n  - {username: root2, role: admin}\n", 1), Options{})
		noAdmin, _ := Parse([]byte(strings.Replace(baseDoc, "role: admin", "", 1)))
		_, err = e.svc.Apply(e.ctx, ci, noAdmin, Options{Prune: true})
		if diff := cmp.Diff([]string{"users"}, fields(problems(t, err))); diff != "" || !strings.Contains(err.Error(), "last active administrator") {
			t.Errorf("pruning the last administrator: %v", err)
		}
	})
}
