package idp_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/saml"
	"github.com/idcenter/idcenter/internal/testenv"
)

// onelogin starts testdata/onelogin_sp.py (python3-saml, Debian
// python3-onelogin-saml2) on loopback and returns its base URL and the path
// of the settings file it reads at every request.
func onelogin(t *testing.T) (string, string) {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import onelogin.saml2.auth").Run(); err != nil {
		testenv.SkipOrFail(t, "python3-onelogin-saml2 is not installed (apt-get install python3-onelogin-saml2)")
	}
	settings := filepath.Join(t.TempDir(), "settings.json")
	cmd := exec.Command(py, "testdata/onelogin_sp.py", settings)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	port, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("python SP did not start: %v", err)
	}
	return "http://127.0.0.1:" + strings.TrimSpace(port), settings
}

type oneloginResult struct {
	Authenticated bool                `json:"authenticated"`
	Errors        []string            `json:"errors"`
	Reason        string              `json:"reason"`
	NameID        string              `json:"nameId"`
	NameIDFormat  string              `json:"nameIdFormat"`
	SessionIndex  string              `json:"sessionIndex"`
	Attributes    map[string][]string `json:"attributes"`
	RelayState    string              `json:"relayState"`
	InResponseTo  string              `json:"inResponseTo"`
}

func TestInteropOneLogin(t *testing.T) {
	e := newEnv(t, "")
	spURL, settingsPath := onelogin(t)
	ctx := context.Background()
	ap, err := e.a.Apps.Create(ctx, audit.System, apps.CreateRequest{Application: apps.Application{
		DisplayName: "OneLogin SP", EntityID: spURL + "/metadata", Enabled: true,
		ACS:          []apps.ACS{{URL: spURL + "/acs", Binding: apps.BindingPOST}},
		NameIDFormat: apps.NameIDEmail, NameID: "${user:email}", DefaultRelayState: "idp-relay",
		Attributes: []apps.Attribute{{Name: "User.Email", Value: "${user:email}", NameFormat: apps.NameFormatBasic},
			{Name: "User.FirstName", Value: "${user:givenName}", NameFormat: apps.NameFormatBasic}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Apps.Assign(ctx, audit.System, ap.ID, apps.PrincipalUser, "alice"); err != nil {
		t.Fatal(err)
	}
	idpEntity := e.srv.URL + "/saml/apps/" + ap.ID
	settings := map[string]any{
		"strict": true,
		"sp": map[string]any{
			"entityId":                 spURL + "/metadata",
			"assertionConsumerService": map[string]any{"url": spURL + "/acs", "binding": saml.BindingHTTPPOST},
			"NameIDFormat":             saml.NameIDFormatEmailAddress,
		},
		"idp": map[string]any{
			"entityId":            idpEntity,
			"singleSignOnService": map[string]any{"url": idpEntity + "/sso", "binding": saml.BindingHTTPRedirect},
			"x509cert":            base64.StdEncoding.EncodeToString(e.idpCertFor(ap.ID).Raw),
		},
		"security": map[string]any{"wantAssertionsSigned": true, "wantMessagesSigned": true},
	}
	data, _ := json.Marshal(settings)
	if err := os.WriteFile(settingsPath, data, 0o600); err != nil {
		t.Fatal(err)
	}

	b := e.browser()
	b.signIn("alice", "/start")
	toSP := func(pg page) oneloginResult {
		t.Helper()
		action, v := form(t, pg)
		if action != spURL+"/acs" {
			t.Fatalf("form action %q", action)
		}
		res := b.post(action, v)
		var r oneloginResult
		if err := json.Unmarshal([]byte(res.body), &r); err != nil {
			t.Fatalf("SP answered %d %s", res.status, res.body)
		}
		if !r.Authenticated || len(r.Errors) > 0 {
			t.Fatalf("python3-saml refused the response: %v %s", r.Errors, r.Reason)
		}
		if r.NameID != "alice@example.com" || r.NameIDFormat != saml.NameIDFormatEmailAddress || r.SessionIndex == "" ||
			strings.Join(r.Attributes["User.Email"], ",") != "alice@example.com" || strings.Join(r.Attributes["User.FirstName"], ",") != "Alice" {
			t.Errorf("python3-saml saw %+v", r)
		}
		return r
	}

	t.Run("idp-initiated", func(t *testing.T) {
		r := toSP(b.get("/saml/apps/" + ap.ID + "/start"))
		if r.RelayState != "idp-relay" {
			t.Errorf("RelayState %q", r.RelayState)
		}
	})
	t.Run("sp-initiated redirect", func(t *testing.T) {
		login := b.get(spURL + "/login")
		loc := login.header.Get("Location")
		if login.status != 302 || !strings.HasPrefix(loc, idpEntity+"/sso?") {
			t.Fatalf("SP login: %d %q", login.status, loc)
		}
		r := toSP(b.get(loc))
		if r.RelayState != "sp-relay" || r.InResponseTo == "" {
			t.Errorf("%+v", r)
		}
	})
}
