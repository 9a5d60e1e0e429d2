package apps

import (
	"testing"

	"github.com/idcenter/idcenter/internal/audit"
)

func TestSSOReasonCode(t *testing.T) {
	for reason, want := range map[string]string{
		"unknown issuer": ReasonUnknownIssuer,
		"signature required but no SP certificate configured":          ReasonNoSPCertificate,
		"signature: saml: message is not signed":                       ReasonSignatureRequired,
		"signature: saml: signature does not verify":                   ReasonBadSignature,
		"saml: IssueInstant outside the allowed window: issued 3h ago": ReasonClockSkew,
		"saml: wrong Destination: \"x\", expected \"y\"":               ReasonWrongDestination,
		"unregistered ACS: saml: no matching AssertionConsumerService": ReasonUnregisteredACS,
		"not assigned":                 ReasonNotAssigned,
		"application disabled":         ReasonAppDisabled,
		"replayed request ID":          ReasonReplayed,
		"claims: no email":             ReasonMissingClaim,
		"unknown principal or session": ReasonUnknownSession,
		"something new":                ReasonOther,
	} {
		if got := SSOReasonCode(reason); got != want {
			t.Errorf("SSOReasonCode(%q) = %q, want %q", reason, got, want)
		}
		if x := Explain(want); x.Reason == "" || x.Fix == "" {
			t.Errorf("Explain(%q) = %+v", want, x)
		}
	}
	e := ExplainSSOEvent(audit.Event{Action: "saml.sso.refused", Summary: map[string]any{"reason": "not assigned"}})
	if e.Outcome != "refused" || e.ReasonCode != ReasonNotAssigned || e.Fix != "assign the user or a group the user belongs to (and check the user is active)" {
		t.Errorf("ExplainSSOEvent(not assigned) = %+v", e)
	}
	if e := ExplainSSOEvent(audit.Event{Action: "saml.sso"}); e.Outcome != "success" || e.Fix != "" {
		t.Errorf("ExplainSSOEvent(saml.sso) = %+v", e)
	}
	if IsSSOAction("saml.ssox") || !IsSSOAction("saml.slo.partial") {
		t.Error("IsSSOAction")
	}
}
