package client

import (
	"context"
	"net/http"
)

// ListTokens returns every API token (never their secrets).
func (c *Client) ListTokens(ctx context.Context) ([]Token, error) {
	var p Page[Token]
	err := c.do(ctx, request{method: http.MethodGet, path: "/tokens"}, &p)
	return p.Items, err
}

// CreateToken creates an API token. The returned Secret is shown only this
// once; the server keeps only its hash.
func (c *Client) CreateToken(ctx context.Context, req TokenRequest) (CreatedToken, error) {
	var t CreatedToken
	err := c.do(ctx, request{method: http.MethodPost, path: "/tokens", body: req}, &t)
	return t, err
}

// RevokeToken revokes the token with the given id or name and returns its
// record. Revoking a revoked token is not an error.
func (c *Client) RevokeToken(ctx context.Context, token string) (Token, error) {
	key, err := pathKey("token", token)
	if err != nil {
		return Token{}, err
	}
	var t Token
	err = c.do(ctx, request{method: http.MethodDelete, path: "/tokens/" + key}, &t)
	return t, err
}
