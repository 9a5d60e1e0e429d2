package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
)

// UserListOptions selects users. Zero fields match everything.
type UserListOptions struct {
	UserName string // exact userName, case-insensitive
	Prefix   string // userName prefix, case-insensitive
	Email    string // exact email, case-insensitive
	Group    string // members of this group (id or displayName)
	Active   *bool  // only active (true) or only disabled (false) users
	Cursor   string // from a previous page's next cursor
	Limit    int    // page size; 0 means the server's default
}

func (o UserListOptions) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"userName": o.UserName, "prefix": o.Prefix, "email": o.Email, "group": o.Group} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if o.Active != nil {
		q.Set("active", strconv.FormatBool(*o.Active))
	}
	return pageQuery(q, o.Cursor, o.Limit)
}

// ListUsers returns one page of users and the cursor of the next page
// (empty on the last page).
func (c *Client) ListUsers(ctx context.Context, opts UserListOptions) ([]User, string, error) {
	var p Page[User]
	err := c.do(ctx, request{method: http.MethodGet, path: "/users", query: opts.query()}, &p)
	return p.Items, p.NextCursor, err
}

// AllUsers returns every user matching opts, following cursors from
// opts.Cursor; opts.Limit is the page size.
func (c *Client) AllUsers(ctx context.Context, opts UserListOptions) ([]User, error) {
	return collect(opts.Cursor, func(cursor string) ([]User, string, error) {
		opts.Cursor = cursor
		return c.ListUsers(ctx, opts)
	})
}

// GetUser returns the user with the given id or userName.
func (c *Client) GetUser(ctx context.Context, user string) (User, error) {
	key, err := pathKey("user", user)
	if err != nil {
		return User{}, err
	}
	var u User
	err = c.do(ctx, request{method: http.MethodGet, path: "/users/" + key}, &u)
	return u, err
}

// CreateUser creates u and returns it as stored. The server sets ID,
// ManagedBy, Created, LastModified and Version; they are not sent. Active is
// sent as given: set it to true for a user who may sign in.
func (c *Client) CreateUser(ctx context.Context, u User) (User, error) {
	body, err := withoutServerFields(u)
	if err != nil {
		return User{}, err
	}
	var out User
	err = c.do(ctx, request{method: http.MethodPost, path: "/users", body: body}, &out)
	return out, err
}

// withoutServerFields encodes u as a JSON object without the fields only the
// server sets.
func withoutServerFields(u User) (map[string]any, error) {
	b, err := json.Marshal(u)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for _, k := range []string{"id", "managedBy", "created", "lastModified", "version"} {
		delete(m, k)
	}
	if ent, ok := m["enterprise"].(map[string]any); ok {
		delete(ent, "managerName")
	}
	for _, k := range []string{"name", "enterprise"} {
		if obj, ok := m[k].(map[string]any); ok && len(obj) == 0 {
			delete(m, k)
		}
	}
	return m, nil
}

// UpdateUser applies a JSON merge patch (RFC 7396) to the user with the given
// id or userName, for example
//
//	map[string]any{"active": false}
//	map[string]any{"name": map[string]any{"givenName": "Ada"}, "title": "CTO"}
//
// Arrays (emails, phoneNumbers, ...) are replaced as a whole. When ifVersion
// is positive the update only succeeds if the user is still at that version;
// otherwise the server answers 409 Conflict.
func (c *Client) UpdateUser(ctx context.Context, user string, patch map[string]any, ifVersion int64) (User, error) {
	key, err := pathKey("user", user)
	if err != nil {
		return User{}, err
	}
	var u User
	err = c.do(ctx, request{method: http.MethodPatch, path: "/users/" + key, body: patch, ifVersion: ifVersion}, &u)
	return u, err
}

// DeleteUser deletes the user with the given id or userName.
func (c *Client) DeleteUser(ctx context.Context, user string) error {
	key, err := pathKey("user", user)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: "/users/" + key}, nil)
}

// SetPassword sets the sign-in password of the user with the given id or
// userName.
func (c *Client) SetPassword(ctx context.Context, user, password string) error {
	key, err := pathKey("user", user)
	if err != nil {
		return err
	}
	body := map[string]string{"password": password}
	return c.do(ctx, request{method: http.MethodPut, path: "/users/" + key + "/password", body: body}, nil)
}

// ActionResult reports what an action on a user did.
type ActionResult struct {
	UserID   string `json:"userId"`
	UserName string `json:"userName"`
	Result   string `json:"result"`
	Count    int    `json:"count,omitempty"`
}

func (c *Client) userAction(ctx context.Context, method, user, action string) (ActionResult, error) {
	key, err := pathKey("user", user)
	if err != nil {
		return ActionResult{}, err
	}
	var out ActionResult
	err = c.do(ctx, request{method: method, path: "/users/" + key + "/" + action}, &out)
	return out, err
}

// SendInvitation emails the user a single-use link to set a password.
func (c *Client) SendInvitation(ctx context.Context, user string) (ActionResult, error) {
	return c.userAction(ctx, http.MethodPost, user, "invitation")
}

// ForcePasswordReset removes the user's password, signs them out everywhere
// and emails them a reset link.
func (c *Client) ForcePasswordReset(ctx context.Context, user string) (ActionResult, error) {
	return c.userAction(ctx, http.MethodPost, user, "password-reset")
}

// UnlockUser clears a lockout after failed sign-ins.
func (c *Client) UnlockUser(ctx context.Context, user string) (ActionResult, error) {
	return c.userAction(ctx, http.MethodPost, user, "unlock")
}

// EndUserSessions signs the user out of every browser.
func (c *Client) EndUserSessions(ctx context.Context, user string) (ActionResult, error) {
	return c.userAction(ctx, http.MethodDelete, user, "sessions")
}
