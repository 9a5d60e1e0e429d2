package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
)

func TestApps(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		b := e.signedIn("root")
		getApp := func(id string) apps.Application {
			t.Helper()
			a, err := e.app.Apps.Get(ctx, audit.System, id)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}

		// the catalog, then the form
		expect(t, b.get("/console/apps/new"), http.StatusOK, `href="/console/apps/new?template=heap"`, `href="/console/apps/new?template=custom"`)
		expect(t, b.get("/console/apps/new?template=heap"), http.StatusOK, `name="template" value="heap"`, `value="Heap"`, "Set up Heap")
		expect(t, b.get("/console/apps/new?template=nothing"), http.StatusNotFound)

		// custom
		loc := expectRedirect(t, b.post("/console/apps", url.Values{"template": {"custom"}, "displayName": {"Wiki"},
			"entityId": {"https://wiki.example.com/saml"}, "acs": {"https://wiki.example.com/saml/acs\nhttps://wiki.example.com/saml/acs2\n"}}), "/console/apps/")
		wiki := idFrom(loc, "/console/apps/")
		expect(t, b.get(loc), http.StatusOK, "The application was created.", `value="Wiki"`, "/saml/apps/"+wiki+"/sso",
			"/saml/apps/"+wiki+"/start", `href="/saml/apps/`+wiki+`/metadata?download=1"`, `href="/console/apps/`+wiki+`/certificate.pem"`)
		if a := getApp(wiki); a.Template != "custom" || len(a.ACS) != 2 || !a.Enabled {
			t.Fatalf("created %+v", a)
		}

		// heap: the placeholder must be replaced
		expect(t, b.post("/console/apps", url.Values{"template": {"heap"}, "displayName": {"Heap"}}), http.StatusBadRequest,
			`id="acs-error"`, "placeholder &lt;app-id&gt;", `name="template" value="heap"`)
		loc = expectRedirect(t, b.post("/console/apps", url.Values{"template": {"heap"}, "displayName": {"Heap"},
			"acs": {"https://heapanalytics.com/saml/finalize/1234567890/"}}), "/console/apps/")
		heap := idFrom(loc, "/console/apps/")
		if a := getApp(heap); a.Template != "heap" || a.EntityID != "heapanalytics.com" || a.NameID != "${user:email}" {
			t.Fatalf("heap %+v", a)
		}

		// a bad ACS shows the field error, keeps the input and creates nothing
		expect(t, b.post("/console/apps", url.Values{"template": {"custom"}, "displayName": {"Bad"},
			"entityId": {"https://bad.example.com"}, "acs": {"http://bad.example.com/acs"}}), http.StatusBadRequest,
			`id="acs-error"`, "ACS URL 1 must use https", `value="Bad"`, "http://bad.example.com/acs")
		list, err := e.app.Apps.List(ctx, audit.System)
		if err != nil || len(list) != 2 {
			t.Fatalf("apps after a bad create: %d %v", len(list), err)
		}
		// bad metadata
		expect(t, b.post("/console/apps", url.Values{"template": {"custom"}, "displayName": {"Bad"}, "spMetadata": {"<nope"}}), http.StatusBadRequest,
			`id="sp-metadata-error"`)

		// the list
		expect(t, b.get("/console/apps"), http.StatusOK, ">Wiki<", ">Heap<", "https://wiki.example.com/saml", "heapanalytics.com", "Enabled")

		// edit the mappings
		a := getApp(wiki)
		form := func(version int64, attrs ...string) url.Values {
			v := url.Values{"version": {fmt.Sprint(version)}, "displayName": {"Wiki"}, "entityId": {a.EntityID},
				"acs": {"https://wiki.example.com/saml/acs2\nhttps://wiki.example.com/saml/acs3"}, "sessionDuration": {"2h"},
				"nameIdFormat": {"persistent"}, "nameId": {""}}
			for i := 0; i+2 < len(attrs); i += 3 {
				v.Add("attrName", attrs[i])
				v.Add("attrValue", attrs[i+1])
				v.Add("attrFormat", attrs[i+2])
			}
			return v
		}
		expectRedirect(t, b.post("/console/apps/"+wiki, form(a.Version, "email", "${user:email}", "basic", "", "", "unspecified", "groups", "${user:groups}", "uri")),
			"/console/apps/"+wiki+"?done=app-saved")
		a = getApp(wiki)
		if len(a.Attributes) != 2 || a.Attributes[1].Name != "groups" || a.Attributes[1].NameFormat != "uri" || a.NameIDFormat != "persistent" ||
			a.SessionDuration != "PT2H" || len(a.ACS) != 2 || a.ACS[0].Index != 1 || a.ACS[1].Index != 2 {
			t.Fatalf("edited %+v", a)
		}
		p := b.get("/console/apps/" + wiki)
		expect(t, p, http.StatusOK, `id="attr-name-0"`, `value="${user:groups}"`, `id="attr-name-4"`)
		// a bad expression names the variable, on its row, with the input kept
		expect(t, b.post("/console/apps/"+wiki, form(a.Version, "", "", "basic", "mail", "${user:mial}", "basic")), http.StatusBadRequest,
			`id="attr-value-1-error"`, "${user:mial}", `value="${user:mial}"`)
		expect(t, b.post("/console/apps/"+wiki, form(1, "email", "${user:email}", "basic")), http.StatusConflict, "Someone else changed")

		// enable / disable
		expectRedirect(t, b.post("/console/apps/"+wiki+"/disable", nil), "/console/apps/"+wiki+"?done=app-disabled")
		if getApp(wiki).Enabled {
			t.Fatal("still enabled")
		}
		expectRedirect(t, b.post("/console/apps/"+wiki+"/enable", nil), "/console/apps/"+wiki+"?done=app-enabled")

		// assignments
		g, err := e.app.Directory.CreateGroup(ctx, audit.System, directory.Group{DisplayName: "Readers"}, []string{"bob"})
		if err != nil {
			t.Fatal(err)
		}
		expect(t, b.post("/console/apps/"+wiki+"/assignments", url.Values{"type": {"group"}, "name": {"Nobody"}}), http.StatusBadRequest,
			`id="assign-name-error"`, "There is no group “Nobody”.", `value="Nobody"`)
		expectRedirect(t, b.post("/console/apps/"+wiki+"/assignments", url.Values{"type": {"group"}, "name": {"Readers"}}), "/console/apps/"+wiki+"?done=assigned")
		expectRedirect(t, b.post("/console/apps/"+wiki+"/assignments", url.Values{"type": {"user"}, "name": {"root"}}), "/console/apps/"+wiki+"?done=assigned")
		expect(t, b.get("/console/apps/"+wiki), http.StatusOK, ">Readers<", `action="/console/apps/`+wiki+`/assignments/group/`+g.ID+`/remove"`)
		if ok, _ := e.app.Apps.IsAssigned(ctx, wiki, e.bob.ID); !ok {
			t.Fatal("bob is not assigned through the group")
		}
		// preview
		expect(t, b.get("/console/apps/"+wiki+"?preview=bob"), http.StatusOK, `id="preview-result"`, "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent", ">groups<", "<code>Readers</code>", "no email address")
		expect(t, b.get("/console/apps/"+wiki+"?preview=bob"), http.StatusOK, `<pre id="preview-xml">`, "Response", "Assertion")
		if p := b.get("/console/apps/" + wiki); strings.Contains(p.Body, `id="preview-xml"`) {
			t.Fatal("shows a Response XML without a preview")
		}
		expect(t, b.get("/console/apps/"+wiki+"?preview=nobody"), http.StatusBadRequest, `id="preview-user-error"`)
		expectRedirect(t, b.post("/console/apps/"+wiki+"/assignments/group/"+g.ID+"/remove", nil), "/console/apps/"+wiki+"?done=unassigned")
		if ok, _ := e.app.Apps.IsAssigned(ctx, wiki, e.bob.ID); ok {
			t.Fatal("bob is still assigned")
		}

		// recent sign-ins: bob, no longer assigned, is refused; the page says why in plain words
		expect(t, b.get("/console/apps/"+wiki), http.StatusOK, "No sign-ins or sign-outs yet.")
		bob := e.signedIn("bob")
		if p := bob.get("/saml/apps/" + wiki + "/start"); p.Status != http.StatusForbidden {
			t.Fatalf("unassigned start: %d", p.Status)
		}
		expect(t, b.get("/console/apps/"+wiki), http.StatusOK, `id="sso-events"`, "saml.sso.refused", ">bob<", "refused",
			"The user is not assigned to the application", "not assigned")

		// certificates: add next, activate
		certs, _ := e.app.Apps.ListCertificates(ctx, audit.System, wiki)
		if len(certs) != 1 {
			t.Fatalf("certificates %+v", certs)
		}
		first := certs[0]
		expectRedirect(t, b.post("/console/apps/"+wiki+"/certificates", nil), "/console/apps/"+wiki+"?done=cert-added")
		certs, _ = e.app.Apps.ListCertificates(ctx, audit.System, wiki)
		var next apps.Certificate
		for _, c := range certs {
			if c.Status == apps.CertNext {
				next = c
			}
		}
		if next.ID == "" {
			t.Fatalf("no next certificate: %+v", certs)
		}
		p = b.get("/console/apps/" + wiki)
		expect(t, p, http.StatusOK, next.SHA256, `action="/console/apps/`+wiki+`/certificates/`+next.ID+`/activate"`)
		if strings.Contains(p.Body, `id="add-certificate"`) {
			t.Fatal("offers a second next certificate")
		}
		expectRedirect(t, b.post("/console/apps/"+wiki+"/certificates/"+next.ID+"/activate", nil), "/console/apps/"+wiki+"?done=cert-activated")
		if c, _ := e.app.Apps.ActiveCertificate(ctx, audit.System, wiki); c.ID != next.ID {
			t.Fatalf("active %s, want %s", c.ID, next.ID)
		}
		expectRedirect(t, b.post("/console/apps/"+wiki+"/certificates/"+first.ID+"/remove", nil), "/console/apps/"+wiki+"?done=cert-removed")

		// signing and encryption settings (an idcenter certificate stands in for the SP's)
		a = getApp(wiki)
		v := form(a.Version, "email", "${user:email}", "basic")
		v.Set("encryptAssertions", "on")
		v.Set("requireSignedRequests", "on")
		v.Set("signingMode", "assertion")
		expect(t, b.post("/console/apps/"+wiki, v), http.StatusBadRequest, `id="encrypt-assertions-error"`, `id="require-signed-requests-error"`,
			`id="encrypt-assertions" name="encryptAssertions" type="checkbox" value="on" checked`)
		v.Set("signingCertificates", first.PEM+"\n"+next.PEM)
		v.Set("encryptionCertificate", next.PEM)
		v.Set("sloUrl", "https://wiki.example.com/saml/slo")
		v.Set("sloBinding", apps.BindingPOST)
		expectRedirect(t, b.post("/console/apps/"+wiki, v), "/console/apps/"+wiki+"?done=app-saved")
		a = getApp(wiki)
		if len(a.SigningCertificates) != 2 || !a.RequireSignedRequests || a.EncryptionCertificate == "" || !a.EncryptAssertions ||
			a.SigningMode != apps.SignAssertion || a.SLOBinding != apps.BindingPOST {
			t.Fatalf("signing settings %+v", a)
		}
		expect(t, b.get("/console/apps/"+wiki), http.StatusOK, `value="assertion" selected`, `id="require-signed-requests" name="requireSignedRequests" type="checkbox" value="on" checked`,
			`value="`+apps.BindingPOST+`" selected`)
		v.Set("version", fmt.Sprint(a.Version))
		v.Set("encryptionCertificate", "not a certificate")
		v.Set("signingMode", "neither")
		expect(t, b.post("/console/apps/"+wiki, v), http.StatusBadRequest, `id="encryption-certificate-error"`, `id="signing-mode-error"`, "not a certificate")

		// downloads
		res, err := b.c.Get(e.srv.URL + "/console/apps/" + wiki + "/certificate.pem")
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, res)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/x-pem-file" || body != next.PEM ||
			!strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("certificate download: %d %v\n%s", res.StatusCode, res.Header, body)
		}
		res, err = b.c.Get(e.srv.URL + "/saml/apps/" + wiki + "/metadata?download=1")
		if err != nil {
			t.Fatal(err)
		}
		body = readAll(t, res)
		if res.StatusCode != 200 || !strings.Contains(body, "/saml/apps/"+wiki) || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("metadata download: %d %v\n%s", res.StatusCode, res.Header, body)
		}
		expect(t, b.get("/console/apps/nothing/certificate.pem"), http.StatusNotFound)
		expect(t, b.get("/console/apps/nothing"), http.StatusNotFound)

		// delete: confirm, then delete
		expect(t, b.get("/console/apps/"+wiki), http.StatusOK, `href="/console/apps/`+wiki+`/delete"`)
		expect(t, b.get("/console/apps/"+wiki+"/delete"), http.StatusOK, "Delete application “Wiki”?", `action="/console/apps/`+wiki+`/delete"`, `name="csrf"`)
		expectRedirect(t, b.post("/console/apps/"+wiki+"/delete", nil), "/console/apps?done=app-deleted")
		expect(t, b.get("/console/apps/"+wiki), http.StatusNotFound)
		expect(t, b.get("/console/apps/nothing/delete"), http.StatusNotFound)
		expect(t, b.post("/console/apps/nothing/delete", nil), http.StatusNotFound)
	})
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return sb.String()
}
