package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
)

// LoginCmd saves a server URL and token in the CLI config file.
type LoginCmd struct {
	TokenStdin bool `name:"token-stdin" help:"Read the API token from standard input."`
}

// Run checks the token against the server and saves both.
func (c *LoginCmd) Run(g *Globals) error {
	path, err := g.configPath()
	if err != nil {
		return err
	}
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	server := g.URL
	if server == "" {
		server = g.getenv("IDCENTER_URL")
	}
	if server == "" {
		server = cfg.URL
	}
	if server == "" {
		return errors.New("no server URL: pass --url URL (e.g. idcenter login --url https://id.example.com --token-stdin)")
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("invalid server URL %q: want http(s)://host[:port]", server)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		g.notef("Warning: %s uses plain http; the token travels unencrypted.\n", server)
	}
	var token string
	switch {
	case c.TokenStdin:
		if token, err = readSecret(g, "Token"); err != nil {
			return err
		}
	case g.Token != "":
		token = g.Token
	case g.getenv("IDCENTER_TOKEN") != "":
		token = g.getenv("IDCENTER_TOKEN")
	default:
		return errors.New("no API token: pipe it in with --token-stdin (e.g. idcenter login --url URL --token-stdin < token.txt)")
	}
	id, err := newClient(server, token).WhoAmI(context.Background())
	if err != nil {
		return fmt.Errorf("checking the token with %s: %w", server, err)
	}
	if err := saveConfig(path, cliConfig{URL: server, Token: token}); err != nil {
		return err
	}
	g.printf("Logged in to %s as %s %s (role %s). Saved to %s.\n", server, id.Type, oneLine(id.Name), oneLine(id.Role), path)
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LogoutCmd removes the saved token (the URL stays).
type LogoutCmd struct{}

// Run removes the token from the CLI config file.
func (c *LogoutCmd) Run(g *Globals) error {
	path, err := g.configPath()
	if err != nil {
		return err
	}
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	if cfg.Token == "" {
		g.printf("Not logged in.\n")
		return nil
	}
	cfg.Token = ""
	if err := saveConfig(path, cfg); err != nil {
		return err
	}
	g.printf("Removed the saved token from %s. The token itself stays valid until revoked ('idcenter tokens revoke').\n", path)
	return nil
}

// WhoamiCmd shows the caller's identity.
type WhoamiCmd struct{}

// Run prints who the token belongs to.
func (c *WhoamiCmd) Run(g *Globals) error {
	server, token, err := g.endpoint()
	if err != nil {
		return err
	}
	id, err := newClient(server, token).WhoAmI(context.Background())
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(id)
	}
	d := newDetails(g.Stdout)
	d.add("Server", server)
	d.add("Type", id.Type)
	d.add("Name", id.Name)
	d.add("ID", id.ID)
	d.add("Role", id.Role)
	return d.flush()
}
