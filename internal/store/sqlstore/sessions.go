package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/session"
)

// WithSessionTx runs fn in a transaction (session.Store).
func (s *Store) WithSessionTx(ctx context.Context, fn func(session.Tx) error) error {
	return s.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}

const sessionColumns = `id, user_id, auth_methods, mfa, client_ip, user_agent, created_at, last_seen_at, expires_at, revoked_at`

func scanSession(sc interface{ Scan(...any) error }) (session.Session, error) {
	var s session.Session
	var methods string
	var created, seen, expires int64
	var revoked sql.NullInt64
	err := sc.Scan(&s.ID, &s.UserID, &methods, &s.MFA, &s.ClientIP, &s.UserAgent, &created, &seen, &expires, &revoked)
	if methods != "" {
		s.Methods = strings.Split(methods, ",")
	}
	s.Created, s.LastSeen, s.Expires, s.Revoked = fromMicros(created), fromMicros(seen), fromMicros(expires), ptrTime(revoked)
	return s, err
}

// InsertSession stores a new session.
func (c *conn) InsertSession(ctx context.Context, s session.Session, tokenHash string) error {
	_, err := c.q.ExecContext(ctx, `INSERT INTO sessions (id, token_hash, user_id, auth_methods, mfa, client_ip, user_agent,
		created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		s.ID, tokenHash, s.UserID, strings.Join(s.Methods, ","), s.MFA, s.ClientIP, s.UserAgent,
		micros(s.Created), micros(s.LastSeen), micros(s.Expires))
	return c.wrap(err)
}

// GetSessionByHash finds a session by the hash of its token.
func (c *conn) GetSessionByHash(ctx context.Context, hash string) (session.Session, error) {
	s, err := scanSession(c.q.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = $1`, hash))
	return s, c.wrap(err)
}

// GetSession finds a session by id.
func (c *conn) GetSession(ctx context.Context, id string) (session.Session, error) {
	s, err := scanSession(c.q.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	if err = c.wrap(err); err == errs.ErrNotFound {
		return s, errs.NotFound("session", id)
	}
	return s, err
}

// ListUserSessions lists a user's unrevoked sessions, newest first.
func (c *conn) ListUserSessions(ctx context.Context, userID string) ([]session.Session, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = $1 AND revoked_at IS NULL
		ORDER BY created_at DESC, id DESC LIMIT 200`, userID)
	if err != nil {
		return nil, c.wrap(err)
	}
	defer rows.Close()
	var out []session.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, c.wrap(err)
		}
		out = append(out, s)
	}
	return out, c.wrap(rows.Err())
}

// TouchSession records activity unless it was recorded after notBefore.
func (s *Store) TouchSession(ctx context.Context, id string, at, notBefore time.Time) error {
	var seen int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT last_seen_at FROM sessions WHERE id = $1`, id).Scan(&seen); err != nil {
		return s.wrap(err)
	}
	if seen >= micros(notBefore) {
		return nil
	}
	_, err := s.wdb.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $3`,
		micros(at), id, micros(notBefore))
	return s.wrap(err)
}

// RevokeSession revokes one session; false when it already was.
func (c *conn) RevokeSession(ctx context.Context, id string, at time.Time) (bool, error) {
	res, err := c.q.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, micros(at), id)
	if err != nil {
		return false, c.wrap(err)
	}
	n, err := res.RowsAffected()
	return n > 0, c.wrap(err)
}

// RevokeUserSessions revokes every live session of a user.
func (c *conn) RevokeUserSessions(ctx context.Context, userID string, at time.Time) (int, error) {
	res, err := c.q.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`, micros(at), userID)
	if err != nil {
		return 0, c.wrap(err)
	}
	n, err := res.RowsAffected()
	return int(n), c.wrap(err)
}
