package browsertest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
)

// acsServer is a tiny service provider on loopback: its ACS records every
// SAMLResponse posted to it.
type acsServer struct {
	URL, EntityID string // URL is the ACS URL
	got           chan string
}

func startACS(t *testing.T) *acsServer {
	t.Helper()
	s := &acsServer{got: make(chan string, 4)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /saml/acs", func(w http.ResponseWriter, r *http.Request) {
		s.got <- r.PostFormValue("SAMLResponse")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!DOCTYPE html><title>SP</title><h1>Signed in at the service provider</h1>")
	})
	srv := httptest.NewServer(mux) // 127.0.0.1
	t.Cleanup(srv.Close)
	s.URL, s.EntityID = srv.URL+"/saml/acs", srv.URL+"/saml/metadata"
	return s
}

// wait returns the decoded XML of the next SAMLResponse the ACS receives.
func (s *acsServer) wait(t *testing.T) string {
	t.Helper()
	select {
	case v := <-s.got:
		xml, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatalf("SAMLResponse is not base64: %v (%q)", err, v)
		}
		return string(xml)
	case <-time.After(DefaultActionTimeout):
		t.Fatal("no SAMLResponse reached the ACS")
		return ""
	}
}

// spMetadataXML is the metadata the loopback SP would publish: an ECDSA
// signing certificate and one HTTP-POST ACS.
func (s *acsServer) spMetadataXML(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "loopback SP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="%s">
  <md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="%s" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
`, s.EntityID, base64.StdEncoding.EncodeToString(der), s.URL)
}

// fetched is what a same-origin fetch from the page got.
type fetched struct {
	Status      int
	ContentType string
	Disposition string
	Body        string
}

// fetchLink fetches the href of the link matched by selector from the page,
// with the browser's cookies, as following the link would.
func fetchLink(t *testing.T, b *Browser, selector string) fetched {
	t.Helper()
	sel, _ := json.Marshal(selector)
	var f fetched
	b.Eval(`(async () => { const r = await fetch(document.querySelector(`+string(sel)+`).href);
		return {Status: r.status, ContentType: r.headers.get('content-type') || '',
			Disposition: r.headers.get('content-disposition') || '', Body: await r.text()} })()`, &f)
	return f
}

// inputValue returns the current value of an input, select or textarea.
func inputValue(t *testing.T, b *Browser, selector string) string {
	t.Helper()
	sel, _ := json.Marshal(selector)
	var v string
	b.Eval(`document.querySelector(`+string(sel)+`).value`, &v)
	return v
}

// appIDFromPath returns the application id of a /console/apps/{id} path.
func appIDFromPath(t *testing.T, p string) string {
	t.Helper()
	id, ok := strings.CutPrefix(p, "/console/apps/")
	if !ok {
		t.Fatalf("at %s, want an application page", p)
	}
	id, _, _ = strings.Cut(id, "?")
	if id == "" || id == "new" || strings.Contains(id, "/") {
		t.Fatalf("at %s, want an application page", p)
	}
	return id
}

// TestConsoleApps is the administrator's journey through the application
// pages, ending with an assigned user signing in to the application from
// the portal (IdP-initiated SSO to a loopback ACS).
func TestConsoleApps(t *testing.T) {
	h := New(t, Options{Timeout: 2 * time.Minute})
	sp := startACS(t)
	h.CreateAdmin("root", adminPassword)
	h.CreateUser("alice", alicePassword)
	h.CreateUser("bob", "bob's own pass phrase")
	if _, err := h.App.Directory.CreateGroup(context.Background(), audit.System,
		directory.Group{DisplayName: "Analysts"}, []string{"alice"}); err != nil {
		t.Fatal(err)
	}

	admin := h.Browser
	admin.SignIn("root", adminPassword)
	admin.Click(`.topbar nav a[href="/console"]`)
	admin.Click(`nav[aria-label=Console] a[href="/console/apps"]`)
	mustPath(t, admin, "/console/apps")
	mustContain(t, "h1", admin.Text("h1"), "Applications")
	mustContain(t, "empty list", admin.Text("#apps"), "No applications yet.")
	if got := admin.Text(`nav[aria-label=Console] [aria-current=page]`); got != "Applications" {
		t.Errorf("current console section = %q", got)
	}

	// --- from the catalog: Heap, whose ACS URL needs the Heap app id ---
	admin.Click("#new-app")
	mustPath(t, admin, "/console/apps/new")
	mustContain(t, "catalog", admin.Text("#catalog"), "nOps")
	admin.Click(`#catalog a[href="/console/apps/new?template=heap"]`)
	mustContain(t, "h1", admin.Text("h1"), "Add application: Heap")
	mustContain(t, "instructions", admin.Text("#instructions"), "Set up Heap")
	noOverflow(t, admin, "Heap create form")
	if got := inputValue(t, admin, "#display-name"); got != "Heap" {
		t.Errorf("name prefilled with %q, want Heap", got)
	}
	// Without the ACS URL the template's <app-id> placeholder is refused.
	if r := admin.Click("#create-app"); r.Status != http.StatusBadRequest {
		t.Errorf("create with the placeholder ACS: status %d, want 400", r.Status)
	}
	mustContain(t, "ACS error", admin.Text("#acs-error"), "<app-id>")
	if admin.Count(`#acs[aria-invalid=true][aria-describedby="acs-error"]`) != 1 {
		t.Error("the ACS field is not marked invalid")
	}
	mustPath(t, admin, "/console/apps")
	admin.Navigate("/console/apps/new?template=heap")
	const heapACS = "https://heapanalytics.com/saml/finalize/1234567890/"
	admin.Fill("#acs", heapACS)
	admin.Screenshot("console-apps-new")
	admin.Click("#create-app")
	heapID := appIDFromPath(t, admin.Path())
	mustContain(t, "flash", admin.Text("[role=status]"), "The application was created.")
	mustContain(t, "h1", admin.Text("h1"), "Heap")
	if got := inputValue(t, admin, "#entity-id"); got != "heapanalytics.com" {
		t.Errorf("Heap entity ID = %q", got)
	}
	if got := inputValue(t, admin, "#acs"); got != heapACS {
		t.Errorf("Heap ACS = %q", got)
	}

	// --- a custom application from pasted SP metadata ---
	admin.Navigate("/console/apps/new")
	admin.Click(`#catalog a[href="/console/apps/new?template=custom"]`)
	admin.Fill("#display-name", "Loopback SP")
	admin.Fill("#sp-metadata", sp.spMetadataXML(t))
	admin.Click("#create-app")
	appID := appIDFromPath(t, admin.Path())
	appPage := "/console/apps/" + appID
	mustContain(t, "flash", admin.Text("[role=status]"), "The application was created.")
	if got := inputValue(t, admin, "#entity-id"); got != sp.EntityID {
		t.Errorf("entity ID from metadata = %q, want %q", got, sp.EntityID)
	}
	if got := inputValue(t, admin, "#acs"); got != sp.URL {
		t.Errorf("ACS from metadata = %q, want %q", got, sp.URL)
	}
	mustContain(t, "SP signing certificate from metadata", inputValue(t, admin, "#signing-certificates"), "-----BEGIN CERTIFICATE-----")
	mustContain(t, "IdP URLs", admin.Text("#idp-urls"), h.BaseURL+"/saml/apps/"+appID+"/sso")

	// --- attribute mappings: a bad expression is refused, named on the page ---
	if got := inputValue(t, admin, "#attr-format-0"); got != apps.NameFormatUnspecified {
		t.Errorf("a new attribute row starts with name format %q, want %q (the API's default)", got, apps.NameFormatUnspecified)
	}
	admin.Fill("#attr-name-0", "email")
	admin.Fill("#attr-value-0", "${user:email}")
	admin.Fill("#attr-name-1", "nickname")
	admin.Fill("#attr-value-1", "${user:nope}")
	if r := admin.Click("#save"); r.Status != http.StatusBadRequest {
		t.Errorf("save with ${user:nope}: status %d, want 400", r.Status)
	}
	mustContain(t, "attribute error", admin.Text("#attr-value-1-error"), "${user:nope}")
	if got := admin.Count(`#attr-value-1[aria-invalid=true][aria-describedby="attr-value-1-error"]`); got != 1 {
		t.Error("the bad attribute value is not marked invalid")
	}
	if admin.Count("[role=alert]") != 1 {
		t.Error("no error summary on the page")
	}
	if got := inputValue(t, admin, "#attr-value-1"); got != "${user:nope}" {
		t.Errorf("the form lost the entered value: %q", got)
	}
	if got := inputValue(t, admin, "#attr-name-0"); got != "email" {
		t.Errorf("the form lost the first row: %q", got)
	}
	admin.Fill("#attr-name-1", "groups")
	admin.Fill("#attr-value-1", "${user:groups}")
	admin.Click("#save")
	mustPath(t, admin, appPage+"?done=app-saved")
	mustContain(t, "flash", admin.Text("[role=status]"), "The application was saved.")
	if got := inputValue(t, admin, "#attr-value-1"); got != "${user:groups}" {
		t.Errorf("saved attribute 2 = %q", got)
	}

	// --- assignments ---
	mustContain(t, "no assignments", admin.Text("main"), "Nobody is assigned yet")
	admin.Fill("#assign-name", "Nobody here")
	if r := admin.Click("#assign"); r.Status != http.StatusBadRequest {
		t.Errorf("assign an unknown group: status %d, want 400", r.Status)
	}
	mustContain(t, "assign error", admin.Text("#assign-name-error"), "There is no group")
	admin.Fill("#assign-name", "Analysts")
	admin.Click("#assign")
	mustContain(t, "flash", admin.Text("[role=status]"), "The assignment was added.")
	mustContain(t, "assignments", admin.Text("#assignments"), "Analysts")

	// --- preview for a user: attributes and the signed XML ---
	admin.Fill("#preview-user", "alice")
	admin.Click("#preview")
	mustPath(t, admin, appPage+"?preview=alice")
	result := admin.Text("#preview-result")
	mustContain(t, "preview", result, "alice@example.com")
	mustContain(t, "preview groups", result, "Analysts")
	xml := admin.Text("#preview-xml")
	mustContain(t, "preview XML", xml, "<samlp:Response")
	mustContain(t, "preview XML", xml, "alice@example.com")
	mustContain(t, "preview XML", xml, `Destination="`+sp.URL+`"`)
	noOverflow(t, admin, "application page with the preview XML")
	admin.Fill("#preview-user", "nosuchuser")
	if r := admin.Click("#preview"); r.Status != http.StatusBadRequest {
		t.Errorf("preview for an unknown user: status %d, want 400", r.Status)
	}
	mustContain(t, "preview error", admin.Text("#preview-user-error"), "There is no user")

	// --- downloads: IdP metadata and the signing certificate ---
	md := fetchLink(t, admin, "#download-metadata")
	if md.Status != 200 || !strings.HasPrefix(md.ContentType, "application/samlmetadata+xml") {
		t.Fatalf("metadata download: %d %s", md.Status, md.ContentType)
	}
	mustContain(t, "metadata disposition", md.Disposition, "attachment")
	mustContain(t, "metadata", md.Body, `entityID="`+h.BaseURL+"/saml/apps/"+appID+`"`)
	pem := fetchLink(t, admin, "#download-certificate")
	if pem.Status != 200 || pem.ContentType != "application/x-pem-file" || !strings.HasPrefix(pem.Body, "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("certificate download: %d %s %.40q", pem.Status, pem.ContentType, pem.Body)
	}
	mustContain(t, "certificate disposition", pem.Disposition, "attachment")
	certOf := func(pem string) string { // the base64 body of a PEM certificate
		s := strings.TrimPrefix(strings.TrimSpace(pem), "-----BEGIN CERTIFICATE-----")
		s = strings.TrimSuffix(s, "-----END CERTIFICATE-----")
		return strings.Join(strings.Fields(s), "")
	}
	if !strings.Contains(strings.Join(strings.Fields(md.Body), ""), certOf(pem.Body)) {
		t.Error("the metadata does not publish the downloaded certificate")
	}
	if n := strings.Count(md.Body, "<md:KeyDescriptor"); n != 1 {
		t.Errorf("metadata has %d key descriptors, want 1 (the active certificate)", n)
	}

	// --- a next signing certificate ---
	if n := admin.Count("#certificates tbody tr"); n != 1 {
		t.Fatalf("%d certificates, want 1", n)
	}
	admin.Click("#add-certificate")
	mustContain(t, "flash", admin.Text("[role=status]"), "A next certificate was created.")
	if n := admin.Count("#certificates tbody tr"); n != 2 {
		t.Fatalf("%d certificates after adding one, want 2", n)
	}
	mustContain(t, "certificates", admin.Text("#certificates"), "next")
	if admin.Count("#add-certificate") != 0 {
		t.Error("the page still offers to create a next certificate")
	}
	md2 := fetchLink(t, admin, "#download-metadata")
	if n := strings.Count(md2.Body, "<md:KeyDescriptor"); n != 2 {
		t.Errorf("metadata has %d key descriptors after adding the next certificate, want 2 (active and next)", n)
	}
	if got := fetchLink(t, admin, "#download-certificate"); got.Body != pem.Body {
		t.Error("the certificate download changed before the next certificate was activated")
	}

	// --- the assigned user opens the app from the portal ---
	alice := h.NewBrowser(t)
	alice.SignIn("alice", alicePassword)
	mustPath(t, alice, "/start")
	tiles := alice.Text(".tiles")
	mustContain(t, "portal tiles", tiles, "Loopback SP")
	if strings.Contains(tiles, "Heap") {
		t.Error("alice sees Heap, which is not assigned to her")
	}
	alice.Press(`.tiles a[href="/saml/apps/` + appID + `/start"]`)
	resp := sp.wait(t)
	mustContain(t, "SAMLResponse", resp, "alice@example.com")
	mustContain(t, "SAMLResponse", resp, `Destination="`+sp.URL+`"`)
	mustContain(t, "SAMLResponse", resp, "Analysts")
	alice.WaitVisible("h1")
	if got := alice.Text("h1"); got != "Signed in at the service provider" {
		t.Errorf("after SSO alice sees %q at %s", got, alice.URL())
	}

	// A user who is not assigned is refused, and the refusal is explained.
	bob := h.NewBrowser(t)
	bob.SignIn("bob", "bob's own pass phrase")
	if r := bob.Navigate("/saml/apps/" + appID + "/start"); r.Status < 400 {
		t.Errorf("bob (not assigned) got status %d", r.Status)
	}
	select {
	case v := <-sp.got:
		t.Fatalf("the ACS received a response for bob: %.60q", v)
	default:
	}

	// --- recent sign-ins on the application page ---
	admin.Navigate(appPage + "?preview=alice")
	events := admin.Text("#sso-events")
	mustContain(t, "events", events, "alice")
	mustContain(t, "events", events, "saml.sso")
	mustContain(t, "events", events, "bob")
	mustContain(t, "events: the fix for bob", events, "assign")
	admin.Screenshot("console-apps-app")

	// --- the list ---
	admin.Click(`nav[aria-label=Console] a[href="/console/apps"]`)
	if n := admin.Count("#apps tbody tr"); n != 2 {
		t.Fatalf("%d applications listed, want 2", n)
	}
	list := admin.Text("#apps")
	mustContain(t, "list", list, "Heap")
	mustContain(t, "list", list, "Loopback SP")
	mustContain(t, "list", list, sp.EntityID)
	admin.Screenshot("console-apps-list")
	admin.Click(`#apps a[href="/console/apps/` + heapID + `"]`)
	mustContain(t, "h1", admin.Text("h1"), "Heap")

	if v := admin.CSPViolations(); len(v) != 0 {
		t.Errorf("CSP violations on the console pages: %v", v)
	}
	// The 400 answers of the refused forms are logged as network errors;
	// anything else is not expected.
	for _, m := range admin.Console() {
		if m.Type != "error" && m.Type != "exception" {
			continue
		}
		if m.Source == "network" && (strings.Contains(m.Text, "status of 400") || strings.HasSuffix(m.URL, "/favicon.ico")) {
			continue
		}
		t.Errorf("console: %s (%s)", m, m.URL)
	}
}

// noOverflow fails the test when the page is wider than the viewport.
func noOverflow(t *testing.T, b *Browser, page string) {
	t.Helper()
	var w struct{ Doc, Viewport int }
	b.Eval(`({Doc: document.documentElement.scrollWidth, Viewport: window.innerWidth})`, &w)
	if w.Doc > w.Viewport {
		t.Errorf("%s: the page is %d px wide in a %d px viewport", page, w.Doc, w.Viewport)
	}
}

// TestConsoleAppsMobile: on a 390 px phone no application page scrolls
// sideways, including the preview with its XML and the sign-in events.
func TestConsoleAppsMobile(t *testing.T) {
	h := New(t, Options{})
	sp := startACS(t)
	h.CreateAdmin("root", adminPassword)
	alice := h.CreateUser("alice", alicePassword)
	ctx := context.Background()
	a, err := h.App.Apps.Create(ctx, audit.System, apps.CreateRequest{Template: apps.TemplateCustom,
		Application: apps.Application{DisplayName: "A service provider with a rather long name for a phone screen",
			EntityID: sp.EntityID, Enabled: true, ACS: []apps.ACS{{URL: sp.URL, Binding: apps.BindingPOST}},
			Attributes: []apps.Attribute{{Name: "https://aws.amazon.com/SAML/Attributes/RoleSessionName", Value: "${user:email}", NameFormat: apps.NameFormatURI}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Apps.Assign(ctx, audit.System, a.ID, apps.PrincipalUser, alice.ID); err != nil {
		t.Fatal(err)
	}
	// One sign-in event to list.
	u := h.NewBrowser(t)
	u.SignIn("alice", alicePassword)
	u.Navigate("/saml/apps/" + a.ID + "/start")
	sp.wait(t)

	h.SetViewport(390, 844, true)
	h.SignIn("root", adminPassword)
	for _, p := range []struct{ name, path string }{
		{"list", "/console/apps"},
		{"catalog", "/console/apps/new"},
		{"create form", "/console/apps/new?template=nops"},
		{"application", "/console/apps/" + a.ID},
		{"application with preview", "/console/apps/" + a.ID + "?preview=alice"},
	} {
		h.Navigate(p.path)
		noOverflow(t, h.Browser, p.name)
		if p.name == "list" {
			h.Screenshot("console-apps-mobile")
		}
	}
	h.WaitVisible("#preview-xml")
	mustContain(t, "events", h.Text("#sso-events"), "alice")
}
