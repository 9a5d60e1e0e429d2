package app_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering enforces the layout in STYLE.md: domain packages import
// neither net/http nor the store, and surfaces never import the store (only
// internal/app wires them together).
func TestLayering(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const mod = "github.com/idcenter/idcenter/internal/"
	list := func(format, pkg string) []string {
		out, err := exec.Command("go", "list", "-f", format, mod+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	domain := []string{"directory", "tokens", "audit", "declarative", "authn", "session", "apps", "keys", "errs", "cloud", "iac"}
	for _, p := range domain {
		for _, imp := range list(`{{join .Imports " "}}`, p) {
			if imp == "net/http" || strings.HasPrefix(imp, mod+"store") || strings.HasPrefix(imp, mod+"app") && imp != mod+"apps" {
				t.Errorf("domain package %s imports %s", p, imp)
			}
		}
	}
	for _, p := range []string{"portal", "console", "adminapi", "web", "httpx", "scim"} {
		for _, dep := range list(`{{join .Deps " "}}`, p) {
			if strings.HasPrefix(dep, mod+"store") {
				t.Errorf("surface %s depends on %s", p, dep)
			}
		}
	}
}
