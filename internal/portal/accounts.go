package portal

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/httpx"
	"github.com/idcenter/idcenter/internal/saml"
	"github.com/idcenter/idcenter/internal/web"
)

// Roles lists the AWS roles (account × permission set) a user holds now,
// computed from their assignments and current group memberships
// (cloud.Service.RolesFor).
type Roles interface {
	RolesFor(ctx context.Context, userID string) ([]cloud.Role, error)
}

// AccountsPrefix is the path of the portal's Accounts view; a role's pages
// are under AccountsPrefix/{account id}/{permission set name}/.
const AccountsPrefix = "/start/accounts"

func (p *Portal) registerAccounts(mux *http.ServeMux) {
	mux.Handle("GET "+AccountsPrefix, p.signedIn(p.accounts))
	mux.Handle("GET "+AccountsPrefix+"/{account}/{permissionSet}/console", p.signedIn(p.consoleSignIn))
	mux.Handle("POST "+AccountsPrefix+"/{account}/{permissionSet}/console", p.signedIn(p.consoleSignIn)) // CSRF-checked
	mux.Handle("GET "+AccountsPrefix+"/{account}/{permissionSet}/keys", p.signedIn(p.keysPage))
	mux.Handle("POST "+AccountsPrefix+"/{account}/{permissionSet}/keys", p.signedIn(p.accessKeys)) // CSRF-checked
}

// rolePath is the base path of a role's pages.
func rolePath(r cloud.Role) string {
	return AccountsPrefix + "/" + url.PathEscape(r.Account.ID) + "/" + url.PathEscape(r.PermissionSet.Name)
}

// userRoles returns the signed-in user's roles (none without Roles).
func (p *Portal) userRoles(r *http.Request) ([]cloud.Role, error) {
	if p.Cloud == nil {
		return nil, nil
	}
	return p.Cloud.RolesFor(r.Context(), web.AuthFrom(r.Context()).User.ID)
}

// --- the Accounts view ---

type accountCard struct {
	Account cloud.Account
	Roles   []roleLinks
}

type roleLinks struct {
	Role          cloud.Role
	Console, Keys string
}

type accountsData struct {
	Query    string
	Accounts []accountCard
	// Total is how many roles the user holds, before the search.
	Total int
	// Federation: console sign-in and access keys are available.
	Federation bool
}

// filterRoles keeps the roles whose account (name, id, description) or
// permission set (name, description, role name) contains q, ignoring case.
func filterRoles(roles []cloud.Role, q string) []cloud.Role {
	if q == "" {
		return roles
	}
	lq := strings.ToLower(q)
	has := func(ss ...string) bool {
		for _, s := range ss {
			if strings.Contains(strings.ToLower(s), lq) {
				return true
			}
		}
		return false
	}
	var out []cloud.Role
	for _, r := range roles {
		if has(r.Account.Name, r.Account.ID, r.Account.Description, r.PermissionSet.Name, r.PermissionSet.Description, r.RoleName) {
			out = append(out, r)
		}
	}
	return out
}

// groupByAccount groups roles (ordered by account name, then permission
// set) into one card per account.
func groupByAccount(roles []cloud.Role) []accountCard {
	var out []accountCard
	for _, r := range roles {
		if n := len(out); n == 0 || out[n-1].Account.ID != r.Account.ID {
			out = append(out, accountCard{Account: r.Account})
		}
		base := rolePath(r)
		out[len(out)-1].Roles = append(out[len(out)-1].Roles, roleLinks{Role: r, Console: base + "/console", Keys: base + "/keys"})
	}
	return out
}

func (p *Portal) accounts(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > 256 {
		q = strings.ToValidUTF8(q[:256], "")
	}
	roles, err := p.userRoles(r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	sort.SliceStable(roles, func(i, j int) bool {
		if roles[i].Account.Name != roles[j].Account.Name {
			return roles[i].Account.Name < roles[j].Account.Name
		}
		return roles[i].Account.ID < roles[j].Account.ID
	})
	d := accountsData{Query: q, Total: len(roles), Accounts: groupByAccount(filterRoles(roles, q)), Federation: p.Federation != nil}
	p.Render.Render(w, r, http.StatusOK, "start_accounts", web.Page{Title: "AWS accounts", Nav: "start", Data: d})
}

// --- the role the request names ---

// heldRole returns the role named by the path ({account}: account id or
// name; {permissionSet}: permission set name) if the signed-in user holds
// it now. Otherwise it has answered: 403 with an audit event, or an error.
func (p *Portal) heldRole(w http.ResponseWriter, r *http.Request, refused string) (cloud.Role, bool) {
	if p.Federation == nil {
		p.fail(w, r, errs.ErrNotFound)
		return cloud.Role{}, false
	}
	acct, ps := r.PathValue("account"), r.PathValue("permissionSet")
	roles, err := p.userRoles(r)
	if err != nil {
		p.fail(w, r, err)
		return cloud.Role{}, false
	}
	// By account id first, then by name, as cloud.Service resolves an
	// account: an account may be *named* like another's 12-digit id, and the
	// links name accounts by id, so a single pass (roles are in account name
	// order) could pick the other account's role.
	for _, byName := range []bool{false, true} {
		for _, role := range roles {
			match := role.Account.ID == acct
			if byName {
				match = cloud.NormalizeName(role.Account.Name) == cloud.NormalizeName(acct)
			}
			if match && cloud.NormalizeName(role.PermissionSet.Name) == cloud.NormalizeName(ps) {
				return role, true
			}
		}
	}
	target := cloud.Account{Name: acct}
	if len(acct) == 12 && strings.Trim(acct, "0123456789") == "" {
		target = cloud.Account{ID: acct}
	}
	p.audit(r, refused, target, map[string]any{"reason": "role not held", "permissionSet": ps})
	p.Render.Render(w, r, http.StatusForbidden, "message", web.Page{Title: "No access to this role",
		Data: msg("You do not hold the role "+ps+" in AWS account "+acct+". Your access may have been removed; the Accounts page lists the roles you hold now.",
			AccountsPrefix, "Go to your AWS accounts")})
	return cloud.Role{}, false
}

// audit appends an event about an AWS account; a failure to append is
// logged (the request has happened either way).
func (p *Portal) audit(r *http.Request, action string, acct cloud.Account, summary map[string]any) {
	if p.Audit == nil {
		return
	}
	u := web.AuthFrom(r.Context()).User
	actor := audit.Actor{Type: audit.ActorUser, ID: u.ID, Name: u.UserName, Role: u.Role}
	if err := p.Audit.AppendAudit(r.Context(), audit.New(r.Context(), actor, action, "account", acct.ID, acct.Name, summary)); err != nil {
		p.Log.Error("audit append failed", "action", action, "error", err.Error(), "request_id", httpx.RequestID(r.Context()))
	}
}

func roleSummary(role cloud.Role) map[string]any {
	return map[string]any{"permissionSet": role.PermissionSet.Name, "role": role.RoleARN}
}

// federationFailure words an error of the Federation for the user and
// audits it. It reports false for errors that are not the Federation's
// (the store), which p.fail answers.
func (p *Portal) federationFailure(r *http.Request, action string, role cloud.Role, err error) (int, string, bool) {
	if errors.Is(err, errs.ErrUnavailable) || errors.Is(err, errs.ErrNotFound) {
		return 0, "", false
	}
	where := "the role " + role.PermissionSet.Name + " in AWS account " + role.Account.Name + " (" + role.Account.ID + ")"
	var status int
	var reason, text string
	switch {
	case errors.Is(err, cloud.ErrRoleNotHeld): // removed between our check and the Federation's
		status, reason = http.StatusForbidden, "role not held"
		text = "You do not hold " + where + " any more. The Accounts page lists the roles you hold now."
	case errors.Is(err, cloud.ErrSTSUnavailable):
		status, reason = http.StatusServiceUnavailable, "sts unavailable"
		text = "AWS STS cannot be reached right now, so no credentials were issued for " + where + ". Try again in a moment."
	case errors.Is(err, cloud.ErrAssertionExpired):
		status, reason = http.StatusBadGateway, "assertion expired"
		text = "AWS refused the sign-in for " + where + " because idcenter's SAML assertion had expired when it arrived. " +
			"Try again; if it keeps happening, ask your administrator to check the clocks of idcenter's servers."
	case errors.Is(err, cloud.ErrRoleNotInAssertion):
		status, reason = http.StatusBadGateway, "role not in assertion"
		text = "AWS did not let you use " + where + ": the role is not in idcenter's SAML assertion, or its trust policy does not allow idcenter. " +
			"Ask your administrator to check that the role exists in this account as idcenter renders it."
	case errors.Is(err, cloud.ErrAssertionRejected):
		status, reason = http.StatusBadGateway, "assertion rejected"
		text = "AWS refused idcenter's sign-in for " + where + ". The IAM SAML provider in this account may not hold idcenter's current metadata; ask your administrator to check it."
	case errors.Is(err, cloud.ErrRoleSessionName):
		status, reason = http.StatusBadRequest, "role session name"
		text = "AWS needs a session name for you (your email address, by default) of 2 to 64 letters, digits and +=,.@_- characters, and yours does not fit. Ask your administrator to check your email address."
	case errors.Is(err, cloud.ErrSTSRefused):
		status, reason = http.StatusBadGateway, "sts refused"
		text = "AWS STS refused to issue credentials for " + where + ". Try again later; if it keeps happening, quote request " + httpx.RequestID(r.Context()) + " to your administrator."
	default:
		status, reason = http.StatusBadGateway, "error"
		text = "idcenter could not sign you in to " + where + ". Try again; if it keeps happening, quote request " + httpx.RequestID(r.Context()) + "."
	}
	p.Log.Warn("aws federation failed", "action", action, "account", role.Account.ID, "permission_set", role.PermissionSet.Name,
		"error", err.Error(), "request_id", httpx.RequestID(r.Context()))
	s := roleSummary(role)
	s["reason"] = reason
	p.audit(r, action, role.Account, s)
	return status, text, true
}

// --- console sign-in ---

// AllowedDestination reports whether a shortcut's destination may be the
// RelayState of a console sign-in: an https URL on a host under
// aws.amazon.com or amazonaws.com (the AWS console's own hosts), without
// user information or another port.
func AllowedDestination(s string) bool {
	if s == "" || len(s) > saml.MaxRelayStateBytes {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Opaque != "" || (u.Port() != "" && u.Port() != "443") {
		return false
	}
	if strings.ContainsAny(s, "\\ \"'<>`") {
		return false
	}
	host := strings.ToLower(u.Hostname())
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	// Console pages live under aws.amazon.com (and the GovCloud and China
	// consoles); *.amazonaws.com also holds customer-controlled hosts (EC2
	// public names, S3 websites, load balancers), so it is not allowed.
	for _, suffix := range []string{".aws.amazon.com", ".amazonaws-us-gov.com", ".amazonaws.cn"} {
		if label, ok := strings.CutSuffix(host, suffix); ok && label != "" && !strings.HasPrefix(label, ".") && !strings.HasSuffix(label, ".") {
			return true
		}
	}
	return false
}

// directNavigation reports whether a GET is known to come from the user or
// this origin's own pages (Fetch Metadata: same-origin, or none for the
// address bar and bookmarks). Anything else gets a confirmation page, as
// the IdP's start URL does: an unsolicited assertion has no login-CSRF
// protection at AWS.
func directNavigation(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	}
	return false
}

type consoleConfirm struct{ AppName, Action string }

// consoleSignIn answers GET and POST {role}/console: an auto-POST of the
// SAML response to the AWS sign-in endpoint. destination (a shortcut's
// console URL) replaces the permission set's relay state. A GET that is not
// a direct navigation shows a confirmation page whose CSRF-protected POST
// continues.
func (p *Portal) consoleSignIn(w http.ResponseWriter, r *http.Request) {
	role, ok := p.heldRole(w, r, "aws.console.refused")
	if !ok {
		return
	}
	dest := r.URL.Query().Get("destination")
	if dest != "" && !AllowedDestination(dest) {
		p.audit(r, "aws.console.refused", role.Account, map[string]any{"reason": "destination not allowed",
			"permissionSet": role.PermissionSet.Name, "destination": truncate(dest, 256)})
		p.Render.Render(w, r, http.StatusBadRequest, "message", web.Page{Title: "Destination not allowed",
			Data: msg("This link would open a page outside the AWS console. Shortcut destinations must be https addresses under aws.amazon.com or amazonaws.com.",
				AccountsPrefix, "Go to your AWS accounts")})
		return
	}
	if r.Method == http.MethodGet && !directNavigation(r) {
		action := r.URL.Path
		if dest != "" {
			action += "?destination=" + url.QueryEscape(dest)
		}
		p.Render.Render(w, r, http.StatusOK, "saml_start", web.Page{Title: "Continue to the AWS console",
			Data: consoleConfirm{AppName: "the AWS console as " + role.PermissionSet.Name + " in " + role.Account.Name, Action: action}})
		return
	}
	if dest != "" {
		role.PermissionSet.RelayState = dest
	}
	si, err := p.Federation.ConsoleSignIn(r.Context(), web.AuthFrom(r.Context()).User.ID, role)
	if err == nil && dest != "" {
		si.RelayState = dest
	}
	var page []byte
	if err == nil {
		var xml []byte
		if xml, err = base64.StdEncoding.DecodeString(si.SAMLResponse); err == nil {
			page, err = saml.PostForm{Action: si.URL, Param: "SAMLResponse", Message: xml, RelayState: si.RelayState, ScriptSrc: p.PostScript}.HTML()
		}
	}
	if err != nil {
		if status, text, ok := p.federationFailure(r, "aws.console.failed", role, err); ok {
			p.Render.Render(w, r, status, "message", web.Page{Title: "Console sign-in failed", Data: msg(text, AccountsPrefix, "Go to your AWS accounts")})
			return
		}
		p.fail(w, r, err)
		return
	}
	s := roleSummary(role)
	if si.RelayState != "" {
		s["relayState"] = truncate(si.RelayState, 256)
	}
	p.audit(r, "aws.console.signin", role.Account, s)
	u, _ := url.Parse(si.URL) // PostForm checked it
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; form-action "+u.Scheme+"://"+u.Host+
		"; frame-ancestors 'none'; base-uri 'none'")
	hdr.Set("Cache-Control", "no-cache, no-store")
	hdr.Set("Pragma", "no-cache")
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(page)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// --- access keys ---

type keysData struct {
	Role   cloud.Role
	Action string
	// Creds is set once credentials were issued; the rest is built from it.
	Creds                       *cloud.Credentials
	Profile, Region             string
	Unix, PowerShell, Cmd, File string
	ExpiresIn                   string
}

// keysPage shows a role's access-keys page with the button that obtains
// them (a GET never mints credentials).
func (p *Portal) keysPage(w http.ResponseWriter, r *http.Request) {
	role, ok := p.heldRole(w, r, "aws.credentials.refused")
	if !ok {
		return
	}
	p.Render.Render(w, r, http.StatusOK, "start_keys", web.Page{Title: "Access keys", Nav: "start",
		Data: keysData{Role: role, Action: rolePath(role) + "/keys"}})
}

// accessKeys obtains temporary credentials for a role (AssumeRoleWithSAML
// through the Federation) and shows them, once, in every form people paste.
func (p *Portal) accessKeys(w http.ResponseWriter, r *http.Request) {
	role, ok := p.heldRole(w, r, "aws.credentials.refused")
	if !ok {
		return
	}
	d := keysData{Role: role, Action: rolePath(role) + "/keys"}
	creds, err := p.Federation.AccessKeys(r.Context(), web.AuthFrom(r.Context()).User.ID, role)
	if err != nil {
		status, text, ok := p.federationFailure(r, "aws.credentials.failed", role, err)
		if !ok {
			p.fail(w, r, err)
			return
		}
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "30")
		}
		p.Render.Render(w, r, status, "start_keys", web.Page{Title: "Access keys", Nav: "start", Error: text, Data: d})
		return
	}
	s := roleSummary(role)
	s["accessKeyId"] = creds.AccessKeyID // an identifier, not a secret: CloudTrail shows it
	s["expires"] = creds.Expiration.UTC().Format(time.RFC3339)
	p.audit(r, "aws.credentials.issue", role.Account, s)
	d.fill(creds, time.Now())
	p.Render.Render(w, r, http.StatusOK, "start_keys", web.Page{Title: "Access keys", Nav: "start", Data: d})
}

// ProfileName is the credentials-file profile of a role: <account id>_<permission set>.
func ProfileName(role cloud.Role) string { return role.Account.ID + "_" + role.PermissionSet.Name }

// fill builds the credentials' text forms.
func (d *keysData) fill(c cloud.Credentials, now time.Time) {
	d.Creds = &c
	d.Profile = ProfileName(d.Role)
	d.Region = c.Region
	if d.Region == "" {
		d.Region = d.Role.Account.DefaultRegion
	}
	vars := [][2]string{{"AWS_ACCESS_KEY_ID", c.AccessKeyID}, {"AWS_SECRET_ACCESS_KEY", c.SecretAccessKey}, {"AWS_SESSION_TOKEN", c.SessionToken}}
	if d.Region != "" {
		vars = append(vars, [2]string{"AWS_REGION", d.Region}, [2]string{"AWS_DEFAULT_REGION", d.Region})
	}
	var unix, ps, cmd strings.Builder
	for _, v := range vars {
		unix.WriteString("export " + v[0] + "=" + shellQuote(v[1]) + "\n")
		ps.WriteString("$Env:" + v[0] + "=" + powershellQuote(v[1]) + "\n")
		cmd.WriteString(cmdSet(v[0], v[1]) + "\n")
	}
	d.Unix, d.PowerShell, d.Cmd = unix.String(), ps.String(), cmd.String()
	file := "[" + d.Profile + "]\naws_access_key_id=" + c.AccessKeyID + "\naws_secret_access_key=" + c.SecretAccessKey +
		"\naws_session_token=" + c.SessionToken + "\n"
	if d.Region != "" {
		file += "region=" + d.Region + "\n"
	}
	d.File = file
	if left := c.Expiration.Sub(now).Round(time.Minute); left > 0 {
		h, m := int(left.Hours()), int(left.Minutes())%60
		switch {
		case h == 0:
			d.ExpiresIn = itoa(m) + " min"
		case m == 0:
			d.ExpiresIn = itoa(h) + " h"
		default:
			d.ExpiresIn = itoa(h) + " h " + itoa(m) + " min"
		}
	}
}

// safeValue reports whether s needs no quoting in any shell: the base64
// and identifier characters STS uses.
func safeValue(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("+/=._-", c)) {
			return false
		}
	}
	return true
}

// shellQuote quotes for POSIX shells: "value" as AWS shows it, or a
// single-quoted literal when the value holds anything unusual.
func shellQuote(s string) string {
	if safeValue(s) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// powershellQuote quotes for PowerShell the same way.
func powershellQuote(s string) string {
	if safeValue(s) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// cmdSet is the cmd.exe form: SET NAME=value, or SET "NAME=value" when the
// value holds anything unusual.
func cmdSet(name, value string) string {
	if safeValue(value) {
		return "SET " + name + "=" + value
	}
	return `SET "` + name + "=" + value + `"`
}
