// Package config loads idcenter's server configuration: one YAML file, then
// IDCENTER_* environment variables (secrets also as *_FILE), then flags (set
// by the caller). Unknown keys are errors, and Validate reports every problem
// at once. Only this package reads the environment for server settings.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/idcenter/idcenter/internal/mail"
)

// Config is the whole server configuration.
type Config struct {
	// Listen is the address the HTTP server binds.
	Listen string `yaml:"listen" env:"IDCENTER_LISTEN"`
	// BaseURL is the public URL; links and SAML metadata are built from it.
	BaseURL string `yaml:"base_url" env:"IDCENTER_BASE_URL"`
	// DataDir holds the SQLite database and the generated master key.
	DataDir string `yaml:"data_dir" env:"IDCENTER_DATA_DIR"`
	// Database is empty for SQLite in DataDir, or a postgres:// URL.
	Database string `yaml:"database" env:"IDCENTER_DATABASE" secret:"true"`
	// MasterKeyFile holds the key that encrypts secrets at rest. Empty: a
	// key generated on first start in DataDir/master.key (mode 0600).
	MasterKeyFile string `yaml:"master_key_file" env:"IDCENTER_MASTER_KEY_FILE"`

	// InstanceName is shown on pages and in emails.
	InstanceName string `yaml:"instance_name" env:"IDCENTER_INSTANCE_NAME"`

	Log       Log             `yaml:"log"`
	HTTP      HTTP            `yaml:"http"`
	Auth      Auth            `yaml:"auth"`
	SMTP      mail.SMTPConfig `yaml:"smtp"`
	Bootstrap Bootstrap       `yaml:"bootstrap"`
	Apps      Apps            `yaml:"apps"`
}

// Apps configures the SAML applications.
type Apps struct {
	// MetadataRefreshInterval is how old the SP metadata of an application
	// created from a metadata URL may get before the server fetches it
	// again (checked every 10 minutes). 0 turns the refresh off.
	MetadataRefreshInterval time.Duration `yaml:"metadata_refresh_interval" env:"IDCENTER_APPS_METADATA_REFRESH_INTERVAL"`
}

// Auth configures sign-in, sessions and MFA.
type Auth struct {
	// SessionDuration is the absolute session lifetime (15m to 90 days).
	SessionDuration time.Duration `yaml:"session_duration" env:"IDCENTER_AUTH_SESSION_DURATION"`
	// IdleTimeout ends a session after this long without a request.
	IdleTimeout time.Duration `yaml:"idle_timeout" env:"IDCENTER_AUTH_IDLE_TIMEOUT"`
	// LockoutThreshold failed passwords lock an account for LockoutDuration.
	LockoutThreshold int64         `yaml:"lockout_threshold" env:"IDCENTER_AUTH_LOCKOUT_THRESHOLD"`
	LockoutDuration  time.Duration `yaml:"lockout_duration" env:"IDCENTER_AUTH_LOCKOUT_DURATION"`
	// InviteTTL and ResetTTL are the lifetimes of emailed links.
	InviteTTL time.Duration `yaml:"invite_ttl" env:"IDCENTER_AUTH_INVITE_TTL"`
	ResetTTL  time.Duration `yaml:"reset_ttl" env:"IDCENTER_AUTH_RESET_TTL"`
	// IPLockoutThreshold failures from one client IP block it for LockoutDuration.
	IPLockoutThreshold int64 `yaml:"ip_lockout_threshold" env:"IDCENTER_AUTH_IP_LOCKOUT_THRESHOLD"`
	PasswordMinLength  int64 `yaml:"password_min_length" env:"IDCENTER_AUTH_PASSWORD_MIN_LENGTH"`
	// Argon2id cost (OWASP's minimum by default: 19 MiB, 2 iterations, 1 lane).
	Argon2MemoryKiB   int64 `yaml:"argon2_memory_kib" env:"IDCENTER_AUTH_ARGON2_MEMORY_KIB"`
	Argon2Iterations  int64 `yaml:"argon2_iterations" env:"IDCENTER_AUTH_ARGON2_ITERATIONS"`
	Argon2Parallelism int64 `yaml:"argon2_parallelism" env:"IDCENTER_AUTH_ARGON2_PARALLELISM"`
	MFA               MFA   `yaml:"mfa"`
}

// MFA configures when a second factor is required.
type MFA struct {
	// Mode: "always" (every sign-in), "context" (new browser or device; a
	// remembered-device cookie otherwise) or "never".
	Mode string `yaml:"mode" env:"IDCENTER_AUTH_MFA_MODE"`
	// NoDevice: what happens to a user without a factor when one is needed:
	// "require_registration", "block" or "allow".
	NoDevice string `yaml:"no_device" env:"IDCENTER_AUTH_MFA_NO_DEVICE"`
	// AdminsExempt turns off the rule that administrators always need MFA.
	AdminsExempt bool `yaml:"admins_exempt" env:"IDCENTER_AUTH_MFA_ADMINS_EXEMPT"`
	// RememberDevice is how long "context" mode trusts a browser.
	RememberDevice time.Duration `yaml:"remember_device" env:"IDCENTER_AUTH_MFA_REMEMBER_DEVICE"`
	// PasskeySignIn allows signing in with a passkey alone.
	PasskeySignIn bool `yaml:"passkey_sign_in" env:"IDCENTER_AUTH_MFA_PASSKEY_SIGN_IN"`
}

// Log configures structured logging.
type Log struct {
	Level  string `yaml:"level" env:"IDCENTER_LOG_LEVEL"`   // debug, info, warn, error
	Format string `yaml:"format" env:"IDCENTER_LOG_FORMAT"` // auto, json, text
}

// HTTP configures the HTTP server.
type HTTP struct {
	MaxBodyBytes      int64         `yaml:"max_body_bytes" env:"IDCENTER_HTTP_MAX_BODY_BYTES"`
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout" env:"IDCENTER_HTTP_READ_HEADER_TIMEOUT"`
	ReadTimeout       time.Duration `yaml:"read_timeout" env:"IDCENTER_HTTP_READ_TIMEOUT"`
	WriteTimeout      time.Duration `yaml:"write_timeout" env:"IDCENTER_HTTP_WRITE_TIMEOUT"`
	IdleTimeout       time.Duration `yaml:"idle_timeout" env:"IDCENTER_HTTP_IDLE_TIMEOUT"`
	ShutdownTimeout   time.Duration `yaml:"shutdown_timeout" env:"IDCENTER_HTTP_SHUTDOWN_TIMEOUT"`
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []string `yaml:"trusted_proxies" env:"IDCENTER_HTTP_TRUSTED_PROXIES"`
}

// Bootstrap configures the first start on an empty store (unattended installs).
type Bootstrap struct {
	AdminUsername     string `yaml:"admin_username" env:"IDCENTER_ADMIN_USERNAME"`
	AdminEmail        string `yaml:"admin_email" env:"IDCENTER_ADMIN_EMAIL"`
	AdminPasswordFile string `yaml:"admin_password_file" env:"IDCENTER_ADMIN_PASSWORD_FILE"`
	TokenFile         string `yaml:"token_file" env:"IDCENTER_BOOTSTRAP_TOKEN_FILE"`
}

// Defaults returns the configuration used when nothing else is set.
func Defaults() Config {
	return Config{
		Listen:       "127.0.0.1:8080",
		InstanceName: "idcenter",
		DataDir:      "./idcenter-data",
		Log:          Log{Level: "info", Format: "auto"},
		HTTP: HTTP{
			MaxBodyBytes:      1 << 20,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			ShutdownTimeout:   30 * time.Second,
		},
		Auth: Auth{
			SessionDuration: 8 * time.Hour, IdleTimeout: time.Hour,
			LockoutThreshold: 10, LockoutDuration: 15 * time.Minute, IPLockoutThreshold: 100,
			PasswordMinLength: 8, InviteTTL: 7 * 24 * time.Hour, ResetTTL: time.Hour,
			Argon2MemoryKiB: 19 * 1024, Argon2Iterations: 2, Argon2Parallelism: 1,
			MFA: MFA{Mode: "context", NoDevice: "require_registration", RememberDevice: 30 * 24 * time.Hour},
		},
		Apps: Apps{MetadataRefreshInterval: 24 * time.Hour},
	}
}

// Load starts from Defaults, decodes the YAML file at path (if not empty) and
// applies the environment (env(name) returns "" when unset). It returns every
// problem it found at once.
func Load(path string, env func(string) string) (Config, error) {
	cfg := Defaults()
	var problems []string
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config file: %w", err)
		}
		problems = append(problems, decodeYAML(b, &cfg)...)
	}
	if env != nil {
		problems = append(problems, applyEnv(reflect.ValueOf(&cfg).Elem(), env)...)
	}
	if len(problems) > 0 {
		return cfg, &Problems{List: problems}
	}
	return cfg, nil
}

// Problems is every configuration problem found.
type Problems struct{ List []string }

func (p *Problems) Error() string {
	if len(p.List) == 1 {
		return "config: " + p.List[0]
	}
	return "config: " + strconv.Itoa(len(p.List)) + " problems:\n  " + strings.Join(p.List, "\n  ")
}

func decodeYAML(b []byte, cfg *Config) []string {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	err := dec.Decode(cfg)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		out := make([]string, len(te.Errors))
		for i, e := range te.Errors {
			out[i] = strings.TrimPrefix(e, "yaml: ")
		}
		return out
	}
	return []string{strings.TrimPrefix(err.Error(), "yaml: ")}
}

// applyEnv sets fields from their env tags; fields tagged secret:"true" also
// read NAME_FILE (the file's content, trailing newline removed).
func applyEnv(v reflect.Value, env func(string) string) []string {
	var problems []string
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
			problems = append(problems, applyEnv(fv, env)...)
			continue
		}
		name := f.Tag.Get("env")
		if name == "" {
			continue
		}
		val, src := env(name), name
		if f.Tag.Get("secret") == "true" {
			if file := env(name + "_FILE"); file != "" {
				if val != "" {
					problems = append(problems, fmt.Sprintf("%s and %s_FILE are both set; use one", name, name))
					continue
				}
				b, err := os.ReadFile(file)
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s_FILE: %v", name, err))
					continue
				}
				val, src = strings.TrimRight(string(b), "\r\n"), name+"_FILE"
			}
		}
		if val == "" {
			continue
		}
		if err := setField(fv, val); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", src, err))
		}
	}
	return problems
}

func setField(fv reflect.Value, val string) error {
	switch {
	case fv.Type() == reflect.TypeOf(time.Duration(0)):
		d, err := time.ParseDuration(val)
		if err != nil {
			return fmt.Errorf("not a duration (like 30s or 5m): %q", val)
		}
		fv.SetInt(int64(d))
	case fv.Kind() == reflect.String:
		fv.SetString(val)
	case fv.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(val)
		if err != nil {
			return fmt.Errorf("not true or false: %q", val)
		}
		fv.SetBool(b)
	case fv.Kind() == reflect.Int:
		n, err := strconv.Atoi(val)
		if err != nil {
			return fmt.Errorf("not an integer: %q", val)
		}
		fv.SetInt(int64(n))
	case fv.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", val)
		}
		fv.SetInt(n)
	case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String:
		var parts []string
		for _, p := range strings.Split(val, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		fv.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("unsupported field type %s", fv.Type())
	}
	return nil
}

// Validate checks the configuration and returns every problem at once.
func (c *Config) Validate() error {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen: %q is not host:port", c.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		add("listen: bad port %q", port)
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
			add("base_url: %q must be an absolute http or https URL", c.BaseURL)
		case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			add("base_url: %q must not have a query, fragment or user info", c.BaseURL)
		}
	}
	if c.Database == "" && c.DataDir == "" {
		add("data_dir: required when database is empty (SQLite)")
	}
	if c.Database != "" && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		add("database: must be empty (SQLite in data_dir) or a postgres:// URL")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "json", "text":
	default:
		add("log.format: %q is not one of auto, json, text", c.Log.Format)
	}
	if c.HTTP.MaxBodyBytes < 1024 {
		add("http.max_body_bytes: must be at least 1024")
	}
	for name, d := range map[string]time.Duration{
		"read_header_timeout": c.HTTP.ReadHeaderTimeout, "read_timeout": c.HTTP.ReadTimeout,
		"write_timeout": c.HTTP.WriteTimeout, "idle_timeout": c.HTTP.IdleTimeout, "shutdown_timeout": c.HTTP.ShutdownTimeout,
	} {
		if d <= 0 {
			add("http.%s: must be positive", name)
		}
	}
	for _, cidr := range c.HTTP.TrustedProxies {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			add("http.trusted_proxies: %q is not a CIDR (like 10.0.0.0/8)", cidr)
		}
	}
	a := c.Auth
	if a.SessionDuration < 15*time.Minute || a.SessionDuration > 90*24*time.Hour {
		add("auth.session_duration: must be from 15m to 2160h (90 days)")
	}
	if a.IdleTimeout < time.Minute || a.IdleTimeout > a.SessionDuration {
		add("auth.idle_timeout: must be at least 1m and at most auth.session_duration")
	}
	if a.LockoutThreshold < 1 || a.IPLockoutThreshold < 1 {
		add("auth.lockout_threshold and auth.ip_lockout_threshold: must be at least 1")
	}
	if a.LockoutDuration < time.Second {
		add("auth.lockout_duration: must be positive")
	}
	if a.PasswordMinLength < 8 || a.PasswordMinLength > 64 {
		add("auth.password_min_length: must be from 8 to 64 (NIST SP 800-63B)")
	}
	if a.Argon2MemoryKiB < 8*1024 || a.Argon2MemoryKiB > 256*1024 || a.Argon2Iterations < 1 || a.Argon2Iterations > 16 ||
		a.Argon2Parallelism < 1 || a.Argon2Parallelism > 16 {
		add("auth.argon2_*: memory 8192-262144 KiB, iterations 1-16, parallelism 1-16")
	}
	switch a.MFA.Mode {
	case "always", "context", "never":
	default:
		add("auth.mfa.mode: %q is not one of always, context, never", a.MFA.Mode)
	}
	switch a.MFA.NoDevice {
	case "require_registration", "block", "allow":
	default:
		add("auth.mfa.no_device: %q is not one of require_registration, block, allow", a.MFA.NoDevice)
	}
	if a.MFA.RememberDevice < 0 || a.MFA.RememberDevice > 365*24*time.Hour {
		add("auth.mfa.remember_device: must be from 0 to 8760h")
	}
	if a.InviteTTL < time.Hour || a.InviteTTL > 7*24*time.Hour {
		add("auth.invite_ttl: must be from 1h to 168h (7 days)")
	}
	if a.ResetTTL < 5*time.Minute || a.ResetTTL > 7*24*time.Hour {
		add("auth.reset_ttl: must be from 5m to 168h")
	}
	if d := c.Apps.MetadataRefreshInterval; d != 0 && (d < time.Hour || d > 30*24*time.Hour) {
		add("apps.metadata_refresh_interval: must be 0 (off) or from 1h to 720h (30 days)")
	}
	if c.SMTP.Enabled() {
		if err := c.SMTP.Validate(); err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				add("%s", line)
			}
		}
	}
	b := c.Bootstrap
	if (b.AdminUsername == "") != (b.AdminPasswordFile == "") {
		add("bootstrap: IDCENTER_ADMIN_USERNAME and IDCENTER_ADMIN_PASSWORD_FILE must be set together")
	}
	for name, f := range map[string]string{"admin_password_file": b.AdminPasswordFile, "token_file": b.TokenFile, "master_key_file": c.MasterKeyFile} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			add("%s: %v", name, err)
		}
	}
	if len(p) > 0 {
		return &Problems{List: p}
	}
	return nil
}

// PublicURL returns BaseURL, or a URL derived from Listen when it is empty.
func (c *Config) PublicURL() string {
	if c.BaseURL != "" {
		return strings.TrimRight(c.BaseURL, "/")
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return "http://" + c.Listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
