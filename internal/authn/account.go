package authn

import (
	"context"
	"errors"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
)

// ChangePassword changes a signed-in user's own password after checking the
// current one, and signs out every other session of theirs.
func (s *Service) ChangePassword(ctx context.Context, u directory.User, keepSession, current, next string) error {
	hash, err := s.Store.PasswordHash(ctx, u.ID)
	if errors.Is(err, errs.ErrNotFound) {
		hash, err = "", nil
	}
	if err != nil {
		return err
	}
	if hash == "" {
		_, _ = s.Hasher.Verify(current, s.dummy())
		return ErrSignInFailed
	}
	if ok, err := s.Hasher.Verify(current, hash); err != nil || !ok {
		return ErrSignInFailed
	}
	newHash, err := s.hashWithPolicy(next, u)
	if err != nil {
		return err
	}
	actor := audit.Actor{Type: audit.ActorUser, ID: u.ID, Name: u.UserName, Role: u.Role}
	return s.Store.WithAuthTx(ctx, func(tx Tx) error {
		if err := tx.SetPasswordHash(ctx, u.ID, newHash, s.now()); err != nil {
			return err
		}
		sessions, err := s.Sessions.Store.ListUserSessions(ctx, u.ID)
		if err != nil {
			return err
		}
		ended := 0
		for _, x := range sessions {
			if x.ID == keepSession {
				continue
			}
			if ok, err := tx.RevokeSession(ctx, x.ID, s.now()); err != nil {
				return err
			} else if ok {
				ended++
			}
		}
		return tx.AppendAudit(ctx, audit.New(ctx, actor, "user.password.change", "user", u.ID, u.UserName,
			map[string]any{"otherSessionsEnded": ended}))
	})
}

// PasswordPolicy checks a new password in the context of its user.
type PasswordPolicy interface {
	Check(password string, context ...string) error
}

// hashWithPolicy applies the password policy (with the user's own names and
// email as context) and hashes.
func (s *Service) hashWithPolicy(password string, u directory.User) (string, error) {
	if s.Policy != nil {
		if err := s.Policy.Check(password, u.UserName, u.PrimaryEmail(), u.Name.GivenName, u.Name.FamilyName, u.DisplayName, s.InstanceName); err != nil {
			return "", err
		}
	}
	return s.Hasher.Hash(password)
}
