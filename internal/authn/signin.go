package authn

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/session"
)

// Credential types recorded in sessions and audit events.
const (
	CredPassword     = "PASSWORD"
	CredTOTP         = "TOTP"
	CredWebAuthn     = "WEBAUTHN"
	CredRecoveryCode = "RECOVERY_CODE"
)

// One-time token kinds.
const (
	KindPendingSignIn = "signin"
	KindInvitation    = "invite"
	KindReset         = "reset"
)

// Throttle is a failure counter.
type Throttle struct {
	Failures    int
	LastFailure time.Time
	LockedUntil *time.Time
}

// OneTimeToken is a single-use, expiring token record (only its hash is stored).
type OneTimeToken struct {
	Kind    string
	UserID  string
	Data    string // JSON
	Created time.Time
	Expires time.Time
}

// ErrTokenInvalid: the token is unknown, expired or already used.
var ErrTokenInvalid = errors.New("the link or code is invalid, expired or already used")

// ErrSignInFailed is the one message for every failed sign-in.
var ErrSignInFailed = errors.New("Incorrect username or password")

// ThrottledError means too many recent failures; try again after RetryAfter.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("Too many failed attempts. Try again in %s.", humanDuration(e.RetryAfter))
}

func humanDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return "a second"
	case d < time.Minute:
		return fmt.Sprintf("%d seconds", int(d.Seconds()+0.5))
	default:
		return fmt.Sprintf("%d minutes", int(d.Minutes()+0.99))
	}
}

// Store is what sign-in needs from storage.
type Store interface {
	GetUser(ctx context.Context, id string) (directory.User, error)
	GetUserByUserName(ctx context.Context, userName string) (directory.User, error)
	PasswordHash(ctx context.Context, userID string) (string, error)
	GetThrottle(ctx context.Context, key string) (Throttle, error)
	PeekOneTimeToken(ctx context.Context, hash, kind string, at time.Time) (OneTimeToken, error)
	WithAuthTx(ctx context.Context, fn func(Tx) error) error
}

// Tx is a read-write transaction for sign-in.
type Tx interface {
	session.Tx
	GetUser(ctx context.Context, id string) (directory.User, error)
	RecordFailure(ctx context.Context, key string, at, resetBefore time.Time, lockAt int, lockUntil time.Time) (Throttle, error)
	ClearThrottle(ctx context.Context, key string) (bool, error)
	InsertOneTimeToken(ctx context.Context, t OneTimeToken, hash string) error
	ConsumeOneTimeToken(ctx context.Context, hash, kind string, at time.Time) (OneTimeToken, error)
	InvalidateOneTimeTokens(ctx context.Context, userID, kind string, at time.Time) error
	SetPasswordHash(ctx context.Context, userID, hash string, at time.Time) error
	RevokeUserSessions(ctx context.Context, userID string, at time.Time) (int, error)
	DeleteRememberedDevices(ctx context.Context, userID string) (int, error)
}

// EmailLookup finds a user by primary email.
type EmailLookup interface {
	GetUserByEmail(ctx context.Context, email string) (directory.User, error)
}

// Lockout settings.
type Lockout struct {
	MaxFailures   int           // per account; default 10
	Duration      time.Duration // lock time and counter window; default 15m
	IPMaxFailures int           // per client IP; default 100
}

func (l Lockout) withDefaults() Lockout {
	if l.MaxFailures <= 0 {
		l.MaxFailures = 10
	}
	if l.Duration <= 0 {
		l.Duration = 15 * time.Minute
	}
	if l.IPMaxFailures <= 0 {
		l.IPMaxFailures = 100
	}
	return l
}

// MFADecider decides whether a user who passed the password step needs a
// second factor. Nil means no MFA (until the MFA step is configured).
type MFADecider interface {
	// Required returns whether a second factor is needed now and which
	// factors the user has ("TOTP", "WEBAUTHN"); enrol is true when policy
	// requires registering a factor first.
	Required(ctx context.Context, u directory.User, rememberedDevice string) (need bool, enrol bool, err error)
}

// Service runs sign-in: password verification with throttling and lockout,
// pending sign-ins between factors, and session creation.
type Service struct {
	Store    Store
	Hasher   *Hasher
	Sessions *session.Service
	Lockout  Lockout
	MFA      MFADecider
	Policy   PasswordPolicy // nil: only the hasher's length rules
	Emails   EmailLookup    // finds users by primary email (password reset)
	// InstanceName is refused inside passwords, like the user's own names.
	InstanceName string
	Now          func() time.Time

	dummyOnce sync.Once
	dummyHash string
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// Client describes where a request came from.
type Client struct {
	IP        string
	UserAgent string
}

// Outcome of a sign-in step: a finished session, or a pending sign-in that
// needs a second factor (or factor enrolment) first.
type Outcome struct {
	User         directory.User
	Session      session.Session
	SessionToken string
	Pending      string // pending sign-in token when a second factor is needed
	Enrol        bool   // the pending sign-in must enrol a factor first
}

// PendingData is the state carried by a pending sign-in.
type PendingData struct {
	Methods []string `json:"methods"`
	Enrol   bool     `json:"enrol,omitempty"`
}

// PendingTTL bounds the time between the password and the second factor.
const PendingTTL = 10 * time.Minute

func throttleKeys(userName, ip string) (userKey, ipKey string) {
	return "user:" + directory.NormalizeUserName(userName), "ip:" + ip
}

func (s *Service) dummy() string {
	s.dummyOnce.Do(func() {
		s.dummyHash, _ = s.Hasher.hashUnchecked("idcenter dummy password for timing")
	})
	return s.dummyHash
}

// checkThrottle refuses an attempt while an account or IP is locked, or during
// the exponential back-off after repeated failures.
func (s *Service) checkThrottle(ctx context.Context, keys ...string) error {
	l := s.Lockout.withDefaults()
	now := s.now()
	for _, k := range keys {
		t, err := s.Store.GetThrottle(ctx, k)
		if err != nil {
			return err
		}
		if t.Failures == 0 || t.LastFailure.Before(now.Add(-l.Duration)) {
			continue
		}
		if t.LockedUntil != nil && now.Before(*t.LockedUntil) {
			return &ThrottledError{RetryAfter: t.LockedUntil.Sub(now)}
		}
		// Back-off: from the 3rd failure, wait 1 s, 2 s, 4 s … (at most 30 s).
		if t.Failures >= 3 && k[:5] == "user:" {
			wait := time.Second << min(t.Failures-3, 5)
			if wait > 30*time.Second {
				wait = 30 * time.Second
			}
			if next := t.LastFailure.Add(wait); now.Before(next) {
				return &ThrottledError{RetryAfter: next.Sub(now)}
			}
		}
	}
	return nil
}

// PasswordStep verifies a username and password. Every failure is
// ErrSignInFailed whatever the cause, and takes as long as a real check:
// unknown users, disabled users and users without a password still pay for
// one argon2id hash.
// replaces is the id of the session the browser already has, if any; it is
// revoked when the new one starts.
func (s *Service) PasswordStep(ctx context.Context, userName, password string, c Client, remembered, replaces string) (Outcome, error) {
	userKey, ipKey := throttleKeys(userName, c.IP)
	if err := s.checkThrottle(ctx, userKey, ipKey); err != nil {
		var te *ThrottledError
		if errors.As(err, &te) {
			s.auditFailure(ctx, userName, "", CredPassword, "throttled")
		}
		return Outcome{}, err
	}
	u, err := s.Store.GetUserByUserName(ctx, userName)
	hash := ""
	switch {
	case err == nil:
		hash, err = s.Store.PasswordHash(ctx, u.ID)
		if errors.Is(err, errs.ErrNotFound) {
			hash, err = "", nil
		}
	case errors.Is(err, errs.ErrNotFound):
		err = nil
	}
	if err != nil {
		return Outcome{}, err
	}
	ok := false
	if hash != "" {
		ok, err = s.Hasher.Verify(password, hash)
		if err != nil {
			ok = false
		}
	} else {
		_, _ = s.Hasher.Verify(password, s.dummy())
	}
	reason := ""
	switch {
	case u.ID == "":
		reason = "unknown user"
	case hash == "":
		reason = "no password set"
	case !ok:
		reason = "wrong password"
	case !u.Active:
		reason = "user disabled"
	}
	if reason != "" {
		if err := s.recordFailure(ctx, userKey, ipKey, u, userName, reason); err != nil {
			return Outcome{}, err
		}
		return Outcome{}, ErrSignInFailed
	}
	if s.MFA != nil {
		need, enrol, err := s.MFA.Required(ctx, u, remembered)
		if err != nil {
			return Outcome{}, err
		}
		if need || enrol {
			pending, err := s.startPending(ctx, u, PendingData{Methods: []string{CredPassword}, Enrol: enrol}, userKey)
			return Outcome{User: u, Pending: pending, Enrol: enrol}, err
		}
	}
	return s.Complete(ctx, u, []string{CredPassword}, false, c, "", replaces)
}

func (s *Service) recordFailure(ctx context.Context, userKey, ipKey string, u directory.User, userName, reason string) error {
	l := s.Lockout.withDefaults()
	now := s.now()
	return s.Store.WithAuthTx(ctx, func(tx Tx) error {
		t, err := tx.RecordFailure(ctx, userKey, now, now.Add(-l.Duration), l.MaxFailures, now.Add(l.Duration))
		if err != nil {
			return err
		}
		if _, err := tx.RecordFailure(ctx, ipKey, now, now.Add(-l.Duration), l.IPMaxFailures, now.Add(l.Duration)); err != nil {
			return err
		}
		actor := audit.Actor{Type: audit.ActorUser, ID: u.ID, Name: userName}
		if err := tx.AppendAudit(ctx, audit.New(ctx, actor, "signin.failure", "user", u.ID, userName,
			map[string]any{"credential": CredPassword, "reason": reason})); err != nil {
			return err
		}
		if t.Failures == l.MaxFailures && t.LockedUntil != nil {
			return tx.AppendAudit(ctx, audit.New(ctx, audit.System, "user.lockout", "user", u.ID, userName,
				map[string]any{"failures": t.Failures, "lockedUntil": t.LockedUntil}))
		}
		return nil
	})
}

// auditFailure records a failure that counts nothing (throttled attempts).
func (s *Service) auditFailure(ctx context.Context, userName, userID, cred, reason string) {
	_ = s.Store.WithAuthTx(ctx, func(tx Tx) error {
		actor := audit.Actor{Type: audit.ActorUser, ID: userID, Name: userName}
		return tx.AppendAudit(ctx, audit.New(ctx, actor, "signin.failure", "user", userID, userName,
			map[string]any{"credential": cred, "reason": reason}))
	})
}

// NewToken returns a random URL-safe token and its stored hash.
func NewToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken returns the stored form of a one-time token.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func (s *Service) startPending(ctx context.Context, u directory.User, d PendingData, userKey string) (string, error) {
	token, hash := NewToken()
	data, _ := json.Marshal(d)
	now := s.now()
	err := s.Store.WithAuthTx(ctx, func(tx Tx) error {
		if _, err := tx.ClearThrottle(ctx, userKey); err != nil {
			return err
		}
		return tx.InsertOneTimeToken(ctx, OneTimeToken{Kind: KindPendingSignIn, UserID: u.ID, Data: string(data),
			Created: now, Expires: now.Add(PendingTTL)}, hash)
	})
	return token, err
}

// Pending returns the user and state of a pending sign-in without using it.
func (s *Service) Pending(ctx context.Context, token string) (directory.User, PendingData, error) {
	t, err := s.Store.PeekOneTimeToken(ctx, HashToken(token), KindPendingSignIn, s.now())
	if err != nil {
		return directory.User{}, PendingData{}, err
	}
	var d PendingData
	_ = json.Unmarshal([]byte(t.Data), &d)
	u, err := s.Store.GetUser(ctx, t.UserID)
	if err != nil {
		return directory.User{}, PendingData{}, err
	}
	if !u.Active {
		return directory.User{}, PendingData{}, ErrTokenInvalid
	}
	return u, d, nil
}

// Complete finishes a sign-in: it consumes the pending token (if any), clears
// the account's failure counter, starts a session (a new token: no fixation;
// replacing the session the browser had, if any) and records the success.
func (s *Service) Complete(ctx context.Context, u directory.User, methods []string, mfa bool, c Client, pendingToken, replaces string) (Outcome, error) {
	var out Outcome
	userKey, _ := throttleKeys(u.UserName, c.IP)
	err := s.Store.WithAuthTx(ctx, func(tx Tx) error {
		if pendingToken != "" {
			if _, err := tx.ConsumeOneTimeToken(ctx, HashToken(pendingToken), KindPendingSignIn, s.now()); err != nil {
				return err
			}
		}
		cur, err := tx.GetUser(ctx, u.ID)
		if err != nil {
			return err
		}
		if !cur.Active {
			return ErrSignInFailed
		}
		if _, err := tx.ClearThrottle(ctx, userKey); err != nil {
			return err
		}
		sess, token, err := s.Sessions.CreateTx(ctx, tx, session.NewRequest{
			UserID: u.ID, UserName: u.UserName, Methods: methods, MFA: mfa, ClientIP: c.IP, UserAgent: c.UserAgent, Replaces: replaces,
		})
		if err != nil {
			return err
		}
		actor := audit.Actor{Type: audit.ActorUser, ID: u.ID, Name: u.UserName, Role: u.Role}
		if err := tx.AppendAudit(ctx, audit.New(ctx, actor, "signin.success", "user", u.ID, u.UserName,
			map[string]any{"credentials": methods, "mfa": mfa, "sessionId": sess.ID})); err != nil {
			return err
		}
		out = Outcome{User: cur, Session: sess, SessionToken: token}
		return nil
	})
	return out, err
}

// SignOut ends the session.
func (s *Service) SignOut(ctx context.Context, sess session.Session, u directory.User) error {
	actor := audit.Actor{Type: audit.ActorUser, ID: u.ID, Name: u.UserName, Role: u.Role}
	return s.Sessions.End(ctx, actor, u.ID, sess.ID, "sign-out")
}

// Unlock clears a user's failure counter (admin action).
func (s *Service) Unlock(ctx context.Context, actor audit.Actor, u directory.User) error {
	if err := audit.RequireRole(actor, audit.RoleAdmin); err != nil {
		return err
	}
	userKey, _ := throttleKeys(u.UserName, "")
	return s.Store.WithAuthTx(ctx, func(tx Tx) error {
		changed, err := tx.ClearThrottle(ctx, userKey)
		if err != nil || !changed {
			return err
		}
		return tx.AppendAudit(ctx, audit.New(ctx, actor, "user.unlock", "user", u.ID, u.UserName, nil))
	})
}

// Locked reports whether an account is locked now, and until when.
func (s *Service) Locked(ctx context.Context, u directory.User) (*time.Time, error) {
	userKey, _ := throttleKeys(u.UserName, "")
	t, err := s.Store.GetThrottle(ctx, userKey)
	if err != nil || t.LockedUntil == nil || !s.now().Before(*t.LockedUntil) {
		return nil, err
	}
	return t.LockedUntil, nil
}
