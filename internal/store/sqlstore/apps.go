package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
)

// AppStore adapts Store to apps.Store.
type AppStore struct{ *Store }

// Apps returns the applications view of the store.
func (s *Store) Apps() AppStore { return AppStore{s} }

var (
	_ apps.Store = AppStore{}
	_ apps.Tx    = (*Tx)(nil)
)

// WithTx runs fn in a transaction.
func (a AppStore) WithTx(ctx context.Context, fn func(apps.Tx) error) error {
	return a.Store.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}

// appUniqueFields maps the unique indexes of the application tables to the
// field a client sent (SQLite names a plain index "table.column" and a
// partial one "index 'name'"; PostgreSQL names the index).
var appUniqueFields = map[string][2]string{
	"apps_name_norm":                  {"app", "displayName"},
	"apps.name_norm":                  {"app", "displayName"},
	"apps_entity_id":                  {"app", "entityId"},
	"apps.entity_id":                  {"app", "entityId"},
	"app_certificates_active":         {"certificate", ""},
	"index 'app_certificates_active'": {"certificate", ""},
	"app_certificates_next":           {"certificate", "status"},
	"index 'app_certificates_next'":   {"certificate", "status"},
}

// appWriteErr maps a failed write on the application tables.
func (c *conn) appWriteErr(err error, a apps.Application) error {
	if err == nil {
		return nil
	}
	kind, index := c.dialect.Classify(err)
	if kind != ErrUnique {
		return c.wrap(err)
	}
	f, ok := appUniqueFields[index]
	switch {
	case !ok:
		return &errs.Conflict{Kind: "object", Field: index}
	case f[1] == "displayName":
		return &errs.Conflict{Kind: f[0], Field: f[1], Value: a.DisplayName}
	case f[1] == "entityId":
		return &errs.Conflict{Kind: f[0], Field: f[1], Value: a.EntityID}
	case f[1] == "status":
		return &errs.Conflict{Kind: f[0], Field: f[1], Value: apps.CertNext}
	}
	// A second active certificate: another transaction rotated first.
	return &errs.Conflict{Kind: f[0], Stale: true}
}

const appColumns = `p.id, p.display_name, p.entity_id, p.enabled, p.template, p.managed_by, p.config,
	p.created_at, p.modified_at, p.version, p.metadata_url, p.metadata_checked_at, p.metadata_refreshed_at, p.metadata_error`

func scanApp(sc interface{ Scan(...any) error }) (apps.Application, error) {
	var a apps.Application
	var config, mdURL, mdErr string
	var created, modified int64
	var checked, refreshed sql.NullInt64
	if err := sc.Scan(&a.ID, &a.DisplayName, &a.EntityID, &a.Enabled, &a.Template, &a.ManagedBy, &config,
		&created, &modified, &a.Version, &mdURL, &checked, &refreshed, &mdErr); err != nil {
		return a, err
	}
	id, name, entityID, enabled, template, managedBy, version := a.ID, a.DisplayName, a.EntityID, a.Enabled, a.Template, a.ManagedBy, a.Version
	if err := json.Unmarshal([]byte(config), &a); err != nil {
		return a, fmt.Errorf("app %s: decode config: %w", id, err)
	}
	a.ID, a.DisplayName, a.EntityID, a.Enabled, a.Template, a.ManagedBy, a.Version = id, name, entityID, enabled, template, managedBy, version
	a.Created, a.LastModified = fromMicros(created), fromMicros(modified)
	a.SPMetadataURL, a.MetadataRefresh = mdURL, nil
	if mdURL != "" && (checked.Valid || refreshed.Valid || mdErr != "") {
		a.MetadataRefresh = &apps.MetadataRefresh{CheckedAt: ptrTime(checked), RefreshedAt: ptrTime(refreshed), Error: mdErr}
	}
	return a, nil
}

// appConfig is the JSON document of everything not kept in its own column.
func appConfig(a apps.Application) (string, error) {
	a.ID, a.DisplayName, a.EntityID, a.Enabled, a.Template, a.ManagedBy, a.Version = "", "", "", false, "", "", 0
	a.Created, a.LastModified = time.Time{}, time.Time{}
	a.SPMetadataURL, a.MetadataRefresh = "", nil
	b, err := json.Marshal(a)
	return string(b), err
}

func (c *conn) getApp(ctx context.Context, where string, arg any, key string) (apps.Application, error) {
	a, err := scanApp(c.q.QueryRowContext(ctx, `SELECT `+appColumns+` FROM apps p WHERE `+where, arg))
	if err != nil {
		if err = c.wrap(err); err == errs.ErrNotFound {
			return a, errs.NotFound("app", key)
		}
	}
	return a, err
}

// GetApp returns an application by id.
func (c *conn) GetApp(ctx context.Context, id string) (apps.Application, error) {
	return c.getApp(ctx, `p.id = $1`, id, id)
}

// GetAppByName returns an application by display name (case-insensitive).
func (c *conn) GetAppByName(ctx context.Context, name string) (apps.Application, error) {
	return c.getApp(ctx, `p.name_norm = $1`, apps.NormalizeName(name), name)
}

// GetAppByEntityID returns the application with exactly this SP entity ID.
func (c *conn) GetAppByEntityID(ctx context.Context, entityID string) (apps.Application, error) {
	return c.getApp(ctx, `p.entity_id = $1`, entityID, entityID)
}

func (c *conn) listApps(ctx context.Context, q string, args ...any) ([]apps.Application, error) {
	return queryAll(ctx, c, scanApp, q, args...)
}

// ListApps lists every application in display-name order.
func (c *conn) ListApps(ctx context.Context) ([]apps.Application, error) {
	return c.listApps(ctx, `SELECT `+appColumns+` FROM apps p ORDER BY p.name_norm`)
}

// assignedTo is the condition "user $1 is assigned to the application
// a.app_id, directly or through a group".
const assignedTo = `(a.principal_type = 'user' AND a.principal_id = $1)
	OR (a.principal_type = 'group' AND a.principal_id IN (SELECT gm.group_id FROM group_members gm WHERE gm.user_id = $1))`

// ListAppsForUser lists the enabled applications the user is assigned to.
func (c *conn) ListAppsForUser(ctx context.Context, userID string) ([]apps.Application, error) {
	return c.listApps(ctx, `SELECT `+appColumns+` FROM apps p WHERE p.enabled = $2
		AND p.id IN (SELECT a.app_id FROM app_assignments a WHERE `+assignedTo+`) ORDER BY p.name_norm`, userID, true)
}

// IsAssigned reports in one query whether the user is assigned to the
// application directly or through a group.
func (c *conn) IsAssigned(ctx context.Context, appID, userID string) (bool, error) {
	var ok bool
	err := c.q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM app_assignments a WHERE a.app_id = $2 AND (`+assignedTo+`))`,
		userID, appID).Scan(&ok)
	return ok, c.wrap(err)
}

// InsertApp stores a new application.
func (c *conn) InsertApp(ctx context.Context, a apps.Application) error {
	config, err := appConfig(a)
	if err != nil {
		return err
	}
	var checked, refreshed *time.Time
	if r := a.MetadataRefresh; r != nil && a.SPMetadataURL != "" {
		checked, refreshed = r.CheckedAt, r.RefreshedAt
	}
	_, err = c.q.ExecContext(ctx, `INSERT INTO apps (id, display_name, name_norm, entity_id, enabled, template, managed_by,
		config, created_at, modified_at, version, metadata_url, metadata_checked_at, metadata_refreshed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		a.ID, a.DisplayName, apps.NormalizeName(a.DisplayName), a.EntityID, a.Enabled, a.Template, a.ManagedBy,
		config, micros(a.Created), micros(a.LastModified), a.Version, a.SPMetadataURL, nullMicros(checked), nullMicros(refreshed))
	return c.appWriteErr(err, a)
}

// UpdateApp replaces an application's stored state if its version is
// still prevVersion. The metadata refresh state is the refresher's: it is
// kept, except that a new metadata URL starts afresh (refreshed at the next
// opportunity).
func (c *conn) UpdateApp(ctx context.Context, a apps.Application, prevVersion int64) error {
	config, err := appConfig(a)
	if err != nil {
		return err
	}
	res, err := c.q.ExecContext(ctx, `UPDATE apps SET display_name = $1, name_norm = $2, entity_id = $3, enabled = $4,
		template = $5, managed_by = $6, config = $7, modified_at = $8, version = $9,
		metadata_checked_at = CASE WHEN metadata_url = $12 THEN metadata_checked_at ELSE NULL END,
		metadata_refreshed_at = CASE WHEN metadata_url = $12 THEN metadata_refreshed_at ELSE NULL END,
		metadata_error = CASE WHEN metadata_url = $12 THEN metadata_error ELSE '' END,
		metadata_url = $12
		WHERE id = $10 AND version = $11`,
		a.DisplayName, apps.NormalizeName(a.DisplayName), a.EntityID, a.Enabled, a.Template, a.ManagedBy, config,
		micros(a.LastModified), a.Version, a.ID, prevVersion, a.SPMetadataURL)
	if err != nil {
		return c.appWriteErr(err, a)
	}
	return c.guarded(res, "app")
}

// DeleteApp removes an application; its certificates and assignments go with it.
func (c *conn) DeleteApp(ctx context.Context, id string) error {
	res, err := c.q.ExecContext(ctx, `DELETE FROM apps WHERE id = $1`, id)
	if err != nil {
		return c.wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFound("app", id)
	}
	return nil
}

// ListMetadataRefreshDue lists the applications with an SP metadata URL
// whose last refresh attempt was at or before before, or never; the
// longest waiting first.
func (c *conn) ListMetadataRefreshDue(ctx context.Context, before time.Time) ([]apps.Application, error) {
	return c.listApps(ctx, `SELECT `+appColumns+` FROM apps p WHERE p.metadata_url <> ''
		AND (p.metadata_checked_at IS NULL OR p.metadata_checked_at <= $1)
		ORDER BY COALESCE(p.metadata_checked_at, 0), p.id`, micros(before))
}

// ClaimMetadataRefresh moves the last refresh attempt of the application
// to now if it is still due (at or before before, or never). Of replicas
// racing for the same refresh, one sees a row updated; the others see none
// (PostgreSQL re-checks the condition on the row the winner updated).
func (c *conn) ClaimMetadataRefresh(ctx context.Context, appID string, now, before time.Time) (bool, error) {
	res, err := c.q.ExecContext(ctx, `UPDATE apps SET metadata_checked_at = $1
		WHERE id = $2 AND metadata_url <> '' AND (metadata_checked_at IS NULL OR metadata_checked_at <= $3)`,
		micros(now), appID, micros(before))
	if err != nil {
		return false, c.wrap(err)
	}
	n, err := res.RowsAffected()
	return n > 0, c.wrap(err)
}

// SetMetadataRefreshResult records a refresh's outcome.
func (c *conn) SetMetadataRefreshResult(ctx context.Context, appID string, refreshedAt *time.Time, errText string) error {
	res, err := c.q.ExecContext(ctx, `UPDATE apps SET metadata_error = $1,
		metadata_refreshed_at = COALESCE($2, metadata_refreshed_at) WHERE id = $3`,
		errText, nullMicros(refreshedAt), appID)
	if err != nil {
		return c.wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFound("app", appID)
	}
	return nil
}

// --- certificates ---

// ListAppCertificates lists an application's certificates (never the keys).
func (c *conn) ListAppCertificates(ctx context.Context, appID string) ([]apps.Certificate, error) {
	return c.queryAppCertificates(ctx, `SELECT id, app_id, status, not_before, not_after, cert_pem, created_at, activate_at
		FROM app_certificates WHERE app_id = $1 ORDER BY created_at, id`, appID)
}

// ListDueAppCertificates lists the next certificates, across applications,
// whose scheduled activation time is at or before now and which have not
// expired, oldest schedule first.
func (c *conn) ListDueAppCertificates(ctx context.Context, now time.Time) ([]apps.Certificate, error) {
	return c.queryAppCertificates(ctx, `SELECT id, app_id, status, not_before, not_after, cert_pem, created_at, activate_at
		FROM app_certificates WHERE status = 'next' AND activate_at IS NOT NULL AND activate_at <= $1 AND not_after > $1
		ORDER BY activate_at, id`, micros(now))
}

func (c *conn) queryAppCertificates(ctx context.Context, query string, args ...any) ([]apps.Certificate, error) {
	rows, err := c.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, c.wrap(err)
	}
	defer rows.Close()
	var out []apps.Certificate
	for rows.Next() {
		var ct apps.Certificate
		var nb, na, created int64
		var at sql.NullInt64
		if err := rows.Scan(&ct.ID, &ct.AppID, &ct.Status, &nb, &na, &ct.PEM, &created, &at); err != nil {
			return nil, c.wrap(err)
		}
		ct.NotBefore, ct.NotAfter, ct.CreatedAt = fromMicros(nb), fromMicros(na), fromMicros(created)
		if at.Valid {
			t := fromMicros(at.Int64)
			ct.ActivateAt = &t
		}
		out = append(out, ct)
	}
	return out, c.wrap(rows.Err())
}

// ClaimDueAppCertificate clears the schedule of a next certificate whose
// activation time is at or before now. It reports false when the
// certificate is no longer a scheduled, due next certificate (another
// replica claimed it first, or an admin changed it): the guard that makes
// scheduled activation happen exactly once.
func (c *conn) ClaimDueAppCertificate(ctx context.Context, certID string, now time.Time) (bool, error) {
	res, err := c.q.ExecContext(ctx, `UPDATE app_certificates SET activate_at = NULL
		WHERE id = $1 AND status = 'next' AND activate_at IS NOT NULL AND activate_at <= $2`, certID, micros(now))
	if err != nil {
		return false, c.wrap(err)
	}
	n, err := res.RowsAffected()
	return n > 0, c.wrap(err)
}

// AppCertificateKey returns the sealed private key of a certificate.
func (c *conn) AppCertificateKey(ctx context.Context, certID string) (string, error) {
	var sealed string
	err := c.q.QueryRowContext(ctx, `SELECT private_key_sealed FROM app_certificates WHERE id = $1`, certID).Scan(&sealed)
	if err = c.wrap(err); err == errs.ErrNotFound {
		return "", errs.NotFound("certificate", certID)
	}
	return sealed, err
}

// InsertAppCertificate stores a certificate with its sealed private key.
func (c *conn) InsertAppCertificate(ctx context.Context, ct apps.Certificate, sealedKey string) error {
	_, err := c.q.ExecContext(ctx, `INSERT INTO app_certificates (id, app_id, status, not_before, not_after, cert_pem,
		private_key_sealed, created_at, activate_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		ct.ID, ct.AppID, ct.Status, micros(ct.NotBefore), micros(ct.NotAfter), ct.PEM, sealedKey, micros(ct.CreatedAt),
		nullMicros(ct.ActivateAt))
	return c.appWriteErr(err, apps.Application{})
}

// SetAppCertificateStatus moves a certificate from status from to to; it
// reports false when the certificate was not in from. A certificate that
// leaves the next status loses its activation schedule.
func (c *conn) SetAppCertificateStatus(ctx context.Context, certID, from, to string) (bool, error) {
	q := `UPDATE app_certificates SET status = $1, activate_at = NULL WHERE id = $2 AND status = $3`
	if to == apps.CertNext {
		q = `UPDATE app_certificates SET status = $1 WHERE id = $2 AND status = $3`
	}
	res, err := c.q.ExecContext(ctx, q, to, certID, from)
	if err != nil {
		return false, c.appWriteErr(err, apps.Application{})
	}
	n, err := res.RowsAffected()
	return n > 0, c.wrap(err)
}

// DeleteAppCertificate removes a certificate and its key.
func (c *conn) DeleteAppCertificate(ctx context.Context, certID string) (bool, error) {
	res, err := c.q.ExecContext(ctx, `DELETE FROM app_certificates WHERE id = $1`, certID)
	if err != nil {
		return false, c.wrap(err)
	}
	n, err := res.RowsAffected()
	return n > 0, c.wrap(err)
}

// --- assignments ---

// ListAppAssignments lists an application's assignments with the names of
// the users and groups, groups first.
func (c *conn) ListAppAssignments(ctx context.Context, appID string) ([]apps.Assignment, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT a.app_id, a.principal_type, a.principal_id,
		COALESCE(u.user_name, g.display_name, ''), COALESCE(u.user_name_norm, g.display_name_norm, ''), a.created_at
		FROM app_assignments a
		LEFT JOIN users u ON a.principal_type = 'user' AND u.id = a.principal_id
		LEFT JOIN groups g ON a.principal_type = 'group' AND g.id = a.principal_id
		WHERE a.app_id = $1 ORDER BY a.principal_type, 5, a.principal_id`, appID)
	if err != nil {
		return nil, c.wrap(err)
	}
	defer rows.Close()
	var out []apps.Assignment
	for rows.Next() {
		var as apps.Assignment
		var norm string
		var created int64
		if err := rows.Scan(&as.AppID, &as.PrincipalType, &as.PrincipalID, &as.PrincipalName, &norm, &created); err != nil {
			return nil, c.wrap(err)
		}
		as.CreatedAt = fromMicros(created)
		out = append(out, as)
	}
	return out, c.wrap(rows.Err())
}

// AddAppAssignment assigns a user or group; assigning twice changes nothing.
func (c *conn) AddAppAssignment(ctx context.Context, as apps.Assignment) (bool, error) {
	res, err := c.q.ExecContext(ctx, `INSERT INTO app_assignments (app_id, principal_type, principal_id, created_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (app_id, principal_type, principal_id) DO NOTHING`,
		as.AppID, as.PrincipalType, as.PrincipalID, micros(as.CreatedAt))
	if err != nil {
		return false, c.wrap(err)
	}
	n, err := res.RowsAffected()
	return n > 0, c.wrap(err)
}

// RemoveAppAssignment removes an assignment.
func (c *conn) RemoveAppAssignment(ctx context.Context, appID, principalType, principalID string) (bool, error) {
	res, err := c.q.ExecContext(ctx, `DELETE FROM app_assignments WHERE app_id = $1 AND principal_type = $2 AND principal_id = $3`,
		appID, principalType, principalID)
	if err != nil {
		return false, c.wrap(err)
	}
	n, err := res.RowsAffected()
	return n > 0, c.wrap(err)
}

// GroupsOfUser lists every group the user belongs to, in name order.
func (c *conn) GroupsOfUser(ctx context.Context, userID string) ([]directory.Group, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT `+groupColumns+` FROM groups g
		WHERE g.id IN (SELECT group_id FROM group_members WHERE user_id = $1) ORDER BY g.display_name_norm`, userID)
	if err != nil {
		return nil, c.wrap(err)
	}
	defer rows.Close()
	var out []directory.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, c.wrap(err)
		}
		out = append(out, g)
	}
	return out, c.wrap(rows.Err())
}
