package authn

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
)

// TOTP parameters (RFC 6238): HMAC-SHA-1, 6 digits, 30-second steps, and
// codes of the previous and next step accepted for clock drift. These are
// what every authenticator app supports (several ignore other values).
const (
	TOTPPeriod     = 30
	TOTPDigits     = 6
	TOTPSkew       = 1
	TOTPSecretSize = 20 // bytes: 160 bits, RFC 4226's recommendation
)

var totpB32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// totpAAD binds a sealed seed to its column and user.
func totpAAD(userID string) []byte { return []byte("totp_credentials.secret_sealed:" + userID) }

// ParseTOTPCode normalises a code typed by a user: spaces and hyphens are
// ignored; what remains must be exactly six ASCII digits.
func ParseTOTPCode(s string) (string, bool) {
	if len(s) > 32 {
		return "", false
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ' ' || r == '-' || r == '\t':
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != TOTPDigits {
		return "", false
	}
	return b.String(), true
}

func totpStep(t time.Time) int64 { return t.Unix() / TOTPPeriod }

// totpCode returns the code of secret at a time step.
func totpCode(secret []byte, step int64) string {
	code, err := hotp.GenerateCodeCustom(totpB32.EncodeToString(secret), uint64(step), hotp.ValidateOpts{
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return ""
	}
	return code
}

// matchTOTP returns the newest time step within the window around now whose
// code is code, or -1. Every candidate is compared in constant time.
func matchTOTP(secret []byte, code string, now time.Time) int64 {
	cur := totpStep(now)
	found := int64(-1)
	for s := cur - TOTPSkew; s <= cur+TOTPSkew; s++ {
		want := totpCode(secret, s)
		if want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			found = s
		}
	}
	return found
}

// TOTPCodeAt returns the code of a base32 secret at t (for tests and tools).
func TOTPCodeAt(secretB32 string, t time.Time) string {
	secret, err := totpB32.DecodeString(strings.ToUpper(strings.ReplaceAll(secretB32, " ", "")))
	if err != nil {
		return ""
	}
	return totpCode(secret, totpStep(t))
}

// TOTPSetup is what an enrolment shows: the secret (never shown again once
// confirmed), the otpauth:// URL and its QR code as a PNG.
type TOTPSetup struct {
	Secret      string // base32
	SecretGroup string // base32 in groups of four, for typing
	URL         string
	QRPNG       []byte
}

func (m *MFAService) issuer() string {
	if m.Issuer != "" {
		return m.Issuer
	}
	return "idcenter"
}

func (m *MFAService) setup(u directory.User, secret []byte) (TOTPSetup, error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: m.issuer(), AccountName: u.UserName, Period: TOTPPeriod, Secret: secret,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return TOTPSetup{}, err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return TOTPSetup{}, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return TOTPSetup{}, err
	}
	s := key.Secret()
	var g strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			g.WriteByte(' ')
		}
		g.WriteString(s[i:min(i+4, len(s))])
	}
	return TOTPSetup{Secret: s, SecretGroup: g.String(), URL: key.URL(), QRPNG: buf.Bytes()}, nil
}

func (m *MFAService) openSecret(c TOTPCredential) ([]byte, error) {
	return m.Keys.Open(c.SecretSealed, totpAAD(c.UserID))
}

// newPendingTOTP generates a seed from crypto/rand and stores it sealed and
// unconfirmed (replacing an unconfirmed one).
func (m *MFAService) newPendingTOTP(ctx context.Context, u directory.User) (TOTPSetup, error) {
	secret := make([]byte, TOTPSecretSize)
	if _, err := rand.Read(secret); err != nil {
		return TOTPSetup{}, err
	}
	sealed := m.Keys.Seal(secret, totpAAD(u.ID))
	err := m.Store.WithMFATx(ctx, func(tx MFATx) error {
		ok, err := tx.PutPendingTOTP(ctx, u.ID, sealed, m.now())
		if err == nil && !ok {
			err = ErrFactorExists
		}
		return err
	})
	if err != nil {
		return TOTPSetup{}, err
	}
	return m.setup(u, secret)
}

// PendingTOTP returns the enrolment of u that waits for its first code
// (errs.ErrNotFound when there is none).
func (m *MFAService) PendingTOTP(ctx context.Context, u directory.User) (TOTPSetup, error) {
	c, err := m.Store.GetTOTPCredential(ctx, u.ID)
	if err != nil {
		return TOTPSetup{}, err
	}
	if c.Confirmed != nil {
		return TOTPSetup{}, errs.NotFound("pending authenticator app", u.UserName)
	}
	secret, err := m.openSecret(c)
	if err != nil {
		return TOTPSetup{}, err
	}
	return m.setup(u, secret)
}

// confirmPending checks code against u's unconfirmed seed and confirms it in
// tx; reason is non-empty when the code is wrong.
func (m *MFAService) confirmPending(ctx context.Context, tx MFATx, u directory.User, code string) (string, error) {
	c, err := tx.GetTOTPCredential(ctx, u.ID)
	if errors.Is(err, errs.ErrNotFound) {
		return "no authenticator app enrolment in progress", nil
	}
	if err != nil {
		return "", err
	}
	if c.Confirmed != nil {
		return "", ErrFactorExists
	}
	secret, err := m.openSecret(c)
	if err != nil {
		return "", err
	}
	code, ok := ParseTOTPCode(code)
	if !ok {
		return "malformed code", nil
	}
	step := matchTOTP(secret, code, m.now())
	if step < 0 {
		return "wrong code", nil
	}
	ok, err = tx.ConfirmTOTP(ctx, u.ID, c.SecretSealed, step, m.now())
	if err != nil {
		return "", err
	}
	if !ok {
		return "enrolment replaced concurrently", nil
	}
	return "", nil
}

// useTOTP checks code against u's confirmed seed and uses up its time step in
// tx with a guarded update, so a code (and every older one) works once, on
// any replica, even under concurrent attempts.
func (m *MFAService) useTOTP(ctx context.Context, tx MFATx, u directory.User, code string) (string, error) {
	c, err := tx.GetTOTPCredential(ctx, u.ID)
	if errors.Is(err, errs.ErrNotFound) || (err == nil && c.Confirmed == nil) {
		return "no authenticator app", nil
	}
	if err != nil {
		return "", err
	}
	code, ok := ParseTOTPCode(code)
	if !ok {
		return "malformed code", nil
	}
	secret, err := m.openSecret(c)
	if err != nil {
		return "", err
	}
	step := matchTOTP(secret, code, m.now())
	if step < 0 {
		return "wrong code", nil
	}
	if step <= c.LastStep {
		return "code already used", nil
	}
	won, err := tx.UseTOTPStep(ctx, u.ID, step)
	if err != nil {
		return "", err
	}
	if !won {
		return "code already used", nil
	}
	return "", nil
}

// VerifyTOTP checks a code of u's authenticator app and uses it up. It is the
// bare check: no throttling, no audit (the sign-in step adds both). A wrong
// or replayed code is ErrMFAFailed.
func (m *MFAService) VerifyTOTP(ctx context.Context, u directory.User, code string) error {
	reason := ""
	err := m.Store.WithMFATx(ctx, func(tx MFATx) error {
		var err error
		reason, err = m.useTOTP(ctx, tx, u, code)
		return err
	})
	if err == nil && reason != "" {
		err = ErrMFAFailed
	}
	return err
}

// SignInTOTP finishes a pending sign-in with an authenticator-app code.
func (m *MFAService) SignInTOTP(ctx context.Context, pendingToken, code string, c Client, replaces string) (MFAOutcome, error) {
	st, err := m.pendingFor(ctx, pendingToken, false)
	if err != nil {
		return MFAOutcome{}, err
	}
	return m.finishSecondFactor(ctx, st, pendingToken, c, replaces, CredTOTP, func(ctx context.Context, tx MFATx) (string, error) {
		return m.useTOTP(ctx, tx, st.User, code)
	})
}

// --- enrolment during sign-in ---

// StartEnrolTOTP starts an authenticator-app enrolment for a pending sign-in
// that must enrol a factor.
func (m *MFAService) StartEnrolTOTP(ctx context.Context, pendingToken string) (TOTPSetup, error) {
	st, err := m.pendingFor(ctx, pendingToken, true)
	if err != nil {
		return TOTPSetup{}, err
	}
	if st.Factors.Any() {
		return TOTPSetup{}, ErrTokenInvalid
	}
	return m.newPendingTOTP(ctx, st.User)
}

// PendingEnrolTOTP returns the enrolment in progress of a pending sign-in.
func (m *MFAService) PendingEnrolTOTP(ctx context.Context, pendingToken string) (TOTPSetup, error) {
	st, err := m.pendingFor(ctx, pendingToken, true)
	if err != nil {
		return TOTPSetup{}, err
	}
	return m.PendingTOTP(ctx, st.User)
}

// ConfirmEnrolTOTP confirms the enrolment of a pending sign-in with its first
// code and finishes the sign-in. The pending sign-in is used up in the same
// transaction, and enrolment is refused once the user has any factor: a
// password alone never adds a factor to an account that has one.
func (m *MFAService) ConfirmEnrolTOTP(ctx context.Context, pendingToken, code string, c Client, replaces string) (MFAOutcome, error) {
	st, err := m.pendingFor(ctx, pendingToken, true)
	if err != nil {
		return MFAOutcome{}, err
	}
	u := st.User
	if err := m.checkAttempt(ctx, u, c, CredTOTP); err != nil {
		return MFAOutcome{}, err
	}
	reason := ""
	err = m.Store.WithMFATx(ctx, func(tx MFATx) error {
		if _, err := tx.ConsumeOneTimeToken(ctx, HashToken(pendingToken), KindPendingSignIn, m.now()); err != nil {
			return err
		}
		if creds, err := tx.ListWebAuthnCredentials(ctx, u.ID); err != nil || len(creds) > 0 {
			if err == nil {
				err = ErrTokenInvalid
			}
			return err
		}
		var err error
		if reason, err = m.confirmPending(ctx, tx, u, code); err != nil {
			return err
		}
		if reason != "" {
			return errMFARollback
		}
		if _, err := tx.ClearThrottle(ctx, mfaKey(u.ID)); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, audit.New(ctx, mfaActor(u), "mfa.totp.enrol", "user", u.ID, u.UserName,
			map[string]any{"during": "signin"}))
	})
	if errors.Is(err, errMFARollback) {
		if err := m.failAttempt(ctx, u, c, CredTOTP, reason+" (enrolment)"); err != nil {
			return MFAOutcome{}, err
		}
		return MFAOutcome{}, ErrMFAFailed
	}
	if err != nil {
		return MFAOutcome{}, err
	}
	return m.complete(ctx, u, append(append([]string{}, st.Data.Methods...), CredTOTP), c, replaces)
}

// errMFARollback abandons a transaction whose outcome is reported otherwise.
var errMFARollback = errors.New("rollback")

// --- self-service on the profile ---

// BeginTOTP starts an authenticator-app enrolment for a signed-in user after
// checking their current password.
func (m *MFAService) BeginTOTP(ctx context.Context, u directory.User, password string, c Client) (TOTPSetup, error) {
	if err := m.reauth(ctx, u, password, c); err != nil {
		return TOTPSetup{}, err
	}
	return m.newPendingTOTP(ctx, u)
}

// ConfirmTOTP confirms a signed-in user's enrolment with its first code.
func (m *MFAService) ConfirmTOTP(ctx context.Context, u directory.User, code string, c Client) error {
	if err := m.checkAttempt(ctx, u, c, CredTOTP); err != nil {
		return err
	}
	reason := ""
	err := m.Store.WithMFATx(ctx, func(tx MFATx) error {
		var err error
		if reason, err = m.confirmPending(ctx, tx, u, code); err != nil || reason != "" {
			return err
		}
		return tx.AppendAudit(ctx, audit.New(ctx, mfaActor(u), "mfa.totp.enrol", "user", u.ID, u.UserName, nil))
	})
	if err != nil {
		return err
	}
	if reason != "" {
		if err := m.failAttempt(ctx, u, c, CredTOTP, reason+" (enrolment)"); err != nil {
			return err
		}
		return ErrMFAFailed
	}
	return nil
}

// RemoveTOTP removes a signed-in user's authenticator app (or the enrolment
// in progress) after checking their current password.
func (m *MFAService) RemoveTOTP(ctx context.Context, u directory.User, password string, c Client) error {
	if err := m.reauth(ctx, u, password, c); err != nil {
		return err
	}
	return m.Store.WithMFATx(ctx, func(tx MFATx) error {
		cur, err := tx.GetTOTPCredential(ctx, u.ID)
		if err != nil {
			if errors.Is(err, errs.ErrNotFound) {
				return errs.NotFound("authenticator app", u.UserName)
			}
			return err
		}
		if cur.Confirmed != nil {
			creds, err := tx.ListWebAuthnCredentials(ctx, u.ID)
			if err != nil {
				return err
			}
			if len(creds) == 0 {
				if err := m.mayRemoveLast(u); err != nil {
					return err
				}
			}
		}
		if _, err := tx.DeleteTOTPCredential(ctx, u.ID); err != nil {
			return err
		}
		if cur.Confirmed == nil {
			return nil // an abandoned enrolment is no factor: nothing to record
		}
		codes, err := afterRemoval(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		return tx.AppendAudit(ctx, audit.New(ctx, mfaActor(u), "mfa.totp.remove", "user", u.ID, u.UserName,
			map[string]any{"recoveryCodesDeleted": codes}))
	})
}
