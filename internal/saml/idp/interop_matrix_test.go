package idp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/saml"
	"github.com/idcenter/idcenter/internal/testenv"
)

// The interoperability matrix of issue 4: python3-saml ("onelogin") and
// pysaml2 as real SPs on loopback (testenv.StartPythonSP), one application
// and one SP per peer, driven by a browser-less client that follows
// redirects, signs in through /signin/password and auto-posts SAML forms.
// Every SAMLResponse our IdP posts is then checked with `xmlsec1 --verify`
// against the certificate of the application's published metadata.
//
// The SP's configuration can only be switched on (PySP.Configure drops
// false values), so the cases run in order: plain → persistent → transient
// → unsigned request refused → signed requests → encrypted assertions.

// matrixGroups are alice's groups; ${user:groups} must carry them all
// (one with XML special characters, to prove escaping round-trips).
var matrixGroups = []string{"engineering", "ops", "R&D <lab>"}

// flowResult is what one browser-less flow observed.
type flowResult struct {
	final        page
	finalURL     string
	request      *saml.AuthnRequest // the AuthnRequest the SP sent (SP-initiated), parsed
	samlResponse []byte             // the Response the IdP posted, decoded
	postedToSP   bool
}

// mbrowser is a cookie-jar client that follows a SAML flow to its end.
type mbrowser struct {
	c    *http.Client
	user string
	idp  string // IdP base URL
}

func newMBrowser(idpBase, user string) *mbrowser {
	jar, _ := cookiejar.New(nil)
	return &mbrowser{idp: idpBase, user: user, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport:     &http.Transport{Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *mbrowser) do(t *testing.T, method, u string, form url.Values) page {
	t.Helper()
	return b.doSite(t, method, u, form, "")
}

// doSite is do with the Sec-Fetch-Site header a browser would send (none
// when site is "").
func (b *mbrowser) doSite(t *testing.T, method, u string, form url.Values, site string) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if site != "" {
		req.Header.Set("Sec-Fetch-Site", site)
	}
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return page{res.StatusCode, res.Header, string(data)}
}

var (
	mFormRE  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	mInputRE = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	mAttrRE  = regexp.MustCompile(`(?is)([a-z_:-]+)\s*=\s*("([^"]*)"|'([^']*)')`)
)

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range mAttrRE.FindAllStringSubmatch(s, -1) {
		v := a[3]
		if strings.HasPrefix(a[2], "'") {
			v = a[4]
		}
		m[strings.ToLower(a[1])] = html.UnescapeString(v)
	}
	return m
}

// samlForm finds a form carrying SAMLRequest or SAMLResponse.
func samlForm(body string) (action string, v url.Values, ok bool) {
	for _, f := range mFormRE.FindAllStringSubmatch(body, -1) {
		v = url.Values{}
		for _, in := range mInputRE.FindAllStringSubmatch(f[2], -1) {
			a := attrs(in[1])
			if a["name"] != "" {
				v.Set(a["name"], a["value"])
			}
		}
		if v.Has("SAMLRequest") || v.Has("SAMLResponse") {
			return attrs(f[1])["action"], v, true
		}
	}
	return "", nil, false
}

// postedRoot is the local name of the root element of a POST-binding
// message (base64 XML).
func postedRoot(t *testing.T, b64 string) string {
	t.Helper()
	x, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("posted SAML message: %v", err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(x); err != nil || doc.Root() == nil {
		t.Fatalf("posted SAML message: %v\n%s", err, x)
	}
	return doc.Root().Tag
}

// fetchSite is the Sec-Fetch-Site a browser sends for a navigation that
// the page at initiator started, through the URLs of chain (redirects
// included): none when the user started it (initiator ""), else the least
// trusted relation between the initiator and any URL of the chain. Ports
// do not count for "site", so two loopback servers are same-site.
func fetchSite(initiator string, chain []string) string {
	if initiator == "" {
		return "none"
	}
	from, _ := url.Parse(initiator)
	site := "same-origin"
	for _, c := range chain {
		to, _ := url.Parse(c)
		switch {
		case from.Scheme == to.Scheme && from.Host == to.Host:
		case from.Scheme == to.Scheme && from.Hostname() == to.Hostname():
			site = "same-site"
		default:
			return "cross-site"
		}
	}
	return site
}

// flow starts at start (GET, as typed in the address bar) and follows
// redirects, the sign-in page and SAML auto-post forms until a page that is
// none of these, sending the Sec-Fetch-Site a browser would.
func (b *mbrowser) flow(t *testing.T, start string) flowResult {
	t.Helper()
	return b.navigate(t, "", "GET", start, nil)
}

// navigate is flow for a navigation that the page at initiator started
// (a form's POST when form is not nil). With no user (b.user ""), the
// sign-in page ends the flow.
func (b *mbrowser) navigate(t *testing.T, initiator, method, start string, form url.Values) flowResult {
	t.Helper()
	var r flowResult
	if form == nil {
		method = "GET"
	}
	cur := start
	var chain []string // this navigation's URLs so far (redirects)
	for step := 0; step < 20; step++ {
		u, err := url.Parse(cur)
		if err != nil {
			t.Fatal(err)
		}
		here := cur
		chain = append(chain, cur)
		if method == "GET" && strings.HasSuffix(u.Path, "/sso") && u.Query().Has("SAMLRequest") {
			req, err := saml.ParseAuthnRequestRedirect(u.RawQuery)
			if err != nil {
				t.Fatalf("AuthnRequest from the SP: %v", err)
			}
			r.request = req
		}
		pg := b.doSite(t, method, cur, form, fetchSite(initiator, chain))
		r.final, r.finalURL = pg, cur
		switch {
		case pg.status >= 300 && pg.status < 400:
			loc, err := u.Parse(pg.header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			method, cur, form = "GET", loc.String(), nil
			continue // the same navigation
		case pg.status == 200 && strings.HasPrefix(cur, b.idp+"/signin?") && b.user != "":
			m := csrfRE.FindStringSubmatch(pg.body)
			if m == nil {
				t.Fatalf("sign-in page without csrf: %s", pg.body)
			}
			method, cur = "POST", b.idp+"/signin/password"
			form = url.Values{"csrf": {html.UnescapeString(m[1])}, "username": {b.user}, "password": {password},
				"return_to": {u.Query().Get("return_to")}}
		default:
			action, v, ok := samlForm(pg.body)
			if pg.status != 200 || !ok {
				return r
			}
			switch {
			case v.Has("SAMLRequest") && postedRoot(t, v.Get("SAMLRequest")) == "AuthnRequest":
				req, err := saml.ParseAuthnRequestPOST(v.Get("SAMLRequest"), v.Get("RelayState"))
				if err != nil {
					t.Fatalf("POST AuthnRequest from the SP: %v", err)
				}
				r.request = req
			case v.Has("SAMLResponse") && postedRoot(t, v.Get("SAMLResponse")) == "Response":
				x, err := base64.StdEncoding.DecodeString(v.Get("SAMLResponse"))
				if err != nil {
					t.Fatalf("SAMLResponse: %v", err)
				}
				r.samlResponse, r.postedToSP = x, true
			} // logout messages are posted on as they are
			if a, err := u.Parse(action); err == nil {
				action = a.String()
			}
			method, cur, form = "POST", action, v
		}
		// A form on the page at here starts the next navigation.
		initiator, chain = here, nil
	}
	t.Fatalf("flow from %s did not end after 20 steps (at %s)", start, cur)
	return r
}

type peerCase struct {
	name string
	resp []byte
}

func TestInteropMatrix(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	for _, g := range matrixGroups {
		if _, err := e.a.Directory.CreateGroup(ctx, audit.System, directory.Group{DisplayName: g}, []string{"alice"}); err != nil {
			t.Fatal(err)
		}
	}
	alice, err := e.a.Directory.GetUser(ctx, audit.System, "alice")
	if err != nil {
		t.Fatal(err)
	}
	spKey, spCert := testenv.GenerateSPKeyPair(t, "interop sp")
	persistentIDs := map[string]string{}
	for _, kind := range []string{testenv.PySPOneLogin, testenv.PySPPySAML2} {
		t.Run(kind, func(t *testing.T) {
			if id := interopPeer(t, e, kind, alice.ID, spKey, spCert); id != "" {
				persistentIDs[kind] = id
			}
		})
	}
	if a, b := persistentIDs[testenv.PySPOneLogin], persistentIDs[testenv.PySPPySAML2]; a != "" && b != "" && a == b {
		t.Errorf("the same persistent Name ID %q for alice at two applications", a)
	}
}

// interopPeer runs the matrix against one SP kind and returns alice's
// persistent Name ID at its application.
func interopPeer(t *testing.T, e *env, kind, aliceID, spKey, spCert string) (persistentID string) {
	ctx := context.Background()
	port := testenv.FreeLoopbackPort(t)
	spBase := fmt.Sprintf("http://127.0.0.1:%d", port)
	ap, err := e.a.Apps.Create(ctx, audit.System, apps.CreateRequest{Application: apps.Application{
		DisplayName: "Interop " + kind, EntityID: spBase + "/metadata", Enabled: true,
		ACS:          []apps.ACS{{URL: spBase + "/acs", Binding: apps.BindingPOST, Default: true}},
		NameIDFormat: apps.NameIDEmail, NameID: "${user:email}", DefaultRelayState: "idp-relay",
		Attributes: []apps.Attribute{
			{Name: "email", Value: "${user:email}", NameFormat: apps.NameFormatBasic},
			{Name: "firstName", Value: "${user:givenName}", NameFormat: apps.NameFormatBasic},
			{Name: "groups", Value: "${user:groups}", NameFormat: apps.NameFormatBasic},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Access through a group assignment.
	if _, err := e.a.Apps.Assign(ctx, audit.System, ap.ID, apps.PrincipalGroup, "engineering"); err != nil {
		t.Fatal(err)
	}
	update := func(t *testing.T, mutate func(*apps.Application)) {
		t.Helper()
		if _, err := e.a.Apps.Update(ctx, audit.System, ap.ID, 0, func(a *apps.Application) error { mutate(a); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	mdURL := e.srv.URL + "/saml/apps/" + ap.ID + "/metadata"
	md := newMBrowser(e.srv.URL, "").do(t, "GET", mdURL, nil)
	if md.status != 200 {
		t.Fatalf("metadata: %d %s", md.status, md.body)
	}
	sp := testenv.StartPythonSP(t, kind, testenv.PySPConfig{
		Port: port, IdPMetadataXML: md.body, SPKeyPEM: spKey, SPCertPEM: spCert,
		WantAssertionsSigned: true, WantMessagesSigned: true, NameIDFormat: saml.NameIDFormatEmailAddress,
	})
	if sp.EntityID() != ap.EntityID || sp.ACSURL() != ap.ACS[0].URL {
		t.Fatalf("SP %s %s, application %s %+v", sp.EntityID(), sp.ACSURL(), ap.EntityID, ap.ACS)
	}

	var responses []peerCase
	// run drives one flow and checks what the SP's /result reports.
	run := func(t *testing.T, b *mbrowser, start, wantRelay string, spInitiated bool) testenv.PySPResult {
		t.Helper()
		fr := b.flow(t, start)
		if !fr.postedToSP {
			t.Fatalf("no SAMLResponse reached the SP; ended at %s with %d: %.2000s", fr.finalURL, fr.final.status, fr.final.body)
		}
		responses = append(responses, peerCase{t.Name(), fr.samlResponse})
		r := sp.Result(t)
		if !r.OK {
			t.Fatalf("%s refused the response: %s %v\n%s", kind, r.Error, r.Errors, fr.samlResponse)
		}
		if spInitiated {
			if fr.request == nil || r.InResponseTo != fr.request.ID {
				t.Errorf("InResponseTo %q, request %+v", r.InResponseTo, fr.request)
			}
		} else if r.InResponseTo != "" {
			t.Errorf("IdP-initiated InResponseTo %q", r.InResponseTo)
		}
		if r.RelayState != wantRelay {
			t.Errorf("RelayState %q, want %q", r.RelayState, wantRelay)
		}
		if r.SessionIndex == "" {
			t.Errorf("no SessionIndex")
		}
		checkAttrs(t, r.Attributes)
		return r
	}
	checkEmail := func(t *testing.T, r testenv.PySPResult) {
		t.Helper()
		if r.NameID != "alice@example.com" || r.NameIDFormat != saml.NameIDFormatEmailAddress {
			t.Errorf("Name ID %q format %q", r.NameID, r.NameIDFormat)
		}
	}
	startURL := e.srv.URL + "/saml/apps/" + ap.ID + "/start"

	t.Run("sp-initiated-redirect", func(t *testing.T) {
		r := run(t, newMBrowser(e.srv.URL, "alice"), sp.LoginURL("redirect", "relay-r"), "relay-r", true)
		checkEmail(t, r)
	})
	t.Run("sp-initiated-post", func(t *testing.T) {
		r := run(t, newMBrowser(e.srv.URL, "alice"), sp.LoginURL("post", "relay-p"), "relay-p", true)
		checkEmail(t, r)
	})
	t.Run("idp-initiated", func(t *testing.T) {
		r := run(t, newMBrowser(e.srv.URL, "alice"), startURL, "idp-relay", false)
		checkEmail(t, r)
	})

	t.Run("persistent", func(t *testing.T) {
		update(t, func(a *apps.Application) { a.NameIDFormat, a.NameID = apps.NameIDPersistent, "${user:subject}" })
		sp.Configure(t, testenv.PySPConfig{NameIDFormat: saml.NameIDFormatPersistent})
		r1 := run(t, newMBrowser(e.srv.URL, "alice"), sp.LoginURL("redirect", "p1"), "p1", true)
		r2 := run(t, newMBrowser(e.srv.URL, "alice"), startURL, "idp-relay", false)
		for _, r := range []testenv.PySPResult{r1, r2} {
			if r.NameIDFormat != saml.NameIDFormatPersistent || r.NameID == "" || strings.Contains(r.NameID, "alice") {
				t.Errorf("persistent Name ID %q format %q", r.NameID, r.NameIDFormat)
			}
		}
		if r1.NameID != r2.NameID {
			t.Errorf("persistent Name ID changed between sign-ins: %q, %q", r1.NameID, r2.NameID)
		}
		if other := e.a.Apps.PersistentNameID(e.appID, aliceID); other == r1.NameID {
			t.Errorf("persistent Name ID %q is the same at another application", other)
		}
		persistentID = r1.NameID
	})
	t.Run("transient", func(t *testing.T) {
		update(t, func(a *apps.Application) { a.NameIDFormat, a.NameID = apps.NameIDTransient, "" })
		sp.Configure(t, testenv.PySPConfig{NameIDFormat: saml.NameIDFormatTransient})
		b := newMBrowser(e.srv.URL, "alice") // one session: still a new ID each time
		r1 := run(t, b, sp.LoginURL("redirect", "t1"), "t1", true)
		r2 := run(t, b, sp.LoginURL("post", "t2"), "t2", true)
		for _, r := range []testenv.PySPResult{r1, r2} {
			if r.NameIDFormat != saml.NameIDFormatTransient || r.NameID == "" {
				t.Errorf("transient Name ID %q format %q", r.NameID, r.NameIDFormat)
			}
		}
		if r1.NameID == r2.NameID {
			t.Errorf("transient Name ID repeated: %q", r1.NameID)
		}
	})

	t.Run("unsigned-request-refused", func(t *testing.T) {
		update(t, func(a *apps.Application) {
			a.NameIDFormat, a.NameID = apps.NameIDEmail, "${user:email}"
			a.SigningCertificates, a.RequireSignedRequests = []string{spCert}, true
		})
		sp.Configure(t, testenv.PySPConfig{NameIDFormat: saml.NameIDFormatEmailAddress})
		before := sp.Result(t)
		for _, binding := range []string{"redirect", "post"} {
			fr := newMBrowser(e.srv.URL, "alice").flow(t, sp.LoginURL(binding, "u"))
			if fr.postedToSP || fr.final.status != http.StatusBadRequest || !strings.HasPrefix(fr.finalURL, e.srv.URL) {
				t.Errorf("%s: unsigned request not refused: posted %v, %d at %s", binding, fr.postedToSP, fr.final.status, fr.finalURL)
			}
			if fr.request == nil || fr.request.Signed {
				t.Errorf("%s: expected an unsigned request, got %+v", binding, fr.request)
			}
		}
		if after := sp.Result(t); after.InResponseTo != before.InResponseTo || after.NameID != before.NameID {
			t.Errorf("the SP received something: %+v", after)
		}
	})
	t.Run("signed-requests", func(t *testing.T) {
		sp.Configure(t, testenv.PySPConfig{SignAuthnRequests: true})
		for _, binding := range []string{"redirect", "post"} {
			b := newMBrowser(e.srv.URL, "alice")
			fr := b.flow(t, sp.LoginURL(binding, "s-"+binding))
			if fr.request == nil || !fr.request.Signed {
				t.Fatalf("%s: the SP did not sign its request: %+v", binding, fr.request)
			}
			if !fr.postedToSP {
				t.Fatalf("%s: signed request refused: %d %.1000s", binding, fr.final.status, fr.final.body)
			}
			responses = append(responses, peerCase{t.Name() + "/" + binding, fr.samlResponse})
			r := sp.Result(t)
			if !r.OK || r.InResponseTo != fr.request.ID || r.RelayState != "s-"+binding {
				t.Errorf("%s: %+v", binding, r)
			}
			checkEmail(t, r)
			checkAttrs(t, r.Attributes)
		}
	})
	t.Run("encrypted", func(t *testing.T) {
		update(t, func(a *apps.Application) { a.EncryptAssertions, a.EncryptionCertificate = true, spCert })
		sp.Configure(t, testenv.PySPConfig{WantAssertionsEncrypted: true})
		for _, start := range []string{sp.LoginURL("redirect", "e1"), startURL} {
			b := newMBrowser(e.srv.URL, "alice")
			relay, spInit := "e1", true
			if start == startURL {
				relay, spInit = "idp-relay", false
			}
			r := run(t, b, start, relay, spInit)
			checkEmail(t, r)
			last := responses[len(responses)-1].resp
			if !bytes.Contains(last, []byte("EncryptedAssertion")) || bytes.Contains(last, []byte("<saml:Assertion")) {
				t.Errorf("response is not encrypted:\n%s", last)
			}
			if !bytes.Contains(last, []byte("http://www.w3.org/2009/xmlenc11#aes256-gcm")) {
				t.Errorf("not AES-256-GCM:\n%s", last)
			}
		}
	})

	t.Run("xmlsec1", func(t *testing.T) {
		if len(responses) == 0 {
			t.Skip("no responses captured")
		}
		xmlsecVerifyAll(t, md.body, spKey, spCert, responses)
	})
	return persistentID
}

func checkAttrs(t *testing.T, got map[string][]string) {
	t.Helper()
	if !slices.Equal(got["email"], []string{"alice@example.com"}) || !slices.Equal(got["firstName"], []string{"Alice"}) {
		t.Errorf("attributes %v", got)
	}
	g := slices.Clone(got["groups"])
	slices.Sort(g)
	want := slices.Clone(matrixGroups)
	slices.Sort(want)
	if !slices.Equal(g, want) {
		t.Errorf("groups %q, want %q (every value)", got["groups"], want)
	}
}

var (
	mdCertRE = regexp.MustCompile(`(?s)<(?:ds:)?X509Certificate>([^<]+)</(?:ds:)?X509Certificate>`)
)

// xmlsecVerifyAll checks, with xmlsec1 and only the certificate published
// in the IdP metadata, the Response signature and the Assertion signature
// of every captured response (decrypting encrypted assertions with the SP
// key first), and that a tampered response fails.
func xmlsecVerifyAll(t *testing.T, metadata, spKeyPEM, spCertPEM string, responses []peerCase) {
	xmlsec, err := exec.LookPath("xmlsec1")
	if err != nil {
		testenv.SkipOrFail(t, "xmlsec1 not found (apt-get install xmlsec1)")
	}
	m := mdCertRE.FindStringSubmatch(metadata)
	if m == nil {
		t.Fatalf("no X509Certificate in metadata:\n%s", metadata)
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(m[1]), ""))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath := filepath.Join(dir, "idp.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	otherCert := filepath.Join(dir, "other.pem") // any other certificate
	if err := os.WriteFile(otherCert, []byte(spCertPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "sp.key")
	if err := os.WriteFile(keyPath, []byte(spKeyPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	const (
		respID   = "urn:oasis:names:tc:SAML:2.0:protocol:Response"
		assertID = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"
		respSig  = "/*[local-name()='Response']/*[local-name()='Signature']"
		assetSig = "//*[local-name()='Assertion']/*[local-name()='Signature']"
	)
	verifyWith := func(cert, file, xpath string) (string, error) {
		out, err := exec.Command(xmlsec, "--verify", "--pubkey-cert-pem", cert,
			"--id-attr:ID", respID, "--id-attr:ID", assertID,
			"--node-xpath", xpath, file).CombinedOutput()
		return string(out), err
	}
	verify := func(file, xpath string) (string, error) { return verifyWith(certPath, file, xpath) }
	for i, c := range responses {
		file := filepath.Join(dir, fmt.Sprintf("resp%d.xml", i))
		if err := os.WriteFile(file, c.resp, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := verify(file, respSig); err != nil {
			t.Errorf("%s: Response signature: %v\n%s", c.name, err, out)
		}
		assertionFile := file
		if bytes.Contains(c.resp, []byte("EncryptedAssertion")) {
			assertionFile = filepath.Join(dir, fmt.Sprintf("resp%d.dec.xml", i))
			out, err := exec.Command(xmlsec, "--decrypt", "--privkey-pem", keyPath, "--output", assertionFile, file).CombinedOutput()
			if err != nil {
				t.Errorf("%s: xmlsec1 --decrypt: %v\n%s", c.name, err, out)
				continue
			}
		}
		if out, err := verify(assertionFile, assetSig); err != nil {
			t.Errorf("%s: Assertion signature: %v\n%s", c.name, err, out)
		}
	}
	// A tampered copy, or the right copy against another certificate,
	// must fail: the check is not vacuous, and xmlsec1 does not fall back
	// to the certificate inside the signature's KeyInfo.
	var plain []byte
	for _, c := range responses {
		if !bytes.Contains(c.resp, []byte("EncryptedAssertion")) {
			plain = c.resp
			break
		}
	}
	if plain == nil {
		return
	}
	bad := bytes.Replace(plain, []byte(">alice@example.com<"), []byte(">mallory@example.com<"), 1)
	if bytes.Equal(bad, plain) {
		t.Fatal("tamper replacement did not apply")
	}
	good := filepath.Join(dir, "good.xml")
	_ = os.WriteFile(good, plain, 0o600)
	for _, xp := range []string{respSig, assetSig} {
		if out, err := verifyWith(otherCert, good, xp); err == nil {
			t.Errorf("xmlsec1 verified %s with a certificate that is not the IdP's:\n%s", xp, out)
		}
	}
	file := filepath.Join(dir, "tampered.xml")
	_ = os.WriteFile(file, bad, 0o600)
	for _, xp := range []string{respSig, assetSig} {
		if out, err := verify(file, xp); err == nil {
			t.Errorf("xmlsec1 accepted a tampered response (%s):\n%s", xp, out)
		}
	}
}
