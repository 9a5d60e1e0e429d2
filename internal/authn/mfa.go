package authn

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
)

// MFA policy values (config auth.mfa.mode and auth.mfa.no_device).
const (
	MFAModeAlways  = "always"  // a second factor at every sign-in
	MFAModeContext = "context" // a second factor in a browser not remembered
	MFAModeNever   = "never"   // no second factor (administrators excepted)

	NoDeviceRequireRegistration = "require_registration" // enrol a factor during sign-in
	NoDeviceBlock               = "block"                // refuse the sign-in
	NoDeviceAllow               = "allow"                // sign in with the password alone
)

// KindWebAuthn is the one-time token kind of a WebAuthn ceremony: its
// challenge and SessionData, kept server-side so any replica can finish it
// and it can be used once.
const KindWebAuthn = "webauthn"

// Second-factor limits.
const (
	// MFAMaxFailures wrong second factors within MFAWindow lock the MFA step
	// of the account for MFAWindow. The counter is separate from the password
	// counter (which a correct password resets) and is reset only by a
	// successful second factor. Failures also count toward the account lockout.
	MFAMaxFailures = 5
	MFAWindow      = 5 * time.Minute
	// MaxWebAuthnCredentials is the most security keys and passkeys one user may register.
	MaxWebAuthnCredentials = 20
	// CeremonyTTL bounds a WebAuthn ceremony from its challenge to its answer.
	CeremonyTTL = 5 * time.Minute
)

// Errors of the MFA service. Their messages are written for the end user.
var (
	// ErrMFAFailed is the one message for every failed second factor.
	ErrMFAFailed           = errors.New("That code or security key was not accepted.")
	ErrReauthFailed        = errors.New("Your current password is not correct.")
	ErrFactorExists        = errors.New("An authenticator app is already set up. Remove it first to set up another one.")
	ErrLastFactor          = errors.New("This is your only second factor and signing in requires one. Add another before you remove it.")
	ErrNoFactor            = errors.New("Set up an authenticator app or a security key first.")
	ErrCredentialExists    = errors.New("This security key or passkey is already registered.")
	ErrTooManyCredentials  = fmt.Errorf("You can register at most %d security keys and passkeys.", MaxWebAuthnCredentials)
	ErrWebAuthnUnavailable = errors.New("Security keys and passkeys are not available on this instance.")
	ErrPasskeyDisabled     = errors.New("Signing in with a passkey is not enabled on this instance.")
)

// MFAPolicy is the auth.mfa configuration.
type MFAPolicy struct {
	Mode           string        // always, context or never
	NoDevice       string        // require_registration, block or allow
	AdminsExempt   bool          // administrators follow Mode like everyone else
	RememberDevice time.Duration // how long "context" mode trusts a browser after MFA; 0: never
	PasskeySignIn  bool          // a passkey alone may sign in (it is itself two factors)
}

// TOTPCredential is a user's authenticator app. Confirmed is nil while the
// enrolment waits for its first code; LastStep is the last accepted time step.
type TOTPCredential struct {
	UserID       string
	SecretSealed string
	Confirmed    *time.Time
	LastStep     int64
	Created      time.Time
}

// WebAuthnCredential is a stored security key or passkey. Data is the JSON of
// webauthn.Credential (public key, sign count, BE/BS flags, transports).
type WebAuthnCredential struct {
	ID           string
	UserID       string
	CredentialID string // base64url of the authenticator's credential id
	Name         string
	Data         string
	Created      time.Time
	LastUsed     *time.Time
}

// MFAStore is what the MFA service needs from storage, beyond Store.
type MFAStore interface {
	GetTOTPCredential(ctx context.Context, userID string) (TOTPCredential, error)
	ListWebAuthnCredentials(ctx context.Context, userID string) ([]WebAuthnCredential, error)
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
	RememberedDevice(ctx context.Context, hash, userID string, at time.Time) (bool, error)
	WithMFATx(ctx context.Context, fn func(MFATx) error) error
}

// MFATx is a read-write transaction over the MFA tables. Every one-time use
// (a TOTP step, a recovery code, a ceremony) is a guarded single statement
// whose result says whether this caller won.
type MFATx interface {
	Tx
	GetTOTPCredential(ctx context.Context, userID string) (TOTPCredential, error)
	// PutPendingTOTP stores an unconfirmed secret, replacing an unconfirmed
	// one; false when a confirmed one exists.
	PutPendingTOTP(ctx context.Context, userID, sealed string, at time.Time) (bool, error)
	// ConfirmTOTP confirms the unconfirmed secret sealed (and records step as
	// used); false when it is no longer the pending secret.
	ConfirmTOTP(ctx context.Context, userID, sealed string, step int64, at time.Time) (bool, error)
	// UseTOTPStep records step as used when it is after the last used one;
	// false for a replay.
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	DeleteTOTPCredential(ctx context.Context, userID string) (bool, error)

	ListWebAuthnCredentials(ctx context.Context, userID string) ([]WebAuthnCredential, error)
	// InsertWebAuthnCredential returns ErrCredentialExists when the
	// credential id is registered already (to anyone).
	InsertWebAuthnCredential(ctx context.Context, c WebAuthnCredential) error
	UpdateWebAuthnCredential(ctx context.Context, id, userID, data string, usedAt time.Time) error
	DeleteWebAuthnCredential(ctx context.Context, userID, id string) (bool, error)
	DeleteWebAuthnCredentials(ctx context.Context, userID string) (int, error)

	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, at time.Time) error
	UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) (bool, error)
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
	DeleteRecoveryCodes(ctx context.Context, userID string) (int, error)

	InsertRememberedDevice(ctx context.Context, hash, userID string, at, expires time.Time) error
	DeleteRememberedDevices(ctx context.Context, userID string) (int, error)
}

// Sealer encrypts secrets at rest bound to their location (keys.Keyring).
type Sealer interface {
	Seal(plaintext, aad []byte) string
	Open(sealed string, aad []byte) ([]byte, error)
}

// MFAService runs everything about second factors: the policy deciding who
// needs one (it is the authn.MFADecider of Service), TOTP, WebAuthn security
// keys and passkeys, recovery codes, remembered browsers, the second step of
// sign-in, enrolment during sign-in, self-service management and the
// administrator's reset.
type MFAService struct {
	Auth   *Service // password checks, throttling, pending sign-ins, sessions, clock
	Store  MFAStore
	Keys   Sealer
	Policy MFAPolicy
	// WebAuthn is the relying party (RP ID and origin from the public base
	// URL); nil turns security keys and passkeys off.
	WebAuthn *webauthn.WebAuthn
	// Issuer names the instance in authenticator apps.
	Issuer string
}

func (m *MFAService) now() time.Time { return m.Auth.now() }

func mfaKey(userID string) string { return "mfa:" + userID }

func mfaActor(u directory.User) audit.Actor {
	return audit.Actor{Type: audit.ActorUser, ID: u.ID, Name: u.UserName, Role: u.Role}
}

// --- policy ---

// adminRule reports whether u needs MFA at every sign-in because of the role.
func (m *MFAService) adminRule(u directory.User) bool {
	return u.Role == directory.RoleAdmin && !m.Policy.AdminsExempt
}

// Required implements MFADecider: whether u, whose password was right, needs
// a second factor now, and whether they must enrol one first.
//
//   - Administrators need one at every sign-in unless AdminsExempt, whatever
//     the mode; a remembered browser does not count for them, and "allow"
//     acts as "require_registration".
//   - "always": every sign-in. "context": unless this browser carries a
//     remembered-device token of this user. "never": none.
//   - A user without a factor: "require_registration" enrols one during
//     sign-in, "block" stops at the MFA page with an explanation (the pending
//     sign-in cannot finish), "allow" signs in without one.
func (m *MFAService) Required(ctx context.Context, u directory.User, remembered string) (need bool, enrol bool, err error) {
	admin := m.adminRule(u)
	need = admin
	switch m.Policy.Mode {
	case MFAModeNever:
	case MFAModeContext:
		if !need {
			ok, err := m.deviceRemembered(ctx, u, remembered)
			if err != nil {
				return false, false, err
			}
			need = !ok
		}
	default: // "always", and anything unknown fails closed
		need = true
	}
	if !need {
		return false, false, nil
	}
	has, err := m.hasFactor(ctx, u.ID)
	if err != nil || has {
		return has, false, err
	}
	switch m.Policy.NoDevice {
	case NoDeviceAllow:
		if !admin {
			return false, false, nil
		}
	case NoDeviceBlock:
		m.Auth.auditFailure(ctx, u.UserName, u.ID, CredPassword, "no second factor registered (auth.mfa.no_device=block)")
		return true, false, nil
	}
	return true, true, nil
}

func (m *MFAService) deviceRemembered(ctx context.Context, u directory.User, token string) (bool, error) {
	if token == "" || len(token) > 128 || m.Policy.RememberDevice <= 0 {
		return false, nil
	}
	return m.Store.RememberedDevice(ctx, HashToken(token), u.ID, m.now())
}

// rememberDevice records this browser after a successful second factor in
// "context" mode and returns the cookie value ("" when nothing is remembered).
func (m *MFAService) rememberDevice(ctx context.Context, u directory.User) (string, error) {
	if m.Policy.Mode != MFAModeContext || m.Policy.RememberDevice <= 0 {
		return "", nil
	}
	token, hash := NewToken()
	now := m.now()
	err := m.Store.WithMFATx(ctx, func(tx MFATx) error {
		return tx.InsertRememberedDevice(ctx, hash, u.ID, now, now.Add(m.Policy.RememberDevice))
	})
	return token, err
}

// --- factors ---

// Factors is what a user has set up.
type Factors struct {
	TOTP          bool       // a confirmed authenticator app
	TOTPSince     *time.Time // when it was confirmed
	TOTPPending   bool       // an enrolment waits for its first code
	WebAuthn      []WebAuthnKey
	RecoveryCodes int // unused recovery codes left
}

// Any reports whether the user has a second factor (recovery codes alone are
// not one: they exist only next to one).
func (f Factors) Any() bool { return f.TOTP || len(f.WebAuthn) > 0 }

// Count is the number of second factors.
func (f Factors) Count() int {
	n := len(f.WebAuthn)
	if f.TOTP {
		n++
	}
	return n
}

// WebAuthnKey describes a registered security key or passkey for display.
type WebAuthnKey struct {
	ID       string
	Name     string
	Created  time.Time
	LastUsed *time.Time
	Synced   bool // backup eligible: a synced passkey rather than a device-bound key
}

// Factors returns what u has set up.
func (m *MFAService) Factors(ctx context.Context, userID string) (Factors, error) {
	var f Factors
	t, err := m.Store.GetTOTPCredential(ctx, userID)
	switch {
	case err == nil:
		f.TOTP, f.TOTPSince, f.TOTPPending = t.Confirmed != nil, t.Confirmed, t.Confirmed == nil
	case !errors.Is(err, errs.ErrNotFound):
		return f, err
	}
	creds, err := m.Store.ListWebAuthnCredentials(ctx, userID)
	if err != nil {
		return f, err
	}
	for _, c := range creds {
		f.WebAuthn = append(f.WebAuthn, describeKey(c))
	}
	if f.RecoveryCodes, err = m.Store.CountRecoveryCodes(ctx, userID); err != nil {
		return f, err
	}
	return f, nil
}

func (m *MFAService) hasFactor(ctx context.Context, userID string) (bool, error) {
	t, err := m.Store.GetTOTPCredential(ctx, userID)
	switch {
	case err == nil && t.Confirmed != nil:
		return true, nil
	case err != nil && !errors.Is(err, errs.ErrNotFound):
		return false, err
	}
	creds, err := m.Store.ListWebAuthnCredentials(ctx, userID)
	return len(creds) > 0, err
}

// txHasFactor is hasFactor inside a transaction.
func txHasFactor(ctx context.Context, tx MFATx, userID string) (bool, error) {
	t, err := tx.GetTOTPCredential(ctx, userID)
	switch {
	case err == nil && t.Confirmed != nil:
		return true, nil
	case err != nil && !errors.Is(err, errs.ErrNotFound):
		return false, err
	}
	creds, err := tx.ListWebAuthnCredentials(ctx, userID)
	return len(creds) > 0, err
}

// WebAuthnEnabled reports whether security keys and passkeys are available.
func (m *MFAService) WebAuthnEnabled() bool { return m.WebAuthn != nil }

// PasskeySignInEnabled reports whether a passkey alone may sign in.
func (m *MFAService) PasskeySignInEnabled() bool { return m.WebAuthn != nil && m.Policy.PasskeySignIn }

// --- the MFA step of sign-in ---

// PendingState is what the MFA page of a pending sign-in shows.
type PendingState struct {
	User     directory.User
	Data     PendingData
	Factors  Factors
	WebAuthn bool // the instance offers security keys
	// Blocked: the user has no factor and the policy refuses to enrol one
	// during sign-in; the sign-in cannot finish.
	Blocked bool
}

// Pending returns the state of a pending sign-in (ErrTokenInvalid when it is
// unknown, expired, used, or its user is disabled).
func (m *MFAService) Pending(ctx context.Context, pendingToken string) (PendingState, error) {
	if pendingToken == "" || len(pendingToken) > 128 {
		return PendingState{}, ErrTokenInvalid
	}
	u, d, err := m.Auth.Pending(ctx, pendingToken)
	if err != nil {
		if errors.Is(err, errs.ErrNotFound) {
			err = ErrTokenInvalid
		}
		return PendingState{}, err
	}
	f, err := m.Factors(ctx, u.ID)
	if err != nil {
		return PendingState{}, err
	}
	return PendingState{User: u, Data: d, Factors: f, WebAuthn: m.WebAuthn != nil, Blocked: !d.Enrol && !f.Any()}, nil
}

// MFAOutcome is a finished sign-in after a second factor.
type MFAOutcome struct {
	Outcome
	// DeviceToken, when set, is the remembered-device cookie value to set for
	// DeviceTTL ("context" mode).
	DeviceToken string
	DeviceTTL   time.Duration
	// RecoveryCodesLeft is set after signing in with a recovery code.
	RecoveryCodesLeft int
}

// verifyFunc checks one second factor inside tx. It returns a non-empty
// reason when the factor is wrong; writes it made (a used ceremony) are kept.
type verifyFunc func(ctx context.Context, tx MFATx) (reason string, err error)

// checkAttempt refuses a second-factor attempt while the account, the client
// IP or the account's MFA step is locked or backing off.
func (m *MFAService) checkAttempt(ctx context.Context, u directory.User, c Client, cred string) error {
	userKey, ipKey := throttleKeys(u.UserName, c.IP)
	if err := m.Auth.checkThrottle(ctx, userKey, ipKey, mfaKey(u.ID)); err != nil {
		var te *ThrottledError
		if errors.As(err, &te) {
			m.Auth.auditFailure(ctx, u.UserName, u.ID, cred, "throttled")
		}
		return err
	}
	return nil
}

// failAttempt counts a wrong second factor toward the account lockout (the
// same "user:" counter as passwords), the client IP and the MFA step limit,
// and records signin.failure with the credential type.
func (m *MFAService) failAttempt(ctx context.Context, u directory.User, c Client, cred, reason string) error {
	l := m.Auth.Lockout.withDefaults()
	now := m.now()
	userKey, ipKey := throttleKeys(u.UserName, c.IP)
	return m.Store.WithMFATx(ctx, func(tx MFATx) error {
		t, err := tx.RecordFailure(ctx, userKey, now, now.Add(-l.Duration), l.MaxFailures, now.Add(l.Duration))
		if err != nil {
			return err
		}
		if c.IP != "" {
			if _, err := tx.RecordFailure(ctx, ipKey, now, now.Add(-l.Duration), l.IPMaxFailures, now.Add(l.Duration)); err != nil {
				return err
			}
		}
		mt, err := tx.RecordFailure(ctx, mfaKey(u.ID), now, now.Add(-MFAWindow), MFAMaxFailures, now.Add(MFAWindow))
		if err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, audit.New(ctx, mfaActor(u), "signin.failure", "user", u.ID, u.UserName,
			map[string]any{"credential": cred, "reason": reason})); err != nil {
			return err
		}
		if (t.Failures == l.MaxFailures && t.LockedUntil != nil) || (mt.Failures == MFAMaxFailures && mt.LockedUntil != nil) {
			until := t.LockedUntil
			if mt.Failures == MFAMaxFailures {
				until = mt.LockedUntil
			}
			return tx.AppendAudit(ctx, audit.New(ctx, audit.System, "user.lockout", "user", u.ID, u.UserName,
				map[string]any{"failures": max(t.Failures, mt.Failures), "lockedUntil": until, "credential": cred}))
		}
		return nil
	})
}

// finishSecondFactor runs verify and, when it passes, uses up the pending
// sign-in in the same transaction and starts the session (methods: the
// pending ones plus cred, mfa=true). A wrong factor counts as a failure.
func (m *MFAService) finishSecondFactor(ctx context.Context, st PendingState, pendingToken string, c Client, replaces, cred string, verify verifyFunc) (MFAOutcome, error) {
	u := st.User
	if err := m.checkAttempt(ctx, u, c, cred); err != nil {
		return MFAOutcome{}, err
	}
	reason := ""
	err := m.Store.WithMFATx(ctx, func(tx MFATx) error {
		var err error
		if reason, err = verify(ctx, tx); err != nil || reason != "" {
			return err
		}
		if _, err := tx.ConsumeOneTimeToken(ctx, HashToken(pendingToken), KindPendingSignIn, m.now()); err != nil {
			return err
		}
		_, err = tx.ClearThrottle(ctx, mfaKey(u.ID))
		return err
	})
	if err != nil {
		return MFAOutcome{}, err
	}
	if reason != "" {
		if err := m.failAttempt(ctx, u, c, cred, reason); err != nil {
			return MFAOutcome{}, err
		}
		return MFAOutcome{}, ErrMFAFailed
	}
	return m.complete(ctx, u, append(append([]string{}, st.Data.Methods...), cred), c, replaces)
}

// complete starts the session of a sign-in whose second factor passed (the
// pending token is already used) and remembers the browser when configured.
func (m *MFAService) complete(ctx context.Context, u directory.User, methods []string, c Client, replaces string) (MFAOutcome, error) {
	out, err := m.Auth.Complete(ctx, u, methods, true, c, "", replaces)
	if err != nil {
		return MFAOutcome{}, err
	}
	res := MFAOutcome{Outcome: out}
	if res.DeviceToken, err = m.rememberDevice(ctx, u); err != nil {
		return MFAOutcome{}, err
	}
	if res.DeviceToken != "" {
		res.DeviceTTL = m.Policy.RememberDevice
	}
	return res, nil
}

// pendingFor returns a pending sign-in that waits for a second factor (not
// for enrolment).
func (m *MFAService) pendingFor(ctx context.Context, pendingToken string, enrol bool) (PendingState, error) {
	st, err := m.Pending(ctx, pendingToken)
	if err != nil {
		return st, err
	}
	if st.Data.Enrol != enrol {
		return st, ErrTokenInvalid
	}
	return st, nil
}

// --- re-authentication for changes ---

// reauth checks the current password of a signed-in user before a change to
// their sign-in methods. A wrong password counts toward the lockout.
func (m *MFAService) reauth(ctx context.Context, u directory.User, password string, c Client) error {
	userKey, ipKey := throttleKeys(u.UserName, c.IP)
	if err := m.Auth.checkThrottle(ctx, userKey, ipKey); err != nil {
		return err
	}
	hash, err := m.Auth.Store.PasswordHash(ctx, u.ID)
	if errors.Is(err, errs.ErrNotFound) {
		hash, err = "", nil
	}
	if err != nil {
		return err
	}
	ok := false
	if hash == "" {
		_, _ = m.Auth.Hasher.Verify(password, m.Auth.dummy())
	} else if ok, err = m.Auth.Hasher.Verify(password, hash); err != nil {
		ok = false
	}
	if !ok {
		if err := m.Auth.recordFailure(ctx, userKey, ipKey, u, u.UserName, "wrong password (re-authentication for an MFA change)"); err != nil {
			return err
		}
		return ErrReauthFailed
	}
	return nil
}

// mayRemoveLast refuses to remove the last factor when the policy would then
// lock the user out ("block" with MFA required for them).
func (m *MFAService) mayRemoveLast(u directory.User) error {
	if m.Policy.NoDevice == NoDeviceBlock && (m.Policy.Mode != MFAModeNever || m.adminRule(u)) {
		return ErrLastFactor
	}
	return nil
}

// afterRemoval deletes the recovery codes once the last factor is gone.
func afterRemoval(ctx context.Context, tx MFATx, userID string) (int, error) {
	has, err := txHasFactor(ctx, tx, userID)
	if err != nil || has {
		return 0, err
	}
	return tx.DeleteRecoveryCodes(ctx, userID)
}

// --- administration ---

// ResetUser removes every second factor of a user (authenticator app,
// security keys and passkeys, recovery codes, remembered browsers, pending
// ceremonies and sign-ins) and ends their sessions, recording one audit
// event "mfa.reset". Only administrators may.
func (m *MFAService) ResetUser(ctx context.Context, actor audit.Actor, userID string) error {
	if err := audit.RequireRole(actor, audit.RoleAdmin); err != nil {
		return err
	}
	now := m.now()
	return m.Store.WithMFATx(ctx, func(tx MFATx) error {
		u, err := tx.GetUser(ctx, userID)
		if err != nil {
			if errors.Is(err, errs.ErrNotFound) {
				return errs.NotFound("user", userID)
			}
			return err
		}
		totp, err := tx.DeleteTOTPCredential(ctx, u.ID)
		if err != nil {
			return err
		}
		keys, err := tx.DeleteWebAuthnCredentials(ctx, u.ID)
		if err != nil {
			return err
		}
		codes, err := tx.DeleteRecoveryCodes(ctx, u.ID)
		if err != nil {
			return err
		}
		devices, err := tx.DeleteRememberedDevices(ctx, u.ID)
		if err != nil {
			return err
		}
		for _, kind := range []string{KindWebAuthn, KindPendingSignIn} {
			if err := tx.InvalidateOneTimeTokens(ctx, u.ID, kind, now); err != nil {
				return err
			}
		}
		if _, err := tx.ClearThrottle(ctx, mfaKey(u.ID)); err != nil {
			return err
		}
		sessions, err := tx.RevokeUserSessions(ctx, u.ID, now)
		if err != nil {
			return err
		}
		return tx.AppendAudit(ctx, audit.New(ctx, actor, "mfa.reset", "user", u.ID, u.UserName, map[string]any{
			"totp": totp, "webauthnCredentials": keys, "recoveryCodes": codes, "rememberedDevices": devices, "sessionsEnded": sessions,
		}))
	})
}
