package client

import (
	"context"
	"net/http"
	"time"
)

// SCIMToken is a SCIM provisioning token's public record.
type SCIMToken struct {
	Token
	// ExpiringSoon is set while the token is usable but expires within 30
	// days: create its successor and switch the identity provider to it.
	ExpiringSoon bool `json:"expiringSoon"`
}

// CreatedSCIMToken is a new SCIM token with its secret, which the server
// shows only this once, and the SCIM base URL to configure next to it.
type CreatedSCIMToken struct {
	SCIMToken
	Secret      string `json:"token"`
	SCIMBaseURL string `json:"scimBaseUrl"`
}

// SCIMTokenRequest describes a SCIM token to create. Without ExpiresAt the
// token expires after one year; the server refuses more than two years.
type SCIMTokenRequest struct {
	Name      string     `json:"name"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// ListSCIMTokens returns the SCIM tokens, newest first (never their secrets).
func (c *Client) ListSCIMTokens(ctx context.Context) ([]SCIMToken, error) {
	var p Page[SCIMToken]
	err := c.do(ctx, request{method: http.MethodGet, path: "/scim/tokens"}, &p)
	return p.Items, err
}

// CreateSCIMToken creates a SCIM provisioning token. The returned Secret is
// shown only this once; the server keeps only its hash.
func (c *Client) CreateSCIMToken(ctx context.Context, req SCIMTokenRequest) (CreatedSCIMToken, error) {
	var t CreatedSCIMToken
	err := c.do(ctx, request{method: http.MethodPost, path: "/scim/tokens", body: req}, &t)
	return t, err
}

// RevokeSCIMToken revokes the SCIM token with the given id or name and
// returns its record. A token of another role is not found. Revoking a
// revoked token is not an error.
func (c *Client) RevokeSCIMToken(ctx context.Context, token string) (SCIMToken, error) {
	key, err := pathKey("SCIM token", token)
	if err != nil {
		return SCIMToken{}, err
	}
	var t SCIMToken
	err = c.do(ctx, request{method: http.MethodDelete, path: "/scim/tokens/" + key}, &t)
	return t, err
}
