package directory

import (
	"context"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/errs"
)

// Pred is a condition on users or groups that the store evaluates in SQL.
// Surfaces with a richer query language (SCIM filters) translate what they
// can into a Pred and evaluate the rest themselves.
//
// Op is "and" or "or" (two or more Args), "not" (one Arg), "true", or a
// comparison on Field: eq, ne, co, sw, ew, pr (strings), eq, ne (booleans),
// eq, ne, gt, ge, lt, le, pr (times). Comparisons on userName and a group's
// displayName are case-insensitive; everything else is exact.
type Pred struct {
	Op    string
	Field string
	Value any // string, bool or time.Time
	Args  []Pred
}

// Fields a Pred may compare.
const (
	// Users and groups.
	FieldID           = "id"
	FieldExternalID   = "externalId"
	FieldCreated      = "created"
	FieldLastModified = "lastModified"
	// Users.
	FieldUserName = "userName"
	FieldActive   = "active"
	FieldRole     = "role"
	// Groups.
	FieldDisplayName = "displayName"
	FieldMember      = "member" // a member's user id (eq) or any member (pr)
	// FieldOrdinaryMember is FieldMember restricted to members without a
	// role; SCIM tokens' member conditions are rewritten to it.
	FieldOrdinaryMember = "ordinaryMember"
)

// True matches everything.
var True = Pred{Op: "true"}

// Cmp builds a comparison.
func Cmp(field, op string, value any) Pred { return Pred{Op: op, Field: field, Value: value} }

// And combines predicates, dropping "true" operands.
func And(ps ...Pred) Pred { return combine("and", ps) }

// Or combines predicates; any "true" operand makes the whole "true".
func Or(ps ...Pred) Pred {
	for _, p := range ps {
		if p.Op == "true" {
			return True
		}
	}
	return combine("or", ps)
}

// Not negates p.
func Not(p Pred) Pred { return Pred{Op: "not", Args: []Pred{p}} }

func combine(op string, ps []Pred) Pred {
	var args []Pred
	for _, p := range ps {
		if op == "and" && p.Op == "true" {
			continue
		}
		args = append(args, p)
	}
	switch len(args) {
	case 0:
		return True
	case 1:
		return args[0]
	}
	return Pred{Op: op, Args: args}
}

// Query selects a page of users or groups in a stable order (by id, which
// for idcenter's time-ordered ids is creation order).
type Query struct {
	Where  Pred
	Offset int
	Limit  int
}

// canProvision allows administrators and SCIM provisioning tokens.
func canProvision(a audit.Actor) error {
	return audit.RequireRole(a, RoleAdmin, RoleAuditor, audit.RoleSCIM)
}

func canProvisionWrite(a audit.Actor) error { return audit.RequireRole(a, RoleAdmin, audit.RoleSCIM) }

// hiddenFrom reports whether u is out of the actor's reach: provisioning
// tokens never see or change privileged (admin or auditor) users, so an
// identity provider cannot take over an idcenter administrator.
func hiddenFrom(a audit.Actor, u User) bool { return a.Role == audit.RoleSCIM && u.Role != RoleNone }

// visibleUsers restricts where to what actor may see.
func visibleUsers(a audit.Actor, where Pred) Pred {
	if a.Role == audit.RoleSCIM {
		return And(where, Cmp(FieldRole, "eq", RoleNone))
	}
	return where
}

// QueryUsers returns one page of the users matching q.Where.
func (s *Service) QueryUsers(ctx context.Context, actor audit.Actor, q Query) ([]User, error) {
	if err := canProvision(actor); err != nil {
		return nil, err
	}
	q.Where = visibleUsers(actor, q.Where)
	q.Limit = clampLimit(q.Limit)
	return s.Store.QueryUsers(ctx, q)
}

// CountUsers counts the users matching where.
func (s *Service) CountUsers(ctx context.Context, actor audit.Actor, where Pred) (int, error) {
	if err := canProvision(actor); err != nil {
		return 0, err
	}
	return s.Store.CountUsers(ctx, visibleUsers(actor, where))
}

// QueryGroups returns one page of the groups matching q.Where.
func (s *Service) QueryGroups(ctx context.Context, actor audit.Actor, q Query) ([]Group, error) {
	if err := canProvision(actor); err != nil {
		return nil, err
	}
	q.Limit = clampLimit(q.Limit)
	q.Where = visibleMembers(actor, q.Where)
	return s.Store.QueryGroups(ctx, q)
}

// CountGroups counts the groups matching where.
func (s *Service) CountGroups(ctx context.Context, actor audit.Actor, where Pred) (int, error) {
	if err := canProvision(actor); err != nil {
		return 0, err
	}
	return s.Store.CountGroups(ctx, visibleMembers(actor, where))
}

// visibleMembers makes a provisioning token's member conditions ignore
// privileged members, as MemberIDs does: a token can neither list an
// administrator's id nor probe for it.
func visibleMembers(a audit.Actor, p Pred) Pred {
	if a.Role != audit.RoleSCIM {
		return p
	}
	if p.Field == FieldMember {
		p.Field = FieldOrdinaryMember
	}
	if len(p.Args) > 0 {
		args := make([]Pred, len(p.Args))
		for i, q := range p.Args {
			args[i] = visibleMembers(a, q)
		}
		p.Args = args
	}
	return p
}

// MemberIDs returns every member of a group (for a provisioning token,
// every member without a role).
func (s *Service) MemberIDs(ctx context.Context, actor audit.Actor, groupID string) ([]Member, error) {
	if err := canProvision(actor); err != nil {
		return nil, err
	}
	var out []Member
	cursor := ""
	for {
		page, next, err := s.Store.ListMembers(ctx, groupID, cursor, 1000)
		if err != nil {
			return nil, err
		}
		for _, m := range page {
			if actor.Role == audit.RoleSCIM && m.Role != RoleNone {
				continue // privileged members are out of a token's sight
			}
			out = append(out, m)
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// notFoundFor hides a privileged user from a provisioning token.
func notFoundFor(a audit.Actor, u User) error {
	if hiddenFrom(a, u) {
		return errs.NotFound("user", u.ID)
	}
	return nil
}
