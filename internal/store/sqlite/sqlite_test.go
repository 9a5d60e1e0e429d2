package sqlite_test

import (
	"context"
	"testing"

	"github.com/idcenter/idcenter/internal/store/storetest"
	"github.com/idcenter/idcenter/internal/testenv"
)

// TestConformance runs the whole store suite on SQLite.
func TestConformance(t *testing.T) {
	storetest.Run(t, testenv.OpenSQLite)
}

// TestPragmas checks the connection settings the store's safety rests on.
func TestPragmas(t *testing.T) {
	s := testenv.OpenSQLite(t)
	ctx := context.Background()
	for _, tc := range []struct {
		pragma, want string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"synchronous", "2"}, // FULL
		{"busy_timeout", "10000"},
	} {
		t.Run(tc.pragma, func(t *testing.T) {
			var got string
			if err := s.DB().QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
			}
		})
	}
}
