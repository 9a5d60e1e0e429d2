// Package testenv holds test helpers shared across packages: the PostgreSQL
// DSN and per-test schemas, running a test on every store engine, and the
// rule that a missing peer is a skip locally and a failure in CI.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/idcenter/idcenter/internal/store/postgres"
	"github.com/idcenter/idcenter/internal/store/sqlite"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
)

// Required reports whether missing peers must fail the run
// (IDCENTER_INTEROP=required, set by CI).
func Required() bool { return os.Getenv("IDCENTER_INTEROP") == "required" }

// SkipOrFail skips the test with msg, or fails it when peers are required.
func SkipOrFail(t testing.TB, msg string) {
	t.Helper()
	if Required() {
		t.Fatalf("IDCENTER_INTEROP=required but: %s", msg)
	}
	t.Skip(msg)
}

// PostgresBaseDSN returns IDCENTER_TEST_POSTGRES, skipping (or failing in CI)
// when it is unset.
func PostgresBaseDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("IDCENTER_TEST_POSTGRES")
	if dsn == "" {
		SkipOrFail(t, "IDCENTER_TEST_POSTGRES is not set; PostgreSQL tests skipped")
	}
	return dsn
}

// PostgresDSN creates a fresh schema for this test and returns a DSN whose
// search_path points at it. The schema is dropped when the test ends.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := PostgresBaseDSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to IDCENTER_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	return WithSearchPath(t, base, schema)
}

// WithSearchPath returns dsn with search_path set to schema.
func WithSearchPath(t testing.TB, dsn, schema string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("parse DSN: %v", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// Engine opens a migrated store for one test.
type Engine struct {
	Name string
	Open func(t testing.TB) *sqlstore.Store
}

// Engines lists SQLite and PostgreSQL. PostgreSQL's Open skips (or fails in
// CI) when IDCENTER_TEST_POSTGRES is unset.
func Engines() []Engine {
	return []Engine{
		{Name: "sqlite", Open: OpenSQLite},
		{Name: "postgres", Open: OpenPostgres},
	}
}

// OpenSQLite opens a migrated SQLite store in a temporary directory.
func OpenSQLite(t testing.TB) *sqlstore.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return migrated(t, s)
}

// OpenPostgres opens a migrated PostgreSQL store in a fresh schema.
func OpenPostgres(t testing.TB) *sqlstore.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	return migrated(t, s)
}

func migrated(t testing.TB, s *sqlstore.Store) *sqlstore.Store {
	t.Helper()
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

// ForEachEngine runs fn as a subtest on every engine.
func ForEachEngine(t *testing.T, fn func(t *testing.T, s *sqlstore.Store)) {
	t.Helper()
	for _, e := range Engines() {
		t.Run(e.Name, func(t *testing.T) { fn(t, e.Open(t)) })
	}
}
