package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/errs"
)

// CloudStore adapts Store to cloud.Store.
type CloudStore struct{ *Store }

// Cloud returns the account-access view of the store.
func (s *Store) Cloud() CloudStore { return CloudStore{s} }

var (
	_ cloud.Store = CloudStore{}
	_ cloud.Tx    = (*Tx)(nil)
)

// WithCloudTx runs fn in a transaction.
func (c CloudStore) WithCloudTx(ctx context.Context, fn func(cloud.Tx) error) error {
	return c.Store.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}

func init() {
	for k, v := range map[string][2]string{
		"cloud_accounts_pkey": {"account", "id"}, "cloud_accounts.id": {"account", "id"},
		"cloud_accounts_name_norm": {"account", "name"}, "cloud_accounts.name_norm": {"account", "name"},
		"permission_sets_name_norm": {"permission set", "name"}, "permission_sets.name_norm": {"permission set", "name"},
	} {
		uniqueFields[k] = v
	}
}

// accountDoc is the JSON document of an account's other fields.
type accountDoc struct {
	Description   string `json:"description,omitempty"`
	SAMLProvider  string `json:"samlProvider"`
	DefaultRegion string `json:"defaultRegion,omitempty"`
	STSRegion     string `json:"stsRegion,omitempty"`
	STSEndpoint   string `json:"stsEndpoint,omitempty"`
	SignInURL     string `json:"signInUrl"`
	AppID         string `json:"appId,omitempty"`
}

const accountColumns = `id, name, attributes, managed_by, created_at, modified_at, version`

func scanAccount(sc interface{ Scan(...any) error }) (cloud.Account, error) {
	var a cloud.Account
	var doc string
	var created, modified int64
	if err := sc.Scan(&a.ID, &a.Name, &doc, &a.ManagedBy, &created, &modified, &a.Version); err != nil {
		return a, err
	}
	var d accountDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return a, fmt.Errorf("account %s: %w", a.ID, err)
	}
	a.Description, a.SAMLProvider, a.DefaultRegion = d.Description, d.SAMLProvider, d.DefaultRegion
	a.STSRegion, a.STSEndpoint, a.SignInURL, a.AppID = d.STSRegion, d.STSEndpoint, d.SignInURL, d.AppID
	a.Created, a.LastModified = fromMicros(created), fromMicros(modified)
	return a, nil
}

func accountJSON(a cloud.Account) string {
	b, _ := json.Marshal(accountDoc{Description: a.Description, SAMLProvider: a.SAMLProvider, DefaultRegion: a.DefaultRegion,
		STSRegion: a.STSRegion, STSEndpoint: a.STSEndpoint, SignInURL: a.SignInURL, AppID: a.AppID})
	return string(b)
}

func (c *conn) getAccount(ctx context.Context, where string, arg any, key string) (cloud.Account, error) {
	a, err := scanAccount(c.q.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM cloud_accounts WHERE `+where, arg))
	if err = c.wrap(err); err == errs.ErrNotFound {
		return a, errs.NotFound("account", key)
	}
	return a, err
}

// GetAccount returns an account by its 12-digit id.
func (c *conn) GetAccount(ctx context.Context, id string) (cloud.Account, error) {
	return c.getAccount(ctx, `id = $1`, id, id)
}

// GetAccountByName returns an account by name (case-insensitive).
func (c *conn) GetAccountByName(ctx context.Context, name string) (cloud.Account, error) {
	return c.getAccount(ctx, `name_norm = $1`, cloud.NormalizeName(name), name)
}

// ListAccounts lists accounts in name order.
func (c *conn) ListAccounts(ctx context.Context) ([]cloud.Account, error) {
	return queryAll(ctx, c, scanAccount, `SELECT `+accountColumns+` FROM cloud_accounts ORDER BY name_norm`)
}

// InsertAccount stores a new account.
func (c *conn) InsertAccount(ctx context.Context, a cloud.Account) error {
	_, err := c.q.ExecContext(ctx, `INSERT INTO cloud_accounts (id, name, name_norm, attributes, managed_by, created_at, modified_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		a.ID, a.Name, cloud.NormalizeName(a.Name), accountJSON(a), a.ManagedBy, micros(a.Created), micros(a.LastModified), a.Version)
	return c.writeErr(err, a.Name)
}

// UpdateAccount replaces an account if its version is still prevVersion.
func (c *conn) UpdateAccount(ctx context.Context, a cloud.Account, prevVersion int64) error {
	res, err := c.q.ExecContext(ctx, `UPDATE cloud_accounts SET name = $1, name_norm = $2, attributes = $3, managed_by = $4,
		modified_at = $5, version = $6 WHERE id = $7 AND version = $8`,
		a.Name, cloud.NormalizeName(a.Name), accountJSON(a), a.ManagedBy, micros(a.LastModified), a.Version, a.ID, prevVersion)
	if err != nil {
		return c.writeErr(err, a.Name)
	}
	return c.guarded(res, "account")
}

// DeleteAccount removes an account and its assignments.
func (c *conn) DeleteAccount(ctx context.Context, id string) error {
	res, err := c.q.ExecContext(ctx, `DELETE FROM cloud_accounts WHERE id = $1`, id)
	if err != nil {
		return c.wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFound("account", id)
	}
	return nil
}

// permissionSetDoc is the JSON document of a permission set's other fields.
type permissionSetDoc struct {
	Description      string            `json:"description,omitempty"`
	SessionDuration  string            `json:"sessionDuration"`
	RelayState       string            `json:"relayState,omitempty"`
	ManagedPolicies  []string          `json:"managedPolicies,omitempty"`
	CustomerPolicies []cloud.PolicyRef `json:"customerPolicies,omitempty"`
	InlinePolicy     string            `json:"inlinePolicy,omitempty"`
	Boundary         *cloud.Boundary   `json:"boundary,omitempty"`
	Tags             []cloud.Tag       `json:"tags,omitempty"`
	RoleName         string            `json:"roleName,omitempty"`
}

const permissionSetColumns = `id, name, attributes, managed_by, created_at, modified_at, version`

func scanPermissionSet(sc interface{ Scan(...any) error }) (cloud.PermissionSet, error) {
	var p cloud.PermissionSet
	var doc string
	var created, modified int64
	if err := sc.Scan(&p.ID, &p.Name, &doc, &p.ManagedBy, &created, &modified, &p.Version); err != nil {
		return p, err
	}
	var d permissionSetDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return p, fmt.Errorf("permission set %s: %w", p.ID, err)
	}
	p.Description, p.SessionDuration, p.RelayState = d.Description, d.SessionDuration, d.RelayState
	p.ManagedPolicies, p.CustomerPolicies, p.InlinePolicy = d.ManagedPolicies, d.CustomerPolicies, d.InlinePolicy
	p.Boundary, p.Tags, p.RoleName = d.Boundary, d.Tags, d.RoleName
	p.Created, p.LastModified = fromMicros(created), fromMicros(modified)
	return p, nil
}

func permissionSetJSON(p cloud.PermissionSet) string {
	b, _ := json.Marshal(permissionSetDoc{Description: p.Description, SessionDuration: p.SessionDuration, RelayState: p.RelayState,
		ManagedPolicies: p.ManagedPolicies, CustomerPolicies: p.CustomerPolicies, InlinePolicy: p.InlinePolicy,
		Boundary: p.Boundary, Tags: p.Tags, RoleName: p.RoleName})
	return string(b)
}

func (c *conn) getPermissionSet(ctx context.Context, where string, arg any, key string) (cloud.PermissionSet, error) {
	p, err := scanPermissionSet(c.q.QueryRowContext(ctx, `SELECT `+permissionSetColumns+` FROM permission_sets WHERE `+where, arg))
	if err = c.wrap(err); err == errs.ErrNotFound {
		return p, errs.NotFound("permission set", key)
	}
	return p, err
}

// GetPermissionSet returns a permission set by id.
func (c *conn) GetPermissionSet(ctx context.Context, id string) (cloud.PermissionSet, error) {
	return c.getPermissionSet(ctx, `id = $1`, id, id)
}

// GetPermissionSetByName returns a permission set by name (case-insensitive).
func (c *conn) GetPermissionSetByName(ctx context.Context, name string) (cloud.PermissionSet, error) {
	return c.getPermissionSet(ctx, `name_norm = $1`, cloud.NormalizeName(name), name)
}

// ListPermissionSets lists permission sets in name order.
func (c *conn) ListPermissionSets(ctx context.Context) ([]cloud.PermissionSet, error) {
	return queryAll(ctx, c, scanPermissionSet, `SELECT `+permissionSetColumns+` FROM permission_sets ORDER BY name_norm`)
}

// InsertPermissionSet stores a new permission set.
func (c *conn) InsertPermissionSet(ctx context.Context, p cloud.PermissionSet) error {
	_, err := c.q.ExecContext(ctx, `INSERT INTO permission_sets (id, name, name_norm, attributes, managed_by, created_at, modified_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		p.ID, p.Name, cloud.NormalizeName(p.Name), permissionSetJSON(p), p.ManagedBy, micros(p.Created), micros(p.LastModified), p.Version)
	return c.writeErr(err, p.Name)
}

// UpdatePermissionSet replaces a permission set if its version is still prevVersion.
func (c *conn) UpdatePermissionSet(ctx context.Context, p cloud.PermissionSet, prevVersion int64) error {
	res, err := c.q.ExecContext(ctx, `UPDATE permission_sets SET name = $1, name_norm = $2, attributes = $3, managed_by = $4,
		modified_at = $5, version = $6 WHERE id = $7 AND version = $8`,
		p.Name, cloud.NormalizeName(p.Name), permissionSetJSON(p), p.ManagedBy, micros(p.LastModified), p.Version, p.ID, prevVersion)
	if err != nil {
		return c.writeErr(err, p.Name)
	}
	return c.guarded(res, "permission set")
}

// DeletePermissionSet removes a permission set and its assignments.
func (c *conn) DeletePermissionSet(ctx context.Context, id string) error {
	res, err := c.q.ExecContext(ctx, `DELETE FROM permission_sets WHERE id = $1`, id)
	if err != nil {
		return c.wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFound("permission set", id)
	}
	return nil
}

const assignmentSelect = `SELECT aa.account_id, aa.permission_set_id,
	CASE WHEN aa.user_id IS NOT NULL THEN 'user' ELSE 'group' END,
	COALESCE(aa.user_id, aa.group_id), COALESCE(u.user_name, g.display_name, ''), ps.name, aa.created_at
	FROM account_assignments aa
	JOIN permission_sets ps ON ps.id = aa.permission_set_id
	LEFT JOIN users u ON u.id = aa.user_id
	LEFT JOIN groups g ON g.id = aa.group_id`

func scanAssignment(sc interface{ Scan(...any) error }) (cloud.Assignment, error) {
	var a cloud.Assignment
	var created int64
	err := sc.Scan(&a.AccountID, &a.PermissionSetID, &a.PrincipalType, &a.PrincipalID, &a.PrincipalName, &a.PermissionSet, &created)
	a.Created = fromMicros(created)
	return a, err
}

// ListAccountAssignments lists assignments (of one account when accountID is set).
func (c *conn) ListAccountAssignments(ctx context.Context, accountID string) ([]cloud.Assignment, error) {
	q := assignmentSelect
	var args []any
	if accountID != "" {
		q += ` WHERE aa.account_id = $1`
		args = append(args, accountID)
	}
	q += ` ORDER BY aa.account_id, ps.name_norm, aa.principal_key`
	return queryAll(ctx, c, scanAssignment, q, args...)
}

// AssignmentsOfUser lists the assignments that reach a user directly or
// through a group they belong to now.
func (c *conn) AssignmentsOfUser(ctx context.Context, userID string) ([]cloud.Assignment, error) {
	return queryAll(ctx, c, scanAssignment, assignmentSelect+` WHERE aa.user_id = $1
		OR aa.group_id IN (SELECT group_id FROM group_members WHERE user_id = $1)
		ORDER BY aa.account_id, ps.name_norm`, userID)
}

func principalColumns(a cloud.Assignment) (key string, userID, groupID any) {
	if a.PrincipalType == cloud.PrincipalUser {
		return "user:" + a.PrincipalID, a.PrincipalID, nil
	}
	return "group:" + a.PrincipalID, nil, a.PrincipalID
}

// AddAccountAssignment stores an assignment unless it exists.
func (c *conn) AddAccountAssignment(ctx context.Context, a cloud.Assignment) (bool, error) {
	key, uid, gid := principalColumns(a)
	res, err := c.q.ExecContext(ctx, `INSERT INTO account_assignments (account_id, permission_set_id, principal_key, user_id, group_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, a.AccountID, a.PermissionSetID, key, uid, gid, micros(a.Created))
	if err != nil {
		return false, c.wrap(err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// RemoveAccountAssignment deletes an assignment if it exists.
func (c *conn) RemoveAccountAssignment(ctx context.Context, a cloud.Assignment) (bool, error) {
	key, _, _ := principalColumns(a)
	res, err := c.q.ExecContext(ctx, `DELETE FROM account_assignments WHERE account_id = $1 AND permission_set_id = $2 AND principal_key = $3`,
		a.AccountID, a.PermissionSetID, key)
	if err != nil {
		return false, c.wrap(err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
