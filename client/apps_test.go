package client

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
)

func TestCreateAppBody(t *testing.T) {
	c, reqs := fake(t, 201, "application/json", `{"id":"a1","displayName":"Heap","template":"heap","enabled":true,"version":1}`)
	a, err := c.CreateApp(context.Background(), AppRequest{Template: "heap", KeyBits: 3072, App: App{
		ID: "ignored", DisplayName: "Heap", Version: 7, ManagedBy: "apply",
		ACS: []ACS{{URL: "https://heapanalytics.com/saml/finalize/42/"}},
	}})
	if err != nil || a.ID != "a1" || !a.Enabled {
		t.Fatalf("CreateApp: %+v %v", a, err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte((*reqs)[0].Body), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"displayName": "Heap", "template": "heap", "keyBits": float64(3072), "enabled": true,
		"acs":                   []any{map[string]any{"url": "https://heapanalytics.com/saml/finalize/42/", "index": float64(0)}},
		"requireSignedRequests": false, "encryptAssertions": false}
	if !reflect.DeepEqual(got, want) || (*reqs)[0].Method != "POST" || (*reqs)[0].Path != "/api/v1/apps" {
		t.Errorf("request %s %s\n body %v\n want %v", (*reqs)[0].Method, (*reqs)[0].Path, got, want)
	}
}

func TestAppPaths(t *testing.T) {
	c, reqs := fake(t, 204, "", "")
	if err := c.UnassignApp(context.Background(), "My App", PrincipalGroup, "a/b"); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveAppCertificate(context.Background(), "..", "c1"); err != nil {
		t.Fatal(err)
	}
	if r := (*reqs)[0]; r.Method != "DELETE" || r.RawPath != "/api/v1/apps/My%20App/assignments/group/a%2Fb" {
		t.Errorf("unassign: %s %s", r.Method, r.RawPath)
	}
	if r := (*reqs)[1]; r.RawPath != "/api/v1/apps/%2E%2E/certificates/c1" {
		t.Errorf("remove certificate: %q", r.RawPath)
	}
	if _, err := c.GetApp(context.Background(), ""); err == nil {
		t.Error("empty app key accepted")
	}
}

func TestAppCertificatePEM(t *testing.T) {
	const p = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	c, reqs := fake(t, 200, "application/x-pem-file", p)
	b, err := c.AppCertificatePEM(context.Background(), "Heap")
	if err != nil || string(b) != p {
		t.Fatalf("AppCertificatePEM: %q %v", b, err)
	}
	if got := (*reqs)[0].Header.Get("Accept"); got != "application/x-pem-file, application/problem+json" {
		t.Errorf("Accept %q", got)
	}
}
