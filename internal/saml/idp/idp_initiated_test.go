package idp_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// IDP-09: IdP-initiated SSO and login CSRF toward SPs. A start URL that is
// not opened directly (portal tile, bookmark) gets a confirmation page and
// no assertion; its same-origin, CSRF-protected POST continues. An
// unassigned user gets 403 either way; acs= and RelayState= in the query
// are ignored (default ACS, the application's default relay state).

var confirmFormRE = regexp.MustCompile(`(?s)<form method="post" action="(/saml/apps/[^"]+/start)"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)">`)

// confirmation checks pg is the confirmation page of app and returns its
// form action and CSRF token.
func (e *env) confirmation(t *testing.T, pg page) (action, csrf string) {
	t.Helper()
	if pg.status != 200 || strings.Contains(pg.body, "SAMLResponse") || !strings.Contains(pg.body, "Continue to Wiki") {
		t.Fatalf("want the confirmation page, got %d:\n%s", pg.status, pg.body)
	}
	// The site's own CSP and framing rules: the button cannot be framed
	// (clickjacking) and the form only posts to this origin.
	if csp := pg.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("confirmation CSP %q", csp)
	}
	if pg.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("X-Frame-Options %q", pg.header.Get("X-Frame-Options"))
	}
	m := confirmFormRE.FindStringSubmatch(pg.body)
	if m == nil {
		t.Fatalf("no CSRF-protected POST form:\n%s", pg.body)
	}
	if got, want := html.UnescapeString(m[1]), "/saml/apps/"+e.appID+"/start"; got != want {
		t.Errorf("form action %q, want %q", got, want)
	}
	return html.UnescapeString(m[1]), html.UnescapeString(m[2])
}

func (e *env) postedCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.posted)
}

func TestIdPInitiatedCrossSite(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		start := "/saml/apps/" + e.appID + "/start"
		b := e.browser()
		b.signIn("alice", "/start")

		// Not known to be direct: the confirmation page, no assertion.
		for _, c := range []struct {
			name string
			path string
			hdr  []string
		}{
			{"cross-site", start, []string{"Sec-Fetch-Site", "cross-site", "Referer", "https://evil.example/"}},
			{"cross-site with evil RelayState", start + "?RelayState=" + url.QueryEscape("https://evil.example/"), []string{"Sec-Fetch-Site", "cross-site"}},
			{"same-site other origin", start, []string{"Sec-Fetch-Site", "same-site"}},
			{"foreign Referer without fetch metadata", start, []string{"Referer", "https://evil.example/page"}},
			{"foreign Origin without fetch metadata", start, []string{"Origin", "https://evil.example"}},
			{"foreign Referer overrides same-origin", start, []string{"Sec-Fetch-Site", "same-origin", "Referer", "https://evil.example/"}},
			{"our host on another scheme", start, []string{"Referer", strings.Replace(e.srv.URL, "http://", "https://", 1) + "/start"}},
			{"no evidence at all", start, nil},
			{"confirm after sign-in", start + "?confirm=1", []string{"Sec-Fetch-Site", "same-origin"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				before, issued := e.postedCount(), len(e.events("saml.sso"))
				e.confirmation(t, b.get(c.path, c.hdr...))
				if e.postedCount() != before || len(e.events("saml.sso")) != issued {
					t.Error("an assertion was issued")
				}
			})
		}

		// Direct navigations go straight through.
		for _, hdr := range [][]string{
			{"Sec-Fetch-Site", "same-origin"}, // the portal tile
			{"Sec-Fetch-Site", "none"},        // bookmark, address bar
			{"Referer", e.srv.URL + "/start"}, // a browser without fetch metadata
			{"Sec-Fetch-Site", "same-origin", "Referer", e.srv.URL + "/start"},
		} {
			e.verify(b.deliver(b.get(start, hdr...)))
		}

		// The confirmation's button: a same-origin POST with the session's
		// CSRF token continues to the default ACS with the default relay state.
		action, csrf := e.confirmation(t, b.get(start, "Sec-Fetch-Site", "cross-site"))
		issued := len(e.events("saml.sso"))
		got := b.deliver(b.post(action, url.Values{"csrf": {csrf}}, "Origin", e.srv.URL, "Sec-Fetch-Site", "same-origin"))
		e.verify(got)
		if got.Get("RelayState") != "/home" {
			t.Errorf("RelayState %q", got.Get("RelayState"))
		}
		if evs := e.events("saml.sso"); len(evs) != issued+1 {
			t.Errorf("audit after confirmation: %d events (was %d)", len(evs), issued)
		}

		// The button cannot be forged: no token, another session's token,
		// or a cross-site POST with a valid token are refused.
		bob := e.browser()
		bob.signIn("bob", "/start")
		bobToken := csrfRE.FindStringSubmatch(bob.get("/profile").body)
		if bobToken == nil {
			t.Fatal("no csrf token on bob's profile")
		}
		before := e.postedCount()
		for name, pg := range map[string]page{
			"no token":          b.post(action, url.Values{}, "Origin", e.srv.URL, "Sec-Fetch-Site", "same-origin"),
			"other token":       b.post(action, url.Values{"csrf": {html.UnescapeString(bobToken[1])}}, "Origin", e.srv.URL, "Sec-Fetch-Site", "same-origin"),
			"cross-site":        b.post(action, url.Values{"csrf": {csrf}}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"),
			"cross-site origin": b.post(action, url.Values{"csrf": {csrf}}, "Origin", "https://evil.example"),
		} {
			if pg.status != http.StatusForbidden || strings.Contains(pg.body, "SAMLResponse") {
				t.Errorf("%s: %d %.300s", name, pg.status, pg.body)
			}
		}
		if e.postedCount() != before {
			t.Error("a forged confirmation reached the SP")
		}
	})
}

// TestIdPInitiatedIgnoresQuery: acs= and RelayState= on the start URL (or
// in the confirmation POST) never choose where the assertion goes or what
// RelayState the SP gets.
func TestIdPInitiatedIgnoresQuery(t *testing.T) {
	e := newEnv(t, "")
	start := "/saml/apps/" + e.appID + "/start"
	b := e.browser()
	b.signIn("alice", "/start")
	evil := url.Values{"acs": {"https://evil.example/acs"}, "AssertionConsumerServiceURL": {"https://evil.example/acs"},
		"RelayState": {"https://evil.example/next"}}
	for _, relay := range []string{"https://evil.example/next", "/home"} {
		evil.Set("RelayState", relay)
		pg := b.open(start + "?" + evil.Encode())
		if strings.Contains(pg.body, "evil.example") || strings.Contains(pg.header.Get("Content-Security-Policy"), "evil.example") {
			t.Errorf("query reached the page:\n%s", pg.body)
		}
		got := b.deliver(pg) // fails unless the form posts to the registered ACS
		if got.Get("RelayState") != "/home" {
			t.Errorf("RelayState %q, want the application's default", got.Get("RelayState"))
		}
		if xml := decode(t, got.Get("SAMLResponse")); strings.Contains(xml, "evil.example") || !strings.Contains(xml, `Destination="`+e.acs+`"`) {
			t.Errorf("response:\n%s", xml)
		}
	}
	// Through the confirmation POST, with the same fields in the form.
	action, csrf := e.confirmation(t, b.get(start+"?"+evil.Encode(), "Sec-Fetch-Site", "cross-site"))
	form := url.Values{"csrf": {csrf}}
	for k, v := range evil {
		form[k] = v
	}
	got := b.deliver(b.post(action+"?"+evil.Encode(), form, "Origin", e.srv.URL, "Sec-Fetch-Site", "same-origin"))
	if got.Get("RelayState") != "/home" || strings.Contains(decode(t, got.Get("SAMLResponse")), "evil.example") {
		t.Errorf("confirmation POST: RelayState %q", got.Get("RelayState"))
	}
}

// TestIdPInitiatedUnassigned: an unassigned user gets 403 and no assertion,
// whether triggered cross-site (no confirmation is offered) or through a
// POST of the confirmation form with a valid token.
func TestIdPInitiatedUnassigned(t *testing.T) {
	e := newEnv(t, "")
	start := "/saml/apps/" + e.appID + "/start"
	bob := e.browser()
	bob.signIn("bob", "/start")
	for _, hdr := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Site", "same-origin"}, nil} {
		pg := bob.get(start, hdr...)
		if pg.status != http.StatusForbidden || strings.Contains(pg.body, "SAMLResponse") || !strings.Contains(pg.body, "not assigned") ||
			confirmFormRE.MatchString(pg.body) {
			t.Errorf("%v: %d %s", hdr, pg.status, pg.body)
		}
	}
	m := csrfRE.FindStringSubmatch(bob.get("/profile").body)
	if m == nil {
		t.Fatal("no csrf token")
	}
	pg := bob.post(start, url.Values{"csrf": {html.UnescapeString(m[1])}}, "Origin", e.srv.URL, "Sec-Fetch-Site", "same-origin")
	if pg.status != http.StatusForbidden || strings.Contains(pg.body, "SAMLResponse") {
		t.Errorf("confirmation POST: %d %s", pg.status, pg.body)
	}
	if e.postedCount() != 0 || len(e.events("saml.sso")) != 0 {
		t.Error("an assertion was issued")
	}
	if evs := e.events("saml.sso.refused"); len(evs) != 4 || evs[0].Summary["reason"] != "not assigned" {
		t.Errorf("audit: %d events %+v", len(evs), evs)
	}
}

// TestIdPInitiatedCrossSiteSignIn: a cross-site trigger while signed out
// goes to sign-in and then to the confirmation page, not to an assertion;
// a bookmark goes through.
func TestIdPInitiatedCrossSiteSignIn(t *testing.T) {
	e := newEnv(t, "")
	start := "/saml/apps/" + e.appID + "/start"
	b := e.browser()
	pg := b.get(start, "Sec-Fetch-Site", "cross-site")
	want := start + "?confirm=1"
	if pg.status != 303 || pg.header.Get("Location") != "/signin?return_to="+url.QueryEscape(want) {
		t.Fatalf("anonymous cross-site: %d %q", pg.status, pg.header.Get("Location"))
	}
	if next := b.signIn("alice", want); next != want {
		t.Fatalf("after sign-in: %q", next)
	}
	// The redirect after the sign-in POST is a same-origin navigation.
	action, csrf := e.confirmation(t, b.open(want))
	e.verify(b.deliver(b.post(action, url.Values{"csrf": {csrf}}, "Origin", e.srv.URL, "Sec-Fetch-Site", "same-origin")))

	anon := e.browser()
	if pg := anon.get(start, "Sec-Fetch-Site", "none"); pg.header.Get("Location") != "/signin?return_to="+url.QueryEscape(start) {
		t.Errorf("anonymous bookmark: %d %q", pg.status, pg.header.Get("Location"))
	}
}
