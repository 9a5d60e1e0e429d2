package sqlstore_test

import (
	"context"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

var migrationName = regexp.MustCompile(`^(\d+)_[a-z0-9_]+\.sql$`)

// versions returns the migration versions embedded for engine, failing on
// files that are not migrations and on duplicate versions.
func versions(t *testing.T, engine string) []int64 {
	t.Helper()
	entries, err := fs.ReadDir(sqlstore.MigrationsFS(engine), ".")
	if err != nil {
		t.Fatalf("%s migrations: %v", engine, err)
	}
	seen := map[int64]string{}
	var out []int64
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			t.Errorf("%s: %q is not a migration file (NNNNN_name.sql)", engine, e.Name())
			continue
		}
		v, _ := strconv.ParseInt(m[1], 10, 64)
		if prev, dup := seen[v]; dup {
			t.Errorf("%s: version %d used by %s and %s", engine, v, prev, e.Name())
		}
		seen[v] = e.Name()
		body, err := fs.ReadFile(sqlstore.MigrationsFS(engine), e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(body), "-- +goose Up") || !strings.Contains(string(body), "-- +goose Down") {
			t.Errorf("%s/%s: missing goose Up or Down section", engine, e.Name())
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// TestMigrationVersionsMatch: the engines are migrated in lockstep, so a
// schema version means the same thing on both.
func TestMigrationVersionsMatch(t *testing.T) {
	lite, pg := versions(t, "sqlite"), versions(t, "postgres")
	if len(lite) == 0 {
		t.Fatal("no migrations embedded")
	}
	if d := cmp.Diff(lite, pg); d != "" {
		t.Errorf("migration versions differ (-sqlite +postgres):\n%s", d)
	}
	for i, v := range lite {
		if v != int64(i+1) {
			t.Errorf("versions %v are not numbered 1, 2, 3, …", lite)
			break
		}
	}
}

// schema is table → sorted column names, plus the names of explicitly
// created indexes (unique-violation mapping relies on them).
type schema struct {
	Columns map[string][]string
	Indexes []string
}

func sqliteSchema(t *testing.T) schema {
	s := testenv.OpenSQLite(t)
	ctx := context.Background()
	sc := schema{Columns: map[string][]string{}}
	rows, err := s.DB().QueryContext(ctx, `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		sc.Columns[table] = append(sc.Columns[table], col)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	irows, err := s.DB().QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer irows.Close()
	for irows.Next() {
		var name string
		if err := irows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		sc.Indexes = append(sc.Indexes, name)
	}
	return sc
}

func postgresSchema(t *testing.T) schema {
	s := testenv.OpenPostgres(t)
	ctx := context.Background()
	sc := schema{Columns: map[string][]string{}}
	rows, err := s.DB().QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		sc.Columns[table] = append(sc.Columns[table], col)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Indexes that back PRIMARY KEY and UNIQUE constraints are implicit on
	// SQLite; compare only those created with CREATE INDEX.
	irows, err := s.DB().QueryContext(ctx, `SELECT i.indexname FROM pg_indexes i
		WHERE i.schemaname = current_schema()
		AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)`)
	if err != nil {
		t.Fatal(err)
	}
	defer irows.Close()
	for irows.Next() {
		var name string
		if err := irows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		sc.Indexes = append(sc.Indexes, name)
	}
	return sc
}

func (sc schema) sorted() schema {
	for _, cols := range sc.Columns {
		sort.Strings(cols)
	}
	sort.Strings(sc.Indexes)
	return sc
}

// TestSchemasMatch: after migrating, both engines have the same tables,
// columns and indexes, so one set of SQL statements serves both.
func TestSchemasMatch(t *testing.T) {
	lite := sqliteSchema(t).sorted()
	pg := postgresSchema(t).sorted()
	for _, table := range []string{"users", "groups", "group_members", "passwords", "api_tokens", "audit_events", "instance"} {
		if len(lite.Columns[table]) == 0 {
			t.Errorf("sqlite has no table %q", table)
		}
	}
	if d := cmp.Diff(lite, pg); d != "" {
		t.Errorf("schemas differ (-sqlite +postgres):\n%s", d)
	}
}
