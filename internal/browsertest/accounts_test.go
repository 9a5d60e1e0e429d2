package browsertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/config"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/testenv"
)

// withMail points the App's SMTP at a real SMTP server on loopback.
func withMail(t *testing.T) (*testenv.SMTPSink, func(*config.Config)) {
	sink := testenv.StartSMTPSink(t, testenv.SinkOptions{})
	return sink, func(c *config.Config) {
		c.SMTP.Host = sink.Host
		c.SMTP.Port = sink.Port
		c.SMTP.TLS = "none"
		c.SMTP.From = "no-reply@idcenter.test"
	}
}

func linkIn(t *testing.T, m testenv.ReceivedMessage, base, prefix string) string {
	t.Helper()
	for _, l := range m.Links() {
		if strings.HasPrefix(l, base+prefix) {
			return strings.TrimPrefix(l, base)
		}
	}
	t.Fatalf("no %s link in:\n%s", prefix, m.Text)
	return ""
}

// TestAdminCreatesUserAndInvitationIsAccepted: an administrator creates a
// user in the console with "email an invitation" ticked; the user follows the link
// from the captured email, sets a password and lands in the portal.
func TestAdminCreatesUserAndInvitationIsAccepted(t *testing.T) {
	sink, cfg := withMail(t)
	h := New(t, Options{Configure: cfg})
	h.CreateAdmin("root", adminPassword)
	admin := h.Browser
	admin.SignIn("root", adminPassword)
	admin.Navigate("/console/users/new")
	admin.Fill("#username", "dana")
	admin.Fill("#email", "dana@example.com")
	admin.Fill("#given-name", "Dana")
	admin.Fill("#family-name", "Scully")
	admin.Screenshot("console-new-user")
	admin.Click("#save")
	if !strings.HasPrefix(admin.Path(), "/console/users/") {
		t.Fatalf("after create: at %s", admin.Path())
	}
	mustContain(t, "user page", admin.Text("main"), "Dana Scully")
	mustContain(t, "flash", admin.Text("main"), "an invitation was emailed")
	admin.Screenshot("console-user")
	m := sink.WaitFor(t, "dana@example.com", 15*time.Second)
	path := linkIn(t, m, h.BaseURL, "/invite/")

	dana := h.NewBrowser(t)
	dana.Navigate(path)
	mustContain(t, "invitation page", dana.Text("main"), "dana")
	dana.Fill("#password", "the truth is out there")
	dana.Fill("#confirm", "the truth is out there")
	dana.Screenshot("invitation")
	dana.Click("#set-password")
	mustPath(t, dana, "/start")
	mustContain(t, "portal", dana.Text("main"), "Access portal")

	// the link works once
	again := h.NewBrowser(t)
	if r := again.Navigate(path); r.Status != 410 {
		t.Fatalf("second use of the invitation: %d", r.Status)
	}
	// and the console lists the user
	admin.Navigate("/console/users?q=dan")
	mustContain(t, "user list", admin.Text("main"), "dana")
	admin.Screenshot("console-users")
}

// TestForgotPassword: reset by email and sign in with the new password.
func TestForgotPassword(t *testing.T) {
	sink, cfg := withMail(t)
	h := New(t, Options{Configure: cfg})
	ctx := context.Background()
	if _, err := h.App.Directory.CreateUser(ctx, audit.System, directory.User{UserName: "erin", Active: true,
		Emails: []directory.MultiValue{{Value: "erin@example.com"}}}); err != nil {
		t.Fatal(err)
	}
	h.App.Directory.SetPassword(ctx, audit.System, "erin", "an old forgotten phrase")
	b := h.Browser
	b.Navigate("/signin")
	b.Click("a[href='/forgot-password']")
	b.Fill("#username", "erin@example.com")
	b.Click("#send-reset")
	mustContain(t, "confirmation", b.Text("main"), "If an account matches")
	m := sink.WaitFor(t, "erin@example.com", 15*time.Second)
	path := linkIn(t, m, h.BaseURL, "/reset/")
	b.Navigate(path)
	b.Fill("#password", "a brand new memorable phrase")
	b.Fill("#confirm", "a brand new memorable phrase")
	b.Click("#set-password")
	mustPath(t, b, "/start")
	// sign out and back in with the new password
	b.Click(".signout button")
	b.SignIn("erin", "a brand new memorable phrase")
	mustPath(t, b, "/start")
	other := h.NewBrowser(t)
	other.SignIn("erin", "an old forgotten phrase")
	mustContain(t, "old password", other.Text("main"), incorrect)
}
