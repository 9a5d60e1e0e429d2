// Package session owns browser sessions: creation at sign-in (a fresh random
// token every time, so a session id is never fixed by an attacker), lookup
// with idle and absolute expiry, rotation, listing and revocation. Sessions
// live in the store, so every replica sees the same ones; the cookie carries
// only the random token and the store only its SHA-256.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/errs"
)

// Session is one signed-in browser.
type Session struct {
	ID        string     `json:"id"`
	UserID    string     `json:"userId"`
	Methods   []string   `json:"methods"` // credential types used: PASSWORD, TOTP, WEBAUTHN, RECOVERY_CODE
	MFA       bool       `json:"mfa"`
	ClientIP  string     `json:"clientIp,omitempty"`
	UserAgent string     `json:"userAgent,omitempty"`
	Created   time.Time  `json:"created"`
	LastSeen  time.Time  `json:"lastSeen"`
	Expires   time.Time  `json:"expires"` // absolute expiry
	Revoked   *time.Time `json:"revoked,omitempty"`
}

// Store is what sessions need from storage.
type Store interface {
	GetSessionByHash(ctx context.Context, hash string) (Session, error)
	ListUserSessions(ctx context.Context, userID string) ([]Session, error)
	TouchSession(ctx context.Context, id string, at, notBefore time.Time) error
	WithSessionTx(ctx context.Context, fn func(Tx) error) error
}

// Tx is a read-write transaction.
type Tx interface {
	audit.Appender
	GetSession(ctx context.Context, id string) (Session, error)
	InsertSession(ctx context.Context, s Session, tokenHash string) error
	RevokeSession(ctx context.Context, id string, at time.Time) (bool, error)
	RevokeUserSessions(ctx context.Context, userID string, at time.Time) (int, error)
}

// Limits on the absolute timeout (the same range AWS IAM Identity Center allows).
const (
	MinAbsolute     = 15 * time.Minute
	MaxAbsolute     = 90 * 24 * time.Hour
	DefaultAbsolute = 8 * time.Hour
	DefaultIdle     = time.Hour
)

// Service manages sessions.
type Service struct {
	Store    Store
	Absolute time.Duration // zero: DefaultAbsolute
	Idle     time.Duration // zero: DefaultIdle
	Now      func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

func (s *Service) absolute() time.Duration {
	if s.Absolute > 0 {
		return s.Absolute
	}
	return DefaultAbsolute
}

func (s *Service) idle() time.Duration {
	if s.Idle > 0 {
		return s.Idle
	}
	return DefaultIdle
}

// HashToken returns the stored form of a session token.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ErrNoSession means the token names no live session (unknown, expired,
// idle too long, or revoked).
var ErrNoSession = errors.New("session: no valid session")

// NewRequest describes a session to create.
type NewRequest struct {
	UserID    string
	UserName  string
	Methods   []string
	MFA       bool
	ClientIP  string
	UserAgent string
	// Replaces, if set, is the id of a session this one supersedes (rotation
	// at privilege change); it is revoked in the same transaction.
	Replaces string
}

// CreateTx starts a session inside tx and returns it with its token.
func (s *Service) CreateTx(ctx context.Context, tx Tx, req NewRequest) (Session, string, error) {
	now := s.now()
	ua := req.UserAgent
	if len(ua) > 256 {
		ua = ua[:256]
	}
	sess := Session{
		ID: uuid.Must(uuid.NewV7()).String(), UserID: req.UserID, Methods: req.Methods, MFA: req.MFA,
		ClientIP: req.ClientIP, UserAgent: ua, Created: now, LastSeen: now, Expires: now.Add(s.absolute()),
	}
	token := newToken()
	if req.Replaces != "" {
		if _, err := tx.RevokeSession(ctx, req.Replaces, now); err != nil {
			return Session{}, "", err
		}
	}
	if err := tx.InsertSession(ctx, sess, HashToken(token)); err != nil {
		return Session{}, "", err
	}
	return sess, token, nil
}

// Validate returns the live session for a cookie token. Expired, idle and
// revoked sessions are ErrNoSession; store failures are returned as they are
// (callers fail closed).
func (s *Service) Validate(ctx context.Context, token string) (Session, error) {
	if token == "" || len(token) > 128 {
		return Session{}, ErrNoSession
	}
	sess, err := s.Store.GetSessionByHash(ctx, HashToken(token))
	if errors.Is(err, errs.ErrNotFound) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, err
	}
	now := s.now()
	if sess.Revoked != nil || !now.Before(sess.Expires) || !now.Before(sess.LastSeen.Add(s.idle())) {
		return Session{}, ErrNoSession
	}
	// Record activity at most once a minute: idle expiry needs no finer grain.
	if err := s.Store.TouchSession(ctx, sess.ID, now, now.Add(-time.Minute)); err != nil {
		return Session{}, err
	}
	return sess, nil
}

// Live reports whether sess is neither revoked nor expired at now.
func (s *Service) Live(sess Session) bool {
	now := s.now()
	return sess.Revoked == nil && now.Before(sess.Expires) && now.Before(sess.LastSeen.Add(s.idle()))
}

// List returns a user's live sessions, newest first.
func (s *Service) List(ctx context.Context, userID string) ([]Session, error) {
	all, err := s.Store.ListUserSessions(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, x := range all {
		if s.Live(x) {
			out = append(out, x)
		}
	}
	return out, nil
}

// End revokes one session. owner, when set, must be the session's user
// (users end only their own sessions); a session of another user is
// reported as not found.
func (s *Service) End(ctx context.Context, actor audit.Actor, owner, id, reason string) error {
	return s.Store.WithSessionTx(ctx, func(tx Tx) error {
		sess, err := tx.GetSession(ctx, id)
		if err != nil {
			return err
		}
		if owner != "" && sess.UserID != owner {
			return errs.NotFound("session", id)
		}
		changed, err := tx.RevokeSession(ctx, id, s.now())
		if err != nil || !changed {
			return err
		}
		return tx.AppendAudit(ctx, audit.New(ctx, actor, "session.end", "session", id, "",
			map[string]any{"userId": sess.UserID, "reason": reason}))
	})
}

// EndAllForUser revokes every session of a user.
func (s *Service) EndAllForUser(ctx context.Context, actor audit.Actor, userID, reason string) (int, error) {
	var n int
	err := s.Store.WithSessionTx(ctx, func(tx Tx) error {
		var err error
		if n, err = tx.RevokeUserSessions(ctx, userID, s.now()); err != nil || n == 0 {
			return err
		}
		return tx.AppendAudit(ctx, audit.New(ctx, actor, "session.end_all", "user", userID, "",
			map[string]any{"count": n, "reason": reason}))
	})
	return n, err
}

// Describe returns a short browser description from a User-Agent.
func Describe(ua string) string {
	switch {
	case ua == "":
		return "Unknown browser"
	case strings.Contains(ua, "Edg/"):
		return "Edge"
	case strings.Contains(ua, "Chrome/"), strings.Contains(ua, "HeadlessChrome/"):
		return "Chrome"
	case strings.Contains(ua, "Firefox/"):
		return "Firefox"
	case strings.Contains(ua, "Safari/"):
		return "Safari"
	}
	if len(ua) > 40 {
		return ua[:40] + "…"
	}
	return ua
}
