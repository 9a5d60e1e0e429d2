package authn_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/authn"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/session"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

var fast = authn.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

type fixture struct {
	st    *sqlstore.Store
	auth  *authn.Service
	dir   *directory.Service
	clock *clock
	alice directory.User
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func setup(t *testing.T, st *sqlstore.Store) *fixture {
	t.Helper()
	ck := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	h := authn.NewHasher(fast, 2)
	dir := &directory.Service{Store: st.Directory(), Hasher: h, Now: ck.Now}
	sess := &session.Service{Store: st, Now: ck.Now}
	a := &authn.Service{Store: st, Hasher: h, Sessions: sess, Now: ck.Now,
		Lockout: authn.Lockout{MaxFailures: 5, Duration: 15 * time.Minute, IPMaxFailures: 50}}
	ctx := context.Background()
	u, err := dir.CreateUser(ctx, audit.System, directory.User{UserName: "alice", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := dir.SetPassword(ctx, audit.System, "alice", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, auth: a, dir: dir, clock: ck, alice: u}
}

var cl = authn.Client{IP: "192.0.2.1", UserAgent: "test"}

func TestPasswordSignIn(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		f := setup(t, st)
		ctx := context.Background()
		out, err := f.auth.PasswordStep(ctx, "ALICE", "correct horse battery", cl, "", "")
		if err != nil || out.SessionToken == "" || out.Session.UserID != f.alice.ID {
			t.Fatalf("sign-in: %+v %v", out, err)
		}
		if got, err := f.auth.Sessions.Validate(ctx, out.SessionToken); err != nil || got.ID != out.Session.ID {
			t.Fatalf("validate: %v", err)
		}
		// every failure is the same error
		for _, c := range []struct{ user, pw string }{
			{"alice", "wrong password"}, {"nobody", "correct horse battery"}, {"", ""}, {"alice", ""},
		} {
			if _, err := f.auth.PasswordStep(ctx, c.user, c.pw, authn.Client{IP: "198.51.100.1"}, "", ""); !errors.Is(err, authn.ErrSignInFailed) {
				t.Errorf("%q/%q: %v", c.user, c.pw, err)
			}
		}
		// disabled users fail with the same message, even with the right password
		f.clock.Add(time.Hour)
		if _, err := f.dir.UpdateUser(ctx, audit.System, "alice", 0, func(u *directory.User) error { u.Active = false; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := f.auth.PasswordStep(ctx, "alice", "correct horse battery", cl, "", ""); !errors.Is(err, authn.ErrSignInFailed) {
			t.Fatalf("disabled user: %v", err)
		}
		// and their session ended when they were disabled
		if _, err := f.auth.Sessions.Validate(ctx, out.SessionToken); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("session of disabled user: %v", err)
		}
		evs, _, _ := st.ListAudit(ctx, audit.Filter{Action: "signin.", Limit: 100})
		var ok, fail int
		for _, e := range evs {
			switch e.Action {
			case "signin.success":
				ok++
			case "signin.failure":
				fail++
				if e.Summary["credential"] != authn.CredPassword || e.Summary["reason"] == nil {
					t.Errorf("failure event %v", e.Summary)
				}
			}
		}
		if ok != 1 || fail != 5 {
			t.Fatalf("audit: %d successes, %d failures", ok, fail)
		}
	})
}

func TestLockoutAndBackoff(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		f := setup(t, st)
		ctx := context.Background()
		fail := func() error {
			_, err := f.auth.PasswordStep(ctx, "alice", "nope", cl, "", "")
			return err
		}
		var te *authn.ThrottledError
		for i := 1; i <= 5; i++ {
			err := fail()
			if i <= 3 && !errors.Is(err, authn.ErrSignInFailed) {
				t.Fatalf("failure %d: %v", i, err)
			}
			if i == 4 {
				// back-off after the third failure: an immediate retry is refused
				if !errors.As(err, &te) {
					t.Fatalf("attempt 4 without back-off: %v", err)
				}
				f.clock.Add(2 * time.Second)
				if err := fail(); !errors.Is(err, authn.ErrSignInFailed) {
					t.Fatalf("after back-off: %v", err)
				}
			}
			if i == 5 {
				f.clock.Add(10 * time.Second)
				if err := fail(); !errors.Is(err, authn.ErrSignInFailed) {
					t.Fatalf("5th failure: %v", err)
				}
			}
		}
		// locked: even the right password is refused, with a retry time
		f.clock.Add(time.Minute)
		if _, err := f.auth.PasswordStep(ctx, "alice", "correct horse battery", cl, "", ""); !errors.As(err, &te) || te.RetryAfter < 10*time.Minute {
			t.Fatalf("locked account: %v", err)
		}
		if until, _ := f.auth.Locked(ctx, f.alice); until == nil {
			t.Fatal("Locked reports nothing")
		}
		// an auditor cannot unlock; an admin can, with an audit event
		if err := f.auth.Unlock(ctx, audit.Actor{Type: "user", Role: "auditor"}, f.alice); err == nil {
			t.Fatal("auditor unlocked")
		}
		if err := f.auth.Unlock(ctx, audit.Actor{Type: "user", Name: "root", Role: "admin"}, f.alice); err != nil {
			t.Fatal(err)
		}
		if _, err := f.auth.PasswordStep(ctx, "alice", "correct horse battery", cl, "", ""); err != nil {
			t.Fatalf("after unlock: %v", err)
		}
		evs, _, _ := st.ListAudit(ctx, audit.Filter{Action: "user.", Limit: 100})
		actions := map[string]bool{}
		for _, e := range evs {
			actions[e.Action] = true
		}
		if !actions["user.lockout"] || !actions["user.unlock"] {
			t.Fatalf("audit lacks lockout/unlock: %v", actions)
		}
		// the lock also expires by itself
		for i := 0; i < 5; i++ {
			f.clock.Add(time.Minute)
			_ = fail()
		}
		f.clock.Add(16 * time.Minute)
		if _, err := f.auth.PasswordStep(ctx, "alice", "correct horse battery", cl, "", ""); err != nil {
			t.Fatalf("after the lock expired: %v", err)
		}
	})
}

// TestLockoutCountsAcrossReplicas: failures made concurrently through two
// services sharing one database are all counted (the counter is one atomic
// upsert in the store, not process memory).
func TestLockoutCountsAcrossReplicas(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		f := setup(t, st)
		other := authn.Service{Store: f.auth.Store, Hasher: f.auth.Hasher, Sessions: f.auth.Sessions, Now: f.auth.Now, Lockout: f.auth.Lockout}
		other.Lockout.MaxFailures = 1000
		f.auth.Lockout.MaxFailures = 1000
		ctx := context.Background()
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			s := f.auth
			if i%2 == 1 {
				s = &other
			}
			go func() {
				defer wg.Done()
				_, _ = s.PasswordStep(ctx, "alice", "nope", authn.Client{IP: "203.0.113.5"}, "", "")
			}()
		}
		wg.Wait()
		th, err := st.GetThrottle(ctx, "user:alice")
		if err != nil {
			t.Fatal(err)
		}
		// a few attempts may be refused by the back-off check before
		// counting; every attempt that was checked is counted exactly once
		evs, _, _ := st.ListAudit(ctx, audit.Filter{Action: "signin.failure", Limit: 1000})
		counted := 0
		for _, e := range evs {
			if e.Summary["reason"] != "throttled" {
				counted++
			}
		}
		if th.Failures != counted || counted < 3 {
			t.Fatalf("counter %d, counted failures %d", th.Failures, counted)
		}
	})
}

func TestChangePassword(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		f := setup(t, st)
		ctx := context.Background()
		a, _ := f.auth.PasswordStep(ctx, "alice", "correct horse battery", cl, "", "")
		b, _ := f.auth.PasswordStep(ctx, "alice", "correct horse battery", cl, "", "")
		if err := f.auth.ChangePassword(ctx, f.alice, a.Session.ID, "wrong", "a brand new passphrase"); !errors.Is(err, authn.ErrSignInFailed) {
			t.Fatalf("wrong current password: %v", err)
		}
		if err := f.auth.ChangePassword(ctx, f.alice, a.Session.ID, "correct horse battery", "short"); err == nil {
			t.Fatal("short password accepted")
		}
		if err := f.auth.ChangePassword(ctx, f.alice, a.Session.ID, "correct horse battery", "a brand new passphrase"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.auth.Sessions.Validate(ctx, a.SessionToken); err != nil {
			t.Fatalf("current session ended: %v", err)
		}
		if _, err := f.auth.Sessions.Validate(ctx, b.SessionToken); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("other session survived: %v", err)
		}
		if _, err := f.auth.PasswordStep(ctx, "alice", "correct horse battery", cl, "", ""); !errors.Is(err, authn.ErrSignInFailed) {
			t.Fatal("old password still works")
		}
		if _, err := f.auth.PasswordStep(ctx, "alice", "a brand new passphrase", cl, "", ""); err != nil {
			t.Fatalf("new password: %v", err)
		}
	})
}

// TestPasswordSprayingIsThrottledPerIP (WEB-11): one password tried against
// many usernames from one address blocks that address, while the same
// user from another address still signs in.
func TestPasswordSprayingIsThrottledPerIP(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		f := setup(t, st)
		f.auth.Lockout.IPMaxFailures = 8
		ctx := context.Background()
		sprayer := authn.Client{IP: "203.0.113.66"}
		for i := 0; i < 8; i++ {
			user := "user" + string(rune('a'+i))
			if _, err := f.auth.PasswordStep(ctx, user, "Summer2026!", sprayer, "", ""); !errors.Is(err, authn.ErrSignInFailed) {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		var te *authn.ThrottledError
		if _, err := f.auth.PasswordStep(ctx, "alice", "correct horse battery", sprayer, "", ""); !errors.As(err, &te) {
			t.Fatalf("spraying address not blocked: %v", err)
		}
		if _, err := f.auth.PasswordStep(ctx, "alice", "correct horse battery", authn.Client{IP: "198.51.100.20"}, "", ""); err != nil {
			t.Fatalf("legitimate user from another address: %v", err)
		}
	})
}
