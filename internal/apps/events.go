package apps

import (
	"strings"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
)

// Stable reason codes of refused (and partial) SAML sign-ins and sign-outs.
// The IdP endpoints record them as "reasonCode" in the audit summary
// (beside the free-text "reason"); SSOReasonCode derives them from the
// free text for events written before the code existed.
const (
	ReasonUnknownIssuer     = "unknown-issuer"
	ReasonNoSPCertificate   = "no-sp-certificate"
	ReasonSignatureRequired = "signature-required"
	ReasonBadSignature      = "bad-signature"
	ReasonClockSkew         = "clock-skew"
	ReasonWrongDestination  = "wrong-destination"
	ReasonBadVersion        = "bad-version"
	ReasonExpired           = "expired"
	ReasonUnregisteredACS   = "unregistered-acs"
	ReasonNoACS             = "no-acs"
	ReasonAppDisabled       = "app-disabled"
	ReasonNotAssigned       = "not-assigned"
	ReasonReplayed          = "replayed-request"
	ReasonMissingClaim      = "missing-claim"
	ReasonBuildResponse     = "build-response"
	ReasonUnknownSession    = "unknown-session"
	ReasonInResponseTo      = "in-response-to-mismatch"
	ReasonUnsignedResponse  = "unsigned-logout-response"
	ReasonSPStatus          = "sp-error-status"
	ReasonOther             = "other"
)

// SSOReasonCode maps the free-text reason the SAML endpoints audit to a
// stable code (ReasonOther when it is not recognised).
func SSOReasonCode(reason string) string {
	r := strings.ToLower(reason)
	switch {
	case r == "":
		return ""
	case r == "unknown issuer":
		return ReasonUnknownIssuer
	case strings.HasPrefix(r, "signature required but no sp certificate"):
		return ReasonNoSPCertificate
	case strings.HasPrefix(r, "signature:") && strings.Contains(r, "not signed"):
		return ReasonSignatureRequired
	case strings.HasPrefix(r, "signature:"), r == "bad signature":
		return ReasonBadSignature
	case strings.Contains(r, "issueinstant"):
		return ReasonClockSkew
	case strings.Contains(r, "wrong destination"):
		return ReasonWrongDestination
	case strings.Contains(r, "version must be"):
		return ReasonBadVersion
	case strings.Contains(r, "message expired"):
		return ReasonExpired
	case strings.HasPrefix(r, "unregistered acs"):
		return ReasonUnregisteredACS
	case r == "no usable acs":
		return ReasonNoACS
	case r == "application disabled":
		return ReasonAppDisabled
	case r == "not assigned":
		return ReasonNotAssigned
	case r == "replayed request id":
		return ReasonReplayed
	case strings.HasPrefix(r, "claims:"):
		return ReasonMissingClaim
	case strings.HasPrefix(r, "build response:"):
		return ReasonBuildResponse
	case r == "unknown principal or session":
		return ReasonUnknownSession
	case strings.HasPrefix(r, "inresponseto"):
		return ReasonInResponseTo
	case r == "unsigned logoutresponse":
		return ReasonUnsignedResponse
	case strings.HasPrefix(r, "status "):
		return ReasonSPStatus
	}
	return ReasonOther
}

// Explanation is a failure in plain words and the setting that fixes it.
type Explanation struct {
	Reason string `json:"reason"`
	Fix    string `json:"fix"`
}

var explanations = map[string]Explanation{
	ReasonUnknownIssuer: {"The request's issuer is not this application's entity ID: the service provider is configured for another application, or the entity ID changed.",
		"set the application's entity ID to the SP's issuer, or point the SP at this application's metadata"},
	ReasonNoSPCertificate: {"The application requires signed requests, but no service-provider signing certificate is configured, so no request can be verified.",
		"add the SP's signing certificate to the application (signingCertificates), or turn off 'require signed requests'"},
	ReasonSignatureRequired: {"The application requires signed requests and this request was not signed.",
		"the SP must sign requests, or turn off 'require signed requests'"},
	ReasonBadSignature: {"The request's signature did not verify against the SP certificates configured for the application (the SP's key changed, or the wrong certificate is configured).",
		"replace the application's SP signing certificate with the one in the SP's current metadata"},
	ReasonClockSkew: {"The request's IssueInstant is too far from idcenter's time: the request is stale or the SP's clock is wrong.",
		"check the SP's clock (NTP); if it is right, the user waited too long and should start again from the application"},
	ReasonWrongDestination: {"The request was addressed to another IdP endpoint than the one it reached.",
		"configure the SP with this application's IdP SSO/SLO URL (re-import the application's IdP metadata into the SP)"},
	ReasonBadVersion: {"The message is not SAML 2.0.",
		"configure the SP to use SAML 2.0"},
	ReasonExpired: {"The logout request had expired (NotOnOrAfter passed) when it arrived.",
		"check the SP's clock (NTP)"},
	ReasonUnregisteredACS: {"The SP asked for the response to go to an assertion consumer service URL that is not registered for the application. Nothing was sent.",
		"add this ACS URL to the application's ACS URLs (if it is really the SP's)"},
	ReasonNoACS: {"The application has no usable assertion consumer service URL.",
		"add an ACS URL with the HTTP-POST binding to the application"},
	ReasonAppDisabled: {"The application is disabled.",
		"enable the application"},
	ReasonNotAssigned: {"The user is not assigned to the application (directly or through a group), or the user is disabled.",
		"assign the user or a group the user belongs to (and check the user is active)"},
	ReasonReplayed: {"The same AuthnRequest was presented twice (a back button, a reload, or a replay).",
		"nothing to change if it is rare; the user should start again from the application"},
	ReasonMissingClaim: {"A value the application's mappings need is missing for the user (for example an email address).",
		"fill the user's missing value, or change the application's Name ID / attribute mappings (preview the assertion for this user)"},
	ReasonBuildResponse: {"The response could not be built from the application's settings.",
		"preview the assertion for this user and fix the Name ID, attribute or signing settings it reports"},
	ReasonUnknownSession: {"The logout request named a user or session idcenter does not know (already signed out, or another user).",
		"nothing to change usually; if it repeats, check the application's Name ID format matches what the SP stored"},
	ReasonInResponseTo: {"The SP's LogoutResponse does not answer the LogoutRequest idcenter sent.",
		"check the SP's single-logout configuration (it may be answering an old request)"},
	ReasonUnsignedResponse: {"The SP's LogoutResponse was not signed, and the application requires signed messages.",
		"the SP must sign logout responses, or turn off 'require signed requests'"},
	ReasonSPStatus: {"The SP answered the logout with an error status.",
		"check the SP's logs for why it refused the logout"},
}

// Explain returns the plain-words reason and fix for a reason code
// (a generic one for ReasonOther or an unknown code).
func Explain(code string) Explanation {
	if e, ok := explanations[code]; ok {
		return e
	}
	return Explanation{Reason: "The message was not accepted.", Fix: "see the detail and the server log for this request ID"}
}

var statusExplanations = map[string]Explanation{
	"urn:oasis:names:tc:SAML:2.0:status:NoPassive": {"The SP asked for a passive sign-in and the user was not signed in to idcenter.",
		"nothing to change: the SP falls back to an interactive sign-in"},
	"urn:oasis:names:tc:SAML:2.0:status:AuthnFailed": {"The SP asked for a fresh sign-in (ForceAuthn) and the user's session is older than that allows.",
		"the user signs out and in again; or the SP stops sending ForceAuthn"},
	"urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy": {"The SP asked for a Name ID format the application does not issue.",
		"set the application's Name ID format to the one the SP asks for, or make the SP ask for unspecified"},
	"urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext": {"The SP asked for an authentication context the user's sign-in does not satisfy (for example multi-factor).",
		"enrol the user in multi-factor authentication, or change the SP's requested authentication context"},
}

// SSOEvent is one SAML sign-in or sign-out event of an application, with
// the reason for a failure in plain words and the setting that fixes it.
type SSOEvent struct {
	ID         string         `json:"id"`
	Time       time.Time      `json:"time"`
	Action     string         `json:"action"`
	Outcome    string         `json:"outcome"` // success, refused, status, partial, propagate
	User       string         `json:"user,omitempty"`
	ReasonCode string         `json:"reasonCode,omitempty"`
	Reason     string         `json:"reason,omitempty"` // plain words
	Fix        string         `json:"fix,omitempty"`
	Detail     string         `json:"detail,omitempty"` // the recorded technical reason or status
	RequestID  string         `json:"requestId,omitempty"`
	Summary    map[string]any `json:"summary,omitempty"`
}

// IsSSOAction reports whether action is a SAML sign-in or sign-out event.
func IsSSOAction(action string) bool {
	for _, p := range []string{"saml.sso", "saml.slo"} {
		if action == p || strings.HasPrefix(action, p+".") {
			return true
		}
	}
	return false
}

// ExplainSSOEvent turns an audit event (saml.sso*, saml.slo*) into an SSOEvent.
func ExplainSSOEvent(e audit.Event) SSOEvent {
	out := SSOEvent{ID: e.ID, Time: e.Time, Action: e.Action, User: e.Actor.Name, RequestID: e.RequestID, Summary: e.Summary}
	str := func(k string) string { s, _ := e.Summary[k].(string); return s }
	switch {
	case strings.HasSuffix(e.Action, ".refused"), strings.HasSuffix(e.Action, ".partial"):
		out.Outcome = e.Action[strings.LastIndexByte(e.Action, '.')+1:]
		out.Detail = str("reason")
		out.ReasonCode = str("reasonCode")
		if out.ReasonCode == "" {
			out.ReasonCode = SSOReasonCode(out.Detail)
		}
		x := Explain(out.ReasonCode)
		out.Reason, out.Fix = x.Reason, x.Fix
	case e.Action == "saml.sso.status":
		out.Outcome = "status"
		sub := str("subStatus")
		out.Detail = strings.TrimSpace(str("status") + " " + sub)
		if x, ok := statusExplanations[sub]; ok {
			out.Reason, out.Fix = x.Reason, x.Fix
		}
	case e.Action == "saml.slo.propagate":
		out.Outcome = "propagate"
	default:
		out.Outcome = "success"
	}
	return out
}
