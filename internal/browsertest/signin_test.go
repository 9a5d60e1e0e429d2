package browsertest

import (
	"net/url"
	"strings"
	"testing"
)

const (
	alicePassword = "correct horse battery staple"
	adminPassword = "admin pass phrase for tests"
	incorrect     = "Incorrect username or password"
)

// mustPath fails unless the browser is on path (path and query).
func mustPath(t *testing.T, b *Browser, want string) {
	t.Helper()
	if got := b.Path(); got != want {
		t.Fatalf("at %s, want %s", got, want)
	}
}

func mustContain(t *testing.T, what, text, want string) {
	t.Helper()
	if !strings.Contains(text, want) {
		t.Fatalf("%s = %q, want it to contain %q", what, text, want)
	}
}

// noConsoleErrors fails on console errors and exceptions, except the
// browser's own request for /favicon.ico, which the App does not serve.
func noConsoleErrors(t *testing.T, b *Browser) {
	t.Helper()
	for _, m := range b.Console() {
		if m.Type != "error" && m.Type != "exception" {
			continue
		}
		if m.Source == "network" && strings.HasSuffix(m.URL, "/favicon.ico") {
			continue
		}
		t.Errorf("console: %s (%s)", m, m.URL)
	}
}

func TestSignInWithPassword(t *testing.T) {
	h := New(t, Options{})
	h.CreateUser("alice", alicePassword)

	h.Navigate("/start")
	mustPath(t, h.Browser, "/signin?return_to=%2Fstart")
	mustContain(t, "h1", h.Text("h1"), "Sign in")
	h.Screenshot("signin")

	h.Fill("#username", "alice")
	if r := h.Click("button[type=submit]"); r.Status != 200 {
		t.Fatalf("username step: status %d", r.Status)
	}
	h.WaitVisible("#password")
	mustContain(t, "password page", h.Text("main"), "Signing in as alice")
	h.Screenshot("signin-password")

	h.Fill("#password", alicePassword)
	if r := h.Click("button[type=submit]"); r.Status != 200 {
		t.Fatalf("password step: status %d", r.Status)
	}
	mustPath(t, h.Browser, "/start")
	mustContain(t, "h1", h.Text("h1"), "Access portal")
	mustContain(t, "top bar", h.Text(".topbar"), "Alice Tester")
	h.Screenshot("portal")
	noConsoleErrors(t, h.Browser)
}

// The same message for a wrong password and an unknown user: the page must
// not tell which usernames exist.
func TestSignInFailureIsTheSameForEveryCause(t *testing.T) {
	h := New(t, Options{})
	h.CreateUser("alice", alicePassword)

	for _, tc := range []struct{ name, username, password string }{
		{"wrong password", "alice", "not the password"},
		{"unknown user", "nobody", alicePassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := h.NewBrowser(t)
			r := b.SignIn(tc.username, tc.password)
			if r.Status != 401 {
				t.Errorf("status %d, want 401", r.Status)
			}
			mustPath(t, b, "/signin/password")
			if got := b.Text("[role=alert]"); got != incorrect {
				t.Fatalf("error = %q, want %q", got, incorrect)
			}
			// Still on the password page, ready for another try.
			b.WaitVisible("#password")
			if tc.name == "wrong password" {
				b.Screenshot("signin-error")
			}
		})
	}
}

func TestSignOut(t *testing.T) {
	h := New(t, Options{})
	h.CreateUser("alice", alicePassword)
	h.SignIn("alice", alicePassword)
	mustPath(t, h.Browser, "/start")

	h.Click(".topbar form.signout button[type=submit]")
	mustPath(t, h.Browser, "/signin?signed_out=1")
	if got := h.Text("[role=status]"); got != "You have signed out." {
		t.Fatalf("flash = %q", got)
	}
	if n := h.Count(".topbar nav"); n != 0 {
		t.Fatal("the top bar still shows the signed-in navigation")
	}

	h.Navigate("/start")
	mustPath(t, h.Browser, "/signin?return_to=%2Fstart")
}

func TestReturnTo(t *testing.T) {
	h := New(t, Options{})
	h.CreateUser("alice", alicePassword)

	t.Run("deep link comes back after sign-in", func(t *testing.T) {
		b := h.NewBrowser(t)
		b.Navigate("/profile")
		mustPath(t, b, "/signin?return_to=%2Fprofile")
		b.Fill("#username", "alice")
		b.Click("button[type=submit]")
		b.Fill("#password", alicePassword)
		b.Click("button[type=submit]")
		mustPath(t, b, "/profile")
		mustContain(t, "h1", b.Text("h1"), "My profile")
	})
	for _, external := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example/"} {
		t.Run("external "+external+" is ignored", func(t *testing.T) {
			b := h.NewBrowser(t)
			b.Navigate("/signin?return_to=" + url.QueryEscape(external))
			b.Fill("#username", "alice")
			b.Click("button[type=submit]")
			b.Fill("#password", alicePassword)
			b.Click("button[type=submit]")
			if u := b.URL(); !strings.HasPrefix(u, h.BaseURL+"/") {
				t.Fatalf("left the site: %s", u)
			}
			mustPath(t, b, "/start")
		})
	}
}

func TestProfileListsSessions(t *testing.T) {
	h := New(t, Options{})
	h.CreateUser("alice", alicePassword)
	h.SignIn("alice", alicePassword)

	h.Navigate("/profile")
	mustContain(t, "details", h.Text(".details"), "alice@example.com")
	if n := h.Count("table tbody tr"); n != 1 {
		t.Fatalf("%d session rows, want 1", n)
	}
	row := h.Text("table tbody tr")
	mustContain(t, "session row", row, "Chrome")
	mustContain(t, "session row", row, "this browser")
	mustContain(t, "session row", row, "127.0.0.1")
	if n := h.Count("table tbody tr form"); n != 0 {
		t.Fatal("the current session offers End")
	}

	// A second device: two rows, and only the other one can be ended here.
	other := h.NewBrowser(t)
	other.SignIn("alice", alicePassword)
	h.Navigate("/profile")
	if n := h.Count("table tbody tr"); n != 2 {
		t.Fatalf("%d session rows, want 2", n)
	}
	if n := h.Count("table tbody tr .badge"); n != 1 {
		t.Fatalf("%d rows marked as this browser, want 1", n)
	}
	h.Screenshot("profile")

	h.Click("table tbody tr form button[type=submit]")
	mustPath(t, h.Browser, "/profile?done=session")
	mustContain(t, "flash", h.Text("[role=status]"), "The session was ended.")
	if n := h.Count("table tbody tr"); n != 1 {
		t.Fatalf("%d session rows after ending one, want 1", n)
	}
	other.Navigate("/start")
	mustPath(t, other, "/signin?return_to=%2Fstart")
}

func TestAdminConsoleLinkOnlyForAdmins(t *testing.T) {
	h := New(t, Options{})
	h.CreateUser("alice", alicePassword)
	h.CreateAdmin("root", adminPassword)

	for _, tc := range []struct {
		username, password string
		admin              bool
	}{
		{"alice", alicePassword, false},
		{"root", adminPassword, true},
	} {
		t.Run(tc.username, func(t *testing.T) {
			b := h.NewBrowser(t)
			b.SignIn(tc.username, tc.password)
			mustPath(t, b, "/start")
			n := b.Count(`.topbar nav a[href="/console"]`)
			if tc.admin {
				if n != 1 {
					t.Fatalf("admin sees %d console links, want 1", n)
				}
				if got := b.Text(`.topbar nav a[href="/console"]`); got != "Admin console" {
					t.Fatalf("link text %q", got)
				}
			} else if n != 0 || strings.Contains(b.Text(".topbar"), "Admin console") {
				t.Fatal("a normal user sees the Admin console link")
			}
		})
	}
}

// The sign-in pages work with the page's scripts turned off: plain forms,
// server-side redirects.
func TestWithoutJavaScript(t *testing.T) {
	h := New(t, Options{})
	h.CreateUser("alice", alicePassword)
	h.DisableJavaScript()

	h.Navigate("/start")
	// Proof that scripting is off: with it off, the HTML parser reads the
	// inside of <noscript> as markup; with it on, as text.
	var scriptingOff bool
	h.Eval(`(() => { const d = document.createElement('div');
		document.body.append(d); d.innerHTML = '<noscript><p id="js-off"></p></noscript>';
		const off = d.querySelector('#js-off') !== null; d.remove(); return off })()`, &scriptingOff)
	if !scriptingOff {
		t.Fatal("JavaScript is still on")
	}

	h.Fill("#username", "alice")
	h.Click("button[type=submit]")
	h.Fill("#password", "wrong password")
	h.Click("button[type=submit]")
	mustContain(t, "error", h.Text("[role=alert]"), incorrect)
	h.Fill("#password", alicePassword)
	h.Click("button[type=submit]")
	mustPath(t, h.Browser, "/start")
	h.Click(`.topbar a[href="/profile"]`)
	mustContain(t, "h1", h.Text("h1"), "My profile")
	h.Click(".topbar form.signout button[type=submit]")
	mustPath(t, h.Browser, "/signin?signed_out=1")
}

// Every page sends a CSP that forbids inline script, has none, and logs no
// violation; an injected inline script is blocked and reported, which shows
// that the check would see a violation.
func TestCSPBlocksInlineScript(t *testing.T) {
	h := New(t, Options{})
	h.CreateUser("alice", alicePassword)

	checkPage := func(r Response) {
		t.Helper()
		csp := r.Header.Get("Content-Security-Policy")
		mustContain(t, "CSP of "+r.URL, csp, "script-src 'self'")
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("CSP of %s allows inline script: %s", r.URL, csp)
		}
		var inline int
		h.Eval(`document.querySelectorAll('script:not([src])').length +
			[...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length +
			document.querySelectorAll('a[href^="javascript:"]').length`, &inline)
		if inline != 0 {
			t.Errorf("%s has %d inline scripts or event handlers", r.URL, inline)
		}
	}
	checkPage(h.Navigate("/signin"))
	h.Fill("#username", "alice")
	checkPage(h.Click("button[type=submit]"))
	h.Fill("#password", alicePassword)
	checkPage(h.Click("button[type=submit]"))
	checkPage(h.Navigate("/profile"))
	if v := h.CSPViolations(); len(v) != 0 {
		t.Fatalf("CSP violations on the pages: %v", v)
	}
	noConsoleErrors(t, h.Browser)

	var ran bool
	h.Eval(`(() => { const s = document.createElement('script');
		s.textContent = 'window.inlineRan = true'; document.body.append(s);
		return window.inlineRan === true })()`, &ran)
	if ran {
		t.Fatal("an inline script ran")
	}
	h.WaitConsole(func(m ConsoleMessage) bool {
		return m.Source == "security" && strings.Contains(m.Text, "Content Security Policy")
	})
}

// The sign-in flow on PostgreSQL (skipped locally without
// IDCENTER_TEST_POSTGRES, mandatory in CI).
func TestSignInPostgres(t *testing.T) {
	h := New(t, Options{Postgres: true})
	h.CreateUser("alice", alicePassword)
	h.SignIn("alice", alicePassword)
	mustPath(t, h.Browser, "/start")
	h.Click(".topbar form.signout button[type=submit]")
	mustPath(t, h.Browser, "/signin?signed_out=1")
}

// On a 390 px wide phone no page scrolls sideways.
func TestMobileLayout(t *testing.T) {
	h := New(t, Options{})
	h.CreateUser("alice", alicePassword)
	h.SetViewport(390, 844, true)

	overflow := func(page string) {
		t.Helper()
		var w struct{ Doc, Viewport int }
		h.Eval(`({Doc: document.documentElement.scrollWidth, Viewport: window.innerWidth})`, &w)
		if w.Doc > w.Viewport {
			t.Errorf("%s: the page is %d px wide in a %d px viewport", page, w.Doc, w.Viewport)
		}
	}
	h.Navigate("/signin")
	overflow("sign-in")
	h.Screenshot("signin-mobile")
	h.Fill("#username", "alice")
	h.Click("button[type=submit]")
	overflow("password")
	h.Fill("#password", alicePassword)
	h.Click("button[type=submit]")
	overflow("portal")
	h.Screenshot("portal-mobile")
	if !h.Visible(".topbar form.signout button[type=submit]") {
		t.Error("on a phone the Sign out button is hidden")
	}
	// A second session, so the profile lists one that can be ended.
	h.NewBrowser(t).SignIn("alice", alicePassword)
	h.Navigate("/profile")
	overflow("profile")
	h.Screenshot("profile-mobile")
}

// On a phone the profile still lets the user end another session. The
// narrow-screen rule of app.css that hides table columns from the 4th on
// must spare the last (action) column.
func TestMobileCanEndOtherSession(t *testing.T) {
	h := New(t, Options{})
	h.CreateUser("alice", alicePassword)
	h.SetViewport(390, 844, true)
	h.SignIn("alice", alicePassword)
	h.NewBrowser(t).SignIn("alice", alicePassword)
	h.Navigate("/profile")
	if !h.Visible("table tbody tr form button[type=submit]") {
		t.Fatal("on a 390 px screen the End button of the other session is hidden")
	}
	h.Click("table tbody tr form button[type=submit]")
	mustContain(t, "flash", h.Text("[role=status]"), "The session was ended.")
}
