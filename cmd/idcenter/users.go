package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/idcenter/idcenter/client"
)

// UsersCmd groups the user commands.
type UsersCmd struct {
	List          UsersListCmd          `cmd:"" aliases:"ls" help:"List users."`
	Get           UsersGetCmd           `cmd:"" help:"Show a user."`
	Create        UsersCreateCmd        `cmd:"" help:"Create a user."`
	Update        UsersUpdateCmd        `cmd:"" help:"Change a user; only the attributes given as flags change."`
	Delete        UsersDeleteCmd        `cmd:"" aliases:"rm" help:"Delete a user and their group memberships."`
	Disable       UsersDisableCmd       `cmd:"" help:"Disable a user: they can no longer sign in."`
	Enable        UsersEnableCmd        `cmd:"" help:"Enable a disabled user."`
	SetPassword   UsersSetPasswordCmd   `cmd:"" name:"set-password" help:"Set a user's password, read from standard input."`
	Invite        UsersInviteCmd        `cmd:"" help:"Email the user a single-use link to set a password."`
	ResetPassword UsersResetPasswordCmd `cmd:"" name:"reset-password" help:"Remove the user's password, sign them out and email a reset link."`
	Unlock        UsersUnlockCmd        `cmd:"" help:"Clear a lockout after failed sign-ins."`
	SignOut       UsersSignOutCmd       `cmd:"" name:"sign-out" help:"End every session of the user."`
}

// UsersListCmd lists users.
type UsersListCmd struct {
	Prefix string  `help:"Only userNames starting with this prefix."`
	Email  string  `help:"Only the user with this email address." placeholder:"EMAIL"`
	Group  string  `help:"Only members of this group (name or id)." placeholder:"GROUP"`
	Active *string `enum:"true,false" help:"Only active (true) or disabled (false) users." placeholder:"true|false"`
	pageFlags
}

// pageFlags are the paging flags of every list command.
type pageFlags struct {
	Limit  int    `help:"Page size (the server's default when 0)." placeholder:"N"`
	Cursor string `help:"Start at this page (printed by the previous page)."`
	All    bool   `help:"Follow pages until the end."`
}

// Run lists users.
func (c *UsersListCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	opts := client.UserListOptions{Prefix: c.Prefix, Email: c.Email, Group: c.Group, Cursor: c.Cursor, Limit: c.Limit}
	if c.Active != nil {
		active := *c.Active == "true"
		opts.Active = &active
	}
	ctx := context.Background()
	var users []client.User
	var next string
	if c.All {
		users, err = api.AllUsers(ctx, opts)
	} else {
		users, next, err = api.ListUsers(ctx, opts)
	}
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		err = g.printJSON(nonNil(users))
	} else {
		t := newTable(g.Stdout, "USERNAME", "DISPLAY NAME", "EMAIL", "ACTIVE", "ROLE", "ID")
		for _, u := range users {
			t.row(u.UserName, displayName(u), u.PrimaryEmail(), yesNo(u.Active), u.Role, u.ID)
		}
		err = t.flush()
	}
	g.moreHint(next)
	return err
}

// UsersGetCmd shows one user.
type UsersGetCmd struct {
	User string `arg:"" help:"userName or id."`
}

// Run shows the user.
func (c *UsersGetCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	u, err := api.GetUser(context.Background(), c.User)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(u)
	}
	return printUser(g, u)
}

// displayName is the user's display name, else their formatted or given
// and family name.
func displayName(u client.User) string {
	switch {
	case u.DisplayName != "":
		return u.DisplayName
	case u.Name.Formatted != "":
		return u.Name.Formatted
	}
	return strings.TrimSpace(u.Name.GivenName + " " + u.Name.FamilyName)
}

func printUser(g *Globals, u client.User) error {
	d := newDetails(g.Stdout)
	d.add("User name", u.UserName)
	d.add("ID", u.ID)
	d.add("Display name", u.DisplayName)
	full := strings.TrimSpace(strings.Join([]string{u.Name.HonorificPrefix, u.Name.GivenName, u.Name.MiddleName, u.Name.FamilyName, u.Name.HonorificSuffix}, " "))
	if u.Name.Formatted != "" {
		full = u.Name.Formatted
	}
	d.add("Name", strings.Join(strings.Fields(full), " "))
	d.add("Nickname", u.NickName)
	var emails []string
	for _, e := range u.Emails {
		s := e.Value
		if e.Primary {
			s += " (primary)"
		}
		emails = append(emails, s)
	}
	d.add("Emails", strings.Join(emails, ", "))
	var phones []string
	for _, p := range u.PhoneNumbers {
		phones = append(phones, p.Value)
	}
	d.add("Phone numbers", strings.Join(phones, ", "))
	d.add("Active", yesNo(u.Active))
	d.add("Role", u.Role)
	d.add("Title", u.Title)
	d.add("User type", u.UserType)
	d.add("Department", u.Enterprise.Department)
	d.add("Division", u.Enterprise.Division)
	d.add("Organization", u.Enterprise.Organization)
	d.add("Cost center", u.Enterprise.CostCenter)
	d.add("Employee number", u.Enterprise.EmployeeNumber)
	manager := u.Enterprise.ManagerName
	if u.Enterprise.ManagerID != "" {
		manager = strings.TrimSpace(manager + " (" + u.Enterprise.ManagerID + ")")
	}
	d.add("Manager", manager)
	d.add("Locale", u.Locale)
	d.add("Timezone", u.Timezone)
	d.add("Preferred language", u.PreferredLanguage)
	d.add("External ID", u.ExternalID)
	d.add("Managed by", u.ManagedBy)
	d.add("Created", fmtTime(u.Created))
	d.add("Last modified", fmtTime(u.LastModified))
	d.add("Version", fmt.Sprint(u.Version))
	return d.flush()
}

// UserAttrs are the attribute flags shared by users create and users update.
// Only the flags given are sent; an empty value ("") clears the attribute.
type UserAttrs struct {
	GivenName         *string `name:"given-name" help:"Given (first) name." placeholder:"NAME"`
	FamilyName        *string `name:"family-name" help:"Family (last) name." placeholder:"NAME"`
	DisplayName       *string `name:"display-name" help:"Name shown in apps and lists." placeholder:"NAME"`
	NickName          *string `name:"nick-name" help:"Casual name." placeholder:"NAME"`
	Title             *string `help:"Job title."`
	UserType          *string `name:"user-type" help:"Kind of user, e.g. Employee or Contractor." placeholder:"TYPE"`
	Phone             *string `help:"Phone number (replaces all phone numbers)." placeholder:"NUMBER"`
	Locale            *string `help:"Locale, e.g. en-US."`
	Timezone          *string `help:"Time zone, e.g. Europe/Paris." placeholder:"TZ"`
	PreferredLanguage *string `name:"preferred-language" help:"Preferred language, e.g. en." placeholder:"LANG"`
	ExternalID        *string `name:"external-id" help:"Identifier in an external system (e.g. HR)." placeholder:"ID"`
	EmployeeNumber    *string `name:"employee-number" help:"Employee number." placeholder:"N"`
	CostCenter        *string `name:"cost-center" help:"Cost center."`
	Organization      *string `help:"Organization."`
	Division          *string `help:"Division."`
	Department        *string `help:"Department."`
	Manager           *string `help:"Manager's userName or id." placeholder:"USER"`
	Role              *string `enum:"admin,auditor,none" help:"Administrative role: admin, auditor or none." placeholder:"admin|auditor|none"`
}

// addTo adds the attributes given as flags to a user object or merge patch.
func (a *UserAttrs) addTo(m map[string]any) {
	set := func(dst map[string]any, key string, v *string) {
		if v != nil {
			dst[key] = *v
		}
	}
	name := map[string]any{}
	set(name, "givenName", a.GivenName)
	set(name, "familyName", a.FamilyName)
	if len(name) > 0 {
		m["name"] = name
	}
	set(m, "displayName", a.DisplayName)
	set(m, "nickName", a.NickName)
	set(m, "title", a.Title)
	set(m, "userType", a.UserType)
	set(m, "locale", a.Locale)
	set(m, "timezone", a.Timezone)
	set(m, "preferredLanguage", a.PreferredLanguage)
	set(m, "externalId", a.ExternalID)
	if a.Phone != nil {
		m["phoneNumbers"] = primaryValue(*a.Phone)
	}
	ent := map[string]any{}
	set(ent, "employeeNumber", a.EmployeeNumber)
	set(ent, "costCenter", a.CostCenter)
	set(ent, "organization", a.Organization)
	set(ent, "division", a.Division)
	set(ent, "department", a.Department)
	set(ent, "managerId", a.Manager)
	if len(ent) > 0 {
		m["enterprise"] = ent
	}
	if a.Role != nil {
		role := *a.Role
		if role == "none" {
			role = ""
		}
		m["role"] = role
	}
}

// primaryValue is a multi-valued attribute holding just v as primary, or no
// values when v is empty.
func primaryValue(v string) []map[string]any {
	if v == "" {
		return []map[string]any{}
	}
	return []map[string]any{{"value": v, "primary": true}}
}

// UsersCreateCmd creates a user.
type UsersCreateCmd struct {
	UserName string `arg:"" name:"name" help:"userName of the new user (what they sign in with)."`
	Email    string `required:"" help:"Primary email address." placeholder:"EMAIL"`
	Disabled bool   `help:"Create the user disabled (they cannot sign in until enabled)."`
	Invite   bool   `help:"Email the new user a single-use link to set a password."`
	UserAttrs
}

// Run creates the user.
func (c *UsersCreateCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	m := map[string]any{"userName": c.UserName, "active": !c.Disabled, "emails": primaryValue(c.Email)}
	c.UserAttrs.addTo(m)
	var u client.User
	if err := roundTrip(m, &u); err != nil {
		return err
	}
	u, err = api.CreateUser(context.Background(), u)
	if err != nil {
		return err
	}
	if c.Invite {
		if _, err := api.SendInvitation(context.Background(), u.ID); err != nil {
			return fmt.Errorf("created user %s, but the invitation failed: %w", u.UserName, err)
		}
	}
	if g.jsonOutput() {
		return g.printJSON(u)
	}
	g.printf("Created user %s (id %s).\n", oneLine(u.UserName), u.ID)
	if c.Invite {
		g.printf("Invitation sent to %s.\n", oneLine(u.PrimaryEmail()))
	}
	return nil
}

// roundTrip decodes the JSON encoding of v into out.
func roundTrip(v, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// UsersUpdateCmd changes a user with a merge patch of the flags given.
type UsersUpdateCmd struct {
	User      string  `arg:"" help:"userName or id."`
	UserName  *string `name:"user-name" help:"New userName (renames the user)." placeholder:"NEW"`
	Email     *string `help:"Primary email address (replaces all emails)." placeholder:"EMAIL"`
	Disabled  *bool   `help:"Disable the user (--disabled) or enable them (--disabled=false)."`
	IfVersion int64   `name:"if-version" help:"Only update if the user is still at this version (see 'users get'); otherwise fail with 409." placeholder:"N"`
	UserAttrs
}

// Run updates the user.
func (c *UsersUpdateCmd) Run(g *Globals) error {
	patch := map[string]any{}
	if c.UserName != nil {
		patch["userName"] = *c.UserName
	}
	if c.Email != nil {
		patch["emails"] = primaryValue(*c.Email)
	}
	if c.Disabled != nil {
		patch["active"] = !*c.Disabled
	}
	c.UserAttrs.addTo(patch)
	if len(patch) == 0 {
		return errors.New("nothing to update: give at least one attribute flag (see 'idcenter users update --help')")
	}
	return patchUser(g, c.User, patch, c.IfVersion, "Updated")
}

func patchUser(g *Globals, key string, patch map[string]any, ifVersion int64, verb string) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	u, err := api.UpdateUser(context.Background(), key, patch, ifVersion)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(u)
	}
	g.printf("%s user %s (version %d).\n", verb, oneLine(u.UserName), u.Version)
	return nil
}

// UsersDisableCmd disables a user.
type UsersDisableCmd struct {
	User string `arg:"" help:"userName or id."`
}

// Run disables the user.
func (c *UsersDisableCmd) Run(g *Globals) error {
	return patchUser(g, c.User, map[string]any{"active": false}, 0, "Disabled")
}

// UsersEnableCmd enables a user.
type UsersEnableCmd struct {
	User string `arg:"" help:"userName or id."`
}

// Run enables the user.
func (c *UsersEnableCmd) Run(g *Globals) error {
	return patchUser(g, c.User, map[string]any{"active": true}, 0, "Enabled")
}

// UsersDeleteCmd deletes a user.
type UsersDeleteCmd struct {
	User string `arg:"" help:"userName or id."`
}

// Run deletes the user.
func (c *UsersDeleteCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	if err := api.DeleteUser(context.Background(), c.User); err != nil {
		return err
	}
	if !g.jsonOutput() {
		g.printf("Deleted user %s.\n", oneLine(c.User))
	}
	return nil
}

// UsersSetPasswordCmd sets a password read from standard input, so it never
// appears in the command line or the shell history.
type UsersSetPasswordCmd struct {
	User          string `arg:"" help:"userName or id."`
	PasswordStdin bool   `name:"password-stdin" help:"Read the password from standard input (required)."`
}

// maxPasswordBytes bounds what is read from stdin.
const maxPasswordBytes = 4096

// Run sets the password.
func (c *UsersSetPasswordCmd) Run(g *Globals) error {
	if !c.PasswordStdin {
		return errors.New("the password is read from standard input: pass --password-stdin (e.g. 'idcenter users set-password alice --password-stdin < file'); it is never taken as an argument")
	}
	pw, err := readSecret(g, "Password")
	if err != nil {
		return err
	}
	api, err := g.api()
	if err != nil {
		return err
	}
	if err := api.SetPassword(context.Background(), c.User, pw); err != nil {
		return err
	}
	if !g.jsonOutput() {
		g.printf("Set the password of %s.\n", oneLine(c.User))
	}
	return nil
}

// readSecret reads one secret from stdin: the whole input without one
// trailing newline. On a terminal it prompts on stderr and reads one line
// (the input is echoed; pipe it in to avoid that).
func readSecret(g *Globals, what string) (string, error) {
	var s string
	if isTerminal(g.Stdin) {
		g.notef("%s (input is shown; end with Enter): ", what)
		line, err := bufio.NewReader(io.LimitReader(g.Stdin, maxPasswordBytes)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		s = line
	} else {
		b, err := io.ReadAll(io.LimitReader(g.Stdin, maxPasswordBytes+1))
		if err != nil {
			return "", fmt.Errorf("reading standard input: %w", err)
		}
		if len(b) > maxPasswordBytes {
			return "", fmt.Errorf("%s on standard input is longer than %d bytes", strings.ToLower(what), maxPasswordBytes)
		}
		s = string(b)
	}
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\r")
	switch {
	case s == "":
		return "", fmt.Errorf("no %s on standard input", strings.ToLower(what))
	case strings.ContainsAny(s, "\r\n"):
		return "", fmt.Errorf("%s on standard input must be a single line", strings.ToLower(what))
	}
	return s, nil
}

// isTerminal reports whether r is an interactive terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
