package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestAppsIdPAddressesCLI: apps get shows the IdP's addresses (table and
// JSON), and apps metadata prints the document the metadata URL serves.
func TestAppsIdPAddressesCLI(t *testing.T) {
	for _, eng := range []string{"sqlite", "postgres"} {
		t.Run(eng, func(t *testing.T) {
			srv := startCLIServer(t, eng)
			a, env := srv.App, srv.Env
			must := func(args ...string) string {
				t.Helper()
				var out, errb bytes.Buffer
				if code := run(args, strings.NewReader(""), &out, &errb, func(k string) string { return env[k] }); code != 0 {
					t.Fatalf("idcenter %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
				}
				return out.String()
			}

			must("apps", "create", "Wiki", "--entity-id", "https://wiki.example.com/saml", "--acs", "https://wiki.example.com/acs")
			var got map[string]any
			if err := json.Unmarshal([]byte(must("apps", "get", "Wiki", "-o", "json")), &got); err != nil {
				t.Fatal(err)
			}
			base := a.Config.PublicURL() + "/saml/apps/" + got["id"].(string)
			for k, v := range map[string]string{"idpEntityId": base, "idpSsoUrl": base + "/sso", "idpSloUrl": base + "/slo",
				"idpMetadataUrl": base + "/metadata", "idpStartUrl": base + "/start"} {
				if got[k] != v {
					t.Errorf("apps get -o json: %s = %v, want %s", k, got[k], v)
				}
			}
			table := must("apps", "get", "Wiki")
			for _, want := range []string{"IdP entity ID:", base + "\n", "IdP SSO URL:", base + "/sso", "IdP metadata:", base + "/metadata",
				"IdP start URL:", base + "/start", "IdP SLO URL:", base + "/slo"} {
				if !strings.Contains(table, want) {
					t.Errorf("apps get: no %q in\n%s", want, table)
				}
			}

			md := must("apps", "metadata", "Wiki")
			res, err := http.Get(srv.URL + "/saml/apps/" + got["id"].(string) + "/metadata")
			if err != nil {
				t.Fatal(err)
			}
			served, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if !strings.Contains(md, `entityID="`+base+`"`) || md != string(served) {
				t.Errorf("apps metadata:\n%s\nmetadata URL:\n%s", md, served)
			}
			var out, errb bytes.Buffer
			if code := run([]string{"apps", "metadata", "nope"}, strings.NewReader(""), &out, &errb, func(k string) string { return env[k] }); code == 0 || out.Len() != 0 {
				t.Errorf("apps metadata nope: exit %d, stdout %q", code, out.String())
			}
		})
	}
}
