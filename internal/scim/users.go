package scim

import (
	"context"
	"net/http"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
)

func (h *Handler) userFinder(ctx context.Context, actor audit.Actor) finder[directory.User] {
	return finder[directory.User]{
		query: func(q directory.Query) ([]directory.User, error) { return h.Directory.QueryUsers(ctx, actor, q) },
		count: func(p directory.Pred) (int, error) { return h.Directory.CountUsers(ctx, actor, p) },
		object: func(u directory.User) object {
			return userObject(u, h.base())
		},
	}
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	p, err := queryParams(r)
	if err != nil {
		return err
	}
	return h.findUsers(w, r, actor, p)
}

func (h *Handler) searchUsers(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	p, err := searchParams(r)
	if err != nil {
		return err
	}
	return h.findUsers(w, r, actor, p)
}

func (h *Handler) findUsers(w http.ResponseWriter, r *http.Request, actor audit.Actor, p listParams) error {
	if err := checkSort(userType, p); err != nil {
		return err
	}
	var n node
	if p.Filter != "" {
		var err error
		if n, err = parseFilter(userType, p.Filter); err != nil {
			return err
		}
	}
	proj := parseProjection(userType, p.Attributes, p.ExcludedAttributes)
	start, count := p.window()
	rows, total, err := h.userFinder(r.Context(), actor).find(n, start, count)
	if err != nil {
		return err
	}
	// groups are listed only when asked for: one more query per user.
	withGroups := len(proj.include) > 0 && proj.wants(userSchema, "groups", false)
	items := make([]object, 0, len(rows))
	for _, u := range rows {
		obj, err := h.renderUser(r.Context(), actor, u, withGroups)
		if err != nil {
			return err
		}
		items = append(items, proj.apply(userType, obj))
	}
	writeJSON(w, http.StatusOK, listResponse(items, total, start))
	return nil
}

// renderUser is u as a SCIM object, with its groups when asked.
func (h *Handler) renderUser(ctx context.Context, actor audit.Actor, u directory.User, withGroups bool) (object, error) {
	obj := userObject(u, h.base())
	if !withGroups {
		return obj, nil
	}
	groups, err := h.Directory.QueryGroups(ctx, actor, directory.Query{
		Where: directory.Cmp(directory.FieldMember, "eq", u.ID), Limit: MaxResults,
	})
	if err != nil {
		return nil, err
	}
	if len(groups) > 0 {
		list := make([]any, 0, len(groups))
		for _, g := range groups {
			list = append(list, object{"value": g.ID, "$ref": h.base() + "/Groups/" + g.ID, "display": g.DisplayName, "type": "direct"})
		}
		obj["groups"] = list
	}
	return obj, nil
}

// respondUser writes one user, projected by the request's query parameters.
func (h *Handler) respondUser(w http.ResponseWriter, r *http.Request, actor audit.Actor, u directory.User, status int) error {
	p, err := queryParams(r)
	if err != nil {
		return err
	}
	proj := parseProjection(userType, p.Attributes, p.ExcludedAttributes)
	obj, err := h.renderUser(r.Context(), actor, u, proj.wants(userSchema, "groups", true))
	if err != nil {
		return err
	}
	location := ""
	if status == http.StatusCreated {
		location = h.base() + "/Users/" + u.ID
	}
	writeResource(w, status, proj.apply(userType, obj), u.Version, location)
	return nil
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	u, err := h.Directory.GetUser(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	if u.ID != r.PathValue("id") {
		// The directory also resolves userNames; SCIM ids are ids.
		return errorf(http.StatusNotFound, "", "resource not found")
	}
	if notModified(w, r, u.Version) {
		return nil
	}
	return h.respondUser(w, r, actor, u, http.StatusOK)
}

// userFromBody builds a user from a POST or PUT body onto base.
func userFromBody(body object, base *directory.User) error {
	obj := object{}
	p := &patcher{rt: userType, obj: obj, ignoreReadOnly: true}
	if err := p.applyObject("replace", "", body); err != nil {
		return err
	}
	applyUserObject(obj, base)
	base.ManagedBy = directory.ManagedBySCIM
	return nil
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	var body object
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	var u directory.User
	if err := userFromBody(body, &u); err != nil {
		return err
	}
	if u.UserName == "" {
		return errorf(http.StatusBadRequest, "invalidValue", "userName is required")
	}
	u, err := h.Directory.CreateUser(r.Context(), actor, u)
	if err != nil {
		return err
	}
	return h.respondUser(w, r, actor, u, http.StatusCreated)
}

// updateUser runs mutate on the user in a transaction, retrying a lost race
// when the client did not pin a version.
func (h *Handler) updateUser(r *http.Request, actor audit.Actor, mutate func(*directory.User) error) (directory.User, error) {
	ifVersion, err := ifMatch(r)
	if err != nil {
		return directory.User{}, err
	}
	id := r.PathValue("id")
	if _, err := h.Directory.GetUser(r.Context(), actor, id); err != nil {
		return directory.User{}, err
	}
	for attempt := 0; ; attempt++ {
		u, err := h.Directory.UpdateUser(r.Context(), actor, id, ifVersion, mutate)
		if err == nil && u.ID != id {
			return directory.User{}, errorf(http.StatusNotFound, "", "resource not found")
		}
		if retryable(r.Context(), err, ifVersion, attempt) {
			continue
		}
		return u, err
	}
}

func (h *Handler) replaceUser(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	var body object
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	u, err := h.updateUser(r, actor, func(u *directory.User) error {
		// A PUT carries the whole resource; "id" in it must be this one.
		if id, ok := body["id"].(string); ok && id != "" && id != u.ID {
			return errorf(http.StatusBadRequest, "mutability", "id %q does not match the resource", id)
		}
		return userFromBody(body, u)
	})
	if err != nil {
		return err
	}
	return h.respondUser(w, r, actor, u, http.StatusOK)
}

func (h *Handler) patchUser(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	var req patchRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	base := h.base()
	u, err := h.updateUser(r, actor, func(u *directory.User) error {
		obj := userObject(*u, base)
		p := &patcher{rt: userType, obj: obj}
		if err := p.applyOps(req); err != nil {
			return err
		}
		applyUserObject(obj, u)
		u.ManagedBy = directory.ManagedBySCIM
		return nil
	})
	if err != nil {
		return err
	}
	return h.respondUser(w, r, actor, u, http.StatusOK)
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	ifVersion, err := ifMatch(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	u, err := h.Directory.GetUser(r.Context(), actor, id)
	if err != nil {
		return err
	}
	if u.ID != id {
		return errorf(http.StatusNotFound, "", "resource not found")
	}
	if ifVersion != 0 && ifVersion != u.Version {
		return errorf(http.StatusPreconditionFailed, "", "the resource is at version %s", etag(u.Version))
	}
	if err := h.Directory.DeleteUser(r.Context(), actor, u.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
