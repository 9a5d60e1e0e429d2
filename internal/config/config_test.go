package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "idcenter.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsAreValid(t *testing.T) {
	c := Defaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.HTTP.MaxBodyBytes != 1<<20 || c.PublicURL() != "http://127.0.0.1:8080" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestPrecedenceFileThenEnv(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "dsn")
	os.WriteFile(secret, []byte("postgres://u@h/db\n"), 0o600)
	p := write(t, "listen: 0.0.0.0:9000\nbase_url: https://id.example.com\nhttp:\n  read_timeout: 5s\n  trusted_proxies: [10.0.0.0/8]\n")
	c, err := Load(p, envOf(map[string]string{
		"IDCENTER_LISTEN": "127.0.0.1:9100", "IDCENTER_DATABASE_FILE": secret,
		"IDCENTER_HTTP_IDLE_TIMEOUT": "7s", "IDCENTER_HTTP_TRUSTED_PROXIES": "192.168.0.0/16, 10.1.0.0/16",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9100" || c.BaseURL != "https://id.example.com" || c.Database != "postgres://u@h/db" ||
		c.HTTP.ReadTimeout != 5*time.Second || c.HTTP.IdleTimeout != 7*time.Second || len(c.HTTP.TrustedProxies) != 2 {
		t.Fatalf("loaded: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownKeysAreErrors(t *testing.T) {
	p := write(t, "listen: 127.0.0.1:1\nlisten_addr: x\nhttp:\n  max_body: 3\n")
	_, err := Load(p, nil)
	pr, ok := err.(*Problems)
	if !ok || len(pr.List) != 2 || !strings.Contains(err.Error(), "listen_addr") || !strings.Contains(err.Error(), "max_body") {
		t.Fatalf("want both unknown keys reported, got %v", err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Defaults()
	c.Listen = "nope"
	c.BaseURL = "ftp://x"
	c.Database = "mysql://x"
	c.Log.Level = "loud"
	c.Log.Format = "xml"
	c.HTTP.MaxBodyBytes = 1
	c.HTTP.ReadTimeout = 0
	c.HTTP.TrustedProxies = []string{"10.0.0.0/33"}
	c.Bootstrap.AdminUsername = "root"
	c.MasterKeyFile = "/does/not/exist"
	err := c.Validate()
	pr, ok := err.(*Problems)
	if !ok {
		t.Fatalf("got %v", err)
	}
	for _, want := range []string{"listen", "base_url", "database", "log.level", "log.format", "max_body_bytes",
		"read_timeout", "trusted_proxies", "IDCENTER_ADMIN_PASSWORD_FILE", "master_key_file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}
	if len(pr.List) != 10 {
		t.Errorf("got %d problems, want 10: %v", len(pr.List), pr.List)
	}
}

func TestEnvProblems(t *testing.T) {
	_, err := Load("", envOf(map[string]string{
		"IDCENTER_HTTP_READ_TIMEOUT": "soon", "IDCENTER_HTTP_MAX_BODY_BYTES": "lots",
		"IDCENTER_DATABASE": "postgres://a", "IDCENTER_DATABASE_FILE": "/x",
	}))
	if err == nil || !strings.Contains(err.Error(), "IDCENTER_HTTP_READ_TIMEOUT") || !strings.Contains(err.Error(), "IDCENTER_HTTP_MAX_BODY_BYTES") ||
		!strings.Contains(err.Error(), "both set") {
		t.Fatalf("got %v", err)
	}
}

func TestMalformedYAML(t *testing.T) {
	_, err := Load(write(t, "listen: [\n"), nil)
	if err == nil {
		t.Fatal("malformed YAML accepted")
	}
	if _, err := Load("/no/such/file.yaml", nil); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestAppsMetadataRefreshInterval(t *testing.T) {
	if d := Defaults().Apps.MetadataRefreshInterval; d != 24*time.Hour {
		t.Fatalf("default interval %v, want 24h", d)
	}
	c, err := Load(write(t, "apps:\n  metadata_refresh_interval: 6h\n"), envOf(nil))
	if err != nil || c.Apps.MetadataRefreshInterval != 6*time.Hour {
		t.Fatalf("file: %v %v", c.Apps.MetadataRefreshInterval, err)
	}
	c, err = Load("", envOf(map[string]string{"IDCENTER_APPS_METADATA_REFRESH_INTERVAL": "0s"}))
	if err != nil || c.Apps.MetadataRefreshInterval != 0 {
		t.Fatalf("env: %v %v", c.Apps.MetadataRefreshInterval, err)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("0 (off) refused: %v", err)
	}
	for _, bad := range []time.Duration{time.Minute, 31 * 24 * time.Hour} {
		c := Defaults()
		c.Apps.MetadataRefreshInterval = bad
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "apps.metadata_refresh_interval") {
			t.Errorf("%v: %v", bad, err)
		}
	}
}
