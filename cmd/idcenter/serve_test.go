package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles cmd/idcenter once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "idcenter")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer is a strings.Builder safe for the exec goroutines writing and
// the test reading.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var tokenRE = regexp.MustCompile(`idc_[A-Za-z0-9_-]{20,}`)

// TestServeFirstStart runs the README's command as a user would: the first
// start prints a working bootstrap token, SIGTERM stops the server cleanly,
// and a second start prints no token.
func TestServeFirstStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	addr := freePort(t)
	env := []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}

	startServer := func() (*exec.Cmd, *syncBuffer, *syncBuffer) {
		cmd := exec.Command(bin, "serve", "--listen", addr, "--data-dir", dataDir)
		cmd.Env = env
		stdout, stderr := &syncBuffer{}, &syncBuffer{}
		cmd.Stdout = stdout
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill() })
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for {
			res, err := http.Get("http://" + addr + "/readyz")
			if err == nil {
				res.Body.Close()
				if res.StatusCode == 200 {
					break
				}
			}
			if ctx.Err() != nil {
				t.Fatalf("server not ready: %v\nstderr:\n%s", err, stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		return cmd, stdout, stderr
	}
	stop := func(cmd *exec.Cmd, stderr *syncBuffer) {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("server exit after SIGTERM: %v\n%s", err, stderr.String())
			}
		case <-time.After(20 * time.Second):
			t.Fatal("server did not stop on SIGTERM")
		}
		if !strings.Contains(stderr.String(), "shutting down") {
			t.Errorf("no shutdown log line:\n%s", stderr.String())
		}
	}

	cmd, stdout, stderr := startServer()
	token := tokenRE.FindString(stdout.String())
	if token == "" {
		t.Fatalf("first start printed no token:\n%s", stdout.String())
	}
	if !strings.Contains(stdout.String(), "idcenter login --url http://"+addr) {
		t.Errorf("first start does not say how to sign in:\n%s", stdout.String())
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("whoami with printed token: %d", res.StatusCode)
	}
	// logs are JSON when stderr is not a terminal
	if line, _, _ := strings.Cut(stderr.String(), "\n"); !strings.HasPrefix(line, "{") {
		t.Errorf("log line is not JSON: %q", line)
	}
	stop(cmd, stderr)

	cmd, stdout, stderr = startServer()
	if tokenRE.MatchString(stdout.String()) {
		t.Fatalf("second start printed a token:\n%s", stdout.String())
	}
	stop(cmd, stderr)
}

func TestServeBadConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfg, []byte("listen: nope\nbogus_key: 1\n"), 0o600)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"check-config", "--config", cfg}, []string{"bogus_key", "listen"}},
		{[]string{"serve", "--database", "postgres://postgres@127.0.0.1:1/x?connect_timeout=1", "--data-dir", t.TempDir()}, []string{"connect to postgres"}},
		{[]string{"check-config", "--listen", "nope", "--base-url", "ftp://x"}, []string{"listen", "base_url"}},
	} {
		out, err := exec.Command(bin, c.args...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("%v: exit %v, want 1\n%s", c.args, err, out)
		}
		for _, w := range c.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%v: output lacks %q:\n%s", c.args, w, out)
			}
		}
	}
}
