package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/httpx"
	"github.com/idcenter/idcenter/internal/web"
)

// --- overview ---

type overviewPage struct {
	frame
	Users, Disabled, Groups string
	Recent                  []auditRow
}

// countCap bounds the overview's counts: they page through at most this many
// rows and show "1000+" beyond.
const countCap = 1000

func (c *Console) overview(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	ctx := r.Context()
	count := func(n int, next string) string {
		if next != "" {
			return strconv.Itoa(n) + "+"
		}
		return strconv.Itoa(n)
	}
	users, next, err := c.Directory.ListUsers(ctx, actor, directory.UserFilter{Limit: countCap})
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	d := overviewPage{frame: newFrame("Overview"), Users: count(len(users), next)}
	off := false
	users, next, err = c.Directory.ListUsers(ctx, actor, directory.UserFilter{Active: &off, Limit: countCap})
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	d.Disabled = count(len(users), next)
	groups, next, err := c.Directory.ListGroups(ctx, actor, directory.GroupFilter{Limit: countCap})
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	d.Groups = count(len(groups), next)
	events, _, err := c.Audit.List(ctx, actor, audit.Filter{Limit: 10})
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	d.Recent = auditRows(events)
	c.render(w, r, http.StatusOK, "console_overview", web.Page{Title: "Admin console", Data: d})
}

// --- user list ---

type usersPage struct {
	frame
	Query, Status string
	Users         []directory.User
	Next, First   string
}

func (c *Console) listUsers(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	d := usersPage{frame: newFrame("Users"), Query: query(r, "q"), Status: query(r, "status")}
	f := directory.UserFilter{Prefix: d.Query, Cursor: query(r, "cursor"), Limit: pageSize}
	switch d.Status {
	case "active", "disabled":
		on := d.Status == "active"
		f.Active = &on
	default:
		d.Status = ""
	}
	users, next, err := c.Directory.ListUsers(r.Context(), actor, f)
	if f.Cursor != "" {
		d.First = pageURL("/console/users", "q", d.Query, "status", d.Status)
	}
	var inv *errs.Invalid
	switch {
	case errors.As(err, &inv):
		c.render(w, r, http.StatusBadRequest, "console_users", web.Page{Title: "Users", Error: "This page link is not valid any more. Start again from the first page.", Data: d})
		return
	case err != nil:
		c.Fail(w, r, err)
		return
	}
	d.Users = users
	if next != "" {
		d.Next = pageURL("/console/users", "q", d.Query, "status", d.Status, "cursor", next)
	}
	c.render(w, r, http.StatusOK, "console_users", web.Page{Title: "Users", Data: d})
}

// --- user form and detail ---

// userForm is what the create and edit forms post. Only these fields can be
// set from the console: nothing else in the request reaches the service.
type userForm struct {
	UserName, Email, GivenName, FamilyName, DisplayName, Role string
	Active                                                    bool
	Version                                                   int64
}

// userFields maps the directory's field names to the form's inputs.
var userFields = map[string]field{
	"userName":        {"username", "Username"},
	"emails":          {"email", "Email"},
	"email":           {"email", "Email address"},
	"name.givenName":  {"given-name", "Given name"},
	"name.familyName": {"family-name", "Family name"},
	"displayName":     {"display-name", "Display name"},
	"role":            {"role", "Role"},
}

func parseUserForm(r *http.Request) (userForm, error) {
	f := userForm{
		UserName:    r.PostFormValue("username"),
		Email:       strings.TrimSpace(r.PostFormValue("email")),
		GivenName:   r.PostFormValue("givenName"),
		FamilyName:  r.PostFormValue("familyName"),
		DisplayName: r.PostFormValue("displayName"),
		Role:        r.PostFormValue("role"),
		Active:      r.PostFormValue("active") == "on",
	}
	if v := r.PostFormValue("version"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return f, httpx.Badf("the form's version field is not valid")
		}
		f.Version = n
	}
	return f, nil
}

func formFromUser(u directory.User) userForm {
	return userForm{UserName: u.UserName, Email: u.PrimaryEmail(), GivenName: u.Name.GivenName, FamilyName: u.Name.FamilyName,
		DisplayName: u.DisplayName, Role: u.Role, Active: u.Active, Version: u.Version}
}

// apply copies the form's fields onto u, keeping everything else.
func (f userForm) apply(u *directory.User) {
	u.UserName = f.UserName
	u.Name.GivenName, u.Name.FamilyName = f.GivenName, f.FamilyName
	u.DisplayName = f.DisplayName
	u.Role = f.Role
	setPrimaryEmail(u, f.Email)
}

// setPrimaryEmail sets, replaces or (when email is empty) removes the
// primary email, keeping the user's other addresses.
func setPrimaryEmail(u *directory.User, email string) {
	i := -1
	for j, e := range u.Emails {
		if e.Primary {
			i = j
			break
		}
	}
	if i < 0 && len(u.Emails) > 0 {
		i = 0
	}
	switch {
	case email == "" && i >= 0:
		u.Emails = append(u.Emails[:i:i], u.Emails[i+1:]...)
	case email == "":
	case i >= 0:
		if u.Emails[i].Value != email {
			u.Emails[i].Value = email
		}
		u.Emails[i].Primary = true
	default:
		u.Emails = append([]directory.MultiValue{{Value: email, Type: "work", Primary: true}}, u.Emails...)
	}
}

type userPage struct {
	frame
	New    bool
	User   directory.User // as stored; zero on the create form
	Form   userForm
	Errors map[string]string // per input id

	Groups       []directory.Group // the user's groups
	Addable      []directory.Group // groups the user is not in, for the select
	MoreGroups   bool              // Addable was cut short
	Sessions     int
	LockedUntil  *time.Time
	Factors      []string
	FactorsKnown bool
	CanResetMFA  bool
	CanInvite    bool
	// Provisioned: the user is managed by an identity provider through
	// SCIM; the page warns that its next sync overwrites hand edits.
	Provisioned bool
}

func (c *Console) newUser(w http.ResponseWriter, r *http.Request, _ audit.Actor) {
	c.render(w, r, http.StatusOK, "console_user", web.Page{Title: "New user",
		Data: userPage{frame: newFrame("Users"), New: true, Form: userForm{Active: true}, CanInvite: c.Invitations != nil}})
}

func (c *Console) createUser(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	f, err := parseUserForm(r)
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	u := directory.User{Active: f.Active}
	f.apply(&u)
	created, err := c.Directory.CreateUser(r.Context(), actor, u)
	if fields, general, status, ok := formError(err, userFields); ok {
		c.render(w, r, status, "console_user", web.Page{Title: "New user", Error: general,
			Data: userPage{frame: newFrame("Users"), New: true, Form: f, Errors: fields, CanInvite: c.Invitations != nil}})
		return
	}
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	if r.PostFormValue("invite") == "on" && c.Invitations != nil {
		if err := c.Invitations.SendInvitation(r.Context(), actor, created.ID); err != nil {
			c.Log.Warn("invitation after create failed", "user_id", created.ID, "error", err.Error())
			redirect(w, r, userPath(created.ID), "user-created-invite-failed")
			return
		}
		redirect(w, r, userPath(created.ID), "user-created-invited")
		return
	}
	redirect(w, r, userPath(created.ID), "user-created")
}

func (c *Console) showUser(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	c.renderUser(w, r, actor, http.StatusOK, nil, nil, "")
}

// renderUser shows the user named by the path with its edit form (form, or
// the stored values when nil), errors and the action buttons.
func (c *Console) renderUser(w http.ResponseWriter, r *http.Request, actor audit.Actor, status int, form *userForm, fields map[string]string, errText string) {
	ctx := r.Context()
	u, err := c.Directory.GetUser(ctx, actor, r.PathValue("id"))
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	d := userPage{frame: newFrame("Users"), User: u, Form: formFromUser(u), Errors: fields,
		CanResetMFA: c.MFAResetter != nil, CanInvite: c.Invitations != nil, Provisioned: u.ManagedBy == directory.ManagedBySCIM}
	if form != nil {
		d.Form = *form
	}
	if d.Groups, _, err = c.Directory.ListGroups(ctx, actor, directory.GroupFilter{MemberID: u.ID, Limit: 1000}); err != nil {
		c.Fail(w, r, err)
		return
	}
	all, next, err := c.Directory.ListGroups(ctx, actor, directory.GroupFilter{Limit: 500})
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	in := map[string]bool{}
	for _, g := range d.Groups {
		in[g.ID] = true
	}
	for _, g := range all {
		if !in[g.ID] {
			d.Addable = append(d.Addable, g)
		}
	}
	d.MoreGroups = next != ""
	sessions, err := c.Sessions.List(ctx, u.ID)
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	d.Sessions = len(sessions)
	if d.LockedUntil, err = c.Auth.Locked(ctx, u); err != nil {
		c.Fail(w, r, err)
		return
	}
	if c.MFAStatus != nil {
		// Display only: a failure here must not hide the rest of the page.
		if d.Factors, err = c.MFAStatus.Factors(ctx, u.ID); err != nil {
			c.Log.Warn("mfa factors", "error", err.Error(), "request_id", httpx.RequestID(ctx))
		} else {
			d.FactorsKnown = true
		}
	}
	c.render(w, r, status, "console_user", web.Page{Title: web.DisplayName(u), Error: errText, Data: d})
}

func (c *Console) updateUser(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	f, err := parseUserForm(r)
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	u, err := c.Directory.UpdateUser(r.Context(), actor, r.PathValue("id"), f.Version, func(u *directory.User) error {
		f.apply(u)
		return nil
	})
	if fields, general, status, ok := formError(err, userFields); ok {
		c.renderUser(w, r, actor, status, &f, fields, general)
		return
	}
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, userPath(u.ID), "user-saved")
}

// actionFailed shows an action's refusal (validation or conflict) on the
// user's page; other errors get the error page.
func (c *Console) actionFailed(w http.ResponseWriter, r *http.Request, actor audit.Actor, err error) {
	var inv *errs.Invalid
	if errors.As(err, &inv) {
		reasons := make([]string, len(inv.Problems))
		for i, p := range inv.Problems {
			reasons[i] = p.Reason
		}
		c.renderUser(w, r, actor, http.StatusBadRequest, nil, nil, sentence(strings.Join(reasons, "; ")))
		return
	}
	if _, general, status, ok := formError(err, nil); ok {
		c.renderUser(w, r, actor, status, nil, nil, general)
		return
	}
	c.Fail(w, r, err)
}

func (c *Console) setActive(w http.ResponseWriter, r *http.Request, actor audit.Actor, active bool, done string) {
	u, err := c.Directory.UpdateUser(r.Context(), actor, r.PathValue("id"), 0, func(u *directory.User) error {
		u.Active = active
		return nil
	})
	if err != nil {
		c.actionFailed(w, r, actor, err)
		return
	}
	redirect(w, r, userPath(u.ID), done)
}

// disableUser disables the user; the directory ends their sessions in the
// same transaction.
func (c *Console) disableUser(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	c.setActive(w, r, actor, false, "user-disabled")
}

func (c *Console) enableUser(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	c.setActive(w, r, actor, true, "user-enabled")
}

type confirmPage struct {
	frame
	Kind, Name, Action, Cancel string
}

func (c *Console) confirmDeleteUser(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	u, err := c.Directory.GetUser(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "console_confirm", web.Page{Title: "Delete user", Data: confirmPage{frame: newFrame("Users"),
		Kind: "user", Name: u.UserName, Action: userPath(u.ID) + "/delete", Cancel: userPath(u.ID)}})
}

func (c *Console) deleteUser(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	if err := c.Directory.DeleteUser(r.Context(), actor, r.PathValue("id")); err != nil {
		c.actionFailed(w, r, actor, err)
		return
	}
	redirect(w, r, "/console/users", "user-deleted")
}

func (c *Console) addUserToGroup(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	group := r.PostFormValue("group")
	if group == "" {
		c.renderUser(w, r, actor, http.StatusBadRequest, nil, map[string]string{"group-select": "Choose a group."}, "Choose a group to add the user to.")
		return
	}
	_, err := c.Directory.AddMembers(r.Context(), actor, group, []string{r.PathValue("id")})
	if errors.Is(err, errs.ErrNotFound) {
		c.renderUser(w, r, actor, http.StatusBadRequest, nil, map[string]string{"group-select": "That group does not exist any more."}, "That group does not exist any more.")
		return
	}
	if err != nil {
		c.actionFailed(w, r, actor, err)
		return
	}
	redirect(w, r, userPath(r.PathValue("id")), "group-added")
}

func (c *Console) removeUserFromGroup(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	if _, err := c.Directory.RemoveMembers(r.Context(), actor, r.PathValue("group"), []string{r.PathValue("id")}); err != nil {
		c.actionFailed(w, r, actor, err)
		return
	}
	redirect(w, r, userPath(r.PathValue("id")), "group-removed")
}

func (c *Console) unlockUser(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	u, err := c.Directory.GetUser(r.Context(), actor, r.PathValue("id"))
	if err == nil {
		err = c.Auth.Unlock(r.Context(), actor, u)
	}
	if err != nil {
		c.actionFailed(w, r, actor, err)
		return
	}
	redirect(w, r, userPath(u.ID), "unlocked")
}

// userAction resolves the user in the path and runs an optional service's
// action on them; the route is a 404 when the service is not configured.
func (c *Console) userAction(w http.ResponseWriter, r *http.Request, actor audit.Actor, configured bool, done string,
	act func(u directory.User) error) {
	if !configured {
		c.Fail(w, r, errs.ErrNotFound)
		return
	}
	u, err := c.Directory.GetUser(r.Context(), actor, r.PathValue("id"))
	if err == nil {
		err = act(u)
	}
	if err != nil {
		c.actionFailed(w, r, actor, err)
		return
	}
	redirect(w, r, userPath(u.ID), done)
}

func (c *Console) resetMFA(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	c.userAction(w, r, actor, c.MFAResetter != nil, "mfa-reset", func(u directory.User) error {
		return c.MFAResetter.ResetUser(r.Context(), actor, u.ID)
	})
}

func (c *Console) forcePasswordReset(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	c.userAction(w, r, actor, c.Invitations != nil, "reset-sent", func(u directory.User) error {
		return c.Invitations.ForcePasswordReset(r.Context(), actor, u.ID)
	})
}

func (c *Console) sendInvitation(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	c.userAction(w, r, actor, c.Invitations != nil, "invite-sent", func(u directory.User) error {
		return c.Invitations.SendInvitation(r.Context(), actor, u.ID)
	})
}

// endSessions signs the user out everywhere. The session service leaves
// authorisation to its callers; c.admin on the route is the check.
func (c *Console) endSessions(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	u, err := c.Directory.GetUser(r.Context(), actor, r.PathValue("id"))
	if err == nil {
		_, err = c.Sessions.EndAllForUser(r.Context(), actor, u.ID, "ended by an administrator")
	}
	if err != nil {
		c.actionFailed(w, r, actor, err)
		return
	}
	if u.ID == actor.ID {
		// The administrator just ended their own session too.
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	redirect(w, r, userPath(u.ID), "sessions-ended")
}
