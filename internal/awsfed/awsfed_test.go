package awsfed_test

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idcenter/idcenter/internal/app"
	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/config"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/saml"
	"github.com/idcenter/idcenter/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	password = "correct horse battery"
	prodID   = "111111111111"
	devID    = "222222222222"
	relay    = "https://console.aws.amazon.com/ec2/home?region=eu-west-1"
)

// env is a running idcenter with two AWS accounts, two permission sets,
// alice holding three roles (two through the Developers group), bob none,
// the instance's AWS application, and a fake STS that trusts its metadata
// in both accounts.
type env struct {
	t      *testing.T
	a      *app.App
	srv    *httptest.Server
	sts    *testenv.FakeSTS
	alice  directory.User
	bob    directory.User
	awsApp apps.Application
	// metadata is the AWS application's signed IdP metadata.
	metadata []byte
}

func forEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newEnv(t, "")) })
	t.Run("postgres", func(t *testing.T) { fn(t, newEnv(t, testenv.PostgresDSN(t))) })
}

func newEnv(t *testing.T, database string) *env {
	t.Helper()
	e := &env{t: t, sts: testenv.StartFakeSTS(t)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Database = database
	cfg.BaseURL = "http://" + ln.Addr().String()
	cfg.Auth.MFA.Mode = "never"
	cfg.Auth.MFA.AdminsExempt = true
	cfg.Auth.Argon2MemoryKiB = 8 * 1024
	cfg.Auth.Argon2Iterations = 1
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	e.a = a
	e.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: a.Handler()}}
	e.srv.Start()
	t.Cleanup(func() { e.srv.Close(); a.Close() })

	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	e.alice, err = a.Directory.CreateUser(ctx, audit.System, directory.User{UserName: "alice", Active: true,
		Name:       directory.Name{GivenName: "Alice", FamilyName: "Smith"},
		Emails:     []directory.MultiValue{{Value: "alice@example.com", Primary: true}},
		Enterprise: directory.Enterprise{Department: "Engineering"}})
	must(err)
	must(a.Directory.SetPassword(ctx, audit.System, "alice", password))
	e.bob, err = a.Directory.CreateUser(ctx, audit.System, directory.User{UserName: "bob", Active: true}) // no email
	must(err)
	_, err = a.Directory.CreateGroup(ctx, audit.System, directory.Group{DisplayName: "Developers"}, []string{e.alice.ID, e.bob.ID})
	must(err)

	for _, acct := range []cloud.Account{
		{ID: prodID, Name: "prod", STSEndpoint: e.sts.URL, DefaultRegion: "eu-west-1"},
		{ID: devID, Name: "dev", STSEndpoint: e.sts.URL},
	} {
		_, err := a.Cloud.CreateAccount(ctx, audit.System, acct)
		must(err)
	}
	_, err = a.Cloud.CreatePermissionSet(ctx, audit.System, cloud.PermissionSet{Name: "ReadOnly", SessionDuration: "PT4H", RelayState: relay,
		ManagedPolicies: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}})
	must(err)
	_, err = a.Cloud.CreatePermissionSet(ctx, audit.System, cloud.PermissionSet{Name: "Admin", SessionDuration: "PT2H",
		ManagedPolicies: []string{"arn:aws:iam::aws:policy/AdministratorAccess"}})
	must(err)
	// alice: prod/ReadOnly and dev/ReadOnly through Developers (bob is a
	// member too, but has no email), prod/Admin directly.
	for _, r := range []cloud.AssignRequest{
		{Account: "prod", PermissionSet: "ReadOnly", PrincipalType: cloud.PrincipalGroup, Principal: "Developers"},
		{Account: "dev", PermissionSet: "ReadOnly", PrincipalType: cloud.PrincipalGroup, Principal: "Developers"},
		{Account: "prod", PermissionSet: "Admin", PrincipalType: cloud.PrincipalUser, Principal: "alice"},
	} {
		_, err := a.Cloud.Assign(ctx, audit.System, r)
		must(err)
	}

	acct, err := a.Cloud.GetAccount(ctx, audit.System, prodID)
	must(err)
	e.awsApp, err = a.Federation.AWSApplication(ctx, acct) // created on first need
	must(err)
	e.metadata = e.appMetadata(e.awsApp)
	for _, id := range []string{prodID, devID} {
		must(e.sts.Register(testenv.FakeSTSProvider{AccountID: id, Name: cloud.DefaultSAMLProvider, Metadata: e.metadata}))
	}
	return e
}

func (e *env) appMetadata(app apps.Application) []byte {
	e.t.Helper()
	pub, err := e.a.Apps.PublishedCertificates(context.Background(), app.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	md, err := saml.AppIdPMetadata(e.a.Config.PublicURL(), app, pub)
	if err != nil {
		e.t.Fatal(err)
	}
	return md
}

// role returns the role user holds of a permission set in an account.
func (e *env) role(user directory.User, account, ps string) cloud.Role {
	e.t.Helper()
	roles, err := e.a.Cloud.RolesFor(context.Background(), user.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range roles {
		if r.Account.ID == account && r.PermissionSet.Name == ps {
			return r
		}
	}
	e.t.Fatalf("%s holds no %s in %s: %+v", user.UserName, ps, account, roles)
	return cloud.Role{}
}

func TestAWSApplication(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if e.awsApp.DisplayName != "AWS accounts" || e.awsApp.Template != apps.TemplateAWSAccount || e.awsApp.EntityID != "urn:amazon:webservices" {
			t.Fatalf("created AWS application: %+v", e.awsApp)
		}
		// The same application is found again, for every account without AppID.
		for _, id := range []string{prodID, devID} {
			acct, _ := e.a.Cloud.GetAccount(ctx, audit.System, id)
			got, err := e.a.Federation.AWSApplication(ctx, acct)
			if err != nil || got.ID != e.awsApp.ID {
				t.Fatalf("%s: %v %v, want %s", id, got.ID, err, e.awsApp.ID)
			}
		}
		// An account naming another application uses that one.
		other, err := e.a.Apps.Create(ctx, audit.System, apps.CreateRequest{Template: apps.TemplateAWSAccount,
			Application: apps.Application{DisplayName: "AWS GovCloud", EntityID: "urn:amazon:webservices:govcloud", Enabled: true}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.a.Federation.AWSApplication(ctx, cloud.Account{ID: prodID, AppID: other.ID})
		if err != nil || got.ID != other.ID {
			t.Fatalf("AppID: %v %v", got.ID, err)
		}
		// The instance's application stays the first by creation.
		acct, _ := e.a.Cloud.GetAccount(ctx, audit.System, prodID)
		if got, _ := e.a.Federation.AWSApplication(ctx, acct); got.ID != e.awsApp.ID {
			t.Fatalf("instance application changed to %s", got.DisplayName)
		}
		var n int
		list, _ := e.a.Apps.List(ctx, audit.System)
		for _, a := range list {
			if a.DisplayName == "AWS accounts" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d AWS applications created", n)
		}
	})
}

// --- golden assertions ---

var (
	idRE        = regexp.MustCompile(`_[0-9a-f]{40}`)
	sigValueRE  = regexp.MustCompile(`(?s)(<ds:SignatureValue>).*?(</ds:SignatureValue>)`)
	digestRE    = regexp.MustCompile(`(?s)(<ds:DigestValue>).*?(</ds:DigestValue>)`)
	certRE      = regexp.MustCompile(`(?s)(<ds:X509Certificate>).*?(</ds:X509Certificate>)`)
	nameIDRE    = regexp.MustCompile(`(<saml:NameID [^>]*>)[^<]*(</saml:NameID>)`)
	authnInstRE = regexp.MustCompile(`AuthnInstant="[^"]*" SessionIndex="[^"]*"`)
)

// normalize replaces what differs between runs by placeholders: the base
// URL, the application id, random IDs (numbered in order), signature and
// digest values, the certificate, the pairwise Name ID and, for SSO, the
// browser session's AuthnInstant and SessionIndex.
func (e *env) normalize(xml []byte, sso bool) []byte {
	s := string(xml)
	s = strings.ReplaceAll(s, e.a.Config.PublicURL(), "https://idcenter.test")
	s = strings.ReplaceAll(s, e.awsApp.ID, "AWS-APP-ID")
	ids := map[string]string{}
	s = idRE.ReplaceAllStringFunc(s, func(id string) string {
		if _, ok := ids[id]; !ok {
			ids[id] = "_ID" + string(rune('0'+len(ids)))
		}
		return ids[id]
	})
	s = sigValueRE.ReplaceAllString(s, "${1}SIGNATURE${2}")
	s = digestRE.ReplaceAllString(s, "${1}DIGEST${2}")
	s = certRE.ReplaceAllString(s, "${1}CERTIFICATE${2}")
	s = nameIDRE.ReplaceAllString(s, "${1}PAIRWISE${2}")
	if sso {
		s = authnInstRE.ReplaceAllString(s, `AuthnInstant="SESSION" SessionIndex="SESSION"`)
	}
	return []byte(strings.ReplaceAll(s, "><", ">\n<"))
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got); run go test -update if intended:\n%s", path, diff)
	}
}

var mdCertRE = regexp.MustCompile(`(?s)<(?:ds:)?X509Certificate>([^<]+)</(?:ds:)?X509Certificate>`)

// xmlsecVerify checks the Response and Assertion signatures with xmlsec1
// and only the certificate published in metadata, and that a tampered copy
// fails.
func xmlsecVerify(t *testing.T, metadata, resp []byte) {
	t.Helper()
	xmlsec, err := exec.LookPath("xmlsec1")
	if err != nil {
		testenv.SkipOrFail(t, "xmlsec1 not found (apt-get install xmlsec1)")
	}
	m := mdCertRE.FindSubmatch(metadata)
	if m == nil {
		t.Fatalf("no certificate in metadata")
	}
	dir := t.TempDir()
	cert := filepath.Join(dir, "idp.pem")
	b64 := strings.Join(strings.Fields(string(m[1])), "")
	var pemText strings.Builder
	pemText.WriteString("-----BEGIN CERTIFICATE-----\n")
	for len(b64) > 64 {
		pemText.WriteString(b64[:64] + "\n")
		b64 = b64[64:]
	}
	pemText.WriteString(b64 + "\n-----END CERTIFICATE-----\n")
	if err := os.WriteFile(cert, []byte(pemText.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	verify := func(doc []byte, xpath string) (string, error) {
		file := filepath.Join(dir, "resp.xml")
		if err := os.WriteFile(file, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(xmlsec, "--verify", "--pubkey-cert-pem", cert,
			"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response",
			"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
			"--node-xpath", xpath, file).CombinedOutput()
		return string(out), err
	}
	const (
		respSig   = "/*[local-name()='Response']/*[local-name()='Signature']"
		assertSig = "//*[local-name()='Assertion']/*[local-name()='Signature']"
	)
	for _, xp := range []string{respSig, assertSig} {
		if out, err := verify(resp, xp); err != nil {
			t.Errorf("xmlsec1 %s: %v\n%s", xp, err, out)
		}
	}
	bad := []byte(strings.Replace(string(resp), "arn:aws:iam::"+prodID+":role/", "arn:aws:iam::"+prodID+":role/x", 1))
	if string(bad) == string(resp) {
		t.Fatal("tamper replacement did not apply")
	}
	for _, xp := range []string{respSig, assertSig} {
		if out, err := verify(bad, xp); err == nil {
			t.Errorf("xmlsec1 accepted a tampered response (%s):\n%s", xp, out)
		}
	}
}

func TestConsoleSignInGolden(t *testing.T) {
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name, account, ps, golden string
		tags                      bool
	}{
		{"one role", prodID, "ReadOnly", "console-one-role.xml", false},
		{"session duration", prodID, "Admin", "console-session-duration.xml", false},
		{"principal tags", prodID, "ReadOnly", "console-principal-tags.xml", true},
	}
	forEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.a.Federation.Now = func() time.Time { return fixed }
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if c.tags {
					_, err := e.a.Apps.Update(ctx, audit.System, e.awsApp.ID, 0, func(a *apps.Application) error {
						a.Attributes = append(a.Attributes,
							apps.Attribute{Name: apps.AWSPrincipalTagPrefix + "Department", Value: "${path:enterprise.department}", NameFormat: apps.NameFormatURI},
							apps.Attribute{Name: apps.AWSSourceIdentityAttribute, Value: "${user:preferredUsername}", NameFormat: apps.NameFormatURI})
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
				}
				si, err := e.a.Federation.ConsoleSignIn(ctx, e.alice.ID, e.role(e.alice, c.account, c.ps))
				if err != nil {
					t.Fatal(err)
				}
				if si.URL != cloud.DefaultSignInURL {
					t.Errorf("URL %q", si.URL)
				}
				wantRelay := ""
				if c.ps == "ReadOnly" {
					wantRelay = relay
				}
				if si.RelayState != wantRelay {
					t.Errorf("RelayState %q, want %q", si.RelayState, wantRelay)
				}
				xml, err := base64.StdEncoding.DecodeString(si.SAMLResponse)
				if err != nil {
					t.Fatal(err)
				}
				want := e.a.Apps.PersistentNameID(e.awsApp.ID, e.alice.ID)
				if !strings.Contains(string(xml), ">"+want+"</saml:NameID>") {
					t.Errorf("Name ID is not the pairwise %s", want)
				}
				golden(t, c.golden, e.normalize(xml, false))
				xmlsecVerify(t, e.metadata, xml)
			})
		}
	})
}

// TestSSOAllRoles signs alice in to the AWS application from its portal
// tile (IdP-initiated): the assertion carries every role she holds in the
// accounts linked to it, and the shortest session duration.
func TestSSOAllRoles(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if _, err := e.a.Apps.Assign(ctx, audit.System, e.awsApp.ID, apps.PrincipalUser, "alice"); err != nil {
			t.Fatal(err)
		}
		fixed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		e.a.IdP.Now = func() time.Time { return fixed }
		b := newBrowser(t, e)
		start := "/saml/apps/" + e.awsApp.ID + "/start"
		b.signIn("alice", start)
		pg := b.get(start, "Sec-Fetch-Site", "same-origin")
		action, form := samlForm(t, pg)
		if action != cloud.DefaultSignInURL {
			t.Fatalf("form posts to %q", action)
		}
		xml, err := base64.StdEncoding.DecodeString(form.Get("SAMLResponse"))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "sso-all-roles.xml", e.normalize(xml, true))
		xmlsecVerify(t, e.metadata, xml)

		// bob holds roles (through Developers) but is not assigned; once
		// assigned, his assertion has his two roles.
		preview, err := e.a.Apps.Preview(ctx, audit.System, e.awsApp.ID, "bob")
		if err != nil {
			t.Fatal(err)
		}
		var roles []string
		for _, at := range preview.Attributes {
			if at.Name == apps.AWSRoleAttribute {
				roles = at.Values
			}
		}
		want := []string{
			"arn:aws:iam::" + devID + ":role/idcenter-ReadOnly,arn:aws:iam::" + devID + ":saml-provider/idcenter",
			"arn:aws:iam::" + prodID + ":role/idcenter-ReadOnly,arn:aws:iam::" + prodID + ":saml-provider/idcenter",
		}
		if diff := cmp.Diff(want, roles); diff != "" {
			t.Errorf("bob's preview roles (-want +got):\n%s", diff)
		}
	})
}

// TestSSONoRoles: an aws-account application refuses the sign-in of a
// user who holds no role in its accounts (AWS would refuse the assertion),
// and the preview warns instead.
func TestSSONoRoles(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	carol, err := e.a.Directory.CreateUser(ctx, audit.System, directory.User{UserName: "carol", Active: true,
		Emails: []directory.MultiValue{{Value: "carol@example.com", Primary: true}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.a.Apps.ClaimsFor(ctx, e.awsApp, carol.ID)
	var inv *errs.Invalid
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "holds no AWS role") {
		t.Fatalf("ClaimsFor without roles: %v", err)
	}
	p, err := e.a.Apps.Preview(ctx, audit.System, e.awsApp.ID, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(p.Warnings, "\n"), "holds no AWS role") {
		t.Errorf("preview warnings: %q", p.Warnings)
	}
}

// TestIncludeAWSRoles: any application with "include AWS roles" gets one
// Role value per role the user holds, in every account or the selected ones.
func TestIncludeAWSRoles(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		wiki, err := e.a.Apps.Create(ctx, audit.System, apps.CreateRequest{Application: apps.Application{
			DisplayName: "Data platform", EntityID: "https://data.example.com/saml", Enabled: true,
			ACS:             []apps.ACS{{URL: "https://data.example.com/saml/acs", Binding: apps.BindingPOST}},
			IncludeAWSRoles: true,
		}})
		if err != nil {
			t.Fatal(err)
		}
		roleValues := func() []string {
			t.Helper()
			app, err := e.a.Apps.ByID(ctx, wiki.ID)
			if err != nil {
				t.Fatal(err)
			}
			c, err := e.a.Apps.ClaimsFor(ctx, app, e.alice.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, at := range c.Attributes {
				if at.Name == apps.AWSSessionDurationAttribute {
					t.Errorf("SessionDuration on a non-AWS application")
				}
				if at.Name == apps.AWSRoleAttribute {
					if at.NameFormat != apps.NameFormatURN(apps.NameFormatURI) {
						t.Errorf("Role name format %q", at.NameFormat)
					}
					return at.Values
				}
			}
			return nil
		}
		arn := func(acct, role string) string {
			return "arn:aws:iam::" + acct + ":role/" + role + ",arn:aws:iam::" + acct + ":saml-provider/idcenter"
		}
		want := []string{arn(devID, "idcenter-ReadOnly"), arn(prodID, "idcenter-Admin"), arn(prodID, "idcenter-ReadOnly")}
		if diff := cmp.Diff(want, roleValues()); diff != "" {
			t.Errorf("all accounts (-want +got):\n%s", diff)
		}
		if _, err := e.a.Apps.Update(ctx, audit.System, wiki.ID, 0, func(a *apps.Application) error {
			a.AWSRoleAccounts = []string{" " + prodID + " ", prodID}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want[1:], roleValues()); diff != "" {
			t.Errorf("prod only (-want +got):\n%s", diff)
		}
		got, _ := e.a.Apps.ByID(ctx, wiki.ID)
		if !cmp.Equal(got.AWSRoleAccounts, []string{prodID}) || !got.IncludeAWSRoles {
			t.Errorf("stored option: %v %v", got.IncludeAWSRoles, got.AWSRoleAccounts)
		}
		// Validation: account ids, and a selection needs the option.
		_, err = e.a.Apps.Update(ctx, audit.System, wiki.ID, 0, func(a *apps.Application) error {
			a.IncludeAWSRoles, a.AWSRoleAccounts = false, []string{"prod"}
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), "awsRoleAccounts[0]") || !strings.Contains(err.Error(), "includeAwsRoles") {
			t.Errorf("invalid option accepted: %v", err)
		}
	})
}

// --- access keys against the fake STS ---

func TestAccessKeys(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		ro := e.role(e.alice, prodID, "ReadOnly")

		t.Run("success", func(t *testing.T) {
			before := time.Now()
			c, err := e.a.Federation.AccessKeys(ctx, e.alice.ID, ro)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(c.AccessKeyID, "ASIA") || c.SecretAccessKey == "" || c.SessionToken == "" || c.Region != "eu-west-1" {
				t.Errorf("credentials %+v", c)
			}
			if d := c.Expiration.Sub(before); d < 4*time.Hour-time.Minute || d > 4*time.Hour+time.Minute {
				t.Errorf("expires in %v, want the permission set's 4h", d)
			}
			calls := e.sts.Calls()
			last := calls[len(calls)-1]
			if last.Code != "" || last.DurationSeconds != 4*3600 || last.RoleARN != ro.RoleARN || last.PrincipalARN != ro.ProviderARN {
				t.Errorf("STS call %+v", last)
			}
			if got := last.Attributes[apps.AWSRoleAttribute]; !cmp.Equal(got, []string{ro.AttributeValue()}) {
				t.Errorf("Role attribute %q: only the chosen role", got)
			}
			if got := last.Attributes[apps.AWSRoleSessionNameAttribute]; !cmp.Equal(got, []string{"alice@example.com"}) {
				t.Errorf("RoleSessionName %q", got)
			}
			if got := last.Attributes[apps.AWSSessionDurationAttribute]; !cmp.Equal(got, []string{"14400"}) {
				t.Errorf("SessionDuration %q", got)
			}
		})

		t.Run("the AWS STS response shape", func(t *testing.T) {
			a, err := e.a.Federation.Assertion(ctx, e.alice.ID, ro)
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.a.Federation.AssumeRoleWithSAML(ctx, a.Role, a.Encoded(), time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if res.AssumedRoleARN != "arn:aws:sts::"+prodID+":assumed-role/idcenter-ReadOnly/alice@example.com" ||
				!strings.HasSuffix(res.AssumedRoleID, ":alice@example.com") || res.Audience != cloud.DefaultSignInURL ||
				res.Issuer != e.a.Config.PublicURL()+"/saml/apps/"+e.awsApp.ID || res.SubjectType != "persistent" ||
				res.Subject != e.a.Apps.PersistentNameID(e.awsApp.ID, e.alice.ID) || res.NameQualifier == "" || res.RequestID == "" {
				t.Errorf("result %+v", res)
			}
		})

		t.Run("expired assertion", func(t *testing.T) {
			e.sts.Now = func() time.Time { return time.Now().Add(10 * time.Minute) }
			defer func() { e.sts.Now = nil }()
			_, err := e.a.Federation.AccessKeys(ctx, e.alice.ID, ro)
			var se *cloud.STSError
			if !errors.Is(err, cloud.ErrAssertionExpired) || !errors.As(err, &se) || se.Code != "ExpiredTokenException" || se.RequestID == "" {
				t.Fatalf("got %v", err)
			}
		})

		t.Run("role not in assertion", func(t *testing.T) {
			a, err := e.a.Federation.Assertion(ctx, e.alice.ID, ro)
			if err != nil {
				t.Fatal(err)
			}
			admin := e.role(e.alice, prodID, "Admin")
			_, err = e.a.Federation.AssumeRoleWithSAML(ctx, admin, a.Encoded(), time.Hour)
			var se *cloud.STSError
			if !errors.Is(err, cloud.ErrRoleNotInAssertion) || !errors.As(err, &se) || se.Code != "AccessDenied" || se.Status != 403 {
				t.Fatalf("got %v", err)
			}
		})

		t.Run("duration longer than the assertion allows", func(t *testing.T) {
			a, err := e.a.Federation.Assertion(ctx, e.alice.ID, ro)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.a.Federation.AssumeRoleWithSAML(ctx, a.Role, a.Encoded(), 5*time.Hour)
			if !errors.Is(err, cloud.ErrSTSRefused) || !strings.Contains(err.Error(), "ValidationError") {
				t.Fatalf("got %v", err)
			}
		})

		t.Run("provider holds other metadata", func(t *testing.T) {
			other, err := e.a.Apps.Create(ctx, audit.System, apps.CreateRequest{Application: apps.Application{
				DisplayName: "Other", EntityID: "urn:other", ACS: []apps.ACS{{URL: "https://other.example.com/acs", Binding: apps.BindingPOST}}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.sts.Register(testenv.FakeSTSProvider{AccountID: devID, Name: "idcenter", Metadata: e.appMetadata(other)}); err != nil {
				t.Fatal(err)
			}
			defer func() {
				_ = e.sts.Register(testenv.FakeSTSProvider{AccountID: devID, Name: "idcenter", Metadata: e.metadata})
			}()
			_, err = e.a.Federation.AccessKeys(ctx, e.alice.ID, e.role(e.alice, devID, "ReadOnly"))
			if !errors.Is(err, cloud.ErrAssertionRejected) || !strings.Contains(err.Error(), "InvalidIdentityToken") {
				t.Fatalf("got %v", err)
			}
		})

		t.Run("invalid RoleSessionName", func(t *testing.T) {
			_, err := e.a.Federation.AccessKeys(ctx, e.bob.ID, ro) // bob has no email
			if !errors.Is(err, cloud.ErrRoleSessionName) {
				t.Fatalf("got %v", err)
			}
		})

		t.Run("role not held", func(t *testing.T) {
			_, err := e.a.Federation.AccessKeys(ctx, e.bob.ID, e.role(e.alice, prodID, "Admin"))
			if !errors.Is(err, cloud.ErrRoleNotHeld) || !errors.Is(err, errs.ErrForbidden) {
				t.Fatalf("got %v", err)
			}
			_, err = e.a.Federation.ConsoleSignIn(ctx, e.bob.ID, e.role(e.alice, prodID, "Admin"))
			if !errors.Is(err, cloud.ErrRoleNotHeld) {
				t.Fatalf("console: got %v", err)
			}
		})

		t.Run("STS down", func(t *testing.T) {
			e.sts.Close()
			_, err := e.a.Federation.AccessKeys(ctx, e.alice.ID, ro)
			if !errors.Is(err, cloud.ErrSTSUnavailable) {
				t.Fatalf("got %v", err)
			}
		})
	})
}

// TestSTSErrorDocuments checks the client's reading of STS answers it
// cannot get from the fake: 5xx, HTML, throttling.
func TestSTSErrorDocuments(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	cases := []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"throttled", 400, `<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>`, cloud.ErrSTSUnavailable},
		{"5xx html", 502, `<html>bad gateway</html>`, cloud.ErrSTSUnavailable},
		{"region disabled", 403, `<ErrorResponse><Error><Type>Sender</Type><Code>RegionDisabledException</Code><Message>STS is not activated in this region</Message></Error><RequestId>r</RequestId></ErrorResponse>`, cloud.ErrSTSRefused},
		{"IdP rejected claim", 400, `<ErrorResponse><Error><Type>Sender</Type><Code>IDPRejectedClaim</Code><Message>x</Message></Error><RequestId>r</RequestId></ErrorResponse>`, cloud.ErrAssertionRejected},
		{"200 garbage", 200, `<AssumeRoleWithSAMLResponse/>`, cloud.ErrSTSUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(c.status)
				_, _ = io.WriteString(w, c.body)
			}))
			defer srv.Close()
			role := e.role(e.alice, prodID, "ReadOnly")
			role.Account.STSEndpoint = srv.URL
			_, err := e.a.Federation.AssumeRoleWithSAML(ctx, role, "x", time.Hour)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// --- a small browser ---

type browser struct {
	t *testing.T
	e *env
	c *http.Client
}

type page struct {
	status int
	header http.Header
	body   string
}

func newBrowser(t *testing.T, e *env) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{res.StatusCode, res.Header, string(body)}
}

func (b *browser) get(u string, hdr ...string) page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.e.srv.URL+u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(req)
}

var (
	csrfRE   = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	actionRE = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)
	inputRE  = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

func (b *browser) signIn(user, returnTo string) {
	b.t.Helper()
	pg := b.get("/signin?return_to=" + url.QueryEscape(returnTo))
	m := csrfRE.FindStringSubmatch(pg.body)
	if m == nil {
		b.t.Fatalf("no csrf token (%d)", pg.status)
	}
	form := url.Values{"csrf": {m[1]}, "username": {user}, "password": {password}, "return_to": {returnTo}}
	req, _ := http.NewRequest("POST", b.e.srv.URL+"/signin/password", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if res := b.do(req); res.status != http.StatusSeeOther {
		b.t.Fatalf("sign-in: %d %s", res.status, res.body)
	}
}

func samlForm(t *testing.T, pg page) (string, url.Values) {
	t.Helper()
	m := actionRE.FindStringSubmatch(pg.body)
	if m == nil || pg.status != 200 {
		t.Fatalf("no SAML form (%d): %s", pg.status, pg.body)
	}
	v := url.Values{}
	for _, in := range inputRE.FindAllStringSubmatch(pg.body, -1) {
		v.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	return html.UnescapeString(m[1]), v
}
