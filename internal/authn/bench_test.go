package authn_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/authn"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/session"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

// BenchmarkArgon2idHash is the raw cost of one password hash with the
// default parameters (m=19 MiB, t=2, p=1).
func BenchmarkArgon2idHash(b *testing.B) {
	h := authn.NewHasher(authn.DefaultArgon2, 1)
	phc, _ := h.Hash("correct horse battery staple")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ok, _ := h.Verify("correct horse battery staple", phc); !ok {
			b.Fatal("verify")
		}
	}
}

// BenchmarkPasswordSignIn is a whole successful password sign-in through
// the service: throttle check, user and hash lookup, argon2id verify, and
// the transaction that clears the counter, creates the session and writes
// the audit event. Run with -cpu 1 for "per core".
func BenchmarkPasswordSignIn(b *testing.B) {
	for _, e := range testenv.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			st := e.Open(b)
			h := authn.NewHasher(authn.DefaultArgon2, 1)
			dir := &directory.Service{Store: st.Directory(), Hasher: h}
			ctx := context.Background()
			dir.CreateUser(ctx, audit.System, directory.User{UserName: "bench", Active: true})
			dir.SetPassword(ctx, audit.System, "bench", "correct horse battery staple")
			svc := &authn.Service{Store: st, Hasher: h, Sessions: &session.Service{Store: st}}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := svc.PasswordStep(ctx, "bench", "correct horse battery staple", authn.Client{IP: "192.0.2.1"}, "", ""); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signins/s")
		})
	}
}

// BenchmarkSessionValidate is the per-request cost of a session cookie:
// hash the token, look the session up, check expiry (the touch is throttled
// to once a minute, as in production). Reports the median.
func BenchmarkSessionValidate(b *testing.B) {
	for _, e := range testenv.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			st := e.Open(b)
			benchValidate(b, st)
		})
	}
}

func benchValidate(b *testing.B, st *sqlstore.Store) {
	ctx := context.Background()
	dir := &directory.Service{Store: st.Directory()}
	u, _ := dir.CreateUser(ctx, audit.System, directory.User{UserName: "bench", Active: true})
	s := &session.Service{Store: st}
	var tok string
	_ = st.WithSessionTx(ctx, func(tx session.Tx) error {
		var err error
		_, tok, err = s.CreateTx(ctx, tx, session.NewRequest{UserID: u.ID})
		return err
	})
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := s.Validate(ctx, tok); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkFailedSignIn compares a wrong password for an existing user with
// an unknown username (WEB-12): both should cost one argon2id hash, so the
// response time does not tell whether an account exists.
func BenchmarkFailedSignIn(b *testing.B) {
	st := testenv.OpenSQLite(b)
	h := authn.NewHasher(authn.DefaultArgon2, 1)
	dir := &directory.Service{Store: st.Directory(), Hasher: h}
	ctx := context.Background()
	dir.CreateUser(ctx, audit.System, directory.User{UserName: "bench", Active: true})
	dir.SetPassword(ctx, audit.System, "bench", "correct horse battery staple")
	svc := &authn.Service{Store: st, Hasher: h, Sessions: &session.Service{Store: st},
		// a 1 ns window: earlier failures never throttle, so every attempt is checked
		Lockout: authn.Lockout{MaxFailures: 1 << 30, IPMaxFailures: 1 << 30, Duration: time.Nanosecond}}
	for _, c := range []struct{ name, user string }{{"known-user", "bench"}, {"unknown-user", "nobody"}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				ip := authn.Client{IP: "10.0." + itoa(i/250%250) + "." + itoa(i%250)}
				user := c.user
				if c.user == "nobody" {
					user = "nobody" + itoa(i)
				}
				_, _ = svc.PasswordStep(ctx, user, "wrong password", ip, "", "")
			}
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for n > 0 {
		s = string(rune('0'+n%10)) + s
		n /= 10
	}
	return s
}
