package storetest

import (
	"context"
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
)

func testReady(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready after migrate = %v, want nil", err)
	}
	got, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatalf("SchemaVersion: %v", err)
	}
	// The newest applied version is the newest embedded migration.
	var want int64
	files, err := fs.Glob(sqlstore.MigrationsFS(s.Dialect().Name), "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no embedded migrations for %s: %v", s.Dialect().Name, err)
	}
	for _, f := range files {
		v, err := strconv.ParseInt(strings.SplitN(f, "_", 2)[0], 10, 64)
		if err != nil {
			t.Fatalf("migration %s: %v", f, err)
		}
		want = max(want, v)
	}
	if got <= 0 || got != want {
		t.Errorf("SchemaVersion = %d, want %d (> 0)", got, want)
	}
	// Migrating again applies nothing and leaves the store ready.
	n, err := s.Migrate(ctx)
	if err != nil || n != 0 {
		t.Errorf("second Migrate = %d, %v; want 0, nil", n, err)
	}
	if err := s.Ready(ctx); err != nil {
		t.Errorf("Ready after second migrate = %v", err)
	}
}

func testCreateInstance(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	_, err := s.GetInstance(ctx)
	wantNotFound(t, err)

	first := sqlstore.Instance{ID: newID(), KeyCheck: "check-1", CreatedAt: t0}
	second := sqlstore.Instance{ID: newID(), KeyCheck: "check-2", CreatedAt: t0.Add(time.Hour)}
	for _, tc := range []struct {
		name string
		in   sqlstore.Instance
		want bool
	}{
		{"first creates", first, true},
		{"second is refused", second, false},
		{"first again is refused", first, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var created bool
			err := s.WithTx(ctx, func(tx *sqlstore.Tx) error {
				var err error
				created, err = tx.CreateInstance(ctx, tc.in)
				return err
			})
			if err != nil || created != tc.want {
				t.Fatalf("CreateInstance = %v, %v; want %v, nil", created, err, tc.want)
			}
			got, err := s.GetInstance(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if d := diff(first, got); d != "" {
				t.Errorf("instance (-want +got):\n%s", d)
			}
		})
	}
	if n := countRows(t, s, `SELECT COUNT(*) FROM instance`); n != 1 {
		t.Errorf("instance rows = %d, want 1", n)
	}
}

// assertNothingStored checks that u, g, their rows and any audit event are absent.
func assertNothingStored(t *testing.T, s *sqlstore.Store, u directory.User, g directory.Group) {
	t.Helper()
	ctx := context.Background()
	_, err := s.GetUser(ctx, u.ID)
	wantNotFound(t, err)
	_, err = s.GetUserByUserName(ctx, u.UserName)
	wantNotFound(t, err)
	_, err = s.GetGroup(ctx, g.ID)
	wantNotFound(t, err)
	if evs := allAudit(t, s, audit.Filter{}); len(evs) != 0 {
		t.Errorf("audit events after rollback = %+v, want none", evs)
	}
	for _, table := range []string{"users", "groups", "group_members", "passwords", "audit_events"} {
		if n := countRows(t, s, `SELECT COUNT(*) FROM `+table); n != 0 {
			t.Errorf("%s has %d rows after rollback, want 0", table, n)
		}
	}
}

func testTxRollback(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		// last runs after the user, group, membership, password and event
		// were written; its error ends the transaction.
		last    func(tx *sqlstore.Tx, u directory.User) error
		wantErr func(error) bool
	}{
		{
			name:    "fn returns an error",
			last:    func(*sqlstore.Tx, directory.User) error { return boom },
			wantErr: func(err error) bool { return errors.Is(err, boom) },
		},
		{
			name: "a later write conflicts",
			last: func(tx *sqlstore.Tx, u directory.User) error {
				return tx.InsertUser(ctx, newUser(strings.ToUpper(u.UserName)))
			},
			wantErr: func(err error) bool { var c *errs.Conflict; return errors.As(err, &c) && c.Field == "userName" },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUser("rollback-"+strings.ReplaceAll(tc.name, " ", "-"), "rb@example.com")
			g := newGroup("rollback group " + tc.name)
			err := s.WithTx(ctx, func(tx *sqlstore.Tx) error {
				if err := tx.InsertUser(ctx, u); err != nil {
					return err
				}
				if err := tx.InsertGroup(ctx, g); err != nil {
					return err
				}
				if _, err := tx.AddMember(ctx, g.ID, u.ID, t0); err != nil {
					return err
				}
				if err := tx.SetPasswordHash(ctx, u.ID, "hash", t0); err != nil {
					return err
				}
				ev := audit.New(ctx, audit.System, "user.create", "user", u.ID, u.UserName, nil)
				if err := tx.AppendAudit(ctx, ev); err != nil {
					return err
				}
				// Inside the transaction the writes are visible.
				if _, err := tx.GetUser(ctx, u.ID); err != nil {
					return err
				}
				return tc.last(tx, u)
			})
			if !tc.wantErr(err) {
				t.Fatalf("WithTx error = %v", err)
			}
			assertNothingStored(t, s, u, g)
		})
	}
}

func testTxPanic(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	u := newUser("panicking", "panic@example.com")
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("WithTx swallowed the panic")
			}
		}()
		_ = s.WithTx(ctx, func(tx *sqlstore.Tx) error {
			if err := tx.InsertUser(ctx, u); err != nil {
				return err
			}
			panic("fn panicked")
		})
	}()
	// The transaction must be gone: otherwise SQLite's only write connection
	// stays busy and this write never starts.
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	other := newUser("after-panic")
	if err := s.WithTx(wctx, func(tx *sqlstore.Tx) error { return tx.InsertUser(wctx, other) }); err != nil {
		t.Fatalf("write after a panicking transaction: %v", err)
	}
	_, err := s.GetUser(ctx, u.ID)
	wantNotFound(t, err)
	if _, err := s.GetUser(ctx, other.ID); err != nil {
		t.Errorf("user written after the panic: %v", err)
	}
}

// injections are stored and matched as plain text everywhere.
var injections = []string{
	`' OR '1'='1`,
	`'; DROP TABLE users;--`,
	`Robert'); DROP TABLE users;--`,
	`" OR ""="`,
	`%`,
	`_`,
	`back\slash`,
	`$1`,
}

func testSQLInjection(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	plain := newUser("alice", "alice@example.com")
	insertUsers(t, s, plain)
	byName := map[string]directory.User{}
	for _, name := range injections {
		u := newUser(name)
		u.DisplayName = name
		byName[name] = u
		insertUsers(t, s, u)
		g := newGroup(name)
		insertGroups(t, s, g)
	}
	total := len(injections) + 1
	if got := len(allUsers(t, s, directory.UserFilter{})); got != total {
		t.Fatalf("users = %d, want %d", got, total)
	}
	for _, name := range injections {
		t.Run(name, func(t *testing.T) {
			want := byName[name]
			got, err := s.GetUserByUserName(ctx, name)
			if err != nil {
				t.Fatalf("GetUserByUserName: %v", err)
			}
			if got.ID != want.ID || got.UserName != name || got.DisplayName != name {
				t.Errorf("GetUserByUserName(%q) = %q (%s), want %q (%s)", name, got.UserName, got.ID, name, want.ID)
			}
			if d := diff([]string{name}, userNames(allUsers(t, s, directory.UserFilter{UserName: name}))); d != "" {
				t.Errorf("filter userName (-want +got):\n%s", d)
			}
			if got := allUsers(t, s, directory.UserFilter{Email: name}); len(got) != 0 {
				t.Errorf("filter email %q matched %v", name, userNames(got))
			}
			g, err := s.GetGroupByName(ctx, name)
			if err != nil || g.DisplayName != name {
				t.Errorf("GetGroupByName(%q) = %q, %v", name, g.DisplayName, err)
			}
			_, err = s.GetToken(ctx, name)
			wantNotFound(t, err)
			if evs := allAudit(t, s, audit.Filter{ActorID: name, Target: name, Action: name}); len(evs) != 0 {
				t.Errorf("audit filter %q matched %d events", name, len(evs))
			}
		})
	}
	// A prefix is literal text too: "'" selects exactly the names that
	// start with a quote.
	var quoted []string
	for _, name := range injections {
		if strings.HasPrefix(name, "'") {
			quoted = append(quoted, name)
		}
	}
	got := userNames(allUsers(t, s, directory.UserFilter{Prefix: "'"}))
	if d := diff(sortedNorm(quoted), got); d != "" {
		t.Errorf("prefix \"'\" (-want +got):\n%s", d)
	}
	// Every table is still there and untouched.
	if n := countRows(t, s, `SELECT COUNT(*) FROM users`); n != total {
		t.Errorf("users rows = %d, want %d", n, total)
	}
}
