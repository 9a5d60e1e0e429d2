package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/tokens"
)

// WithTokenTx runs fn in a transaction (tokens.Store).
func (s *Store) WithTokenTx(ctx context.Context, fn func(tokens.Tx) error) error {
	return s.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}

const tokenColumns = `id, name, role, hint, created_at, created_by, expires_at, revoked_at, last_used_at`

func scanToken(sc interface{ Scan(...any) error }) (tokens.Token, error) {
	var t tokens.Token
	var created int64
	var expires, revoked, used sql.NullInt64
	err := sc.Scan(&t.ID, &t.Name, &t.Role, &t.Hint, &created, &t.CreatedBy, &expires, &revoked, &used)
	t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsedAt = fromMicros(created), ptrTime(expires), ptrTime(revoked), ptrTime(used)
	return t, err
}

// GetTokenByHash finds a token by the hash of its secret.
func (c *conn) GetTokenByHash(ctx context.Context, hash string) (tokens.Token, error) {
	t, err := scanToken(c.q.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = $1`, hash))
	return t, c.wrap(err)
}

// GetToken finds a token by id or name.
func (c *conn) GetToken(ctx context.Context, idOrName string) (tokens.Token, error) {
	t, err := scanToken(c.q.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = $1 OR name = $1
		ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END LIMIT 1`, idOrName))
	if err = c.wrap(err); err == errs.ErrNotFound {
		return t, errs.NotFound("token", idOrName)
	}
	return t, err
}

// ListTokens lists every token, newest first.
func (c *conn) ListTokens(ctx context.Context) ([]tokens.Token, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, c.wrap(err)
	}
	defer rows.Close()
	var out []tokens.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, c.wrap(err)
		}
		out = append(out, t)
	}
	return out, c.wrap(rows.Err())
}

// InsertToken stores a token record and the hash of its secret.
func (c *conn) InsertToken(ctx context.Context, t tokens.Token, hash string) error {
	_, err := c.q.ExecContext(ctx, `INSERT INTO api_tokens (id, name, role, hash, hint, created_at, created_by, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		t.ID, t.Name, t.Role, hash, t.Hint, micros(t.CreatedAt), t.CreatedBy, nullMicros(t.ExpiresAt))
	err = c.writeErr(err, t.Name)
	if cf, ok := err.(*errs.Conflict); ok && cf.Field == "secret" {
		cf.Value = "" // the name is not the colliding value, and the secret is never echoed
	}
	return err
}

// RevokeToken marks a token revoked; it reports false when it already was.
func (c *conn) RevokeToken(ctx context.Context, id string, at time.Time) (bool, error) {
	res, err := c.q.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, micros(at), id)
	if err != nil {
		return false, c.wrap(err)
	}
	n, err := res.RowsAffected()
	return n > 0, c.wrap(err)
}

// TouchToken records the last use of a token, at most once per interval.
func (s *Store) TouchToken(ctx context.Context, id string, at, notBefore time.Time) error {
	// Cheap read first: most calls change nothing and need no write lock.
	var last sql.NullInt64
	if err := s.rdb.QueryRowContext(ctx, `SELECT last_used_at FROM api_tokens WHERE id = $1`, id).Scan(&last); err != nil {
		return s.wrap(err)
	}
	if last.Valid && last.Int64 >= micros(notBefore) {
		return nil
	}
	_, err := s.wdb.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2
		AND (last_used_at IS NULL OR last_used_at < $3)`, micros(at), id, micros(notBefore))
	return s.wrap(err)
}
