package testenv

import (
	"crypto/tls"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The sink is exercised with the standard library's SMTP client, which
// shares no code with go-mail (the sender under test elsewhere).

const sinkTestMessage = "From: Sender <sender@example.com>\r\n" +
	"To: rcpt@example.com\r\n" +
	"Subject: =?UTF-8?q?Gr=C3=BC=C3=9Fe?= and more\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=outer\r\n" +
	"\r\n" +
	"--outer\r\n" +
	"Content-Type: multipart/alternative; boundary=inner\r\n" +
	"\r\n" +
	"--inner\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Open https://example.com/a?token=3Dabcdefghijklmnopqrstuvwxyz0123456789abcdefgh=\r\n" +
	"ijklmnop&x=3D1.\r\n" +
	"Or (http://example.org/b), not ftp://example.net/c.\r\n" +
	"--inner\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"PHA+R3LDvMOfZTwvcD4=\r\n" +
	"--inner--\r\n" +
	"--outer--\r\n"

func TestSMTPSinkParsesMessages(t *testing.T) {
	sink := StartSMTPSink(t, SinkOptions{})
	if sink.Host != "127.0.0.1" || sink.Port == 0 || sink.Addr != net.JoinHostPort("127.0.0.1", strconv.Itoa(sink.Port)) {
		t.Fatalf("Addr %q Host %q Port %d", sink.Addr, sink.Host, sink.Port)
	}
	if err := smtp.SendMail(sink.Addr, nil, "bounce@example.com", []string{"rcpt@example.com", "cc@example.com"}, []byte(sinkTestMessage)); err != nil {
		t.Fatal(err)
	}
	got := sink.WaitFor(t, "RCPT@example.com", 5*time.Second)
	if got.ParseErr != nil {
		t.Fatal(got.ParseErr)
	}
	want := ReceivedMessage{
		From:    "bounce@example.com",
		To:      []string{"rcpt@example.com", "cc@example.com"},
		Subject: "Grüße and more",
		Text:    "Open https://example.com/a?token=abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnop&x=1.\nOr (http://example.org/b), not ftp://example.net/c.",
		HTML:    "<p>Grüße</p>",
	}
	if diff := cmp.Diff(want, got, cmpIgnoreRaw); diff != "" {
		t.Errorf("received (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(got.Data), "Content-Transfer-Encoding: base64") {
		t.Error("Data is not the raw message")
	}
	wantLinks := []string{"https://example.com/a?token=abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnop&x=1", "http://example.org/b"}
	if diff := cmp.Diff(wantLinks, got.Links()); diff != "" {
		t.Errorf("Links (-want +got):\n%s", diff)
	}
	if n := len(sink.Messages()); n != 1 {
		t.Errorf("Messages() has %d, want 1", n)
	}
}

var cmpIgnoreRaw = cmp.FilterPath(func(p cmp.Path) bool {
	switch p.Last().String() {
	case ".Data", ".Header":
		return true
	}
	return false
}, cmp.Ignore())

func TestSMTPSinkSTARTTLSAndAuth(t *testing.T) {
	sink := StartSMTPSink(t, SinkOptions{STARTTLS: true, Username: "u", Password: "p4ss"})
	dial := func(t *testing.T) *smtp.Client {
		t.Helper()
		c, err := smtp.Dial(sink.Addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	startTLS := func(t *testing.T, c *smtp.Client) {
		t.Helper()
		if ok, _ := c.Extension("STARTTLS"); !ok {
			t.Fatal("STARTTLS not offered")
		}
		if ok, _ := c.Extension("AUTH"); ok {
			t.Fatal("AUTH offered before STARTTLS")
		}
		if err := c.StartTLS(&tls.Config{ServerName: "127.0.0.1", RootCAs: sink.CertPool()}); err != nil {
			t.Fatalf("STARTTLS with the sink's pool: %v", err)
		}
	}

	t.Run("no auth", func(t *testing.T) {
		c := dial(t)
		startTLS(t, c)
		if err := c.Mail("a@example.com"); err == nil {
			t.Fatal("MAIL accepted without AUTH")
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		c := dial(t)
		startTLS(t, c)
		if err := c.Auth(smtp.PlainAuth("", "u", "nope", "127.0.0.1")); err == nil {
			t.Fatal("wrong password accepted")
		}
	})
	t.Run("certificate is verified for localhost", func(t *testing.T) {
		c := dial(t)
		if err := c.StartTLS(&tls.Config{ServerName: "localhost", RootCAs: sink.CertPool()}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("certificate is not trusted by default", func(t *testing.T) {
		c := dial(t)
		if err := c.StartTLS(&tls.Config{ServerName: "127.0.0.1"}); err == nil {
			t.Fatal("self-signed certificate verified against the system roots")
		}
	})
	t.Run("send", func(t *testing.T) {
		c := dial(t)
		startTLS(t, c)
		if err := c.Auth(smtp.PlainAuth("", "u", "p4ss", "127.0.0.1")); err != nil {
			t.Fatal(err)
		}
		if err := c.Mail("a@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("b@example.com"); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("Subject: hi\r\n\r\nbody\r\n")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got := sink.WaitFor(t, "b@example.com", 5*time.Second)
		if !got.TLS || got.AuthUser != "u" || got.Subject != "hi" || got.Text != "body\n" {
			t.Errorf("got TLS=%v AuthUser=%q Subject=%q Text=%q", got.TLS, got.AuthUser, got.Subject, got.Text)
		}
	})
}

func TestSMTPSinkImplicitTLS(t *testing.T) {
	sink := StartSMTPSink(t, SinkOptions{ImplicitTLS: true})
	conn, err := tls.Dial("tcp", sink.Addr, &tls.Config{ServerName: "127.0.0.1", RootCAs: sink.CertPool()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("a@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("b@example.com"); err != nil {
		t.Fatal(err)
	}
	w, _ := c.Data()
	_, _ = w.Write([]byte("Subject: tls\r\n\r\nx\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := sink.WaitFor(t, "b@example.com", 5*time.Second); !got.TLS {
		t.Error("message not marked TLS")
	}
}

func TestSMTPSinkWaitForOrder(t *testing.T) {
	sink := StartSMTPSink(t, SinkOptions{})
	send := func(to, subject string) {
		t.Helper()
		if err := smtp.SendMail(sink.Addr, nil, "a@example.com", []string{to}, []byte("Subject: "+subject+"\r\n\r\nx\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	// a message that arrives while WaitFor waits
	done := make(chan ReceivedMessage)
	go func() { done <- sink.WaitFor(t, "late@example.com", 5*time.Second) }()
	time.Sleep(50 * time.Millisecond)
	send("late@example.com", "late")
	if got := <-done; got.Subject != "late" {
		t.Errorf("late: got %q", got.Subject)
	}

	send("x@example.com", "first")
	send("y@example.com", "other")
	send("x@example.com", "second")
	for _, want := range []string{"first", "second"} {
		if got := sink.WaitFor(t, "x@example.com", 5*time.Second); got.Subject != want {
			t.Errorf("WaitFor = %q, want %q", got.Subject, want)
		}
	}
	if n := len(sink.Messages()); n != 4 {
		t.Errorf("Messages() has %d, want 4", n)
	}
}

func TestSMTPSinkStopsAtCleanup(t *testing.T) {
	var addr string
	t.Run("inner", func(t *testing.T) {
		addr = StartSMTPSink(t, SinkOptions{}).Addr
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	})
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("sink still listening after its test ended")
	}
}
