package app

import (
	"testing"
)

// TestSSOCounter: the SAML endpoints' audit actions map to a fixed set of
// results; anything else is not counted.
func TestSSOCounter(t *testing.T) {
	m := newMetrics()
	seen := 0
	st := idpStore{observe: func(r string) { seen++; m.ObserveSSO(r) }}
	for _, action := range []string{"saml.sso", "saml.sso", "saml.sso.refused", "saml.sso.status", "user.create", "saml.sso.other"} {
		if r := ssoResult(action); r != "" {
			st.observe(r)
		}
	}
	m.ObserveSSO("bogus")
	if seen != 4 {
		t.Fatalf("observed %d outcomes, want 4", seen)
	}
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "idcenter_saml_sso_total" {
			continue
		}
		for _, x := range mf.GetMetric() {
			got[x.GetLabel()[0].GetValue()] = x.GetCounter().GetValue()
		}
	}
	if len(got) != 3 || got[SSOIssued] != 2 || got[SSORefused] != 1 || got[SSOStatus] != 1 {
		t.Fatalf("idcenter_saml_sso_total: %v", got)
	}
}
