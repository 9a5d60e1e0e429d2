package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/idcenter/idcenter/internal/authn"
	"github.com/idcenter/idcenter/internal/errs"
)

// WithMFATx runs fn in a transaction (authn.MFAStore).
func (s *Store) WithMFATx(ctx context.Context, fn func(authn.MFATx) error) error {
	return s.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}

func mfaAffected(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// --- TOTP ---

// GetTOTPCredential returns a user's authenticator app, confirmed or not.
func (c *conn) GetTOTPCredential(ctx context.Context, userID string) (authn.TOTPCredential, error) {
	var t authn.TOTPCredential
	var confirmed sql.NullInt64
	var created int64
	err := c.q.QueryRowContext(ctx, `SELECT user_id, secret_sealed, confirmed_at, last_step, created_at
		FROM totp_credentials WHERE user_id = $1`, userID).Scan(&t.UserID, &t.SecretSealed, &confirmed, &t.LastStep, &created)
	if err != nil {
		return t, c.wrap(err)
	}
	t.Confirmed, t.Created = ptrTime(confirmed), fromMicros(created)
	return t, nil
}

// PutPendingTOTP stores an unconfirmed seed, replacing an unconfirmed one; it
// reports false (and changes nothing) when a confirmed one exists.
func (c *conn) PutPendingTOTP(ctx context.Context, userID, sealed string, at time.Time) (bool, error) {
	n, err := mfaAffected(c.q.ExecContext(ctx, `INSERT INTO totp_credentials (user_id, secret_sealed, confirmed_at, last_step, created_at)
		VALUES ($1, $2, NULL, 0, $3)
		ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, last_step = 0, created_at = excluded.created_at
		WHERE totp_credentials.confirmed_at IS NULL`, userID, sealed, micros(at)))
	return n > 0, c.wrap(err)
}

// ConfirmTOTP confirms the pending seed sealed, recording step as used; false
// when that seed is no longer the pending one.
func (c *conn) ConfirmTOTP(ctx context.Context, userID, sealed string, step int64, at time.Time) (bool, error) {
	n, err := mfaAffected(c.q.ExecContext(ctx, `UPDATE totp_credentials SET confirmed_at = $1, last_step = $2
		WHERE user_id = $3 AND secret_sealed = $4 AND confirmed_at IS NULL`, micros(at), step, userID, sealed))
	return n > 0, c.wrap(err)
}

// UseTOTPStep records step as the last used time step when it is after the
// stored one. Only one of any number of concurrent callers can win a step.
func (c *conn) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	n, err := mfaAffected(c.q.ExecContext(ctx, `UPDATE totp_credentials SET last_step = $1
		WHERE user_id = $2 AND last_step < $1 AND confirmed_at IS NOT NULL`, step, userID))
	return n == 1, c.wrap(err)
}

// DeleteTOTPCredential removes a user's authenticator app.
func (c *conn) DeleteTOTPCredential(ctx context.Context, userID string) (bool, error) {
	n, err := mfaAffected(c.q.ExecContext(ctx, `DELETE FROM totp_credentials WHERE user_id = $1`, userID))
	return n > 0, c.wrap(err)
}

// --- WebAuthn ---

const webauthnColumns = `id, user_id, credential_id, name, data, created_at, last_used_at`

// ListWebAuthnCredentials lists a user's security keys and passkeys, oldest first.
func (c *conn) ListWebAuthnCredentials(ctx context.Context, userID string) ([]authn.WebAuthnCredential, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT `+webauthnColumns+` FROM webauthn_credentials WHERE user_id = $1
		ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, c.wrap(err)
	}
	defer rows.Close()
	var out []authn.WebAuthnCredential
	for rows.Next() {
		var w authn.WebAuthnCredential
		var created int64
		var used sql.NullInt64
		if err := rows.Scan(&w.ID, &w.UserID, &w.CredentialID, &w.Name, &w.Data, &created, &used); err != nil {
			return nil, c.wrap(err)
		}
		w.Created, w.LastUsed = fromMicros(created), ptrTime(used)
		out = append(out, w)
	}
	return out, c.wrap(rows.Err())
}

// InsertWebAuthnCredential stores a credential; a credential id registered
// already (to anyone) is authn.ErrCredentialExists.
func (c *conn) InsertWebAuthnCredential(ctx context.Context, w authn.WebAuthnCredential) error {
	_, err := c.q.ExecContext(ctx, `INSERT INTO webauthn_credentials (`+webauthnColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, w.ID, w.UserID, w.CredentialID, w.Name, w.Data, micros(w.Created), nullMicros(w.LastUsed))
	if err != nil {
		if kind, _ := c.dialect.Classify(err); kind == ErrUnique {
			return authn.ErrCredentialExists
		}
	}
	return c.wrap(err)
}

// UpdateWebAuthnCredential stores a credential's state after a use (sign
// count, flags) and the time of use.
func (c *conn) UpdateWebAuthnCredential(ctx context.Context, id, userID, data string, usedAt time.Time) error {
	n, err := mfaAffected(c.q.ExecContext(ctx, `UPDATE webauthn_credentials SET data = $1, last_used_at = $2
		WHERE id = $3 AND user_id = $4`, data, micros(usedAt), id, userID))
	if err == nil && n == 0 {
		return errs.NotFound("webauthn credential", id)
	}
	return c.wrap(err)
}

// DeleteWebAuthnCredential removes one of a user's credentials.
func (c *conn) DeleteWebAuthnCredential(ctx context.Context, userID, id string) (bool, error) {
	n, err := mfaAffected(c.q.ExecContext(ctx, `DELETE FROM webauthn_credentials WHERE id = $1 AND user_id = $2`, id, userID))
	return n > 0, c.wrap(err)
}

// DeleteWebAuthnCredentials removes all of a user's credentials.
func (c *conn) DeleteWebAuthnCredentials(ctx context.Context, userID string) (int, error) {
	n, err := mfaAffected(c.q.ExecContext(ctx, `DELETE FROM webauthn_credentials WHERE user_id = $1`, userID))
	return n, c.wrap(err)
}

// --- recovery codes ---

// ReplaceRecoveryCodes replaces every recovery code of a user with hashes.
func (c *conn) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, at time.Time) error {
	if _, err := c.q.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return c.wrap(err)
	}
	for _, h := range hashes {
		if _, err := c.q.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)`,
			userID, h, micros(at)); err != nil {
			return c.wrap(err)
		}
	}
	return nil
}

// UseRecoveryCode marks an unused code used; false when it is unknown or
// was used already. Only one concurrent caller can use a code.
func (c *conn) UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) (bool, error) {
	n, err := mfaAffected(c.q.ExecContext(ctx, `UPDATE recovery_codes SET used_at = $1
		WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL`, micros(at), userID, hash))
	return n == 1, c.wrap(err)
}

// CountRecoveryCodes counts a user's unused recovery codes.
func (c *conn) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	err := c.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n)
	return n, c.wrap(err)
}

// DeleteRecoveryCodes removes every recovery code of a user and returns how
// many were unused.
func (c *conn) DeleteRecoveryCodes(ctx context.Context, userID string) (int, error) {
	unused, err := c.CountRecoveryCodes(ctx, userID)
	if err != nil {
		return 0, err
	}
	if _, err := c.q.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return 0, c.wrap(err)
	}
	return unused, nil
}

// --- remembered devices ---

// InsertRememberedDevice remembers a browser (by the hash of its cookie) for
// a user until expires, dropping the user's expired entries.
func (c *conn) InsertRememberedDevice(ctx context.Context, hash, userID string, at, expires time.Time) error {
	if _, err := c.q.ExecContext(ctx, `DELETE FROM remembered_devices WHERE user_id = $1 AND expires_at <= $2`, userID, micros(at)); err != nil {
		return c.wrap(err)
	}
	_, err := c.q.ExecContext(ctx, `INSERT INTO remembered_devices (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		hash, userID, micros(at), micros(expires))
	return c.wrap(err)
}

// RememberedDevice reports whether hash names a live remembered browser of userID.
func (c *conn) RememberedDevice(ctx context.Context, hash, userID string, at time.Time) (bool, error) {
	var one int
	err := c.q.QueryRowContext(ctx, `SELECT 1 FROM remembered_devices WHERE token_hash = $1 AND user_id = $2 AND expires_at > $3`,
		hash, userID, micros(at)).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, c.wrap(err)
}

// DeleteRememberedDevices forgets every remembered browser of a user.
func (c *conn) DeleteRememberedDevices(ctx context.Context, userID string) (int, error) {
	n, err := mfaAffected(c.q.ExecContext(ctx, `DELETE FROM remembered_devices WHERE user_id = $1`, userID))
	return n, c.wrap(err)
}

var (
	_ authn.MFAStore = (*Store)(nil)
	_ authn.MFATx    = (*Tx)(nil)
)
