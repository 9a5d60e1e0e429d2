package adminapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/declarative"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/httpx"
	"github.com/idcenter/idcenter/internal/tokens"
)

// List is a page of results.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// WhoAmI describes the caller.
type WhoAmI struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	Role string `json:"role,omitempty"`
}

// GroupInput creates a group.
type GroupInput struct {
	DisplayName string   `json:"displayName"`
	Description string   `json:"description,omitempty"`
	ExternalID  string   `json:"externalId,omitempty"`
	Members     []string `json:"members,omitempty"`
}

// GroupPatch is a merge patch of a group's editable fields.
type GroupPatch struct {
	DisplayName *string `json:"displayName,omitempty"`
	Description *string `json:"description,omitempty"`
	ExternalID  *string `json:"externalId,omitempty"`
}

// MembersInput names users to add.
type MembersInput struct {
	Users []string `json:"users"`
}

// PasswordInput sets a password.
type PasswordInput struct {
	Password string `json:"password"`
}

// TokenInput creates an API token.
type TokenInput struct {
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// CreatedToken is a new token with its secret, shown once.
type CreatedToken struct {
	tokens.Token
	Secret string `json:"token"`
}

// PlanResult is the outcome of apply.
type PlanResult struct {
	declarative.Plan
	Text string `json:"text"`
}

var (
	pageParams = []param{{"cursor", "string", "opaque cursor from nextCursor"}, {"limit", "integer", "page size, 1-1000 (default 100)"}}
	ifMatch    = []param{{"If-Match", "string", "expected version (ETag); the update fails with 409 if the object changed"}}
)

func (a *API) table() []route {
	return append([]route{
		{Method: "GET", Path: "/whoami", ID: "whoAmI", Tag: "meta", Summary: "Describe the caller", Access: accessRead, Status: 200, Resp: WhoAmI{}, h: a.whoAmI},

		{Method: "GET", Path: "/users", ID: "listUsers", Tag: "users", Summary: "List users in userName order", Access: accessRead,
			Query: append([]param{{"userName", "string", "exact userName (case-insensitive)"}, {"prefix", "string", "userName prefix"},
				{"email", "string", "exact primary email"}, {"group", "string", "members of this group (id or name)"},
				{"active", "boolean", "only active or only disabled users"}}, pageParams...),
			Status: 200, Resp: List[directory.User]{}, h: a.listUsers},
		{Method: "POST", Path: "/users", ID: "createUser", Tag: "users", Summary: "Create a user", Access: accessAdmin,
			Body: directory.User{}, Status: 201, Resp: directory.User{}, h: a.createUser},
		{Method: "GET", Path: "/users/{user}", ID: "getUser", Tag: "users", Summary: "Get a user by id or userName", Access: accessRead,
			Status: 200, Resp: directory.User{}, h: a.getUser},
		{Method: "PATCH", Path: "/users/{user}", ID: "updateUser", Tag: "users", Summary: "Update a user (JSON merge patch)", Access: accessAdmin,
			Headers: ifMatch, Body: directory.User{}, BodyMedia: "application/merge-patch+json", Status: 200, Resp: directory.User{}, h: a.updateUser},
		{Method: "DELETE", Path: "/users/{user}", ID: "deleteUser", Tag: "users", Summary: "Delete a user and their memberships", Access: accessAdmin,
			Status: 204, h: a.deleteUser},
		{Method: "PUT", Path: "/users/{user}/password", ID: "setPassword", Tag: "users", Summary: "Set a user's password", Access: accessAdmin,
			Body: PasswordInput{}, Status: 204, h: a.setPassword},

		{Method: "POST", Path: "/users/{user}/invitation", ID: "sendInvitation", Tag: "users", Summary: "Email the user a link to set a password (replaces earlier links)", Access: accessAdmin,
			Status: 202, Resp: ActionResult{}, h: a.sendInvitation},
		{Method: "POST", Path: "/users/{user}/password-reset", ID: "forcePasswordReset", Tag: "users", Summary: "Remove the password, end all sessions and email a reset link", Access: accessAdmin,
			Status: 202, Resp: ActionResult{}, h: a.forcePasswordReset},
		{Method: "POST", Path: "/users/{user}/unlock", ID: "unlockUser", Tag: "users", Summary: "Clear a lockout after failed sign-ins", Access: accessAdmin,
			Status: 200, Resp: ActionResult{}, h: a.unlockUser},
		{Method: "DELETE", Path: "/users/{user}/sessions", ID: "endUserSessions", Tag: "users", Summary: "Sign the user out everywhere", Access: accessAdmin,
			Status: 200, Resp: ActionResult{}, h: a.endUserSessions},

		{Method: "GET", Path: "/groups", ID: "listGroups", Tag: "groups", Summary: "List groups in name order", Access: accessRead,
			Query: append([]param{{"displayName", "string", "exact name (case-insensitive)"}, {"prefix", "string", "name prefix"},
				{"member", "string", "groups of this user (id or userName)"}}, pageParams...),
			Status: 200, Resp: List[directory.Group]{}, h: a.listGroups},
		{Method: "POST", Path: "/groups", ID: "createGroup", Tag: "groups", Summary: "Create a group", Access: accessAdmin,
			Body: GroupInput{}, Status: 201, Resp: directory.Group{}, h: a.createGroup},
		{Method: "GET", Path: "/groups/{group}", ID: "getGroup", Tag: "groups", Summary: "Get a group by id or name", Access: accessRead,
			Status: 200, Resp: directory.Group{}, h: a.getGroup},
		{Method: "PATCH", Path: "/groups/{group}", ID: "updateGroup", Tag: "groups", Summary: "Update a group (JSON merge patch)", Access: accessAdmin,
			Headers: ifMatch, Body: GroupPatch{}, BodyMedia: "application/merge-patch+json", Status: 200, Resp: directory.Group{}, h: a.updateGroup},
		{Method: "DELETE", Path: "/groups/{group}", ID: "deleteGroup", Tag: "groups", Summary: "Delete a group", Access: accessAdmin,
			Status: 204, h: a.deleteGroup},
		{Method: "GET", Path: "/groups/{group}/members", ID: "listMembers", Tag: "groups", Summary: "List a group's members", Access: accessRead,
			Query: pageParams, Status: 200, Resp: List[directory.Member]{}, h: a.listMembers},
		{Method: "POST", Path: "/groups/{group}/members", ID: "addMembers", Tag: "groups", Summary: "Add users to a group", Access: accessAdmin,
			Body: MembersInput{}, Status: 200, Resp: directory.Group{}, h: a.addMembers},
		{Method: "DELETE", Path: "/groups/{group}/members/{user}", ID: "removeMember", Tag: "groups", Summary: "Remove a user from a group", Access: accessAdmin,
			Status: 204, h: a.removeMember},

		{Method: "GET", Path: "/tokens", ID: "listTokens", Tag: "tokens", Summary: "List API tokens", Access: accessAdmin,
			Status: 200, Resp: List[tokens.Token]{}, h: a.listTokens},
		{Method: "POST", Path: "/tokens", ID: "createToken", Tag: "tokens", Summary: "Create an API token (the secret is returned once)", Access: accessAdmin,
			Body: TokenInput{}, Status: 201, Resp: CreatedToken{}, h: a.createToken},
		{Method: "DELETE", Path: "/tokens/{token}", ID: "revokeToken", Tag: "tokens", Summary: "Revoke an API token", Access: accessAdmin,
			Status: 200, Resp: tokens.Token{}, h: a.revokeToken},

		{Method: "GET", Path: "/audit-events", ID: "listAuditEvents", Tag: "audit", Summary: "List audit events, newest first", Access: accessRead,
			Query: append([]param{{"since", "string", "RFC 3339 time, inclusive"}, {"until", "string", "RFC 3339 time, exclusive"},
				{"actor", "string", "actor id or name"}, {"action", "string", "exact action, or a prefix ending in . or *"},
				{"target", "string", "target id or name"}}, pageParams...),
			Status: 200, Resp: List[audit.Event]{}, h: a.listAudit},

		{Method: "POST", Path: "/apply", ID: "apply", Tag: "config", Summary: "Apply a declarative document (plan, or plan and apply in one transaction)", Access: accessAdmin,
			Query: []param{{"dryRun", "boolean", "only compute the plan"}, {"prune", "boolean", "also delete objects not created by apply (SCIM-provisioned users and groups are kept)"}},
			Body:  "", BodyMedia: "application/yaml", Status: 200, Resp: PlanResult{}, h: a.apply},
		{Method: "GET", Path: "/export", ID: "export", Tag: "config", Summary: "Export the directory as a declarative document", Access: accessRead,
			Status: 200, Resp: "", RespMedia: "application/yaml", h: a.export},
	}, append(append(append(a.appRoutes(), a.scimTokenRoutes()...), a.cloudRoutes()...), a.iacRoutes()...)...)
}

func (a *API) whoAmI(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	httpx.WriteJSON(w, 200, WhoAmI{Type: actor.Type, ID: actor.ID, Name: actor.Name, Role: actor.Role})
	return nil
}

// --- query helpers ---

func queryLimit(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		return 0, httpx.Badf("limit must be an integer from 1 to 1000, got %q", s)
	}
	return n, nil
}

func queryBool(r *http.Request, name string) (*bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return nil, httpx.Badf("%s must be true or false, got %q", name, s)
	}
	return &b, nil
}

func queryTime(r *http.Request, name string) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, httpx.Badf("%s must be an RFC 3339 time like 2026-01-02T15:04:05Z, got %q", name, s)
	}
	return t, nil
}

// ifMatchVersion parses If-Match: "3", W/"3" or 3. Zero means absent.
func ifMatchVersion(r *http.Request) (int64, error) {
	s := strings.TrimSpace(r.Header.Get("If-Match"))
	if s == "" || s == "*" {
		return 0, nil
	}
	s = strings.Trim(strings.TrimPrefix(s, "W/"), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return 0, httpx.Badf("If-Match must be a version number from an ETag, got %q", r.Header.Get("If-Match"))
	}
	return n, nil
}

func setETag(w http.ResponseWriter, version int64) {
	w.Header().Set("ETag", `"`+strconv.FormatInt(version, 10)+`"`)
}

// --- users ---

func (a *API) listUsers(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	q := r.URL.Query()
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	active, err := queryBool(r, "active")
	if err != nil {
		return err
	}
	users, next, err := a.Directory.ListUsers(r.Context(), actor, directory.UserFilter{
		UserName: q.Get("userName"), Prefix: q.Get("prefix"), Email: q.Get("email"), GroupID: q.Get("group"),
		Active: active, Cursor: q.Get("cursor"), Limit: limit,
	})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 200, List[directory.User]{Items: nonNil(users), NextCursor: next})
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	var in directory.User
	in.Active = true
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	in.ManagedBy = directory.ManagedByHand
	u, err := a.Directory.CreateUser(r.Context(), actor, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/users/"+u.ID)
	setETag(w, u.Version)
	httpx.WriteJSON(w, 201, u)
	return nil
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	u, err := a.Directory.GetUser(r.Context(), actor, r.PathValue("user"))
	if err != nil {
		return err
	}
	setETag(w, u.Version)
	httpx.WriteJSON(w, 200, u)
	return nil
}

// readOnlyUserFields are ignored in a patch: the server owns them.
var readOnlyUserFields = []string{"id", "created", "lastModified", "version", "managedBy"}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	u, err := mergePatchUpdate(r, readOnlyUserFields, func(ver int64, mutate func(*directory.User) error) (directory.User, error) {
		return a.Directory.UpdateUser(r.Context(), actor, r.PathValue("user"), ver, mutate)
	})
	if err != nil {
		return err
	}
	setETag(w, u.Version)
	httpx.WriteJSON(w, 200, u)
	return nil
}

// mergePatchUpdate reads a JSON merge patch (RFC 7396) and If-Match, drops
// the server-owned keys, and runs update with a mutation applying the patch
// to the stored object and the version If-Match asked for (0: any).
func mergePatchUpdate[T any](r *http.Request, readOnly []string, update func(ver int64, mutate func(*T) error) (T, error)) (T, error) {
	var zero T
	patch, err := decodePatch(r)
	if err != nil {
		return zero, err
	}
	ver, err := ifMatchVersion(r)
	if err != nil {
		return zero, err
	}
	// encoding/json matches keys to fields ignoring case, so a server-owned
	// field must be dropped whatever its spelling ("managedby" would
	// otherwise set managedBy when the stored object leaves it out).
	for key := range patch {
		for _, k := range readOnly {
			if strings.EqualFold(key, k) {
				delete(patch, key)
			}
		}
	}
	return update(ver, func(x *T) error { return applyMergePatch(x, patch) })
}

func decodePatch(r *http.Request) (map[string]any, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.Contains(ct, "json") {
		return nil, httpx.Badf("Content-Type must be application/merge-patch+json or application/json, got %q", ct)
	}
	var patch map[string]any
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&patch); err != nil {
		var mbe *http.MaxBytesError
		if errorsAs(err, &mbe) {
			return nil, err
		}
		if err == io.EOF {
			return nil, httpx.Badf("request body is empty; a JSON merge patch object is required")
		}
		return nil, httpx.Badf("malformed JSON merge patch: %v", err)
	}
	if patch == nil {
		return nil, httpx.Badf("a JSON merge patch must be an object")
	}
	return patch, nil
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	if err := a.Directory.DeleteUser(r.Context(), actor, r.PathValue("user")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) setPassword(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	var in PasswordInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	if err := a.Directory.SetPassword(r.Context(), actor, r.PathValue("user"), in.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ActionResult reports what an action on a user did.
type ActionResult struct {
	UserID   string `json:"userId"`
	UserName string `json:"userName"`
	Result   string `json:"result"`
	Count    int    `json:"count,omitempty"`
}

func (a *API) userAction(w http.ResponseWriter, r *http.Request, actor audit.Actor, status int, do func(u directory.User) (string, int, error)) error {
	u, err := a.Directory.GetUser(r.Context(), actor, r.PathValue("user"))
	if err != nil {
		return err
	}
	res, n, err := do(u)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, status, ActionResult{UserID: u.ID, UserName: u.UserName, Result: res, Count: n})
	return nil
}

func (a *API) sendInvitation(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	return a.userAction(w, r, actor, 202, func(u directory.User) (string, int, error) {
		return "invitation sent to " + u.PrimaryEmail(), 0, a.Accounts.SendInvitation(r.Context(), actor, u.ID)
	})
}

func (a *API) forcePasswordReset(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	return a.userAction(w, r, actor, 202, func(u directory.User) (string, int, error) {
		return "password removed; reset link sent to " + u.PrimaryEmail(), 0, a.Accounts.ForcePasswordReset(r.Context(), actor, u.ID)
	})
}

func (a *API) unlockUser(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	return a.userAction(w, r, actor, 200, func(u directory.User) (string, int, error) {
		return "unlocked", 0, a.SignIn.Unlock(r.Context(), actor, u)
	})
}

func (a *API) endUserSessions(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	if err := audit.RequireRole(actor, audit.RoleAdmin); err != nil {
		return err
	}
	return a.userAction(w, r, actor, 200, func(u directory.User) (string, int, error) {
		n, err := a.Sessions.EndAllForUser(r.Context(), actor, u.ID, "ended by administrator")
		return "sessions ended", n, err
	})
}

// --- groups ---

func (a *API) listGroups(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	q := r.URL.Query()
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	groups, next, err := a.Directory.ListGroups(r.Context(), actor, directory.GroupFilter{
		DisplayName: q.Get("displayName"), Prefix: q.Get("prefix"), MemberID: q.Get("member"), Cursor: q.Get("cursor"), Limit: limit,
	})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 200, List[directory.Group]{Items: nonNil(groups), NextCursor: next})
	return nil
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	var in GroupInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	g, err := a.Directory.CreateGroup(r.Context(), actor, directory.Group{
		DisplayName: in.DisplayName, Description: in.Description, ExternalID: in.ExternalID,
	}, in.Members)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/groups/"+g.ID)
	setETag(w, g.Version)
	httpx.WriteJSON(w, 201, g)
	return nil
}

func (a *API) getGroup(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	g, err := a.Directory.GetGroup(r.Context(), actor, r.PathValue("group"))
	if err != nil {
		return err
	}
	setETag(w, g.Version)
	httpx.WriteJSON(w, 200, g)
	return nil
}

func (a *API) updateGroup(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/merge-patch+json") {
		r.Header.Set("Content-Type", "application/json")
	}
	var in GroupPatch
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	ver, err := ifMatchVersion(r)
	if err != nil {
		return err
	}
	g, err := a.Directory.UpdateGroup(r.Context(), actor, r.PathValue("group"), ver, func(g *directory.Group) error {
		if in.DisplayName != nil {
			g.DisplayName = *in.DisplayName
		}
		if in.Description != nil {
			g.Description = *in.Description
		}
		if in.ExternalID != nil {
			g.ExternalID = *in.ExternalID
		}
		return nil
	})
	if err != nil {
		return err
	}
	setETag(w, g.Version)
	httpx.WriteJSON(w, 200, g)
	return nil
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	if err := a.Directory.DeleteGroup(r.Context(), actor, r.PathValue("group")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listMembers(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	ms, next, err := a.Directory.ListMembers(r.Context(), actor, r.PathValue("group"), r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 200, List[directory.Member]{Items: nonNil(ms), NextCursor: next})
	return nil
}

func (a *API) addMembers(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	var in MembersInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	if len(in.Users) == 0 {
		return httpx.Badf("users: at least one user is required")
	}
	g, err := a.Directory.AddMembers(r.Context(), actor, r.PathValue("group"), in.Users)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 200, g)
	return nil
}

func (a *API) removeMember(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	if _, err := a.Directory.RemoveMembers(r.Context(), actor, r.PathValue("group"), []string{r.PathValue("user")}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- tokens ---

func (a *API) listTokens(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	ts, err := a.Tokens.List(r.Context(), actor)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 200, List[tokens.Token]{Items: nonNil(ts)})
	return nil
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	var in TokenInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	t, secret, err := a.Tokens.Create(r.Context(), actor, tokens.CreateRequest{Name: in.Name, Role: in.Role, ExpiresAt: in.ExpiresAt})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 201, CreatedToken{Token: t, Secret: secret})
	return nil
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	t, err := a.Tokens.Revoke(r.Context(), actor, r.PathValue("token"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 200, t)
	return nil
}

// --- audit ---

func (a *API) listAudit(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	q := r.URL.Query()
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	since, err := queryTime(r, "since")
	if err != nil {
		return err
	}
	until, err := queryTime(r, "until")
	if err != nil {
		return err
	}
	evs, next, err := a.Audit.List(r.Context(), actor, audit.Filter{
		Since: since, Until: until, ActorID: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target"),
		Cursor: q.Get("cursor"), Limit: limit,
	})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 200, List[audit.Event]{Items: nonNil(evs), NextCursor: next})
	return nil
}

// --- declarative config ---

func (a *API) apply(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	dry, err := queryBool(r, "dryRun")
	if err != nil {
		return err
	}
	prune, err := queryBool(r, "prune")
	if err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	doc, err := declarative.Parse(body)
	if err != nil {
		return err
	}
	plan, err := a.Declarative.Apply(r.Context(), actor, doc, declarative.Options{DryRun: dry != nil && *dry, Prune: prune != nil && *prune})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 200, PlanResult{Plan: plan, Text: plan.String()})
	return nil
}

func (a *API) export(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	doc, err := a.Declarative.Export(r.Context(), actor)
	if err != nil {
		return err
	}
	b, err := doc.Marshal()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
	return nil
}
