// Package tokens owns bearer tokens: admin API tokens (roles admin and
// auditor) and SCIM provisioning tokens (role scim): creation (the secret is
// shown once and stored only as a SHA-256 hash), listing, revocation, expiry
// and authentication of a presented secret.
//
// Authenticate accepts every kind and returns the token's role in the actor;
// each surface checks the role it needs: the admin API admin or auditor,
// the SCIM server audit.RoleSCIM only.
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

// SCIM token lifetimes and the expiry warning.
const (
	// SCIMDefaultLifetime is a SCIM token's lifetime when none is asked for.
	SCIMDefaultLifetime = 365 * 24 * time.Hour
	// SCIMMaxLifetime is the longest lifetime a SCIM token may have.
	SCIMMaxLifetime = 2 * 365 * 24 * time.Hour
	// ExpiryWarning is how long before its expiry a token is flagged as
	// expiring soon (ExpiringSoon).
	ExpiryWarning = 30 * 24 * time.Hour
)

// SCIMBasePath is where the SCIM 2.0 server is mounted, below the public base
// URL; the console, the API and the CLI show <public URL>+SCIMBasePath.
const SCIMBasePath = "/scim/v2"

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

// ExpiringSoon reports whether t is still usable at now but expires within
// ExpiryWarning: the console, the API and the CLI flag it so it can be
// rotated in time. Revoked, expired and never-expiring tokens are not
// expiring soon.
func ExpiringSoon(t Token, now time.Time) bool {
	return t.Active(now) && t.ExpiresAt != nil && t.ExpiresAt.Sub(now) <= ExpiryWarning
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

// CreateRequest describes a new admin API token.
type CreateRequest struct {
	Name      string
	Role      string // audit.RoleAdmin or audit.RoleAuditor
	ExpiresAt *time.Time
	// Secret, when set, is used instead of a random one (bootstrap from a file).
	Secret string
}

// Create issues an admin API token (role admin or auditor) and returns its
// record and the secret (shown once). SCIM tokens are refused here: they
// are created by CreateSCIM, which applies their expiry rules.
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

// CreateTx issues an admin API token inside tx.
func (s *Service) CreateTx(ctx context.Context, tx Tx, actor audit.Actor, req CreateRequest) (Token, string, error) {
	return s.create(ctx, tx, actor, req, false)
}

// SCIMRequest describes a new SCIM token. A nil ExpiresAt means
// SCIMDefaultLifetime from now; at most SCIMMaxLifetime is allowed.
type SCIMRequest struct {
	Name      string
	ExpiresAt *time.Time
}

// CreateSCIM issues a SCIM provisioning token (role audit.RoleSCIM) and
// returns its record and the secret (shown once). Several SCIM tokens may be
// active at once, so a client's token can be replaced before the old one is
// revoked.
func (s *Service) CreateSCIM(ctx context.Context, actor audit.Actor, req SCIMRequest) (Token, string, error) {
	if err := audit.RequireRole(actor, audit.RoleAdmin); err != nil {
		return Token{}, "", err
	}
	var tok Token
	var secret string
	err := s.Store.WithTokenTx(ctx, func(tx Tx) error {
		var err error
		tok, secret, err = s.create(ctx, tx, actor, CreateRequest{Name: req.Name, Role: audit.RoleSCIM, ExpiresAt: req.ExpiresAt}, true)
		return err
	})
	return tok, secret, err
}

// create validates req and inserts the token with its audit event. scim
// selects the SCIM rules: role scim only, a default and a maximum lifetime;
// otherwise the role must be admin or auditor.
func (s *Service) create(ctx context.Context, tx Tx, actor audit.Actor, req CreateRequest, scim bool) (Token, string, error) {
	v := &errs.Invalid{}
	name := strings.TrimSpace(req.Name)
	if name == "" || utf8.RuneCountInString(name) > 64 {
		v.Add("name", "is required and at most 64 characters")
	} else if _, err := uuid.Parse(name); err == nil {
		v.Add("name", "must not look like a token id")
	}
	switch {
	case scim && req.Role == audit.RoleSCIM:
	case scim:
		v.Add("role", "must be %q", audit.RoleSCIM)
	case req.Role == audit.RoleAdmin || req.Role == audit.RoleAuditor:
	case req.Role == audit.RoleSCIM:
		v.Add("role", "must be \"admin\" or \"auditor\": SCIM tokens are created separately (POST /api/v1/scim/tokens, idcenter scim-tokens create)")
	default:
		v.Add("role", "must be \"admin\" or \"auditor\"")
	}
	now := s.now()
	switch {
	case scim && req.ExpiresAt == nil:
		t := now.Add(SCIMDefaultLifetime)
		req.ExpiresAt = &t
	case req.ExpiresAt == nil:
	case !req.ExpiresAt.After(now):
		v.Add("expiresAt", "must be in the future")
	case scim && req.ExpiresAt.After(now.Add(SCIMMaxLifetime)):
		v.Add("expiresAt", "must be at most %d days from now", int(SCIMMaxLifetime/(24*time.Hour)))
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
	var exp *time.Time
	if req.ExpiresAt != nil {
		t := req.ExpiresAt.UTC().Truncate(time.Microsecond) // what the store keeps
		exp = &t
	}
	tok := Token{
		ID: uuid.Must(uuid.NewV7()).String(), Name: name, Role: req.Role,
		Hint: secret[:min(len(secret), 8)], CreatedAt: now, CreatedBy: actor.Name, ExpiresAt: exp,
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

// List returns every token, SCIM tokens included, newest first.
func (s *Service) List(ctx context.Context, actor audit.Actor) ([]Token, error) {
	if err := audit.RequireRole(actor, audit.RoleAdmin); err != nil {
		return nil, err
	}
	return s.Store.ListTokens(ctx)
}

// ListSCIM returns the SCIM tokens, newest first.
func (s *Service) ListSCIM(ctx context.Context, actor audit.Actor) ([]Token, error) {
	all, err := s.List(ctx, actor)
	if err != nil {
		return nil, err
	}
	var out []Token
	for _, t := range all {
		if t.Role == audit.RoleSCIM {
			out = append(out, t)
		}
	}
	return out, nil
}

// Revoke ends a token's validity at once, whatever its role.
func (s *Service) Revoke(ctx context.Context, actor audit.Actor, idOrName string) (Token, error) {
	return s.revoke(ctx, actor, idOrName, "")
}

// RevokeSCIM revokes a SCIM token; any other token is errs.ErrNotFound, so
// the SCIM token screens cannot end an admin API token by mistake.
func (s *Service) RevokeSCIM(ctx context.Context, actor audit.Actor, idOrName string) (Token, error) {
	return s.revoke(ctx, actor, idOrName, audit.RoleSCIM)
}

// revoke revokes the token idOrName; a non-empty role must be its role.
func (s *Service) revoke(ctx context.Context, actor audit.Actor, idOrName, role string) (Token, error) {
	if err := audit.RequireRole(actor, audit.RoleAdmin); err != nil {
		return Token{}, err
	}
	var tok Token
	err := s.Store.WithTokenTx(ctx, func(tx Tx) error {
		var err error
		if tok, err = tx.GetToken(ctx, idOrName); err != nil {
			return err
		}
		if role != "" && tok.Role != role {
			return errs.NotFound(role+" token", idOrName)
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
// errs.ErrUnauthenticated (whatever the reason). The actor is of type
// audit.ActorToken, named after the token, with the token's role: a surface
// must check that role (RequireRole), since every kind of token
// authenticates here. The SCIM server accepts audit.RoleSCIM only; the admin
// API refuses it.
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
