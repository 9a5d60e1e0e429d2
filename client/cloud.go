package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Account is an AWS account that trusts idcenter as a SAML identity
// provider. ID is the 12-digit AWS account id, chosen when the account is
// created and never changed. ManagedBy, Created, LastModified and Version
// are set by the server.
type Account struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// SAMLProvider is the name of the IAM SAML provider in the account
	// (default "idcenter").
	SAMLProvider  string `json:"samlProvider,omitempty"`
	DefaultRegion string `json:"defaultRegion,omitempty"`
	// STSRegion selects the regional STS endpoint; STSEndpoint overrides it.
	STSRegion   string `json:"stsRegion,omitempty"`
	STSEndpoint string `json:"stsEndpoint,omitempty"`
	// SignInURL is the AWS sign-in endpoint (default
	// https://signin.aws.amazon.com/saml, or a regional one).
	SignInURL string `json:"signInUrl,omitempty"`
	// AppID is the SAML application whose key signs the account's
	// assertions; empty means the instance's AWS application.
	AppID        string    `json:"appId,omitempty"`
	ManagedBy    string    `json:"managedBy,omitempty"`
	Created      time.Time `json:"created"`
	LastModified time.Time `json:"lastModified"`
	Version      int64     `json:"version"`
}

// PolicyRef names a customer managed policy; Path defaults to "/".
type PolicyRef struct {
	Name string `json:"name"`
	Path string `json:"path,omitempty"`
}

// Boundary is a permissions boundary: an AWS managed policy ARN or a
// customer managed policy, not both.
type Boundary struct {
	ManagedPolicyARN string     `json:"managedPolicyArn,omitempty"`
	CustomerPolicy   *PolicyRef `json:"customerPolicy,omitempty"`
}

// Tag is a key/value tag of the IAM role.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// PermissionSet is a role template: the same IAM role is created in every
// account it is assigned in. ID, IAMRoleName, ManagedBy, Created,
// LastModified and Version are set by the server.
type PermissionSet struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// SessionDuration is ISO 8601, PT1H (the default) to PT12H.
	SessionDuration  string      `json:"sessionDuration,omitempty"`
	RelayState       string      `json:"relayState,omitempty"`
	ManagedPolicies  []string    `json:"managedPolicies,omitempty"`
	CustomerPolicies []PolicyRef `json:"customerPolicies,omitempty"`
	InlinePolicy     string      `json:"inlinePolicy,omitempty"` // a JSON policy document
	Boundary         *Boundary   `json:"permissionsBoundary,omitempty"`
	Tags             []Tag       `json:"tags,omitempty"`
	// RoleName overrides the IAM role name; IAMRoleName is the name in
	// effect (RoleName, else idcenter-<Name>).
	RoleName     string    `json:"roleName,omitempty"`
	IAMRoleName  string    `json:"iamRoleName,omitempty"`
	ManagedBy    string    `json:"managedBy,omitempty"`
	Created      time.Time `json:"created"`
	LastModified time.Time `json:"lastModified"`
	Version      int64     `json:"version"`
}

// AccountAssignment gives a user, or every member of a group, a
// permission set in an account.
type AccountAssignment struct {
	AccountID       string    `json:"accountId"`
	PermissionSetID string    `json:"permissionSetId"`
	PermissionSet   string    `json:"permissionSet"` // its name
	PrincipalType   string    `json:"principalType"` // PrincipalUser or PrincipalGroup
	PrincipalID     string    `json:"principalId"`
	PrincipalName   string    `json:"principalName"`
	Created         time.Time `json:"created"`
}

// accountBody is the body of POST /accounts: the fields a caller sets.
type accountBody struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Description   string `json:"description,omitempty"`
	SAMLProvider  string `json:"samlProvider,omitempty"`
	DefaultRegion string `json:"defaultRegion,omitempty"`
	STSRegion     string `json:"stsRegion,omitempty"`
	STSEndpoint   string `json:"stsEndpoint,omitempty"`
	SignInURL     string `json:"signInUrl,omitempty"`
	AppID         string `json:"appId,omitempty"`
}

// permissionSetBody is the body of POST /permission-sets.
type permissionSetBody struct {
	Name             string      `json:"name"`
	Description      string      `json:"description,omitempty"`
	SessionDuration  string      `json:"sessionDuration,omitempty"`
	RelayState       string      `json:"relayState,omitempty"`
	ManagedPolicies  []string    `json:"managedPolicies,omitempty"`
	CustomerPolicies []PolicyRef `json:"customerPolicies,omitempty"`
	InlinePolicy     string      `json:"inlinePolicy,omitempty"`
	Boundary         *Boundary   `json:"permissionsBoundary,omitempty"`
	Tags             []Tag       `json:"tags,omitempty"`
	RoleName         string      `json:"roleName,omitempty"`
}

// ListAccounts returns every account, in name order.
func (c *Client) ListAccounts(ctx context.Context) ([]Account, error) {
	var p Page[Account]
	err := c.do(ctx, request{method: http.MethodGet, path: "/accounts"}, &p)
	return p.Items, err
}

// GetAccount returns the account with the given 12-digit id or name.
func (c *Client) GetAccount(ctx context.Context, account string) (Account, error) {
	key, err := pathKey("account", account)
	if err != nil {
		return Account{}, err
	}
	var a Account
	err = c.do(ctx, request{method: http.MethodGet, path: "/accounts/" + key}, &a)
	return a, err
}

// CreateAccount registers an AWS account from a's ID, Name and settings;
// empty settings take the server's defaults.
func (c *Client) CreateAccount(ctx context.Context, a Account) (Account, error) {
	body := accountBody{ID: a.ID, Name: a.Name, Description: a.Description, SAMLProvider: a.SAMLProvider,
		DefaultRegion: a.DefaultRegion, STSRegion: a.STSRegion, STSEndpoint: a.STSEndpoint, SignInURL: a.SignInURL, AppID: a.AppID}
	var out Account
	err := c.do(ctx, request{method: http.MethodPost, path: "/accounts", body: body}, &out)
	return out, err
}

// UpdateAccount applies a JSON merge patch (RFC 7396) to the account, for
// example map[string]any{"stsRegion": "eu-west-1"} or {"stsEndpoint": nil}
// to remove one. When ifVersion is positive the update only succeeds if
// the account is still at that version (409 Conflict otherwise).
func (c *Client) UpdateAccount(ctx context.Context, account string, patch map[string]any, ifVersion int64) (Account, error) {
	key, err := pathKey("account", account)
	if err != nil {
		return Account{}, err
	}
	var a Account
	err = c.do(ctx, request{method: http.MethodPatch, path: "/accounts/" + key, body: patch, ifVersion: ifVersion}, &a)
	return a, err
}

// DeleteAccount deletes the account and its assignments.
func (c *Client) DeleteAccount(ctx context.Context, account string) error {
	key, err := pathKey("account", account)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: "/accounts/" + key}, nil)
}

// ListPermissionSets returns every permission set, in name order.
func (c *Client) ListPermissionSets(ctx context.Context) ([]PermissionSet, error) {
	var p Page[PermissionSet]
	err := c.do(ctx, request{method: http.MethodGet, path: "/permission-sets"}, &p)
	return p.Items, err
}

// GetPermissionSet returns the permission set with the given id or name.
func (c *Client) GetPermissionSet(ctx context.Context, ps string) (PermissionSet, error) {
	key, err := pathKey("permission set", ps)
	if err != nil {
		return PermissionSet{}, err
	}
	var p PermissionSet
	err = c.do(ctx, request{method: http.MethodGet, path: "/permission-sets/" + key}, &p)
	return p, err
}

// CreatePermissionSet creates a permission set from p's Name and settings
// (the server's fields are not sent).
func (c *Client) CreatePermissionSet(ctx context.Context, p PermissionSet) (PermissionSet, error) {
	body := permissionSetBody{Name: p.Name, Description: p.Description, SessionDuration: p.SessionDuration,
		RelayState: p.RelayState, ManagedPolicies: p.ManagedPolicies, CustomerPolicies: p.CustomerPolicies,
		InlinePolicy: p.InlinePolicy, Boundary: p.Boundary, Tags: p.Tags, RoleName: p.RoleName}
	var out PermissionSet
	err := c.do(ctx, request{method: http.MethodPost, path: "/permission-sets", body: body}, &out)
	return out, err
}

// UpdatePermissionSet applies a JSON merge patch (RFC 7396) to the
// permission set, for example map[string]any{"sessionDuration": "PT8H"}.
// Lists are replaced as a whole; a boundary given as {"managedPolicyArn":
// …} needs "customerPolicy": nil to replace a customer policy. When
// ifVersion is positive the update only succeeds if the permission set is
// still at that version (409 Conflict otherwise).
func (c *Client) UpdatePermissionSet(ctx context.Context, ps string, patch map[string]any, ifVersion int64) (PermissionSet, error) {
	key, err := pathKey("permission set", ps)
	if err != nil {
		return PermissionSet{}, err
	}
	var p PermissionSet
	err = c.do(ctx, request{method: http.MethodPatch, path: "/permission-sets/" + key, body: patch, ifVersion: ifVersion}, &p)
	return p, err
}

// DeletePermissionSet deletes the permission set and its assignments.
func (c *Client) DeletePermissionSet(ctx context.Context, ps string) error {
	key, err := pathKey("permission set", ps)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: "/permission-sets/" + key}, nil)
}

// ListAccountAssignments lists the assignments of one account (id or name).
func (c *Client) ListAccountAssignments(ctx context.Context, account string) ([]AccountAssignment, error) {
	key, err := pathKey("account", account)
	if err != nil {
		return nil, err
	}
	var p Page[AccountAssignment]
	err = c.do(ctx, request{method: http.MethodGet, path: "/accounts/" + key + "/assignments"}, &p)
	return p.Items, err
}

// AllAccountAssignments lists the assignments of every account.
func (c *Client) AllAccountAssignments(ctx context.Context) ([]AccountAssignment, error) {
	var p Page[AccountAssignment]
	err := c.do(ctx, request{method: http.MethodGet, path: "/account-assignments"}, &p)
	return p.Items, err
}

// AssignAccount gives a user or a group (principalType PrincipalUser or
// PrincipalGroup; principal an id or name) the permission set (id or name)
// in the account (id or name). Assigning twice is not an error.
func (c *Client) AssignAccount(ctx context.Context, account, permissionSet, principalType, principal string) (AccountAssignment, error) {
	key, err := pathKey("account", account)
	if err != nil {
		return AccountAssignment{}, err
	}
	body := map[string]string{"permissionSet": permissionSet, "principalType": principalType, "principal": principal}
	var out AccountAssignment
	err = c.do(ctx, request{method: http.MethodPost, path: "/accounts/" + key + "/assignments", body: body}, &out)
	return out, err
}

// UnassignAccount removes an assignment; removing one that does not exist
// is not an error.
func (c *Client) UnassignAccount(ctx context.Context, account, permissionSet, principalType, principal string) error {
	key, err := pathKey("account", account)
	if err != nil {
		return err
	}
	q := url.Values{"permissionSet": {permissionSet}, "principalType": {principalType}, "principal": {principal}}
	return c.do(ctx, request{method: http.MethodDelete, path: "/accounts/" + key + "/assignments", query: q}, nil)
}
