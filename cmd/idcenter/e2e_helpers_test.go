package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcenter/idcenter/internal/app"
	"github.com/idcenter/idcenter/internal/config"
	"github.com/idcenter/idcenter/internal/testenv"
)

// e2eToken is the bootstrap admin token of startCLIServer's servers.
const e2eToken = "idc_e2e-bootstrap-token-0123456789"

// cliServer is an idcenter server on loopback for CLI end-to-end tests.
type cliServer struct {
	t   *testing.T
	App *app.App
	URL string
	// Env is the CLI's environment: a fresh HOME, the server's URL and
	// the admin token.
	Env map[string]string
}

// startCLIServer starts a server on engine ("sqlite" or "postgres") with
// the bootstrap token e2eToken; it stops when the test ends.
func startCLIServer(t *testing.T, engine string) *cliServer {
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	if engine == "postgres" {
		cfg.Database = testenv.PostgresDSN(t)
	}
	tf := filepath.Join(cfg.DataDir, "token")
	if err := os.WriteFile(tf, []byte(e2eToken), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Bootstrap.TokenFile = tf
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() { srv.Close(); a.Close() })
	return &cliServer{t: t, App: a, URL: srv.URL,
		Env: map[string]string{"HOME": t.TempDir(), "IDCENTER_URL": srv.URL, "IDCENTER_TOKEN": e2eToken}}
}

// run runs the CLI with stdin and returns stdout, stderr and the exit code.
func (s *cliServer) run(stdin string, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb, func(k string) string { return s.Env[k] })
	return out.String(), errb.String(), code
}
