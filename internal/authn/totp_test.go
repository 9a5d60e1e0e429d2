package authn_test

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/authn"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

// TestTOTPCodesRFC6238 checks the code generator against the SHA-1 test
// vectors of RFC 6238 appendix B (6 digits: the last six of the 8-digit values).
func TestTOTPCodesRFC6238(t *testing.T) {
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))
	for _, c := range []struct {
		unix int64
		want string
	}{
		{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"},
	} {
		if got := authn.TOTPCodeAt(secret, time.Unix(c.unix, 0)); got != c.want {
			t.Errorf("T=%d: %s, want %s", c.unix, got, c.want)
		}
	}
}

func TestTOTPFlow(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newMFAEnv(t, st, always())
		alice := e.user("alice", "")

		// Enrolment: the wrong password is refused and counted.
		if _, err := e.mfa.BeginTOTP(e.ctx, alice, "wrong password", mfaClient); !errors.Is(err, authn.ErrReauthFailed) {
			t.Fatalf("begin with a wrong password: %v", err)
		}
		setup, err := e.mfa.BeginTOTP(e.ctx, alice, mfaPassword, mfaClient)
		if err != nil {
			t.Fatal(err)
		}
		if len(setup.Secret) != 32 || !strings.HasPrefix(setup.URL, "otpauth://totp/") || !strings.Contains(setup.URL, "issuer=Test") ||
			!strings.HasPrefix(string(setup.QRPNG), "\x89PNG") || strings.ReplaceAll(setup.SecretGroup, " ", "") != setup.Secret {
			t.Fatalf("setup %+v", setup)
		}
		// Not a factor until confirmed: the password step asks for enrolment.
		if out := e.password(alice, ""); !out.Enrol {
			t.Fatal("an unconfirmed app must not count as a factor")
		}
		// The pending setup can be shown again (same secret) until confirmed.
		again, err := e.mfa.PendingTOTP(e.ctx, alice)
		if err != nil || again.Secret != setup.Secret {
			t.Fatalf("pending setup: %v", err)
		}
		wrong := fmt.Sprintf("%06d", (atoi(e.code(setup.Secret))+1)%1000000)
		if err := e.mfa.ConfirmTOTP(e.ctx, alice, wrong, mfaClient); !errors.Is(err, authn.ErrMFAFailed) {
			t.Fatalf("wrong confirmation code: %v", err)
		}
		if err := e.mfa.ConfirmTOTP(e.ctx, alice, e.code(setup.Secret), mfaClient); err != nil {
			t.Fatal(err)
		}
		if _, err := e.mfa.PendingTOTP(e.ctx, alice); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("a confirmed secret must never be shown again: %v", err)
		}
		if _, err := e.mfa.BeginTOTP(e.ctx, alice, mfaPassword, mfaClient); !errors.Is(err, authn.ErrFactorExists) {
			t.Fatalf("second app: %v", err)
		}
		if !e.hasEvent(alice.ID, "mfa.totp.enrol", nil) {
			t.Fatal("no mfa.totp.enrol event")
		}
		// The confirmation code cannot be used to sign in (same step).
		out := e.password(alice, "")
		if out.Pending == "" || out.Enrol {
			t.Fatalf("password step: %+v", out)
		}
		if _, err := e.mfa.SignInTOTP(e.ctx, out.Pending, e.code(setup.Secret), mfaClient, ""); !errors.Is(err, authn.ErrMFAFailed) {
			t.Fatalf("confirmation code reused: %v", err)
		}
		e.clock.Add(30 * time.Second)
		res, err := e.mfa.SignInTOTP(e.ctx, out.Pending, e.code(setup.Secret), mfaClient, "")
		if err != nil {
			t.Fatal(err)
		}
		if !res.Session.MFA || strings.Join(res.Session.Methods, ",") != "PASSWORD,TOTP" || res.SessionToken == "" {
			t.Fatalf("session %+v", res.Session)
		}
		if _, err := e.auth.Sessions.Validate(e.ctx, res.SessionToken); err != nil {
			t.Fatalf("session: %v", err)
		}
		// The pending sign-in is used up.
		if _, err := e.mfa.SignInTOTP(e.ctx, out.Pending, e.code(setup.Secret), mfaClient, ""); !errors.Is(err, authn.ErrTokenInvalid) {
			t.Fatalf("pending reused: %v", err)
		}
		if !e.hasEvent(alice.ID, "signin.success", func(s map[string]any) bool {
			c, _ := s["credentials"].([]any)
			return len(c) == 2 && c[1] == authn.CredTOTP && s["mfa"] == true
		}) {
			t.Fatal("signin.success lacks TOTP")
		}
		if !e.hasEvent(alice.ID, "signin.failure", credIs(authn.CredTOTP)) {
			t.Fatal("signin.failure lacks TOTP")
		}

		// Removal needs the current password.
		if err := e.mfa.RemoveTOTP(e.ctx, alice, "nope nope nope", mfaClient); !errors.Is(err, authn.ErrReauthFailed) {
			t.Fatalf("remove with a wrong password: %v", err)
		}
		if err := e.mfa.RemoveTOTP(e.ctx, alice, mfaPassword, mfaClient); err != nil {
			t.Fatal(err)
		}
		if f, _ := e.mfa.Factors(e.ctx, alice.ID); f.Any() {
			t.Fatal("still has a factor")
		}
		if !e.hasEvent(alice.ID, "mfa.totp.remove", nil) {
			t.Fatal("no mfa.totp.remove event")
		}
	})
}

// TestTOTPWindow: the codes of the previous, current and next 30-second steps
// are accepted, wrong codes and codes two steps away are not, and a code
// (or any older one) works once.
func TestTOTPWindow(t *testing.T) {
	cases := []struct {
		name   string
		offset time.Duration // of the code's time from the server's
		ok     bool
	}{
		{"current step", 0, true},
		{"previous step", -30 * time.Second, true},
		{"next step", 30 * time.Second, true},
		{"two steps back", -60 * time.Second, false},
		{"two steps ahead", 60 * time.Second, false},
		{"an hour ago", -time.Hour, false},
	}
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newMFAEnv(t, st, always())
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				u := e.user(fmt.Sprintf("window%d", i), "")
				secret := e.totpSecret(u)
				e.clock.Add(2 * authn.TOTPPeriod * time.Second) // the enrolment's step is two steps back
				code := authn.TOTPCodeAt(secret, e.clock.Now().Add(c.offset))
				err := e.mfa.VerifyTOTP(e.ctx, u, code)
				if (err == nil) != c.ok {
					t.Fatalf("verify: %v, want ok=%v", err, c.ok)
				}
				if c.ok {
					if err := e.mfa.VerifyTOTP(e.ctx, u, code); !errors.Is(err, authn.ErrMFAFailed) {
						t.Fatalf("replay: %v", err)
					}
				}
			})
		}
		t.Run("older code after a newer one", func(t *testing.T) {
			u := e.user("ordering", "")
			secret := e.totpSecret(u)
			next := authn.TOTPCodeAt(secret, e.clock.Now().Add(30*time.Second))
			cur := e.code(secret)
			if err := e.mfa.VerifyTOTP(e.ctx, u, next); err != nil {
				t.Fatal(err)
			}
			if cur != next {
				if err := e.mfa.VerifyTOTP(e.ctx, u, cur); !errors.Is(err, authn.ErrMFAFailed) {
					t.Fatalf("an older step after a newer one: %v", err)
				}
			}
		})
		t.Run("malformed and wrong", func(t *testing.T) {
			u := e.user("wrong", "")
			secret := e.totpSecret(u)
			good := e.code(secret)
			wrong := fmt.Sprintf("%06d", (atoi(good)+1)%1000000)
			for _, code := range []string{"", "12345", "1234567", "abcdef", "12345a", "１２３４５６", wrong} {
				if err := e.mfa.VerifyTOTP(e.ctx, u, code); !errors.Is(err, authn.ErrMFAFailed) {
					t.Fatalf("code %q: %v", code, err)
				}
			}
			// spaces and a hyphen are fine
			if err := e.mfa.VerifyTOTP(e.ctx, u, " "+good[:3]+"-"+good[3:]+" "); err != nil {
				t.Fatalf("formatted code: %v", err)
			}
		})
	})
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

// TestTOTPConcurrentReplay: N concurrent submissions of one valid code,
// each through its own pending sign-in (as N attackers who know the password
// and saw the code would do), end in exactly one session. PostgreSQL is the
// engine where this races for real; SQLite serialises writers.
func TestTOTPConcurrentReplay(t *testing.T) {
	const n = 16
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newMFAEnv(t, st, always())
		alice := e.user("alice", "")
		secret := e.totpSecret(alice)
		t.Run("VerifyTOTP", func(t *testing.T) {
			code := e.code(secret)
			results := make(chan error, n)
			var start sync.WaitGroup
			start.Add(1)
			for i := 0; i < n; i++ {
				go func() { start.Wait(); results <- e.mfa.VerifyTOTP(e.ctx, alice, code) }()
			}
			start.Done()
			ok := 0
			for i := 0; i < n; i++ {
				err := <-results
				switch {
				case err == nil:
					ok++
				case !errors.Is(err, authn.ErrMFAFailed):
					t.Errorf("unexpected error: %v", err)
				}
			}
			if ok != 1 {
				t.Fatalf("%d of %d concurrent uses succeeded, want exactly 1", ok, n)
			}
		})
		t.Run("SignInTOTP", func(t *testing.T) {
			e.clock.Add(30 * time.Second)
			code := e.code(secret)
			pending := make([]string, n)
			for i := range pending {
				pending[i] = e.password(alice, "").Pending
			}
			e.auth.Lockout.MaxFailures = 1000 // the losers' failures must not lock the account mid-test
			type result struct {
				out authn.MFAOutcome
				err error
			}
			results := make(chan result, n)
			var start sync.WaitGroup
			start.Add(1)
			for i := 0; i < n; i++ {
				go func() {
					start.Wait()
					out, err := e.mfa.SignInTOTP(e.ctx, pending[i], code, mfaClient, "")
					results <- result{out, err}
				}()
			}
			start.Done()
			sessions := 0
			for i := 0; i < n; i++ {
				r := <-results
				var te *authn.ThrottledError
				switch {
				case r.err == nil && r.out.SessionToken != "":
					sessions++
				case errors.Is(r.err, authn.ErrMFAFailed), errors.As(r.err, &te):
				default:
					t.Errorf("unexpected result: %+v %v", r.out, r.err)
				}
			}
			if sessions != 1 {
				t.Fatalf("%d sessions from one code, want exactly 1", sessions)
			}
		})
	})
}

// TestTOTPSeedSealed: the seed is never in the database in the clear (not
// as base32, hex or base64), and a sealed seed moved to another user does
// not open.
func TestTOTPSeedSealed(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newMFAEnv(t, st, always())
		alice, bob := e.user("alice", ""), e.user("bob", "")
		secret := e.totpSecret(alice)
		bobSecret := e.totpSecret(bob)
		raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
		if err != nil {
			t.Fatal(err)
		}
		needles := []string{secret, strings.ToLower(secret), hex.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw),
			base64.RawStdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw)}
		for _, table := range []string{"totp_credentials", "one_time_tokens", "audit_events", "login_throttle", "sessions", "recovery_codes"} {
			dump := dumpTable(t, st, table)
			for _, n := range needles {
				if strings.Contains(dump, n) {
					t.Fatalf("table %s holds the seed in the clear (%q)", table, n)
				}
			}
		}
		var sealed string
		if err := st.DB().QueryRowContext(e.ctx, `SELECT secret_sealed FROM totp_credentials WHERE user_id = $1`, alice.ID).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sealed, "v1:") {
			t.Fatalf("sealed = %q", sealed)
		}
		// Move alice's sealed seed onto bob's row: it must not open there.
		if _, err := st.DB().ExecContext(e.ctx, `UPDATE totp_credentials SET secret_sealed = $1 WHERE user_id = $2`, sealed, bob.ID); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(30 * time.Second)
		if err := e.mfa.VerifyTOTP(e.ctx, bob, e.code(secret)); err == nil {
			t.Fatal("a seed moved to another user's row opened")
		}
		if err := e.mfa.VerifyTOTP(e.ctx, bob, e.code(bobSecret)); err == nil {
			t.Fatal("bob's code worked with a foreign seed")
		}
	})
}

// dumpTable renders every value of every row of table as text.
func dumpTable(t *testing.T, st *sqlstore.Store, table string) string {
	t.Helper()
	rows, err := st.DB().Query(`SELECT * FROM ` + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			switch x := v.(type) {
			case []byte:
				b.Write(x)
			default:
				fmt.Fprint(&b, x)
			}
			b.WriteByte('|')
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// TestEnrolDuringSignIn: with no factor and require_registration, the
// pending sign-in enrols an authenticator app and ends in a session; a
// password alone cannot add a factor once one exists.
func TestEnrolDuringSignIn(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newMFAEnv(t, st, always())
		alice := e.user("alice", "")
		out := e.password(alice, "")
		if !out.Enrol || out.Pending == "" {
			t.Fatalf("password step: %+v", out)
		}
		// the MFA step itself is refused for an enrolment sign-in
		if _, err := e.mfa.SignInTOTP(e.ctx, out.Pending, "123456", mfaClient, ""); !errors.Is(err, authn.ErrTokenInvalid) {
			t.Fatalf("TOTP step on an enrolment: %v", err)
		}
		setup, err := e.mfa.StartEnrolTOTP(e.ctx, out.Pending)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.mfa.ConfirmEnrolTOTP(e.ctx, out.Pending, "not a code", mfaClient, ""); !errors.Is(err, authn.ErrMFAFailed) {
			t.Fatalf("bad code: %v", err)
		}
		res, err := e.mfa.ConfirmEnrolTOTP(e.ctx, out.Pending, e.code(setup.Secret), mfaClient, "")
		if err != nil {
			t.Fatal(err)
		}
		if !res.Session.MFA || strings.Join(res.Session.Methods, ",") != "PASSWORD,TOTP" {
			t.Fatalf("session %+v", res.Session)
		}
		if !e.hasEvent(alice.ID, "mfa.totp.enrol", func(s map[string]any) bool { return s["during"] == "signin" }) {
			t.Fatal("no enrolment event")
		}
		// A second pending sign-in started before the enrolment finished cannot
		// enrol another factor now.
		e.clock.Add(30 * time.Second)
		out2 := e.password(alice, "")
		if out2.Enrol {
			t.Fatal("enrolled user asked to enrol again")
		}
		if _, err := e.mfa.StartEnrolTOTP(e.ctx, out2.Pending); !errors.Is(err, authn.ErrTokenInvalid) {
			t.Fatalf("enrol with a factor present: %v", err)
		}
	})
}

func TestRemoveLastFactorPolicy(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newMFAEnv(t, st, authn.MFAPolicy{Mode: "always", NoDevice: "block"})
		alice := e.user("alice", "")
		e.totpSecret(alice)
		if err := e.mfa.RemoveTOTP(e.ctx, alice, mfaPassword, mfaClient); !errors.Is(err, authn.ErrLastFactor) {
			t.Fatalf("removing the only factor under block: %v", err)
		}
		e.mfa.Policy.NoDevice = "require_registration"
		if err := e.mfa.RemoveTOTP(e.ctx, alice, mfaPassword, mfaClient); err != nil {
			t.Fatal(err)
		}
	})
}
