package adminapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/httpx"
)

// PermissionSetView is a permission set as the API returns it, with the
// IAM role name it becomes in each account (its roleName, else
// idcenter-<name>).
type PermissionSetView struct {
	cloud.PermissionSet
	IAMRoleName string `json:"iamRoleName"`
}

func psView(p cloud.PermissionSet) PermissionSetView {
	return PermissionSetView{PermissionSet: p, IAMRoleName: p.Role()}
}

// AccountAssignmentInput names an account assignment: the permission set
// (id or name), the principal type (user or group) and the principal (a
// user's id or userName, a group's id or name). DELETE takes the same three
// as query parameters.
type AccountAssignmentInput struct {
	PermissionSet string `json:"permissionSet"`
	PrincipalType string `json:"principalType"`
	Principal     string `json:"principal"`
}

// readOnlyCloudFields are ignored in a patch of an account or permission
// set: the server owns them (an account's id is its AWS account id and
// never changes).
var readOnlyCloudFields = []string{"id", "created", "lastModified", "version", "managedBy", "iamRoleName"}

var assignmentParams = []param{
	{"permissionSet", "string", "permission set (id or name); required"},
	{"principalType", "string", "user or group; required"},
	{"principal", "string", "the user (id or userName) or group (id or name); required"},
}

// cloudRoutes are the account-access operations; table() includes them.
func (a *API) cloudRoutes() []route {
	return []route{
		{Method: "GET", Path: "/accounts", ID: "listAccounts", Tag: "accounts", Summary: "List AWS accounts in name order", Access: accessRead,
			Status: 200, Resp: List[cloud.Account]{}, h: a.listAccounts},
		{Method: "POST", Path: "/accounts", ID: "createAccount", Tag: "accounts", Summary: "Register an AWS account (id = the 12-digit account id)", Access: accessAdmin,
			Body: cloud.Account{}, Status: 201, Resp: cloud.Account{}, h: a.createAccount},
		{Method: "GET", Path: "/accounts/{account}", ID: "getAccount", Tag: "accounts", Summary: "Get an account by 12-digit id or name", Access: accessRead,
			Status: 200, Resp: cloud.Account{}, h: a.getAccount},
		{Method: "PATCH", Path: "/accounts/{account}", ID: "updateAccount", Tag: "accounts", Summary: "Update an account (JSON merge patch; the id cannot change)", Access: accessAdmin,
			Headers: ifMatch, Body: cloud.Account{}, BodyMedia: "application/merge-patch+json", Status: 200, Resp: cloud.Account{}, h: a.updateAccount},
		{Method: "DELETE", Path: "/accounts/{account}", ID: "deleteAccount", Tag: "accounts", Summary: "Delete an account and its assignments", Access: accessAdmin,
			Status: 204, h: a.deleteAccount},
		{Method: "GET", Path: "/accounts/{account}/assignments", ID: "listAccountAssignments", Tag: "accounts", Summary: "List an account's assignments", Access: accessRead,
			Status: 200, Resp: List[cloud.Assignment]{}, h: a.listAccountAssignments},
		{Method: "POST", Path: "/accounts/{account}/assignments", ID: "assignAccount", Tag: "accounts",
			Summary: "Give a user or a group a permission set in an account (assigning twice is not an error)", Access: accessAdmin,
			Body: AccountAssignmentInput{}, Status: 200, Resp: cloud.Assignment{}, h: a.assignAccount},
		{Method: "DELETE", Path: "/accounts/{account}/assignments", ID: "unassignAccount", Tag: "accounts",
			Summary: "Remove an assignment named by the query parameters (removing a missing one is not an error)", Access: accessAdmin,
			Query: assignmentParams, Status: 204, h: a.unassignAccount},
		{Method: "GET", Path: "/account-assignments", ID: "listAllAccountAssignments", Tag: "accounts", Summary: "List every account assignment", Access: accessRead,
			Status: 200, Resp: List[cloud.Assignment]{}, h: a.listAllAccountAssignments},

		{Method: "GET", Path: "/permission-sets", ID: "listPermissionSets", Tag: "accounts", Summary: "List permission sets in name order", Access: accessRead,
			Status: 200, Resp: List[PermissionSetView]{}, h: a.listPermissionSets},
		{Method: "POST", Path: "/permission-sets", ID: "createPermissionSet", Tag: "accounts", Summary: "Create a permission set", Access: accessAdmin,
			Body: cloud.PermissionSet{}, Status: 201, Resp: PermissionSetView{}, h: a.createPermissionSet},
		{Method: "GET", Path: "/permission-sets/{ps}", ID: "getPermissionSet", Tag: "accounts", Summary: "Get a permission set by id or name", Access: accessRead,
			Status: 200, Resp: PermissionSetView{}, h: a.getPermissionSet},
		{Method: "PATCH", Path: "/permission-sets/{ps}", ID: "updatePermissionSet", Tag: "accounts", Summary: "Update a permission set (JSON merge patch)", Access: accessAdmin,
			Headers: ifMatch, Body: cloud.PermissionSet{}, BodyMedia: "application/merge-patch+json", Status: 200, Resp: PermissionSetView{}, h: a.updatePermissionSet},
		{Method: "DELETE", Path: "/permission-sets/{ps}", ID: "deletePermissionSet", Tag: "accounts", Summary: "Delete a permission set and its assignments", Access: accessAdmin,
			Status: 204, h: a.deletePermissionSet},
	}
}

// --- accounts ---

func (a *API) listAccounts(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	list, err := a.Cloud.ListAccounts(r.Context(), actor)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 200, List[cloud.Account]{Items: nonNil(list)})
	return nil
}

func (a *API) createAccount(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	var in cloud.Account
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	in.ManagedBy = "" // created by hand
	acct, err := a.Cloud.CreateAccount(r.Context(), actor, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/accounts/"+acct.ID)
	setETag(w, acct.Version)
	httpx.WriteJSON(w, 201, acct)
	return nil
}

func (a *API) getAccount(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	acct, err := a.Cloud.GetAccount(r.Context(), actor, r.PathValue("account"))
	if err != nil {
		return err
	}
	setETag(w, acct.Version)
	httpx.WriteJSON(w, 200, acct)
	return nil
}

func (a *API) updateAccount(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	acct, err := mergePatchUpdate(r, readOnlyCloudFields, func(ver int64, mutate func(*cloud.Account) error) (cloud.Account, error) {
		return a.Cloud.UpdateAccount(r.Context(), actor, r.PathValue("account"), ver, mutate)
	})
	if err != nil {
		return err
	}
	setETag(w, acct.Version)
	httpx.WriteJSON(w, 200, acct)
	return nil
}

func (a *API) deleteAccount(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	if err := a.Cloud.DeleteAccount(r.Context(), actor, r.PathValue("account")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- assignments ---

func (a *API) listAccountAssignments(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	list, err := a.Cloud.ListAssignments(r.Context(), actor, r.PathValue("account"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 200, List[cloud.Assignment]{Items: nonNil(list)})
	return nil
}

func (a *API) listAllAccountAssignments(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	list, err := a.Cloud.ListAssignments(r.Context(), actor, "")
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 200, List[cloud.Assignment]{Items: nonNil(list)})
	return nil
}

// assignRequest checks that the three names are given and builds the
// service's request for the account in the path.
func assignRequest(r *http.Request, in AccountAssignmentInput) (cloud.AssignRequest, error) {
	v := &errs.Invalid{}
	in.PermissionSet, in.PrincipalType, in.Principal = strings.TrimSpace(in.PermissionSet), strings.TrimSpace(in.PrincipalType), strings.TrimSpace(in.Principal)
	if in.PermissionSet == "" {
		v.Add("permissionSet", "is required (a permission set id or name)")
	}
	switch in.PrincipalType {
	case cloud.PrincipalUser, cloud.PrincipalGroup:
	default:
		v.Add("principalType", `must be "user" or "group"`)
	}
	if in.Principal == "" {
		v.Add("principal", "is required (a user's id or userName, or a group's id or name)")
	}
	return cloud.AssignRequest{Account: r.PathValue("account"), PermissionSet: in.PermissionSet,
		PrincipalType: in.PrincipalType, Principal: in.Principal}, v.Err()
}

func (a *API) assignAccount(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	var in AccountAssignmentInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	req, err := assignRequest(r, in)
	if err != nil {
		return err
	}
	as, err := a.Cloud.Assign(r.Context(), actor, req)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 200, as)
	return nil
}

func (a *API) unassignAccount(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	q := r.URL.Query()
	if err := onlyParams(q, "permissionSet", "principalType", "principal"); err != nil {
		return err
	}
	req, err := assignRequest(r, AccountAssignmentInput{PermissionSet: q.Get("permissionSet"), PrincipalType: q.Get("principalType"), Principal: q.Get("principal")})
	if err != nil {
		return err
	}
	if _, err := a.Cloud.Unassign(r.Context(), actor, req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// onlyParams refuses query parameters other than names, so a misspelt one
// is not silently ignored on a DELETE.
func onlyParams(q url.Values, names ...string) error {
	for k := range q {
		known := false
		for _, n := range names {
			known = known || k == n
		}
		if !known {
			return httpx.Badf("unknown query parameter %q; use %s", k, strings.Join(names, ", "))
		}
	}
	return nil
}

// --- permission sets ---

func (a *API) listPermissionSets(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	list, err := a.Cloud.ListPermissionSets(r.Context(), actor)
	if err != nil {
		return err
	}
	views := make([]PermissionSetView, 0, len(list))
	for _, p := range list {
		views = append(views, psView(p))
	}
	httpx.WriteJSON(w, 200, List[PermissionSetView]{Items: views})
	return nil
}

func (a *API) createPermissionSet(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	var in cloud.PermissionSet
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	in.ManagedBy = "" // created by hand
	p, err := a.Cloud.CreatePermissionSet(r.Context(), actor, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/permission-sets/"+p.ID)
	setETag(w, p.Version)
	httpx.WriteJSON(w, 201, psView(p))
	return nil
}

func (a *API) getPermissionSet(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	p, err := a.Cloud.GetPermissionSet(r.Context(), actor, r.PathValue("ps"))
	if err != nil {
		return err
	}
	setETag(w, p.Version)
	httpx.WriteJSON(w, 200, psView(p))
	return nil
}

func (a *API) updatePermissionSet(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	p, err := mergePatchUpdate(r, readOnlyCloudFields, func(ver int64, mutate func(*cloud.PermissionSet) error) (cloud.PermissionSet, error) {
		return a.Cloud.UpdatePermissionSet(r.Context(), actor, r.PathValue("ps"), ver, mutate)
	})
	if err != nil {
		return err
	}
	setETag(w, p.Version)
	httpx.WriteJSON(w, 200, psView(p))
	return nil
}

func (a *API) deletePermissionSet(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	if err := a.Cloud.DeletePermissionSet(r.Context(), actor, r.PathValue("ps")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
