// Package tokens owns admin API bearer tokens: creation (the secret is shown
// once and stored only as a SHA-256 hash), listing, revocation, expiry and
// authentication of a presented secret.
package tokens

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/errs"
)

// Prefix starts every token idcenter issues, so leaked tokens are easy to scan for.
const Prefix = "idc_"

// Token is an API token's public record; the secret is never stored.
type Token struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	Hint       string     `json:"hint"` // first characters of the secret
	CreatedAt  time.Time  `json:"createdAt"`
	CreatedBy  string     `json:"createdBy,omitempty"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
}

// Active reports whether the token can be used at t.
func (t Token) Active(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// Store is what tokens need from storage.
type Store interface {
	GetTokenByHash(ctx context.Context, hash string) (Token, error)
	GetToken(ctx context.Context, idOrName string) (Token, error)
	ListTokens(ctx context.Context) ([]Token, error)
	// TouchToken records use at t unless it was recorded after notBefore.
	TouchToken(ctx context.Context, id string, t, notBefore time.Time) error
	WithTokenTx(ctx context.Context, fn func(Tx) error) error
}

// Tx is a read-write transaction.
type Tx interface {
	audit.Appender
	GetToken(ctx context.Context, idOrName string) (Token, error)
	InsertToken(ctx context.Context, t Token, hash string) error
	RevokeToken(ctx context.Context, id string, at time.Time) (bool, error)
}

// Service manages API tokens.
type Service struct {
	Store Store
	Now   func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// Hash returns the stored form of a secret.
func Hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// NewSecret returns a fresh random token secret.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return Prefix + base64.RawURLEncoding.EncodeToString(b)
}

// MinSecretLen is the shortest secret accepted from an operator's file.
const MinSecretLen = 20

// CreateRequest describes a new token.
type CreateRequest struct {
	Name      string
	Role      string
	ExpiresAt *time.Time
	// Secret, when set, is used instead of a random one (bootstrap from a file).
	Secret string
}

// Create issues a token and returns its record and the secret (shown once).
func (s *Service) Create(ctx context.Context, actor audit.Actor, req CreateRequest) (Token, string, error) {
	if err := audit.RequireRole(actor, audit.RoleAdmin); err != nil {
		return Token{}, "", err
	}
	var tok Token
	var secret string
	err := s.Store.WithTokenTx(ctx, func(tx Tx) error {
		var err error
		tok, secret, err = s.CreateTx(ctx, tx, actor, req)
		return err
	})
	return tok, secret, err
}

// CreateTx issues a token inside tx.
func (s *Service) CreateTx(ctx context.Context, tx Tx, actor audit.Actor, req CreateRequest) (Token, string, error) {
	v := &errs.Invalid{}
	name := strings.TrimSpace(req.Name)
	if name == "" || utf8.RuneCountInString(name) > 64 {
		v.Add("name", "is required and at most 64 characters")
	} else if _, err := uuid.Parse(name); err == nil {
		v.Add("name", "must not look like a token id")
	}
	if req.Role != audit.RoleAdmin && req.Role != audit.RoleAuditor {
		v.Add("role", "must be \"admin\" or \"auditor\"")
	}
	now := s.now()
	if req.ExpiresAt != nil && !req.ExpiresAt.After(now) {
		v.Add("expiresAt", "must be in the future")
	}
	secret := req.Secret
	if secret == "" {
		secret = NewSecret()
	} else if len(secret) < MinSecretLen {
		v.Add("secret", "must be at least %d characters", MinSecretLen)
	}
	if err := v.Err(); err != nil {
		return Token{}, "", err
	}
	tok := Token{
		ID: uuid.Must(uuid.NewV7()).String(), Name: name, Role: req.Role,
		Hint: secret[:min(len(secret), 8)], CreatedAt: now, CreatedBy: actor.Name, ExpiresAt: req.ExpiresAt,
	}
	if err := tx.InsertToken(ctx, tok, Hash(secret)); err != nil {
		return Token{}, "", err
	}
	summary := map[string]any{"role": tok.Role}
	if tok.ExpiresAt != nil {
		summary["expiresAt"] = tok.ExpiresAt
	}
	return tok, secret, tx.AppendAudit(ctx, audit.New(ctx, actor, "token.create", "token", tok.ID, tok.Name, summary))
}

// List returns every token, newest first.
func (s *Service) List(ctx context.Context, actor audit.Actor) ([]Token, error) {
	if err := audit.RequireRole(actor, audit.RoleAdmin); err != nil {
		return nil, err
	}
	return s.Store.ListTokens(ctx)
}

// Revoke ends a token's validity at once.
func (s *Service) Revoke(ctx context.Context, actor audit.Actor, idOrName string) (Token, error) {
	if err := audit.RequireRole(actor, audit.RoleAdmin); err != nil {
		return Token{}, err
	}
	var tok Token
	err := s.Store.WithTokenTx(ctx, func(tx Tx) error {
		var err error
		if tok, err = tx.GetToken(ctx, idOrName); err != nil {
			return err
		}
		now := s.now()
		changed, err := tx.RevokeToken(ctx, tok.ID, now)
		if err != nil || !changed {
			return err
		}
		tok.RevokedAt = &now
		return tx.AppendAudit(ctx, audit.New(ctx, actor, "token.revoke", "token", tok.ID, tok.Name, nil))
	})
	return tok, err
}

// Authenticate returns the actor for a presented secret, or
// errs.ErrUnauthenticated (whatever the reason).
func (s *Service) Authenticate(ctx context.Context, secret string) (audit.Actor, error) {
	if !strings.HasPrefix(secret, Prefix) && len(secret) < MinSecretLen || len(secret) > 256 {
		return audit.Actor{}, errs.ErrUnauthenticated
	}
	tok, err := s.Store.GetTokenByHash(ctx, Hash(secret))
	if errors.Is(err, errs.ErrNotFound) {
		return audit.Actor{}, errs.ErrUnauthenticated
	}
	if err != nil {
		return audit.Actor{}, err
	}
	now := s.now()
	if !tok.Active(now) {
		return audit.Actor{}, errs.ErrUnauthenticated
	}
	// Recording every use would make each API call a write; a minute's
	// precision is enough to see which tokens are in use.
	if err := s.Store.TouchToken(ctx, tok.ID, now, now.Add(-time.Minute)); err != nil {
		return audit.Actor{}, err
	}
	return audit.Actor{Type: audit.ActorToken, ID: tok.ID, Name: tok.Name, Role: tok.Role}, nil
}
