package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/iac"
)

// IaCStore adapts Store to iac.Store: the last rendered IAM set-up of each
// AWS account.
type IaCStore struct{ *Store }

// IaC returns the IAM-render view of the store.
func (s *Store) IaC() IaCStore { return IaCStore{s} }

var (
	_ iac.Store = IaCStore{}
	_ iac.Tx    = (*Tx)(nil)
)

// WithIaCTx runs fn in a transaction.
func (s IaCStore) WithIaCTx(ctx context.Context, fn func(iac.Tx) error) error {
	return s.Store.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}

// GetIAMRender returns the last render of an account.
func (c *conn) GetIAMRender(ctx context.Context, accountID string) (iac.Record, error) {
	var r iac.Record
	var state string
	var at int64
	err := c.q.QueryRowContext(ctx, `SELECT account_id, format, digest, state, rendered_at, rendered_by
		FROM iam_renders WHERE account_id = $1`, accountID).Scan(&r.AccountID, &r.Format, &r.Digest, &state, &at, &r.RenderedBy)
	if err = c.wrap(err); err == errs.ErrNotFound {
		return r, errs.NotFound("IAM render", accountID)
	} else if err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(state), &r.State); err != nil {
		return r, fmt.Errorf("IAM render of account %s: %w", accountID, err)
	}
	r.RenderedAt = fromMicros(at)
	return r, nil
}

// PutIAMRender inserts or replaces the account's last render.
func (c *conn) PutIAMRender(ctx context.Context, r iac.Record) error {
	state, err := json.Marshal(r.State)
	if err != nil {
		return err
	}
	_, err = c.q.ExecContext(ctx, `INSERT INTO iam_renders (account_id, format, digest, state, rendered_at, rendered_by)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (account_id) DO UPDATE SET format = excluded.format, digest = excluded.digest, state = excluded.state,
			rendered_at = excluded.rendered_at, rendered_by = excluded.rendered_by`,
		r.AccountID, r.Format, r.Digest, string(state), micros(r.RenderedAt), r.RenderedBy)
	return c.wrap(err)
}
