package client

import (
	"context"
	"net/http"
	"net/url"
)

// GroupListOptions selects groups. Zero fields match everything.
type GroupListOptions struct {
	DisplayName string // exact displayName, case-insensitive
	Prefix      string // displayName prefix, case-insensitive
	Member      string // groups this user (id or userName) belongs to
	Cursor      string
	Limit       int
}

// PageOptions selects a page of a list that has no other filters.
type PageOptions struct {
	Cursor string
	Limit  int
}

// ListGroups returns one page of groups and the cursor of the next page.
func (c *Client) ListGroups(ctx context.Context, opts GroupListOptions) ([]Group, string, error) {
	q := url.Values{}
	for k, v := range map[string]string{"displayName": opts.DisplayName, "prefix": opts.Prefix, "member": opts.Member} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var p Page[Group]
	err := c.do(ctx, request{method: http.MethodGet, path: "/groups", query: pageQuery(q, opts.Cursor, opts.Limit)}, &p)
	return p.Items, p.NextCursor, err
}

// AllGroups returns every group matching opts, following cursors.
func (c *Client) AllGroups(ctx context.Context, opts GroupListOptions) ([]Group, error) {
	return collect(opts.Cursor, func(cursor string) ([]Group, string, error) {
		opts.Cursor = cursor
		return c.ListGroups(ctx, opts)
	})
}

// GetGroup returns the group with the given id or displayName.
func (c *Client) GetGroup(ctx context.Context, group string) (Group, error) {
	key, err := pathKey("group", group)
	if err != nil {
		return Group{}, err
	}
	var g Group
	err = c.do(ctx, request{method: http.MethodGet, path: "/groups/" + key}, &g)
	return g, err
}

// createGroupRequest is the body of POST /groups.
type createGroupRequest struct {
	DisplayName string   `json:"displayName"`
	Description string   `json:"description,omitempty"`
	ExternalID  string   `json:"externalId,omitempty"`
	Members     []string `json:"members,omitempty"`
}

// CreateGroup creates a group from g's DisplayName, Description and
// ExternalID, with the given members (user ids or userNames).
func (c *Client) CreateGroup(ctx context.Context, g Group, members []string) (Group, error) {
	body := createGroupRequest{DisplayName: g.DisplayName, Description: g.Description, ExternalID: g.ExternalID, Members: members}
	var out Group
	err := c.do(ctx, request{method: http.MethodPost, path: "/groups", body: body}, &out)
	return out, err
}

// UpdateGroup applies a JSON merge patch of displayName, description and
// externalId to the group. When ifVersion is positive the update only
// succeeds if the group is still at that version (409 Conflict otherwise).
func (c *Client) UpdateGroup(ctx context.Context, group string, patch map[string]any, ifVersion int64) (Group, error) {
	key, err := pathKey("group", group)
	if err != nil {
		return Group{}, err
	}
	var g Group
	err = c.do(ctx, request{method: http.MethodPatch, path: "/groups/" + key, body: patch, ifVersion: ifVersion}, &g)
	return g, err
}

// DeleteGroup deletes the group (its members' accounts are untouched).
func (c *Client) DeleteGroup(ctx context.Context, group string) error {
	key, err := pathKey("group", group)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: "/groups/" + key}, nil)
}

// ListMembers returns one page of the group's members and the next cursor.
func (c *Client) ListMembers(ctx context.Context, group string, opts PageOptions) ([]Member, string, error) {
	key, err := pathKey("group", group)
	if err != nil {
		return nil, "", err
	}
	var p Page[Member]
	err = c.do(ctx, request{method: http.MethodGet, path: "/groups/" + key + "/members",
		query: pageQuery(url.Values{}, opts.Cursor, opts.Limit)}, &p)
	return p.Items, p.NextCursor, err
}

// AllMembers returns every member of the group, following cursors.
func (c *Client) AllMembers(ctx context.Context, group string, opts PageOptions) ([]Member, error) {
	return collect(opts.Cursor, func(cursor string) ([]Member, string, error) {
		opts.Cursor = cursor
		return c.ListMembers(ctx, group, opts)
	})
}

// AddMembers adds users (ids or userNames) to the group and returns the
// updated group. Users already in the group are left as they are.
func (c *Client) AddMembers(ctx context.Context, group string, users []string) (Group, error) {
	key, err := pathKey("group", group)
	if err != nil {
		return Group{}, err
	}
	body := map[string][]string{"users": users}
	var g Group
	err = c.do(ctx, request{method: http.MethodPost, path: "/groups/" + key + "/members", body: body}, &g)
	return g, err
}

// RemoveMember removes one user (id or userName) from the group.
func (c *Client) RemoveMember(ctx context.Context, group, user string) error {
	gkey, err := pathKey("group", group)
	if err != nil {
		return err
	}
	ukey, err := pathKey("user", user)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: "/groups/" + gkey + "/members/" + ukey}, nil)
}
