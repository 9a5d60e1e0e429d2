package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/idcenter/idcenter/client"
)

// cliConfig is the file 'idcenter login' writes: where the server is and the
// token to use with it.
type cliConfig struct {
	URL   string `yaml:"url,omitempty"`
	Token string `yaml:"token,omitempty"`
}

// configPath is <user config dir>/idcenter/cli.yaml. The directory follows
// os.UserConfigDir but reads the environment through getenv, so tests can
// point it at a temporary directory.
func (g *Globals) configPath() (string, error) {
	var dir string
	switch runtime.GOOS {
	case "windows":
		dir = g.getenv("AppData")
	case "darwin", "ios":
		if home := g.getenv("HOME"); home != "" {
			dir = filepath.Join(home, "Library", "Application Support")
		}
	case "plan9":
		if home := g.getenv("home"); home != "" {
			dir = filepath.Join(home, "lib")
		}
	default:
		dir = g.getenv("XDG_CONFIG_HOME")
		if dir == "" {
			if home := g.getenv("HOME"); home != "" {
				dir = filepath.Join(home, ".config")
			}
		}
	}
	if dir == "" || !filepath.IsAbs(dir) {
		return "", errors.New("cannot find the user configuration directory (is $HOME set?)")
	}
	return filepath.Join(dir, "idcenter", "cli.yaml"), nil
}

// maxConfigBytes bounds the CLI config file; it holds two short strings.
const maxConfigBytes = 64 << 10

// loadConfig reads the CLI config file; a missing file is an empty config.
func loadConfig(path string) (cliConfig, error) {
	var cfg cliConfig
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return cfg, err
	}
	if len(b) > maxConfigBytes {
		return cfg, fmt.Errorf("%s: file too large", path)
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// saveConfig writes cfg to path with mode 0600 (it holds a token), through a
// temporary file so a crash never leaves half a file.
func saveConfig(path string, cfg cliConfig) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b, 0o600)
}

// writeFileAtomic writes b to a temporary file next to path with the given
// mode and renames it over path.
func writeFileAtomic(path string, b []byte, mode fs.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op once renamed
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// sameURL compares server URLs, ignoring case and trailing slashes.
func sameURL(a, b string) bool {
	norm := func(s string) string { return strings.ToLower(strings.TrimRight(strings.TrimSpace(s), "/")) }
	return norm(a) == norm(b)
}

// endpoint resolves the server URL and token: flag, then environment, then
// the config file. The file's token is only used for the file's URL, so
// pointing --url or IDCENTER_URL elsewhere never sends it to another server.
func (g *Globals) endpoint() (url, token string, err error) {
	url, token = g.URL, g.Token
	if url == "" {
		url = g.getenv("IDCENTER_URL")
	}
	if token == "" {
		token = g.getenv("IDCENTER_TOKEN")
	}
	var cfg cliConfig
	if url == "" || token == "" {
		path, perr := g.configPath()
		if perr == nil {
			if cfg, err = loadConfig(path); err != nil {
				return "", "", err
			}
		}
	}
	if url == "" {
		url = cfg.URL
	}
	if url == "" {
		return "", "", errors.New("no server URL: pass --url URL, set IDCENTER_URL, or run 'idcenter login --url URL --token-stdin'")
	}
	if token == "" && cfg.Token != "" {
		if !sameURL(url, cfg.URL) {
			return "", "", fmt.Errorf("no API token for %s (the saved token is for %s): pass --token, set IDCENTER_TOKEN, or run 'idcenter login'", url, cfg.URL)
		}
		token = cfg.Token
	}
	if token == "" {
		return "", "", errors.New("no API token: set IDCENTER_TOKEN, pass --token, or run 'idcenter login --url URL --token-stdin'")
	}
	return url, token, nil
}

// api returns a client for the resolved server and token.
func (g *Globals) api() (*client.Client, error) {
	url, token, err := g.endpoint()
	if err != nil {
		return nil, err
	}
	return newClient(url, token), nil
}

// requestTimeout bounds each API call, apply and export included.
const requestTimeout = 2 * time.Minute

func newClient(url, token string) *client.Client {
	return client.New(url, token,
		client.WithHTTPClient(&http.Client{Timeout: requestTimeout, CheckRedirect: client.NoRedirects}),
		client.WithUserAgent("idcenter-cli/"+versionString()))
}
