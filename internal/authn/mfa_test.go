package authn_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/authn"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/keys"
	"github.com/idcenter/idcenter/internal/session"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

// mfaStart is 15 seconds into a TOTP time step, so ±1 step is ±30 s away
// from the middle of a step.
var mfaStart = time.Unix(1_950_000_015, 0).UTC()

const mfaPassword = "correct horse battery staple"

var mfaClient = authn.Client{IP: "198.51.100.7", UserAgent: "mfa-test"}

type mfaClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *mfaClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *mfaClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mfaEnv is the real store with sign-in, sessions and MFA on a fake clock.
type mfaEnv struct {
	t     *testing.T
	ctx   context.Context
	st    *sqlstore.Store
	dir   *directory.Service
	auth  *authn.Service
	mfa   *authn.MFAService
	clock *mfaClock
	keep  map[string]string // TOTP secrets by user id
}

func newMFAEnv(t *testing.T, st *sqlstore.Store, pol authn.MFAPolicy) *mfaEnv {
	t.Helper()
	clk := &mfaClock{t: mfaStart}
	h := authn.NewHasher(authn.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, 4)
	sess := &session.Service{Store: st, Now: clk.Now}
	a := &authn.Service{Store: st, Hasher: h, Sessions: sess, Now: clk.Now}
	kr, err := keys.New(bytes.Repeat([]byte{7}, keys.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	wa, err := authn.NewWebAuthn(testOrigin, "Test IdP")
	if err != nil {
		t.Fatal(err)
	}
	m := &authn.MFAService{Auth: a, Store: st, Keys: kr, Policy: pol, Issuer: "Test IdP", WebAuthn: wa}
	a.MFA = m
	return &mfaEnv{t: t, ctx: context.Background(), st: st, dir: &directory.Service{Store: st.Directory(), Hasher: h, Now: clk.Now},
		auth: a, mfa: m, clock: clk, keep: map[string]string{}}
}

func always() authn.MFAPolicy {
	return authn.MFAPolicy{Mode: authn.MFAModeAlways, NoDevice: authn.NoDeviceRequireRegistration}
}

// user creates an active user with mfaPassword.
func (e *mfaEnv) user(name, role string) directory.User {
	e.t.Helper()
	u, err := e.dir.CreateUser(e.ctx, audit.System, directory.User{UserName: name, Active: true, Role: role})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.dir.SetPassword(e.ctx, audit.System, name, mfaPassword); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// password runs the password step and fails the test on error.
func (e *mfaEnv) password(u directory.User, remembered string) authn.Outcome {
	e.t.Helper()
	out, err := e.auth.PasswordStep(e.ctx, u.UserName, mfaPassword, mfaClient, remembered, "")
	if err != nil {
		e.t.Fatalf("password step: %v", err)
	}
	return out
}

// enrolTOTP sets up and confirms an authenticator app for u, then moves the
// clock to the next time step; it returns the base32 secret.
func (e *mfaEnv) enrolTOTP(u directory.User) string {
	e.t.Helper()
	s, err := e.mfa.BeginTOTP(e.ctx, u, mfaPassword, mfaClient)
	if err != nil {
		e.t.Fatalf("begin TOTP: %v", err)
	}
	if err := e.mfa.ConfirmTOTP(e.ctx, u, authn.TOTPCodeAt(s.Secret, e.clock.Now()), mfaClient); err != nil {
		e.t.Fatalf("confirm TOTP: %v", err)
	}
	e.clock.Add(authn.TOTPPeriod * time.Second)
	return s.Secret
}

func (e *mfaEnv) code(secret string) string { return authn.TOTPCodeAt(secret, e.clock.Now()) }

// events returns the audit events about user (newest first).
func (e *mfaEnv) events(userID string) []audit.Event {
	e.t.Helper()
	evs, _, err := e.st.ListAudit(e.ctx, audit.Filter{Target: userID, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func (e *mfaEnv) hasEvent(userID, action string, match func(map[string]any) bool) bool {
	for _, ev := range e.events(userID) {
		if ev.Action == action && (match == nil || match(ev.Summary)) {
			return true
		}
	}
	return false
}

func credIs(cred string) func(map[string]any) bool {
	return func(s map[string]any) bool { return s["credential"] == cred }
}

func TestMFAPolicy(t *testing.T) {
	type factor int
	const (
		none factor = iota
		totp
	)
	cases := []struct {
		name       string
		pol        authn.MFAPolicy
		role       string
		factor     factor
		remembered bool // a remembered-device token of this user
		need       bool
		enrol      bool
	}{
		{"always/user/no factor/register", authn.MFAPolicy{Mode: "always", NoDevice: "require_registration"}, "", none, false, true, true},
		{"always/user/no factor/block", authn.MFAPolicy{Mode: "always", NoDevice: "block"}, "", none, false, true, false},
		{"always/user/no factor/allow", authn.MFAPolicy{Mode: "always", NoDevice: "allow"}, "", none, false, false, false},
		{"always/user/factor", authn.MFAPolicy{Mode: "always", NoDevice: "allow"}, "", totp, false, true, false},
		{"always/user/factor/remembered", authn.MFAPolicy{Mode: "always", NoDevice: "allow", RememberDevice: time.Hour}, "", totp, true, true, false},
		{"context/user/factor/new browser", authn.MFAPolicy{Mode: "context", NoDevice: "allow", RememberDevice: time.Hour}, "", totp, false, true, false},
		{"context/user/factor/remembered", authn.MFAPolicy{Mode: "context", NoDevice: "allow", RememberDevice: time.Hour}, "", totp, true, false, false},
		{"context/user/no factor/register", authn.MFAPolicy{Mode: "context", NoDevice: "require_registration", RememberDevice: time.Hour}, "", none, false, true, true},
		{"context/user/no factor/allow", authn.MFAPolicy{Mode: "context", NoDevice: "allow", RememberDevice: time.Hour}, "", none, false, false, false},
		{"never/user/factor", authn.MFAPolicy{Mode: "never", NoDevice: "require_registration"}, "", totp, false, false, false},
		{"never/user/no factor", authn.MFAPolicy{Mode: "never", NoDevice: "block"}, "", none, false, false, false},
		{"never/admin/factor", authn.MFAPolicy{Mode: "never", NoDevice: "allow"}, "admin", totp, false, true, false},
		{"never/admin/no factor/register", authn.MFAPolicy{Mode: "never", NoDevice: "require_registration"}, "admin", none, false, true, true},
		{"never/admin/no factor/allow acts as register", authn.MFAPolicy{Mode: "never", NoDevice: "allow"}, "admin", none, false, true, true},
		{"never/admin/no factor/block", authn.MFAPolicy{Mode: "never", NoDevice: "block"}, "admin", none, false, true, false},
		{"context/admin/remembered still needs MFA", authn.MFAPolicy{Mode: "context", NoDevice: "allow", RememberDevice: time.Hour}, "admin", totp, true, true, false},
		{"never/admin exempt", authn.MFAPolicy{Mode: "never", NoDevice: "require_registration", AdminsExempt: true}, "admin", totp, false, false, false},
		{"context/admin exempt/remembered", authn.MFAPolicy{Mode: "context", NoDevice: "allow", AdminsExempt: true, RememberDevice: time.Hour}, "admin", totp, true, false, false},
		{"always/admin exempt", authn.MFAPolicy{Mode: "always", NoDevice: "allow", AdminsExempt: true}, "admin", totp, false, true, false},
		{"always/auditor no factor allow", authn.MFAPolicy{Mode: "always", NoDevice: "allow"}, "auditor", none, false, false, false},
	}
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e := newMFAEnv(t, st, c.pol)
				u := e.user("user"+string(rune('a'+i)), c.role)
				if c.factor == totp {
					e.totpSecret(u)
				}
				remembered := ""
				if c.remembered {
					remembered = e.rememberedToken(u)
				}
				need, enrol, err := e.mfa.Required(e.ctx, u, remembered)
				if err != nil {
					t.Fatal(err)
				}
				if need != c.need || enrol != c.enrol {
					t.Fatalf("Required = need %v enrol %v, want need %v enrol %v", need, enrol, c.need, c.enrol)
				}
				// The password step follows the decision.
				out := e.password(u, remembered)
				if (out.Pending != "") != c.need || out.Enrol != c.enrol || (out.SessionToken != "") == c.need {
					t.Fatalf("password step: pending %v enrol %v session %v", out.Pending != "", out.Enrol, out.SessionToken != "")
				}
				if c.need && !c.enrol && c.factor == none {
					st, err := e.mfa.Pending(e.ctx, out.Pending)
					if err != nil || !st.Blocked {
						t.Fatalf("blocked user: %+v %v", st, err)
					}
				}
			})
		}
	})
}

// rememberedToken signs u in with a second factor in "context" mode and
// returns the remembered-device token it sets.
func (e *mfaEnv) rememberedToken(u directory.User) string {
	e.t.Helper()
	pol := e.mfa.Policy
	e.mfa.Policy = authn.MFAPolicy{Mode: authn.MFAModeContext, NoDevice: authn.NoDeviceAllow, RememberDevice: time.Hour}
	defer func() { e.mfa.Policy = pol }()
	secret := e.totpSecret(u)
	out := e.password(u, "")
	res, err := e.mfa.SignInTOTP(e.ctx, out.Pending, e.code(secret), mfaClient, "")
	if err != nil {
		e.t.Fatalf("sign in to remember: %v", err)
	}
	if res.DeviceToken == "" || res.DeviceTTL != time.Hour {
		e.t.Fatalf("no device token: %+v", res)
	}
	e.clock.Add(authn.TOTPPeriod * time.Second)
	return res.DeviceToken
}

// totpSecret returns u's secret, enrolling one when needed (tests keep it).
func (e *mfaEnv) totpSecret(u directory.User) string {
	e.t.Helper()
	if s, ok := e.keep[u.ID]; ok {
		return s
	}
	s := e.enrolTOTP(u)
	e.keep[u.ID] = s
	return s
}

func TestRememberedDevice(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newMFAEnv(t, st, authn.MFAPolicy{Mode: "context", NoDevice: "require_registration", RememberDevice: 24 * time.Hour})
		alice, bob := e.user("alice", ""), e.user("bob", "")
		secret := e.totpSecret(alice)
		e.totpSecret(bob)

		out := e.password(alice, "")
		if out.Pending == "" {
			t.Fatal("a new browser needs MFA")
		}
		res, err := e.mfa.SignInTOTP(e.ctx, out.Pending, e.code(secret), mfaClient, "")
		if err != nil {
			t.Fatal(err)
		}
		device := res.DeviceToken
		if device == "" || res.DeviceTTL != 24*time.Hour || !res.Session.MFA {
			t.Fatalf("outcome %+v", res)
		}
		// the cookie's value is not stored, only its hash
		var n int
		if err := st.DB().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM remembered_devices WHERE token_hash = $1`, device).Scan(&n); err != nil || n != 0 {
			t.Fatalf("raw device token stored: %d %v", n, err)
		}
		cases := []struct {
			name    string
			user    directory.User
			token   string
			advance time.Duration
			need    bool
		}{
			{"same browser skips MFA", alice, device, 0, false},
			{"another user's browser token", bob, device, 0, true},
			{"garbage token", alice, "not-a-token", 0, true},
			{"expired", alice, device, 25 * time.Hour, true},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e.clock.Add(c.advance)
				need, _, err := e.mfa.Required(e.ctx, c.user, c.token)
				if err != nil || need != c.need {
					t.Fatalf("need = %v, %v; want %v", need, err, c.need)
				}
			})
		}
		// an admin reset forgets remembered browsers
		e.clock.Add(-25 * time.Hour)
		if need, _, _ := e.mfa.Required(e.ctx, alice, device); need {
			t.Fatal("precondition: device remembered")
		}
		if err := e.mfa.ResetUser(e.ctx, audit.System, alice.ID); err != nil {
			t.Fatal(err)
		}
		if need, enrol, _ := e.mfa.Required(e.ctx, alice, device); !need || !enrol {
			t.Fatal("reset user must enrol again, remembered browser forgotten")
		}
	})
}

func TestResetUser(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newMFAEnv(t, st, always())
		alice := e.user("alice", "")
		secret := e.totpSecret(alice)
		if _, err := e.mfa.GenerateRecoveryCodes(e.ctx, alice, mfaPassword, mfaClient); err != nil {
			t.Fatal(err)
		}
		out := e.password(alice, "")
		res, err := e.mfa.SignInTOTP(e.ctx, out.Pending, e.code(secret), mfaClient, "")
		if err != nil {
			t.Fatal(err)
		}
		pending := e.password(alice, "").Pending

		user := audit.Actor{Type: audit.ActorUser, ID: alice.ID, Name: "alice"}
		if err := e.mfa.ResetUser(e.ctx, user, alice.ID); !errors.Is(err, errs.ErrForbidden) {
			t.Fatalf("non-admin reset: %v", err)
		}
		admin := audit.Actor{Type: audit.ActorUser, ID: "admin-1", Name: "root", Role: audit.RoleAdmin}
		if err := e.mfa.ResetUser(e.ctx, admin, "no-such-user"); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("unknown user: %v", err)
		}
		if err := e.mfa.ResetUser(e.ctx, admin, alice.ID); err != nil {
			t.Fatal(err)
		}
		f, err := e.mfa.Factors(e.ctx, alice.ID)
		if err != nil || f.Any() || f.TOTPPending || f.RecoveryCodes != 0 {
			t.Fatalf("factors after reset: %+v %v", f, err)
		}
		if _, err := e.auth.Sessions.Validate(e.ctx, res.SessionToken); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("session survived the reset: %v", err)
		}
		if _, err := e.mfa.Pending(e.ctx, pending); !errors.Is(err, authn.ErrTokenInvalid) {
			t.Fatalf("pending sign-in survived the reset: %v", err)
		}
		n := 0
		for _, ev := range e.events(alice.ID) {
			if ev.Action == "mfa.reset" {
				n++
				if ev.Actor.Name != "root" || ev.Summary["totp"] != true || ev.Summary["sessionsEnded"] == float64(0) {
					t.Fatalf("reset event: %+v", ev)
				}
			}
		}
		if n != 1 {
			t.Fatalf("%d mfa.reset events", n)
		}
	})
}

// TestSecondFactorLockout: wrong second factors count toward the account
// lockout (with passwords) and lock the MFA step after MFAMaxFailures, even
// though a correct password resets the password counter.
func TestSecondFactorLockout(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newMFAEnv(t, st, always())
		alice := e.user("alice", "")
		secret := e.totpSecret(alice)
		var throttled *authn.ThrottledError
		for i := 0; i < authn.MFAMaxFailures; i++ {
			out := e.password(alice, "")
			_, err := e.mfa.SignInTOTP(e.ctx, out.Pending, "000000", mfaClient, "")
			if errors.As(err, &throttled) {
				e.clock.Add(throttled.RetryAfter) // back-off between attempts
				_, err = e.mfa.SignInTOTP(e.ctx, out.Pending, "000000", mfaClient, "")
			}
			if !errors.Is(err, authn.ErrMFAFailed) {
				t.Fatalf("attempt %d: %v", i, err)
			}
			e.clock.Add(35 * time.Second)
		}
		out := e.password(alice, "")
		_, err := e.mfa.SignInTOTP(e.ctx, out.Pending, e.code(secret), mfaClient, "")
		if !errors.As(err, &throttled) {
			t.Fatalf("after %d failures a right code must be refused: %v", authn.MFAMaxFailures, err)
		}
		if !e.hasEvent(alice.ID, "user.lockout", nil) || !e.hasEvent(alice.ID, "signin.failure", credIs(authn.CredTOTP)) {
			t.Fatal("lockout and failures not audited")
		}
		e.clock.Add(authn.MFAWindow + time.Second)
		out = e.password(alice, "")
		if _, err := e.mfa.SignInTOTP(e.ctx, out.Pending, e.code(secret), mfaClient, ""); err != nil {
			t.Fatalf("after the lock: %v", err)
		}
	})
}
