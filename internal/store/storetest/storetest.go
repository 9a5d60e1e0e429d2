// Package storetest is the conformance suite every store engine runs in full:
// SQLite and PostgreSQL call Run from their own tests with a function that
// opens a freshly migrated store. There are no capability flags and no
// per-engine exemptions: a behaviour either holds on every engine or the
// suite fails.
package storetest

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
)

// Run runs the whole suite. open returns a migrated, empty store that lives
// until the test ends; every top-level case gets its own.
func Run(t *testing.T, open func(t testing.TB) *sqlstore.Store) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s *sqlstore.Store)
	}{
		{"Store/ReadyAndSchemaVersion", testReady},
		{"Store/CreateInstanceOnce", testCreateInstance},
		{"Store/TxErrorLeavesNothing", testTxRollback},
		{"Store/TxPanicLeavesNothing", testTxPanic},
		{"Store/SQLInjectionIsLiteral", testSQLInjection},

		{"Users/GetByIDAndUserName", testUserGet},
		{"Users/UniqueFields", testUserUnique},
		{"Users/NullEmailManyTimes", testUserNullEmail},
		{"Users/UpdateGuarded", testUserUpdateGuarded},
		{"Users/RoundTripEveryAttribute", testUserRoundTrip},
		{"Users/ManagerDeleted", testUserManagerDeleted},
		{"Users/ListPaging", testUserListPaging},
		{"Users/ListFilters", testUserListFilters},
		{"Users/ZeroLimit", testUserZeroLimit},
		{"Users/DeleteCascades", testUserDeleteCascades},
		{"Users/CountAdmins", testCountAdmins},

		{"Groups/InsertGet", testGroupGet},
		{"Groups/UniqueName", testGroupUnique},
		{"Groups/UpdateGuarded", testGroupUpdateGuarded},
		{"Groups/ListPagingAndFilters", testGroupList},
		{"Groups/Members", testGroupMembers},
		{"Groups/ListMembersPaging", testListMembersPaging},
		{"Groups/DeleteCascades", testGroupDeleteCascades},

		{"Tokens/InsertGet", testTokenGet},
		{"Tokens/Unique", testTokenUnique},
		{"Tokens/RevokeOnce", testTokenRevoke},
		{"Tokens/TouchThrottled", testTokenTouch},

		{"Audit/RoundTripAndFilters", testAuditFilters},
		{"Audit/PagingNewestFirst", testAuditPaging},
		{"Audit/AppendOnly", testAuditAppendOnly},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// t0 is the suite's reference time; stores keep microseconds, so every time
// the suite writes is a whole number of microseconds.
var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// diff compares with go-cmp; a nil and an empty slice or map are equal
// (JSON attributes cannot tell them apart, and neither can callers).
func diff(want, got any) string { return cmp.Diff(want, got, cmpopts.EquateEmpty()) }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// newUser returns an active user; the first email, if any, is primary.
func newUser(userName string, emails ...string) directory.User {
	u := directory.User{
		ID: newID(), UserName: userName, Active: true,
		Created: t0, LastModified: t0, Version: 1,
	}
	for i, e := range emails {
		u.Emails = append(u.Emails, directory.MultiValue{Value: e, Type: "work", Primary: i == 0})
	}
	return u
}

func newGroup(name string) directory.Group {
	return directory.Group{ID: newID(), DisplayName: name, Created: t0, LastModified: t0, Version: 1}
}

// inTx runs fn in a transaction and fails the test when it returns an error.
func inTx(t testing.TB, s *sqlstore.Store, fn func(tx *sqlstore.Tx) error) {
	t.Helper()
	if err := s.WithTx(context.Background(), fn); err != nil {
		t.Fatalf("WithTx: %v", err)
	}
}

func insertUsers(t testing.TB, s *sqlstore.Store, us ...directory.User) {
	t.Helper()
	inTx(t, s, func(tx *sqlstore.Tx) error {
		for _, u := range us {
			if err := tx.InsertUser(context.Background(), u); err != nil {
				return err
			}
		}
		return nil
	})
}

func insertGroups(t testing.TB, s *sqlstore.Store, gs ...directory.Group) {
	t.Helper()
	inTx(t, s, func(tx *sqlstore.Tx) error {
		for _, g := range gs {
			if err := tx.InsertGroup(context.Background(), g); err != nil {
				return err
			}
		}
		return nil
	})
}

func addMembers(t testing.TB, s *sqlstore.Store, groupID string, users ...directory.User) {
	t.Helper()
	inTx(t, s, func(tx *sqlstore.Tx) error {
		for _, u := range users {
			if _, err := tx.AddMember(context.Background(), groupID, u.ID, t0); err != nil {
				return err
			}
		}
		return nil
	})
}

// wantConflict fails unless err is an *errs.Conflict equal to want.
func wantConflict(t testing.TB, err error, want errs.Conflict) {
	t.Helper()
	var c *errs.Conflict
	if !errors.As(err, &c) {
		t.Fatalf("error = %v (%T), want *errs.Conflict %+v", err, err, want)
	}
	if d := diff(want, *c); d != "" {
		t.Errorf("conflict mismatch (-want +got):\n%s", d)
	}
}

// wantNotFound fails unless err is errs.ErrNotFound.
func wantNotFound(t testing.TB, err error) {
	t.Helper()
	if !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("error = %v, want errs.ErrNotFound", err)
	}
}

// invalidFields returns the sorted fields of an *errs.Invalid, or nil.
func invalidFields(err error) []string {
	var v *errs.Invalid
	if !errors.As(err, &v) {
		return nil
	}
	var out []string
	for _, p := range v.Problems {
		out = append(out, p.Field)
	}
	sort.Strings(out)
	return out
}

// allUsers lists every user, following cursors.
func allUsers(t testing.TB, s *sqlstore.Store, f directory.UserFilter) []directory.User {
	t.Helper()
	if f.Limit == 0 {
		f.Limit = 1000
	}
	var out []directory.User
	for {
		page, next, err := s.ListUsers(context.Background(), f)
		if err != nil {
			t.Fatalf("ListUsers(%+v): %v", f, err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		f.Cursor = next
	}
}

func userNames(us []directory.User) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, u.UserName)
	}
	return out
}

// allAudit lists every audit event matching f, newest first.
func allAudit(t testing.TB, s *sqlstore.Store, f audit.Filter) []audit.Event {
	t.Helper()
	if f.Limit == 0 {
		f.Limit = 1000
	}
	var out []audit.Event
	for {
		page, next, err := s.ListAudit(context.Background(), f)
		if err != nil {
			t.Fatalf("ListAudit(%+v): %v", f, err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		f.Cursor = next
	}
}

// countRows counts rows through raw SQL.
func countRows(t testing.TB, s *sqlstore.Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
