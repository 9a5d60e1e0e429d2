package directory_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

type mv = directory.MultiValue

func TestCreateUserValidation(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc := newService(s)
		ctx := context.Background()
		manyPhones := make([]mv, directory.MaxMultiValues+1)
		for i := range manyPhones {
			manyPhones[i] = mv{Value: "+1 555 0100"}
		}
		for _, tc := range []struct {
			name string
			user directory.User
			want []string
		}{
			{"empty userName", directory.User{}, []string{"userName"}},
			{"blank userName", directory.User{UserName: " \t "}, []string{"userName"}},
			{"userName too long", directory.User{UserName: strings.Repeat("a", directory.MaxUserNameLen+1)}, []string{"userName"}},
			{"userName too long in runes", directory.User{UserName: strings.Repeat("å", directory.MaxUserNameLen+1)}, []string{"userName"}},
			{"userName with a control character", directory.User{UserName: "bad\x00name"}, []string{"userName"}},
			{"email that is not an address", directory.User{UserName: "e1", Emails: []mv{{Value: "not-an-email"}}}, []string{"emails"}},
			{"email with a display name", directory.User{UserName: "e2", Emails: []mv{{Value: "Alice <a@b.c>"}}}, []string{"emails"}},
			{"email with a space", directory.User{UserName: "e3", Emails: []mv{{Value: "a b@c.d"}}}, []string{"emails"}},
			{"empty email", directory.User{UserName: "e4", Emails: []mv{{Value: ""}}}, []string{"emails"}},
			{"two primary emails", directory.User{UserName: "e5", Emails: []mv{{Value: "a@b.c", Primary: true}, {Value: "d@e.f", Primary: true}}}, []string{"emails"}},
			{"unknown role", directory.User{UserName: "r1", Role: "root"}, []string{"role"}},
			{"role in another case", directory.User{UserName: "r2", Role: "Admin"}, []string{"role"}},
			{"unknown manager id", directory.User{UserName: "m1", Enterprise: directory.Enterprise{ManagerID: uuid.NewString()}}, []string{"enterprise.managerId"}},
			{"unknown manager name", directory.User{UserName: "m2", Enterprise: directory.Enterprise{ManagerID: "nobody"}}, []string{"enterprise.managerId"}},
			{"displayName too long", directory.User{UserName: "d1", DisplayName: strings.Repeat("x", directory.MaxNameFieldLen+1)}, []string{"displayName"}},
			{"givenName with a control character", directory.User{UserName: "d2", Name: directory.Name{GivenName: "a\u0007b"}}, []string{"name.givenName"}},
			{"too many phone numbers", directory.User{UserName: "p1", PhoneNumbers: manyPhones}, []string{"phoneNumbers"}},
			{"every problem at once", directory.User{Emails: []mv{{Value: "nope"}}, Role: "root"}, []string{"userName", "emails", "role"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := svc.CreateUser(ctx, admin, tc.user)
				wantFields(t, err, tc.want...)
			})
		}
		if n := userCount(t, s); n != 0 {
			t.Errorf("users stored after invalid creates = %d, want 0", n)
		}
		if evs := events(t, s); len(evs) != 0 {
			t.Errorf("audit events after invalid creates = %v, want none", actions(evs))
		}
	})
}

func TestCreateUserAccepts(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc := newService(s)
		boss := mustCreateUser(t, svc, directory.User{UserName: "boss", Active: true})
		for _, tc := range []struct {
			name  string
			user  directory.User
			check func(t *testing.T, u directory.User)
		}{
			{"longest userName", directory.User{UserName: strings.Repeat("å", directory.MaxUserNameLen)}, nil},
			{"userName is trimmed and NFC-normalised", directory.User{UserName: "  A\u030asa "},
				func(t *testing.T, u directory.User) {
					if u.UserName != "Åsa" {
						t.Errorf("userName = %q, want %q", u.UserName, "Åsa")
					}
				}},
			{"first email becomes primary", directory.User{UserName: "e", Emails: []mv{{Value: " e@example.com "}, {Value: "f@example.com"}}},
				func(t *testing.T, u directory.User) {
					want := []mv{{Value: "e@example.com", Primary: true}, {Value: "f@example.com"}}
					if d := diff(want, u.Emails); d != "" {
						t.Errorf("emails (-want +got):\n%s", d)
					}
				}},
			{"manager by userName becomes an id", directory.User{UserName: "report", Enterprise: directory.Enterprise{ManagerID: "BOSS"}},
				func(t *testing.T, u directory.User) {
					if u.Enterprise.ManagerID != boss.ID {
						t.Errorf("managerId = %q, want %q", u.Enterprise.ManagerID, boss.ID)
					}
				}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := svc.CreateUser(context.Background(), admin, tc.user)
				if err != nil {
					t.Fatal(err)
				}
				if got.Version != 1 || got.ID == "" || got.Created.IsZero() {
					t.Errorf("created user has id %q, version %d, created %v", got.ID, got.Version, got.Created)
				}
				if tc.check != nil {
					tc.check(t, got)
				}
				stored, err := svc.GetUser(context.Background(), admin, got.ID)
				if err != nil {
					t.Fatal(err)
				}
				stored.Enterprise.ManagerName = ""
				if d := diff(got, stored); d != "" {
					t.Errorf("stored user differs from the returned one (-returned +stored):\n%s", d)
				}
			})
		}
	})
}

func TestUpdateUserValidation(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc := newService(s)
		ctx := context.Background()
		u := mustCreateUser(t, svc, directory.User{UserName: "valid", Emails: []mv{{Value: "valid@example.com"}}, Active: true})
		before := len(events(t, s))
		callerErr := errors.New("caller refused")
		for _, tc := range []struct {
			name    string
			mutate  func(*directory.User) error
			fields  []string
			wantErr error
		}{
			{"empty userName", func(u *directory.User) error { u.UserName = ""; return nil }, []string{"userName"}, nil},
			{"bad email", func(u *directory.User) error { u.Emails[0].Value = "Alice <a@b.c>"; return nil }, []string{"emails"}, nil},
			{"bad role", func(u *directory.User) error { u.Role = "superuser"; return nil }, []string{"role"}, nil},
			{"unknown manager", func(u *directory.User) error { u.Enterprise.ManagerID = "ghost"; return nil }, []string{"enterprise.managerId"}, nil},
			{"own manager", func(u *directory.User) error { u.Enterprise.ManagerID = u.ID; return nil }, []string{"enterprise.managerId"}, nil},
			{"mutate fails", func(u *directory.User) error { u.DisplayName = "half-done"; return callerErr }, nil, callerErr},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := svc.UpdateUser(ctx, admin, u.ID, 0, tc.mutate)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Errorf("error = %v, want %v", err, tc.wantErr)
					}
				} else {
					wantFields(t, err, tc.fields...)
				}
				got, err := svc.GetUser(ctx, admin, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if d := diff(u, got); d != "" {
					t.Errorf("user changed by a failed update (-want +got):\n%s", d)
				}
			})
		}
		if n := len(events(t, s)); n != before {
			t.Errorf("failed updates wrote %d audit events", n-before)
		}
	})
}

func TestGroupValidation(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc := newService(s)
		ctx := context.Background()
		alice := mustCreateUser(t, svc, directory.User{UserName: "alice", Active: true})
		crew := mustCreateGroup(t, svc, "crew")
		before := events(t, s)

		for _, tc := range []struct {
			name string
			op   func() error
			want []string
		}{
			{"empty displayName", func() error {
				_, err := svc.CreateGroup(ctx, admin, directory.Group{DisplayName: "  "}, nil)
				return err
			}, []string{"displayName"}},
			{"displayName too long", func() error {
				_, err := svc.CreateGroup(ctx, admin, directory.Group{DisplayName: strings.Repeat("g", directory.MaxGroupNameLen+1)}, nil)
				return err
			}, []string{"displayName"}},
			{"description too long", func() error {
				_, err := svc.CreateGroup(ctx, admin, directory.Group{DisplayName: "ok", Description: strings.Repeat("d", directory.MaxDescLen+1)}, nil)
				return err
			}, []string{"description"}},
			{"unknown initial member", func() error {
				_, err := svc.CreateGroup(ctx, admin, directory.Group{DisplayName: "new"}, []string{"alice", "ghost"})
				return err
			}, []string{"members"}},
			{"unknown member added", func() error {
				_, err := svc.AddMembers(ctx, admin, "crew", []string{alice.ID, "ghost", uuid.NewString()})
				return err
			}, []string{"members"}},
			{"unknown member removed", func() error {
				_, err := svc.RemoveMembers(ctx, admin, "crew", []string{"ghost"})
				return err
			}, []string{"members"}},
			{"rename to empty", func() error {
				_, err := svc.UpdateGroup(ctx, admin, "crew", 0, func(g *directory.Group) error { g.DisplayName = ""; return nil })
				return err
			}, []string{"displayName"}},
		} {
			t.Run(tc.name, func(t *testing.T) { wantFields(t, tc.op(), tc.want...) })
		}
		// A failed call changes nothing: no group "new", alice not in crew.
		if _, err := svc.GetGroup(ctx, admin, "new"); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("group from a failed create: %v", err)
		}
		g, err := svc.GetGroup(ctx, admin, crew.ID)
		if err != nil || g.MemberCount != 0 || g.Version != crew.Version {
			t.Errorf("crew after failed changes: %d members, version %d (%v); want 0, %d", g.MemberCount, g.Version, err, crew.Version)
		}
		if d := diff(actions(before), actions(events(t, s))); d != "" {
			t.Errorf("failed changes wrote audit events (-want +got):\n%s", d)
		}
	})
}

func TestRoles(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc := newService(s)
		ctx := context.Background()
		target := mustCreateUser(t, svc, directory.User{UserName: "target", Active: true})
		mustCreateGroup(t, svc, "crew", "target")
		before := events(t, s)

		ops := []struct {
			name  string
			write bool
			do    func(a audit.Actor) error
		}{
			{"GetUser", false, func(a audit.Actor) error { _, err := svc.GetUser(ctx, a, "target"); return err }},
			{"ListUsers", false, func(a audit.Actor) error { _, _, err := svc.ListUsers(ctx, a, directory.UserFilter{}); return err }},
			{"GetGroup", false, func(a audit.Actor) error { _, err := svc.GetGroup(ctx, a, "crew"); return err }},
			{"ListGroups", false, func(a audit.Actor) error { _, _, err := svc.ListGroups(ctx, a, directory.GroupFilter{}); return err }},
			{"ListMembers", false, func(a audit.Actor) error { _, _, err := svc.ListMembers(ctx, a, "crew", "", 10); return err }},
			{"CreateUser", true, func(a audit.Actor) error {
				_, err := svc.CreateUser(ctx, a, directory.User{UserName: "intruder"})
				return err
			}},
			{"UpdateUser", true, func(a audit.Actor) error {
				_, err := svc.UpdateUser(ctx, a, "target", 0, func(u *directory.User) error { u.Role = directory.RoleAdmin; return nil })
				return err
			}},
			{"DeleteUser", true, func(a audit.Actor) error { return svc.DeleteUser(ctx, a, "target") }},
			{"SetPassword", true, func(a audit.Actor) error { return svc.SetPassword(ctx, a, "target", "a long enough password") }},
			{"CreateGroup", true, func(a audit.Actor) error {
				_, err := svc.CreateGroup(ctx, a, directory.Group{DisplayName: "rogue"}, nil)
				return err
			}},
			{"UpdateGroup", true, func(a audit.Actor) error {
				_, err := svc.UpdateGroup(ctx, a, "crew", 0, func(g *directory.Group) error { g.DisplayName = "pwned"; return nil })
				return err
			}},
			{"DeleteGroup", true, func(a audit.Actor) error { return svc.DeleteGroup(ctx, a, "crew") }},
			{"AddMembers", true, func(a audit.Actor) error { _, err := svc.AddMembers(ctx, a, "crew", []string{"target"}); return err }},
			{"RemoveMembers", true, func(a audit.Actor) error { _, err := svc.RemoveMembers(ctx, a, "crew", []string{"target"}); return err }},
		}
		for _, actor := range []struct {
			name     string
			actor    audit.Actor
			canRead  bool
			canWrite bool
		}{
			{"auditor", auditor, true, false},
			{"user without a role", member, false, false},
			{"token without a role", roleless, false, false},
			{"admin reads", admin, true, false}, // admin writes are exercised by every other test
			{"admin token reads", tokenAdmin, true, false},
		} {
			for _, op := range ops {
				if op.write && (actor.actor.Role == directory.RoleAdmin) {
					continue
				}
				t.Run(actor.name+"/"+op.name, func(t *testing.T) {
					err := op.do(actor.actor)
					allowed := actor.canRead && !op.write || actor.canWrite && op.write
					switch {
					case allowed && err != nil:
						t.Errorf("%s: %v, want success", op.name, err)
					case !allowed && !errors.Is(err, errs.ErrForbidden):
						t.Errorf("%s: %v, want errs.ErrForbidden", op.name, err)
					}
				})
			}
		}
		got, err := svc.GetUser(ctx, admin, target.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := diff(target, got); d != "" {
			t.Errorf("forbidden calls changed the user (-want +got):\n%s", d)
		}
		if d := diff(actions(before), actions(events(t, s))); d != "" {
			t.Errorf("forbidden calls wrote audit events (-want +got):\n%s", d)
		}
	})
}

func TestLastAdmin(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc := newService(s)
		ctx := context.Background()
		update := func(key string, f func(*directory.User)) func() error {
			return func() error {
				_, err := svc.UpdateUser(ctx, admin, key, 0, func(u *directory.User) error { f(u); return nil })
				return err
			}
		}
		create := func(name string, active bool) func() error {
			return func() error {
				_, err := svc.CreateUser(ctx, admin, directory.User{UserName: name, Role: directory.RoleAdmin, Active: active})
				return err
			}
		}
		mustCreateUser(t, svc, directory.User{UserName: "first", Role: directory.RoleAdmin, Active: true})
		mustCreateUser(t, svc, directory.User{UserName: "plain", Active: true})
		for _, st := range []struct {
			name    string
			do      func() error
			refused bool
		}{
			{"disable the only admin", update("first", func(u *directory.User) { u.Active = false }), true},
			{"demote the only admin", update("first", func(u *directory.User) { u.Role = directory.RoleNone }), true},
			{"demote the only admin to auditor", update("first", func(u *directory.User) { u.Role = directory.RoleAuditor }), true},
			{"delete the only admin", func() error { return svc.DeleteUser(ctx, admin, "first") }, true},
			{"rename the only admin", update("first", func(u *directory.User) { u.UserName = "first-admin" }), false},
			{"non-admins are not protected", func() error { return svc.DeleteUser(ctx, admin, "plain") }, false},
			{"add an inactive admin", create("dormant", false), false},
			{"inactive admins do not count", update("first-admin", func(u *directory.User) { u.Active = false }), true},
			{"add a second active admin", create("second", true), false},
			{"disable the first admin", update("first-admin", func(u *directory.User) { u.Active = false }), false},
			{"disable the now-last admin", update("second", func(u *directory.User) { u.Active = false }), true},
			{"delete the now-last admin", func() error { return svc.DeleteUser(ctx, admin, "second") }, true},
			{"enable the dormant admin", update("dormant", func(u *directory.User) { u.Active = true }), false},
			{"delete the second admin", func() error { return svc.DeleteUser(ctx, admin, "second") }, false},
		} {
			t.Run(st.name, func(t *testing.T) {
				before := len(events(t, s))
				err := st.do()
				if !st.refused {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					return
				}
				wantFields(t, err, "role")
				if n := len(events(t, s)); n != before {
					t.Errorf("a refused change wrote %d audit events", n-before)
				}
			})
		}
		if n, err := s.CountAdmins(ctx); err != nil || n != 1 {
			t.Errorf("active admins at the end = %d, %v; want 1", n, err)
		}
	})
}

func TestUpdateUserIfVersion(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc := newService(s)
		ctx := context.Background()
		u := mustCreateUser(t, svc, directory.User{UserName: "versioned", Active: true})
		rename := func(name string) func(*directory.User) error {
			return func(u *directory.User) error { u.DisplayName = name; return nil }
		}
		v2, err := svc.UpdateUser(ctx, admin, u.ID, 1, rename("two"))
		if err != nil || v2.Version != 2 {
			t.Fatalf("update at version 1 = version %d, %v", v2.Version, err)
		}
		before := len(events(t, s))
		for _, stale := range []int64{1, 3, 99} {
			_, err := svc.UpdateUser(ctx, admin, u.ID, stale, rename("lost"))
			wantStale(t, err, "user")
		}
		if n := len(events(t, s)); n != before {
			t.Errorf("stale updates wrote %d audit events", n-before)
		}
		got, err := svc.GetUser(ctx, admin, u.ID)
		if err != nil || got.DisplayName != "two" || got.Version != 2 {
			t.Errorf("after stale updates: %q version %d (%v); want \"two\" version 2", got.DisplayName, got.Version, err)
		}
		// Version 0 means unconditional.
		if v3, err := svc.UpdateUser(ctx, admin, u.ID, 0, rename("three")); err != nil || v3.Version != 3 {
			t.Errorf("unconditional update = version %d, %v; want 3", v3.Version, err)
		}

		// A membership change is a change to the group: If-Match on the
		// version read before it fails.
		g := mustCreateGroup(t, svc, "crew")
		if _, err := svc.AddMembers(ctx, admin, g.ID, []string{"versioned"}); err != nil {
			t.Fatal(err)
		}
		_, err = svc.UpdateGroup(ctx, admin, g.ID, g.Version, func(g *directory.Group) error { g.Description = "late"; return nil })
		wantStale(t, err, "group")
	})
}

// TestUpdateUserInPlace: mutate may edit a multi-valued attribute's elements
// in place, as a SCIM PATCH with a value filter does; the edit must be saved.
func TestUpdateUserInPlace(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc := newService(s)
		ctx := context.Background()
		u := mustCreateUser(t, svc, directory.User{
			UserName: "inplace", Active: true,
			Emails:           []mv{{Value: "old@example.com"}},
			PhoneNumbers:     []mv{{Value: "+1 555 0100", Type: "work"}},
			Addresses:        []directory.Address{{Locality: "Lyon", Type: "work"}},
			IMs:              []mv{{Value: "old-im"}},
			Photos:           []mv{{Value: "https://example.com/old.jpg"}},
			Entitlements:     []mv{{Value: "old-entitlement"}},
			Roles:            []mv{{Value: "old-role"}},
			X509Certificates: []mv{{Value: "T0xE"}},
		})
		for _, tc := range []struct {
			field  string
			mutate func(*directory.User)
			check  func(directory.User) bool
		}{
			{"emails", func(u *directory.User) { u.Emails[0].Value = "new@example.com" },
				func(u directory.User) bool { return u.Emails[0].Value == "new@example.com" }},
			{"phoneNumbers", func(u *directory.User) { u.PhoneNumbers[0].Value = "+33 1 00 00 00 00" },
				func(u directory.User) bool { return u.PhoneNumbers[0].Value == "+33 1 00 00 00 00" }},
			{"addresses", func(u *directory.User) { u.Addresses[0].Locality = "Paris" },
				func(u directory.User) bool { return u.Addresses[0].Locality == "Paris" }},
			{"ims", func(u *directory.User) { u.IMs[0].Value = "new-im" },
				func(u directory.User) bool { return u.IMs[0].Value == "new-im" }},
			{"photos", func(u *directory.User) { u.Photos[0].Primary = true },
				func(u directory.User) bool { return u.Photos[0].Primary }},
			{"entitlements", func(u *directory.User) { u.Entitlements[0].Value = "new-entitlement" },
				func(u directory.User) bool { return u.Entitlements[0].Value == "new-entitlement" }},
			{"roles", func(u *directory.User) { u.Roles[0].Display = "New Role" },
				func(u directory.User) bool { return u.Roles[0].Display == "New Role" }},
			{"x509Certificates", func(u *directory.User) { u.X509Certificates[0].Value = "TkVX" },
				func(u directory.User) bool { return u.X509Certificates[0].Value == "TkVX" }},
		} {
			t.Run(tc.field, func(t *testing.T) {
				before := len(events(t, s))
				got, err := svc.UpdateUser(ctx, admin, u.ID, 0, func(u *directory.User) error { tc.mutate(u); return nil })
				if err != nil {
					t.Fatal(err)
				}
				stored, err := svc.GetUser(ctx, admin, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !tc.check(got) || !tc.check(stored) {
					t.Errorf("%s edit lost (returned: %v, stored: %v)", tc.field, tc.check(got), tc.check(stored))
				}
				evs := events(t, s)
				if len(evs) != before+1 {
					t.Fatalf("audit events written = %d, want 1", len(evs)-before)
				}
				if _, ok := evs[len(evs)-1].Summary[tc.field]; !ok {
					t.Errorf("user.update summary %v does not name %s", evs[len(evs)-1].Summary, tc.field)
				}
			})
		}
	})
}

// TestManagerDeleted: deleting a manager leaves their reports without a
// manager, and the reports can still be changed.
func TestManagerDeleted(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		svc := newService(s)
		ctx := context.Background()
		boss := mustCreateUser(t, svc, directory.User{UserName: "boss", DisplayName: "The Boss", Active: true})
		report := mustCreateUser(t, svc, directory.User{UserName: "report", Active: true, Enterprise: directory.Enterprise{ManagerID: "boss"}})
		if report.Enterprise.ManagerID != boss.ID {
			t.Fatalf("managerId = %q, want %q", report.Enterprise.ManagerID, boss.ID)
		}
		if err := svc.DeleteUser(ctx, admin, "boss"); err != nil {
			t.Fatal(err)
		}
		got, err := svc.GetUser(ctx, admin, "report")
		if err != nil {
			t.Fatal(err)
		}
		if got.Enterprise.ManagerID != "" || got.Enterprise.ManagerName != "" {
			t.Errorf("manager after deletion = %q %q, want none", got.Enterprise.ManagerID, got.Enterprise.ManagerName)
		}
		if _, err := svc.UpdateUser(ctx, admin, "report", 0, func(u *directory.User) error { u.Active = false; return nil }); err != nil {
			t.Errorf("disabling a user whose manager was deleted: %v", err)
		}
	})
}
