package apps

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/idcenter/idcenter/internal/errs"
)

// Limits on application fields.
const (
	MaxNameLen         = 128
	MaxDescLen         = 1024
	MaxEntityIDLen     = 1024
	MaxURLLen          = 2048
	MaxACS             = 20
	MaxAttributes      = 50
	MaxAttrNameLen     = 256
	MaxRelayStateBytes = 80 // SAML bindings §3.4.3, §3.5.3
	MaxSPCertificates  = 4
	MaxCertificatePEM  = 16 << 10
)

var folder = cases.Fold()

// NormalizeName returns the comparison key of an application display name:
// NFC, trimmed, case-folded. The store keeps it in its own unique column.
func NormalizeName(s string) string { return folder.String(norm.NFC.String(strings.TrimSpace(s))) }

func cleanText(s string) string { return norm.NFC.String(strings.TrimSpace(s)) }

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

func checkText(v *errs.Invalid, field, s string, max int) {
	if utf8.RuneCountInString(s) > max {
		v.Add(field, "must be at most %d characters", max)
	}
	if hasControl(s) {
		v.Add(field, "must not contain control characters")
	}
}

// placeholder matches the <…> markers templates leave for the admin to fill.
var placeholder = regexp.MustCompile(`<[a-z][a-z0-9-]*>`)

// urlForbidden are characters that never belong in an endpoint URL and are
// the stuff of markup injection (SECURITY.md IDP-03).
const urlForbidden = "\"'<>`\\{}|^"

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// checkURL validates an endpoint URL: absolute https, or http to a loopback
// host; no credentials, fragment, whitespace or markup characters. It
// returns the trimmed URL.
func checkURL(v *errs.Invalid, field, raw string) string {
	s := strings.TrimSpace(raw)
	if reason := urlProblem(s); reason != "" {
		v.Add(field, "%s", reason)
	}
	return s
}

// metadataURLProblem checks an SP metadata URL: an absolute https URL with
// a host and no user information (the fetch itself refuses private
// addresses and follows only https redirects; saml.FetchSPMetadata).
func metadataURLProblem(s string) string {
	if len(s) > MaxURLLen {
		return fmt.Sprintf("must be at most %d bytes", MaxURLLen)
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || !u.IsAbs() || u.Opaque != "":
		return "must be an absolute https:// URL"
	case !strings.EqualFold(u.Scheme, "https"):
		return "must be an https:// URL: metadata is fetched over TLS only"
	case u.Hostname() == "":
		return "must name a host"
	case u.User != nil:
		return "must not carry user information"
	case hasControl(s) || strings.ContainsAny(s, " \t"):
		return "must not contain spaces or control characters"
	}
	return ""
}

func urlProblem(s string) string {
	if len(s) > MaxURLLen {
		return fmt.Sprintf("must be at most %d bytes", MaxURLLen)
	}
	if m := placeholder.FindString(s); m != "" && !strings.ContainsAny(placeholder.ReplaceAllString(s, ""), urlForbidden) {
		return fmt.Sprintf("replace the placeholder %s with your own value (see the template's setup instructions)", m)
	}
	scheme, _, ok := strings.Cut(s, ":")
	if !ok || scheme == "" || strings.ContainsAny(scheme, "/?#") {
		return "must be an absolute https:// URL"
	}
	switch strings.ToLower(scheme) {
	case "https", "http":
	default:
		return fmt.Sprintf("must be an https:// URL, not a %s: URL", oneWord(scheme))
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return "must not contain spaces or control characters"
	}
	if strings.ContainsAny(s, urlForbidden) {
		return "must not contain quotes, angle brackets, backslashes or other characters outside a URL"
	}
	u, err := url.Parse(s)
	if err != nil {
		return "is not a valid URL"
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return "must be an absolute URL with a host, like https://sp.example.com/acs"
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "has a port out of range"
		}
	}
	if u.User != nil {
		return "must not contain a user name or password"
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return "must not contain a fragment (#…)"
	}
	if strings.EqualFold(u.Scheme, "http") && !isLoopback(u.Hostname()) {
		return "must use https (http is allowed only for loopback hosts: localhost, 127.0.0.0/8, ::1)"
	}
	return ""
}

func oneWord(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '+' || r == '-' || r == '.' {
			return r
		}
		return -1
	}, s)
	if len(s) > 20 {
		s = s[:20]
	}
	return s
}

// normalizeBinding maps short or full binding names to their URN.
func normalizeBinding(s string, allowed ...string) (string, bool) {
	var urn string
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "post", "http-post", strings.ToLower(BindingPOST):
		urn = BindingPOST
	case "redirect", "http-redirect", strings.ToLower(BindingRedirect):
		urn = BindingRedirect
	default:
		return s, false
	}
	for _, a := range allowed {
		if a == urn {
			return urn, true
		}
	}
	return urn, false
}

// NormalizeNameIDFormat maps a short name or URN to the short name.
func NormalizeNameIDFormat(s string) (string, bool) {
	s = strings.TrimSpace(s)
	for short, urn := range nameIDFormatURNs {
		if strings.EqualFold(s, short) || s == urn ||
			strings.EqualFold(s, strings.Replace(urn, "SAML:1.1", "SAML:2.0", 1)) || strings.EqualFold(s, strings.Replace(urn, "SAML:2.0", "SAML:1.1", 1)) {
			return short, true
		}
	}
	if strings.EqualFold(s, "email") {
		return NameIDEmail, true
	}
	return s, false
}

func normalizeNameFormat(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return NameFormatUnspecified, true
	}
	for short, urn := range nameFormatURNs {
		if strings.EqualFold(s, short) || s == urn {
			return short, true
		}
	}
	return s, false
}

// defaultNameID is the Name ID expression used when a format is given without one.
func defaultNameID(format string) string {
	switch format {
	case NameIDEmail:
		return "${user:email}"
	case NameIDTransient:
		return ""
	}
	return "${user:subject}"
}

// ParseDuration reads an ISO 8601 duration (PT1H, PT90M, P0DT1H30M, PT3600S)
// or a Go duration (1h30m). The empty string is 0.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if !strings.HasPrefix(strings.ToUpper(s), "P") {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, errors.New("is not a duration; write e.g. PT1H or 1h30m")
		}
		return d, nil
	}
	rest := strings.ToUpper(s[1:])
	var d time.Duration
	inTime := false
	units := 0
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return 0, errors.New("has two T designators")
			}
			inTime, rest = true, rest[1:]
			continue
		}
		i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if i <= 0 {
			return 0, errors.New("is not an ISO 8601 duration like PT1H or PT30M")
		}
		n, err := strconv.ParseInt(rest[:i], 10, 32)
		if err != nil {
			return 0, errors.New("has a number out of range")
		}
		var unit time.Duration
		switch {
		case rest[i] == 'D' && !inTime:
			unit = 24 * time.Hour
		case rest[i] == 'H' && inTime:
			unit = time.Hour
		case rest[i] == 'M' && inTime:
			unit = time.Minute
		case rest[i] == 'S' && inTime:
			unit = time.Second
		default:
			return 0, fmt.Errorf("has an unsupported unit %q; use days, hours, minutes and seconds (P1DT2H3M4S)", rest[i])
		}
		d += time.Duration(n) * unit
		units++
		rest = rest[i+1:]
	}
	if units == 0 {
		return 0, errors.New("is not an ISO 8601 duration like PT1H or PT30M")
	}
	return d, nil
}

// FormatDuration writes d as an ISO 8601 duration of hours, minutes and seconds.
func FormatDuration(d time.Duration) string {
	d = d.Truncate(time.Second)
	if d <= 0 {
		return "PT0S"
	}
	h, m, sec := d/time.Hour, (d%time.Hour)/time.Minute, (d%time.Minute)/time.Second
	out := "PT"
	if h > 0 {
		out += strconv.FormatInt(int64(h), 10) + "H"
	}
	if m > 0 {
		out += strconv.FormatInt(int64(m), 10) + "M"
	}
	if sec > 0 {
		out += strconv.FormatInt(int64(sec), 10) + "S"
	}
	return out
}

// ParseCertificate reads one X.509 certificate, PEM or bare base64 DER (as
// in metadata), and returns it with its canonical PEM.
func ParseCertificate(s string) (*x509.Certificate, string, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxCertificatePEM {
		return nil, "", fmt.Errorf("is longer than %d bytes", MaxCertificatePEM)
	}
	var der []byte
	if strings.Contains(s, "-----BEGIN") {
		block, rest := pem.Decode([]byte(s))
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, "", errors.New("is not a PEM certificate (-----BEGIN CERTIFICATE-----)")
		}
		if strings.TrimSpace(string(rest)) != "" {
			return nil, "", errors.New("must hold exactly one certificate")
		}
		der = block.Bytes
	} else {
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil, "", errors.New("is neither a PEM certificate nor base64 DER")
		}
		der = b
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, "", errors.New("is not a valid X.509 certificate")
	}
	return c, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), nil
}

// Fingerprint returns the colon-separated SHA-256 fingerprint of a certificate.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

func checkSPCertificate(v *errs.Invalid, field, s string, forEncryption bool) string {
	c, p, err := ParseCertificate(s)
	if err != nil {
		v.Add(field, "%s", err.Error())
		return s
	}
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			v.Add(field, "has a %d-bit RSA key; at least 2048 bits are required", k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		if forEncryption {
			v.Add(field, "must have an RSA key (assertions are encrypted with RSA-OAEP)")
		}
	default:
		v.Add(field, "has an unsupported key type; use RSA (2048 bits or more) or ECDSA")
	}
	return p
}

// normalizeApp cleans a in place and returns every problem found.
func normalizeApp(a *Application) error {
	v := &errs.Invalid{}
	a.DisplayName = cleanText(a.DisplayName)
	if a.DisplayName == "" {
		v.Add("displayName", "is required")
	} else {
		checkText(v, "displayName", a.DisplayName, MaxNameLen)
	}
	a.Description = cleanText(a.Description)
	if utf8.RuneCountInString(a.Description) > MaxDescLen {
		v.Add("description", "must be at most %d characters", MaxDescLen)
	}

	a.EntityID = strings.TrimSpace(a.EntityID)
	switch {
	case a.EntityID == "":
		v.Add("entityId", "is required: the service provider's entity ID (its SAML audience)")
	case len(a.EntityID) > MaxEntityIDLen:
		v.Add("entityId", "must be at most %d bytes", MaxEntityIDLen)
	case placeholder.MatchString(a.EntityID):
		v.Add("entityId", "replace the placeholder %s with your own value (see the template's setup instructions)", placeholder.FindString(a.EntityID))
	case strings.IndexFunc(a.EntityID, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		v.Add("entityId", "must not contain spaces or control characters")
	}

	normalizeACS(v, a)

	a.SLOURL = strings.TrimSpace(a.SLOURL)
	if a.SLOURL == "" {
		a.SLOBinding = ""
	} else {
		a.SLOURL = checkURL(v, "sloUrl", a.SLOURL)
		if a.SLOBinding == "" {
			a.SLOBinding = BindingRedirect
		}
		b, ok := normalizeBinding(a.SLOBinding, BindingRedirect, BindingPOST)
		if !ok {
			v.Add("sloBinding", "must be HTTP-Redirect or HTTP-POST")
		}
		a.SLOBinding = b
	}
	if a.StartURL = strings.TrimSpace(a.StartURL); a.StartURL != "" {
		a.StartURL = checkURL(v, "startUrl", a.StartURL)
	}
	if len(a.DefaultRelayState) > MaxRelayStateBytes {
		v.Add("defaultRelayState", "must be at most %d bytes (SAML RelayState limit)", MaxRelayStateBytes)
	}
	if hasControl(a.DefaultRelayState) {
		v.Add("defaultRelayState", "must not contain control characters")
	}

	if d, err := ParseDuration(a.SessionDuration); err != nil {
		v.Add("sessionDuration", "%s", err.Error())
	} else {
		if d == 0 {
			d = DefaultSessionDuration
		}
		if d < MinSessionDuration || d > MaxSessionDuration {
			v.Add("sessionDuration", "must be from 15 minutes (PT15M) to 12 hours (PT12H)")
		} else if d%time.Second != 0 {
			v.Add("sessionDuration", "must be whole seconds")
		} else {
			a.SessionDuration = FormatDuration(d)
		}
	}

	if len(a.SigningCertificates) > MaxSPCertificates {
		v.Add("signingCertificates", "at most %d certificates", MaxSPCertificates)
	}
	var certs []string
	for i, c := range a.SigningCertificates {
		if strings.TrimSpace(c) == "" {
			continue
		}
		certs = append(certs, checkSPCertificate(v, fmt.Sprintf("signingCertificates[%d]", i), c, false))
	}
	a.SigningCertificates = certs
	if a.RequireSignedRequests && len(certs) == 0 {
		v.Add("requireSignedRequests", "needs at least one SP signing certificate to verify requests with")
	}
	if a.EncryptionCertificate = strings.TrimSpace(a.EncryptionCertificate); a.EncryptionCertificate != "" {
		a.EncryptionCertificate = checkSPCertificate(v, "encryptionCertificate", a.EncryptionCertificate, true)
	}
	if a.EncryptAssertions && a.EncryptionCertificate == "" {
		v.Add("encryptAssertions", "needs the SP's encryption certificate")
	}
	if a.SPMetadataURL = strings.TrimSpace(a.SPMetadataURL); a.SPMetadataURL != "" {
		if reason := metadataURLProblem(a.SPMetadataURL); reason != "" {
			v.Add("spMetadataUrl", "%s", reason)
		}
	}
	if a.SPMetadataSigningCertificate = strings.TrimSpace(a.SPMetadataSigningCertificate); a.SPMetadataSigningCertificate != "" {
		a.SPMetadataSigningCertificate = checkSPCertificate(v, "spMetadataSigningCertificate", a.SPMetadataSigningCertificate, false)
	}

	switch m := strings.ToLower(strings.TrimSpace(a.SigningMode)); m {
	case "":
		a.SigningMode = SignBoth
	case SignResponse, SignAssertion, SignBoth:
		a.SigningMode = m
	default:
		v.Add("signingMode", "must be response, assertion or both")
	}

	nameIDOK := true
	if strings.TrimSpace(a.NameIDFormat) == "" {
		a.NameIDFormat = NameIDEmail
	}
	if f, ok := NormalizeNameIDFormat(a.NameIDFormat); ok {
		a.NameIDFormat = f
	} else {
		v.Add("nameIdFormat", "must be emailAddress, persistent, transient or unspecified")
		nameIDOK = false
	}
	a.NameID = strings.TrimSpace(a.NameID)
	if a.NameID == "" && nameIDOK {
		a.NameID = defaultNameID(a.NameIDFormat)
	}
	if a.NameID != "" {
		if hasControl(a.NameID) {
			v.Add("nameId", "must not contain control characters")
		} else if e, err := ParseExpr(a.NameID); err != nil {
			v.Add("nameId", "%s", err.Error())
		} else if e.MultiValued() {
			v.Add("nameId", "%s is multi-valued; a Name ID has exactly one value", e.String())
		} else {
			a.NameID = e.String()
		}
	}

	if len(a.Attributes) > MaxAttributes {
		v.Add("attributes", "at most %d attribute mappings", MaxAttributes)
	}
	seen := map[string]int{}
	for i := range a.Attributes {
		at := &a.Attributes[i]
		f := fmt.Sprintf("attributes[%d]", i)
		at.Name = cleanText(at.Name)
		switch {
		case at.Name == "":
			v.Add(f+".name", "is required")
		case strings.IndexFunc(at.Name, unicode.IsSpace) >= 0:
			v.Add(f+".name", "must not contain spaces")
		default:
			checkText(v, f+".name", at.Name, MaxAttrNameLen)
		}
		if j, dup := seen[at.Name]; dup && at.Name != "" {
			v.Add(f+".name", "%q is already mapped by attributes[%d]", at.Name, j)
		} else {
			seen[at.Name] = i
		}
		at.Value = strings.TrimSpace(at.Value)
		switch {
		case at.Value == "":
			v.Add(f+".value", "is required: an expression such as ${user:email}")
		case hasControl(at.Value):
			v.Add(f+".value", "must not contain control characters")
		default:
			if e, err := ParseExpr(at.Value); err != nil {
				v.Add(f+".value", "%s", err.Error())
			} else {
				at.Value = e.String()
			}
		}
		nf, ok := normalizeNameFormat(at.NameFormat)
		if !ok {
			v.Add(f+".nameFormat", "must be basic, uri or unspecified")
		}
		at.NameFormat = nf
	}
	normalizeAWSRoles(v, a)
	switch a.ManagedBy {
	case "", "apply":
	default:
		v.Add("managedBy", `must be "apply" or empty`)
	}
	return v.Err()
}

func normalizeACS(v *errs.Invalid, a *Application) {
	switch {
	case len(a.ACS) == 0:
		v.Add("acs", "at least one assertion consumer service URL is required")
		return
	case len(a.ACS) > MaxACS:
		v.Add("acs", "at most %d assertion consumer services", MaxACS)
		return
	}
	allZero := true
	for _, e := range a.ACS {
		if e.Index != 0 {
			allZero = false
		}
	}
	defaults := 0
	indexes := map[int]int{}
	endpoints := map[string]int{}
	for i := range a.ACS {
		e := &a.ACS[i]
		f := fmt.Sprintf("acs[%d]", i)
		if strings.TrimSpace(e.URL) == "" {
			v.Add(f+".url", "is required")
		} else {
			e.URL = checkURL(v, f+".url", e.URL)
		}
		b, ok := normalizeBinding(e.Binding, BindingPOST)
		if !ok {
			v.Add(f+".binding", "must be HTTP-POST (the binding idcenter sends responses with)")
		}
		e.Binding = b
		if allZero {
			e.Index = i
		}
		if e.Index < 0 || e.Index > 65535 {
			v.Add(f+".index", "must be from 0 to 65535")
		}
		if j, dup := indexes[e.Index]; dup {
			v.Add(f+".index", "%d is already used by acs[%d]", e.Index, j)
		} else {
			indexes[e.Index] = i
		}
		if j, dup := endpoints[e.URL+" "+e.Binding]; dup && e.URL != "" {
			v.Add(f+".url", "repeats acs[%d]", j)
		} else {
			endpoints[e.URL+" "+e.Binding] = i
		}
		if e.Default {
			defaults++
		}
	}
	switch {
	case defaults > 1:
		v.Add("acs", "at most one assertion consumer service can be the default")
	case defaults == 0:
		a.ACS[0].Default = true
	}
}
