package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/saml"
)

// TestAppsEventsAndPreviewXMLCLI: refused sign-ins show up in apps events
// with their reason in plain words and the fix; apps preview --xml prints
// the Response with the assertion the user would receive.
func TestAppsEventsAndPreviewXMLCLI(t *testing.T) {
	srv := startCLIServer(t, "sqlite")
	a, env := srv.App, srv.Env
	cli := func(args ...string) (string, string, int) {
		t.Helper()
		var out, errb bytes.Buffer
		code := run(args, strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
		return out.String(), errb.String(), code
	}
	must := func(args ...string) string {
		t.Helper()
		out, errs, code := cli(args...)
		if code != 0 {
			t.Fatalf("idcenter %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
		}
		return out
	}

	must("users", "create", "alice", "--email", "alice@example.com", "--given-name", "Alice", "--family-name", "Smith")
	must("apps", "create", "Wiki", "--entity-id", "urn:wiki", "--acs", "https://wiki.example.com/acs", "--attribute", "mail=${user:email}")
	if out := must("apps", "events", "Wiki"); !strings.Contains(out, "No SAML events") {
		t.Fatalf("events before any sign-in:\n%s", out)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(must("apps", "get", "Wiki", "-o", "json")), &got); err != nil {
		t.Fatal(err)
	}
	id := got["id"].(string)
	sso := a.Config.PublicURL() + "/saml/apps/" + id + "/sso"

	send := func(issuer string, instant time.Time) {
		t.Helper()
		req := `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"` +
			` ID="_r` + instant.Format("150405") + issuer[len(issuer)-1:] + `" Version="2.0" IssueInstant="` + instant.UTC().Format(time.RFC3339) + `"` +
			` Destination="` + sso + `"><saml:Issuer>` + issuer + `</saml:Issuer></samlp:AuthnRequest>`
		u, err := saml.RedirectURL(srv.URL+"/saml/apps/"+id+"/sso", "SAMLRequest", []byte(req), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("AuthnRequest from %s at %s: status %d, want 400", issuer, instant, res.StatusCode)
		}
	}
	send("urn:someone-else", time.Now())
	send("urn:wiki", time.Now().Add(-3*time.Hour))

	out := must("apps", "events", "Wiki")
	for _, want := range []string{"refused", "saml.sso.refused", "unknown-issuer", "clock-skew",
		"Fix:    check the SP's clock", "Reason: The request's issuer is not this application's entity ID"} {
		if !strings.Contains(out, want) {
			t.Errorf("apps events: no %q in\n%s", want, out)
		}
	}
	// Newest first.
	if strings.Index(out, "clock-skew") > strings.Index(out, "unknown-issuer") {
		t.Errorf("apps events not newest first:\n%s", out)
	}
	var evs []map[string]any
	if err := json.Unmarshal([]byte(must("apps", "events", "Wiki", "--limit", "1", "-o", "json")), &evs); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0]["reasonCode"] != "clock-skew" || evs[0]["fix"] == "" {
		t.Errorf("apps events --limit 1 -o json: %v", evs)
	}
	if _, errs, code := cli("apps", "events", "nope"); code == 0 || !strings.Contains(errs, "404") {
		t.Errorf("apps events nope: exit %d %s", code, errs)
	}

	xml := must("apps", "preview", "Wiki", "--user", "alice", "--xml")
	for _, want := range []string{"<samlp:Response", "<saml:Assertion", "alice@example.com", "<saml:Audience>urn:wiki</saml:Audience>",
		`Destination="https://wiki.example.com/acs"`, "ds:Signature"} {
		if !strings.Contains(xml, want) {
			t.Errorf("apps preview --xml: no %q in\n%s", want, xml)
		}
	}
	if strings.Contains(must("apps", "preview", "Wiki", "--user", "alice"), "<saml:Assertion") {
		t.Error("apps preview without --xml prints XML")
	}
}
