package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcenter/idcenter/internal/app"
	"github.com/idcenter/idcenter/internal/config"
)

// TestApplyApplicationsWithMetadataFile: `idcenter apply` inlines the SP
// metadata file a document names (the server cannot read client files),
// creates the application with its assignment, and a second apply is a no-op.
func TestApplyApplicationsWithMetadataFile(t *testing.T) {
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	const token = "idc_apply-apps-token-0123456789"
	tf := filepath.Join(cfg.DataDir, "token")
	os.WriteFile(tf, []byte(token), 0o600)
	cfg.Bootstrap.TokenFile = tf
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() { srv.Close(); a.Close() })

	dir := t.TempDir()
	md, err := os.ReadFile("../../internal/saml/testdata/sp-metadata.xml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "sp.xml"), md, 0o600)
	doc := filepath.Join(dir, "idcenter.yaml")
	os.WriteFile(doc, []byte(`users:
  - username: bob
    email: bob@example.com
groups:
  - name: Engineering
    members: [bob]
applications:
  - name: Example SP
    sp_metadata_file: sp.xml
    name_id_format: emailAddress
    name_id: ${user:email}
    attributes:
      - name: groups
        value: ${user:groups}
    assignments:
      groups: [Engineering]
`), 0o600)
	env := map[string]string{"HOME": t.TempDir(), "IDCENTER_URL": srv.URL, "IDCENTER_TOKEN": token}
	run1 := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(args, strings.NewReader(""), &out, &errb, func(k string) string { return env[k] }); code != 0 {
			t.Fatalf("idcenter %v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	plan := run1("apply", "-f", doc)
	if !strings.Contains(plan, "Example SP") {
		t.Fatalf("plan:\n%s", plan)
	}
	got := run1("apps", "get", "Example SP", "-o", "json")
	if !strings.Contains(got, "https://sp.example.com/saml/acs") || !strings.Contains(got, "https://sp.example.com/saml/metadata") {
		t.Fatalf("app:\n%s", got)
	}
	if again := run1("apply", "-f", doc); !strings.Contains(again, "No changes") {
		t.Fatalf("second apply:\n%s", again)
	}
	if pv := run1("apps", "preview", "Example SP", "--user", "bob"); !strings.Contains(pv, "bob@example.com") || !strings.Contains(pv, "Engineering") {
		t.Fatalf("preview:\n%s", pv)
	}
}
