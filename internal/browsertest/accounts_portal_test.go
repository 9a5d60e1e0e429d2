package browsertest

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/directory"
)

// fakeAWS stands in for AWS in the browser: a sign-in endpoint on loopback
// that records the posted SAMLResponse and RelayState, and a Federation
// that addresses its console sign-ins there and hands out fixed
// credentials (no STS involved).
type fakeAWS struct {
	signIn string
	got    chan [2]string
}

func startFakeAWS(t *testing.T) *fakeAWS {
	t.Helper()
	f := &fakeAWS{got: make(chan [2]string, 4)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /saml", func(w http.ResponseWriter, r *http.Request) {
		f.got <- [2]string{r.PostFormValue("SAMLResponse"), r.PostFormValue("RelayState")}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!DOCTYPE html><title>AWS</title><h1>AWS Management Console</h1>")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f.signIn = srv.URL + "/saml"
	return f
}

func (f *fakeAWS) ConsoleSignIn(_ context.Context, _ string, role cloud.Role) (cloud.ConsoleSignIn, error) {
	return cloud.ConsoleSignIn{URL: f.signIn, SAMLResponse: base64.StdEncoding.EncodeToString([]byte("<Response>" + role.RoleARN + "</Response>")),
		RelayState: role.PermissionSet.RelayState}, nil
}

func (f *fakeAWS) AccessKeys(_ context.Context, _ string, role cloud.Role) (cloud.Credentials, error) {
	return cloud.Credentials{AccessKeyID: "ASIAEXAMPLE4FAKEKEYS", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		SessionToken: "IQoJb3JpZ2luX2VjEFAKE/session+token==", Expiration: time.Now().Add(4 * time.Hour), Region: role.Account.DefaultRegion}, nil
}

func (f *fakeAWS) wait(t *testing.T) (response, relay string) {
	t.Helper()
	select {
	case v := <-f.got:
		xml, _ := base64.StdEncoding.DecodeString(v[0])
		return string(xml), v[1]
	case <-time.After(DefaultActionTimeout):
		t.Fatal("nothing was posted to the AWS sign-in endpoint")
		return "", ""
	}
}

// TestPortalAccounts: a member of Developers sees the AWS accounts and
// roles the group holds, searches them, signs in to the console (the
// auto-POST form reaches the sign-in endpoint under the page's CSP) and
// gets access keys.
func TestPortalAccounts(t *testing.T) {
	h := New(t, Options{})
	aws := startFakeAWS(t)
	h.App.Portal.Federation = aws
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	h.CreateUser("dana", adminPassword)
	must(h.App.Directory.CreateGroup(ctx, audit.System, directory.Group{DisplayName: "Developers"}, []string{"dana"}))
	for _, a := range []cloud.Account{
		{ID: "111111111111", Name: "production", Description: "Customer-facing workloads", DefaultRegion: "eu-west-1"},
		{ID: "222222222222", Name: "staging"},
		{ID: "333333333333", Name: "sandbox", Description: "Try things here"},
	} {
		must(h.App.Cloud.CreateAccount(ctx, audit.System, a))
	}
	for _, p := range []cloud.PermissionSet{
		{Name: "ReadOnly", Description: "View resources", RelayState: "https://console.aws.amazon.com/console/home",
			ManagedPolicies: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}},
		{Name: "PowerUser", Description: "Everything but IAM", ManagedPolicies: []string{"arn:aws:iam::aws:policy/PowerUserAccess"}},
		{Name: "Billing", Description: "Invoices and budgets", ManagedPolicies: []string{"arn:aws:iam::aws:policy/job-function/Billing"}},
	} {
		must(h.App.Cloud.CreatePermissionSet(ctx, audit.System, p))
	}
	for _, a := range [][2]string{{"production", "ReadOnly"}, {"production", "Billing"}, {"staging", "PowerUser"}, {"staging", "ReadOnly"}, {"sandbox", "PowerUser"}} {
		must(h.App.Cloud.Assign(ctx, audit.System, cloud.AssignRequest{Account: a[0], PermissionSet: a[1], PrincipalType: "group", Principal: "Developers"}))
	}

	b := h.Browser
	b.SignIn("dana", adminPassword)
	mustPath(t, b, "/start")
	b.Click("#accounts-tab")
	mustPath(t, b, "/start/accounts")
	if n := b.Count("#accounts li.role"); n != 5 {
		t.Fatalf("%d roles shown, want 5", n)
	}
	mustContain(t, "accounts view", b.Text("#account-111111111111"), "Customer-facing workloads")
	b.Screenshot("portal-accounts")

	// search, without JavaScript's help: a GET form
	b.Fill("#q", "power")
	b.Click(".search button[type=submit]")
	if n := b.Count("#accounts li.role"); n != 2 || !strings.Contains(b.URL(), "q=power") {
		t.Fatalf("search: %d roles at %s", n, b.URL())
	}

	// console sign-in: the auto-POST form reaches "AWS" with the role's relay state
	b.Navigate("/start/accounts")
	b.Click(`a[href="/start/accounts/111111111111/ReadOnly/console"]`)
	resp, relay := aws.wait(t)
	if resp != "<Response>arn:aws:iam::111111111111:role/idcenter-ReadOnly</Response>" || relay != "https://console.aws.amazon.com/console/home" {
		t.Fatalf("posted %q with relay state %q", resp, relay)
	}
	b.WaitVisible("h1")
	mustContain(t, "AWS", b.Text("h1"), "AWS Management Console")
	if v := b.CSPViolations(); len(v) > 0 {
		t.Fatalf("CSP violations: %v", v)
	}

	// access keys
	b.Navigate("/start/accounts")
	b.Click(`form[action="/start/accounts/111111111111/Billing/keys"] button`)
	mustPath(t, b, "/start/accounts/111111111111/Billing/keys")
	mustContain(t, "env", b.Text("#env-unix"), `export AWS_ACCESS_KEY_ID="ASIAEXAMPLE4FAKEKEYS"`)
	mustContain(t, "powershell", b.Text("#env-powershell"), `$Env:AWS_SESSION_TOKEN="IQoJb3JpZ2luX2VjEFAKE/session+token=="`)
	mustContain(t, "cmd", b.Text("#env-cmd"), `SET AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`)
	mustContain(t, "profile", b.Text("#credentials-file"), "[111111111111_Billing]")
	mustContain(t, "expiry", b.Text("#expires"), "(in 4 h)")
	b.Screenshot("portal-access-keys")
}
