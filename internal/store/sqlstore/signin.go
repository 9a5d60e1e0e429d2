package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/idcenter/idcenter/internal/authn"
	"github.com/idcenter/idcenter/internal/errs"
)

// WithAuthTx runs fn in a transaction (authn.Store).
func (s *Store) WithAuthTx(ctx context.Context, fn func(authn.Tx) error) error {
	return s.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}

// GetThrottle returns the failure counter of key (zero when none).
func (c *conn) GetThrottle(ctx context.Context, key string) (authn.Throttle, error) {
	var t authn.Throttle
	var last int64
	var locked sql.NullInt64
	err := c.q.QueryRowContext(ctx, `SELECT failures, last_failure_at, locked_until FROM login_throttle WHERE key = $1`, key).
		Scan(&t.Failures, &last, &locked)
	if err == sql.ErrNoRows {
		return authn.Throttle{}, nil
	}
	if err != nil {
		return t, c.wrap(err)
	}
	t.LastFailure, t.LockedUntil = fromMicros(last), ptrTime(locked)
	return t, nil
}

// RecordFailure atomically counts one failure for key. A counter whose last
// failure is before resetBefore starts again at 1; reaching lockAt sets
// locked_until. Concurrent failures on any replica are all counted.
func (c *conn) RecordFailure(ctx context.Context, key string, at, resetBefore time.Time, lockAt int, lockUntil time.Time) (authn.Throttle, error) {
	var t authn.Throttle
	var locked sql.NullInt64
	err := c.q.QueryRowContext(ctx, `INSERT INTO login_throttle (key, failures, last_failure_at, locked_until)
		VALUES ($1, 1, CAST($2 AS BIGINT), CASE WHEN CAST($4 AS BIGINT) <= 1 THEN CAST($5 AS BIGINT) ELSE NULL END)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN login_throttle.last_failure_at < CAST($3 AS BIGINT) THEN 1 ELSE login_throttle.failures + 1 END,
			last_failure_at = CAST($2 AS BIGINT),
			locked_until = CASE
				WHEN (CASE WHEN login_throttle.last_failure_at < CAST($3 AS BIGINT) THEN 1 ELSE login_throttle.failures + 1 END) >= CAST($4 AS BIGINT)
				THEN CAST($5 AS BIGINT)
				ELSE login_throttle.locked_until END
		RETURNING failures, locked_until`,
		key, micros(at), micros(resetBefore), lockAt, micros(lockUntil)).Scan(&t.Failures, &locked)
	if err != nil {
		return t, c.wrap(err)
	}
	t.LastFailure, t.LockedUntil = at, ptrTime(locked)
	return t, nil
}

// ClearThrottle removes the counter of key.
func (c *conn) ClearThrottle(ctx context.Context, key string) (bool, error) {
	res, err := c.q.ExecContext(ctx, `DELETE FROM login_throttle WHERE key = $1`, key)
	if err != nil {
		return false, c.wrap(err)
	}
	n, err := res.RowsAffected()
	return n > 0, c.wrap(err)
}

// InsertOneTimeToken stores a single-use token's hash.
func (c *conn) InsertOneTimeToken(ctx context.Context, t authn.OneTimeToken, hash string) error {
	_, err := c.q.ExecContext(ctx, `INSERT INTO one_time_tokens (token_hash, kind, user_id, data, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, hash, t.Kind, nullString(t.UserID), orJSON(t.Data), micros(t.Created), micros(t.Expires))
	return c.wrap(err)
}

func orJSON(s string) string {
	if s == "" {
		return "{}"
	}
	return s
}

// ConsumeOneTimeToken marks a live token of kind used and returns it. Only
// one caller can ever consume a token: the guarded UPDATE decides.
func (c *conn) ConsumeOneTimeToken(ctx context.Context, hash, kind string, at time.Time) (authn.OneTimeToken, error) {
	var t authn.OneTimeToken
	var user sql.NullString
	var created, expires int64
	err := c.q.QueryRowContext(ctx, `UPDATE one_time_tokens SET used_at = $1
		WHERE token_hash = $2 AND kind = $3 AND used_at IS NULL AND expires_at > $1
		RETURNING kind, user_id, data, created_at, expires_at`, micros(at), hash, kind).
		Scan(&t.Kind, &user, &t.Data, &created, &expires)
	if err != nil {
		if err = c.wrap(err); err == errs.ErrNotFound {
			return t, authn.ErrTokenInvalid
		}
		return t, err
	}
	t.UserID, t.Created, t.Expires = user.String, fromMicros(created), fromMicros(expires)
	return t, nil
}

// PeekOneTimeToken returns a live token of kind without using it.
func (c *conn) PeekOneTimeToken(ctx context.Context, hash, kind string, at time.Time) (authn.OneTimeToken, error) {
	var t authn.OneTimeToken
	var user sql.NullString
	var created, expires int64
	err := c.q.QueryRowContext(ctx, `SELECT kind, user_id, data, created_at, expires_at FROM one_time_tokens
		WHERE token_hash = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3`, hash, kind, micros(at)).
		Scan(&t.Kind, &user, &t.Data, &created, &expires)
	if err != nil {
		if err = c.wrap(err); err == errs.ErrNotFound {
			return t, authn.ErrTokenInvalid
		}
		return t, err
	}
	t.UserID, t.Created, t.Expires = user.String, fromMicros(created), fromMicros(expires)
	return t, nil
}

// InvalidateOneTimeTokens uses up every live token of kind for a user (a new
// reset link replaces older ones).
func (c *conn) InvalidateOneTimeTokens(ctx context.Context, userID, kind string, at time.Time) error {
	_, err := c.q.ExecContext(ctx, `UPDATE one_time_tokens SET used_at = $1 WHERE user_id = $2 AND kind = $3 AND used_at IS NULL`,
		micros(at), userID, kind)
	return c.wrap(err)
}
