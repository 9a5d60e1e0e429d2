package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/httpx"
	"github.com/idcenter/idcenter/internal/web"
)

type groupsPage struct {
	frame
	Query       string
	Groups      []directory.Group
	Next, First string
}

func (c *Console) listGroups(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	d := groupsPage{frame: newFrame("Groups"), Query: query(r, "q")}
	f := directory.GroupFilter{Prefix: d.Query, Cursor: query(r, "cursor"), Limit: pageSize}
	groups, next, err := c.Directory.ListGroups(r.Context(), actor, f)
	if f.Cursor != "" {
		d.First = pageURL("/console/groups", "q", d.Query)
	}
	var inv *errs.Invalid
	switch {
	case errors.As(err, &inv):
		c.render(w, r, http.StatusBadRequest, "console_groups", web.Page{Title: "Groups", Error: "This page link is not valid any more. Start again from the first page.", Data: d})
		return
	case err != nil:
		c.Fail(w, r, err)
		return
	}
	d.Groups = groups
	if next != "" {
		d.Next = pageURL("/console/groups", "q", d.Query, "cursor", next)
	}
	c.render(w, r, http.StatusOK, "console_groups", web.Page{Title: "Groups", Data: d})
}

// groupForm is what the group create and edit forms post.
type groupForm struct {
	DisplayName, Description string
	Version                  int64
}

var groupFields = map[string]field{
	"displayName": {"display-name", "Name"},
	"description": {"description", "Description"},
}

func parseGroupForm(r *http.Request) (groupForm, error) {
	f := groupForm{DisplayName: r.PostFormValue("displayName"), Description: r.PostFormValue("description")}
	if v := r.PostFormValue("version"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return f, httpx.Badf("the form's version field is not valid")
		}
		f.Version = n
	}
	return f, nil
}

type groupPage struct {
	frame
	New    bool
	Group  directory.Group
	Form   groupForm
	Errors map[string]string // per input id

	Members     []directory.Member
	MemberName  string // the username typed into the add-member form
	Next, First string // member paging
	// Provisioned: the group is managed by an identity provider through
	// SCIM; the page warns that its next sync overwrites hand edits.
	Provisioned bool
}

func (c *Console) newGroup(w http.ResponseWriter, r *http.Request, _ audit.Actor) {
	c.render(w, r, http.StatusOK, "console_group", web.Page{Title: "New group", Data: groupPage{frame: newFrame("Groups"), New: true}})
}

func (c *Console) createGroup(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	f, err := parseGroupForm(r)
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	g, err := c.Directory.CreateGroup(r.Context(), actor, directory.Group{DisplayName: f.DisplayName, Description: f.Description}, nil)
	if fields, general, status, ok := formError(err, groupFields); ok {
		c.render(w, r, status, "console_group", web.Page{Title: "New group", Error: general,
			Data: groupPage{frame: newFrame("Groups"), New: true, Form: f, Errors: fields}})
		return
	}
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, groupPath(g.ID), "group-created")
}

func (c *Console) showGroup(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	c.renderGroup(w, r, actor, http.StatusOK, nil, nil, "", "")
}

// renderGroup shows the group named by the path with its edit form (form,
// or the stored values when nil), a page of members and errors.
func (c *Console) renderGroup(w http.ResponseWriter, r *http.Request, actor audit.Actor, status int, form *groupForm,
	fields map[string]string, errText, memberName string) {
	ctx := r.Context()
	g, err := c.Directory.GetGroup(ctx, actor, r.PathValue("id"))
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	d := groupPage{frame: newFrame("Groups"), Group: g, Form: groupForm{DisplayName: g.DisplayName, Description: g.Description, Version: g.Version},
		Errors: fields, MemberName: memberName, Provisioned: g.ManagedBy == directory.ManagedBySCIM}
	if form != nil {
		d.Form = *form
	}
	cursor := query(r, "cursor")
	members, next, err := c.Directory.ListMembers(ctx, actor, g.ID, cursor, pageSize)
	var inv *errs.Invalid
	switch {
	case errors.As(err, &inv):
		cursor, errText, status = "", "This page link is not valid any more. Start again from the first page.", http.StatusBadRequest
	case err != nil:
		c.Fail(w, r, err)
		return
	}
	d.Members = members
	if cursor != "" {
		d.First = groupPath(g.ID)
	}
	if next != "" {
		d.Next = pageURL(groupPath(g.ID), "cursor", next)
	}
	c.render(w, r, status, "console_group", web.Page{Title: g.DisplayName, Error: errText, Data: d})
}

func (c *Console) updateGroup(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	f, err := parseGroupForm(r)
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	g, err := c.Directory.UpdateGroup(r.Context(), actor, r.PathValue("id"), f.Version, func(g *directory.Group) error {
		g.DisplayName, g.Description = f.DisplayName, f.Description
		return nil
	})
	if fields, general, status, ok := formError(err, groupFields); ok {
		c.renderGroup(w, r, actor, status, &f, fields, general, "")
		return
	}
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, groupPath(g.ID), "group-saved")
}

func (c *Console) confirmDeleteGroup(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	g, err := c.Directory.GetGroup(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "console_confirm", web.Page{Title: "Delete group", Data: confirmPage{frame: newFrame("Groups"),
		Kind: "group", Name: g.DisplayName, Action: groupPath(g.ID) + "/delete", Cancel: groupPath(g.ID)}})
}

func (c *Console) deleteGroup(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	if err := c.Directory.DeleteGroup(r.Context(), actor, r.PathValue("id")); err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, "/console/groups", "group-deleted")
}

func (c *Console) addGroupMember(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	name := strings.TrimSpace(r.PostFormValue("username"))
	if name == "" || len(name) > 4*directory.MaxUserNameLen {
		c.renderGroup(w, r, actor, http.StatusBadRequest, nil, map[string]string{"member-username": "Enter a username."}, "Enter the username of the user to add.", name)
		return
	}
	g, err := c.Directory.AddMembers(r.Context(), actor, r.PathValue("id"), []string{name})
	var inv *errs.Invalid
	if errors.As(err, &inv) {
		text := "There is no user " + quoted(name) + "."
		c.renderGroup(w, r, actor, http.StatusBadRequest, nil, map[string]string{"member-username": text}, text, name)
		return
	}
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, groupPath(g.ID), "member-added")
}

func (c *Console) removeGroupMember(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	g, err := c.Directory.RemoveMembers(r.Context(), actor, r.PathValue("id"), []string{r.PathValue("user")})
	if err != nil {
		c.Fail(w, r, err)
		return
	}
	redirect(w, r, groupPath(g.ID), "member-removed")
}

// quoted quotes a user-typed name for a message (the template
// escapes it for HTML).
func quoted(s string) string { return "“" + s + "”" }
