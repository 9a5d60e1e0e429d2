// Package console is the administrators' side of idcenter in the browser,
// under /console: the overview, users, groups, applications, AWS accounts
// and permission sets, SCIM
// provisioning tokens and the audit trail. Every route is for signed-in
// administrators only, which each registration shows (c.admin); every form
// posts a CSRF token, checked by the browser middleware before any handler
// runs. Handlers are thin: they parse a form and call the same domain
// services as the admin API (directory, audit, authn, session, tokens), with
// the signed-in administrator as the actor, so the services' own role checks
// and audit events apply unchanged.
package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/authn"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/iac"
	"github.com/idcenter/idcenter/internal/session"
	"github.com/idcenter/idcenter/internal/tokens"
	"github.com/idcenter/idcenter/internal/web"
)

// MFAResetter removes every second factor of a user (the MFA work provides it).
type MFAResetter interface {
	ResetUser(ctx context.Context, actor audit.Actor, userID string) error
}

// MFAStatus says which second factors a user has ("TOTP", "WEBAUTHN"), for display.
type MFAStatus interface {
	Factors(ctx context.Context, userID string) ([]string, error)
}

// Invitations sends invitation and password-reset mail (the invitations work
// provides it).
type Invitations interface {
	SendInvitation(ctx context.Context, actor audit.Actor, userID string) error
	ForcePasswordReset(ctx context.Context, actor audit.Actor, userID string) error
}

// Console holds the console handlers' dependencies. MFAResetter, MFAStatus
// and Invitations are optional: when nil, their buttons are hidden and their
// routes answer 404.
type Console struct {
	Render    *web.Renderer
	Directory *directory.Service
	Audit     *audit.Service
	Auth      *authn.Service
	Sessions  *session.Service
	Log       *slog.Logger
	// Apps is the applications service; BaseURL is the public base URL
	// (config.PublicURL), for the IdP addresses the application page shows.
	Apps    *apps.Service
	BaseURL string
	// Tokens manages the SCIM provisioning tokens (the Provisioning page).
	Tokens *tokens.Service
	// Cloud manages AWS accounts, permission sets and assignments (the
	// AWS accounts and Permission sets pages); nil: those pages are 404.
	Cloud *cloud.Service
	// IaC renders an account's IAM set-up for download and reports drift
	// against the last download; nil: no download section.
	IaC *iac.Service

	MFAResetter MFAResetter
	MFAStatus   MFAStatus
	Invitations Invitations

	// Guard requires a signed-in browser (the portal's SignedIn): anonymous
	// browsers are sent to sign in.
	Guard func(http.HandlerFunc) http.Handler
	// SameSite, when set, must accept a request for the console to act on
	// it (the portal's SameSite=Strict console cookie, WEB-05).
	SameSite func(*http.Request) bool
	// Fail renders an error page for err (the portal's Fail).
	Fail func(w http.ResponseWriter, r *http.Request, err error)

	registered []string
}

// Routes lists every route Register mounts, in order. A test checks that it
// matches what Register really registers, and that a signed-in
// non-administrator gets 403 on each.
var Routes = []string{
	"GET /console",
	"GET /console/users",
	"GET /console/users/new",
	"POST /console/users",
	"GET /console/users/{id}",
	"POST /console/users/{id}",
	"POST /console/users/{id}/disable",
	"POST /console/users/{id}/enable",
	"GET /console/users/{id}/delete",
	"POST /console/users/{id}/delete",
	"POST /console/users/{id}/groups",
	"POST /console/users/{id}/groups/{group}/remove",
	"POST /console/users/{id}/unlock",
	"POST /console/users/{id}/reset-mfa",
	"POST /console/users/{id}/force-reset",
	"POST /console/users/{id}/invite",
	"POST /console/users/{id}/end-sessions",
	"GET /console/groups",
	"GET /console/groups/new",
	"POST /console/groups",
	"GET /console/groups/{id}",
	"POST /console/groups/{id}",
	"GET /console/groups/{id}/delete",
	"POST /console/groups/{id}/delete",
	"POST /console/groups/{id}/members",
	"POST /console/groups/{id}/members/{user}/remove",
	"GET /console/apps",
	"GET /console/apps/new",
	"POST /console/apps",
	"GET /console/apps/{id}",
	"POST /console/apps/{id}",
	"POST /console/apps/{id}/enable",
	"POST /console/apps/{id}/disable",
	"GET /console/apps/{id}/delete",
	"POST /console/apps/{id}/delete",
	"POST /console/apps/{id}/assignments",
	"POST /console/apps/{id}/assignments/{type}/{principal}/remove",
	"POST /console/apps/{id}/certificates",
	"POST /console/apps/{id}/certificates/{cert}/activate",
	"POST /console/apps/{id}/certificates/{cert}/remove",
	"GET /console/apps/{id}/certificate.pem",
	"GET /console/accounts",
	"GET /console/accounts/new",
	"POST /console/accounts",
	"GET /console/accounts/{id}",
	"POST /console/accounts/{id}",
	"GET /console/accounts/{id}/delete",
	"POST /console/accounts/{id}/delete",
	"POST /console/accounts/{id}/assignments",
	"POST /console/accounts/{id}/assignments/remove",
	"GET /console/accounts/{id}/iam",
	"GET /console/permission-sets",
	"GET /console/permission-sets/new",
	"POST /console/permission-sets",
	"GET /console/permission-sets/{id}",
	"POST /console/permission-sets/{id}",
	"GET /console/permission-sets/{id}/delete",
	"POST /console/permission-sets/{id}/delete",
	"GET /console/scim",
	"POST /console/scim/tokens",
	"POST /console/scim/tokens/{id}/revoke",
	"GET /console/audit",
	"/console/",
}

// Register mounts the console on mux. Every route is c.admin: a signed-in
// user holding the admin role; anyone else signed in gets 403.
func (c *Console) Register(mux *http.ServeMux) {
	c.registered = c.registered[:0]
	handle := func(pattern string, h http.Handler) {
		c.registered = append(c.registered, pattern)
		mux.Handle(pattern, h)
	}
	handle("GET /console", c.admin(c.overview))

	handle("GET /console/users", c.admin(c.listUsers))
	handle("GET /console/users/new", c.admin(c.newUser))
	handle("POST /console/users", c.admin(c.createUser))
	handle("GET /console/users/{id}", c.admin(c.showUser))
	handle("POST /console/users/{id}", c.admin(c.updateUser))
	handle("POST /console/users/{id}/disable", c.admin(c.disableUser))
	handle("POST /console/users/{id}/enable", c.admin(c.enableUser))
	handle("GET /console/users/{id}/delete", c.admin(c.confirmDeleteUser))
	handle("POST /console/users/{id}/delete", c.admin(c.deleteUser))
	handle("POST /console/users/{id}/groups", c.admin(c.addUserToGroup))
	handle("POST /console/users/{id}/groups/{group}/remove", c.admin(c.removeUserFromGroup))
	handle("POST /console/users/{id}/unlock", c.admin(c.unlockUser))
	handle("POST /console/users/{id}/reset-mfa", c.admin(c.resetMFA))
	handle("POST /console/users/{id}/force-reset", c.admin(c.forcePasswordReset))
	handle("POST /console/users/{id}/invite", c.admin(c.sendInvitation))
	handle("POST /console/users/{id}/end-sessions", c.admin(c.endSessions))

	handle("GET /console/groups", c.admin(c.listGroups))
	handle("GET /console/groups/new", c.admin(c.newGroup))
	handle("POST /console/groups", c.admin(c.createGroup))
	handle("GET /console/groups/{id}", c.admin(c.showGroup))
	handle("POST /console/groups/{id}", c.admin(c.updateGroup))
	handle("GET /console/groups/{id}/delete", c.admin(c.confirmDeleteGroup))
	handle("POST /console/groups/{id}/delete", c.admin(c.deleteGroup))
	handle("POST /console/groups/{id}/members", c.admin(c.addGroupMember))
	handle("POST /console/groups/{id}/members/{user}/remove", c.admin(c.removeGroupMember))

	handle("GET /console/apps", c.admin(c.listApps))
	handle("GET /console/apps/new", c.admin(c.newApp))
	handle("POST /console/apps", c.admin(c.createApp))
	handle("GET /console/apps/{id}", c.admin(c.showApp))
	handle("POST /console/apps/{id}", c.admin(c.updateApp))
	handle("POST /console/apps/{id}/enable", c.admin(c.setAppEnabled(true)))
	handle("POST /console/apps/{id}/disable", c.admin(c.setAppEnabled(false)))
	handle("GET /console/apps/{id}/delete", c.admin(c.confirmDeleteApp))
	handle("POST /console/apps/{id}/delete", c.admin(c.deleteApp))
	handle("POST /console/apps/{id}/assignments", c.admin(c.assignApp))
	handle("POST /console/apps/{id}/assignments/{type}/{principal}/remove", c.admin(c.unassignApp))
	handle("POST /console/apps/{id}/certificates", c.admin(c.addAppCertificate))
	handle("POST /console/apps/{id}/certificates/{cert}/activate", c.admin(c.activateAppCertificate))
	handle("POST /console/apps/{id}/certificates/{cert}/remove", c.admin(c.removeAppCertificate))
	handle("GET /console/apps/{id}/certificate.pem", c.admin(c.appCertificatePEM))

	handle("GET /console/accounts", c.admin(c.listAccounts))
	handle("GET /console/accounts/new", c.admin(c.newAccount))
	handle("POST /console/accounts", c.admin(c.createAccount))
	handle("GET /console/accounts/{id}", c.admin(c.showAccount))
	handle("POST /console/accounts/{id}", c.admin(c.updateAccount))
	handle("GET /console/accounts/{id}/delete", c.admin(c.confirmDeleteAccount))
	handle("POST /console/accounts/{id}/delete", c.admin(c.deleteAccount))
	handle("POST /console/accounts/{id}/assignments", c.admin(c.assignAccount))
	handle("POST /console/accounts/{id}/assignments/remove", c.admin(c.unassignAccount))
	handle("GET /console/accounts/{id}/iam", c.admin(c.downloadIAM))
	handle("GET /console/permission-sets", c.admin(c.listPermissionSets))
	handle("GET /console/permission-sets/new", c.admin(c.newPermissionSet))
	handle("POST /console/permission-sets", c.admin(c.createPermissionSet))
	handle("GET /console/permission-sets/{id}", c.admin(c.showPermissionSet))
	handle("POST /console/permission-sets/{id}", c.admin(c.updatePermissionSet))
	handle("GET /console/permission-sets/{id}/delete", c.admin(c.confirmDeletePermissionSet))
	handle("POST /console/permission-sets/{id}/delete", c.admin(c.deletePermissionSet))

	handle("GET /console/scim", c.admin(c.scimTokens))
	handle("POST /console/scim/tokens", c.admin(c.createSCIMToken))
	handle("POST /console/scim/tokens/{id}/revoke", c.admin(c.revokeSCIMToken))

	handle("GET /console/audit", c.admin(c.auditEvents))

	// Anything else under /console is a 404, but only for administrators:
	// others learn nothing about which console paths exist.
	handle("/console/", c.admin(c.notFound))
}

// Registered returns the patterns the last Register call mounted.
func (c *Console) Registered() []string { return append([]string(nil), c.registered...) }

// handler is a console handler; actor is the signed-in administrator.
type handler func(w http.ResponseWriter, r *http.Request, actor audit.Actor)

// admin allows signed-in, active administrators only (Guard sends anonymous
// browsers to sign in); everyone else gets 403. The services check the
// actor's role again.
func (c *Console) admin(h handler) http.Handler {
	return c.Guard(func(w http.ResponseWriter, r *http.Request) {
		u := web.AuthFrom(r.Context()).User
		if u == nil || !u.Active || u.Role != directory.RoleAdmin {
			c.Render.Render(w, r, http.StatusForbidden, "message", web.Page{Title: "Forbidden",
				Data: message{Message: "The admin console is for administrators. Ask an administrator if you need access.",
					Link: "/start", LinkText: "Go to the portal"}})
			return
		}
		if c.SameSite != nil && !c.SameSite(r) {
			// Reached from another site (or without the console cookie): the
			// session is not used here. A same-site click continues.
			if r.Method != http.MethodGet {
				c.Render.Render(w, r, http.StatusForbidden, "message", web.Page{Title: "Request refused",
					Data: message{Message: "This request did not come from the admin console.", Link: "/console", LinkText: "Open the admin console"}})
				return
			}
			c.Render.Render(w, r, http.StatusOK, "message", web.Page{Title: "Admin console",
				Data: message{Message: "You followed a link to the admin console from another site. Continue only if you meant to open it.",
					Link: web.SafeReturnTo(r.URL.RequestURI(), "/console"), LinkText: "Continue to the admin console"}})
			return
		}
		h(w, r, audit.Actor{Type: audit.ActorUser, ID: u.ID, Name: u.UserName, Role: u.Role})
	})
}

// message is the data of the shared "message" page.
type message struct {
	Message, Link, LinkText string
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request, _ audit.Actor) {
	c.Fail(w, r, errs.ErrNotFound)
}

// --- page frame ---

type navLink struct {
	Label, Href string
	Current     bool
}

// frame is embedded in every console page's data: the sidebar.
type frame struct {
	Side []navLink
}

func newFrame(current string) frame {
	links := []navLink{
		{Label: "Overview", Href: "/console"},
		{Label: "Users", Href: "/console/users"},
		{Label: "Groups", Href: "/console/groups"},
		{Label: "Applications", Href: "/console/apps"},
		{Label: accountsNav, Href: "/console/accounts"},
		{Label: permissionSetsNav, Href: "/console/permission-sets"},
		{Label: scimNav, Href: "/console/scim"},
		{Label: "Audit events", Href: "/console/audit"},
	}
	for i := range links {
		links[i].Current = links[i].Label == current
	}
	return frame{Side: links}
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p web.Page) {
	p.Nav = "console"
	if p.Flash == "" {
		p.Flash = flashes[r.URL.Query().Get("done")]
	}
	c.Render.Render(w, r, status, name, p)
}

// flashes maps ?done= values to fixed texts; anything else shows nothing,
// so the query string never puts text on the page.
var flashes = map[string]string{
	"user-created":               "The user was created.",
	"user-created-invited":       "The user was created and an invitation was emailed to them.",
	"user-created-invite-failed": "The user was created, but the invitation could not be sent. Use Send invitation to try again.",
	"user-saved":                 "The user was saved.",
	"user-disabled":              "The user was disabled and signed out everywhere.",
	"user-enabled":               "The user was enabled.",
	"user-deleted":               "The user was deleted.",
	"group-added":                "The user was added to the group.",
	"group-removed":              "The user was removed from the group.",
	"unlocked":                   "The account was unlocked.",
	"mfa-reset":                  "The user's MFA devices and recovery codes were removed and their sessions ended.",
	"reset-sent":                 "A password reset was forced and the reset email was sent.",
	"invite-sent":                "The invitation was sent.",
	"sessions-ended":             "The user's sessions were ended.",
	"group-created":              "The group was created.",
	"group-saved":                "The group was saved.",
	"group-deleted":              "The group was deleted.",
	"member-added":               "The member was added.",
	"member-removed":             "The member was removed.",
	"app-created":                "The application was created. Assign users or groups to it, and give the service provider the IdP metadata.",
	"app-saved":                  "The application was saved.",
	"app-enabled":                "The application was enabled.",
	"app-deleted":                "The application was deleted.",
	"app-disabled":               "The application was disabled: nobody can sign in to it.",
	"assigned":                   "The assignment was added.",
	"unassigned":                 "The assignment was removed.",
	"cert-added":                 "A next certificate was created. It is published in the metadata; activate it once the service provider has it.",
	"cert-activated":             "The certificate is now active; the previous one was retired.",
	"cert-removed":               "The certificate was removed.",
	"scim-token-revoked":         "The SCIM token was revoked: requests with it are refused from now on.",
	"account-created":            "The AWS account was created. Assign permission sets to users or groups below, and set up the IAM SAML provider and roles in AWS.",
	"account-saved":              "The AWS account was saved.",
	"account-deleted":            "The AWS account and its assignments were deleted.",
	"account-assigned":           "The assignment was added: its members hold the role in this account now.",
	"account-unassigned":         "The assignment was removed.",
	"permission-set-created":     "The permission set was created. Assign it in an account to give people the role.",
	"permission-set-saved":       "The permission set was saved.",
	"permission-set-deleted":     "The permission set and its assignments were deleted.",
}

// --- errors ---

// field is a form input a service field maps to: its id and its label.
type field struct{ ID, Label string }

// formError turns a validation or conflict error into messages per form
// input (fields maps the service's field names to the form's inputs) and a
// message for the whole form. ok is false for any other error.
func formError(err error, fields map[string]field) (perField map[string]string, general string, status int, ok bool) {
	var inv *errs.Invalid
	var cf *errs.Conflict
	switch {
	case errors.As(err, &inv):
		perField = map[string]string{}
		var rest []string
		for _, p := range inv.Problems {
			if f, known := fields[p.Field]; known {
				if perField[f.ID] == "" {
					perField[f.ID] = fieldMessage(f.Label, p.Reason)
				}
				continue
			}
			rest = append(rest, p.Field+": "+p.Reason)
		}
		general = "Check the highlighted fields."
		if len(rest) > 0 {
			general = sentence(strings.Join(rest, "; "))
		}
		return perField, general, http.StatusBadRequest, true
	case errors.As(err, &cf):
		if cf.Stale {
			return nil, "Someone else changed this " + cf.Kind + " while you were editing it. Reload the page and try again.", http.StatusConflict, true
		}
		f, known := fields[cf.Field]
		label := strings.ToLower(f.Label)
		if !known {
			label = cf.Field
		}
		text := fmt.Sprintf("Another %s already has this %s.", cf.Kind, label)
		if known {
			return map[string]string{f.ID: text}, text, http.StatusConflict, true
		}
		return nil, text, http.StatusConflict, true
	}
	return nil, "", 0, false
}

// fieldMessage words a validation reason for the input labelled label:
// "is required" becomes "Username is required.".
func fieldMessage(label, reason string) string {
	for _, p := range []string{"is ", "must ", "at most "} {
		if strings.HasPrefix(reason, p) {
			if p == "at most " {
				return sentence(label + " takes " + reason)
			}
			return sentence(label + " " + reason)
		}
	}
	return sentence(reason)
}

// sentence ends s with a full stop.
func sentence(s string) string {
	if s == "" || strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}

// redirect sends the browser to path?done=done after a successful POST.
func redirect(w http.ResponseWriter, r *http.Request, path, done string) {
	if done != "" {
		path += "?done=" + url.QueryEscape(done)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

func userPath(id string) string  { return "/console/users/" + url.PathEscape(id) }
func groupPath(id string) string { return "/console/groups/" + url.PathEscape(id) }

// pageURL builds a list page's URL from its query parameters, dropping
// empty ones.
func pageURL(path string, params ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		if params[i+1] != "" {
			v.Set(params[i], params[i+1])
		}
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// pageSize is the length of the console's list pages.
const pageSize = 50

// query returns a trimmed, length-limited query parameter.
func query(r *http.Request, name string) string {
	s := strings.TrimSpace(r.URL.Query().Get(name))
	if len(s) > 256 {
		s = strings.ToValidUTF8(s[:256], "")
	}
	return s
}
