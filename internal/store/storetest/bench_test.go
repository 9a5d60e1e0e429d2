package storetest_test

// Benchmarks of the hot directory paths on both engines, against a store
// that already holds 100,000 users. Run them with
//
//	go test -run '^$' -bench . -benchtime 2000x ./internal/store/storetest/
//
// (PostgreSQL needs IDCENTER_TEST_POSTGRES; without it those sub-benchmarks
// skip). Each engine is seeded once per process and shared by every
// benchmark; docs/performance.md records the results.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/store/postgres"
	"github.com/idcenter/idcenter/internal/store/sqlite"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

// seedUsers is how many users the store holds before any benchmark runs.
const seedUsers = 100_000

// seedBatch users are inserted per transaction.
const seedBatch = 10_000

// A seeded store, shared by every benchmark of one engine.
type seeded struct {
	once  sync.Once
	s     *sqlstore.Store
	names []string // seeded userNames, index i is user i
	took  time.Duration
	err   error
	skip  string
}

var (
	stores   = map[string]*seeded{"sqlite": {}, "postgres": {}}
	cleanups []func()
	cleanMu  sync.Mutex
)

func onExit(fn func()) { cleanMu.Lock(); cleanups = append(cleanups, fn); cleanMu.Unlock() }

// TestMain closes the shared stores and removes their data when every
// benchmark has run.
func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	os.Exit(code)
}

// forEachEngine runs fn as a sub-benchmark per engine on the seeded store.
func forEachEngine(b *testing.B, fn func(b *testing.B, st *seeded)) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			st := stores[name]
			st.once.Do(func() { st.open(b, name) })
			switch {
			case st.skip != "":
				testenv.SkipOrFail(b, st.skip)
			case st.err != nil:
				b.Fatal(st.err)
			}
			fn(b, st)
		})
	}
}

// open creates the engine's store outside any one benchmark's lifetime and
// seeds it.
func (st *seeded) open(b *testing.B, engine string) {
	ctx := context.Background()
	switch engine {
	case "sqlite":
		dir, err := os.MkdirTemp("", "idcenter-bench-")
		if err != nil {
			st.err = err
			return
		}
		onExit(func() { os.RemoveAll(dir) })
		st.s, st.err = sqlite.Open(ctx, dir)
	case "postgres":
		base := os.Getenv("IDCENTER_TEST_POSTGRES")
		if base == "" {
			st.skip = "IDCENTER_TEST_POSTGRES is not set; PostgreSQL benchmarks skipped"
			return
		}
		rb := make([]byte, 6)
		_, _ = rand.Read(rb)
		schema := "bench_" + hex.EncodeToString(rb)
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			st.err = err
			return
		}
		_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
		conn.Close(ctx)
		if err != nil {
			st.err = err
			return
		}
		onExit(func() {
			if c, err := pgx.Connect(context.Background(), base); err == nil {
				_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
				c.Close(context.Background())
			}
		})
		st.s, st.err = postgres.Open(ctx, testenv.WithSearchPath(b, base, schema))
	}
	if st.err != nil {
		return
	}
	s := st.s
	onExit(func() { s.Close() })
	if _, st.err = s.Migrate(ctx); st.err != nil {
		return
	}
	start := time.Now()
	st.names, st.err = seed(ctx, s)
	if st.err == nil {
		// Fresh planner statistics, as autovacuum or a maintenance job would
		// leave them on a database that grew to this size.
		_, st.err = s.DB().ExecContext(ctx, "ANALYZE")
	}
	st.took = time.Since(start)
	b.Logf("%s: seeded %d users in %v", engine, seedUsers, st.took.Round(time.Millisecond))
}

// seedUser returns a realistic user i: name, display name, two emails, a
// phone, enterprise attributes, and a manager for 49 users out of 50.
func seedUser(i int, ids []string) directory.User {
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := directory.User{
		ID:          ids[i],
		UserName:    fmt.Sprintf("user.%06d", i),
		Name:        directory.Name{GivenName: fmt.Sprintf("Given%d", i), FamilyName: fmt.Sprintf("Family%d", i%977)},
		DisplayName: fmt.Sprintf("Given%d Family%d", i, i%977),
		Title:       "Engineer",
		Active:      i%20 != 0,
		Emails: []directory.MultiValue{
			{Value: fmt.Sprintf("user.%06d@example.com", i), Type: "work", Primary: true},
			{Value: fmt.Sprintf("user.%06d@home.example", i), Type: "home"},
		},
		PhoneNumbers: []directory.MultiValue{{Value: fmt.Sprintf("+1 555 %07d", i), Type: "work"}},
		Enterprise: directory.Enterprise{
			EmployeeNumber: fmt.Sprint(100000 + i), Department: fmt.Sprintf("Dept %d", i%40), CostCenter: fmt.Sprintf("CC-%d", i%200),
		},
		Created: now, LastModified: now, Version: 1,
	}
	if m := i - i%50; m != i {
		u.Enterprise.ManagerID = ids[m]
	}
	return u
}

// seed inserts seedUsers users in seedBatch-sized transactions directly
// through the store, four transactions at a time (PostgreSQL runs them in
// parallel; SQLite's single writer takes them in turn). A user's manager is
// in the same batch, inserted before them.
func seed(ctx context.Context, s *sqlstore.Store) ([]string, error) {
	ids := make([]string, seedUsers)
	names := make([]string, seedUsers)
	for i := range ids {
		ids[i] = uuid.Must(uuid.NewV7()).String()
	}
	batches := make(chan int)
	errc := make(chan error, seedUsers/seedBatch+1)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for start := range batches {
				errc <- s.WithTx(ctx, func(tx *sqlstore.Tx) error {
					for i := start; i < min(start+seedBatch, seedUsers); i++ {
						u := seedUser(i, ids)
						if err := tx.InsertUser(ctx, u); err != nil {
							return fmt.Errorf("seed user %d: %w", i, err)
						}
						names[i] = u.UserName
					}
					return nil
				})
			}
		})
	}
	for start := 0; start < seedUsers; start += seedBatch {
		batches <- start
	}
	close(batches)
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			return nil, err
		}
	}
	return names, nil
}

// latencies collects per-operation times and reports their percentiles.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	s := slices.Clone(l)
	slices.Sort(s)
	pct := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return float64(s[max(i, 0)].Nanoseconds()) / 1e3
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

var createSeq atomic.Int64

// BenchmarkCreateUser creates one user per operation through the directory
// service: validation, one transaction with the insert and its audit event.
func BenchmarkCreateUser(b *testing.B) {
	forEachEngine(b, func(b *testing.B, st *seeded) {
		svc := &directory.Service{Store: st.s.Directory()}
		ctx := context.Background()
		var lat latencies
		b.ReportAllocs()
		for b.Loop() {
			n := createSeq.Add(1)
			u := directory.User{
				UserName: fmt.Sprintf("bench.create.%d.%d", time.Now().UnixNano(), n), Active: true,
				Name:   directory.Name{GivenName: "Bench", FamilyName: "Create"},
				Emails: []directory.MultiValue{{Value: fmt.Sprintf("bench.%d.%d@example.com", time.Now().UnixNano(), n)}},
			}
			t := time.Now()
			if _, err := svc.CreateUser(ctx, audit.System, u); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t))
		}
		lat.report(b)
	})
}

// BenchmarkGetUserByUserName looks up a random seeded user by userName, in
// another case than stored (the lookup is case-insensitive).
func BenchmarkGetUserByUserName(b *testing.B) {
	forEachEngine(b, func(b *testing.B, st *seeded) {
		ctx := context.Background()
		rnd := mrand.New(mrand.NewPCG(1, 2))
		var lat latencies
		b.ReportAllocs()
		for b.Loop() {
			i := rnd.IntN(len(st.names))
			key := "USER." + st.names[i][len("user."):]
			t := time.Now()
			u, err := st.s.GetUserByUserName(ctx, key)
			lat = append(lat, time.Since(t))
			if err != nil {
				b.Fatal(err)
			}
			if u.UserName != st.names[i] {
				b.Fatalf("GetUserByUserName(%q) = %q", key, u.UserName)
			}
		}
		lat.report(b)
	})
}

// BenchmarkListUsers100 reads consecutive pages of 100 users, following the
// cursor and starting over at the end.
func BenchmarkListUsers100(b *testing.B) {
	forEachEngine(b, func(b *testing.B, st *seeded) {
		ctx := context.Background()
		var lat latencies
		cursor := ""
		b.ReportAllocs()
		for b.Loop() {
			t := time.Now()
			page, next, err := st.s.ListUsers(ctx, directory.UserFilter{Cursor: cursor, Limit: 100})
			lat = append(lat, time.Since(t))
			if err != nil {
				b.Fatal(err)
			}
			if len(page) != 100 && next != "" {
				b.Fatalf("page of %d users with a next cursor", len(page))
			}
			cursor = next
		}
		lat.report(b)
	})
}
