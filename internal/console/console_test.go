package console_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/app"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/config"
	"github.com/idcenter/idcenter/internal/console"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/testenv"
	"github.com/idcenter/idcenter/internal/web"
)

// env is an idcenter instance behind httptest, with an administrator
// ("root") and an ordinary user ("bob") who both have passwords.
type env struct {
	t    *testing.T
	app  *app.App
	srv  *httptest.Server
	root directory.User
	bob  directory.User
}

const password = "a long enough password"

func testConfig(t *testing.T, database string) config.Config {
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Database = database
	cfg.Listen = "127.0.0.1:0"
	cfg.Auth.MFA.Mode = "never"
	cfg.Auth.MFA.AdminsExempt = true
	cfg.Auth.LockoutThreshold = 3
	cfg.Auth.Argon2MemoryKiB, cfg.Auth.Argon2Iterations = 8*1024, 1
	// The first administrator, "root", comes from the bootstrap settings:
	// it is the instance's only administrator.
	cfg.Bootstrap.AdminUsername = "root"
	cfg.Bootstrap.AdminPasswordFile = filepath.Join(cfg.DataDir, "admin-password")
	if err := os.WriteFile(cfg.Bootstrap.AdminPasswordFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func start(t *testing.T, cfg config.Config) *env {
	t.Helper()
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() { srv.Close(); a.Close() })
	e := &env{t: t, app: a, srv: srv}
	e.root = e.mustUser("root")
	e.bob = e.createUser(directory.User{UserName: "bob", Active: true}, password)
	return e
}

// forEngine runs fn on SQLite and PostgreSQL with a fresh instance each.
func forEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, start(t, testConfig(t, ""))) })
	t.Run("postgres", func(t *testing.T) { fn(t, start(t, testConfig(t, testenv.PostgresDSN(t)))) })
}

func (e *env) createUser(u directory.User, pw string) directory.User {
	e.t.Helper()
	ctx := context.Background()
	u, err := e.app.Directory.CreateUser(ctx, audit.System, u)
	if err != nil {
		e.t.Fatalf("create %s: %v", u.UserName, err)
	}
	if pw != "" {
		if err := e.app.Directory.SetPassword(ctx, audit.System, u.ID, pw); err != nil {
			e.t.Fatal(err)
		}
	}
	return u
}

func (e *env) user(key string) (directory.User, error) {
	return e.app.Directory.GetUser(context.Background(), audit.System, key)
}

func (e *env) mustUser(key string) directory.User {
	e.t.Helper()
	u, err := e.user(key)
	if err != nil {
		e.t.Fatalf("get user %s: %v", key, err)
	}
	return u
}

// --- a browser with a cookie jar that does not follow redirects ---

type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

type page struct {
	Status   int
	Location string
	Body     string
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{t: e.t, base: e.srv.URL, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return page{Status: res.StatusCode, Location: res.Header.Get("Location"), Body: string(data)}
}

func (b *browser) get(path string) page { b.t.Helper(); return b.do("GET", path, nil) }

// post submits a form with the browser's CSRF token.
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", b.csrf)
	return b.do("POST", path, form)
}

// signIn signs in through the real sign-in pages.
func (b *browser) signIn(userName, pw string) page {
	b.t.Helper()
	p := b.get("/signin")
	m := csrfRE.FindStringSubmatch(p.Body)
	if p.Status != 200 || m == nil {
		b.t.Fatalf("GET /signin: %d %s", p.Status, p.Body)
	}
	res := b.do("POST", "/signin/password", url.Values{"csrf": {m[1]}, "username": {userName}, "password": {pw}})
	if res.Status == http.StatusSeeOther {
		prof := b.get("/profile")
		if m := csrfRE.FindStringSubmatch(prof.Body); m != nil {
			b.csrf = m[1]
		}
	}
	return res
}

func (e *env) signedIn(userName string) *browser {
	e.t.Helper()
	b := e.browser()
	if p := b.signIn(userName, password); p.Status != http.StatusSeeOther || p.Location != "/start" {
		e.t.Fatalf("sign in as %s: %d %q %s", userName, p.Status, p.Location, p.Body)
	}
	return b
}

func expect(t *testing.T, p page, status int, contains ...string) {
	t.Helper()
	if p.Status != status {
		t.Fatalf("status %d, want %d; location %q\n%s", p.Status, status, p.Location, p.Body)
	}
	for _, s := range contains {
		if !strings.Contains(p.Body, s) {
			t.Fatalf("page lacks %q:\n%s", s, p.Body)
		}
	}
}

func expectRedirect(t *testing.T, p page, prefix string) string {
	t.Helper()
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, prefix) {
		t.Fatalf("got %d to %q, want 303 to %s…\n%s", p.Status, p.Location, prefix, p.Body)
	}
	return p.Location
}

// idFrom returns the id in a /console/users/{id}?done=… location.
func idFrom(loc, prefix string) string {
	id, _, _ := strings.Cut(strings.TrimPrefix(loc, prefix), "?")
	return id
}

// --- tests ---

func TestRoutesMatchRegistration(t *testing.T) {
	c := &console.Console{Guard: func(h http.HandlerFunc) http.Handler { return h }}
	mux := http.NewServeMux()
	c.Register(mux)
	if !slices.Equal(c.Registered(), console.Routes) {
		t.Fatalf("registered routes differ from console.Routes:\nregistered %q\nlisted     %q", c.Registered(), console.Routes)
	}
	for _, rt := range console.Routes {
		method, path, ok := strings.Cut(rt, " ")
		if !ok {
			method, path = "GET", rt
		}
		path = strings.NewReplacer("{id}", "x", "{group}", "y", "{user}", "z", "{type}", "group", "{principal}", "p", "{cert}", "c").Replace(path)
		if strings.HasSuffix(path, "/") {
			path += "anything"
		}
		req := httptest.NewRequest(method, path, nil)
		if _, pattern := mux.Handler(req); pattern != rt {
			t.Errorf("%s %s is served by %q, want %q", method, path, pattern, rt)
		}
	}
}

func TestAccess(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		auditor := e.createUser(directory.User{UserName: "audrey", Role: directory.RoleAuditor, Active: true}, password)
		g, err := e.app.Directory.CreateGroup(context.Background(), audit.System, directory.Group{DisplayName: "Ops"}, []string{"bob"})
		if err != nil {
			t.Fatal(err)
		}
		type request struct{ method, path string }
		var reqs []request
		for _, rt := range console.Routes {
			method, path, ok := strings.Cut(rt, " ")
			path = strings.NewReplacer("{id}", e.bob.ID, "{group}", g.ID, "{user}", e.bob.ID, "{type}", "group", "{principal}", g.ID, "{cert}", e.bob.ID).Replace(path)
			if !ok {
				path = rt + "nothing"
				reqs = append(reqs, request{"GET", path}, request{"POST", path})
				continue
			}
			reqs = append(reqs, request{method, path})
		}

		for _, who := range []string{"bob", "audrey"} {
			b := e.signedIn(who)
			for _, rq := range reqs {
				t.Run(who+" "+rq.method+" "+rq.path, func(t *testing.T) {
					var p page
					if rq.method == "POST" {
						p = b.post(rq.path, url.Values{"username": {"bob"}, "group": {g.ID}, "displayName": {"Hacked"}, "role": {"admin"}})
					} else {
						p = b.get(rq.path)
					}
					expect(t, p, http.StatusForbidden, "for administrators")
					if strings.Contains(p.Body, `aria-label="Console"`) {
						t.Fatal("403 page shows the console")
					}
				})
			}
			// no console link in the top navigation for them either
			if p := b.get("/start"); strings.Contains(p.Body, `href="/console"`) {
				t.Errorf("%s sees the console link", who)
			}
		}
		// nothing the non-admins posted changed anything
		if u := e.mustUser("bob"); !u.Active || u.Role != "" || u.UserName != "bob" {
			t.Fatalf("bob changed: %+v", u)
		}
		if u := e.mustUser("audrey"); u.Role != directory.RoleAuditor {
			t.Fatalf("audrey changed: %+v", u)
		}
		if g2, err := e.app.Directory.GetGroup(context.Background(), audit.System, g.ID); err != nil || g2.DisplayName != "Ops" || g2.MemberCount != 1 {
			t.Fatalf("group changed: %+v %v", g2, err)
		}
		_ = auditor

		t.Run("anonymous is sent to sign in", func(t *testing.T) {
			b := e.browser()
			for _, rq := range reqs {
				if rq.method != "GET" {
					continue
				}
				p := b.get(rq.path)
				want := "/signin?return_to=" + url.QueryEscape(rq.path)
				if p.Status != http.StatusSeeOther || p.Location != want {
					t.Errorf("GET %s: %d to %q, want 303 to %q", rq.path, p.Status, p.Location, want)
				}
			}
			// an anonymous POST has no CSRF token, so the middleware refuses it
			if p := b.do("POST", "/console/users", url.Values{"username": {"mallory"}}); p.Status != http.StatusForbidden {
				t.Errorf("anonymous POST: %d", p.Status)
			}
		})

		t.Run("admin POST without or with a wrong csrf token", func(t *testing.T) {
			b := e.signedIn("root")
			for _, tok := range []string{"", "forged-token-forged-token", b.csrf + "x"} {
				form := url.Values{"username": {"mallory"}, "active": {"on"}}
				if tok != "" {
					form.Set("csrf", tok)
				}
				expect(t, b.do("POST", "/console/users", form), http.StatusForbidden, "did not come from this site")
				expect(t, b.do("POST", "/console/users/"+e.bob.ID+"/disable", form), http.StatusForbidden)
			}
			if _, err := e.user("mallory"); !errors.Is(err, errs.ErrNotFound) {
				t.Fatalf("mallory was created: %v", err)
			}
			if !e.mustUser("bob").Active {
				t.Fatal("bob was disabled")
			}
			// a cross-site POST carrying the right token is refused too
			req, _ := http.NewRequest("POST", e.srv.URL+"/console/users", strings.NewReader(url.Values{"csrf": {b.csrf}, "username": {"mallory"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			req.Header.Set("Origin", "https://evil.example")
			res, err := b.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusForbidden {
				t.Fatalf("cross-site POST: %d", res.StatusCode)
			}
		})

		t.Run("admin sees every page", func(t *testing.T) {
			b := e.signedIn("root")
			for _, path := range []string{"/console", "/console/users", "/console/users/new", "/console/users/" + e.bob.ID,
				"/console/users/bob", "/console/users/" + e.bob.ID + "/delete", "/console/groups", "/console/groups/new",
				"/console/groups/" + g.ID, "/console/groups/" + g.ID + "/delete", "/console/audit", "/console/apps", "/console/apps/new",
				"/console/apps/new?template=custom"} {
				p := b.get(path)
				expect(t, p, http.StatusOK, `aria-label="Console"`, `href="/console" aria-current="page"`)
			}
			expect(t, b.get("/console/nothing"), http.StatusNotFound)
			expect(t, b.get("/console/users/nobody"), http.StatusNotFound)
			expect(t, b.get("/console/groups/nothing"), http.StatusNotFound)
		})
	})
}

func TestUsers(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		b := e.signedIn("root")

		// create
		p := b.post("/console/users", url.Values{"username": {"alice"}, "email": {"alice@example.com"}, "givenName": {"Alice"},
			"familyName": {"Smith"}, "displayName": {""}, "role": {""}, "active": {"on"}})
		loc := expectRedirect(t, p, "/console/users/")
		if !strings.HasSuffix(loc, "?done=user-created") {
			t.Fatalf("location %q", loc)
		}
		alice := e.mustUser("alice")
		if alice.ID != idFrom(loc, "/console/users/") || alice.PrimaryEmail() != "alice@example.com" || alice.Name.GivenName != "Alice" ||
			!alice.Active || alice.Role != "" {
			t.Fatalf("created %+v", alice)
		}
		expect(t, b.get(loc), http.StatusOK, "The user was created.", `value="alice@example.com"`, `id="disable"`, `id="delete"`)
		// the flash text is fixed: nothing from the query string reaches the page
		if p := b.get("/console/users/alice?done=%3Cb%3Ehi"); strings.Contains(p.Body, `class="flash"`) {
			t.Fatal("an unknown done= value shows a flash")
		}

		// invalid email: the form again, with the error and the values kept; nothing created
		p = b.post("/console/users", url.Values{"username": {"carol"}, "email": {"not-an-email"}, "givenName": {"Carol"}, "active": {"on"}})
		expect(t, p, http.StatusBadRequest, `id="email-error"`, "is not a valid email address", `value="carol"`, `value="Carol"`,
			`value="not-an-email"`, `aria-invalid="true"`)
		if _, err := e.user("carol"); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("carol created: %v", err)
		}
		expect(t, b.post("/console/users", url.Values{"username": {" "}}), http.StatusBadRequest, `id="username-error"`, "Username is required.")

		// duplicates: username (any case) and email
		expect(t, b.post("/console/users", url.Values{"username": {"ALICE"}}), http.StatusConflict, `id="username-error"`,
			"Another user already has this username.", `value="ALICE"`)
		expect(t, b.post("/console/users", url.Values{"username": {"alice2"}, "email": {"Alice@Example.com"}}), http.StatusConflict,
			`id="email-error"`, "Another user already has this email address.")

		// edit
		p = b.post("/console/users/"+alice.ID, url.Values{"version": {fmt.Sprint(alice.Version)}, "username": {"alice"},
			"email": {"alice.smith@example.com"}, "givenName": {"Alice"}, "familyName": {"Smith-Jones"}, "displayName": {"Alice S."}, "role": {"auditor"}})
		expectRedirect(t, p, "/console/users/"+alice.ID+"?done=user-saved")
		alice = e.mustUser("alice")
		if alice.PrimaryEmail() != "alice.smith@example.com" || len(alice.Emails) != 1 || alice.Name.FamilyName != "Smith-Jones" ||
			alice.DisplayName != "Alice S." || alice.Role != directory.RoleAuditor {
			t.Fatalf("edited %+v", alice)
		}
		// a stale form is refused, not applied
		p = b.post("/console/users/"+alice.ID, url.Values{"version": {"1"}, "username": {"alice"}, "displayName": {"Old"}})
		expect(t, p, http.StatusConflict, "Someone else changed this user", `value="Old"`)
		if e.mustUser("alice").DisplayName != "Alice S." {
			t.Fatal("stale edit applied")
		}
		// fields the form does not have cannot be set through it
		p = b.post("/console/users/"+alice.ID, url.Values{"version": {fmt.Sprint(alice.Version)}, "username": {"alice"}, "email": {"alice.smith@example.com"},
			"givenName": {"Alice"}, "familyName": {"Smith-Jones"}, "displayName": {"Alice S."}, "role": {"auditor"}, "active": {""}, "externalId": {"x"}, "title": {"CEO"}})
		expectRedirect(t, p, "/console/users/")
		if u := e.mustUser("alice"); !u.Active || u.ExternalID != "" || u.Title != "" {
			t.Fatalf("mass assignment: %+v", u)
		}

		// disable ends the user's sessions; enable lets them back in
		e.createUser(directory.User{UserName: "dave", Active: true}, password)
		dave := e.signedIn("dave")
		if s, _ := e.app.Sessions.List(context.Background(), e.mustUser("dave").ID); len(s) != 1 {
			t.Fatalf("dave's sessions: %d", len(s))
		}
		daveID := e.mustUser("dave").ID
		expect(t, b.get("/console/users/dave"), http.StatusOK, `<dd id="session-count">1</dd>`)
		expectRedirect(t, b.post("/console/users/"+daveID+"/disable", nil), "/console/users/"+daveID+"?done=user-disabled")
		if u := e.mustUser("dave"); u.Active {
			t.Fatal("dave still active")
		}
		if s, _ := e.app.Sessions.List(context.Background(), daveID); len(s) != 0 {
			t.Fatalf("dave's sessions after disable: %d", len(s))
		}
		expectRedirect(t, dave.get("/start"), "/signin")
		expect(t, b.get("/console/users/"+daveID+"?done=user-disabled"), http.StatusOK, "signed out everywhere", `id="enable"`,
			`<dd id="session-count">0</dd>`)
		if p := b.get("/console/users?status=disabled"); !strings.Contains(p.Body, ">dave<") || strings.Contains(p.Body, ">alice<") {
			t.Fatalf("disabled filter:\n%s", p.Body)
		}
		expectRedirect(t, b.post("/console/users/"+daveID+"/enable", nil), "/console/users/"+daveID+"?done=user-enabled")
		if !e.mustUser("dave").Active {
			t.Fatal("dave not enabled")
		}
		dave = e.signedIn("dave")

		// end all sessions
		expectRedirect(t, b.post("/console/users/"+daveID+"/end-sessions", nil), "/console/users/"+daveID+"?done=sessions-ended")
		if s, _ := e.app.Sessions.List(context.Background(), daveID); len(s) != 0 {
			t.Fatalf("sessions after end-all: %d", len(s))
		}
		expectRedirect(t, dave.get("/start"), "/signin")

		// the last administrator cannot be disabled, demoted or deleted
		expect(t, b.post("/console/users/"+e.root.ID+"/disable", nil), http.StatusBadRequest, "root is the last active administrator.")
		root := e.mustUser("root")
		expect(t, b.post("/console/users/"+root.ID, url.Values{"version": {fmt.Sprint(root.Version)}, "username": {"root"}, "role": {""}}),
			http.StatusBadRequest, `id="role-error"`)
		expect(t, b.post("/console/users/"+root.ID+"/delete", nil), http.StatusBadRequest, "last active administrator")
		if u := e.mustUser("root"); !u.Active || u.Role != directory.RoleAdmin {
			t.Fatalf("root changed: %+v", u)
		}

		// delete, through the confirmation page
		expect(t, b.get("/console/users/"+daveID+"/delete"), http.StatusOK, `id="confirm-delete"`, `action="/console/users/`+daveID+`/delete"`)
		expectRedirect(t, b.post("/console/users/"+daveID+"/delete", nil), "/console/users?done=user-deleted")
		if _, err := e.user(daveID); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("dave still there: %v", err)
		}
		expect(t, b.get("/console/users/"+daveID), http.StatusNotFound)
		expect(t, b.post("/console/users/"+daveID+"/disable", nil), http.StatusNotFound)

		// HTML in a name is shown as text
		p = b.post("/console/users", url.Values{"username": {"xss"}, "displayName": {"<script>alert(1)</script>"}, "active": {"on"}})
		loc = expectRedirect(t, p, "/console/users/")
		for _, path := range []string{loc, "/console/users", "/console/users?q=xss", "/console/audit?target=xss"} {
			body := b.get(path).Body
			if strings.Contains(body, "<script>alert(1)") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Fatalf("%s: display name not escaped:\n%s", path, body)
			}
		}
	})
}

func TestUserListPaging(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		for i := range 60 {
			e.createUser(directory.User{UserName: fmt.Sprintf("user%02d", i), Active: i%2 == 0}, "")
		}
		b := e.signedIn("root")
		p := b.get("/console/users?q=USER")
		expect(t, p, http.StatusOK, ">user00<", ">user49<", `id="next-page"`)
		if strings.Contains(p.Body, ">user50<") || strings.Contains(p.Body, ">bob<") || strings.Contains(p.Body, "First page") {
			t.Fatalf("first page:\n%s", p.Body)
		}
		next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(p.Body)
		p = b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
		expect(t, p, http.StatusOK, ">user50<", ">user59<", "First page", `value="USER"`)
		if strings.Contains(p.Body, ">user49<") || strings.Contains(p.Body, `id="next-page"`) {
			t.Fatalf("second page:\n%s", p.Body)
		}
		// the status filter and the search combine
		p = b.get("/console/users?q=user0&status=disabled")
		expect(t, p, http.StatusOK, ">user01<", ">user09<")
		if strings.Contains(p.Body, ">user00<") || strings.Contains(p.Body, ">user10<") {
			t.Fatalf("filtered:\n%s", p.Body)
		}
		expect(t, b.get("/console/users?cursor=%21%21%21"), http.StatusBadRequest, "not valid any more")
		// overview counts
		expect(t, b.get("/console"), http.StatusOK, `<span class="stat-value" id="count-users">62</span>`,
			`<span class="stat-value" id="count-disabled">30</span>`)
	})
}

func TestGroups(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		b := e.signedIn("root")
		ctx := context.Background()
		members := func(gid string) []string {
			t.Helper()
			ms, _, err := e.app.Directory.ListMembers(ctx, audit.System, gid, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, m := range ms {
				names = append(names, m.UserName)
			}
			return names
		}

		loc := expectRedirect(t, b.post("/console/groups", url.Values{"displayName": {"Developers"}, "description": {"Build things"}}), "/console/groups/")
		gid := idFrom(loc, "/console/groups/")
		expect(t, b.get(loc), http.StatusOK, "The group was created.", `value="Developers"`, "Build things", `id="add-member"`)
		expect(t, b.post("/console/groups", url.Values{"displayName": {"developers"}}), http.StatusConflict,
			`id="display-name-error"`, "Another group already has this name.")
		expect(t, b.post("/console/groups", url.Values{"displayName": {""}}), http.StatusBadRequest, "Name is required.")

		// members by username
		expectRedirect(t, b.post("/console/groups/"+gid+"/members", url.Values{"username": {"bob"}}), "/console/groups/"+gid+"?done=member-added")
		expectRedirect(t, b.post("/console/groups/"+gid+"/members", url.Values{"username": {"ROOT"}}), "/console/groups/"+gid+"?done=member-added")
		if got := members(gid); !slices.Equal(got, []string{"bob", "root"}) {
			t.Fatalf("members %v", got)
		}
		expect(t, b.post("/console/groups/"+gid+"/members", url.Values{"username": {"nobody"}}), http.StatusBadRequest,
			`id="member-username-error"`, "There is no user “nobody”.", `value="nobody"`)
		expect(t, b.get("/console/groups/"+gid), http.StatusOK, ">bob<", ">root<")
		expectRedirect(t, b.post("/console/groups/"+gid+"/members/"+e.bob.ID+"/remove", nil), "/console/groups/"+gid+"?done=member-removed")
		if got := members(gid); !slices.Equal(got, []string{"root"}) {
			t.Fatalf("members after remove %v", got)
		}

		// edit
		g, _ := e.app.Directory.GetGroup(ctx, audit.System, gid)
		expectRedirect(t, b.post("/console/groups/"+gid, url.Values{"version": {fmt.Sprint(g.Version)}, "displayName": {"Engineering"}, "description": {""}}),
			"/console/groups/"+gid+"?done=group-saved")
		if g, _ = e.app.Directory.GetGroup(ctx, audit.System, gid); g.DisplayName != "Engineering" || g.Description != "" {
			t.Fatalf("edited %+v", g)
		}
		expect(t, b.post("/console/groups/"+gid, url.Values{"version": {"1"}, "displayName": {"Stale"}}), http.StatusConflict, "Someone else changed this group")

		// membership from the user's page
		expect(t, b.get("/console/users/"+e.bob.ID), http.StatusOK, `id="add-group"`, `<option value="`+gid+`">Engineering</option>`)
		expectRedirect(t, b.post("/console/users/"+e.bob.ID+"/groups", url.Values{"group": {gid}}), "/console/users/"+e.bob.ID+"?done=group-added")
		if got := members(gid); !slices.Equal(got, []string{"bob", "root"}) {
			t.Fatalf("members after add from user page %v", got)
		}
		p := b.get("/console/users/" + e.bob.ID)
		expect(t, p, http.StatusOK, `action="/console/users/`+e.bob.ID+`/groups/`+gid+`/remove"`)
		expectRedirect(t, b.post("/console/users/"+e.bob.ID+"/groups/"+gid+"/remove", nil), "/console/users/"+e.bob.ID+"?done=group-removed")
		if got := members(gid); !slices.Equal(got, []string{"root"}) {
			t.Fatalf("members after remove from user page %v", got)
		}
		expect(t, b.post("/console/users/"+e.bob.ID+"/groups", url.Values{"group": {""}}), http.StatusBadRequest, "Choose a group")

		// list and search
		expectRedirect(t, b.post("/console/groups", url.Values{"displayName": {"Sales"}}), "/console/groups/")
		p = b.get("/console/groups?q=eng")
		expect(t, p, http.StatusOK, ">Engineering<")
		if strings.Contains(p.Body, ">Sales<") {
			t.Fatal("search shows Sales")
		}

		// delete through the confirmation page
		expect(t, b.get("/console/groups/"+gid+"/delete"), http.StatusOK, `id="confirm-delete"`)
		expectRedirect(t, b.post("/console/groups/"+gid+"/delete", nil), "/console/groups?done=group-deleted")
		if _, err := e.app.Directory.GetGroup(ctx, audit.System, gid); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("group still there: %v", err)
		}
		expect(t, b.get("/console/groups/"+gid), http.StatusNotFound)
	})
}

func TestUnlock(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		carol := e.createUser(directory.User{UserName: "carol", Active: true}, password)
		admin := e.signedIn("root")
		expect(t, admin.get("/console/users/carol"), http.StatusOK, "Not locked")
		if strings.Contains(admin.get("/console/users/carol").Body, `id="unlock"`) {
			t.Fatal("unlock shown for an unlocked account")
		}

		attacker := e.browser()
		for i := 0; i < 3; i++ {
			if p := attacker.signIn("carol", "wrong password"); p.Status != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d", i, p.Status)
			}
		}
		if p := attacker.signIn("carol", password); p.Status != http.StatusTooManyRequests {
			t.Fatalf("locked account signed in: %d", p.Status)
		}
		if until, err := e.app.Auth.Locked(ctx, carol); err != nil || until == nil {
			t.Fatalf("not locked: %v %v", until, err)
		}
		expect(t, admin.get("/console/users/"+carol.ID), http.StatusOK, `id="unlock"`, "Locked until")

		expectRedirect(t, admin.post("/console/users/"+carol.ID+"/unlock", nil), "/console/users/"+carol.ID+"?done=unlocked")
		if until, err := e.app.Auth.Locked(ctx, carol); err != nil || until != nil {
			t.Fatalf("still locked: %v %v", until, err)
		}
		p := admin.get("/console/users/" + carol.ID + "?done=unlocked")
		expect(t, p, http.StatusOK, "The account was unlocked.", "Not locked")
		if strings.Contains(p.Body, `id="unlock"`) {
			t.Fatal("unlock still shown")
		}
		if p := e.browser().signIn("carol", password); p.Status != http.StatusSeeOther {
			t.Fatalf("carol cannot sign in after unlock: %d", p.Status)
		}
		events, _, err := e.app.API.Audit.List(ctx, audit.System, audit.Filter{Action: "user.unlock"})
		if err != nil || len(events) != 1 || events[0].Actor.Name != "root" || events[0].TargetID != carol.ID {
			t.Fatalf("unlock event: %+v %v", events, err)
		}
	})
}

func TestAuditPage(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		b := e.signedIn("root")
		expectRedirect(t, b.post("/console/users", url.Values{"username": {"erin"}, "email": {"erin@example.com"}, "active": {"on"}}), "/console/users/")
		expectRedirect(t, b.post("/console/groups", url.Values{"displayName": {"Auditors"}}), "/console/groups/")

		rows := regexp.MustCompile(`<td><code>([a-z_.]+)</code></td>`)
		actions := func(p page) []string {
			var out []string
			for _, m := range rows.FindAllStringSubmatch(p.Body, -1) {
				out = append(out, m[1])
			}
			return out
		}

		p := b.get("/console/audit")
		expect(t, p, http.StatusOK, `id="events"`, `<th scope="col">Request id</th>`, "127.0.0.1")
		all := actions(p)
		for _, want := range []string{"user.create", "group.create", "signin.success"} {
			if !slices.Contains(all, want) {
				t.Fatalf("events %v lack %s", all, want)
			}
		}
		// the summary is compact JSON, escaped
		expect(t, p, http.StatusOK, `&#34;userName&#34;:{&#34;from&#34;:null,&#34;to&#34;:&#34;erin&#34;}`)

		p = b.get("/console/audit?action=user.create")
		if got := actions(p); len(got) == 0 || slices.ContainsFunc(got, func(a string) bool { return a != "user.create" }) {
			t.Fatalf("action filter: %v", got)
		}
		expect(t, p, http.StatusOK, `value="user.create"`, "</span> erin</td>")
		if got := actions(b.get("/console/audit?action=group.*")); !slices.Equal(got, []string{"group.create"}) {
			t.Fatalf("action prefix filter: %v", got)
		}
		if got := actions(b.get("/console/audit?target=erin")); !slices.Equal(got, []string{"user.create"}) {
			t.Fatalf("target filter: %v", got)
		}
		if got := actions(b.get("/console/audit?actor=root&action=signin.success")); len(got) != 1 {
			t.Fatalf("actor filter: %v", got)
		}
		if got := actions(b.get("/console/audit?actor=bob")); len(got) != 0 {
			t.Fatalf("actor bob: %v", got)
		}
		future := time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04")
		past := time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04")
		expect(t, b.get("/console/audit?since="+future), http.StatusOK, "No events match.", `value="`+future+`"`)
		if got := actions(b.get("/console/audit?until=" + past)); len(got) != 0 {
			t.Fatalf("until filter: %v", got)
		}
		if got := actions(b.get("/console/audit?since=" + past + "&until=" + future + "&action=user.create")); len(got) == 0 {
			t.Fatal("since/until window is empty")
		}
		expect(t, b.get("/console/audit?since=yesterday"), http.StatusBadRequest, `id="since-error"`, `value="yesterday"`)
		expect(t, b.get("/console/audit?cursor=%21"), http.StatusBadRequest, "not valid any more")

		// paging: more than a page of events
		for i := range 60 {
			e.createUser(directory.User{UserName: fmt.Sprintf("p%02d", i), Active: true}, "")
		}
		p = b.get("/console/audit?action=user.create")
		if n := len(actions(p)); n != 50 {
			t.Fatalf("first page has %d events", n)
		}
		next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(p.Body)
		if next == nil {
			t.Fatal("no next page")
		}
		p = b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
		expect(t, p, http.StatusOK, "First page", `value="user.create"`)
		if n := len(actions(p)); n != 13 { // root, bob, erin and 60 more: 63
			t.Fatalf("second page has %d events", n)
		}
	})
}

// fakeMFA and fakeInvitations record the optional services' calls.
type fakeMFA struct{ reset []string }

func (f *fakeMFA) ResetUser(_ context.Context, actor audit.Actor, userID string) error {
	if actor.Role != directory.RoleAdmin {
		return errs.ErrForbidden
	}
	f.reset = append(f.reset, userID)
	return nil
}

func (f *fakeMFA) Factors(context.Context, string) ([]string, error) {
	return []string{"TOTP", "WEBAUTHN"}, nil
}

type fakeInvitations struct{ invited, reset []string }

func (f *fakeInvitations) SendInvitation(_ context.Context, _ audit.Actor, userID string) error {
	f.invited = append(f.invited, userID)
	return nil
}

func (f *fakeInvitations) ForcePasswordReset(_ context.Context, _ audit.Actor, userID string) error {
	f.reset = append(f.reset, userID)
	return nil
}

// TestOptionalServices mounts consoles with and without the optional
// services on the app's own portal and services.
func TestOptionalServices(t *testing.T) {
	e := start(t, testConfig(t, ""))
	a := e.app
	mount := func(c *console.Console) *httptest.Server {
		c.Render, c.Directory, c.Audit, c.Auth, c.Sessions, c.Log = a.Portal.Render, a.Directory, a.API.Audit, a.Auth, a.Sessions, a.Log
		c.Guard, c.Fail = a.Portal.SignedIn, a.Portal.Fail
		mux := http.NewServeMux()
		a.Portal.Register(mux)
		c.Register(mux)
		srv := httptest.NewServer(web.SecurityHeaders(a.Portal.Middleware(mux)))
		t.Cleanup(srv.Close)
		return srv
	}
	signIn := func(srv *httptest.Server) *browser {
		b := e.browser()
		b.base = srv.URL
		if p := b.signIn("root", password); p.Status != http.StatusSeeOther {
			t.Fatalf("sign in: %d", p.Status)
		}
		return b
	}

	t.Run("absent: buttons hidden, routes 404", func(t *testing.T) {
		b := signIn(mount(&console.Console{}))
		p := b.get("/console/users/" + e.bob.ID)
		expect(t, p, http.StatusOK, `id="end-sessions"`)
		for _, id := range []string{`id="reset-mfa"`, `id="force-reset"`, `id="send-invite"`, `id="mfa-factors"`} {
			if strings.Contains(p.Body, id) {
				t.Errorf("page shows %s", id)
			}
		}
		for _, action := range []string{"reset-mfa", "force-reset", "invite"} {
			expect(t, b.post("/console/users/"+e.bob.ID+"/"+action, nil), http.StatusNotFound)
		}
	})

	t.Run("present: buttons shown and wired", func(t *testing.T) {
		mfa, inv := &fakeMFA{}, &fakeInvitations{}
		b := signIn(mount(&console.Console{MFAResetter: mfa, MFAStatus: mfa, Invitations: inv}))
		expect(t, b.get("/console/users/bob"), http.StatusOK, `id="reset-mfa"`, `id="force-reset"`, `id="send-invite"`,
			`<dd id="mfa-factors">TOTP, WEBAUTHN</dd>`)
		expectRedirect(t, b.post("/console/users/bob/reset-mfa", nil), "/console/users/"+e.bob.ID+"?done=mfa-reset")
		expectRedirect(t, b.post("/console/users/bob/force-reset", nil), "/console/users/"+e.bob.ID+"?done=reset-sent")
		expectRedirect(t, b.post("/console/users/bob/invite", nil), "/console/users/"+e.bob.ID+"?done=invite-sent")
		if !slices.Equal(mfa.reset, []string{e.bob.ID}) || !slices.Equal(inv.reset, []string{e.bob.ID}) || !slices.Equal(inv.invited, []string{e.bob.ID}) {
			t.Fatalf("calls: mfa %v reset %v invited %v", mfa.reset, inv.reset, inv.invited)
		}
		expect(t, b.get("/console/users/bob?done=invite-sent"), http.StatusOK, "The invitation was sent.")
	})
}
