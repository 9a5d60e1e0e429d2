package main

import (
	"context"
	"fmt"
	"time"

	"github.com/idcenter/idcenter/client"
)

// SCIMTokensCmd groups the SCIM provisioning token commands.
type SCIMTokensCmd struct {
	Create SCIMTokensCreateCmd `cmd:"" help:"Create a SCIM token for an identity provider; its secret is printed once."`
	List   SCIMTokensListCmd   `cmd:"" aliases:"ls" help:"List SCIM tokens with their expiry and last use."`
	Revoke SCIMTokensRevokeCmd `cmd:"" help:"Revoke a SCIM token at once."`
}

// SCIMTokensCreateCmd creates a SCIM token.
type SCIMTokensCreateCmd struct {
	Name      string `arg:"" help:"Name of the token, e.g. the identity provider that uses it (okta-2026)."`
	ExpiresIn string `xor:"expiry" name:"expires-in" help:"Lifetime, e.g. 90d or 2160h (default 365d, at most 730d)." placeholder:"DURATION"`
	ExpiresAt string `xor:"expiry" name:"expires-at" help:"Expiry time, RFC 3339 (2027-01-02T15:04:05Z)." placeholder:"TIME"`
}

// Run creates the token and prints its secret and the SCIM base URL.
func (c *SCIMTokensCreateCmd) Run(g *Globals) error {
	req := client.SCIMTokenRequest{Name: c.Name}
	switch {
	case c.ExpiresIn != "":
		d, err := parseDuration(c.ExpiresIn)
		if err != nil || d <= 0 {
			return fmt.Errorf("--expires-in: want a positive duration like 90d or 2160h, got %q", c.ExpiresIn)
		}
		t := time.Now().Add(d).UTC().Truncate(time.Second)
		req.ExpiresAt = &t
	case c.ExpiresAt != "":
		t, err := time.Parse(time.RFC3339, c.ExpiresAt)
		if err != nil {
			return fmt.Errorf("--expires-at: want an RFC 3339 time like 2027-01-02T15:04:05Z, got %q", c.ExpiresAt)
		}
		req.ExpiresAt = &t
	}
	api, err := g.api()
	if err != nil {
		return err
	}
	t, err := api.CreateSCIMToken(context.Background(), req)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(t)
	}
	d := newDetails(g.Stdout)
	d.add("Name", t.Name)
	d.add("Expires", fmtTimePtr(t.ExpiresAt, "never"))
	d.add("SCIM base URL", t.SCIMBaseURL)
	d.add("Token", t.Secret)
	if err := d.flush(); err != nil {
		return err
	}
	g.notef("Copy the token into the identity provider's SCIM settings now: it will not be shown again.\n")
	return nil
}

// SCIMTokensListCmd lists SCIM tokens.
type SCIMTokensListCmd struct{}

// Run lists the tokens, flagging those that expire within 30 days.
func (c *SCIMTokensListCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	toks, err := api.ListSCIMTokens(context.Background())
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(nonNil(toks))
	}
	now := time.Now()
	soon := 0
	t := newTable(g.Stdout, "NAME", "HINT", "CREATED", "EXPIRES", "LAST USED", "STATUS")
	for _, tok := range toks {
		status := tok.Status(now)
		if tok.ExpiringSoon && status == "active" {
			status = "expires soon (!)"
			soon++
		}
		t.row(tok.Name, tok.Hint+"…", fmtTime(tok.CreatedAt), fmtTimePtr(tok.ExpiresAt, "never"), fmtTimePtr(tok.LastUsedAt, "never"), status)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if soon > 0 {
		g.notef("%d SCIM token(s) expire within 30 days: create a successor ('idcenter scim-tokens create'), "+
			"switch the identity provider to it, then revoke the old one.\n", soon)
	}
	return nil
}

// SCIMTokensRevokeCmd revokes a SCIM token.
type SCIMTokensRevokeCmd struct {
	Token string `arg:"" help:"SCIM token name or id."`
}

// Run revokes the token.
func (c *SCIMTokensRevokeCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	t, err := api.RevokeSCIMToken(context.Background(), c.Token)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(t)
	}
	g.printf("Revoked SCIM token %s (at %s).\n", oneLine(t.Name), fmtTimePtr(t.RevokedAt, "now"))
	return nil
}
