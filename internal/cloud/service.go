package cloud

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
)

// Reader is the read side of the cloud store.
type Reader interface {
	GetAccount(ctx context.Context, id string) (Account, error)
	GetAccountByName(ctx context.Context, name string) (Account, error)
	ListAccounts(ctx context.Context) ([]Account, error)
	GetPermissionSet(ctx context.Context, id string) (PermissionSet, error)
	GetPermissionSetByName(ctx context.Context, name string) (PermissionSet, error)
	ListPermissionSets(ctx context.Context) ([]PermissionSet, error)
	// ListAccountAssignments lists assignments, of one account when
	// accountID is set, with principal and permission set names filled in.
	ListAccountAssignments(ctx context.Context, accountID string) ([]Assignment, error)
	// AssignmentsOfUser lists the assignments that apply to a user: their
	// own and those of every group they belong to now.
	AssignmentsOfUser(ctx context.Context, userID string) ([]Assignment, error)

	GetUser(ctx context.Context, id string) (directory.User, error)
	GetUserByUserName(ctx context.Context, userName string) (directory.User, error)
	GetGroup(ctx context.Context, id string) (directory.Group, error)
	GetGroupByName(ctx context.Context, displayName string) (directory.Group, error)
}

// Tx is a read-write transaction.
type Tx interface {
	Reader
	audit.Appender
	InsertAccount(ctx context.Context, a Account) error
	UpdateAccount(ctx context.Context, a Account, prevVersion int64) error
	DeleteAccount(ctx context.Context, id string) error
	InsertPermissionSet(ctx context.Context, p PermissionSet) error
	UpdatePermissionSet(ctx context.Context, p PermissionSet, prevVersion int64) error
	DeletePermissionSet(ctx context.Context, id string) error
	// AddAccountAssignment and RemoveAccountAssignment report whether
	// anything changed.
	AddAccountAssignment(ctx context.Context, a Assignment) (bool, error)
	RemoveAccountAssignment(ctx context.Context, a Assignment) (bool, error)
}

// Store is what the cloud service needs from storage.
type Store interface {
	Reader
	WithCloudTx(ctx context.Context, fn func(Tx) error) error
}

// Service manages accounts, permission sets and assignments.
type Service struct {
	Store Store
	Now   func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

func canRead(a audit.Actor) error  { return audit.RequireRole(a, audit.RoleAdmin, audit.RoleAuditor) }
func canWrite(a audit.Actor) error { return audit.RequireRole(a, audit.RoleAdmin) }

// NormalizeAccount checks a and fills its defaults exactly as CreateAccount
// and UpdateAccount do, so a plan can compare what would be stored.
func NormalizeAccount(a *Account) error { return normalizeAccount(a) }

// NormalizePermissionSet checks p and fills its defaults exactly as
// CreatePermissionSet and UpdatePermissionSet do.
func NormalizePermissionSet(p *PermissionSet) error { return normalizePermissionSet(p) }

// --- accounts ---

// resolveAccount finds an account by 12-digit id or by name.
func resolveAccount(ctx context.Context, r Reader, key string) (Account, error) {
	if accountIDRE.MatchString(key) {
		a, err := r.GetAccount(ctx, key)
		if !errors.Is(err, errs.ErrNotFound) {
			return a, err
		}
	}
	return r.GetAccountByName(ctx, key)
}

// CreateAccount registers an AWS account.
func (s *Service) CreateAccount(ctx context.Context, actor audit.Actor, a Account) (Account, error) {
	if err := canWrite(actor); err != nil {
		return Account{}, err
	}
	err := s.Store.WithCloudTx(ctx, func(tx Tx) error {
		var err error
		a, err = s.CreateAccountTx(ctx, tx, actor, a)
		return err
	})
	return a, err
}

// CreateAccountTx registers an AWS account inside tx.
func (s *Service) CreateAccountTx(ctx context.Context, tx Tx, actor audit.Actor, a Account) (Account, error) {
	if err := normalizeAccount(&a); err != nil {
		return Account{}, err
	}
	now := s.now()
	a.Created, a.LastModified, a.Version = now, now, 1
	if err := tx.InsertAccount(ctx, a); err != nil {
		return Account{}, err
	}
	return a, tx.AppendAudit(ctx, audit.New(ctx, actor, "account.create", "account", a.ID, a.Name, changes(Account{}, a)))
}

// GetAccount returns an account by id or name.
func (s *Service) GetAccount(ctx context.Context, actor audit.Actor, key string) (Account, error) {
	if err := canRead(actor); err != nil {
		return Account{}, err
	}
	return resolveAccount(ctx, s.Store, key)
}

// ListAccounts lists every account in name order.
func (s *Service) ListAccounts(ctx context.Context, actor audit.Actor) ([]Account, error) {
	if err := canRead(actor); err != nil {
		return nil, err
	}
	return s.Store.ListAccounts(ctx)
}

// UpdateAccount applies mutate to an account (ifVersion as in the directory).
func (s *Service) UpdateAccount(ctx context.Context, actor audit.Actor, key string, ifVersion int64, mutate func(*Account) error) (Account, error) {
	if err := canWrite(actor); err != nil {
		return Account{}, err
	}
	var out Account
	err := s.Store.WithCloudTx(ctx, func(tx Tx) error {
		cur, err := resolveAccount(ctx, tx, key)
		if err != nil {
			return err
		}
		out, err = s.UpdateAccountTx(ctx, tx, actor, cur, ifVersion, mutate)
		return err
	})
	return out, err
}

// UpdateAccountTx updates cur inside tx.
func (s *Service) UpdateAccountTx(ctx context.Context, tx Tx, actor audit.Actor, cur Account, ifVersion int64, mutate func(*Account) error) (Account, error) {
	if ifVersion != 0 && ifVersion != cur.Version {
		return Account{}, &errs.Conflict{Kind: "account", Stale: true}
	}
	next := cur
	if err := mutate(&next); err != nil {
		return Account{}, err
	}
	next.ID, next.Created, next.Version = cur.ID, cur.Created, cur.Version
	if err := normalizeAccount(&next); err != nil {
		return Account{}, err
	}
	summary := changes(cur, next)
	if len(summary) == 0 {
		return cur, nil
	}
	next.LastModified, next.Version = s.now(), cur.Version+1
	if err := tx.UpdateAccount(ctx, next, cur.Version); err != nil {
		return Account{}, err
	}
	return next, tx.AppendAudit(ctx, audit.New(ctx, actor, "account.update", "account", next.ID, next.Name, summary))
}

// DeleteAccount removes an account and its assignments.
func (s *Service) DeleteAccount(ctx context.Context, actor audit.Actor, key string) error {
	if err := canWrite(actor); err != nil {
		return err
	}
	return s.Store.WithCloudTx(ctx, func(tx Tx) error {
		a, err := resolveAccount(ctx, tx, key)
		if err != nil {
			return err
		}
		return s.DeleteAccountTx(ctx, tx, actor, a)
	})
}

// DeleteAccountTx removes a (and its assignments) inside tx.
func (s *Service) DeleteAccountTx(ctx context.Context, tx Tx, actor audit.Actor, a Account) error {
	if err := tx.DeleteAccount(ctx, a.ID); err != nil {
		return err
	}
	return tx.AppendAudit(ctx, audit.New(ctx, actor, "account.delete", "account", a.ID, a.Name, nil))
}

// --- permission sets ---

func resolvePermissionSet(ctx context.Context, r Reader, key string) (PermissionSet, error) {
	if _, err := uuid.Parse(key); err == nil {
		p, err := r.GetPermissionSet(ctx, key)
		if !errors.Is(err, errs.ErrNotFound) {
			return p, err
		}
	}
	return r.GetPermissionSetByName(ctx, key)
}

// CreatePermissionSet stores a new permission set.
func (s *Service) CreatePermissionSet(ctx context.Context, actor audit.Actor, p PermissionSet) (PermissionSet, error) {
	if err := canWrite(actor); err != nil {
		return PermissionSet{}, err
	}
	err := s.Store.WithCloudTx(ctx, func(tx Tx) error {
		var err error
		p, err = s.CreatePermissionSetTx(ctx, tx, actor, p)
		return err
	})
	return p, err
}

// CreatePermissionSetTx stores a new permission set inside tx.
func (s *Service) CreatePermissionSetTx(ctx context.Context, tx Tx, actor audit.Actor, p PermissionSet) (PermissionSet, error) {
	if err := normalizePermissionSet(&p); err != nil {
		return PermissionSet{}, err
	}
	now := s.now()
	p.ID, p.Created, p.LastModified, p.Version = uuid.Must(uuid.NewV7()).String(), now, now, 1
	if err := tx.InsertPermissionSet(ctx, p); err != nil {
		return PermissionSet{}, err
	}
	return p, tx.AppendAudit(ctx, audit.New(ctx, actor, "permissionset.create", "permissionset", p.ID, p.Name, changes(PermissionSet{}, p)))
}

// GetPermissionSet returns a permission set by id or name.
func (s *Service) GetPermissionSet(ctx context.Context, actor audit.Actor, key string) (PermissionSet, error) {
	if err := canRead(actor); err != nil {
		return PermissionSet{}, err
	}
	return resolvePermissionSet(ctx, s.Store, key)
}

// ListPermissionSets lists every permission set in name order.
func (s *Service) ListPermissionSets(ctx context.Context, actor audit.Actor) ([]PermissionSet, error) {
	if err := canRead(actor); err != nil {
		return nil, err
	}
	return s.Store.ListPermissionSets(ctx)
}

// UpdatePermissionSet applies mutate to a permission set.
func (s *Service) UpdatePermissionSet(ctx context.Context, actor audit.Actor, key string, ifVersion int64, mutate func(*PermissionSet) error) (PermissionSet, error) {
	if err := canWrite(actor); err != nil {
		return PermissionSet{}, err
	}
	var out PermissionSet
	err := s.Store.WithCloudTx(ctx, func(tx Tx) error {
		cur, err := resolvePermissionSet(ctx, tx, key)
		if err != nil {
			return err
		}
		out, err = s.UpdatePermissionSetTx(ctx, tx, actor, cur, ifVersion, mutate)
		return err
	})
	return out, err
}

// UpdatePermissionSetTx updates cur inside tx.
func (s *Service) UpdatePermissionSetTx(ctx context.Context, tx Tx, actor audit.Actor, cur PermissionSet, ifVersion int64, mutate func(*PermissionSet) error) (PermissionSet, error) {
	if ifVersion != 0 && ifVersion != cur.Version {
		return PermissionSet{}, &errs.Conflict{Kind: "permission set", Stale: true}
	}
	next := cur
	if err := mutate(&next); err != nil {
		return PermissionSet{}, err
	}
	next.ID, next.Created, next.Version = cur.ID, cur.Created, cur.Version
	if err := normalizePermissionSet(&next); err != nil {
		return PermissionSet{}, err
	}
	summary := changes(cur, next)
	if len(summary) == 0 {
		return cur, nil
	}
	next.LastModified, next.Version = s.now(), cur.Version+1
	if err := tx.UpdatePermissionSet(ctx, next, cur.Version); err != nil {
		return PermissionSet{}, err
	}
	return next, tx.AppendAudit(ctx, audit.New(ctx, actor, "permissionset.update", "permissionset", next.ID, next.Name, summary))
}

// DeletePermissionSet removes a permission set and its assignments.
func (s *Service) DeletePermissionSet(ctx context.Context, actor audit.Actor, key string) error {
	if err := canWrite(actor); err != nil {
		return err
	}
	return s.Store.WithCloudTx(ctx, func(tx Tx) error {
		p, err := resolvePermissionSet(ctx, tx, key)
		if err != nil {
			return err
		}
		return s.DeletePermissionSetTx(ctx, tx, actor, p)
	})
}

// DeletePermissionSetTx removes p (and its assignments) inside tx.
func (s *Service) DeletePermissionSetTx(ctx context.Context, tx Tx, actor audit.Actor, p PermissionSet) error {
	if err := tx.DeletePermissionSet(ctx, p.ID); err != nil {
		return err
	}
	return tx.AppendAudit(ctx, audit.New(ctx, actor, "permissionset.delete", "permissionset", p.ID, p.Name, nil))
}

// --- assignments ---

// AssignRequest names an assignment by keys: account id or name, permission
// set id or name, and a user (id or userName) or group (id or name).
type AssignRequest struct {
	Account       string
	PermissionSet string
	PrincipalType string
	Principal     string
}

func resolveAssignment(ctx context.Context, r Reader, req AssignRequest) (Assignment, Account, PermissionSet, error) {
	v := &errs.Invalid{}
	acct, err := resolveAccount(ctx, r, req.Account)
	if errors.Is(err, errs.ErrNotFound) {
		v.Add("account", "no account %q", req.Account)
	} else if err != nil {
		return Assignment{}, acct, PermissionSet{}, err
	}
	ps, err := resolvePermissionSet(ctx, r, req.PermissionSet)
	if errors.Is(err, errs.ErrNotFound) {
		v.Add("permissionSet", "no permission set %q", req.PermissionSet)
	} else if err != nil {
		return Assignment{}, acct, ps, err
	}
	a := Assignment{AccountID: acct.ID, PermissionSetID: ps.ID, PrincipalType: req.PrincipalType, PermissionSet: ps.Name}
	switch req.PrincipalType {
	case PrincipalUser:
		u, err := resolveUser(ctx, r, req.Principal)
		if errors.Is(err, errs.ErrNotFound) {
			v.Add("user", "no user %q", req.Principal)
		} else if err != nil {
			return a, acct, ps, err
		}
		a.PrincipalID, a.PrincipalName = u.ID, u.UserName
	case PrincipalGroup:
		g, err := resolveGroup(ctx, r, req.Principal)
		if errors.Is(err, errs.ErrNotFound) {
			v.Add("group", "no group %q", req.Principal)
		} else if err != nil {
			return a, acct, ps, err
		}
		a.PrincipalID, a.PrincipalName = g.ID, g.DisplayName
	default:
		v.Add("principalType", `must be "user" or "group"`)
	}
	return a, acct, ps, v.Err()
}

func resolveUser(ctx context.Context, r Reader, key string) (directory.User, error) {
	if _, err := uuid.Parse(key); err == nil {
		u, err := r.GetUser(ctx, key)
		if !errors.Is(err, errs.ErrNotFound) {
			return u, err
		}
	}
	return r.GetUserByUserName(ctx, key)
}

func resolveGroup(ctx context.Context, r Reader, key string) (directory.Group, error) {
	if _, err := uuid.Parse(key); err == nil {
		g, err := r.GetGroup(ctx, key)
		if !errors.Is(err, errs.ErrNotFound) {
			return g, err
		}
	}
	return r.GetGroupByName(ctx, key)
}

// Assign gives a user or group a permission set in an account; assigning
// twice is not an error.
func (s *Service) Assign(ctx context.Context, actor audit.Actor, req AssignRequest) (Assignment, error) {
	return s.changeAssignment(ctx, actor, req, true)
}

// Unassign removes an assignment; removing a missing one is not an error.
func (s *Service) Unassign(ctx context.Context, actor audit.Actor, req AssignRequest) (Assignment, error) {
	return s.changeAssignment(ctx, actor, req, false)
}

func (s *Service) changeAssignment(ctx context.Context, actor audit.Actor, req AssignRequest, add bool) (Assignment, error) {
	if err := canWrite(actor); err != nil {
		return Assignment{}, err
	}
	var out Assignment
	err := s.Store.WithCloudTx(ctx, func(tx Tx) error {
		var err error
		out, err = s.ChangeAssignmentTx(ctx, tx, actor, req, add)
		return err
	})
	return out, err
}

// ChangeAssignmentTx adds or removes an assignment inside tx.
func (s *Service) ChangeAssignmentTx(ctx context.Context, tx Tx, actor audit.Actor, req AssignRequest, add bool) (Assignment, error) {
	a, acct, ps, err := resolveAssignment(ctx, tx, req)
	if err != nil {
		return Assignment{}, err
	}
	a.Created = s.now()
	var changed bool
	if add {
		changed, err = tx.AddAccountAssignment(ctx, a)
	} else {
		changed, err = tx.RemoveAccountAssignment(ctx, a)
	}
	if err != nil || !changed {
		return a, err
	}
	action := map[bool]string{true: "account.assign", false: "account.unassign"}[add]
	return a, tx.AppendAudit(ctx, audit.New(ctx, actor, action, "account", acct.ID, acct.Name, map[string]any{
		"permissionSet": ps.Name, "principalType": a.PrincipalType, "principalId": a.PrincipalID, "principal": a.PrincipalName,
	}))
}

// ListAssignments lists assignments, of one account when accountKey is set.
func (s *Service) ListAssignments(ctx context.Context, actor audit.Actor, accountKey string) ([]Assignment, error) {
	if err := canRead(actor); err != nil {
		return nil, err
	}
	id := ""
	if accountKey != "" {
		a, err := resolveAccount(ctx, s.Store, accountKey)
		if err != nil {
			return nil, err
		}
		id = a.ID
	}
	return s.Store.ListAccountAssignments(ctx, id)
}

// --- roles ---

// RolesFor returns the roles a user holds now, once each, ordered by
// account name and permission set name. Disabled users hold none.
func (s *Service) RolesFor(ctx context.Context, userID string) ([]Role, error) {
	u, err := s.Store.GetUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	if !u.Active {
		return nil, nil
	}
	as, err := s.Store.AssignmentsOfUser(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	accounts := map[string]Account{}
	sets := map[string]PermissionSet{}
	seen := map[[2]string]bool{}
	var out []Role
	for _, a := range as {
		key := [2]string{a.AccountID, a.PermissionSetID}
		if seen[key] {
			continue
		}
		seen[key] = true
		acct, ok := accounts[a.AccountID]
		if !ok {
			if acct, err = s.Store.GetAccount(ctx, a.AccountID); err != nil {
				return nil, err
			}
			accounts[a.AccountID] = acct
		}
		ps, ok := sets[a.PermissionSetID]
		if !ok {
			if ps, err = s.Store.GetPermissionSet(ctx, a.PermissionSetID); err != nil {
				return nil, err
			}
			sets[a.PermissionSetID] = ps
		}
		out = append(out, RoleFor(acct, ps))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Account.Name != out[j].Account.Name {
			return out[i].Account.Name < out[j].Account.Name
		}
		return out[i].PermissionSet.Name < out[j].PermissionSet.Name
	})
	return out, nil
}

// changes lists the JSON fields that differ between a and b, ignoring
// bookkeeping, as {field: {"from": …, "to": …}}.
func changes(a, b any) map[string]any {
	ma, mb := fields(a), fields(b)
	out := map[string]any{}
	for k, v := range mb {
		if !reflect.DeepEqual(ma[k], v) {
			out[k] = map[string]any{"from": ma[k], "to": v}
		}
	}
	for k, v := range ma {
		if _, ok := mb[k]; !ok {
			out[k] = map[string]any{"from": v, "to": nil}
		}
	}
	return out
}

func fields(v any) map[string]any {
	m := map[string]any{}
	rv := reflect.ValueOf(v)
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		name := rt.Field(i).Name
		switch name {
		case "Created", "LastModified", "Version":
			continue
		}
		f := rv.Field(i)
		if f.IsZero() {
			continue
		}
		m[name] = f.Interface()
	}
	return m
}
