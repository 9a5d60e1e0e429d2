package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/idcenter/idcenter/client"
)

// TokensCmd groups the API token commands.
type TokensCmd struct {
	Create TokensCreateCmd `cmd:"" help:"Create an API token; its secret is printed once."`
	List   TokensListCmd   `cmd:"" aliases:"ls" help:"List API tokens."`
	Revoke TokensRevokeCmd `cmd:"" help:"Revoke an API token at once."`
}

// TokensCreateCmd creates a token.
type TokensCreateCmd struct {
	Name      string `required:"" help:"Name of the token, e.g. the system that uses it."`
	Role      string `required:"" enum:"admin,auditor" help:"admin (read and write) or auditor (read only)." placeholder:"admin|auditor"`
	Expires   string `xor:"expiry" help:"Lifetime, e.g. 720h or 90d." placeholder:"DURATION"`
	ExpiresAt string `xor:"expiry" name:"expires-at" help:"Expiry time, RFC 3339 (2026-01-02T15:04:05Z)." placeholder:"TIME"`
}

// Run creates the token and prints its secret.
func (c *TokensCreateCmd) Run(g *Globals) error {
	req := client.TokenRequest{Name: c.Name, Role: c.Role}
	switch {
	case c.Expires != "":
		d, err := parseDuration(c.Expires)
		if err != nil || d <= 0 {
			return fmt.Errorf("--expires: want a positive duration like 720h or 90d, got %q", c.Expires)
		}
		t := time.Now().Add(d).UTC().Truncate(time.Second)
		req.ExpiresAt = &t
	case c.ExpiresAt != "":
		t, err := time.Parse(time.RFC3339, c.ExpiresAt)
		if err != nil {
			return fmt.Errorf("--expires-at: want an RFC 3339 time like 2026-01-02T15:04:05Z, got %q", c.ExpiresAt)
		}
		req.ExpiresAt = &t
	}
	api, err := g.api()
	if err != nil {
		return err
	}
	t, err := api.CreateToken(context.Background(), req)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(t)
	}
	// The secret alone goes to stdout, so TOKEN=$(idcenter tokens create ...) works.
	g.notef("Created token %s (role %s, expires %s).\n", oneLine(t.Name), t.Role, fmtTimePtr(t.ExpiresAt, "never"))
	g.printf("%s\n", t.Secret)
	g.notef("Store this secret now: it will not be shown again.\n")
	return nil
}

// parseDuration is time.ParseDuration plus a "d" (24h) unit: "90d", "1d12h".
func parseDuration(s string) (time.Duration, error) {
	days, rest, ok := strings.Cut(s, "d")
	if !ok {
		return time.ParseDuration(s)
	}
	n, err := strconv.Atoi(days)
	if err != nil || n < 0 || n > 100*365 {
		return 0, errors.New("bad number of days")
	}
	d := time.Duration(n) * 24 * time.Hour
	if rest != "" {
		r, err := time.ParseDuration(rest)
		if err != nil {
			return 0, err
		}
		d += r
	}
	return d, nil
}

// TokensListCmd lists tokens.
type TokensListCmd struct{}

// Run lists the tokens.
func (c *TokensListCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	toks, err := api.ListTokens(context.Background())
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(nonNil(toks))
	}
	now := time.Now()
	t := newTable(g.Stdout, "NAME", "ROLE", "HINT", "EXPIRES", "LAST USED", "STATUS")
	for _, tok := range toks {
		t.row(tok.Name, tok.Role, tok.Hint+"…", fmtTimePtr(tok.ExpiresAt, "never"), fmtTimePtr(tok.LastUsedAt, "never"), tok.Status(now))
	}
	return t.flush()
}

// TokensRevokeCmd revokes a token.
type TokensRevokeCmd struct {
	Token string `arg:"" help:"Token name or id."`
}

// Run revokes the token.
func (c *TokensRevokeCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	t, err := api.RevokeToken(context.Background(), c.Token)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(t)
	}
	g.printf("Revoked token %s (at %s).\n", oneLine(t.Name), fmtTimePtr(t.RevokedAt, "now"))
	return nil
}
