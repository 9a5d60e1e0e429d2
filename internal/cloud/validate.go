package cloud

import (
	"encoding/json"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/idcenter/idcenter/internal/errs"
)

var (
	accountIDRE    = regexp.MustCompile(`^\d{12}$`)
	psNameRE       = regexp.MustCompile(`^[\w+=,.@-]{1,32}$`)
	roleNameRE     = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	providerRE     = regexp.MustCompile(`^[\w._-]{1,128}$`)
	regionRE       = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$`)
	managedARNRE   = regexp.MustCompile(`^arn:aws[\w-]*:iam::(aws|\d{12}):policy/[\w+=,.@/-]{1,512}$`)
	policyNameRE   = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	policyPathRE   = regexp.MustCompile(`^/([\w+=,.@-]+/)*$`)
	tagKeyRE       = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$`)
	tagValueRE     = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$`)
	isoDurationRE  = regexp.MustCompile(`^PT(?:(\d+)H)?(?:(\d+)M)?$`)
	signInRegionRE = regexp.MustCompile(`^https://([a-z0-9-]+\.)?signin\.aws\.amazon\.com/saml$`)
)

// NormalizeName is the comparison key of account and permission set names.
func NormalizeName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ParseSessionDuration parses an ISO 8601 duration of hours and minutes.
func ParseSessionDuration(s string) (time.Duration, bool) {
	m := isoDurationRE.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(s)))
	if m == nil || (m[1] == "" && m[2] == "") {
		return 0, false
	}
	var d time.Duration
	if m[1] != "" {
		h, _ := time.ParseDuration(m[1] + "h")
		d += h
	}
	if m[2] != "" {
		mm, _ := time.ParseDuration(m[2] + "m")
		d += mm
	}
	return d, true
}

// loopbackHTTP allows plain http only to loopback (tests, a local STS).
func loopbackHTTP(u *url.URL) bool {
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkURL(v *errs.Invalid, field, s string) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopbackHTTP(u))) {
		v.Add(field, "must be an absolute https URL")
	}
}

func normalizeAccount(a *Account) error {
	v := &errs.Invalid{}
	a.ID = strings.TrimSpace(a.ID)
	a.Name = strings.TrimSpace(a.Name)
	a.Description = strings.TrimSpace(a.Description)
	if !accountIDRE.MatchString(a.ID) {
		v.Add("id", "must be a 12-digit AWS account id")
	}
	if a.Name == "" || utf8.RuneCountInString(a.Name) > 64 {
		v.Add("name", "is required and at most 64 characters")
	}
	if utf8.RuneCountInString(a.Description) > 1024 {
		v.Add("description", "must be at most 1024 characters")
	}
	if a.SAMLProvider == "" {
		a.SAMLProvider = DefaultSAMLProvider
	}
	if !providerRE.MatchString(a.SAMLProvider) {
		v.Add("samlProvider", "must be 1–128 of letters, digits, '.', '_' and '-'")
	}
	for f, r := range map[string]string{"defaultRegion": a.DefaultRegion, "stsRegion": a.STSRegion} {
		if r != "" && !regionRE.MatchString(r) {
			v.Add(f, "%q is not an AWS region name (like eu-west-1)", r)
		}
	}
	if a.STSEndpoint != "" {
		checkURL(v, "stsEndpoint", a.STSEndpoint)
	}
	if a.SignInURL == "" {
		a.SignInURL = DefaultSignInURL
	}
	if u, err := url.Parse(a.SignInURL); err != nil || !(signInRegionRE.MatchString(a.SignInURL) || u.Scheme == "http" && loopbackHTTP(u)) {
		v.Add("signInUrl", "must be https://signin.aws.amazon.com/saml or a regional https://<region>.signin.aws.amazon.com/saml")
	}
	return v.Err()
}

func normalizePermissionSet(p *PermissionSet) error {
	v := &errs.Invalid{}
	p.Name = strings.TrimSpace(p.Name)
	if !psNameRE.MatchString(p.Name) {
		v.Add("name", "must be 1–32 of letters, digits and +=,.@_-")
	}
	if utf8.RuneCountInString(p.Description) > 700 {
		v.Add("description", "must be at most 700 characters")
	}
	if p.SessionDuration == "" {
		p.SessionDuration = DefaultSessionDuration
	}
	p.SessionDuration = strings.ToUpper(strings.TrimSpace(p.SessionDuration))
	if d, ok := ParseSessionDuration(p.SessionDuration); !ok || d < time.Hour || d > 12*time.Hour {
		v.Add("sessionDuration", "must be an ISO 8601 duration from PT1H to PT12H")
	}
	if p.RelayState != "" {
		checkURL(v, "relayState", p.RelayState)
	}
	if len(p.ManagedPolicies) > 20 {
		v.Add("managedPolicies", "at most 20")
	}
	for _, arn := range p.ManagedPolicies {
		if !managedARNRE.MatchString(arn) {
			v.Add("managedPolicies", "%q is not a managed policy ARN (arn:aws:iam::aws:policy/…)", arn)
		}
	}
	if len(p.CustomerPolicies) > 20 {
		v.Add("customerPolicies", "at most 20")
	}
	for i := range p.CustomerPolicies {
		checkPolicyRef(v, "customerPolicies", &p.CustomerPolicies[i])
	}
	if p.InlinePolicy != "" {
		if len(p.InlinePolicy) > MaxInlinePolicyBytes {
			v.Add("inlinePolicy", "must be at most %d bytes", MaxInlinePolicyBytes)
		} else if err := CheckPolicyDocument(p.InlinePolicy); err != "" {
			v.Add("inlinePolicy", "%s", err)
		}
	}
	if b := p.Boundary; b != nil {
		switch {
		case b.ManagedPolicyARN != "" && b.CustomerPolicy != nil, b.ManagedPolicyARN == "" && b.CustomerPolicy == nil:
			v.Add("permissionsBoundary", "set either a managed policy ARN or a customer managed policy")
		case b.ManagedPolicyARN != "" && !managedARNRE.MatchString(b.ManagedPolicyARN):
			v.Add("permissionsBoundary", "%q is not a managed policy ARN", b.ManagedPolicyARN)
		case b.CustomerPolicy != nil:
			checkPolicyRef(v, "permissionsBoundary", b.CustomerPolicy)
		}
	}
	if len(p.Tags) > 50 {
		v.Add("tags", "at most 50")
	}
	seen := map[string]bool{}
	for _, t := range p.Tags {
		if !tagKeyRE.MatchString(t.Key) || strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			v.Add("tags", "%q is not a valid tag key", t.Key)
		}
		if !tagValueRE.MatchString(t.Value) {
			v.Add("tags", "the value of %q is not a valid tag value", t.Key)
		}
		if seen[strings.ToLower(t.Key)] {
			v.Add("tags", "%q appears twice", t.Key)
		}
		seen[strings.ToLower(t.Key)] = true
	}
	if p.RoleName != "" && !roleNameRE.MatchString(p.RoleName) {
		v.Add("roleName", "must be 1–64 of letters, digits and +=,.@_-")
	}
	return v.Err()
}

func checkPolicyRef(v *errs.Invalid, field string, r *PolicyRef) {
	if r.Path == "" {
		r.Path = "/"
	}
	if !policyNameRE.MatchString(r.Name) {
		v.Add(field, "%q is not a policy name", r.Name)
	}
	if !policyPathRE.MatchString(r.Path) {
		v.Add(field, "%q is not a policy path (like / or /team/)", r.Path)
	}
}

// CheckPolicyDocument checks an IAM policy document's shape: a JSON object
// with Version 2012-10-17 (or 2008-10-17) and a non-empty Statement whose
// entries have Effect Allow or Deny, an Action or NotAction, and (for
// identity policies) no Principal. It returns the problem, or "".
func CheckPolicyDocument(doc string) string {
	var d struct {
		Version   string          `json:"Version"`
		Statement json.RawMessage `json:"Statement"`
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	if err := dec.Decode(&d); err != nil {
		return "is not a JSON object: " + err.Error()
	}
	if dec.More() {
		return "holds more than one JSON value"
	}
	if d.Version != "2012-10-17" && d.Version != "2008-10-17" {
		return `needs "Version": "2012-10-17"`
	}
	var stmts []map[string]any
	if err := json.Unmarshal(d.Statement, &stmts); err != nil {
		var one map[string]any
		if err := json.Unmarshal(d.Statement, &one); err != nil || one == nil {
			return "needs a Statement object or list"
		}
		stmts = []map[string]any{one}
	}
	if len(stmts) == 0 {
		return "needs at least one Statement"
	}
	for i, s := range stmts {
		if e := s["Effect"]; e != "Allow" && e != "Deny" {
			return "statement " + itoa(i+1) + `: Effect must be "Allow" or "Deny"`
		}
		if s["Action"] == nil && s["NotAction"] == nil {
			return "statement " + itoa(i+1) + ": needs Action or NotAction"
		}
		if s["Principal"] != nil || s["NotPrincipal"] != nil {
			return "statement " + itoa(i+1) + ": an identity policy has no Principal"
		}
	}
	return ""
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
