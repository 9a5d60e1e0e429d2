// Package browsertest drives the real idcenter pages in headless Chromium.
// A Harness starts an App behind httptest on loopback (SQLite in a temp
// directory, or PostgreSQL when asked) and uses a headless Chromium (its
// own, or one shared by the package's tests under Main); each Browser is
// an isolated browser context (its own cookies) with one tab.
// Tests call plain methods (Navigate, Fill, Click, Text, ...); chromedp stays
// inside this file. The code lives in a non-test file so that other packages'
// tests can reuse it; only tests import it.
//
// Chromium comes from the Debian package (/usr/bin/chromium). When it is
// missing the test is skipped, or fails when IDCENTER_INTEROP=required (CI).
// IDCENTER_SCREENSHOTS=1 makes Screenshot write docs/screenshots/<name>.png.
package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/idcenter/idcenter/internal/app"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/config"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/testenv"
)

// ChromiumPath is where Debian's chromium package installs the browser.
const ChromiumPath = "/usr/bin/chromium"

// ScreenshotsEnv names the variable that turns on writing screenshots.
const ScreenshotsEnv = "IDCENTER_SCREENSHOTS"

// Default timeouts.
const (
	DefaultTimeout       = 45 * time.Second // the whole test: server, browser and every step
	DefaultActionTimeout = 10 * time.Second // one step (a wait, a click, a page load)
)

// Options configure a Harness. The zero value is SQLite, MFA off, 127.0.0.1.
type Options struct {
	// Postgres runs the App on PostgreSQL in a fresh schema
	// (testenv.PostgresDSN: a skip locally when IDCENTER_TEST_POSTGRES is
	// unset, a failure in CI).
	Postgres bool
	// MFA keeps the configured MFA policy. Without it the harness sets
	// auth.mfa.mode=never and admins_exempt=true, so a password signs in.
	MFA bool
	// Host is the host name in the base URL: "127.0.0.1" by default. Use
	// "localhost" for WebAuthn, whose RP ID cannot be an IP address. The
	// server listens on 127.0.0.1 either way.
	Host string
	// Configure, when set, edits the config last, before app.New.
	Configure func(*config.Config)
	// Timeout bounds the whole test (DefaultTimeout when zero);
	// ActionTimeout bounds one step (DefaultActionTimeout when zero).
	Timeout, ActionTimeout time.Duration
}

// Harness is one idcenter App and a Chromium for one test (the package's
// shared one under Main, else its own). It embeds the first Browser, so
// h.Navigate and the other Browser methods work on it.
type Harness struct {
	*Browser
	App *app.App
	// BaseURL is the App's address, e.g. http://127.0.0.1:41234.
	BaseURL string

	t      *testing.T
	opts   Options
	ctx    context.Context // bound to Chromium and to the test's deadline
	logBuf *syncBuffer
}

// New starts the App and Chromium and opens the first Browser. Everything
// stops in t.Cleanup.
func New(t *testing.T, opts Options) *Harness {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: starts Chromium (skipped with -short)")
	}
	if _, err := os.Stat(ChromiumPath); err != nil {
		testenv.SkipOrFail(t, ChromiumPath+" is missing (apt-get install -y chromium); browser tests skipped")
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.ActionTimeout == 0 {
		opts.ActionTimeout = DefaultActionTimeout
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	h := &Harness{t: t, opts: opts, logBuf: &syncBuffer{}}
	h.startApp()
	h.startChromium()
	h.Browser = h.NewBrowser(t)
	return h
}

func (h *Harness) startApp() {
	t := h.t
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	if h.opts.Postgres {
		cfg.Database = testenv.PostgresDSN(t)
	}
	// The cheapest argon2id the config accepts: hashing is not under test.
	cfg.Auth.Argon2MemoryKiB, cfg.Auth.Argon2Iterations = 8*1024, 1
	if !h.opts.MFA {
		cfg.Auth.MFA.Mode = "never"
		cfg.Auth.MFA.AdminsExempt = true
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	h.BaseURL = fmt.Sprintf("http://%s:%d", h.opts.Host, port)
	cfg.Listen = ln.Addr().String()
	cfg.BaseURL = h.BaseURL
	if h.opts.Configure != nil {
		h.opts.Configure(&cfg)
	}
	log := slog.New(slog.NewTextHandler(h.logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := app.New(context.Background(), cfg, log, io.Discard)
	if err != nil {
		ln.Close()
		t.Fatalf("app.New: %v", err)
	}
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config = a.Server()
	srv.Start()
	h.App = a
	t.Cleanup(func() {
		srv.Close()
		a.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", h.logBuf.String())
		}
	})
}

// execOptions are the Chromium flags of go-svc machines: headless, no
// sandbox (root), no GPU, and nothing that reaches out to the network
// (the machine has none; without these flags Chromium's connections are
// refused at every start).
func execOptions(profile string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(profile),
	}
}

// startChromium gives the test a context bound to a running Chromium and to
// the test's deadline: the package's shared Chromium under Main, else a
// Chromium of its own that stops in t.Cleanup.
func (h *Harness) startChromium() {
	t := h.t
	t.Helper()
	if shared.active() {
		root, err := shared.get()
		if err != nil {
			t.Fatalf("start %s: %v", ChromiumPath, err)
		}
		ctx, cancel := context.WithTimeout(root, h.opts.Timeout)
		t.Cleanup(cancel)
		h.ctx = ctx
		return
	}
	// Registered before the browser's cleanup, so removed after Chromium exits.
	profile := t.TempDir()
	ctx, cancelTimeout := context.WithTimeout(context.Background(), h.opts.Timeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, execOptions(profile)...)
	root, cancelRoot := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelRoot()
		cancelAlloc()
		cancelTimeout()
	})
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("start %s: %v", ChromiumPath, err)
	}
	h.ctx = root
}

// Main runs a package's tests with one Chromium shared by all of them; each
// test still has its own App and its own browser contexts (cookies,
// storage), so tests stay isolated, and they save a Chromium start each.
// Chromium starts with the first Harness and stops when the tests end. Call
// it from TestMain:
//
//	func TestMain(m *testing.M) { browsertest.Main(m) }
//
// Without Main, every Harness starts and stops a Chromium of its own.
func Main(m *testing.M) {
	shared.enable()
	defer shared.stop()
	// When TestMain returns, the testing package exits with m.Run's code.
	m.Run()
}

// sharedChromium is the package-wide Chromium of Main.
type sharedChromium struct {
	mu      sync.Mutex
	enabled bool
	root    context.Context
	cancel  func()
	profile string
}

var shared sharedChromium

func (s *sharedChromium) enable() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enabled = true
}

func (s *sharedChromium) active() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enabled
}

// get returns the root context of the running Chromium, starting it (again,
// if it died) when needed.
func (s *sharedChromium) get() (context.Context, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root != nil && s.root.Err() == nil {
		return s.root, nil
	}
	s.stopLocked()
	profile, err := os.MkdirTemp("", "idcenter-chromium-")
	if err != nil {
		return nil, err
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), execOptions(profile)...)
	root, cancelRoot := chromedp.NewContext(allocCtx)
	s.root, s.profile = root, profile
	s.cancel = func() { cancelRoot(); cancelAlloc() }
	if err := chromedp.Do(root); err != nil {
		s.stopLocked()
		return nil, err
	}
	return root, nil
}

func (s *sharedChromium) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *sharedChromium) stopLocked() {
	if s.cancel != nil {
		s.cancel()
	}
	if s.profile != "" {
		_ = os.RemoveAll(s.profile)
	}
	s.root, s.cancel, s.profile = nil, nil, ""
}

// NewBrowser opens another isolated browser (a new browser context: its own
// cookies and storage) in the same Chromium, e.g. a second device of a user.
// It belongs to t, which may be a subtest of the Harness's test: it fails t
// and closes when t ends. In a subtest, use a Browser made for it rather than
// the Harness's own (which belongs to the parent test).
func (h *Harness) NewBrowser(t *testing.T) *Browser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(h.ctx, chromedp.WithNewBrowserContext())
	b := &Browser{t: t, base: h.BaseURL, ctx: ctx, actionTimeout: h.opts.ActionTimeout}
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("open a browser tab: %v", err)
	}
	msgs := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, ConsoleMessage{Type: string(m.Type), Source: m.Source, Text: m.Text, URL: m.URL})
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			b.logState()
		}
		cancel()
		<-done
	})
	return b
}

// --- fixtures ---

// CreateUser creates an active user through the directory service, as the
// system actor: given name = username with a capital, family name
// "Tester", email <username>@example.com, and the password. Fixtures fail
// the Harness's test: create them before starting subtests.
func (h *Harness) CreateUser(username, password string) directory.User {
	h.t.Helper()
	given := username
	if given != "" {
		given = strings.ToUpper(given[:1]) + given[1:]
	}
	return h.createUser(directory.User{UserName: username, Active: true,
		Name: directory.Name{GivenName: given, FamilyName: "Tester"}}, password)
}

// CreateAdmin creates an active administrator (display name "Admin
// <username>") with a password.
func (h *Harness) CreateAdmin(username, password string) directory.User {
	h.t.Helper()
	return h.createUser(directory.User{UserName: username, Active: true, Role: directory.RoleAdmin, DisplayName: "Admin " + username}, password)
}

func (h *Harness) createUser(u directory.User, password string) directory.User {
	h.t.Helper()
	ctx := context.Background()
	u.Emails = []directory.MultiValue{{Value: u.UserName + "@example.com", Primary: true}}
	created, err := h.App.Directory.CreateUser(ctx, audit.System, u)
	if err != nil {
		h.t.Fatalf("create user %s: %v", u.UserName, err)
	}
	if err := h.App.Directory.SetPassword(ctx, audit.System, created.ID, password); err != nil {
		h.t.Fatalf("set the password of %s: %v", u.UserName, err)
	}
	return created
}

// --- the browser ---

// Browser is one isolated browser context with one tab. Its methods fail the
// test on error; each step waits at most the action timeout.
type Browser struct {
	t             *testing.T
	base          string
	ctx           context.Context
	actionTimeout time.Duration

	mu      sync.Mutex
	console []ConsoleMessage
}

// Response is the main document's HTTP response after a navigation.
type Response struct {
	Status int
	URL    string
	Header http.Header
}

// ConsoleMessage is a console API call, an uncaught exception or a browser
// log entry (Source "security" for CSP violations, "network", ...).
type ConsoleMessage struct {
	Type, Source, Text, URL string
}

func (m ConsoleMessage) String() string {
	if m.Source != "" {
		return m.Type + " [" + m.Source + "] " + m.Text
	}
	return m.Type + ": " + m.Text
}

func (b *Browser) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, b.actionTimeout)
}

func (b *Browser) fatalf(format string, args ...any) {
	b.t.Helper()
	b.t.Fatalf(format, args...)
}

// abs turns a path into a URL on the App; absolute URLs pass unchanged.
func (b *Browser) abs(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") || strings.HasPrefix(path, "about:") {
		return path
	}
	return b.base + path
}

// Navigate loads path (or an absolute URL), follows redirects and waits for
// the page to load. It returns the final document's response.
func (b *Browser) Navigate(path string) Response {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.abs(path)))
	if err != nil {
		b.fatalf("Navigate(%q): %v", path, err)
	}
	return response(res)
}

// Fill replaces the value of the input matched by the CSS selector: it
// focuses the input, empties it and inserts value through the browser's
// input pipeline (input events fire, as for a paste). Use Type for key
// events, one per character.
func (b *Browser) Fill(selector, value string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	sel := chromedp.CSS(selector)
	// Not chromedp.SetValue(sel, ""): cdproto's CallArgument.Value is
	// `omitempty`, which json v2 applies to an empty JSON string, so the
	// empty argument arrives as undefined and SetValue fails.
	clear := chromedp.QueryAfter(sel, func(ctx context.Context, t *chromedp.Target, nodes []*chromedp.Node) (chromedp.Void, error) {
		obj, err := cdp.Call(ctx, t, dom.ResolveNode, dom.ResolveNodeParams{NodeID: nodes[0].NodeID})
		if err != nil {
			return chromedp.Void{}, err
		}
		defer cdp.Call(ctx, t, runtime.ReleaseObject, runtime.ReleaseObjectParams{ObjectID: obj.Object.ObjectID})
		_, err = cdp.Call(ctx, t, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
			FunctionDeclaration: "function() { this.value = ''; }", ObjectID: obj.Object.ObjectID})
		return chromedp.Void{}, err
	})
	insert := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: value})
		return err
	})
	if err := chromedp.Do(ctx, chromedp.WaitVisible(sel), clear, chromedp.Focus(sel), insert); err != nil {
		b.fatalf("Fill(%q): %v (at %s)", selector, err, b.URL())
	}
}

// Type types text into the element matched by the CSS selector, one key
// event per character, after what it already holds.
func (b *Browser) Type(selector, text string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(selector), text)); err != nil {
		b.fatalf("Type(%q): %v (at %s)", selector, err, b.URL())
	}
}

// Click clicks the element matched by the CSS selector (a link or a submit
// button) and waits for the page it leads to. It returns that page's
// response. For a button that does not navigate, use Press.
func (b *Browser) Click(selector string) Response {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(selector)))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			b.fatalf("Click(%q): no page loaded within %v (use Press for a control that does not navigate): %v (at %s)",
				selector, b.actionTimeout, err, b.URL())
		}
		b.fatalf("Click(%q): %v (at %s)", selector, err, b.URL())
	}
	return response(res)
}

// Press clicks the element matched by the CSS selector and returns at once,
// without waiting for a navigation (buttons handled by script).
func (b *Browser) Press(selector string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(selector))); err != nil {
		b.fatalf("Press(%q): %v (at %s)", selector, err, b.URL())
	}
}

// WaitVisible waits until the element matched by the CSS selector is visible.
func (b *Browser) WaitVisible(selector string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(selector))); err != nil {
		b.fatalf("WaitVisible(%q): %v (at %s)", selector, err, b.URL())
	}
}

// Text returns the visible text of the first element matched by the CSS
// selector, waiting for it to exist.
func (b *Browser) Text(selector string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(selector)))
	if err != nil {
		b.fatalf("Text(%q): %v (at %s)", selector, err, b.URL())
	}
	return s
}

// Count returns how many elements match the CSS selector now, without waiting.
func (b *Browser) Count(selector string) int {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(selector), chromedp.AtLeast(0)))
	if err != nil {
		b.fatalf("Count(%q): %v", selector, err)
	}
	return len(nodes)
}

// Visible reports whether the first element matched by the CSS selector is
// rendered now (present, not display:none, not visibility:hidden), without
// waiting.
func (b *Browser) Visible(selector string) bool {
	b.t.Helper()
	sel, _ := json.Marshal(selector)
	var ok bool
	b.Eval(`(() => { const e = document.querySelector(`+string(sel)+`);
		return !!e && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden' })()`, &ok)
	return ok
}

// URL returns the address of the current page.
func (b *Browser) URL() string {
	ctx, cancel := b.step()
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return u
}

// Path returns the current page's address without the base URL (path and
// query), or the whole URL when the page is on another origin.
func (b *Browser) Path() string {
	u := b.URL()
	if p, ok := strings.CutPrefix(u, b.base); ok {
		return p
	}
	return u
}

// Eval evaluates a JavaScript expression in the page, awaits it when it is a
// promise, and decodes its JSON value into out (nil to ignore it). DevTools
// evaluation is not subject to the page's CSP and works even when the page's
// own scripts are disabled.
func (b *Browser) Eval(expr string, out any) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fatalf("Eval(%q): %v", expr, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			b.fatalf("Eval(%q): decode %s: %v", expr, raw, err)
		}
	}
}

// SignIn signs in through the pages: /signin, username, Next, password,
// Sign in. It returns the response of the page it lands on.
func (b *Browser) SignIn(username, password string) Response {
	b.t.Helper()
	b.Navigate("/signin")
	b.Fill("#username", username)
	b.Click("button[type=submit]")
	b.Fill("#password", password)
	return b.Click("button[type=submit]")
}

// Screenshot writes a full-page PNG of the current page to
// docs/screenshots/<name>.png when IDCENTER_SCREENSHOTS=1; otherwise it
// does nothing, so normal test runs leave the files alone.
func (b *Browser) Screenshot(name string) {
	b.t.Helper()
	if os.Getenv(ScreenshotsEnv) != "1" {
		return
	}
	dir, err := screenshotDir()
	if err != nil {
		b.fatalf("Screenshot(%q): %v", name, err)
	}
	ctx, cancel := b.step()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.fatalf("Screenshot(%q): %v", name, err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.fatalf("Screenshot(%q): %v", name, err)
	}
	b.t.Logf("wrote %s", p)
}

// screenshotDir finds docs/screenshots above the working directory (the
// module root holds go.mod), whichever package's test calls.
func screenshotDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(dir, "docs", "screenshots")
			return d, os.MkdirAll(d, 0o755)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// SetViewport emulates a window of width×height CSS pixels; mobile also
// emulates a phone (device scale 2, touch, mobile viewport rules).
func (b *Browser) SetViewport(width, height int, mobile bool) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	var opts []chromedp.EmulateViewportOption
	if mobile {
		opts = append(opts, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height), opts...)); err != nil {
		b.fatalf("SetViewport: %v", err)
	}
}

// DisableJavaScript turns off the page's scripts in this tab (DevTools
// emulation; it lasts across navigations). Eval still works.
func (b *Browser) DisableJavaScript() {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		b.fatalf("DisableJavaScript: %v", err)
	}
}

// Console returns the console messages and browser log entries seen so far.
func (b *Browser) Console() []ConsoleMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]ConsoleMessage(nil), b.console...)
}

// WaitConsole waits until a console message for which match is true arrives,
// and returns it.
func (b *Browser) WaitConsole(match func(ConsoleMessage) bool) ConsoleMessage {
	b.t.Helper()
	deadline := time.Now().Add(b.actionTimeout)
	for time.Now().Before(deadline) {
		for _, m := range b.Console() {
			if match(m) {
				return m
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.fatalf("WaitConsole: no matching message within %v; got %v", b.actionTimeout, b.Console())
	return ConsoleMessage{}
}

// CSPViolations returns the console messages that report a Content Security
// Policy violation.
func (b *Browser) CSPViolations() []ConsoleMessage {
	var out []ConsoleMessage
	for _, m := range b.Console() {
		if strings.Contains(m.Text, "Content Security Policy") {
			out = append(out, m)
		}
	}
	return out
}

// logState logs where a failed test's browser was and what it showed.
func (b *Browser) logState() {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	u, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	b.t.Logf("browser was at %s showing:\n%s\nconsole: %v", u, text, b.Console())
}

// --- WebAuthn ---

// Authenticator is a CDP virtual authenticator in one Browser's tab.
type Authenticator struct {
	b  *Browser
	ID string
}

// AddVirtualAuthenticator enables the WebAuthn domain and adds a virtual
// platform authenticator: CTAP2.1, internal transport, resident keys
// (passkeys), user verification that succeeds, and automatic user presence.
// WebAuthn needs an RP ID that is a domain: use Options{Host: "localhost"}.
func (b *Browser) AddVirtualAuthenticator() *Authenticator {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{EnableUI: new(false)}); err != nil {
		b.fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:            webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:        webauthn.Ctap2versionCtap21,
			Transport:           webauthn.AuthenticatorTransportInternal,
			HasResidentKey:      true,
			HasUserVerification: true,
			IsUserVerified:      true,
			// The protocol's default is true, but the Go field is a plain bool
			// that is always sent: set it, or nothing ever answers.
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		b.fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return &Authenticator{b: b, ID: string(res.AuthenticatorID)}
}

// Credential is a credential held by a virtual authenticator.
type Credential struct {
	ID         []byte
	RPID       string
	UserHandle []byte
	Resident   bool
	SignCount  float64
}

// Credentials lists the credentials the authenticator holds.
func (a *Authenticator) Credentials() []Credential {
	a.b.t.Helper()
	ctx, cancel := a.b.step()
	defer cancel()
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: webauthn.AuthenticatorID(a.ID)})
	if err != nil {
		a.b.fatalf("WebAuthn.getCredentials: %v", err)
	}
	out := make([]Credential, 0, len(res.Credentials))
	for _, c := range res.Credentials {
		out = append(out, Credential{ID: c.CredentialID, RPID: c.RpID, UserHandle: c.UserHandle, Resident: c.IsResidentCredential, SignCount: c.SignCount})
	}
	return out
}

// SetUserVerified makes the next user verifications succeed or fail.
func (a *Authenticator) SetUserVerified(ok bool) {
	a.b.t.Helper()
	ctx, cancel := a.b.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: webauthn.AuthenticatorID(a.ID), IsUserVerified: ok}); err != nil {
		a.b.fatalf("WebAuthn.setUserVerified: %v", err)
	}
}

// Remove removes the authenticator, as if the user unplugged it.
func (a *Authenticator) Remove() {
	a.b.t.Helper()
	ctx, cancel := a.b.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: webauthn.AuthenticatorID(a.ID)}); err != nil {
		a.b.fatalf("WebAuthn.removeVirtualAuthenticator: %v", err)
	}
}

// --- helpers ---

// response converts the protocol's response; CDP joins repeated headers
// with newlines.
func response(r *network.Response) Response {
	if r == nil {
		return Response{}
	}
	out := Response{Status: int(r.Status), URL: r.URL, Header: http.Header{}}
	for k, v := range r.Headers {
		s, _ := v.(string)
		for _, line := range strings.Split(s, "\n") {
			out.Header.Add(k, line)
		}
	}
	return out
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
