package browsertest

import (
	"strings"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/authn"
	"github.com/idcenter/idcenter/internal/config"
)

// waitPath waits until the browser's path starts with prefix (pages that
// navigate from script).
func waitPath(t *testing.T, b *Browser, prefix string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.HasPrefix(b.Path(), prefix) {
		if time.Now().After(deadline) {
			t.Fatalf("still at %s, waiting for %s; page says: %s", b.Path(), prefix, b.Text("main"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTOTPEnrolAndSignIn: a user without a second factor is made to set up
// an authenticator app during sign-in (policy: require registration), then
// signs in with a code in a new browser; the same code is refused twice.
func TestTOTPEnrolAndSignIn(t *testing.T) {
	h := New(t, Options{MFA: true})
	h.CreateUser("alice", alicePassword)
	b := h.Browser
	b.SignIn("alice", alicePassword)
	waitPath(t, b, "/signin/mfa/enrol")
	b.Screenshot("mfa-enrol")
	b.Click("#totp-setup")
	b.WaitVisible("#totp-qr")
	secret := strings.ReplaceAll(b.Text("#totp-secret"), " ", "")
	if len(secret) < 16 {
		t.Fatalf("secret %q", secret)
	}
	b.Screenshot("mfa-totp-setup")
	// a wrong code is refused and the form stays
	b.Fill("#totp-code", "000000")
	b.Click("#totp-submit")
	b.WaitVisible("#totp-code")
	b.Fill("#totp-code", authn.TOTPCodeAt(secret, time.Now()))
	b.Click("#totp-submit")
	waitPath(t, b, "/profile/mfa")
	mustContain(t, "MFA page", b.Text("#totp-status"), "On")

	// a new browser: password, then the code
	other := h.NewBrowser(t)
	other.SignIn("alice", alicePassword)
	waitPath(t, other, "/signin/mfa")
	other.Screenshot("mfa-signin")
	code := authn.TOTPCodeAt(secret, time.Now().Add(30*time.Second)) // the next step: each code works once
	other.Fill("#totp-code", code)
	other.Click("#totp-submit")
	waitPath(t, other, "/start")

	third := h.NewBrowser(t)
	third.SignIn("alice", alicePassword)
	waitPath(t, third, "/signin/mfa")
	third.Fill("#totp-code", code)
	third.Click("#totp-submit")
	if third.Path() == "/start" {
		t.Fatal("a used TOTP code signed in again")
	}
	mustContain(t, "replayed code", third.Text("main"), "Verify")
}

// TestWebAuthnRegisterAndSignIn: a security key registered during sign-in
// through Chromium's virtual authenticator, then used as the second factor.
func TestWebAuthnRegisterAndSignIn(t *testing.T) {
	h := New(t, Options{MFA: true, Host: "localhost", Configure: func(c *config.Config) {
		c.Auth.MFA.Mode = "always"
	}})
	h.CreateUser("alice", alicePassword)
	b := h.Browser
	auth := b.AddVirtualAuthenticator()
	b.SignIn("alice", alicePassword)
	waitPath(t, b, "/signin/mfa/enrol")
	b.Fill("#webauthn-name", "Test key")
	b.Press("#webauthn-register")
	waitPath(t, b, "/profile/mfa")
	if n := len(auth.Credentials()); n != 1 {
		t.Fatalf("authenticator holds %d credentials", n)
	}
	mustContain(t, "MFA page", b.Text("main"), "Test key")
	b.Screenshot("mfa-profile")

	// sign out and back in with the key
	b.Navigate("/start")
	b.Click(".signout button")
	b.SignIn("alice", alicePassword)
	waitPath(t, b, "/signin/mfa")
	b.Press("#webauthn-signin")
	waitPath(t, b, "/start")

	// a browser without the key cannot pass the second step with it
	other := h.NewBrowser(t)
	other.AddVirtualAuthenticator() // an authenticator that holds no credential for alice
	other.SignIn("alice", alicePassword)
	waitPath(t, other, "/signin/mfa")
	other.Press("#webauthn-signin")
	time.Sleep(2 * time.Second)
	if other.Path() == "/start" {
		t.Fatal("signed in with an authenticator that has no credential")
	}
}

// TestPasskeySignIn: with passkey sign-in allowed, a registered passkey
// signs in alone, without a username or password.
func TestPasskeySignIn(t *testing.T) {
	h := New(t, Options{MFA: true, Host: "localhost", Configure: func(c *config.Config) {
		c.Auth.MFA.PasskeySignIn = true
	}})
	h.CreateUser("alice", alicePassword)
	b := h.Browser
	b.AddVirtualAuthenticator()
	b.SignIn("alice", alicePassword)
	waitPath(t, b, "/signin/mfa/enrol")
	b.Fill("#webauthn-name", "Laptop passkey")
	b.Press("#webauthn-register")
	waitPath(t, b, "/profile/mfa")
	b.Navigate("/start")
	b.Click(".signout button")
	b.Navigate("/signin")
	b.Screenshot("signin-passkey")
	b.Click("#passkey-signin")
	b.Press("#webauthn-signin")
	waitPath(t, b, "/start")
}
