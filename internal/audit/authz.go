package audit

import "github.com/idcenter/idcenter/internal/errs"

// Roles an actor can hold.
const (
	RoleAdmin   = "admin"
	RoleAuditor = "auditor"
	// RoleSCIM is held by SCIM provisioning tokens only: it may provision
	// ordinary users and groups through /scim/v2 and nothing else.
	RoleSCIM = "scim"
)

// RequireRole returns errs.ErrForbidden unless actor holds one of roles. The
// system actor holds every role.
func RequireRole(actor Actor, roles ...string) error {
	if actor.Type == ActorSystem {
		return nil
	}
	for _, r := range roles {
		if actor.Role == r {
			return nil
		}
	}
	return errs.ErrForbidden
}
