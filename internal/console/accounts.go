package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/httpx"
	"github.com/idcenter/idcenter/internal/iac"
	"github.com/idcenter/idcenter/internal/web"
)

// The AWS account pages: the list, create, edit, delete, and each account's
// assignments (user or group × permission set). They call cloud.Service,
// like the admin API.

const accountsNav = "AWS accounts"

func accountPath(id string) string { return "/console/accounts/" + url.PathEscape(id) }

// cloudReady answers 404 when the console has no cloud service.
func (c *Console) cloudReady(w http.ResponseWriter, r *http.Request) bool {
	if c.Cloud == nil {
		c.Fail(w, r, errs.ErrNotFound)
		return false
	}
	return true
}

type accountRow struct {
	cloud.Account
	Assignments int
}

type accountsPage struct {
	frame
	Query    string
	Accounts []accountRow
}

func (c *Console) listAccounts(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	if !c.cloudReady(w, r) {
		return
	}
	d := accountsPage{frame: newFrame(accountsNav), Query: query(r, "q")}
	list, err := c.Cloud.ListAccounts(r.Context(), actor)
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	as, err := c.Cloud.ListAssignments(r.Context(), actor, "")
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	count := map[string]int{}
	for _, a := range as {
		count[a.AccountID]++
	}
	lq := strings.ToLower(d.Query)
	for _, a := range list {
		if lq == "" || strings.Contains(strings.ToLower(a.Name), lq) || strings.Contains(a.ID, lq) {
			d.Accounts = append(d.Accounts, accountRow{Account: a, Assignments: count[a.ID]})
		}
	}
	c.render(w, r, http.StatusOK, "console_accounts", web.Page{Title: "AWS accounts", Data: d})
}

// accountForm is what the account create and edit forms post.
type accountForm struct {
	ID, Name, Description, SAMLProvider, DefaultRegion, STSRegion, STSEndpoint, SignInURL, AppID string
	Version                                                                                      int64
}

var accountFields = map[string]field{
	"id":            {"account-id", "Account ID"},
	"name":          {"name", "Name"},
	"description":   {"description", "Description"},
	"samlProvider":  {"saml-provider", "SAML provider name"},
	"defaultRegion": {"default-region", "Default region"},
	"stsRegion":     {"sts-region", "STS region"},
	"stsEndpoint":   {"sts-endpoint", "STS endpoint"},
	"signInUrl":     {"sign-in-url", "Sign-in URL"},
	"appId":         {"app-id", "Signing application"},
}

func parseAccountForm(r *http.Request) (accountForm, error) {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := accountForm{ID: v("id"), Name: v("name"), Description: v("description"), SAMLProvider: v("samlProvider"),
		DefaultRegion: v("defaultRegion"), STSRegion: v("stsRegion"), STSEndpoint: v("stsEndpoint"), SignInURL: v("signInUrl"), AppID: v("appId")}
	if s := r.PostFormValue("version"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return f, httpx.Badf("the form's version field is not valid")
		}
		f.Version = n
	}
	return f, nil
}

func (f accountForm) apply(a *cloud.Account) {
	a.Name, a.Description, a.SAMLProvider = f.Name, f.Description, f.SAMLProvider
	a.DefaultRegion, a.STSRegion, a.STSEndpoint, a.SignInURL, a.AppID = f.DefaultRegion, f.STSRegion, f.STSEndpoint, f.SignInURL, f.AppID
}

func accountFormOf(a cloud.Account) accountForm {
	return accountForm{ID: a.ID, Name: a.Name, Description: a.Description, SAMLProvider: a.SAMLProvider, DefaultRegion: a.DefaultRegion,
		STSRegion: a.STSRegion, STSEndpoint: a.STSEndpoint, SignInURL: a.SignInURL, AppID: a.AppID, Version: a.Version}
}

type accountPage struct {
	frame
	New     bool
	Account cloud.Account
	Form    accountForm
	Errors  map[string]string // per input id
	// Apps are the SAML applications whose key may sign the account's
	// assertions (empty: the instance's AWS application).
	Apps []option

	Assignments    []cloud.Assignment
	PermissionSets []cloud.PermissionSet
	// the add-assignment form's values
	AssignType, AssignName, AssignSet string
	// Roles lists the role each assigned permission set becomes here.
	Roles []cloud.Role
	// Drift compares the model with the last downloaded IAM set-up (nil
	// without an IaC renderer or when it could not be computed).
	Drift *iac.Drift
}

func (c *Console) appOptions(r *http.Request, actor audit.Actor) []option {
	if c.Apps == nil {
		return nil
	}
	list, err := c.Apps.List(r.Context(), actor)
	if err != nil {
		return nil // the select then offers the default only; the service still checks what is posted
	}
	out := make([]option, 0, len(list))
	for _, a := range list {
		out = append(out, option{Value: a.ID, Label: appLabel(a)})
	}
	return out
}

func appLabel(a apps.Application) string {
	if a.Template != "" && a.Template != "custom" {
		return a.DisplayName + " (" + a.Template + ")"
	}
	return a.DisplayName
}

func (c *Console) newAccount(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	if !c.cloudReady(w, r) {
		return
	}
	c.render(w, r, http.StatusOK, "console_account", web.Page{Title: "New AWS account", Data: accountPage{frame: newFrame(accountsNav), New: true,
		Form: accountForm{SAMLProvider: cloud.DefaultSAMLProvider, SignInURL: cloud.DefaultSignInURL}, Apps: c.appOptions(r, actor)}})
}

func (c *Console) createAccount(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	if !c.cloudReady(w, r) {
		return
	}
	f, err := parseAccountForm(r)
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	a := cloud.Account{ID: f.ID}
	f.apply(&a)
	a, err = c.Cloud.CreateAccount(r.Context(), actor, a)
	if fields, general, status, ok := formError(err, accountFields); ok {
		c.render(w, r, status, "console_account", web.Page{Title: "New AWS account", Error: general,
			Data: accountPage{frame: newFrame(accountsNav), New: true, Form: f, Errors: fields, Apps: c.appOptions(r, actor)}})
		return
	}
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, accountPath(a.ID), "account-created")
}

func (c *Console) showAccount(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	c.renderAccount(w, r, actor, http.StatusOK, nil, nil, "", accountPage{})
}

// renderAccount shows the account named by the path with its edit form
// (form, or the stored values when nil), its assignments and errors;
// assign carries the add-assignment form's values.
func (c *Console) renderAccount(w http.ResponseWriter, r *http.Request, actor audit.Actor, status int, form *accountForm,
	fields map[string]string, errText string, assign accountPage) {
	if !c.cloudReady(w, r) {
		return
	}
	ctx := r.Context()
	a, err := c.Cloud.GetAccount(ctx, actor, r.PathValue("id"))
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	d := accountPage{frame: newFrame(accountsNav), Account: a, Form: accountFormOf(a), Errors: fields, Apps: c.appOptions(r, actor),
		AssignType: assign.AssignType, AssignName: assign.AssignName, AssignSet: assign.AssignSet}
	if form != nil {
		d.Form = *form
		d.Form.ID = a.ID
	}
	if d.AssignType == "" {
		d.AssignType = cloud.PrincipalGroup
	}
	if d.Assignments, err = c.Cloud.ListAssignments(ctx, actor, a.ID); err != nil {
		c.Fail(w, r, err)
		return
	}
	if d.PermissionSets, err = c.Cloud.ListPermissionSets(ctx, actor); err != nil {
		c.Fail(w, r, err)
		return
	}
	assigned := map[string]bool{}
	for _, as := range d.Assignments {
		assigned[as.PermissionSetID] = true
	}
	for _, ps := range d.PermissionSets {
		if assigned[ps.ID] {
			d.Roles = append(d.Roles, cloud.RoleFor(a, ps))
		}
	}
	if c.IaC != nil {
		if dr, err := c.IaC.Drift(ctx, actor, a.ID); err == nil {
			d.Drift = &dr
		}
	}
	c.render(w, r, status, "console_account", web.Page{Title: a.Name, Error: errText, Data: d})
}

// downloadIAM sends the account's IAM set-up as CloudFormation or
// Terraform (?format=), recorded as the baseline of the drift check.
func (c *Console) downloadIAM(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	if c.IaC == nil {
		http.NotFound(w, r)
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "cloudformation"
	}
	doc, err := c.IaC.Render(r.Context(), actor, r.PathValue("id"), format)
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", doc.ContentType)
	h.Set("Content-Disposition", `attachment; filename="`+doc.FileName+`"`)
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(doc.Body)
}

func (c *Console) updateAccount(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	if !c.cloudReady(w, r) {
		return
	}
	f, err := parseAccountForm(r)
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	a, err := c.Cloud.UpdateAccount(r.Context(), actor, r.PathValue("id"), f.Version, func(a *cloud.Account) error {
		f.apply(a)
		return nil
	})
	if fields, general, status, ok := formError(err, accountFields); ok {
		c.renderAccount(w, r, actor, status, &f, fields, general, accountPage{})
		return
	}
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, accountPath(a.ID), "account-saved")
}

func (c *Console) confirmDeleteAccount(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	if !c.cloudReady(w, r) {
		return
	}
	a, err := c.Cloud.GetAccount(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "console_confirm", web.Page{Title: "Delete AWS account", Data: confirmPage{frame: newFrame(accountsNav),
		Kind: "AWS account", Name: a.Name + " (" + a.ID + ")", Action: accountPath(a.ID) + "/delete", Cancel: accountPath(a.ID)}})
}

func (c *Console) deleteAccount(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	if !c.cloudReady(w, r) {
		return
	}
	if err := c.Cloud.DeleteAccount(r.Context(), actor, r.PathValue("id")); err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, "/console/accounts", "account-deleted")
}

// --- assignments ---

func (c *Console) assignAccount(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	if !c.cloudReady(w, r) {
		return
	}
	kind := r.PostFormValue("type")
	if kind != cloud.PrincipalUser && kind != cloud.PrincipalGroup {
		c.Fail(w, r, httpx.Badf("the form's type field is not valid"))
		return
	}
	back := accountPage{AssignType: kind, AssignName: strings.TrimSpace(r.PostFormValue("name")), AssignSet: r.PostFormValue("permissionSet")}
	problems := map[string]string{}
	if back.AssignName == "" || len(back.AssignName) > 1024 {
		problems["assign-name"] = "Enter the name of the " + kind + " to assign."
	}
	if back.AssignSet == "" {
		problems["assign-permission-set"] = "Choose a permission set."
	}
	if len(problems) > 0 {
		c.renderAccount(w, r, actor, http.StatusBadRequest, nil, problems, "Check the highlighted fields.", back)
		return
	}
	_, err := c.Cloud.Assign(r.Context(), actor, cloud.AssignRequest{Account: r.PathValue("id"), PermissionSet: back.AssignSet,
		PrincipalType: kind, Principal: back.AssignName})
	var inv *errs.Invalid
	if errors.As(err, &inv) {
		for _, p := range inv.Problems {
			switch p.Field {
			case "user", "group":
				problems["assign-name"] = "There is no " + kind + " " + quoted(back.AssignName) + "."
			case "permissionSet":
				problems["assign-permission-set"] = "That permission set does not exist any more."
			case "account":
				c.Fail(w, r, errs.ErrNotFound)
				return
			}
		}
		c.renderAccount(w, r, actor, http.StatusBadRequest, nil, problems, "The assignment was not added.", back)
		return
	}
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, accountPath(r.PathValue("id")), "account-assigned")
}

func (c *Console) unassignAccount(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	if !c.cloudReady(w, r) {
		return
	}
	kind := r.PostFormValue("type")
	if kind != cloud.PrincipalUser && kind != cloud.PrincipalGroup {
		c.Fail(w, r, httpx.Badf("the form's type field is not valid"))
		return
	}
	_, err := c.Cloud.Unassign(r.Context(), actor, cloud.AssignRequest{Account: r.PathValue("id"), PermissionSet: r.PostFormValue("permissionSet"),
		PrincipalType: kind, Principal: r.PostFormValue("principal")})
	var inv *errs.Invalid
	if errors.As(err, &inv) {
		err = errs.ErrNotFound // a stale page: the user, group or permission set is gone
	}
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, accountPath(r.PathValue("id")), "account-unassigned")
}
