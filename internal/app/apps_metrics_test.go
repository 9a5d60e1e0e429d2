package app_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAppMetrics: /metrics exports the seconds until each application's
// active certificate expires, and the SSO outcome counter.
func TestAppMetrics(t *testing.T) {
	s := start(t, testConfig(t, ""))
	m := string(s.do("GET", "/metrics", "", nil).Body)
	if strings.Contains(m, "idcenter_app_certificate_expiry_seconds{") {
		t.Errorf("expiry gauge without applications:\n%s", m)
	}
	for _, want := range []string{`idcenter_saml_sso_total{result="issued"} 0`, `idcenter_saml_sso_total{result="refused"} 0`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	s.must(201, "POST", "/api/v1/apps", map[string]any{"displayName": "Wiki", "entityId": "urn:wiki",
		"acs": []any{map[string]any{"url": "https://wiki.example.com/acs"}}})
	s.must(201, "POST", "/api/v1/apps/wiki/certificates", nil) // a next certificate is not counted
	m = string(s.do("GET", "/metrics", "", nil).Body)
	re := regexp.MustCompile(`(?m)^idcenter_app_certificate_expiry_seconds\{app="([^"]*)"\} (\S+)$`)
	all := re.FindAllStringSubmatch(m, -1)
	if len(all) != 1 || all[0][1] != "Wiki" {
		t.Fatalf("expiry gauge: %q\n%s", all, m)
	}
	secs, err := strconv.ParseFloat(all[0][2], 64)
	if err != nil {
		t.Fatal(err)
	}
	// 5-year default validity.
	if d := time.Duration(secs * float64(time.Second)); d < 4*365*24*time.Hour || d > 5*366*24*time.Hour {
		t.Errorf("expires in %v", d)
	}
}
