package directory_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

// TestAuditTrail: every change writes exactly one event, in the same
// transaction, naming the actor, the action, the target and the request.
func TestAuditTrail(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc := newService(s)
		ctx := audit.WithRequest(context.Background(), audit.RequestInfo{RequestID: "req-42", ClientIP: "198.51.100.9"})
		const password = "correct horse battery staple"
		var alice directory.User
		var crew directory.Group
		updateAlice := func(f func(*directory.User)) error {
			_, err := svc.UpdateUser(ctx, admin, "alice", 0, func(u *directory.User) error { f(u); return nil })
			return err
		}
		for _, st := range []struct {
			action      string
			do          func() error
			target      func() (typ, id, name string)
			summaryKeys []string // fields the summary must name
		}{
			{"user.create", func() (err error) {
				alice, err = svc.CreateUser(ctx, admin, directory.User{UserName: "alice", Active: true, Emails: []mv{{Value: "alice@example.com"}}})
				return err
			}, func() (string, string, string) { return "user", alice.ID, "alice" }, []string{"userName", "emails", "active"}},
			{"user.update", func() error { return updateAlice(func(u *directory.User) { u.DisplayName = "Alice A." }) },
				func() (string, string, string) { return "user", alice.ID, "alice" }, []string{"displayName"}},
			{"user.disable", func() error { return updateAlice(func(u *directory.User) { u.Active = false }) },
				func() (string, string, string) { return "user", alice.ID, "alice" }, []string{"active"}},
			{"user.enable", func() error { return updateAlice(func(u *directory.User) { u.Active = true }) },
				func() (string, string, string) { return "user", alice.ID, "alice" }, []string{"active"}},
			{"user.password.set", func() error { return svc.SetPassword(ctx, admin, "alice", password) },
				func() (string, string, string) { return "user", alice.ID, "alice" }, nil},
			{"group.create", func() (err error) {
				crew, err = svc.CreateGroup(ctx, admin, directory.Group{DisplayName: "crew"}, nil)
				return err
			}, func() (string, string, string) { return "group", crew.ID, "crew" }, []string{"displayName"}},
			{"group.update", func() error {
				_, err := svc.UpdateGroup(ctx, admin, "crew", 0, func(g *directory.Group) error { g.Description = "the crew"; return nil })
				return err
			}, func() (string, string, string) { return "group", crew.ID, "crew" }, []string{"description"}},
			{"group.member.add", func() error { _, err := svc.AddMembers(ctx, admin, "crew", []string{"alice"}); return err },
				func() (string, string, string) { return "group", crew.ID, "crew" }, []string{"userId", "userName"}},
			{"group.member.remove", func() error { _, err := svc.RemoveMembers(ctx, admin, "crew", []string{alice.ID}); return err },
				func() (string, string, string) { return "group", crew.ID, "crew" }, []string{"userId", "userName"}},
			{"group.delete", func() error { return svc.DeleteGroup(ctx, admin, "crew") },
				func() (string, string, string) { return "group", crew.ID, "crew" }, nil},
			{"user.delete", func() error { return svc.DeleteUser(ctx, admin, "alice") },
				func() (string, string, string) { return "user", alice.ID, "alice" }, nil},
		} {
			t.Run(st.action, func(t *testing.T) {
				before := events(t, s)
				if err := st.do(); err != nil {
					t.Fatal(err)
				}
				after := events(t, s)
				if len(after) != len(before)+1 {
					t.Fatalf("events written = %v, want exactly one %s", actions(after[len(before):]), st.action)
				}
				got := after[len(after)-1]
				typ, id, name := st.target()
				want := audit.Event{
					ID: got.ID, Time: got.Time, Summary: got.Summary,
					Actor:  audit.Actor{Type: admin.Type, ID: admin.ID, Name: admin.Name},
					Action: st.action, TargetType: typ, TargetID: id, TargetName: name,
					RequestID: "req-42", ClientIP: "198.51.100.9",
				}
				if d := diff(want, got); d != "" {
					t.Errorf("event (-want +got):\n%s", d)
				}
				for _, k := range st.summaryKeys {
					if _, ok := got.Summary[k]; !ok {
						t.Errorf("summary %v does not name %q", got.Summary, k)
					}
				}
			})
		}
		t.Run("no secret in the trail", func(t *testing.T) {
			hash, _ := fakeHasher{}.Hash(password)
			b, err := json.Marshal(events(t, s))
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{password, hash} {
				if strings.Contains(string(b), secret) {
					t.Errorf("audit trail contains %q", secret)
				}
			}
		})
	})
}

// TestNoChangeNoEvent: calls that change nothing or fail write no event.
func TestNoChangeNoEvent(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc := newService(s)
		ctx := context.Background()
		alice := mustCreateUser(t, svc, directory.User{UserName: "alice", Active: true, Emails: []mv{{Value: "alice@example.com"}}})
		mustCreateUser(t, svc, directory.User{UserName: "bob", Active: true})
		crew := mustCreateGroup(t, svc, "crew", "alice")

		isConflict := func(field string) func(error) bool {
			return func(err error) bool { var c *errs.Conflict; return errors.As(err, &c) && c.Field == field }
		}
		isInvalid := func(field string) func(error) bool {
			return func(err error) bool {
				fs := invalidFields(err)
				return len(fs) == 1 && fs[0] == field
			}
		}
		for _, tc := range []struct {
			name    string
			do      func() error
			wantErr func(error) bool // nil: success without change
		}{
			{"update that changes nothing", func() error {
				_, err := svc.UpdateUser(ctx, admin, "alice", 0, func(u *directory.User) error { u.UserName = " alice "; return nil })
				return err
			}, nil},
			{"group update that changes nothing", func() error {
				_, err := svc.UpdateGroup(ctx, admin, "crew", 0, func(g *directory.Group) error { return nil })
				return err
			}, nil},
			{"add an existing member", func() error { _, err := svc.AddMembers(ctx, admin, "crew", []string{"ALICE"}); return err }, nil},
			{"remove a non-member", func() error { _, err := svc.RemoveMembers(ctx, admin, "crew", []string{"bob"}); return err }, nil},
			{"duplicate userName", func() error {
				_, err := svc.CreateUser(ctx, admin, directory.User{UserName: "Alice"})
				return err
			}, isConflict("userName")},
			{"duplicate email", func() error {
				_, err := svc.CreateUser(ctx, admin, directory.User{UserName: "alice2", Emails: []mv{{Value: "ALICE@example.com"}}})
				return err
			}, isConflict("email")},
			{"rename onto another user", func() error {
				_, err := svc.UpdateUser(ctx, admin, "bob", 0, func(u *directory.User) error { u.UserName = "alice"; return nil })
				return err
			}, isConflict("userName")},
			{"duplicate group", func() error {
				_, err := svc.CreateGroup(ctx, admin, directory.Group{DisplayName: "CREW"}, nil)
				return err
			}, isConflict("displayName")},
			{"stale update", func() error {
				_, err := svc.UpdateUser(ctx, admin, "alice", alice.Version+5, func(u *directory.User) error { u.Title = "x"; return nil })
				return err
			}, func(err error) bool { var c *errs.Conflict; return errors.As(err, &c) && c.Stale }},
			{"password rejected by policy", func() error { return svc.SetPassword(ctx, admin, "alice", "short") }, isInvalid("password")},
			{"unknown member", func() error { _, err := svc.AddMembers(ctx, admin, "crew", []string{"bob", "ghost"}); return err }, isInvalid("members")},
			{"delete an unknown user", func() error { return svc.DeleteUser(ctx, admin, "ghost") },
				func(err error) bool { return errors.Is(err, errs.ErrNotFound) }},
			{"delete an unknown group", func() error { return svc.DeleteGroup(ctx, admin, "ghosts") },
				func(err error) bool { return errors.Is(err, errs.ErrNotFound) }},
			{"forbidden", func() error { _, err := svc.CreateUser(ctx, auditor, directory.User{UserName: "carol"}); return err },
				func(err error) bool { return errors.Is(err, errs.ErrForbidden) }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := events(t, s)
				err := tc.do()
				switch {
				case tc.wantErr == nil && err != nil:
					t.Fatalf("error = %v, want success", err)
				case tc.wantErr != nil && !tc.wantErr(err):
					t.Fatalf("unexpected error %v", err)
				}
				if d := diff(actions(before), actions(events(t, s))); d != "" {
					t.Errorf("events (-want +got):\n%s", d)
				}
			})
		}
		// Nothing changed underneath either.
		got, err := svc.GetUser(ctx, admin, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := diff(alice, got); d != "" {
			t.Errorf("alice (-want +got):\n%s", d)
		}
		if _, err := s.PasswordHash(ctx, alice.ID); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("password stored by a rejected SetPassword: %v", err)
		}
		g, err := svc.GetGroup(ctx, admin, crew.ID)
		if err != nil || g.MemberCount != 1 || g.Version != crew.Version {
			t.Errorf("crew: %d members, version %d (%v); want 1, %d", g.MemberCount, g.Version, err, crew.Version)
		}
		if n := userCount(t, s); n != 2 {
			t.Errorf("users = %d, want 2", n)
		}
	})
}

// TestSetPassword stores the hasher's output, not the password.
func TestSetPassword(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc := newService(s)
		ctx := context.Background()
		u := mustCreateUser(t, svc, directory.User{UserName: "pw", Active: true})
		for _, pw := range []string{"first password", "second password"} {
			if err := svc.SetPassword(ctx, admin, "PW", pw); err != nil {
				t.Fatal(err)
			}
			want, _ := fakeHasher{}.Hash(pw)
			if got, err := s.PasswordHash(ctx, u.ID); err != nil || got != want {
				t.Errorf("stored hash = %q, %v; want %q", got, err, want)
			}
		}
		noHasher := &directory.Service{Store: s.Directory()}
		if err := noHasher.SetPassword(ctx, admin, "pw", "third password"); err == nil {
			t.Error("SetPassword without a hasher succeeded")
		}
	})
}
