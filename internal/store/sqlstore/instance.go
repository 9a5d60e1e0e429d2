package sqlstore

import (
	"context"
	"time"
)

func timeNow() time.Time { return time.Now().UTC() }

// Instance is the singleton row created on first start.
type Instance struct {
	ID        string
	KeyCheck  string // AEAD seal of a constant under the master key
	CreatedAt time.Time
}

// GetInstance returns the instance row, or errs.ErrNotFound on an empty store.
func (c *conn) GetInstance(ctx context.Context) (Instance, error) {
	var in Instance
	var at int64
	err := c.q.QueryRowContext(ctx, `SELECT instance_id, key_check, created_at FROM instance WHERE singleton = 1`).Scan(&in.ID, &in.KeyCheck, &at)
	in.CreatedAt = fromMicros(at)
	return in, c.wrap(err)
}

// CreateInstance inserts the instance row. It reports false, changing
// nothing, when another replica created it first.
func (c *conn) CreateInstance(ctx context.Context, in Instance) (bool, error) {
	res, err := c.q.ExecContext(ctx, `INSERT INTO instance (singleton, instance_id, key_check, created_at) VALUES (1, $1, $2, $3)
		ON CONFLICT (singleton) DO NOTHING`, in.ID, in.KeyCheck, micros(in.CreatedAt))
	if err != nil {
		return false, c.wrap(err)
	}
	n, err := res.RowsAffected()
	return n == 1, c.wrap(err)
}
