package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
)

// DirectoryStore adapts Store to directory.Store.
type DirectoryStore struct{ *Store }

// Directory returns the directory view of the store.
func (s *Store) Directory() DirectoryStore { return DirectoryStore{s} }

// WithTx runs fn in a transaction.
func (d DirectoryStore) WithTx(ctx context.Context, fn func(directory.Tx) error) error {
	return d.Store.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}

const userColumns = `u.id, u.user_name, u.active, u.role, u.managed_by, u.attributes,
	u.created_at, u.modified_at, u.version, COALESCE(m.display_name, ''), COALESCE(m.user_name, '')`

const userFrom = ` FROM users u LEFT JOIN users m ON m.id = u.manager_id`

func scanUser(sc interface{ Scan(...any) error }) (directory.User, error) {
	var u directory.User
	var attrs string
	var created, modified int64
	var mgrDisplay, mgrUserName string
	if err := sc.Scan(&u.ID, &u.UserName, &u.Active, &u.Role, &u.ManagedBy, &attrs, &created, &modified, &u.Version, &mgrDisplay, &mgrUserName); err != nil {
		return u, err
	}
	id, userName, active, role, managedBy, version := u.ID, u.UserName, u.Active, u.Role, u.ManagedBy, u.Version
	if err := json.Unmarshal([]byte(attrs), &u); err != nil {
		return u, fmt.Errorf("user %s: decode attributes: %w", id, err)
	}
	u.ID, u.UserName, u.Active, u.Role, u.ManagedBy, u.Version = id, userName, active, role, managedBy, version
	u.Created, u.LastModified = fromMicros(created), fromMicros(modified)
	if u.Enterprise.ManagerID != "" {
		if mgrUserName == "" {
			// The manager was deleted (manager_id is ON DELETE SET NULL)
			// but the attributes document still names them: no manager.
			u.Enterprise.ManagerID = ""
		}
		u.Enterprise.ManagerName = mgrDisplay
		if u.Enterprise.ManagerName == "" {
			u.Enterprise.ManagerName = mgrUserName
		}
	}
	return u, nil
}

// userAttributes is the JSON document of everything not kept in its own column.
func userAttributes(u directory.User) (string, error) {
	u.ID, u.UserName, u.Role, u.ManagedBy, u.Version = "", "", "", "", 0
	u.Created, u.LastModified = time.Time{}, time.Time{}
	u.Enterprise.ManagerName = ""
	b, err := json.Marshal(u)
	return string(b), err
}

func (c *conn) getUser(ctx context.Context, where string, arg any) (directory.User, error) {
	row := c.q.QueryRowContext(ctx, `SELECT `+userColumns+userFrom+` WHERE `+where, arg)
	u, err := scanUser(row)
	if err != nil {
		return u, c.wrap(err)
	}
	return u, nil
}

// GetUser returns a user by id.
func (c *conn) GetUser(ctx context.Context, id string) (directory.User, error) {
	u, err := c.getUser(ctx, `u.id = $1`, id)
	if err == errs.ErrNotFound {
		return u, errs.NotFound("user", id)
	}
	return u, err
}

// GetUserByUserName returns a user by userName (case-insensitive).
func (c *conn) GetUserByUserName(ctx context.Context, userName string) (directory.User, error) {
	u, err := c.getUser(ctx, `u.user_name_norm = $1`, directory.NormalizeUserName(userName))
	if err == errs.ErrNotFound {
		return u, errs.NotFound("user", userName)
	}
	return u, err
}

// CountAdmins counts active users holding the admin role.
func (c *conn) CountAdmins(ctx context.Context) (int, error) {
	var n int
	err := c.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = $1 AND active = $2`, directory.RoleAdmin, true).Scan(&n)
	return n, c.wrap(err)
}

// CountAdmins, inside a transaction, counts the active admins and locks their
// rows until the transaction ends. The directory counts them before removing
// an admin; without the lock two transactions that each remove one of the
// last two admins both see two on PostgreSQL (READ COMMITTED write skew) and
// leave none. The second now waits, re-reads the rows and sees one. A no-op
// UPDATE is the lock both engines understand (SQLite serialises writers).
func (t *Tx) CountAdmins(ctx context.Context) (int, error) {
	res, err := t.q.ExecContext(ctx, `UPDATE users SET version = version WHERE role = $1 AND active = $2`, directory.RoleAdmin, true)
	if err != nil {
		return 0, t.wrap(err)
	}
	n, err := res.RowsAffected()
	return int(n), t.wrap(err)
}

// args collects positional arguments and hands out $n placeholders.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return fmt.Sprintf("$%d", len(*a))
}

func encodeCursor(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", errs.Invalidf("cursor", "is not a cursor this server issued")
	}
	return string(b), nil
}

// DefaultPageSize is the page size of a list call that names none.
const DefaultPageSize = 100

// pageLimit returns limit, or DefaultPageSize when it is not positive (a
// zero limit would otherwise cut every page to nothing and index keys[-1]).
func pageLimit(limit int) int {
	if limit <= 0 {
		return DefaultPageSize
	}
	return limit
}

// likePrefix escapes s for a LIKE prefix match with ESCAPE '\'.
func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}

// ListUsers lists users in user_name_norm order after the cursor.
func (c *conn) ListUsers(ctx context.Context, f directory.UserFilter) ([]directory.User, string, error) {
	f.Limit = pageLimit(f.Limit)
	var a args
	var where []string
	if f.UserName != "" {
		where = append(where, "u.user_name_norm = "+a.add(directory.NormalizeUserName(f.UserName)))
	}
	if f.Prefix != "" {
		where = append(where, "u.user_name_norm LIKE "+a.add(likePrefix(directory.NormalizeUserName(f.Prefix)))+` ESCAPE '\'`)
	}
	if f.Email != "" {
		where = append(where, "u.email_norm = "+a.add(directory.NormalizeEmail(f.Email)))
	}
	if f.GroupID != "" {
		where = append(where, "u.id IN (SELECT user_id FROM group_members WHERE group_id = "+a.add(f.GroupID)+")")
	}
	if f.Active != nil {
		where = append(where, "u.active = "+a.add(*f.Active))
	}
	if f.Cursor != "" {
		key, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		where = append(where, "u.user_name_norm > "+a.add(key))
	}
	q := `SELECT ` + userColumns + `, u.user_name_norm` + userFrom
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY u.user_name_norm LIMIT " + a.add(f.Limit+1)
	rows, err := c.q.QueryContext(ctx, q, a...)
	if err != nil {
		return nil, "", c.wrap(err)
	}
	defer rows.Close()
	var out []directory.User
	var keys []string
	for rows.Next() {
		var key string
		u, err := scanUser(scanTail{rows, &key})
		if err != nil {
			return nil, "", c.wrap(err)
		}
		out, keys = append(out, u), append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, "", c.wrap(err)
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = encodeCursor(keys[f.Limit-1])
	}
	return out, next, nil
}

// scanTail appends extra destinations to a scan.
type scanTail struct {
	rows *sql.Rows
	tail *string
}

func (s scanTail) Scan(dest ...any) error { return s.rows.Scan(append(dest, s.tail)...) }

// InsertUser stores a new user.
func (c *conn) InsertUser(ctx context.Context, u directory.User) error {
	attrs, err := userAttributes(u)
	if err != nil {
		return err
	}
	email := u.PrimaryEmail()
	_, err = c.q.ExecContext(ctx, `INSERT INTO users (id, user_name, user_name_norm, email_norm, external_id, active, role,
		managed_by, given_name, family_name, display_name, manager_id, attributes, created_at, modified_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		u.ID, u.UserName, directory.NormalizeUserName(u.UserName), nullString(directory.NormalizeEmail(email)), u.ExternalID,
		u.Active, u.Role, u.ManagedBy, u.Name.GivenName, u.Name.FamilyName, u.DisplayName, nullString(u.Enterprise.ManagerID),
		attrs, micros(u.Created), micros(u.LastModified), u.Version)
	return c.userWriteErr(err, u)
}

func (c *conn) userWriteErr(err error, u directory.User) error {
	err = c.writeErr(err, "")
	if cf, ok := err.(*errs.Conflict); ok {
		switch cf.Field {
		case "userName":
			cf.Value = u.UserName
		case "email":
			cf.Value = u.PrimaryEmail()
		}
	}
	return err
}

// UpdateUser replaces a user's stored state if its version is still prevVersion.
func (c *conn) UpdateUser(ctx context.Context, u directory.User, prevVersion int64) error {
	attrs, err := userAttributes(u)
	if err != nil {
		return err
	}
	res, err := c.q.ExecContext(ctx, `UPDATE users SET user_name = $1, user_name_norm = $2, email_norm = $3, external_id = $4,
		active = $5, role = $6, managed_by = $7, given_name = $8, family_name = $9, display_name = $10, manager_id = $11,
		attributes = $12, modified_at = $13, version = $14
		WHERE id = $15 AND version = $16`,
		u.UserName, directory.NormalizeUserName(u.UserName), nullString(directory.NormalizeEmail(u.PrimaryEmail())), u.ExternalID,
		u.Active, u.Role, u.ManagedBy, u.Name.GivenName, u.Name.FamilyName, u.DisplayName, nullString(u.Enterprise.ManagerID),
		attrs, micros(u.LastModified), u.Version, u.ID, prevVersion)
	if err != nil {
		return c.userWriteErr(err, u)
	}
	return c.guarded(res, "user")
}

// guarded turns "no row matched" into a stale conflict.
func (c *conn) guarded(res sql.Result, kind string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return c.wrap(err)
	}
	if n == 0 {
		return &errs.Conflict{Kind: kind, Stale: true}
	}
	return nil
}

// DeleteUser removes a user; memberships and password go with it.
func (c *conn) DeleteUser(ctx context.Context, id string) error {
	res, err := c.q.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, id)
	if err != nil {
		return c.wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFound("user", id)
	}
	return nil
}

// SetPasswordHash stores a user's password hash.
func (c *conn) SetPasswordHash(ctx context.Context, userID, hash string, at time.Time) error {
	_, err := c.q.ExecContext(ctx, `INSERT INTO passwords (user_id, hash, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`, userID, hash, micros(at))
	return c.wrap(err)
}

// PasswordHash returns a user's password hash (for sign-in only).
func (c *conn) PasswordHash(ctx context.Context, userID string) (string, error) {
	var h string
	err := c.q.QueryRowContext(ctx, `SELECT hash FROM passwords WHERE user_id = $1`, userID).Scan(&h)
	return h, c.wrap(err)
}

// --- groups ---

const groupColumns = `g.id, g.display_name, g.description, g.external_id, g.managed_by, g.created_at, g.modified_at, g.version,
	(SELECT COUNT(*) FROM group_members gm WHERE gm.group_id = g.id)`

func scanGroup(sc interface{ Scan(...any) error }) (directory.Group, error) {
	var g directory.Group
	var created, modified int64
	err := sc.Scan(&g.ID, &g.DisplayName, &g.Description, &g.ExternalID, &g.ManagedBy, &created, &modified, &g.Version, &g.MemberCount)
	g.Created, g.LastModified = fromMicros(created), fromMicros(modified)
	return g, err
}

func (c *conn) getGroup(ctx context.Context, where string, arg any, key string) (directory.Group, error) {
	g, err := scanGroup(c.q.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM groups g WHERE `+where, arg))
	if err != nil {
		if err = c.wrap(err); err == errs.ErrNotFound {
			return g, errs.NotFound("group", key)
		}
	}
	return g, err
}

// GetGroup returns a group by id.
func (c *conn) GetGroup(ctx context.Context, id string) (directory.Group, error) {
	return c.getGroup(ctx, `g.id = $1`, id, id)
}

// GetGroupByName returns a group by display name (case-insensitive).
func (c *conn) GetGroupByName(ctx context.Context, name string) (directory.Group, error) {
	return c.getGroup(ctx, `g.display_name_norm = $1`, directory.NormalizeGroupName(name), name)
}

// ListGroups lists groups in display-name order after the cursor.
func (c *conn) ListGroups(ctx context.Context, f directory.GroupFilter) ([]directory.Group, string, error) {
	f.Limit = pageLimit(f.Limit)
	var a args
	var where []string
	if f.DisplayName != "" {
		where = append(where, "g.display_name_norm = "+a.add(directory.NormalizeGroupName(f.DisplayName)))
	}
	if f.Prefix != "" {
		where = append(where, "g.display_name_norm LIKE "+a.add(likePrefix(directory.NormalizeGroupName(f.Prefix)))+` ESCAPE '\'`)
	}
	if f.MemberID != "" {
		where = append(where, "g.id IN (SELECT group_id FROM group_members WHERE user_id = "+a.add(f.MemberID)+")")
	}
	if f.Cursor != "" {
		key, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		where = append(where, "g.display_name_norm > "+a.add(key))
	}
	q := `SELECT ` + groupColumns + `, g.display_name_norm FROM groups g`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY g.display_name_norm LIMIT " + a.add(f.Limit+1)
	rows, err := c.q.QueryContext(ctx, q, a...)
	if err != nil {
		return nil, "", c.wrap(err)
	}
	defer rows.Close()
	var out []directory.Group
	var keys []string
	for rows.Next() {
		var key string
		g, err := scanGroup(scanTail{rows, &key})
		if err != nil {
			return nil, "", c.wrap(err)
		}
		out, keys = append(out, g), append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, "", c.wrap(err)
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = encodeCursor(keys[f.Limit-1])
	}
	return out, next, nil
}

// InsertGroup stores a new group.
func (c *conn) InsertGroup(ctx context.Context, g directory.Group) error {
	_, err := c.q.ExecContext(ctx, `INSERT INTO groups (id, display_name, display_name_norm, description, external_id, managed_by,
		created_at, modified_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		g.ID, g.DisplayName, directory.NormalizeGroupName(g.DisplayName), g.Description, g.ExternalID, g.ManagedBy,
		micros(g.Created), micros(g.LastModified), g.Version)
	return c.writeErr(err, g.DisplayName)
}

// UpdateGroup replaces a group's stored state if its version is still prevVersion.
func (c *conn) UpdateGroup(ctx context.Context, g directory.Group, prevVersion int64) error {
	res, err := c.q.ExecContext(ctx, `UPDATE groups SET display_name = $1, display_name_norm = $2, description = $3,
		external_id = $4, managed_by = $5, modified_at = $6, version = $7 WHERE id = $8 AND version = $9`,
		g.DisplayName, directory.NormalizeGroupName(g.DisplayName), g.Description, g.ExternalID, g.ManagedBy,
		micros(g.LastModified), g.Version, g.ID, prevVersion)
	if err != nil {
		return c.writeErr(err, g.DisplayName)
	}
	return c.guarded(res, "group")
}

// DeleteGroup removes a group and its memberships.
func (c *conn) DeleteGroup(ctx context.Context, id string) error {
	res, err := c.q.ExecContext(ctx, `DELETE FROM groups WHERE id = $1`, id)
	if err != nil {
		return c.wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFound("group", id)
	}
	return nil
}

// AddMember adds a user to a group; adding an existing member changes nothing.
func (c *conn) AddMember(ctx context.Context, groupID, userID string, at time.Time) (bool, error) {
	res, err := c.q.ExecContext(ctx, `INSERT INTO group_members (group_id, user_id, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (group_id, user_id) DO NOTHING`, groupID, userID, micros(at))
	if err != nil {
		return false, c.wrap(err)
	}
	return c.touchGroup(ctx, res, groupID, at)
}

// RemoveMember removes a user from a group.
func (c *conn) RemoveMember(ctx context.Context, groupID, userID string, at time.Time) (bool, error) {
	res, err := c.q.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = $1 AND user_id = $2`, groupID, userID)
	if err != nil {
		return false, c.wrap(err)
	}
	return c.touchGroup(ctx, res, groupID, at)
}

// touchGroup bumps the group's version when membership changed.
func (c *conn) touchGroup(ctx context.Context, res sql.Result, groupID string, at time.Time) (bool, error) {
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return false, c.wrap(err)
	}
	_, err = c.q.ExecContext(ctx, `UPDATE groups SET version = version + 1, modified_at = $1 WHERE id = $2`, micros(at), groupID)
	return true, c.wrap(err)
}

// ListMembers lists a group's members in userName order after the cursor.
func (c *conn) ListMembers(ctx context.Context, groupID, cursor string, limit int) ([]directory.Member, string, error) {
	limit = pageLimit(limit)
	var a args
	q := `SELECT u.id, u.user_name, u.display_name, u.role, u.user_name_norm FROM group_members gm JOIN users u ON u.id = gm.user_id
		WHERE gm.group_id = ` + a.add(groupID)
	if cursor != "" {
		key, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		q += " AND u.user_name_norm > " + a.add(key)
	}
	q += " ORDER BY u.user_name_norm LIMIT " + a.add(limit+1)
	rows, err := c.q.QueryContext(ctx, q, a...)
	if err != nil {
		return nil, "", c.wrap(err)
	}
	defer rows.Close()
	var out []directory.Member
	var keys []string
	for rows.Next() {
		var m directory.Member
		var key string
		if err := rows.Scan(&m.UserID, &m.UserName, &m.DisplayName, &m.Role, &key); err != nil {
			return nil, "", c.wrap(err)
		}
		out, keys = append(out, m), append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, "", c.wrap(err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = encodeCursor(keys[limit-1])
	}
	return out, next, nil
}

// GetUserByEmail returns the user whose primary email is email (case-insensitive).
func (c *conn) GetUserByEmail(ctx context.Context, email string) (directory.User, error) {
	u, err := c.getUser(ctx, `u.email_norm = $1`, directory.NormalizeEmail(email))
	if err == errs.ErrNotFound {
		return u, errs.NotFound("user", email)
	}
	return u, err
}

// GetUserEmail returns a user's display name and primary email (for notices).
func (c *conn) GetUserEmail(ctx context.Context, id string) (string, string, error) {
	u, err := c.GetUser(ctx, id)
	if err != nil {
		return "", "", err
	}
	name := u.DisplayName
	if name == "" {
		name = strings.TrimSpace(u.Name.GivenName + " " + u.Name.FamilyName)
	}
	return name, u.PrimaryEmail(), nil
}
