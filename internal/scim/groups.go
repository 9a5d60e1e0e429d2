package scim

import (
	"context"
	"net/http"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
)

func (h *Handler) groupFinder(ctx context.Context, actor audit.Actor, withMembers bool) finder[directory.Group] {
	return finder[directory.Group]{
		query: func(q directory.Query) ([]directory.Group, error) { return h.Directory.QueryGroups(ctx, actor, q) },
		count: func(p directory.Pred) (int, error) { return h.Directory.CountGroups(ctx, actor, p) },
		object: func(g directory.Group) object {
			// Filters on members (other than members[value eq …], which the
			// store answers) need them loaded.
			var members []directory.Member
			if withMembers {
				members, _ = h.Directory.MemberIDs(ctx, actor, g.ID)
			}
			return groupObject(g, members, h.base())
		},
	}
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	p, err := queryParams(r)
	if err != nil {
		return err
	}
	return h.findGroups(w, r, actor, p)
}

func (h *Handler) searchGroups(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	p, err := searchParams(r)
	if err != nil {
		return err
	}
	return h.findGroups(w, r, actor, p)
}

func (h *Handler) findGroups(w http.ResponseWriter, r *http.Request, actor audit.Actor, p listParams) error {
	if err := checkSort(groupType, p); err != nil {
		return err
	}
	var n node
	if p.Filter != "" {
		var err error
		if n, err = parseFilter(groupType, p.Filter); err != nil {
			return err
		}
	}
	proj := parseProjection(groupType, p.Attributes, p.ExcludedAttributes)
	start, count := p.window()
	rows, total, err := h.groupFinder(r.Context(), actor, n != nil && mentions(n, "members")).find(n, start, count)
	if err != nil {
		return err
	}
	withMembers := proj.wants(groupSchema, "members", true)
	items := make([]object, 0, len(rows))
	for _, g := range rows {
		var members []directory.Member
		if withMembers {
			if members, err = h.Directory.MemberIDs(r.Context(), actor, g.ID); err != nil {
				return err
			}
		}
		items = append(items, proj.apply(groupType, groupObject(g, members, h.base())))
	}
	writeJSON(w, http.StatusOK, listResponse(items, total, start))
	return nil
}

// mentions reports whether the filter looks at attribute name.
func mentions(n node, name string) bool {
	switch n := n.(type) {
	case *logicNode:
		return mentions(n.l, name) || mentions(n.r, name)
	case *notNode:
		return mentions(n.n, name)
	case *valuePathNode:
		return n.ref.attr.Name == name
	case *cmpNode:
		return n.ref.attr.Name == name
	}
	return false
}

func (h *Handler) respondGroup(w http.ResponseWriter, r *http.Request, actor audit.Actor, g directory.Group, status int) error {
	p, err := queryParams(r)
	if err != nil {
		return err
	}
	proj := parseProjection(groupType, p.Attributes, p.ExcludedAttributes)
	var members []directory.Member
	if proj.wants(groupSchema, "members", true) {
		if members, err = h.Directory.MemberIDs(r.Context(), actor, g.ID); err != nil {
			return err
		}
	}
	location := ""
	if status == http.StatusCreated {
		location = h.base() + "/Groups/" + g.ID
	}
	writeResource(w, status, proj.apply(groupType, groupObject(g, members, h.base())), g.Version, location)
	return nil
}

// loadGroup returns a group by SCIM id (never by display name).
func (h *Handler) loadGroup(ctx context.Context, actor audit.Actor, id string) (directory.Group, error) {
	g, err := h.Directory.GetGroup(ctx, actor, id)
	if err == nil && g.ID != id {
		return g, errorf(http.StatusNotFound, "", "resource not found")
	}
	return g, err
}

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	g, err := h.loadGroup(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	if notModified(w, r, g.Version) {
		return nil
	}
	return h.respondGroup(w, r, actor, g, http.StatusOK)
}

// groupFromBody builds the object of a POST or PUT body.
func groupFromBody(body object) (object, error) {
	obj := object{}
	p := &patcher{rt: groupType, obj: obj, ignoreReadOnly: true}
	if err := p.applyObject("replace", "", body); err != nil {
		return nil, err
	}
	if getString(obj, "displayName") == "" {
		return nil, errorf(http.StatusBadRequest, "invalidValue", "displayName is required")
	}
	return obj, nil
}

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	var body object
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	obj, err := groupFromBody(body)
	if err != nil {
		return err
	}
	g := directory.Group{DisplayName: getString(obj, "displayName"), ExternalID: getString(obj, "externalId"), ManagedBy: directory.ManagedBySCIM}
	g, err = h.Directory.CreateGroup(r.Context(), actor, g, memberIDs(obj))
	if err != nil {
		return err
	}
	return h.respondGroup(w, r, actor, g, http.StatusCreated)
}

// changeGroup writes the difference between before and after: changed
// attributes, and members added and removed (as row inserts and deletes, so
// concurrent changes to one group's members never undo each other).
func (h *Handler) changeGroup(r *http.Request, actor audit.Actor, g directory.Group, ifVersion int64, before, after object) (directory.Group, error) {
	var mutate func(*directory.Group) error
	name, ext := getString(after, "displayName"), getString(after, "externalId")
	if name != getString(before, "displayName") || ext != getString(before, "externalId") {
		mutate = func(cur *directory.Group) error {
			if name != getString(before, "displayName") {
				cur.DisplayName = name
			}
			if ext != getString(before, "externalId") {
				cur.ExternalID = ext
			}
			cur.ManagedBy = directory.ManagedBySCIM
			return nil
		}
	}
	if name == "" {
		return g, errorf(http.StatusBadRequest, "mutability", "displayName is required and cannot be removed")
	}
	old, next := memberIDs(before), memberIDs(after)
	add, remove := diffIDs(old, next), diffIDs(next, old)
	if mutate == nil && len(add) == 0 && len(remove) == 0 {
		return g, nil
	}
	return h.Directory.ChangeGroup(r.Context(), actor, g.ID, ifVersion, mutate, add, remove)
}

// diffIDs returns the ids in b that are not in a.
func diffIDs(a, b []string) []string {
	in := make(map[string]bool, len(a))
	for _, id := range a {
		in[id] = true
	}
	var out []string
	for _, id := range b {
		if !in[id] {
			out = append(out, id)
		}
	}
	return out
}

// currentGroup loads a group and its members as a SCIM object.
func (h *Handler) currentGroup(r *http.Request, actor audit.Actor) (directory.Group, object, int64, error) {
	ifVersion, err := ifMatch(r)
	if err != nil {
		return directory.Group{}, nil, 0, err
	}
	g, err := h.loadGroup(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		return g, nil, 0, err
	}
	if ifVersion != 0 && ifVersion != g.Version {
		return g, nil, 0, errorf(http.StatusPreconditionFailed, "", "the resource is at version %s", etag(g.Version))
	}
	members, err := h.Directory.MemberIDs(r.Context(), actor, g.ID)
	if err != nil {
		return g, nil, 0, err
	}
	if members == nil {
		members = []directory.Member{}
	}
	return g, groupObject(g, members, h.base()), ifVersion, nil
}

func (h *Handler) replaceGroup(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	var body object
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	after, err := groupFromBody(body)
	if err != nil {
		return err
	}
	g, before, ifVersion, err := h.currentGroup(r, actor)
	if err != nil {
		return err
	}
	if id, ok := body["id"].(string); ok && id != "" && id != g.ID {
		return errorf(http.StatusBadRequest, "mutability", "id %q does not match the resource", id)
	}
	if g, err = h.changeGroup(r, actor, g, ifVersion, before, after); err != nil {
		return err
	}
	return h.respondGroup(w, r, actor, g, http.StatusOK)
}

func (h *Handler) patchGroup(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	var req patchRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		g, before, ifVersion, err := h.currentGroup(r, actor)
		if err != nil {
			return err
		}
		after := cloneObject(before)
		p := &patcher{rt: groupType, obj: after}
		if err := p.applyOps(req); err != nil {
			return err
		}
		g, err = h.changeGroup(r, actor, g, ifVersion, before, after)
		if retryable(r.Context(), err, ifVersion, attempt) {
			continue
		}
		if err != nil {
			return err
		}
		// Entra ID, Okta and AWS answer group PATCH with 204 unless the
		// client asks for attributes back.
		if r.URL.Query().Get("attributes") == "" && r.URL.Query().Get("excludedAttributes") == "" {
			w.Header().Set("ETag", etag(g.Version))
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		return h.respondGroup(w, r, actor, g, http.StatusOK)
	}
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	ifVersion, err := ifMatch(r)
	if err != nil {
		return err
	}
	g, err := h.loadGroup(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	if ifVersion != 0 && ifVersion != g.Version {
		return errorf(http.StatusPreconditionFailed, "", "the resource is at version %s", etag(g.Version))
	}
	if err := h.Directory.DeleteGroup(r.Context(), actor, g.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// cloneObject deep-copies a JSON object.
func cloneObject(o object) object {
	out := make(object, len(o))
	for k, v := range o {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case object:
		return cloneObject(v)
	case []any:
		arr := make([]any, len(v))
		for i, x := range v {
			arr[i] = cloneValue(x)
		}
		return arr
	}
	return v
}
