package scim_test

// Benchmarks of the SCIM server over loopback HTTP, on both engines
// (issue 5, "Performance"); docs/performance.md records the results. They
// run only with -bench (the 100,000-user store is seeded inside the
// benchmark, never by `go test`):
//
//	export IDCENTER_TEST_POSTGRES='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable'
//	go test -run '^$' -bench 'SCIMProvision' -benchtime 1x -count 3 ./internal/scim/
//	go test -run '^$' -bench 'SCIM100k' -benchtime 2002x ./internal/scim/
//
// (One BenchmarkSCIMProvision operation is the whole 1,100-request
// provisioning; in BenchmarkSCIM100k one operation is one request, and
// 2002 pages are two whole exports.)

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/scim"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

// benchClient is a keep-alive HTTP client for up to 16 concurrent requests
// (http.DefaultClient keeps only 2 idle connections per host, so 8 clients
// would keep opening new connections).
var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16, MaxConnsPerHost: 16}}

// call sends one SCIM request and returns the status; the body is decoded
// into out when out is not nil.
func (s *server) call(method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+scimToken)
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := benchClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, err
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// benchLatencies collects request times and reports percentiles.
type benchLatencies []time.Duration

func (l benchLatencies) pct(p float64) time.Duration {
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(i, 0)]
}

func (l benchLatencies) report(b *testing.B, prefix string) {
	if len(l) == 0 {
		return
	}
	b.ReportMetric(float64(l.pct(0.50).Microseconds())/1e3, prefix+"p50-ms")
	b.ReportMetric(float64(l.pct(0.99).Microseconds())/1e3, prefix+"p99-ms")
}

// forEachBenchEngine runs fn per engine on a fresh store and SCIM server.
func forEachBenchEngine(b *testing.B, fn func(b *testing.B, s *server)) {
	for _, e := range testenv.Engines() {
		b.Run(e.Name, func(b *testing.B) { fn(b, newServer(b, e.Open(b))) })
	}
}

// benchUser is a user as Okta and Entra ID create one.
func benchUser(prefix string, i int) map[string]any {
	name := fmt.Sprintf("%s.%04d@example.com", prefix, i)
	return map[string]any{
		"schemas":  []string{scim.URNUser, scim.URNEnterprise},
		"userName": name, "externalId": fmt.Sprintf("%s-%04d", prefix, i), "active": true,
		"name":             map[string]any{"givenName": "Given", "familyName": fmt.Sprintf("Family%d", i)},
		"displayName":      fmt.Sprintf("Given Family%d", i),
		"emails":           []any{map[string]any{"value": name, "type": "work", "primary": true}},
		scim.URNEnterprise: map[string]any{"department": fmt.Sprintf("Dept %d", i%10), "employeeNumber": fmt.Sprint(10000 + i)},
	}
}

// BenchmarkSCIMProvision provisions 1,000 users and 50 groups of 20 members
// with 8 concurrent clients: 1,000 POST /Users, then per group a POST
// /Groups and a PATCH adding its members (1,100 requests). Reported:
// creates/s (user phase), req/s (all), and latencies.
func BenchmarkSCIMProvision(b *testing.B) {
	const users, groups, perGroup, clients = 1000, 50, 20, 8
	forEachBenchEngine(b, func(b *testing.B, s *server) {
		var createLat, allLat benchLatencies
		var userTime, allTime time.Duration
		var mu sync.Mutex
		// run runs jobs on 8 clients and records their latencies.
		run := func(n int, job func(i int) error, lat *benchLatencies) {
			jobs := make(chan int)
			var wg sync.WaitGroup
			for range clients {
				wg.Go(func() {
					for i := range jobs {
						t := time.Now()
						err := job(i)
						d := time.Since(t)
						if err != nil {
							b.Error(err)
						}
						mu.Lock()
						*lat = append(*lat, d)
						allLat = append(allLat, d)
						mu.Unlock()
					}
				})
			}
			for i := range n {
				jobs <- i
			}
			close(jobs)
			wg.Wait()
		}
		round := 0
		for b.Loop() {
			round++
			prefix := fmt.Sprintf("p%d", round)
			ids := make([]string, users)
			start := time.Now()
			run(users, func(i int) error {
				var out struct{ ID string }
				status, err := s.call("POST", "/Users", benchUser(prefix, i), &out)
				if err != nil || status != http.StatusCreated {
					return fmt.Errorf("create user %d: %d %v", i, status, err)
				}
				ids[i] = out.ID
				return nil
			}, &createLat)
			userTime += time.Since(start)
			var groupLat benchLatencies
			run(groups, func(g int) error {
				var out struct{ ID string }
				status, err := s.call("POST", "/Groups", map[string]any{
					"schemas": []string{scim.URNGroup}, "displayName": fmt.Sprintf("%s group %02d", prefix, g), "externalId": fmt.Sprint(prefix, g),
				}, &out)
				if err != nil || status != http.StatusCreated {
					return fmt.Errorf("create group %d: %d %v", g, status, err)
				}
				var members []any
				for _, id := range ids[g*perGroup : (g+1)*perGroup] {
					members = append(members, map[string]any{"value": id})
				}
				t := time.Now()
				status, err = s.call("PATCH", "/Groups/"+out.ID, map[string]any{
					"schemas":    []string{scim.URNPatchOp},
					"Operations": []any{map[string]any{"op": "add", "path": "members", "value": members}},
				}, nil)
				mu.Lock()
				allLat = append(allLat, time.Since(t))
				mu.Unlock()
				if err != nil || status != http.StatusNoContent {
					return fmt.Errorf("add members to group %d: %d %v", g, status, err)
				}
				return nil
			}, &groupLat)
			allTime += time.Since(start)
		}
		b.ReportMetric(float64(users*b.N)/userTime.Seconds(), "creates/s")
		b.ReportMetric(float64(len(allLat))/allTime.Seconds(), "req/s")
		createLat.report(b, "create-")
		allLat.report(b, "all-")
	})
}

// seeded100k is a store holding 100,000 SCIM-visible users, seeded straight
// through the store in transactions of 10,000 (four at a time), as
// internal/store/storetest's benchmarks do.
func seed100k(b *testing.B, st *sqlstore.Store) []string {
	const total, batch = 100_000, 10_000
	ctx := context.Background()
	names := make([]string, total)
	now := time.Now().UTC().Truncate(time.Microsecond)
	start := time.Now()
	batches := make(chan int)
	errc := make(chan error, total/batch)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for from := range batches {
				errc <- st.WithTx(ctx, func(tx *sqlstore.Tx) error {
					for i := from; i < from+batch; i++ {
						u := directory.User{
							ID: uuid.Must(uuid.NewV7()).String(), UserName: fmt.Sprintf("user.%06d@example.com", i),
							ExternalID: fmt.Sprintf("ext-%06d", i), Active: i%20 != 0, ManagedBy: directory.ManagedBySCIM,
							Name:        directory.Name{GivenName: fmt.Sprintf("Given%d", i), FamilyName: fmt.Sprintf("Family%d", i%977)},
							DisplayName: fmt.Sprintf("Given%d Family%d", i, i%977),
							Emails:      []directory.MultiValue{{Value: fmt.Sprintf("user.%06d@example.com", i), Type: "work", Primary: true}},
							Enterprise:  directory.Enterprise{EmployeeNumber: fmt.Sprint(100000 + i), Department: fmt.Sprintf("Dept %d", i%40)},
							Created:     now, LastModified: now, Version: 1,
						}
						if err := tx.InsertUser(ctx, u); err != nil {
							return err
						}
						names[i] = u.UserName
					}
					return nil
				})
			}
		})
	}
	for from := 0; from < total; from += batch {
		batches <- from
	}
	close(batches)
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			b.Fatal(err)
		}
	}
	if _, err := st.DB().ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d users in %v", total, time.Since(start).Round(time.Millisecond))
	return names
}

// BenchmarkSCIM100k runs against 100,000 users per engine:
//
//   - lookup: GET /Users?filter=userName eq "…" of a random user, spelled in
//     upper case (what Okta and Entra ID send before each create or update);
//   - export: GET /Users?startIndex=…&count=100 page after page until every
//     user has been read, as an importer pages through a directory, and
//     again; one operation is one page, export-s the time of a whole
//     export (1,001 pages: use -benchtime 1001x or more).
func BenchmarkSCIM100k(b *testing.B) {
	forEachBenchEngine(b, func(b *testing.B, s *server) {
		names := seed100k(b, s.Store)
		b.Run("lookup", func(b *testing.B) {
			rnd := mrand.New(mrand.NewPCG(1, 2))
			var lat benchLatencies
			for b.Loop() {
				name := names[rnd.IntN(len(names))]
				var out struct {
					TotalResults int
					Resources    []struct{ UserName string }
				}
				t := time.Now()
				status, err := s.call("GET", "/Users?filter="+q(fmt.Sprintf(`userName eq "%s"`, upper(name))), nil, &out)
				lat = append(lat, time.Since(t))
				if err != nil || status != http.StatusOK || out.TotalResults != 1 || out.Resources[0].UserName != name {
					b.Fatalf("lookup %s: %d %v %+v", name, status, err, out)
				}
			}
			lat.report(b, "")
		})
		b.Run("export", func(b *testing.B) {
			var pages benchLatencies
			var passes []time.Duration // complete exports
			var pass time.Duration
			seen, start := 0, 1
			for b.Loop() {
				var out struct {
					TotalResults int
					Resources    []struct{ ID string }
				}
				t := time.Now()
				status, err := s.call("GET", fmt.Sprintf("/Users?startIndex=%d&count=100", start), nil, &out)
				d := time.Since(t)
				if err != nil || status != http.StatusOK {
					b.Fatalf("page at %d: %d %v", start, status, err)
				}
				pages = append(pages, d)
				pass += d
				seen += len(out.Resources)
				start += 100
				if len(out.Resources) < 100 {
					if seen != len(names) || out.TotalResults != len(names) {
						b.Fatalf("export read %d users, totalResults %d, want %d", seen, out.TotalResults, len(names))
					}
					passes = append(passes, pass)
					pass, seen, start = 0, 0, 1
				}
			}
			pages.report(b, "page-")
			if len(passes) > 0 {
				var sum time.Duration
				for _, p := range passes {
					sum += p
				}
				b.ReportMetric((sum / time.Duration(len(passes))).Seconds(), "export-s")
			}
		})
	})
}

func upper(s string) string {
	out := []byte(s)
	for i, c := range out {
		if 'a' <= c && c <= 'z' {
			out[i] = c - 'a' + 'A'
		}
	}
	return string(out)
}
