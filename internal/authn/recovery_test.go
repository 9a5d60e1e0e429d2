package authn_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/authn"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

func TestRecoveryCodes(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newMFAEnv(t, st, always())
		alice, bob := e.user("alice", ""), e.user("bob", "")

		if _, err := e.mfa.GenerateRecoveryCodes(e.ctx, alice, mfaPassword, mfaClient); !errors.Is(err, authn.ErrNoFactor) {
			t.Fatalf("codes without a factor: %v", err)
		}
		e.totpSecret(alice)
		e.totpSecret(bob)
		if _, err := e.mfa.GenerateRecoveryCodes(e.ctx, alice, "wrong password!", mfaClient); !errors.Is(err, authn.ErrReauthFailed) {
			t.Fatalf("wrong password: %v", err)
		}
		codes, err := e.mfa.GenerateRecoveryCodes(e.ctx, alice, mfaPassword, mfaClient)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, c := range codes {
			if len(c) != 14 || c[4] != '-' || c[9] != '-' || seen[c] {
				t.Fatalf("code %q", c)
			}
			seen[c] = true
		}
		if len(codes) != authn.RecoveryCodeCount {
			t.Fatalf("%d codes", len(codes))
		}
		// stored hashed
		dump := dumpTable(t, st, "recovery_codes") + dumpTable(t, st, "audit_events")
		for _, c := range codes {
			n, _ := authn.ParseRecoveryCode(c)
			if strings.Contains(dump, c) || strings.Contains(dump, n) {
				t.Fatalf("recovery code %s stored in the clear", c)
			}
		}
		if f, _ := e.mfa.Factors(e.ctx, alice.ID); f.RecoveryCodes != 10 {
			t.Fatalf("count %d", f.RecoveryCodes)
		}

		cases := []struct {
			name, code string
			ok         bool
		}{
			{"valid", codes[0], true},
			{"used", codes[0], false},
			{"upper case without hyphens", strings.ToUpper(strings.ReplaceAll(codes[1], "-", "")), true},
			{"with spaces", " " + strings.ReplaceAll(codes[2], "-", " ") + " ", true},
			{"unknown", "abcd-efgh-jkmn", false},
			{"malformed", "not a code", false},
			{"empty", "", false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				out := e.password(alice, "")
				res, err := e.mfa.SignInRecoveryCode(e.ctx, out.Pending, c.code, mfaClient, "")
				if c.ok != (err == nil) {
					t.Fatalf("sign in with %q: %v", c.code, err)
				}
				if c.ok && (!res.Session.MFA || res.Session.Methods[len(res.Session.Methods)-1] != authn.CredRecoveryCode) {
					t.Fatalf("session %+v", res.Session)
				}
				if !c.ok && !errors.Is(err, authn.ErrMFAFailed) {
					t.Fatalf("error %v", err)
				}
			})
		}
		// bob cannot use alice's codes
		out := e.password(bob, "")
		if _, err := e.mfa.SignInRecoveryCode(e.ctx, out.Pending, codes[3], mfaClient, ""); !errors.Is(err, authn.ErrMFAFailed) {
			t.Fatalf("another user's code: %v", err)
		}
		if !e.hasEvent(alice.ID, "signin.failure", credIs(authn.CredRecoveryCode)) || !e.hasEvent(alice.ID, "mfa.recovery_codes.generate", nil) {
			t.Fatal("audit events missing")
		}
		// Regenerating replaces the old codes. (Four failures above: let the
		// MFA step's failure window pass first.)
		e.clock.Add(authn.MFAWindow + time.Second)
		fresh, err := e.mfa.GenerateRecoveryCodes(e.ctx, alice, mfaPassword, mfaClient)
		if err != nil {
			t.Fatal(err)
		}
		out = e.password(alice, "")
		if _, err := e.mfa.SignInRecoveryCode(e.ctx, out.Pending, codes[4], mfaClient, ""); !errors.Is(err, authn.ErrMFAFailed) {
			t.Fatalf("old code after regeneration: %v", err)
		}
		if res, err := e.mfa.SignInRecoveryCode(e.ctx, out.Pending, fresh[0], mfaClient, ""); err != nil || res.RecoveryCodesLeft != 9 {
			t.Fatalf("new code: %v left %d", err, res.RecoveryCodesLeft)
		}
		// Removing the last factor deletes the codes.
		if err := e.mfa.RemoveTOTP(e.ctx, alice, mfaPassword, mfaClient); err != nil {
			t.Fatal(err)
		}
		if f, _ := e.mfa.Factors(e.ctx, alice.ID); f.RecoveryCodes != 0 {
			t.Fatalf("codes left after the last factor went: %d", f.RecoveryCodes)
		}
	})
}

// TestRecoveryCodeConcurrentUse: one code used by N concurrent sign-ins
// gives exactly one session.
func TestRecoveryCodeConcurrentUse(t *testing.T) {
	const n = 12
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newMFAEnv(t, st, always())
		e.auth.Lockout.MaxFailures = 1000
		alice := e.user("alice", "")
		e.totpSecret(alice)
		codes, err := e.mfa.GenerateRecoveryCodes(e.ctx, alice, mfaPassword, mfaClient)
		if err != nil {
			t.Fatal(err)
		}
		pending := make([]string, n)
		for i := range pending {
			pending[i] = e.password(alice, "").Pending
		}
		var wg, start sync.WaitGroup
		start.Add(1)
		var mu sync.Mutex
		sessions := 0
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start.Wait()
				if _, err := e.mfa.SignInRecoveryCode(e.ctx, pending[i], codes[0], mfaClient, ""); err == nil {
					mu.Lock()
					sessions++
					mu.Unlock()
				}
			}()
		}
		start.Done()
		wg.Wait()
		if sessions != 1 {
			t.Fatalf("%d sessions from one recovery code", sessions)
		}
	})
}
