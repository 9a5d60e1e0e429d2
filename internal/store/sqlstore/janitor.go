package sqlstore

import (
	"context"
	"time"
)

// PurgeExpired deletes rows that can no longer be used: sessions revoked or
// expired more than a day ago, used or expired one-time tokens older than a
// day, expired remembered browsers, and failure counters quiet for a day. It
// is idempotent, so every replica may run it. It returns how many rows went.
func (s *Store) PurgeExpired(ctx context.Context, now time.Time) (int64, error) {
	cutoff := micros(now.Add(-24 * time.Hour))
	var total int64
	err := s.WithTx(ctx, func(tx *Tx) error {
		for _, q := range []string{
			`DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1`,
			`DELETE FROM one_time_tokens WHERE expires_at < $1 OR used_at < $1`,
			`DELETE FROM remembered_devices WHERE expires_at < $1`,
			`DELETE FROM login_throttle WHERE last_failure_at < $1 AND (locked_until IS NULL OR locked_until < $1)`,
		} {
			res, err := tx.q.ExecContext(ctx, q, cutoff)
			if err != nil {
				return tx.wrap(err)
			}
			n, _ := res.RowsAffected()
			total += n
		}
		return nil
	})
	return total, err
}
