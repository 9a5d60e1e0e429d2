package directory

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/errs"
)

// Reader is the read side of the directory store.
type Reader interface {
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByUserName(ctx context.Context, userName string) (User, error)
	ListUsers(ctx context.Context, f UserFilter) ([]User, string, error)
	CountAdmins(ctx context.Context) (int, error)
	GetGroup(ctx context.Context, id string) (Group, error)
	GetGroupByName(ctx context.Context, displayName string) (Group, error)
	ListGroups(ctx context.Context, f GroupFilter) ([]Group, string, error)
	ListMembers(ctx context.Context, groupID, cursor string, limit int) ([]Member, string, error)
	QueryUsers(ctx context.Context, q Query) ([]User, error)
	CountUsers(ctx context.Context, where Pred) (int, error)
	QueryGroups(ctx context.Context, q Query) ([]Group, error)
	CountGroups(ctx context.Context, where Pred) (int, error)
}

// Tx is a read-write store transaction. Update methods are guarded by the
// version read earlier and return an *errs.Conflict with Stale set when the
// row changed in between.
type Tx interface {
	Reader
	audit.Appender
	InsertUser(ctx context.Context, u User) error
	UpdateUser(ctx context.Context, u User, prevVersion int64) error
	DeleteUser(ctx context.Context, id string) error
	SetPasswordHash(ctx context.Context, userID, hash string, at time.Time) error
	InsertGroup(ctx context.Context, g Group) error
	UpdateGroup(ctx context.Context, g Group, prevVersion int64) error
	DeleteGroup(ctx context.Context, id string) error
	// AddMember and RemoveMember report whether membership changed.
	AddMember(ctx context.Context, groupID, userID string, at time.Time) (bool, error)
	RemoveMember(ctx context.Context, groupID, userID string, at time.Time) (bool, error)
	// RevokeUserSessions ends every browser session of a user.
	RevokeUserSessions(ctx context.Context, userID string, at time.Time) (int, error)
}

// Store is what the directory needs from storage.
type Store interface {
	Reader
	WithTx(ctx context.Context, fn func(Tx) error) error
}

// PasswordHasher turns a password into a storable hash and applies the
// password policy.
type PasswordHasher interface {
	Hash(password string) (string, error)
}

// Service is the directory's domain service.
type Service struct {
	Store  Store
	Hasher PasswordHasher
	Now    func() time.Time // nil: time.Now
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func canRead(a audit.Actor) error  { return audit.RequireRole(a, RoleAdmin, RoleAuditor) }
func canWrite(a audit.Actor) error { return audit.RequireRole(a, RoleAdmin) }

// --- users ---

// CreateUser validates u and stores it as a new user.
func (s *Service) CreateUser(ctx context.Context, actor audit.Actor, u User) (User, error) {
	if err := canProvisionWrite(actor); err != nil {
		return User{}, err
	}
	if actor.Role == audit.RoleSCIM && u.Role != RoleNone {
		return User{}, errs.ErrForbidden
	}
	var out User
	err := s.Store.WithTx(ctx, func(tx Tx) error {
		var err error
		out, err = s.CreateUserTx(ctx, tx, actor, u)
		return err
	})
	return out, err
}

// CreateUserTx creates a user inside an existing transaction (used by apply).
func (s *Service) CreateUserTx(ctx context.Context, tx Tx, actor audit.Actor, u User) (User, error) {
	if err := normalizeUser(&u); err != nil {
		return User{}, err
	}
	if err := s.checkManager(ctx, tx, actor, &u, ""); err != nil {
		return User{}, err
	}
	now := s.now()
	u.ID, u.Created, u.LastModified, u.Version = newID(), now, now, 1
	if err := tx.InsertUser(ctx, u); err != nil {
		return User{}, err
	}
	ev := audit.New(ctx, actor, "user.create", "user", u.ID, u.UserName, userSummary(User{}, u))
	return u, tx.AppendAudit(ctx, ev)
}

// checkManager resolves u's manager (id or userName). current is the
// manager already stored (kept even if the actor could not set it now).
func (s *Service) checkManager(ctx context.Context, r Reader, actor audit.Actor, u *User, current string) error {
	if u.Enterprise.ManagerID == "" {
		u.Enterprise.ManagerName = ""
		return nil
	}
	m, err := resolveUser(ctx, r, u.Enterprise.ManagerID)
	if err == nil && m.ID != current && hiddenFrom(actor, m) {
		// A provisioning token cannot name a privileged user as a manager:
		// the answer would confirm the account and reveal its id.
		err = errs.NotFound("user", u.Enterprise.ManagerID)
	}
	if errors.Is(err, errs.ErrNotFound) {
		return errs.Invalidf("enterprise.managerId", "no user %q", u.Enterprise.ManagerID)
	}
	if err != nil {
		return err
	}
	if m.ID == u.ID {
		return errs.Invalidf("enterprise.managerId", "a user cannot be their own manager")
	}
	u.Enterprise.ManagerID = m.ID
	return nil
}

// unstorable reports keys no stored id or name can equal: PostgreSQL
// refuses NUL bytes and invalid UTF-8 in a text parameter outright, which
// must be a "not found", not a store error.
func unstorable(key string) bool { return !utf8.ValidString(key) || strings.ContainsRune(key, 0) }

// resolveUser finds a user by id, falling back to userName.
func resolveUser(ctx context.Context, r Reader, key string) (User, error) {
	if unstorable(key) {
		return User{}, errs.NotFound("user", key)
	}
	if _, err := uuid.Parse(key); err == nil {
		u, err := r.GetUser(ctx, key)
		if !errors.Is(err, errs.ErrNotFound) {
			return u, err
		}
	}
	return r.GetUserByUserName(ctx, key)
}

func resolveGroup(ctx context.Context, r Reader, key string) (Group, error) {
	if unstorable(key) {
		return Group{}, errs.NotFound("group", key)
	}
	if _, err := uuid.Parse(key); err == nil {
		g, err := r.GetGroup(ctx, key)
		if !errors.Is(err, errs.ErrNotFound) {
			return g, err
		}
	}
	return r.GetGroupByName(ctx, key)
}

// GetUser returns the user with this id or userName.
func (s *Service) GetUser(ctx context.Context, actor audit.Actor, key string) (User, error) {
	if err := canProvision(actor); err != nil {
		return User{}, err
	}
	u, err := resolveUser(ctx, s.Store, key)
	if err == nil {
		err = notFoundFor(actor, u)
	}
	return u, err
}

// ListUsers lists users in userName order with cursor paging.
func (s *Service) ListUsers(ctx context.Context, actor audit.Actor, f UserFilter) ([]User, string, error) {
	if err := canRead(actor); err != nil {
		return nil, "", err
	}
	f.Limit = clampLimit(f.Limit)
	if f.GroupID != "" {
		g, err := resolveGroup(ctx, s.Store, f.GroupID)
		if err != nil {
			return nil, "", err
		}
		f.GroupID = g.ID
	}
	return s.Store.ListUsers(ctx, f)
}

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

// UpdateUser applies mutate to the current user and stores the result. When
// ifVersion is non-zero the update fails with a stale conflict unless the
// stored version equals it. Concurrent updates never overwrite each other.
func (s *Service) UpdateUser(ctx context.Context, actor audit.Actor, key string, ifVersion int64, mutate func(*User) error) (User, error) {
	if err := canProvisionWrite(actor); err != nil {
		return User{}, err
	}
	var out User
	err := s.Store.WithTx(ctx, func(tx Tx) error {
		cur, err := resolveUser(ctx, tx, key)
		if err != nil {
			return err
		}
		if err := notFoundFor(actor, cur); err != nil {
			return err
		}
		out, err = s.UpdateUserTx(ctx, tx, actor, cur, ifVersion, mutate)
		return err
	})
	return out, err
}

// UpdateUserTx updates cur inside tx.
func (s *Service) UpdateUserTx(ctx context.Context, tx Tx, actor audit.Actor, cur User, ifVersion int64, mutate func(*User) error) (User, error) {
	if ifVersion != 0 && ifVersion != cur.Version {
		return User{}, &errs.Conflict{Kind: "user", Stale: true}
	}
	// mutate may edit list elements in place (a SCIM PATCH with a value
	// filter does): give it copies, so cur keeps the stored state to diff
	// against and the edit is not mistaken for "no change".
	next := cur
	next.Emails, next.PhoneNumbers, next.IMs = slices.Clone(cur.Emails), slices.Clone(cur.PhoneNumbers), slices.Clone(cur.IMs)
	next.Photos, next.Entitlements, next.Roles = slices.Clone(cur.Photos), slices.Clone(cur.Entitlements), slices.Clone(cur.Roles)
	next.X509Certificates, next.Addresses = slices.Clone(cur.X509Certificates), slices.Clone(cur.Addresses)
	if err := mutate(&next); err != nil {
		return User{}, err
	}
	// Identity and bookkeeping fields are not the caller's to change.
	next.ID, next.Created, next.Version = cur.ID, cur.Created, cur.Version
	if actor.Role == audit.RoleSCIM {
		next.Role = cur.Role // provisioning never grants privilege
	}
	if err := normalizeUser(&next); err != nil {
		return User{}, err
	}
	if err := s.checkManager(ctx, tx, actor, &next, cur.Enterprise.ManagerID); err != nil {
		return User{}, err
	}
	summary := userSummary(cur, next)
	if len(summary) == 0 {
		return cur, nil
	}
	if err := s.guardLastAdmin(ctx, tx, cur, next.Role == RoleAdmin && next.Active); err != nil {
		return User{}, err
	}
	next.LastModified = s.now()
	next.Version = cur.Version + 1
	if err := tx.UpdateUser(ctx, next, cur.Version); err != nil {
		return User{}, err
	}
	action := "user.update"
	if cur.Active != next.Active {
		action = map[bool]string{true: "user.enable", false: "user.disable"}[next.Active]
	}
	if cur.Active && !next.Active || cur.Role != next.Role {
		// A disabled user is signed out everywhere at once; a change of role
		// (privilege) ends the sessions too, so the next session is a new one
		// established under the new role (and its MFA rules).
		n, err := tx.RevokeUserSessions(ctx, next.ID, next.LastModified)
		if err != nil {
			return User{}, err
		}
		if n > 0 {
			summary["sessionsEnded"] = n
		}
	}
	return next, tx.AppendAudit(ctx, audit.New(ctx, actor, action, "user", next.ID, next.UserName, summary))
}

// guardLastAdmin refuses a change that leaves no active administrator.
func (s *Service) guardLastAdmin(ctx context.Context, tx Tx, cur User, staysAdmin bool) error {
	if cur.Role != RoleAdmin || !cur.Active || staysAdmin {
		return nil
	}
	n, err := tx.CountAdmins(ctx)
	if err != nil {
		return err
	}
	if n <= 1 {
		return errs.Invalidf("role", "%s is the last active administrator", cur.UserName)
	}
	return nil
}

// DeleteUser removes a user and their memberships.
func (s *Service) DeleteUser(ctx context.Context, actor audit.Actor, key string) error {
	if err := canProvisionWrite(actor); err != nil {
		return err
	}
	return s.Store.WithTx(ctx, func(tx Tx) error {
		u, err := resolveUser(ctx, tx, key)
		if err != nil {
			return err
		}
		if err := notFoundFor(actor, u); err != nil {
			return err
		}
		return s.DeleteUserTx(ctx, tx, actor, u)
	})
}

// DeleteUserTx deletes u inside tx.
func (s *Service) DeleteUserTx(ctx context.Context, tx Tx, actor audit.Actor, u User) error {
	if err := s.guardLastAdmin(ctx, tx, u, false); err != nil {
		return err
	}
	if err := tx.DeleteUser(ctx, u.ID); err != nil {
		return err
	}
	return tx.AppendAudit(ctx, audit.New(ctx, actor, "user.delete", "user", u.ID, u.UserName, nil))
}

// SetPassword sets a user's password (hashed; never logged or audited).
func (s *Service) SetPassword(ctx context.Context, actor audit.Actor, key, password string) error {
	if err := canWrite(actor); err != nil {
		return err
	}
	if s.Hasher == nil {
		return errors.New("directory: no password hasher configured")
	}
	// Hash before the transaction: argon2id takes tens of milliseconds and
	// must not hold SQLite's single writer.
	h, err := s.Hasher.Hash(password)
	if err != nil {
		return err
	}
	return s.Store.WithTx(ctx, func(tx Tx) error {
		u, err := resolveUser(ctx, tx, key)
		if err != nil {
			return err
		}
		return s.setPasswordHashTx(ctx, tx, actor, u, h)
	})
}

// SetPasswordTx sets u's password inside tx.
func (s *Service) SetPasswordTx(ctx context.Context, tx Tx, actor audit.Actor, u User, password string) error {
	h, err := s.Hasher.Hash(password)
	if err != nil {
		return err
	}
	return s.setPasswordHashTx(ctx, tx, actor, u, h)
}

func (s *Service) setPasswordHashTx(ctx context.Context, tx Tx, actor audit.Actor, u User, h string) error {
	if err := tx.SetPasswordHash(ctx, u.ID, h, s.now()); err != nil {
		return err
	}
	return tx.AppendAudit(ctx, audit.New(ctx, actor, "user.password.set", "user", u.ID, u.UserName, nil))
}

// userSummary lists the fields that differ between a and b as
// {field: {"from": …, "to": …}}. Users carry no secrets, so values are kept.
func userSummary(a, b User) map[string]any {
	a.LastModified, b.LastModified, a.Version, b.Version = time.Time{}, time.Time{}, 0, 0
	a.Created, b.Created = time.Time{}, time.Time{}
	a.Enterprise.ManagerName, b.Enterprise.ManagerName = "", ""
	return diff(a, b)
}

func diff(a, b any) map[string]any {
	ma, mb := toMap(a), toMap(b)
	out := map[string]any{}
	keys := map[string]bool{}
	for k := range ma {
		keys[k] = true
	}
	for k := range mb {
		keys[k] = true
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if k == "id" {
			continue
		}
		if !reflect.DeepEqual(ma[k], mb[k]) {
			out[k] = map[string]any{"from": ma[k], "to": mb[k]}
		}
	}
	return out
}

func toMap(v any) map[string]any {
	b, _ := json.Marshal(v)
	m := map[string]any{}
	_ = json.Unmarshal(b, &m)
	for k, x := range m {
		switch t := x.(type) {
		case string:
			if t == "" {
				delete(m, k)
			}
		case map[string]any:
			if len(t) == 0 {
				delete(m, k)
			}
		case bool:
			if k != "active" && !t {
				delete(m, k)
			}
		}
	}
	return m
}
