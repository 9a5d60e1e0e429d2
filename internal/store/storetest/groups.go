package storetest

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
)

func testGroupGet(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	want := directory.Group{
		ID: newID(), DisplayName: "Ingénierie", Description: "Builds things; « quoted »",
		ExternalID: "ext-eng", ManagedBy: directory.ManagedByApply,
		Created: t0, LastModified: t0.Add(time.Minute + time.Microsecond), Version: 4,
	}
	insertGroups(t, s, want)
	for _, tc := range []struct {
		name string
		get  func() (directory.Group, error)
	}{
		{"by id", func() (directory.Group, error) { return s.GetGroup(ctx, want.ID) }},
		{"by name", func() (directory.Group, error) { return s.GetGroupByName(ctx, "Ingénierie") }},
		{"by name in upper case", func() (directory.Group, error) { return s.GetGroupByName(ctx, "INGÉNIERIE") }},
		{"by decomposed name", func() (directory.Group, error) { return s.GetGroupByName(ctx, "inge\u0301nierie") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.get()
			if err != nil {
				t.Fatal(err)
			}
			if d := diff(want, got); d != "" {
				t.Errorf("group (-want +got):\n%s", d)
			}
		})
	}
	_, err := s.GetGroup(ctx, newID())
	wantNotFound(t, err)
	_, err = s.GetGroupByName(ctx, "ingenierie")
	wantNotFound(t, err)
}

func testGroupUnique(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	eng, ops := newGroup("Engineering"), newGroup("Ops")
	insertGroups(t, s, eng, ops)
	renamed := ops
	renamed.DisplayName, renamed.Version = "ENGINEERING", 2
	for _, tc := range []struct {
		name  string
		write func(tx *sqlstore.Tx) error
		want  errs.Conflict
	}{
		{"same name", func(tx *sqlstore.Tx) error { return tx.InsertGroup(ctx, newGroup("Engineering")) },
			errs.Conflict{Kind: "group", Field: "displayName", Value: "Engineering"}},
		{"name in another case", func(tx *sqlstore.Tx) error { return tx.InsertGroup(ctx, newGroup("engineering")) },
			errs.Conflict{Kind: "group", Field: "displayName", Value: "engineering"}},
		{"rename onto an existing name", func(tx *sqlstore.Tx) error { return tx.UpdateGroup(ctx, renamed, 1) },
			errs.Conflict{Kind: "group", Field: "displayName", Value: "ENGINEERING"}},
	} {
		t.Run(tc.name, func(t *testing.T) { wantConflict(t, s.WithTx(ctx, tc.write), tc.want) })
	}
	gs, _, err := s.ListGroups(ctx, directory.GroupFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if d := diff([]directory.Group{eng, ops}, gs); d != "" {
		t.Errorf("groups after conflicts (-want +got):\n%s", d)
	}
}

func testGroupUpdateGuarded(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	g := newGroup("guarded")
	insertGroups(t, s, g)
	v2 := g
	v2.DisplayName, v2.Description, v2.ExternalID, v2.ManagedBy = "Guarded", "now described", "x-1", directory.ManagedByApply
	v2.Version, v2.LastModified = 2, t0.Add(time.Hour)
	inTx(t, s, func(tx *sqlstore.Tx) error { return tx.UpdateGroup(ctx, v2, 1) })
	for _, prev := range []int64{1, 3} {
		t.Run(fmt.Sprintf("stale version %d", prev), func(t *testing.T) {
			stale := v2
			stale.DisplayName, stale.Version = "lost update", prev+1
			err := s.WithTx(ctx, func(tx *sqlstore.Tx) error { return tx.UpdateGroup(ctx, stale, prev) })
			wantConflict(t, err, errs.Conflict{Kind: "group", Stale: true})
		})
	}
	got, err := s.GetGroup(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(v2, got); d != "" {
		t.Errorf("group (-want +got):\n%s", d)
	}
}

func testGroupList(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	var names []string
	for i := range 12 {
		names = append(names, fmt.Sprintf("Team %02d", i))
	}
	names = append(names, "50%_off", "50x_off", "Área")
	for _, n := range names {
		insertGroups(t, s, newGroup(n))
	}
	want := sortedNorm(names)

	groupNames := func(gs []directory.Group) []string {
		out := []string{}
		for _, g := range gs {
			out = append(out, g.DisplayName)
		}
		return out
	}
	list := func(t *testing.T, f directory.GroupFilter) ([]string, []int) {
		t.Helper()
		var got []string
		var sizes []int
		for range 100 {
			page, next, err := s.ListGroups(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			got, sizes = append(got, groupNames(page)...), append(sizes, len(page))
			if next == "" {
				return got, sizes
			}
			f.Cursor = next
		}
		t.Fatal("paging did not end")
		return nil, nil
	}
	t.Run("paging", func(t *testing.T) {
		got, sizes := list(t, directory.GroupFilter{Limit: 4})
		if d := diff(want, got); d != "" {
			t.Errorf("groups across pages (-want +got):\n%s", d)
		}
		if d := diff([]int{4, 4, 4, 3}, sizes); d != "" {
			t.Errorf("page sizes (-want +got):\n%s", d)
		}
	})

	alice, bob := newUser("alice"), newUser("bob")
	insertUsers(t, s, alice, bob)
	byName := func(n string) directory.Group {
		g, err := s.GetGroupByName(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	for _, n := range []string{"Team 03", "Team 07", "Área"} {
		addMembers(t, s, byName(n).ID, alice)
	}
	addMembers(t, s, byName("Team 07").ID, bob)

	for _, tc := range []struct {
		name   string
		filter directory.GroupFilter
		want   []string
	}{
		{"display name", directory.GroupFilter{DisplayName: "team 03"}, []string{"Team 03"}},
		{"display name, unicode case", directory.GroupFilter{DisplayName: "ÁREA"}, []string{"Área"}},
		{"prefix", directory.GroupFilter{Prefix: "team 1"}, []string{"Team 10", "Team 11"}},
		{"prefix metacharacters are literal", directory.GroupFilter{Prefix: "50%_"}, []string{"50%_off"}},
		{"member", directory.GroupFilter{MemberID: alice.ID}, []string{"Team 03", "Team 07", "Área"}},
		{"member and prefix", directory.GroupFilter{MemberID: alice.ID, Prefix: "team"}, []string{"Team 03", "Team 07"}},
		{"other member", directory.GroupFilter{MemberID: bob.ID}, []string{"Team 07"}},
		{"unknown member", directory.GroupFilter{MemberID: newID()}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.filter
			f.Limit = 2
			got, _ := list(t, f)
			if d := diff(sortedNorm(tc.want), got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func testGroupMembers(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	g := newGroup("members")
	insertGroups(t, s, g)
	alice, bob := newUser("alice"), newUser("bob")
	insertUsers(t, s, alice, bob)

	at := t0
	for i, st := range []struct {
		name        string
		op          func(tx *sqlstore.Tx) (bool, error)
		wantChanged bool
		wantMembers []string
	}{
		{"add alice", func(tx *sqlstore.Tx) (bool, error) { return tx.AddMember(ctx, g.ID, alice.ID, at) }, true, []string{"alice"}},
		{"add alice again", func(tx *sqlstore.Tx) (bool, error) { return tx.AddMember(ctx, g.ID, alice.ID, at) }, false, []string{"alice"}},
		{"add bob", func(tx *sqlstore.Tx) (bool, error) { return tx.AddMember(ctx, g.ID, bob.ID, at) }, true, []string{"alice", "bob"}},
		{"remove alice", func(tx *sqlstore.Tx) (bool, error) { return tx.RemoveMember(ctx, g.ID, alice.ID, at) }, true, []string{"bob"}},
		{"remove alice again", func(tx *sqlstore.Tx) (bool, error) { return tx.RemoveMember(ctx, g.ID, alice.ID, at) }, false, []string{"bob"}},
		{"remove a stranger", func(tx *sqlstore.Tx) (bool, error) { return tx.RemoveMember(ctx, g.ID, newID(), at) }, false, []string{"bob"}},
		{"remove bob", func(tx *sqlstore.Tx) (bool, error) { return tx.RemoveMember(ctx, g.ID, bob.ID, at) }, true, nil},
	} {
		t.Run(st.name, func(t *testing.T) {
			before, err := s.GetGroup(ctx, g.ID)
			if err != nil {
				t.Fatal(err)
			}
			at = t0.Add(time.Duration(i+1) * time.Minute)
			var changed bool
			inTx(t, s, func(tx *sqlstore.Tx) error {
				var err error
				changed, err = st.op(tx)
				return err
			})
			if changed != st.wantChanged {
				t.Errorf("changed = %v, want %v", changed, st.wantChanged)
			}
			after, err := s.GetGroup(ctx, g.ID)
			if err != nil {
				t.Fatal(err)
			}
			// A change bumps the version and the modification time, so
			// guarded writers (SCIM If-Match) see it; a no-op does not.
			want := before
			want.MemberCount = len(st.wantMembers)
			if st.wantChanged {
				want.Version, want.LastModified = before.Version+1, at
			}
			if d := diff(want, after); d != "" {
				t.Errorf("group (-want +got):\n%s", d)
			}
			ms, _, err := s.ListMembers(ctx, g.ID, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, m := range ms {
				names = append(names, m.UserName)
			}
			if d := diff(st.wantMembers, names); d != "" {
				t.Errorf("members (-want +got):\n%s", d)
			}
		})
	}
}

func testListMembersPaging(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	g, other := newGroup("big"), newGroup("other")
	insertGroups(t, s, g, other)
	var want []directory.Member
	var users []directory.User
	for i := range 9 {
		u := newUser(fmt.Sprintf("Member-%02d", 8-i))
		u.DisplayName = fmt.Sprintf("Member %d", 8-i)
		users = append(users, u)
		want = append(want, directory.Member{UserID: u.ID, UserName: u.UserName, DisplayName: u.DisplayName})
	}
	outsider := newUser("outsider")
	insertUsers(t, s, append(users, outsider)...)
	addMembers(t, s, g.ID, users...)
	addMembers(t, s, other.ID, outsider)
	sort.Slice(want, func(i, j int) bool {
		return directory.NormalizeUserName(want[i].UserName) < directory.NormalizeUserName(want[j].UserName)
	})

	for _, limit := range []int{1, 4, 9, 10} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			var got []directory.Member
			cursor := ""
			for range 20 {
				page, next, err := s.ListMembers(ctx, g.ID, cursor, limit)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > limit {
					t.Fatalf("page of %d, limit %d", len(page), limit)
				}
				got = append(got, page...)
				if next == "" {
					break
				}
				cursor = next
			}
			if d := diff(want, got); d != "" {
				t.Errorf("members (-want +got):\n%s", d)
			}
		})
	}
	ms, next, err := s.ListMembers(ctx, newID(), "", 10)
	if err != nil || len(ms) != 0 || next != "" {
		t.Errorf("members of an unknown group = %v, %q, %v", ms, next, err)
	}
}

func testGroupDeleteCascades(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	g, keep := newGroup("doomed"), newGroup("kept")
	insertGroups(t, s, g, keep)
	u := newUser("member")
	insertUsers(t, s, u)
	addMembers(t, s, g.ID, u)
	addMembers(t, s, keep.ID, u)

	inTx(t, s, func(tx *sqlstore.Tx) error { return tx.DeleteGroup(ctx, g.ID) })
	_, err := s.GetGroup(ctx, g.ID)
	wantNotFound(t, err)
	if n := countRows(t, s, `SELECT COUNT(*) FROM group_members WHERE group_id = $1`, g.ID); n != 0 {
		t.Errorf("memberships of the deleted group = %d, want 0", n)
	}
	if _, err := s.GetUser(ctx, u.ID); err != nil {
		t.Errorf("member was deleted with the group: %v", err)
	}
	gs, _, err := s.ListGroups(ctx, directory.GroupFilter{MemberID: u.ID, Limit: 10})
	if err != nil || len(gs) != 1 || gs[0].ID != keep.ID {
		t.Errorf("groups of the member = %+v, %v; want only %q", gs, err, keep.DisplayName)
	}
	err = s.WithTx(ctx, func(tx *sqlstore.Tx) error { return tx.DeleteGroup(ctx, g.ID) })
	wantNotFound(t, err)
	// The name is free again.
	insertGroups(t, s, newGroup("DOOMED"))
}
