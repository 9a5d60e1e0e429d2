package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/idcenter/idcenter/internal/app"
	"github.com/idcenter/idcenter/internal/config"
)

// ServerFlags are the server settings that can be given as flags; they
// override the config file and the environment.
type ServerFlags struct {
	Config   string `help:"YAML configuration file." type:"path" env:"IDCENTER_CONFIG"`
	Listen   string `help:"Address to listen on (default 127.0.0.1:8080)."`
	BaseURL  string `name:"base-url" help:"Public URL of this server; links and SAML metadata are built from it."`
	DataDir  string `name:"data-dir" help:"Directory for the SQLite database and the master key (default ./idcenter-data)."`
	Database string `help:"Empty for SQLite in the data directory, or a postgres:// URL."`
}

// load reads the configuration: file, then environment, then flags.
func (f *ServerFlags) load(getenv func(string) string) (config.Config, error) {
	cfg, err := config.Load(f.Config, getenv)
	var problems []string
	if p, ok := err.(*config.Problems); ok {
		problems = p.List // keep going: report file, environment and value problems together
	} else if err != nil {
		return cfg, err
	}
	for _, o := range []struct {
		flag string
		dst  *string
	}{{f.Listen, &cfg.Listen}, {f.BaseURL, &cfg.BaseURL}, {f.DataDir, &cfg.DataDir}, {f.Database, &cfg.Database}} {
		if o.flag != "" {
			*o.dst = o.flag
		}
	}
	if p, ok := cfg.Validate().(*config.Problems); ok {
		problems = append(problems, p.List...)
	}
	if len(problems) > 0 {
		return cfg, &config.Problems{List: problems}
	}
	return cfg, nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[cfg.Log.Level]
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.Log.Format
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// ServeCmd runs the server.
type ServeCmd struct {
	ServerFlags `embed:""`
}

// Run starts idcenter and serves until SIGINT or SIGTERM.
func (c *ServeCmd) Run(g *Globals) error {
	cfg, err := c.load(g.getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, g.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg, log, g.Stdout)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Run(ctx)
}

// MigrateCmd applies pending database migrations and exits.
type MigrateCmd struct {
	ServerFlags `embed:""`
}

// Run migrates the configured store.
func (c *MigrateCmd) Run(g *Globals) error {
	cfg, err := c.load(g.getenv)
	if err != nil {
		return err
	}
	ctx := context.Background()
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "applied %d migration(s); schema version %d (%s)\n", n, v, st.Dialect().Name)
	return nil
}

// CheckConfigCmd validates the configuration and prints every problem.
type CheckConfigCmd struct {
	ServerFlags `embed:""`
}

// Run prints "configuration OK" or every problem found.
func (c *CheckConfigCmd) Run(g *Globals) error {
	cfg, err := c.load(g.getenv)
	if err != nil {
		if p, ok := err.(*config.Problems); ok {
			for _, line := range p.List {
				fmt.Fprintln(g.Stdout, "✗", line)
			}
			return fmt.Errorf("configuration has %d problem(s)", len(p.List))
		}
		return err
	}
	fmt.Fprintf(g.Stdout, "configuration OK\n  listen:   %s\n  base URL: %s\n  store:    %s\n", cfg.Listen, cfg.PublicURL(), describeStore(cfg))
	return nil
}

func describeStore(cfg config.Config) string {
	if cfg.Database != "" {
		return "postgres"
	}
	return "sqlite in " + cfg.DataDir
}
