package testenv

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SinkOptions configures StartSMTPSink. The zero value is a plain SMTP
// server without TLS or AUTH.
type SinkOptions struct {
	// STARTTLS offers STARTTLS with a self-signed certificate for
	// 127.0.0.1, ::1 and localhost (see SMTPSink.CertPool). AUTH is then
	// offered only after STARTTLS.
	STARTTLS bool
	// ImplicitTLS serves TLS from the first byte (SMTPS) with the same
	// certificate. It excludes STARTTLS.
	ImplicitTLS bool
	// Username and Password, when Username is set, make the sink offer AUTH
	// PLAIN and refuse MAIL, RCPT and DATA from unauthenticated clients.
	Username string
	Password string
}

// SMTPSink is a real SMTP server on 127.0.0.1 that keeps every message it
// receives. It stops when the test ends.
type SMTPSink struct {
	Addr string // "127.0.0.1:port"
	Host string // "127.0.0.1"
	Port int

	opts    SinkOptions
	srv     *smtp.Server
	pool    *x509.CertPool
	mu      sync.Mutex
	msgs    []ReceivedMessage
	taken   []bool        // msgs[i] was returned by WaitFor
	arrived chan struct{} // closed and replaced when a message arrives
	closed  bool
}

// ReceivedMessage is one message as the sink received it.
type ReceivedMessage struct {
	From     string   // envelope MAIL FROM
	To       []string // envelope RCPT TO
	Data     []byte   // the raw message after the DATA command
	TLS      bool     // the message travelled over TLS (STARTTLS or implicit)
	AuthUser string   // the AUTH PLAIN user, "" without AUTH

	Header  mail.Header // parsed headers (values still RFC 2047 encoded)
	Subject string      // decoded Subject
	Text    string      // decoded text/plain part
	HTML    string      // decoded text/html part
	// ParseErr is set when Data is not a well-formed MIME message; the
	// envelope and Data are still recorded.
	ParseErr error
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// Links returns the http and https URLs in the text part, in order.
// Trailing sentence punctuation is not part of a link.
func (m ReceivedMessage) Links() []string {
	var out []string
	for _, l := range linkRE.FindAllString(m.Text, -1) {
		out = append(out, strings.TrimRight(l, ".,;:!?)'"))
	}
	return out
}

// StartSMTPSink starts a sink listening on 127.0.0.1:0. It is closed by
// t.Cleanup.
func StartSMTPSink(t testing.TB, opts SinkOptions) *SMTPSink {
	t.Helper()
	if opts.STARTTLS && opts.ImplicitTLS {
		t.Fatal("testenv: SinkOptions.STARTTLS and ImplicitTLS exclude each other")
	}
	s := &SMTPSink{opts: opts, arrived: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &sinkSession{sink: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 50
	srv.ErrorLog = &sinkLog{t: t, sink: s}
	var tlsConf *tls.Config
	if opts.STARTTLS || opts.ImplicitTLS {
		var cert tls.Certificate
		cert, s.pool = selfSignedCert(t)
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	srv.AllowInsecureAuth = !opts.STARTTLS // with STARTTLS on offer, AUTH only after it
	if opts.STARTTLS {
		srv.TLSConfig = tlsConf
	}
	s.srv = srv

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: smtp sink listen: %v", err)
	}
	if opts.ImplicitTLS {
		ln = tls.NewListener(ln, tlsConf)
	}
	tcp := ln.Addr().(*net.TCPAddr)
	s.Addr, s.Host, s.Port = tcp.String(), tcp.IP.String(), tcp.Port

	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		_ = srv.Close()
		<-done
	})
	return s
}

// CertPool returns a pool holding the sink's self-signed certificate, or nil
// when TLS is off.
func (s *SMTPSink) CertPool() *x509.CertPool { return s.pool }

// Messages returns every message received so far, oldest first.
func (s *SMTPSink) Messages() []ReceivedMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ReceivedMessage(nil), s.msgs...)
}

// WaitFor returns the oldest message for envelope recipient to (compared
// case-insensitively) that WaitFor has not returned before, waiting up to
// timeout for it to arrive. It fails the test on timeout. Calling it twice
// returns the first and then the second message to the same address.
func (s *SMTPSink) WaitFor(t testing.TB, to string, timeout time.Duration) ReceivedMessage {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		for i, m := range s.msgs {
			if s.taken[i] {
				continue
			}
			for _, rcpt := range m.To {
				if strings.EqualFold(rcpt, to) {
					s.taken[i] = true
					s.mu.Unlock()
					return m
				}
			}
		}
		arrived := s.arrived
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-timer.C:
			t.Fatalf("testenv: no email to %s within %v (%d messages received)", to, timeout, len(s.Messages()))
			return ReceivedMessage{}
		}
	}
}

func (s *SMTPSink) add(m ReceivedMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	s.taken = append(s.taken, false)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

// sinkSession is one SMTP connection's state.
type sinkSession struct {
	sink *SMTPSink
	conn *smtp.Conn
	user string // authenticated user
	from string
	to   []string
}

var _ smtp.AuthSession = (*sinkSession)(nil)

func (ss *sinkSession) AuthMechanisms() []string {
	if ss.sink.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *sinkSession) Auth(mech string) (sasl.Server, error) {
	if ss.sink.opts.Username == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if (identity != "" && identity != username) || username != ss.sink.opts.Username || password != ss.sink.opts.Password {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *sinkSession) authorised() error {
	if ss.sink.opts.Username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	return nil
}

func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if err := ss.authorised(); err != nil {
		return err
	}
	ss.from = from
	return nil
}

func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.authorised(); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	if err := ss.authorised(); err != nil {
		return err
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ss.conn.TLSConnectionState()
	m := ReceivedMessage{From: ss.from, To: append([]string(nil), ss.to...), Data: raw, TLS: isTLS, AuthUser: ss.user}
	m.ParseErr = parseReceived(&m)
	ss.sink.add(m)
	return nil
}

func (ss *sinkSession) Reset() { ss.from, ss.to = "", nil }

func (ss *sinkSession) Logout() error { return nil }

// parseReceived fills Header, Subject, Text and HTML from m.Data.
func parseReceived(m *ReceivedMessage) error {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return fmt.Errorf("read message: %w", err)
	}
	m.Header = msg.Header
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return fmt.Errorf("decode subject: %w", err)
	}
	return walkPart(m, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0)
}

// walkPart decodes one MIME entity, descending into multiparts, and keeps
// the first text/plain and text/html leaves.
func walkPart(m *ReceivedMessage, ctype, cte string, body io.Reader, depth int) error {
	if depth > 10 {
		return errors.New("multipart nesting too deep")
	}
	if ctype == "" {
		ctype = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return fmt.Errorf("content type %q: %w", ctype, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("multipart: %w", err)
			}
			if err := walkPart(m, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, &crlfStripper{r: body})
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("%s body: %w", mt, err)
	}
	if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" {
		return fmt.Errorf("%s: unexpected charset %q", mt, cs)
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	switch {
	case mt == "text/plain" && m.Text == "":
		m.Text = text
	case mt == "text/html" && m.HTML == "":
		m.HTML = text
	}
	return nil
}

// crlfStripper drops line breaks so base64 bodies decode.
type crlfStripper struct{ r io.Reader }

func (c *crlfStripper) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	j := 0
	for _, b := range p[:n] {
		if b != '\r' && b != '\n' {
			p[j] = b
			j++
		}
	}
	return j, err
}

// selfSignedCert makes an ECDSA certificate for the loopback names, valid
// for one day, and a pool that trusts it.
func selfSignedCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testenv: generate key: %v", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatalf("testenv: serial: %v", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "idcenter test SMTP sink"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("testenv: create certificate: %v", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("testenv: parse certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// sinkLog sends the server's internal errors to the test log while the test
// runs (t.Log after the test ends would panic).
type sinkLog struct {
	t    testing.TB
	sink *SMTPSink
}

func (l *sinkLog) Printf(format string, v ...any) { l.log(fmt.Sprintf(format, v...)) }
func (l *sinkLog) Println(v ...any)               { l.log(fmt.Sprintln(v...)) }

func (l *sinkLog) log(s string) {
	l.sink.mu.Lock()
	defer l.sink.mu.Unlock()
	if !l.sink.closed {
		l.t.Logf("smtp sink: %s", strings.TrimSpace(s))
	}
}
