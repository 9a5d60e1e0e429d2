package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/store/postgres"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/store/storetest"
	"github.com/idcenter/idcenter/internal/testenv"
)

// TestConformance runs the whole store suite on PostgreSQL.
func TestConformance(t *testing.T) {
	storetest.Run(t, testenv.OpenPostgres)
}

// TestAuditTruncateRefused: PostgreSQL has TRUNCATE, which bypasses row
// triggers; a statement trigger refuses it.
func TestAuditTruncateRefused(t *testing.T) {
	s := testenv.OpenPostgres(t)
	ctx := context.Background()
	if err := s.WithTx(ctx, func(tx *sqlstore.Tx) error {
		return tx.AppendAudit(ctx, audit.New(ctx, audit.System, "instance.create", "", "", "", nil))
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `TRUNCATE audit_events`); err == nil {
		t.Error("TRUNCATE audit_events succeeded")
	}
	var n int
	if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events`).Scan(&n); err != nil || n != 1 {
		t.Errorf("audit events after TRUNCATE = %d, %v; want 1", n, err)
	}
}

// TestConcurrentMigrate: replicas starting together migrate one database
// once; the advisory lock serialises them.
func TestConcurrentMigrate(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	ctx := context.Background()
	const replicas = 3
	stores := make([]*sqlstore.Store, replicas)
	for i := range stores {
		s, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	applied := make([]int, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { applied[i], errs[i] = s.Migrate(ctx) })
	}
	wg.Wait()
	total := 0
	for i := range stores {
		if errs[i] != nil {
			t.Errorf("replica %d: %v", i, errs[i])
		}
		total += applied[i]
	}
	want, err := stores[0].SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if int64(total) != want {
		t.Errorf("migrations applied across replicas = %d, want %d (each once)", total, want)
	}
	for i, s := range stores {
		if err := s.Ready(ctx); err != nil {
			t.Errorf("replica %d not ready: %v", i, err)
		}
	}
}
