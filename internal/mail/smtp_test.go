package mail_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idcenter/idcenter/internal/mail"
	"github.com/idcenter/idcenter/internal/testenv"
)

const (
	testUser = "mailer"
	testPass = "s3cret-smtp-pass"
	testFrom = "no-reply@idc.example.com"
)

// newTestSMTP returns a sender for sink that trusts the sink's certificate.
func newTestSMTP(t *testing.T, sink *testenv.SMTPSink, mutate func(*mail.SMTPConfig)) *mail.SMTP {
	t.Helper()
	cfg := mail.SMTPConfig{Host: sink.Host, Port: sink.Port, TLS: mail.TLSNone, From: testFrom, FromName: "Acme Sign-in", Timeout: 5 * time.Second}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := mail.NewSMTP(cfg)
	if err != nil {
		t.Fatalf("mail.NewSMTP: %v", err)
	}
	mail.SetRootCAs(s, sink.CertPool())
	return s
}

func testInvite(t *testing.T, to string) (mail.Message, string) {
	t.Helper()
	link := "https://idc.example.com/invite/accept?token=Zm9vYmFyYmF6cXV4LXRva2VuLXZhbHVlLWxvbmctZW5vdWdoLXRvLXdyYXA&next=%2Fportal%2Fapps%3Fa%3D1"
	m, err := mail.Invitation(mail.InviteData{To: to, DisplayName: "Bob Example", InstanceName: "Acme Sign-in", Link: link,
		ExpiresAt: time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC), InvitedBy: "Alice Admin"})
	if err != nil {
		t.Fatal(err)
	}
	return m, link
}

func TestSendSTARTTLSWithAuth(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*mail.SMTPConfig)
		trust  bool
	}{
		{"verified certificate", func(c *mail.SMTPConfig) {}, true},
		{"insecure_skip_verify on loopback", func(c *mail.SMTPConfig) { c.InsecureSkipVerify = true }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := testenv.StartSMTPSink(t, testenv.SinkOptions{STARTTLS: true, Username: testUser, Password: testPass})
			s := newTestSMTP(t, sink, func(c *mail.SMTPConfig) {
				c.TLS, c.Username, c.Password = mail.TLSStartTLS, testUser, testPass
				tc.mutate(c)
			})
			if !tc.trust {
				mail.SetRootCAs(s, nil)
			}
			m, link := testInvite(t, "bob@example.com")
			if err := s.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := sink.WaitFor(t, "bob@example.com", 5*time.Second)
			if got.ParseErr != nil {
				t.Fatalf("sink could not parse the message: %v\n%s", got.ParseErr, got.Data)
			}
			if !got.TLS || got.AuthUser != testUser || got.From != testFrom {
				t.Errorf("TLS=%v AuthUser=%q From=%q, want TLS, %q, %q", got.TLS, got.AuthUser, got.From, testUser, testFrom)
			}
			if diff := cmp.Diff([]string{"bob@example.com"}, got.To); diff != "" {
				t.Errorf("envelope To (-want +got):\n%s", diff)
			}
			if got.Subject != m.Subject {
				t.Errorf("Subject = %q, want %q", got.Subject, m.Subject)
			}
			if diff := cmp.Diff(m.Text, got.Text); diff != "" {
				t.Errorf("text part changed in transit (-sent +received):\n%s", diff)
			}
			if diff := cmp.Diff(m.HTML, got.HTML); diff != "" {
				t.Errorf("HTML part changed in transit (-sent +received):\n%s", diff)
			}
			if diff := cmp.Diff([]string{link}, got.Links()); diff != "" {
				t.Errorf("links in the text part (-want +got):\n%s", diff)
			}
			h := got.Header
			if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative;") {
				t.Errorf("Content-Type = %q, want multipart/alternative", ct)
			}
			if id := h.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@idc.example.com>") {
				t.Errorf("Message-ID = %q", id)
			}
			if d, err := h.Date(); err != nil || time.Since(d) > time.Minute || time.Until(d) > time.Minute {
				t.Errorf("Date = %q (%v)", h.Get("Date"), err)
			}
			if from := h.Get("From"); from != `"Acme Sign-in" <no-reply@idc.example.com>` {
				t.Errorf("From = %q", from)
			}
			if h.Get("Auto-Submitted") != "auto-generated" {
				t.Errorf("Auto-Submitted = %q", h.Get("Auto-Submitted"))
			}
			if strings.Contains(string(got.Data), testPass) {
				t.Error("the SMTP password appears in the message")
			}
		})
	}
}

func TestSendPlainLoopback(t *testing.T) {
	for _, auth := range []bool{false, true} {
		t.Run(map[bool]string{false: "no auth", true: "auth"}[auth], func(t *testing.T) {
			opts := testenv.SinkOptions{}
			if auth {
				opts.Username, opts.Password = testUser, testPass
			}
			sink := testenv.StartSMTPSink(t, opts)
			s := newTestSMTP(t, sink, func(c *mail.SMTPConfig) {
				if auth {
					c.Username, c.Password = testUser, testPass
				}
			})
			m, link := testInvite(t, "carol@example.com")
			if err := s.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := sink.WaitFor(t, "carol@example.com", 5*time.Second)
			if got.TLS {
				t.Error("TLS none used TLS")
			}
			if got.Text == "" || got.HTML == "" {
				t.Fatalf("want both parts; text %d bytes, HTML %d bytes", len(got.Text), len(got.HTML))
			}
			if diff := cmp.Diff([]string{link}, got.Links()); diff != "" {
				t.Errorf("links (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendToLocalhostByName(t *testing.T) {
	// "localhost" may resolve to ::1 first; the sink's certificate names it.
	sink := testenv.StartSMTPSink(t, testenv.SinkOptions{STARTTLS: true, Username: testUser, Password: testPass})
	s := newTestSMTP(t, sink, func(c *mail.SMTPConfig) {
		c.Host, c.TLS, c.Username, c.Password = "localhost", mail.TLSStartTLS, testUser, testPass
	})
	m, _ := testInvite(t, "frank@example.com")
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := sink.WaitFor(t, "frank@example.com", 5*time.Second); !got.TLS || got.AuthUser != testUser {
		t.Errorf("TLS=%v AuthUser=%q", got.TLS, got.AuthUser)
	}
}

func TestSendIPv6Literal(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	for _, host := range []string{"::1", "[::1]"} {
		s, err := mail.NewSMTP(mail.SMTPConfig{Host: host, Port: port, TLS: mail.TLSNone, From: testFrom, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if s.Addr() != net.JoinHostPort("::1", strconv.Itoa(port)) {
			t.Errorf("Addr = %q", s.Addr())
		}
		m, _ := testInvite(t, "bob@example.com")
		_ = s.Send(context.Background(), m) // the server hangs up; only the connection matters
	}
	for range 2 {
		select {
		case <-accepted:
		case <-time.After(5 * time.Second):
			t.Fatal("no connection to [::1]")
		}
	}
}

func TestSendImplicitTLS(t *testing.T) {
	sink := testenv.StartSMTPSink(t, testenv.SinkOptions{ImplicitTLS: true, Username: testUser, Password: testPass})
	s := newTestSMTP(t, sink, func(c *mail.SMTPConfig) { c.TLS, c.Username, c.Password = mail.TLSImplicit, testUser, testPass })
	m, _ := testInvite(t, "dave@example.com")
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := sink.WaitFor(t, "dave@example.com", 5*time.Second); !got.TLS || got.AuthUser != testUser {
		t.Errorf("TLS=%v AuthUser=%q", got.TLS, got.AuthUser)
	}
}

func TestSendTextOnly(t *testing.T) {
	sink := testenv.StartSMTPSink(t, testenv.SinkOptions{})
	s := newTestSMTP(t, sink, nil)
	m := mail.Message{To: "Erin Example <erin@example.com>", Subject: "Grüße aus Zürich", Text: "Hallo Erin,\nschöne Grüße.\n"}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := sink.WaitFor(t, "erin@example.com", 5*time.Second)
	if got.Subject != m.Subject || got.Text != m.Text || got.HTML != "" {
		t.Errorf("got subject %q text %q html %q", got.Subject, got.Text, got.HTML)
	}
	if ct := got.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", ct)
	}
}

func TestSendFailures(t *testing.T) {
	m, _ := testInvite(t, "bob@example.com")
	t.Run("wrong password", func(t *testing.T) {
		sink := testenv.StartSMTPSink(t, testenv.SinkOptions{STARTTLS: true, Username: testUser, Password: testPass})
		s := newTestSMTP(t, sink, func(c *mail.SMTPConfig) {
			c.TLS, c.Username, c.Password = mail.TLSStartTLS, testUser, "Wr0ng-Passw0rd-4711"
		})
		err := s.Send(context.Background(), m)
		if err == nil || !strings.Contains(err.Error(), "AUTH") {
			t.Fatalf("Send = %v, want an AUTH error", err)
		}
		if strings.Contains(err.Error(), "Wr0ng-Passw0rd-4711") {
			t.Errorf("the error shows the password: %v", err)
		}
		if n := len(sink.Messages()); n != 0 {
			t.Errorf("sink received %d messages", n)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		sink := testenv.StartSMTPSink(t, testenv.SinkOptions{STARTTLS: true, Username: testUser, Password: testPass})
		s := newTestSMTP(t, sink, func(c *mail.SMTPConfig) { c.TLS, c.Username, c.Password = mail.TLSStartTLS, testUser, testPass })
		mail.SetRootCAs(s, nil) // system roots do not know the sink's certificate
		if err := s.Send(context.Background(), m); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("Send = %v, want a certificate error", err)
		}
		if n := len(sink.Messages()); n != 0 {
			t.Errorf("sink received %d messages", n)
		}
	})
	t.Run("server without STARTTLS", func(t *testing.T) {
		sink := testenv.StartSMTPSink(t, testenv.SinkOptions{Username: testUser, Password: testPass})
		s := newTestSMTP(t, sink, func(c *mail.SMTPConfig) { c.TLS, c.Username, c.Password = mail.TLSStartTLS, testUser, testPass })
		if err := s.Send(context.Background(), m); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatalf("Send = %v, want a STARTTLS error (no downgrade)", err)
		}
		if n := len(sink.Messages()); n != 0 {
			t.Errorf("sink received %d messages", n)
		}
	})
	t.Run("auth required but not configured", func(t *testing.T) {
		sink := testenv.StartSMTPSink(t, testenv.SinkOptions{Username: testUser, Password: testPass})
		s := newTestSMTP(t, sink, nil)
		if err := s.Send(context.Background(), m); err == nil {
			t.Fatal("Send succeeded without AUTH")
		}
	})
}

func TestSendUnreachable(t *testing.T) {
	m, _ := testInvite(t, "bob@example.com")
	const timeout = 300 * time.Millisecond
	check := func(t *testing.T, s *mail.SMTP, ctx context.Context) {
		t.Helper()
		start := time.Now()
		err := s.Send(ctx, m)
		if err == nil {
			t.Fatal("Send succeeded")
		}
		if d := time.Since(start); d > timeout+2*time.Second {
			t.Errorf("Send took %v with a %v timeout", d, timeout)
		}
	}
	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		s, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: port, TLS: mail.TLSNone, From: testFrom, Timeout: timeout})
		if err != nil {
			t.Fatal(err)
		}
		check(t, s, context.Background())
	})
	// A server that accepts and never greets: only the timeout ends the send.
	silent := func(t *testing.T) int {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var conns []net.Conn
		wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		})
		t.Cleanup(func() {
			ln.Close()
			wg.Wait()
			for _, c := range conns {
				c.Close()
			}
		})
		return ln.Addr().(*net.TCPAddr).Port
	}
	for _, mode := range []string{mail.TLSNone, mail.TLSImplicit} {
		t.Run("silent server, "+mode, func(t *testing.T) {
			s, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: silent(t), TLS: mode, From: testFrom, Timeout: timeout})
			if err != nil {
				t.Fatal(err)
			}
			check(t, s, context.Background())
		})
	}
	t.Run("silent server, context cancelled", func(t *testing.T) {
		s, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: silent(t), TLS: mail.TLSNone, From: testFrom, Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		check(t, s, ctx)
	})
}

func TestHeaderInjectionRejected(t *testing.T) {
	sink := testenv.StartSMTPSink(t, testenv.SinkOptions{})
	s := newTestSMTP(t, sink, nil)
	var rec mail.Recorder
	good := mail.Message{To: "bob@example.com", Subject: "Hello", Text: "Hi."}
	for _, tc := range []struct {
		name string
		edit func(*mail.Message)
	}{
		{"CRLF in subject", func(m *mail.Message) { m.Subject = "Hello\r\nBcc: victim@example.net" }},
		{"LF in subject", func(m *mail.Message) { m.Subject = "Hello\nBcc: victim@example.net" }},
		{"CR in subject", func(m *mail.Message) { m.Subject = "Hello\rBcc: victim@example.net" }},
		{"CRLF in to", func(m *mail.Message) { m.To = "bob@example.com\r\nBcc: victim@example.net" }},
		{"LF in to display name", func(m *mail.Message) { m.To = "\"Bob\nBcc: victim@example.net\" <bob@example.com>" }},
		{"NUL in subject", func(m *mail.Message) { m.Subject = "Hello\x00" }},
		{"two recipients", func(m *mail.Message) { m.To = "bob@example.com, victim@example.net" }},
		{"no recipient", func(m *mail.Message) { m.To = "" }},
		{"no domain", func(m *mail.Message) { m.To = "bob@" }},
		{"empty text", func(m *mail.Message) { m.Text = " " }},
		{"empty subject", func(m *mail.Message) { m.Subject = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := good
			tc.edit(&m)
			for name, snd := range map[string]mail.Sender{"smtp": s, "recorder": &rec, "log": mail.Log{}} {
				if err := snd.Send(context.Background(), m); !errors.Is(err, mail.ErrInvalidMessage) {
					t.Errorf("%s: Send = %v, want mail.ErrInvalidMessage", name, err)
				}
			}
		})
	}
	if err := s.Send(context.Background(), good); err != nil {
		t.Fatalf("good message: %v", err)
	}
	sink.WaitFor(t, "bob@example.com", 5*time.Second)
	if msgs := sink.Messages(); len(msgs) != 1 {
		t.Errorf("sink received %d messages, want only the good one", len(msgs))
	}
	if n := len(rec.Messages()); n != 0 {
		t.Errorf("recorder kept %d invalid messages", n)
	}
}

func TestHTMLEscapingThroughSMTP(t *testing.T) {
	sink := testenv.StartSMTPSink(t, testenv.SinkOptions{})
	s := newTestSMTP(t, sink, nil)
	m, err := mail.PasswordReset(mail.ResetData{To: "mallory@example.com", DisplayName: `<script>alert("x")</script> & <b>bold</b>`,
		InstanceName: `Acme <img src=x onerror=alert(1)>`, Link: "https://idc.example.com/reset?token=abc", RequestIP: "203.0.113.9"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := sink.WaitFor(t, "mallory@example.com", 5*time.Second)
	for _, bad := range []string{"<script", "<b>", "<img"} {
		if strings.Contains(got.HTML, bad) {
			t.Errorf("HTML part contains unescaped %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;", "Acme &lt;img src=x onerror=alert(1)&gt;"} {
		if !strings.Contains(got.HTML, want) {
			t.Errorf("HTML part lacks escaped %q", want)
		}
	}
	// The plain part is plain text: shown as written, nothing to escape.
	if !strings.Contains(got.Text, `Hello <script>alert("x")</script> & <b>bold</b>,`) {
		t.Errorf("text part:\n%s", got.Text)
	}
}

func TestSendConcurrent(t *testing.T) {
	sink := testenv.StartSMTPSink(t, testenv.SinkOptions{STARTTLS: true, Username: testUser, Password: testPass})
	s := newTestSMTP(t, sink, func(c *mail.SMTPConfig) { c.TLS, c.Username, c.Password = mail.TLSStartTLS, testUser, testPass })
	var wg sync.WaitGroup
	const n = 8
	errc := make(chan error, n)
	for i := range n {
		m, _ := testInvite(t, "user"+string(rune('a'+i))+"@example.com")
		wg.Go(func() { errc <- s.Send(context.Background(), m) })
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Error(err)
		}
	}
	for i := range n {
		sink.WaitFor(t, "user"+string(rune('a'+i))+"@example.com", 5*time.Second)
	}
}

func TestSMTPConfigValidate(t *testing.T) {
	base := mail.SMTPConfig{Host: "smtp.example.com", From: testFrom}
	for _, tc := range []struct {
		name string
		edit func(*mail.SMTPConfig)
		want string // substring of the error; "" = valid
	}{
		{"defaults", func(c *mail.SMTPConfig) {}, ""},
		{"tls", func(c *mail.SMTPConfig) { c.TLS = mail.TLSImplicit }, ""},
		{"auth", func(c *mail.SMTPConfig) { c.Username, c.Password = "u", "p" }, ""},
		{"from name", func(c *mail.SMTPConfig) { c.FromName = "Acme Sign-in" }, ""},
		{"none on localhost", func(c *mail.SMTPConfig) { c.Host, c.TLS = "localhost", mail.TLSNone }, ""},
		{"none on 127.0.0.2", func(c *mail.SMTPConfig) { c.Host, c.TLS = "127.0.0.2", mail.TLSNone }, ""},
		{"none on ::1", func(c *mail.SMTPConfig) { c.Host, c.TLS = "::1", mail.TLSNone }, ""},
		{"none on [::1]", func(c *mail.SMTPConfig) { c.Host, c.TLS = "[::1]", mail.TLSNone }, ""},
		{"insecure on loopback", func(c *mail.SMTPConfig) { c.Host, c.InsecureSkipVerify = "127.0.0.1", true }, ""},
		{"no host", func(c *mail.SMTPConfig) { c.Host = "" }, "smtp.host: required"},
		{"host with port", func(c *mail.SMTPConfig) { c.Host = "smtp.example.com:587" }, "must not include a port"},
		{"host with CRLF", func(c *mail.SMTPConfig) { c.Host = "smtp.example.com\r\n" }, "smtp.host"},
		{"bad port", func(c *mail.SMTPConfig) { c.Port = 70000 }, "smtp.port"},
		{"negative port", func(c *mail.SMTPConfig) { c.Port = -1 }, "smtp.port"},
		{"unknown tls", func(c *mail.SMTPConfig) { c.TLS = "ssl" }, "smtp.tls"},
		{"none on remote host", func(c *mail.SMTPConfig) { c.TLS = mail.TLSNone }, "loopback"},
		{"none on a name for loopback", func(c *mail.SMTPConfig) { c.Host, c.TLS = "mail.localtest.me", mail.TLSNone }, "loopback"},
		{"none on 10/8", func(c *mail.SMTPConfig) { c.Host, c.TLS = "10.0.0.1", mail.TLSNone }, "loopback"},
		{"insecure on remote host", func(c *mail.SMTPConfig) { c.InsecureSkipVerify = true }, "insecure_skip_verify"},
		{"username only", func(c *mail.SMTPConfig) { c.Username = "u" }, "set together"},
		{"password only", func(c *mail.SMTPConfig) { c.Password = "p" }, "set together"},
		{"no from", func(c *mail.SMTPConfig) { c.From = "" }, "smtp.from: required"},
		{"from with name", func(c *mail.SMTPConfig) { c.From = "Acme <no-reply@example.com>" }, "bare address"},
		{"from with CRLF", func(c *mail.SMTPConfig) { c.From = "a@example.com\r\nBcc: x@example.net" }, "smtp.from"},
		{"from not an address", func(c *mail.SMTPConfig) { c.From = "no-reply" }, "smtp.from"},
		{"from name with LF", func(c *mail.SMTPConfig) { c.FromName = "Acme\nBcc: x@example.net" }, "smtp.from_name"},
		{"negative timeout", func(c *mail.SMTPConfig) { c.Timeout = -time.Second }, "smtp.timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.edit(&c)
			err := c.Validate()
			_, nerr := mail.NewSMTP(c)
			if tc.want == "" {
				if err != nil || nerr != nil {
					t.Fatalf("Validate = %v, mail.NewSMTP = %v", err, nerr)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want it to mention %q", err, tc.want)
			}
			if nerr == nil {
				t.Fatal("mail.NewSMTP accepted an invalid config")
			}
		})
	}
	// every problem at once
	err := mail.SMTPConfig{TLS: "bogus", Port: -5}.Validate()
	for _, want := range []string{"smtp.host", "smtp.port", "smtp.tls", "smtp.from"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want it to mention %s", err, want)
		}
	}
}

func TestSMTPConfigDefaults(t *testing.T) {
	for tls, port := range map[string]int{"": 587, mail.TLSStartTLS: 587, mail.TLSImplicit: 465, mail.TLSNone: 25} {
		got := mail.SMTPConfig{Host: "localhost", TLS: tls}.WithDefaults()
		if got.Port != port || got.Timeout != mail.DefaultTimeout || got.TLS == "" {
			t.Errorf("WithDefaults(tls=%q) = port %d, timeout %v, tls %q", tls, got.Port, got.Timeout, got.TLS)
		}
	}
	if got := (mail.SMTPConfig{Port: 2525, Timeout: time.Second}).WithDefaults(); got.Port != 2525 || got.Timeout != time.Second {
		t.Errorf("WithDefaults overrode set values: %+v", got)
	}
	if (mail.SMTPConfig{}).Enabled() || !(mail.SMTPConfig{Host: "x"}).Enabled() {
		t.Error("Enabled")
	}
}
