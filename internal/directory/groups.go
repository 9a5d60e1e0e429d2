package directory

import (
	"context"
	"errors"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/errs"
)

// CreateGroup stores a new group with optional initial members (ids or userNames).
func (s *Service) CreateGroup(ctx context.Context, actor audit.Actor, g Group, members []string) (Group, error) {
	if err := canProvisionWrite(actor); err != nil {
		return Group{}, err
	}
	var out Group
	err := s.Store.WithTx(ctx, func(tx Tx) error {
		var err error
		if out, err = s.CreateGroupTx(ctx, tx, actor, g); err != nil {
			return err
		}
		if len(members) > 0 {
			if _, err = s.AddMembersTx(ctx, tx, actor, out, members); err != nil {
				return err
			}
			out, err = tx.GetGroup(ctx, out.ID)
		}
		return err
	})
	return out, err
}

// CreateGroupTx creates g inside tx.
func (s *Service) CreateGroupTx(ctx context.Context, tx Tx, actor audit.Actor, g Group) (Group, error) {
	if err := normalizeGroup(&g); err != nil {
		return Group{}, err
	}
	now := s.now()
	g.ID, g.Created, g.LastModified, g.Version, g.MemberCount = newID(), now, now, 1, 0
	if err := tx.InsertGroup(ctx, g); err != nil {
		return Group{}, err
	}
	return g, tx.AppendAudit(ctx, audit.New(ctx, actor, "group.create", "group", g.ID, g.DisplayName, diff(Group{}, groupForDiff(g))))
}

func groupForDiff(g Group) Group {
	return Group{DisplayName: g.DisplayName, Description: g.Description, ExternalID: g.ExternalID, ManagedBy: g.ManagedBy}
}

// GetGroup returns the group with this id or display name.
func (s *Service) GetGroup(ctx context.Context, actor audit.Actor, key string) (Group, error) {
	if err := canProvision(actor); err != nil {
		return Group{}, err
	}
	return resolveGroup(ctx, s.Store, key)
}

// ListGroups lists groups in display-name order with cursor paging.
func (s *Service) ListGroups(ctx context.Context, actor audit.Actor, f GroupFilter) ([]Group, string, error) {
	if err := canRead(actor); err != nil {
		return nil, "", err
	}
	f.Limit = clampLimit(f.Limit)
	if f.MemberID != "" {
		u, err := resolveUser(ctx, s.Store, f.MemberID)
		if err != nil {
			return nil, "", err
		}
		f.MemberID = u.ID
	}
	return s.Store.ListGroups(ctx, f)
}

// UpdateGroup applies mutate to a group; see UpdateUser for ifVersion.
func (s *Service) UpdateGroup(ctx context.Context, actor audit.Actor, key string, ifVersion int64, mutate func(*Group) error) (Group, error) {
	if err := canProvisionWrite(actor); err != nil {
		return Group{}, err
	}
	var out Group
	err := s.Store.WithTx(ctx, func(tx Tx) error {
		cur, err := resolveGroup(ctx, tx, key)
		if err != nil {
			return err
		}
		out, err = s.UpdateGroupTx(ctx, tx, actor, cur, ifVersion, mutate)
		return err
	})
	return out, err
}

// UpdateGroupTx updates cur inside tx.
func (s *Service) UpdateGroupTx(ctx context.Context, tx Tx, actor audit.Actor, cur Group, ifVersion int64, mutate func(*Group) error) (Group, error) {
	if ifVersion != 0 && ifVersion != cur.Version {
		return Group{}, &errs.Conflict{Kind: "group", Stale: true}
	}
	next := cur
	if err := mutate(&next); err != nil {
		return Group{}, err
	}
	next.ID, next.Created, next.Version, next.MemberCount = cur.ID, cur.Created, cur.Version, cur.MemberCount
	if err := normalizeGroup(&next); err != nil {
		return Group{}, err
	}
	summary := diff(groupForDiff(cur), groupForDiff(next))
	if len(summary) == 0 {
		return cur, nil
	}
	next.LastModified = s.now()
	next.Version = cur.Version + 1
	if err := tx.UpdateGroup(ctx, next, cur.Version); err != nil {
		return Group{}, err
	}
	return next, tx.AppendAudit(ctx, audit.New(ctx, actor, "group.update", "group", next.ID, next.DisplayName, summary))
}

// DeleteGroup removes a group and its memberships.
func (s *Service) DeleteGroup(ctx context.Context, actor audit.Actor, key string) error {
	if err := canProvisionWrite(actor); err != nil {
		return err
	}
	return s.Store.WithTx(ctx, func(tx Tx) error {
		g, err := resolveGroup(ctx, tx, key)
		if err != nil {
			return err
		}
		return s.DeleteGroupTx(ctx, tx, actor, g)
	})
}

// DeleteGroupTx deletes g inside tx.
func (s *Service) DeleteGroupTx(ctx context.Context, tx Tx, actor audit.Actor, g Group) error {
	if err := tx.DeleteGroup(ctx, g.ID); err != nil {
		return err
	}
	return tx.AppendAudit(ctx, audit.New(ctx, actor, "group.delete", "group", g.ID, g.DisplayName, nil))
}

// AddMembers adds users (ids or userNames) to a group; unknown users fail the
// whole call with a validation error naming them.
func (s *Service) AddMembers(ctx context.Context, actor audit.Actor, groupKey string, users []string) (Group, error) {
	return s.changeMembers(ctx, actor, groupKey, users, true)
}

// RemoveMembers removes users from a group.
func (s *Service) RemoveMembers(ctx context.Context, actor audit.Actor, groupKey string, users []string) (Group, error) {
	return s.changeMembers(ctx, actor, groupKey, users, false)
}

func (s *Service) changeMembers(ctx context.Context, actor audit.Actor, groupKey string, users []string, add bool) (Group, error) {
	if err := canProvisionWrite(actor); err != nil {
		return Group{}, err
	}
	var out Group
	err := s.Store.WithTx(ctx, func(tx Tx) error {
		g, err := resolveGroup(ctx, tx, groupKey)
		if err != nil {
			return err
		}
		if add {
			_, err = s.AddMembersTx(ctx, tx, actor, g, users)
		} else {
			_, err = s.RemoveMembersTx(ctx, tx, actor, g, users)
		}
		if err != nil {
			return err
		}
		out, err = tx.GetGroup(ctx, g.ID)
		return err
	})
	return out, err
}

func (s *Service) resolveMembers(ctx context.Context, tx Tx, actor audit.Actor, users []string) ([]User, error) {
	v := &errs.Invalid{}
	out := make([]User, 0, len(users))
	for _, key := range users {
		u, err := resolveUser(ctx, tx, key)
		if err == nil && hiddenFrom(actor, u) {
			err = errs.ErrNotFound
		}
		if errors.Is(err, errs.ErrNotFound) {
			v.Add("members", "unknown user %q", key)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, v.Err()
}

// AddMembersTx adds users to g inside tx and returns how many were added.
func (s *Service) AddMembersTx(ctx context.Context, tx Tx, actor audit.Actor, g Group, users []string) (int, error) {
	us, err := s.resolveMembers(ctx, tx, actor, users)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range us {
		added, err := tx.AddMember(ctx, g.ID, u.ID, s.now())
		if err != nil {
			return n, err
		}
		if added {
			n++
			ev := audit.New(ctx, actor, "group.member.add", "group", g.ID, g.DisplayName, map[string]any{"userId": u.ID, "userName": u.UserName})
			if err := tx.AppendAudit(ctx, ev); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// RemoveMembersTx removes users from g inside tx.
func (s *Service) RemoveMembersTx(ctx context.Context, tx Tx, actor audit.Actor, g Group, users []string) (int, error) {
	us, err := s.resolveMembers(ctx, tx, actor, users)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range us {
		removed, err := tx.RemoveMember(ctx, g.ID, u.ID, s.now())
		if err != nil {
			return n, err
		}
		if removed {
			n++
			ev := audit.New(ctx, actor, "group.member.remove", "group", g.ID, g.DisplayName, map[string]any{"userId": u.ID, "userName": u.UserName})
			if err := tx.AppendAudit(ctx, ev); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// ListMembers lists a group's members in userName order.
func (s *Service) ListMembers(ctx context.Context, actor audit.Actor, groupKey, cursor string, limit int) ([]Member, string, error) {
	if err := canProvision(actor); err != nil {
		return nil, "", err
	}
	g, err := resolveGroup(ctx, s.Store, groupKey)
	if err != nil {
		return nil, "", err
	}
	return s.Store.ListMembers(ctx, g.ID, cursor, clampLimit(limit))
}

// ChangeGroup updates a group's attributes (mutate may be nil) and adds and
// removes members (user ids) in one transaction. With ifVersion set the
// change applies only to that version. Removing a user who no longer exists
// is not an error; adding one is.
func (s *Service) ChangeGroup(ctx context.Context, actor audit.Actor, key string, ifVersion int64, mutate func(*Group) error, add, remove []string) (Group, error) {
	if err := canProvisionWrite(actor); err != nil {
		return Group{}, err
	}
	var out Group
	err := s.Store.WithTx(ctx, func(tx Tx) error {
		g, err := resolveGroup(ctx, tx, key)
		if err != nil {
			return err
		}
		if ifVersion != 0 && ifVersion != g.Version {
			return &errs.Conflict{Kind: "group", Stale: true}
		}
		if mutate != nil {
			if g, err = s.UpdateGroupTx(ctx, tx, actor, g, 0, mutate); err != nil {
				return err
			}
		}
		var known []string
		for _, id := range remove {
			if u, err := tx.GetUser(ctx, id); err == nil {
				if !hiddenFrom(actor, u) { // provisioning cannot touch privileged users
					known = append(known, id)
				}
			} else if !errors.Is(err, errs.ErrNotFound) {
				return err
			}
		}
		if _, err := s.RemoveMembersTx(ctx, tx, actor, g, known); err != nil {
			return err
		}
		if _, err := s.AddMembersTx(ctx, tx, actor, g, add); err != nil {
			return err
		}
		out, err = tx.GetGroup(ctx, g.ID)
		return err
	})
	return out, err
}
