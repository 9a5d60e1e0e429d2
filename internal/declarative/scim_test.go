package declarative

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

// provisioned adds a user and a group the way the SCIM server does:
// managed by SCIM.
func (e *env) provisioned() {
	e.t.Helper()
	if _, err := e.dir.CreateUser(e.ctx, audit.System, directory.User{UserName: "synced", Active: true,
		Emails: []directory.MultiValue{{Value: "synced@example.com"}}, ManagedBy: directory.ManagedBySCIM}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.dir.CreateGroup(e.ctx, audit.System, directory.Group{DisplayName: "Synced Group", ManagedBy: directory.ManagedBySCIM},
		[]string{"synced", "alice"}); err != nil {
		e.t.Fatal(err)
	}
}

// TestApplyKeepsSCIMProvisioned: apply neither deletes (even with prune)
// nor takes over users and groups an identity provider provisioned.
func TestApplyKeepsSCIMProvisioned(t *testing.T) {
	withRoot := strings.Replace(baseDoc, "users:\n", "users:\n  - {username: root, email: root@example.com, role: admin}\n", 1)
	for _, tc := range []struct {
		name   string
		doc    string
		opts   Options
		want   []Change
		users  []string
		groups []string
		check  func(t *testing.T, e *env)
	}{
		{
			name: "prune deletes hand-made objects but not provisioned ones",
			doc:  withRoot,
			opts: Options{Prune: true},
			want: []Change{
				{Op: OpDelete, Kind: KindGroup, Name: "Hand Group"},
				{Op: OpDelete, Kind: KindUser, Name: "hand"},
			},
			users:  []string{"alice", "bob", "carol", "root", "synced"},
			groups: []string{"Developers", "Empty", "Synced Group"},
			check: func(t *testing.T, e *env) {
				if diff := cmp.Diff([]string{"alice", "synced"}, e.members("Synced Group")); diff != "" {
					t.Errorf("Synced Group members (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:   "without prune nothing unlisted is deleted",
			doc:    baseDoc,
			users:  []string{"alice", "bob", "carol", "hand", "root", "synced"},
			groups: []string{"Developers", "Empty", "Hand Group", "Synced Group"},
		},
		{
			name: "a provisioned user in the document is updated but stays provisioned",
			doc:  strings.Replace(withRoot, "groups:\n", "  - {username: synced, email: synced@example.com, title: Synced}\ngroups:\n", 1),
			opts: Options{Prune: true},
			want: []Change{
				{Op: OpUpdate, Kind: KindUser, Name: "synced", Fields: map[string]FieldChange{"title": fc("", "Synced")}},
				{Op: OpDelete, Kind: KindGroup, Name: "Hand Group"},
				{Op: OpDelete, Kind: KindUser, Name: "hand"},
			},
			users: []string{"alice", "bob", "carol", "root", "synced"},
			check: func(t *testing.T, e *env) {
				if u := e.user("synced"); u.ManagedBy != directory.ManagedBySCIM || u.Title != "Synced" {
					t.Errorf("synced: title %q, managed by %q", u.Title, u.ManagedBy)
				}
			},
		},
		{
			name: "a provisioned group in the document stays provisioned",
			doc:  baseDoc + "  - name: Synced Group\n    description: from the document\n    members: [synced]\n",
			want: []Change{{Op: OpUpdate, Kind: KindGroup, Name: "Synced Group",
				Fields: map[string]FieldChange{"description": fc("", "from the document")}, MembersRemoved: []string{"alice"}}},
			check: func(t *testing.T, e *env) {
				g, err := e.dir.GetGroup(e.ctx, e.actor, "Synced Group")
				if err != nil || g.ManagedBy != directory.ManagedBySCIM || g.Description != "from the document" {
					t.Errorf("Synced Group = %+v, %v", g, err)
				}
			},
		},
		{
			name: "with prune a provisioned user can still be a member and a manager",
			doc: strings.NewReplacer("members: [bob, alice]", "members: [bob, alice, synced]", "manager: alice", "manager: synced").
				Replace(withRoot),
			opts: Options{Prune: true},
			want: []Change{
				{Op: OpUpdate, Kind: KindUser, Name: "bob", Fields: map[string]FieldChange{"manager": fc("alice", "synced")}},
				{Op: OpUpdate, Kind: KindGroup, Name: "Developers", MembersAdded: []string{"synced"}},
				{Op: OpDelete, Kind: KindGroup, Name: "Hand Group"},
				{Op: OpDelete, Kind: KindUser, Name: "hand"},
			},
			users: []string{"alice", "bob", "carol", "root", "synced"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
				e := newEnv(t, st)
				e.apply(baseDoc, Options{})
				e.handMade()
				e.provisioned()
				dry := e.apply(tc.doc, Options{DryRun: true, Prune: tc.opts.Prune})
				plan := e.apply(tc.doc, tc.opts)
				if diff := cmp.Diff(tc.want, plan.Changes, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("plan (-want +got):\n%s\n%s", diff, plan)
				}
				if diff := cmp.Diff(plan.Changes, dry.Changes, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("dry-run plan differs (-applied +dry):\n%s", diff)
				}
				if tc.users != nil {
					if diff := cmp.Diff(tc.users, e.usernames()); diff != "" {
						t.Errorf("users (-want +got):\n%s", diff)
					}
				}
				if tc.groups != nil {
					if diff := cmp.Diff(tc.groups, e.groupNames()); diff != "" {
						t.Errorf("groups (-want +got):\n%s", diff)
					}
				}
				if tc.check != nil {
					tc.check(t, e)
				}
				if again := e.apply(tc.doc, tc.opts); len(again.Changes) != 0 {
					t.Errorf("applying again plans changes:\n%s", again)
				}
			})
		})
	}
}
