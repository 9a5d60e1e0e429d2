package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base32"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/netip"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLS modes of SMTPConfig.TLS.
const (
	TLSStartTLS = "starttls" // plain connect, then STARTTLS; refused if the server does not offer it (default)
	TLSImplicit = "tls"      // TLS from the first byte ("SMTPS", usually port 465)
	TLSNone     = "none"     // no encryption; allowed only for a loopback host
)

// Defaults applied by NewSMTP to zero fields.
const (
	DefaultTimeout = 15 * time.Second
	portSubmission = 587
	portSubmTLS    = 465
	portSMTP       = 25
)

// SMTPConfig configures the SMTP sender. An empty Host means SMTP is not
// configured (see Enabled); the caller then uses Log instead.
//
// The env tags follow the config package's convention: fields tagged
// secret:"true" may also be read from NAME_FILE.
type SMTPConfig struct {
	// Host is the SMTP server's host name or IP address, without a port.
	Host string `yaml:"host" env:"IDCENTER_SMTP_HOST"`
	// Port defaults to 587 for starttls, 465 for tls and 25 for none.
	Port int `yaml:"port" env:"IDCENTER_SMTP_PORT"`
	// TLS is "starttls" (default), "tls" (implicit TLS) or "none" (loopback
	// hosts only: a local relay or a test server).
	TLS string `yaml:"tls" env:"IDCENTER_SMTP_TLS"`
	// Username and Password enable SMTP AUTH (PLAIN, else LOGIN), only ever
	// over TLS or to a loopback host. Set both or neither. Supply the
	// password as IDCENTER_SMTP_PASSWORD_FILE, not in the YAML file.
	Username string `yaml:"username" env:"IDCENTER_SMTP_USERNAME"`
	Password string `yaml:"password" env:"IDCENTER_SMTP_PASSWORD" secret:"true"`
	// From is the sender address (header and envelope), e.g.
	// "no-reply@idc.example.com"; FromName is its optional display name.
	From     string `yaml:"from" env:"IDCENTER_SMTP_FROM"`
	FromName string `yaml:"from_name" env:"IDCENTER_SMTP_FROM_NAME"`
	// Timeout bounds one whole send: connect, TLS, AUTH and data. Default 15s.
	Timeout time.Duration `yaml:"timeout" env:"IDCENTER_SMTP_TIMEOUT"`
	// InsecureSkipVerify turns off verification of the server's certificate.
	// DANGEROUS: anyone on the network path can then read the mail (with its
	// sign-in links) and the SMTP password. It exists for tests against a
	// self-signed server and is refused unless Host is a loopback address.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Enabled reports whether SMTP is configured (Host is set).
func (c SMTPConfig) Enabled() bool { return c.Host != "" }

// WithDefaults returns c with the zero TLS, Port and Timeout filled in.
func (c SMTPConfig) WithDefaults() SMTPConfig {
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Port == 0 {
		switch c.TLS {
		case TLSImplicit:
			c.Port = portSubmTLS
		case TLSNone:
			c.Port = portSMTP
		default:
			c.Port = portSubmission
		}
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate checks c (after WithDefaults) and returns every problem at once,
// joined with errors.Join; each message starts with "smtp.<yaml key>:".
func (c SMTPConfig) Validate() error {
	c = c.WithDefaults()
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	switch {
	case c.Host == "":
		add("smtp.host: required")
	case strings.ContainsAny(c.Host, " \t\r\n/@"):
		add("smtp.host: %q is not a host name or IP address", c.Host)
	case hasPort(c.Host):
		add("smtp.host: %q must not include a port; set smtp.port", c.Host)
	}
	if c.Port < 1 || c.Port > 65535 {
		add("smtp.port: %d is not between 1 and 65535", c.Port)
	}
	switch c.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if c.Host != "" && !isLoopback(c.Host) {
			add("smtp.tls: %q is allowed only for a loopback host (localhost, 127.0.0.1, ::1), not %q", TLSNone, c.Host)
		}
	default:
		add("smtp.tls: %q is not one of starttls, tls, none", c.TLS)
	}
	if c.InsecureSkipVerify && c.Host != "" && !isLoopback(c.Host) {
		add("smtp.insecure_skip_verify: allowed only for a loopback host (tests)")
	}
	if (c.Username == "") != (c.Password == "") {
		add("smtp.username and the SMTP password (IDCENTER_SMTP_PASSWORD_FILE) must be set together")
	}
	if strings.ContainsAny(c.Username, "\r\n\x00") || strings.ContainsAny(c.Password, "\r\n\x00") {
		add("smtp.username and the SMTP password must not contain line breaks or NUL")
	}
	if c.From == "" {
		add("smtp.from: required (the sender address, like no-reply@example.com)")
	} else if err := headerSafe("from", c.From); err != nil {
		add("smtp.from: must not contain line breaks or control characters")
	} else if a, err := parseAddress(c.From); err != nil {
		add("smtp.from: %q: %v", c.From, err)
	} else if a.Name != "" || a.Address != strings.TrimSpace(c.From) {
		add("smtp.from: %q must be a bare address; put the display name in smtp.from_name", c.From)
	}
	if err := headerSafe("from_name", c.FromName); err != nil {
		add("smtp.from_name: must not contain line breaks or control characters")
	}
	if c.Timeout < 0 {
		add("smtp.timeout: must not be negative")
	}
	return errors.Join(problems...)
}

func hasPort(host string) bool {
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return false // an IPv6 literal has colons but no port
	}
	_, _, err := net.SplitHostPort(host)
	return err == nil
}

// isLoopback reports whether host is "localhost" or a loopback IP literal.
// Other names are not resolved: what they point at can change.
func isLoopback(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.Unmap().IsLoopback()
}

// SMTP sends mail through one SMTP server, one connection per message.
// It is safe for concurrent use.
type SMTP struct {
	cfg      SMTPConfig
	from     *netmail.Address
	idDomain string
	// rootCAs replaces the system roots; set by tests only.
	rootCAs *x509.CertPool
}

var _ Sender = (*SMTP)(nil)

// NewSMTP validates cfg and returns a sender. It does not connect.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	cfg.Host = strings.Trim(cfg.Host, "[]") // "[::1]" → "::1"; Addr adds the brackets back
	cfg.From = strings.TrimSpace(cfg.From)
	from := &netmail.Address{Name: cfg.FromName, Address: cfg.From}
	domain := cfg.From[strings.LastIndexByte(cfg.From, '@')+1:]
	if !isASCIIDomain(domain) {
		domain = "idcenter.invalid"
	}
	return &SMTP{cfg: cfg, from: from, idDomain: domain}, nil
}

func isASCIIDomain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return s != ""
}

// Addr returns host:port of the server.
func (s *SMTP) Addr() string { return net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)) }

// Send delivers m. It returns when the server has accepted the message, or
// with an error after at most the configured Timeout (or when ctx ends).
func (s *SMTP) Send(ctx context.Context, m Message) error {
	to, err := m.Validate()
	if err != nil {
		return err
	}
	msg, err := s.build(to, m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: send via %s: %w", s.Addr(), err)
	}

	// go-mail honours the context only while dialling; closing the
	// connection when ctx ends bounds the whole conversation.
	var stop func() bool
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	tlsConf := s.tlsConfig()
	// go-mail formats its address as host:port, wrong for IPv6 literals;
	// dial our own.
	dial := func(dctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(dctx, network, s.Addr())
		if err != nil {
			return nil, err
		}
		if s.cfg.TLS == TLSImplicit {
			tc := tls.Client(conn, tlsConf)
			if err := tc.HandshakeContext(dctx); err != nil {
				conn.Close()
				return nil, err
			}
			conn = tc
		}
		stop = context.AfterFunc(ctx, func() { conn.Close() })
		return conn, nil
	}

	policy := gomail.TLSMandatory
	if s.cfg.TLS != TLSStartTLS {
		policy = gomail.NoTLS // implicit TLS is done by dial; none is loopback only
	}
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithTLSPolicy(policy),
		gomail.WithTLSConfig(tlsConf),
		gomail.WithDialContextFunc(dial),
	}
	if s.cfg.Username != "" {
		// PLAIN and LOGIN refuse to send credentials unless the connection
		// is TLS or the host is loopback.
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	client, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("mail: smtp client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("mail: send via %s: %w (%w)", s.Addr(), ctx.Err(), err)
		}
		return fmt.Errorf("mail: send via %s: %w", s.Addr(), err)
	}
	return nil
}

func (s *SMTP) tlsConfig() *tls.Config {
	return &tls.Config{
		ServerName:         s.cfg.Host,
		MinVersion:         tls.VersionTLS12,
		RootCAs:            s.rootCAs,
		InsecureSkipVerify: s.cfg.InsecureSkipVerify, //nolint:gosec // loopback only, enforced by Validate
	}
}

// build turns m into a MIME message: multipart/alternative when it has an
// HTML part, with Message-ID, Date and RFC 3834 Auto-Submitted headers.
// go-mail encodes non-ASCII headers as RFC 2047 words and the bodies as
// quoted-printable.
func (s *SMTP) build(to *netmail.Address, m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	if err := msg.EnvelopeFrom(s.from.Address); err != nil {
		return nil, fmt.Errorf("mail: from: %w", err)
	}
	msg.ToMailAddress(to)
	msg.Subject(m.Subject)
	id, err := messageID(s.idDomain)
	if err != nil {
		return nil, err
	}
	msg.SetMessageIDWithValue(id)
	msg.SetDateWithValue(time.Now())
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// messageID returns "<random>@domain" with 160 random bits.
func messageID(domain string) (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("mail: message id: %w", err)
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)) + "@" + domain, nil
}
