package directory_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

// TestConcurrentRename: two admins rename the same group at once, both
// having read version N and passing If-Match N. Exactly one wins; the other
// gets a stale conflict, never a silent overwrite.
//
// Both goroutines meet at a barrier inside mutate, after their transaction
// has read the group, so on PostgreSQL both really hold version N when they
// write and the guarded UPDATE decides. SQLite has one writer, so the second
// transaction cannot start until the first ends; there the barrier gives up
// quickly and the version check decides.
func TestConcurrentRename(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc := newService(s)
		ctx := context.Background()
		g := mustCreateGroup(t, svc, "contested")
		wait := 5 * time.Second
		if s.Dialect().Name == "sqlite" {
			wait = 20 * time.Millisecond
		}
		for round := range 5 {
			cur, err := svc.GetGroup(ctx, admin, g.ID)
			if err != nil {
				t.Fatal(err)
			}
			var arrived atomic.Int32
			both := make(chan struct{})
			names := [2]string{fmt.Sprintf("round %d left", round), fmt.Sprintf("round %d right", round)}
			var results [2]error
			var wg sync.WaitGroup
			for i := range 2 {
				wg.Go(func() {
					_, results[i] = svc.UpdateGroup(ctx, admin, g.ID, cur.Version, func(g *directory.Group) error {
						if arrived.Add(1) == 2 {
							close(both)
						}
						select {
						case <-both:
						case <-time.After(wait):
						}
						g.DisplayName = names[i]
						return nil
					})
				})
			}
			wg.Wait()
			if s.Dialect().Name == "postgres" && arrived.Load() != 2 {
				t.Errorf("round %d: only %d writers read version %d; the race was not exercised", round, arrived.Load(), cur.Version)
			}
			winner := -1
			for i, err := range results {
				if err == nil {
					if winner >= 0 {
						t.Fatalf("round %d: both renames succeeded", round)
					}
					winner = i
					continue
				}
				wantStale(t, err, "group")
			}
			if winner < 0 {
				t.Fatalf("round %d: no rename succeeded: %v", round, results)
			}
			after, err := svc.GetGroup(ctx, admin, g.ID)
			if err != nil {
				t.Fatal(err)
			}
			if after.DisplayName != names[winner] || after.Version != cur.Version+1 {
				t.Errorf("round %d: group is %q version %d, want %q version %d", round, after.DisplayName, after.Version, names[winner], cur.Version+1)
			}
		}
		var updates int
		for _, e := range events(t, s) {
			if e.Action == "group.update" {
				updates++
			}
		}
		if updates != 5 {
			t.Errorf("group.update events = %d, want 5 (one per winner)", updates)
		}
	})
}

// TestConcurrentAddMembers: many admins add different users to one group at
// once; no addition is lost and each is audited once.
func TestConcurrentAddMembers(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc := newService(s)
		ctx := context.Background()
		const n = 12
		g := mustCreateGroup(t, svc, "crowd")
		var want []string
		for i := range n {
			u := mustCreateUser(t, svc, directory.User{UserName: fmt.Sprintf("member-%02d", i), Active: true})
			want = append(want, u.UserName)
		}
		start := make(chan struct{})
		errc := make(chan error, 2*n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				_, err := svc.AddMembers(ctx, admin, g.ID, []string{want[i]})
				errc <- err
			})
			// Everyone also adds member-00: it must end up there once.
			wg.Go(func() {
				<-start
				_, err := svc.AddMembers(ctx, admin, g.ID, []string{want[0]})
				errc <- err
			})
		}
		close(start)
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Errorf("AddMembers: %v", err)
			}
		}
		ms, _, err := svc.ListMembers(ctx, admin, g.ID, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range ms {
			got = append(got, m.UserName)
		}
		sort.Strings(got)
		if d := diff(want, got); d != "" {
			t.Errorf("members (-want +got):\n%s", d)
		}
		after, err := svc.GetGroup(ctx, admin, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.MemberCount != n || after.Version != g.Version+n {
			t.Errorf("group has %d members, version %d; want %d, %d (one bump per member)", after.MemberCount, after.Version, n, g.Version+n)
		}
		var adds int
		for _, e := range events(t, s) {
			if e.Action == "group.member.add" {
				adds++
			}
		}
		if adds != n {
			t.Errorf("group.member.add events = %d, want %d", adds, n)
		}
	})
}

// TestConcurrentLastAdmins: the two remaining admins are disabled or deleted
// at the same moment by two requests. Each request alone would be allowed,
// both together would leave no administrator: exactly one must be refused.
func TestConcurrentLastAdmins(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc := newService(s)
		ctx := context.Background()
		wait := 5 * time.Second
		if s.Dialect().Name == "sqlite" {
			wait = 20 * time.Millisecond // one writer: the second cannot start until the first ends
		}
		disable := func(u *directory.User) { u.Active = false }
		demote := func(u *directory.User) { u.Role = directory.RoleAuditor }
		var previous []string
		for round, ops := range [][2]func(*directory.User){
			{disable, disable},
			{disable, demote},
			{demote, nil}, // nil: delete
			{nil, nil},
		} {
			names := [2]string{fmt.Sprintf("admin-%d-a", round), fmt.Sprintf("admin-%d-b", round)}
			for _, n := range names {
				mustCreateUser(t, svc, directory.User{UserName: n, Role: directory.RoleAdmin, Active: true})
			}
			// The previous round's survivor goes, so these two are the only
			// active admins.
			for _, n := range previous {
				if err := svc.DeleteUser(ctx, admin, n); err != nil && !errors.Is(err, errs.ErrNotFound) {
					t.Fatal(err)
				}
			}
			previous = names[:]
			var arrived atomic.Int32
			both := make(chan struct{})
			barrier := func() {
				if arrived.Add(1) == 2 {
					close(both)
				}
				select {
				case <-both:
				case <-time.After(wait):
				}
			}
			var results [2]error
			var wg sync.WaitGroup
			for i, op := range ops {
				wg.Go(func() {
					if op == nil {
						// Delete: meet at the barrier after the transaction
						// has read the user, as the updates do.
						results[i] = s.Directory().WithTx(ctx, func(tx directory.Tx) error {
							u, err := tx.GetUserByUserName(ctx, names[i])
							if err != nil {
								return err
							}
							barrier()
							return svc.DeleteUserTx(ctx, tx, admin, u)
						})
						return
					}
					_, results[i] = svc.UpdateUser(ctx, admin, names[i], 0, func(u *directory.User) error {
						barrier()
						op(u)
						return nil
					})
				})
			}
			wg.Wait()
			if s.Dialect().Name == "postgres" && arrived.Load() != 2 {
				t.Errorf("round %d: the two changes did not overlap", round)
			}
			refused := 0
			for _, err := range results {
				if err != nil {
					wantFields(t, err, "role")
					refused++
				}
			}
			if refused != 1 {
				t.Errorf("round %d: %d of 2 changes refused, want exactly 1 (%v)", round, refused, results)
			}
			if n, err := s.CountAdmins(ctx); err != nil || n != 1 {
				t.Fatalf("round %d: active admins = %d, %v; want 1", round, n, err)
			}
		}
	})
}
