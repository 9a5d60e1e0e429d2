// Package awsfed federates idcenter users into AWS accounts: it builds the
// signed SAML assertions AWS accepts for a role a user holds (cloud
// accounts and permission sets), posts them to the AWS console sign-in, and
// exchanges them for temporary credentials with STS AssumeRoleWithSAML. It
// implements cloud.Federation for the portal, and apps.RoleSource, which
// adds the AWS Role attribute to the SSO assertions of aws-account
// applications and of applications with "include AWS roles".
//
// Assertions are signed with the key of a SAML application (the account's
// AppID, or the instance's AWS application: the first aws-account
// application, created on first need), whose signed IdP metadata is what
// the IAM SAML provider in each account holds. See docs/cloud.md.
package awsfed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
)

// AWSAppName is the display name of the AWS application created on first
// need when the instance has none.
const AWSAppName = "AWS accounts"

// Roles lists the roles a user holds now (cloud.Service).
type Roles interface {
	RolesFor(ctx context.Context, userID string) ([]cloud.Role, error)
}

// Users reads the user and their groups, for the application's mappings.
type Users interface {
	GetUser(ctx context.Context, id string) (directory.User, error)
	GroupsOfUser(ctx context.Context, userID string) ([]directory.Group, error)
}

// Service builds AWS assertions and calls STS. Its zero clock, entropy and
// HTTP client mean time.Now, crypto/rand and a client with STSTimeout.
type Service struct {
	Apps  *apps.Service
	Roles Roles
	Users Users
	// BaseURL is the public base URL: the IdP entity ID in the assertions
	// is saml.IdPURLsFor(BaseURL, app).EntityID, as in the metadata.
	BaseURL string
	// Audit, when set, records aws.console and aws.credentials events (and
	// aws.credentials.failed) with the account and role, never secrets.
	Audit audit.Appender
	HTTP  *http.Client
	Now   func() time.Time
	Rand  io.Reader
	Log   *slog.Logger
}

// STSTimeout bounds one AssumeRoleWithSAML call of the default client.
const STSTimeout = 15 * time.Second

var _ cloud.Federation = (*Service)(nil)
var _ apps.RoleSource = (*Service)(nil)

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) client() *http.Client {
	if s.HTTP != nil {
		return s.HTTP
	}
	// Redirects are not followed: STS never redirects, and following a 307
	// or 308 would re-post the SAML assertion (a bearer credential for the
	// role) to whatever the Location names, bypassing the https-only rule
	// of stsEndpoint (http only for loopback). A 3xx is answered as an STS
	// failure instead.
	return &http.Client{Timeout: STSTimeout, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// AWSApplication returns the application whose key signs the assertions of
// acct: acct.AppID, or the instance's AWS application (the first
// application from the aws-account template, by creation), which it creates
// ("AWS accounts", by the system actor) when there is none.
func (s *Service) AWSApplication(ctx context.Context, acct cloud.Account) (apps.Application, error) {
	if acct.AppID != "" {
		return s.Apps.ByID(ctx, acct.AppID)
	}
	app, ok, err := s.instanceApp(ctx)
	if err != nil || ok {
		return app, err
	}
	app, err = s.Apps.Create(ctx, audit.System, apps.CreateRequest{Template: apps.TemplateAWSAccount,
		Application: apps.Application{DisplayName: AWSAppName, Enabled: true}})
	var conflict *errs.Conflict
	if errors.As(err, &conflict) {
		// Another request or replica created it first, or an application
		// already has the AWS entity ID (or the name): use that one.
		if app, ok, err = s.instanceApp(ctx); err != nil || ok {
			return app, err
		}
		if t, found := apps.LookupTemplate(apps.TemplateAWSAccount); found {
			return s.Apps.ByEntityID(ctx, t.EntityID)
		}
	}
	if err == nil {
		s.log().Info("created the AWS application for cloud accounts", "app", app.ID)
	}
	return app, err
}

// FindAWSApplication is AWSApplication without the creation: ok is false
// when the account names no application and the instance has none yet.
func (s *Service) FindAWSApplication(ctx context.Context, acct cloud.Account) (apps.Application, bool, error) {
	if acct.AppID != "" {
		app, err := s.Apps.ByID(ctx, acct.AppID)
		return app, err == nil, err
	}
	return s.instanceApp(ctx)
}

// instanceApp finds the instance's AWS application without creating it.
func (s *Service) instanceApp(ctx context.Context) (apps.Application, bool, error) {
	list, err := s.Apps.List(ctx, audit.System)
	if err != nil {
		return apps.Application{}, false, err
	}
	var first *apps.Application
	for i := range list {
		a := &list[i]
		if a.Template != apps.TemplateAWSAccount {
			continue
		}
		if first == nil || a.Created.Before(first.Created) || a.Created.Equal(first.Created) && a.ID < first.ID {
			first = a
		}
	}
	if first == nil {
		return apps.Application{}, false, nil
	}
	return *first, true, nil
}

// heldRole returns the user's current role matching role's account and
// permission set, with the account and permission set as stored now.
func (s *Service) heldRole(ctx context.Context, userID string, role cloud.Role) (cloud.Role, error) {
	roles, err := s.Roles.RolesFor(ctx, userID)
	if err != nil {
		return cloud.Role{}, err
	}
	for _, r := range roles {
		if r.Account.ID == role.Account.ID && (r.PermissionSet.ID == role.PermissionSet.ID ||
			role.PermissionSet.ID == "" && r.PermissionSet.Name == role.PermissionSet.Name) {
			return r, nil
		}
	}
	return cloud.Role{}, fmt.Errorf("%w: %w", cloud.ErrRoleNotHeld, errs.ErrForbidden)
}

// AWSRolesFor implements apps.RoleSource: the roles userID holds that app's
// assertions carry. With IncludeAWSRoles: the roles in AWSRoleAccounts, or
// in every account when it is empty. An aws-account application otherwise:
// the roles in the accounts linked to it (AppID = the application, or no
// AppID when it is the instance's AWS application).
func (s *Service) AWSRolesFor(ctx context.Context, app apps.Application, userID string) ([]apps.AWSRole, error) {
	roles, err := s.Roles.RolesFor(ctx, userID)
	if err != nil {
		return nil, err
	}
	instance := ""
	linked := func(a cloud.Account) (bool, error) {
		if a.AppID != "" {
			return a.AppID == app.ID, nil
		}
		if instance == "" {
			ia, ok, err := s.instanceApp(ctx)
			if err != nil {
				return false, err
			}
			instance = "-"
			if ok {
				instance = ia.ID
			}
		}
		return instance == app.ID, nil
	}
	var out []apps.AWSRole
	for _, r := range roles {
		var keep bool
		switch {
		case app.IncludeAWSRoles:
			keep = len(app.AWSRoleAccounts) == 0 || slices.Contains(app.AWSRoleAccounts, r.Account.ID)
		case app.Template == apps.TemplateAWSAccount:
			if keep, err = linked(r.Account); err != nil {
				return nil, err
			}
		}
		if keep {
			out = append(out, apps.AWSRole{Value: r.AttributeValue(), AccountID: r.Account.ID, SessionDuration: sessionDuration(r.PermissionSet)})
		}
	}
	return out, nil
}

// sessionDuration is the permission set's session duration (1 hour when
// unset or unreadable).
func sessionDuration(p cloud.PermissionSet) time.Duration {
	if d, ok := cloud.ParseSessionDuration(p.SessionDuration); ok && d > 0 {
		return d
	}
	d, _ := cloud.ParseSessionDuration(cloud.DefaultSessionDuration)
	return d
}

func (s *Service) audit(ctx context.Context, u directory.User, action string, acct cloud.Account, summary map[string]any) {
	if s.Audit == nil {
		return
	}
	actor := audit.Actor{Type: audit.ActorUser, ID: u.ID, Name: u.UserName, Role: u.Role}
	if err := s.Audit.AppendAudit(ctx, audit.New(ctx, actor, action, "account", acct.ID, acct.Name, summary)); err != nil {
		s.log().Error("audit append failed", "action", action, "error", err.Error())
	}
}
