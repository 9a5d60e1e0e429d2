package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const heapAppJSON = `{"id":"a1","displayName":"Heap","entityId":"heapanalytics.com","acs":[{"url":"https://heapanalytics.com/saml/finalize/42/","binding":"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST","index":0,"isDefault":true}],"sessionDuration":"PT1H","requireSignedRequests":false,"encryptAssertions":false,"signingMode":"both","nameIdFormat":"emailAddress","nameId":"${user:email}","attributes":[{"name":"NameId","value":"${user:email}","nameFormat":"unspecified"}],"template":"heap","enabled":true,"created":"2025-01-02T03:04:05Z","lastModified":"2025-01-02T03:04:05Z","version":2}`

const testCertPEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"

func TestAppsCommandsSendRequests(t *testing.T) {
	certFile := filepath.Join(t.TempDir(), "sp.pem")
	if err := os.WriteFile(certFile, []byte(testCertPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	cert := `{"id":"c2","appId":"a1","status":"next","notBefore":"2025-01-02T03:04:05Z","notAfter":"2030-01-02T03:04:05Z","pem":"x","sha256":"AA:BB","keyBits":3072,"createdAt":"2025-01-02T03:04:05Z"}`
	routes := map[string]reply{
		"POST /api/v1/apps":                               {status: 201, body: heapAppJSON},
		"PATCH /api/v1/apps/Heap":                         {body: heapAppJSON},
		"DELETE /api/v1/apps/Heap":                        {status: 204},
		"POST /api/v1/apps/Heap/assignments":              {body: `{"appId":"a1","principalType":"group","principalId":"g1","principalName":"Analysts","createdAt":"2025-01-02T03:04:05Z"}`},
		"DELETE /api/v1/apps/Heap/assignments/user/bob":   {status: 204},
		"POST /api/v1/apps/Heap/certificates":             {status: 201, body: cert},
		"POST /api/v1/apps/Heap/certificates/c2/activate": {body: strings.Replace(cert, `"next"`, `"active"`, 1)},
		"DELETE /api/v1/apps/Heap/certificates/c1":        {status: 204},
		"GET /api/v1/apps/Heap/certificate.pem":           {body: testCertPEM, ctype: "application/x-pem-file"},
		"GET /api/v1/apps/Heap/preview":                   {body: `{"appName":"Heap","userName":"alice","assigned":false,"nameId":"alice@example.com","attributes":[{"name":"groups","nameFormat":"x","values":["a","b"]}],"warnings":["alice is not assigned to Heap"]}`},
	}
	tests := []struct {
		name       string
		args       []string
		wantMethod string
		wantPath   string
		wantQuery  string
		wantBody   string
		wantStdout string
	}{
		{
			name: "create from a template with flags",
			args: []string{"apps", "create", "Heap", "--template", "heap", "--acs", "https://heapanalytics.com/saml/finalize/42/",
				"--name-id-format", "emailAddress", "--name-id", "${user:email}",
				"--attribute", "NameId=${user:email};unspecified", "--attribute", "who=${user:givenName};${user:familyName}",
				"--attribute", "urn:oid:2.5.4.4=${user:familyName};URI", "--key-bits", "3072"},
			wantMethod: "POST", wantPath: "/api/v1/apps",
			wantBody: `{"displayName":"Heap","template":"heap","keyBits":3072,"enabled":true,
				"acs":[{"url":"https://heapanalytics.com/saml/finalize/42/","index":0,"isDefault":true}],
				"nameIdFormat":"emailAddress","nameId":"${user:email}",
				"attributes":[{"name":"NameId","value":"${user:email}","nameFormat":"unspecified"},
					{"name":"who","value":"${user:givenName};${user:familyName}"},
					{"name":"urn:oid:2.5.4.4","value":"${user:familyName}","nameFormat":"uri"}],
				"requireSignedRequests":false,"encryptAssertions":false}`,
			wantStdout: "Created application Heap (id a1).\n",
		},
		{
			name: "create by hand, disabled, with SP certificates",
			args: []string{"apps", "create", "Wiki", "--entity-id", "urn:wiki", "--acs", "https://a.example/acs", "--acs", "https://b.example/acs",
				"--sp-certificate", certFile, "--require-signed-requests", "--disabled", "--session-duration", "8h"},
			wantMethod: "POST", wantPath: "/api/v1/apps",
			wantBody: `{"displayName":"Wiki","template":"custom","enabled":false,"entityId":"urn:wiki","sessionDuration":"8h",
				"acs":[{"url":"https://a.example/acs","index":0,"isDefault":true},{"url":"https://b.example/acs","index":1}],
				"signingCertificates":["` + strings.ReplaceAll(testCertPEM, "\n", `\n`) + `"],
				"requireSignedRequests":true,"encryptAssertions":false}`,
		},
		{
			name: "update sends a merge patch of the flags given",
			args: []string{"apps", "update", "Heap", "--name", "Heap EU", "--disabled", "--name-id-format", "persistent",
				"--no-encrypt-assertions", "--slo-url", "", "--if-version", "2"},
			wantMethod: "PATCH", wantPath: "/api/v1/apps/Heap",
			wantBody:   `{"displayName":"Heap EU","enabled":false,"nameIdFormat":"persistent","nameId":"","encryptAssertions":false,"sloUrl":""}`,
			wantStdout: "Updated application Heap (version 2).\n",
		},
		{
			name: "assign a group", args: []string{"apps", "assign", "Heap", "--group", "Analysts"},
			wantMethod: "POST", wantPath: "/api/v1/apps/Heap/assignments", wantBody: `{"group":"Analysts"}`,
			wantStdout: "Assigned group Analysts to Heap.\n",
		},
		{
			name: "unassign a user", args: []string{"apps", "unassign", "Heap", "--user", "bob"},
			wantMethod: "DELETE", wantPath: "/api/v1/apps/Heap/assignments/user/bob",
			wantStdout: "Unassigned user bob from Heap.\n",
		},
		{
			name: "add a certificate", args: []string{"apps", "certificates", "add", "Heap", "--key-bits", "3072"},
			wantMethod: "POST", wantPath: "/api/v1/apps/Heap/certificates", wantBody: `{"keyBits":3072}`,
			wantStdout: "Added next certificate c2 (expires 2030-01-02T03:04:05Z).\n",
		},
		{
			name: "activate a certificate", args: []string{"apps", "certificates", "activate", "Heap", "c2"},
			wantMethod: "POST", wantPath: "/api/v1/apps/Heap/certificates/c2/activate",
			wantStdout: "Certificate c2 is now active.\n",
		},
		{
			name: "remove a certificate", args: []string{"apps", "certificates", "rm", "Heap", "c1"},
			wantMethod: "DELETE", wantPath: "/api/v1/apps/Heap/certificates/c1",
		},
		{
			name: "certificate prints the PEM alone", args: []string{"apps", "certificate", "Heap"},
			wantMethod: "GET", wantPath: "/api/v1/apps/Heap/certificate.pem", wantStdout: testCertPEM,
		},
		{
			name: "preview", args: []string{"apps", "preview", "Heap", "--user", "alice"},
			wantMethod: "GET", wantPath: "/api/v1/apps/Heap/preview", wantQuery: "user=alice",
			wantStdout: "Application:  Heap\nUser:         alice\nAssigned:     no\nName ID:      alice@example.com\n" +
				"Attribute:    groups = a, b\nWarning:      alice is not assigned to Heap\n",
		},
		{
			name: "delete", args: []string{"apps", "delete", "Heap"},
			wantMethod: "DELETE", wantPath: "/api/v1/apps/Heap", wantStdout: "Deleted application Heap.\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, routes)
			res := runCLI(t, testEnv(t, api), "", tt.args...)
			if res.code != 0 {
				t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
			}
			if len(api.reqs) != 1 {
				t.Fatalf("API saw %d requests, want 1: %+v", len(api.reqs), api.reqs)
			}
			got := api.reqs[0]
			if got.method != tt.wantMethod || got.path != tt.wantPath || got.query != tt.wantQuery {
				t.Errorf("request %s %s?%s, want %s %s?%s", got.method, got.path, got.query, tt.wantMethod, tt.wantPath, tt.wantQuery)
			}
			if tt.wantBody != "" && !jsonEqual(t, got.body, tt.wantBody) {
				t.Errorf("body %s\nwant %s", got.body, tt.wantBody)
			}
			if tt.wantStdout != "" && res.stdout != tt.wantStdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", res.stdout, tt.wantStdout)
			}
		})
	}
}

func TestAppsCommandErrors(t *testing.T) {
	for _, tt := range []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"attribute without =", []string{"apps", "create", "X", "--attribute", "email"},
			"idcenter: --attribute \"email\": want NAME=EXPR[;FORMAT], e.g. 'email=${user:email};basic'\n"},
		{"nothing to update", []string{"apps", "update", "X"},
			"idcenter: nothing to update: give at least one setting (see 'idcenter apps update --help')\n"},
		{"assign needs a principal", []string{"apps", "assign", "X"},
			"idcenter: missing flags: --user=USER or --group=GROUP (see 'idcenter apps assign --help')\n"},
		{"assign takes one principal", []string{"apps", "assign", "X", "--user", "a", "--group", "b"},
			"idcenter: --user and --group can't be used together (see 'idcenter apps assign --help')\n"},
		{"missing certificate file", []string{"apps", "create", "X", "--sp-certificate", "/nonexistent/sp.pem"},
			"idcenter: --sp-certificate: stat /nonexistent/sp.pem: no such file or directory\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, nil)
			res := runCLI(t, testEnv(t, api), "", tt.args...)
			if res.code != 1 || res.stderr != tt.wantStderr {
				t.Errorf("exit %d, stderr %q\nwant %q", res.code, res.stderr, tt.wantStderr)
			}
			if len(api.reqs) != 0 {
				t.Errorf("API saw %d requests", len(api.reqs))
			}
		})
	}
}
