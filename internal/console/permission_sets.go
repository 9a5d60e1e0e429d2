package console

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/httpx"
	"github.com/idcenter/idcenter/internal/web"
)

// The permission set pages: list, create, edit (policies, boundary, tags,
// session duration, relay state, role name) and delete.

const permissionSetsNav = "Permission sets"

func permissionSetPath(id string) string { return "/console/permission-sets/" + url.PathEscape(id) }

type permissionSetRow struct {
	cloud.PermissionSet
	Accounts int // accounts it is assigned in
}

type permissionSetsPage struct {
	frame
	Query string
	Sets  []permissionSetRow
}

func (c *Console) listPermissionSets(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	if !c.cloudReady(w, r) {
		return
	}
	d := permissionSetsPage{frame: newFrame(permissionSetsNav), Query: query(r, "q")}
	list, err := c.Cloud.ListPermissionSets(r.Context(), actor)
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	as, err := c.Cloud.ListAssignments(r.Context(), actor, "")
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	in := map[string]map[string]bool{}
	for _, a := range as {
		if in[a.PermissionSetID] == nil {
			in[a.PermissionSetID] = map[string]bool{}
		}
		in[a.PermissionSetID][a.AccountID] = true
	}
	lq := strings.ToLower(d.Query)
	for _, p := range list {
		if lq == "" || strings.Contains(strings.ToLower(p.Name), lq) || strings.Contains(strings.ToLower(p.Description), lq) {
			d.Sets = append(d.Sets, permissionSetRow{PermissionSet: p, Accounts: len(in[p.ID])})
		}
	}
	c.render(w, r, http.StatusOK, "console_permission_sets", web.Page{Title: "Permission sets", Data: d})
}

// permissionSetForm is what the permission set forms post. The lists are
// textareas with one entry per line.
type permissionSetForm struct {
	Name, Description, SessionDuration, RelayState string
	ManagedPolicies                                string // one ARN per line
	CustomerPolicies                               string // one "name" or "/path/name" per line
	InlinePolicy                                   string
	Boundary                                       string // a managed policy ARN, or a customer policy "/path/name"
	Tags                                           string // one "key=value" per line
	RoleName                                       string
	Version                                        int64
}

// permissionSetFormError is formError for the permission set form; the
// policy checker's reasons ("needs …", "statement 2: …") get the input's
// name in front.
func permissionSetFormError(err error) (map[string]string, string, int, bool) {
	fields, general, status, ok := formError(err, permissionSetFields)
	if m := fields["inline-policy"]; m != "" && !strings.HasPrefix(m, "Inline policy") {
		fields["inline-policy"] = "Inline policy: " + m
	}
	return fields, general, status, ok
}

var permissionSetFields = map[string]field{
	"name":                {"name", "Name"},
	"description":         {"description", "Description"},
	"sessionDuration":     {"session-duration", "Session duration"},
	"relayState":          {"relay-state", "Relay state"},
	"managedPolicies":     {"managed-policies", "AWS managed policies"},
	"customerPolicies":    {"customer-policies", "Customer managed policies"},
	"inlinePolicy":        {"inline-policy", "Inline policy"},
	"permissionsBoundary": {"boundary", "Permissions boundary"},
	"tags":                {"tags", "Tags"},
	"roleName":            {"role-name", "Role name"},
}

// sessionDurations are the choices of the session duration select.
var sessionDurations = []option{
	{"PT1H", "1 hour"}, {"PT2H", "2 hours"}, {"PT4H", "4 hours"}, {"PT8H", "8 hours"}, {"PT12H", "12 hours"},
}

func parsePermissionSetForm(r *http.Request) (permissionSetForm, error) {
	f := permissionSetForm{Name: strings.TrimSpace(r.PostFormValue("name")), Description: strings.TrimSpace(r.PostFormValue("description")),
		SessionDuration: strings.TrimSpace(r.PostFormValue("sessionDuration")), RelayState: strings.TrimSpace(r.PostFormValue("relayState")),
		ManagedPolicies: r.PostFormValue("managedPolicies"), CustomerPolicies: r.PostFormValue("customerPolicies"),
		InlinePolicy: strings.TrimSpace(r.PostFormValue("inlinePolicy")), Boundary: strings.TrimSpace(r.PostFormValue("boundary")),
		Tags: r.PostFormValue("tags"), RoleName: strings.TrimSpace(r.PostFormValue("roleName"))}
	if v := r.PostFormValue("version"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return f, httpx.Badf("the form's version field is not valid")
		}
		f.Version = n
	}
	return f, nil
}

// policyRef parses "name" or "/path/name".
func policyRef(s string) cloud.PolicyRef {
	if i := strings.LastIndex(s, "/"); i >= 0 {
		return cloud.PolicyRef{Path: s[:i+1], Name: s[i+1:]}
	}
	return cloud.PolicyRef{Name: s}
}

func policyRefText(p cloud.PolicyRef) string {
	if p.Path == "" || p.Path == "/" {
		return p.Name
	}
	return p.Path + p.Name
}

// apply sets the form's values on p; problems the service cannot see (a tag
// line without "=") are returned as an *errs.Invalid.
func (f permissionSetForm) apply(p *cloud.PermissionSet) error {
	v := &errs.Invalid{}
	p.Name, p.Description, p.SessionDuration, p.RelayState = f.Name, f.Description, f.SessionDuration, f.RelayState
	p.ManagedPolicies = lines(f.ManagedPolicies)
	p.CustomerPolicies = nil
	for _, l := range lines(f.CustomerPolicies) {
		p.CustomerPolicies = append(p.CustomerPolicies, policyRef(l))
	}
	p.InlinePolicy = f.InlinePolicy
	switch {
	case f.Boundary == "":
		p.Boundary = nil
	case strings.HasPrefix(f.Boundary, "arn:"):
		p.Boundary = &cloud.Boundary{ManagedPolicyARN: f.Boundary}
	default:
		ref := policyRef(f.Boundary)
		p.Boundary = &cloud.Boundary{CustomerPolicy: &ref}
	}
	p.Tags = nil
	for _, l := range lines(f.Tags) {
		k, val, ok := strings.Cut(l, "=")
		if !ok {
			v.Add("tags", "write each tag as key=value (%q has no =)", l)
			continue
		}
		p.Tags = append(p.Tags, cloud.Tag{Key: strings.TrimSpace(k), Value: strings.TrimSpace(val)})
	}
	p.RoleName = f.RoleName
	return v.Err()
}

func permissionSetFormOf(p cloud.PermissionSet) permissionSetForm {
	f := permissionSetForm{Name: p.Name, Description: p.Description, SessionDuration: p.SessionDuration, RelayState: p.RelayState,
		ManagedPolicies: strings.Join(p.ManagedPolicies, "\n"), InlinePolicy: p.InlinePolicy, RoleName: p.RoleName, Version: p.Version}
	var refs, tags []string
	for _, r := range p.CustomerPolicies {
		refs = append(refs, policyRefText(r))
	}
	f.CustomerPolicies = strings.Join(refs, "\n")
	if b := p.Boundary; b != nil {
		if b.ManagedPolicyARN != "" {
			f.Boundary = b.ManagedPolicyARN
		} else if b.CustomerPolicy != nil {
			f.Boundary = policyRefText(*b.CustomerPolicy)
			if !strings.Contains(f.Boundary, "/") {
				f.Boundary = "/" + f.Boundary // "/name": a customer policy, never read as something else
			}
		}
	}
	for _, t := range p.Tags {
		tags = append(tags, t.Key+"="+t.Value)
	}
	f.Tags = strings.Join(tags, "\n")
	return f
}

type permissionSetPage struct {
	frame
	New            bool
	Set            cloud.PermissionSet
	Form           permissionSetForm
	Errors         map[string]string // per input id
	Durations      []option
	DerivedRole    string // the role name without an override
	MaxInlineBytes int
	// Assignments lists where the permission set is assigned, by account.
	Assignments []cloud.Assignment
	Accounts    map[string]cloud.Account
}

func (c *Console) permissionSetPageData(p cloud.PermissionSet, f permissionSetForm, fields map[string]string, isNew bool) permissionSetPage {
	d := permissionSetPage{frame: newFrame(permissionSetsNav), New: isNew, Set: p, Form: f, Errors: fields,
		Durations: sessionDurations, MaxInlineBytes: cloud.MaxInlinePolicyBytes}
	name := f.Name
	if name == "" {
		name = "<name>"
	}
	d.DerivedRole = cloud.DefaultRolePrefix + name
	known := false
	for _, o := range sessionDurations {
		known = known || o.Value == strings.ToUpper(f.SessionDuration)
	}
	if !known && f.SessionDuration != "" {
		d.Durations = append([]option{{f.SessionDuration, f.SessionDuration}}, sessionDurations...)
	}
	return d
}

func (c *Console) newPermissionSet(w http.ResponseWriter, r *http.Request, _ audit.Actor) {
	if !c.cloudReady(w, r) {
		return
	}
	c.render(w, r, http.StatusOK, "console_permission_set", web.Page{Title: "New permission set",
		Data: c.permissionSetPageData(cloud.PermissionSet{}, permissionSetForm{SessionDuration: cloud.DefaultSessionDuration}, nil, true)})
}

func (c *Console) createPermissionSet(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	if !c.cloudReady(w, r) {
		return
	}
	f, err := parsePermissionSetForm(r)
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	var p cloud.PermissionSet
	if err = f.apply(&p); err == nil {
		p, err = c.Cloud.CreatePermissionSet(r.Context(), actor, p)
	}
	if fields, general, status, ok := permissionSetFormError(err); ok {
		c.render(w, r, status, "console_permission_set", web.Page{Title: "New permission set", Error: general,
			Data: c.permissionSetPageData(cloud.PermissionSet{}, f, fields, true)})
		return
	}
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, permissionSetPath(p.ID), "permission-set-created")
}

func (c *Console) showPermissionSet(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	c.renderPermissionSet(w, r, actor, http.StatusOK, nil, nil, "")
}

func (c *Console) renderPermissionSet(w http.ResponseWriter, r *http.Request, actor audit.Actor, status int, form *permissionSetForm,
	fields map[string]string, errText string) {
	if !c.cloudReady(w, r) {
		return
	}
	ctx := r.Context()
	p, err := c.Cloud.GetPermissionSet(ctx, actor, r.PathValue("id"))
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	f := permissionSetFormOf(p)
	if form != nil {
		f = *form
	}
	d := c.permissionSetPageData(p, f, fields, false)
	all, err := c.Cloud.ListAssignments(ctx, actor, "")
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	accounts, err := c.Cloud.ListAccounts(ctx, actor)
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	d.Accounts = map[string]cloud.Account{}
	for _, a := range accounts {
		d.Accounts[a.ID] = a
	}
	for _, a := range all {
		if a.PermissionSetID == p.ID {
			d.Assignments = append(d.Assignments, a)
		}
	}
	sort.SliceStable(d.Assignments, func(i, j int) bool {
		return d.Accounts[d.Assignments[i].AccountID].Name < d.Accounts[d.Assignments[j].AccountID].Name
	})
	c.render(w, r, status, "console_permission_set", web.Page{Title: p.Name, Error: errText, Data: d})
}

func (c *Console) updatePermissionSet(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	if !c.cloudReady(w, r) {
		return
	}
	f, err := parsePermissionSetForm(r)
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	p, err := c.Cloud.UpdatePermissionSet(r.Context(), actor, r.PathValue("id"), f.Version, f.apply)
	if fields, general, status, ok := permissionSetFormError(err); ok {
		c.renderPermissionSet(w, r, actor, status, &f, fields, general)
		return
	}
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, permissionSetPath(p.ID), "permission-set-saved")
}

func (c *Console) confirmDeletePermissionSet(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	if !c.cloudReady(w, r) {
		return
	}
	p, err := c.Cloud.GetPermissionSet(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "console_confirm", web.Page{Title: "Delete permission set", Data: confirmPage{frame: newFrame(permissionSetsNav),
		Kind: "permission set", Name: p.Name, Action: permissionSetPath(p.ID) + "/delete", Cancel: permissionSetPath(p.ID)}})
}

func (c *Console) deletePermissionSet(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	if !c.cloudReady(w, r) {
		return
	}
	if err := c.Cloud.DeletePermissionSet(r.Context(), actor, r.PathValue("id")); err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, "/console/permission-sets", "permission-set-deleted")
}
