package saml

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// XML namespaces.
const (
	NSProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	NSAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	NSMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsDSig      = dsig.Namespace
	nsXEnc      = "http://www.w3.org/2001/04/xmlenc#"
)

// NameIDFormatEntity is the Issuer format; the only one accepted on an Issuer.
const NameIDFormatEntity = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"

// DefaultMaxSkew is how far IssueInstant may be from now, either way, when
// Checks.MaxSkew is zero.
const DefaultMaxSkew = 5 * time.Minute

// Field length bounds on inbound messages.
const (
	maxIDBytes     = 256
	maxIssuerBytes = 1024
	maxURLBytes    = 2048
	maxValueBytes  = 1024
)

// Check errors.
var (
	// ErrVersion means Version is not "2.0".
	ErrVersion = errors.New("saml: version must be 2.0")
	// ErrStale means IssueInstant is too far in the past or the future.
	ErrStale = errors.New("saml: IssueInstant outside the allowed window")
	// ErrDestination means Destination is not the endpoint the message was received at.
	ErrDestination = errors.New("saml: wrong Destination")
	// ErrExpired means a LogoutRequest's NotOnOrAfter has passed.
	ErrExpired = errors.New("saml: message expired")
)

// Header holds the attributes and Issuer every SAML protocol message has.
type Header struct {
	ID           string
	Version      string
	IssueInstant time.Time
	Destination  string
	Issuer       string
}

// Checks are the addressing and freshness rules applied to an inbound
// message (IDP-07, IDP-13).
type Checks struct {
	// Destination is the absolute URL of the endpoint the message arrived
	// at. A message that names a Destination must name exactly this one; a
	// signed message must name one (SAML Bindings §3.4.5.2, §3.5.5.2).
	Destination string
	// MaxSkew bounds |IssueInstant − now|; zero means DefaultMaxSkew.
	MaxSkew time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (c Checks) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// CheckVersion fails unless v is "2.0".
func CheckVersion(v string) error {
	if v != "2.0" {
		return fmt.Errorf("%w: got %q", ErrVersion, v)
	}
	return nil
}

// CheckIssueInstant fails when instant is more than skew before or after now.
func CheckIssueInstant(instant, now time.Time, skew time.Duration) error {
	if instant.IsZero() {
		return fmt.Errorf("%w: no IssueInstant", ErrStale)
	}
	if d := now.Sub(instant); d > skew {
		return fmt.Errorf("%w: issued %s ago, limit %s", ErrStale, d.Round(time.Second), skew)
	} else if -d > skew {
		return fmt.Errorf("%w: issued %s in the future, limit %s", ErrStale, (-d).Round(time.Second), skew)
	}
	return nil
}

// CheckDestination fails when got is set and differs from want (exact,
// case-sensitive string comparison), or when the message is signed and got
// is empty.
func CheckDestination(got, want string, signed bool) error {
	if want == "" {
		return fmt.Errorf("%w: no expected destination configured", ErrDestination)
	}
	if got == "" {
		if signed {
			return fmt.Errorf("%w: a signed message must name its Destination", ErrDestination)
		}
		return nil
	}
	if got != want {
		return fmt.Errorf("%w: %q, expected %q", ErrDestination, got, want)
	}
	return nil
}

func (h *Header) check(c Checks, signed bool) error {
	skew := c.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	return errors.Join(
		CheckVersion(h.Version),
		CheckIssueInstant(h.IssueInstant, c.now(), skew),
		CheckDestination(h.Destination, c.Destination, signed),
	)
}

// sigState remembers how an inbound message was signed until Verify.
type sigState struct {
	redirect *redirectMessage // Redirect binding
	root     *etree.Element   // POST binding: the parsed root
	sigEl    *etree.Element   // POST binding: its enveloped ds:Signature
}

func (s *sigState) signed() bool {
	if s == nil {
		return false
	}
	if s.redirect != nil {
		return s.redirect.hasSig
	}
	return s.sigEl != nil
}

// verify checks the signature. For the POST binding it returns the element
// goxmldsig verified, from which the caller re-reads every field.
func (s *sigState) verify(certs []*x509.Certificate, opts VerifyOptions) (*etree.Element, error) {
	if s == nil {
		return nil, ErrUnsigned
	}
	if s.redirect != nil {
		return nil, s.redirect.verify(certs, opts)
	}
	if s.sigEl == nil {
		return nil, ErrUnsigned
	}
	if err := checkXMLSignatureShape(s.root, s.sigEl, opts); err != nil {
		return nil, err
	}
	if err := checkCertKeys(certs); err != nil {
		return nil, err
	}
	var last error
	for _, c := range certs {
		ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{c}})
		// Keys in SP metadata are trusted as configured; their certificate
		// dates are not checked (SAML V2.0 Metadata Interoperability Profile).
		ctx.Clock = dsig.NewFakeClockAt(c.NotBefore)
		v, err := validateNoPanic(ctx, s.root)
		if err == nil {
			return v, nil
		}
		last = err
	}
	return nil, fmt.Errorf("%w: %v", ErrSignature, last)
}

func validateNoPanic(ctx *dsig.ValidationContext, el *etree.Element) (v *etree.Element, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, errors.New("signature validation panicked")
		}
	}()
	return ctx.Validate(el)
}

// checkXMLSignatureShape enforces, before goxmldsig runs: one SignedInfo,
// an allowed SignatureMethod, exactly one Reference, to the root's ID, with
// an allowed DigestMethod.
func checkXMLSignatureShape(root, sigEl *etree.Element, opts VerifyOptions) error {
	id := root.SelectAttrValue("ID", "")
	if id == "" {
		return fmt.Errorf("%w: signed element has no ID", ErrMalformed)
	}
	si := children(sigEl, nsDSig, "SignedInfo")
	if len(si) != 1 {
		return fmt.Errorf("%w: Signature needs exactly one SignedInfo", ErrSignature)
	}
	sm := children(si[0], nsDSig, "SignatureMethod")
	if len(sm) != 1 {
		return fmt.Errorf("%w: SignedInfo needs exactly one SignatureMethod", ErrSignature)
	}
	if _, err := opts.sigAlgAllowed(sm[0].SelectAttrValue("Algorithm", "")); err != nil {
		return err
	}
	refs := children(si[0], nsDSig, "Reference")
	if len(refs) != 1 {
		return fmt.Errorf("%w: SignedInfo needs exactly one Reference", ErrSignature)
	}
	if uri := refs[0].SelectAttrValue("URI", ""); uri != "#"+id {
		return fmt.Errorf("%w: Reference %q does not point at the message", ErrSignature, uri)
	}
	dm := children(refs[0], nsDSig, "DigestMethod")
	if len(dm) != 1 {
		return fmt.Errorf("%w: Reference needs exactly one DigestMethod", ErrSignature)
	}
	return opts.digestAllowed(dm[0].SelectAttrValue("Algorithm", ""))
}

// readRedirect decodes a Redirect-binding message from the raw query.
func readRedirect(rawQuery, param string) (*etree.Element, *sigState, string, error) {
	m, err := parseRedirectQuery(rawQuery, param)
	if err != nil {
		return nil, nil, "", err
	}
	doc, err := ParseUntrusted(m.xml, MaxMessageBytes)
	if err != nil {
		return nil, nil, "", err
	}
	return doc.Root(), &sigState{redirect: m}, m.relayState, nil
}

// readPOST decodes a POST-binding message from its base64 form value.
func readPOST(b64, relayState string) (*etree.Element, *sigState, error) {
	if err := checkRelayState(relayState); err != nil {
		return nil, nil, err
	}
	raw, err := DecodeBase64(b64, MaxMessageBytes)
	if err != nil {
		return nil, nil, err
	}
	doc, err := ParseUntrusted(raw, MaxMessageBytes)
	if err != nil {
		return nil, nil, err
	}
	root := doc.Root()
	st := &sigState{root: root}
	all := 0
	for _, el := range root.FindElements("//Signature") {
		if el.NamespaceURI() == nsDSig {
			all++
		}
	}
	direct := children(root, nsDSig, "Signature")
	switch {
	case all == 0:
	case all == 1 && len(direct) == 1:
		st.sigEl = direct[0]
	default:
		return nil, nil, fmt.Errorf("%w: only one enveloped signature, on the message itself, is accepted", ErrMalformed)
	}
	return root, st, nil
}

// children returns el's child elements with the given namespace and local name.
func children(el *etree.Element, ns, tag string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == ns {
			out = append(out, c)
		}
	}
	return out
}

// optChild returns the single optional child, failing when there are several.
func optChild(el *etree.Element, ns, tag string) (*etree.Element, error) {
	cs := children(el, ns, tag)
	switch len(cs) {
	case 0:
		return nil, nil
	case 1:
		return cs[0], nil
	}
	return nil, fmt.Errorf("%w: more than one <%s>", ErrMalformed, tag)
}

func is(el *etree.Element, ns, tag string) bool {
	return el != nil && el.Tag == tag && el.NamespaceURI() == ns
}

// attr reads an optional attribute, bounding its length.
func attr(el *etree.Element, name string, limit int) (string, error) {
	v := el.SelectAttrValue(name, "")
	if len(v) > limit {
		return "", fmt.Errorf("%w: %s longer than %d bytes", ErrMalformed, name, limit)
	}
	return v, nil
}

func boolAttr(el *etree.Element, name string) (bool, error) {
	switch v := strings.TrimSpace(el.SelectAttrValue(name, "")); v {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	default:
		return false, fmt.Errorf("%w: %s=%q is not a boolean", ErrMalformed, name, v)
	}
}

// ParseTime parses an xs:dateTime as SAML uses it (UTC, RFC 3339).
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: bad time %q", ErrMalformed, s)
	}
	return t.UTC(), nil
}

func optTime(el *etree.Element, name string) (time.Time, error) {
	v := el.SelectAttrValue(name, "")
	if v == "" {
		return time.Time{}, nil
	}
	return ParseTime(v)
}

// text returns el's trimmed text, bounded.
func text(el *etree.Element, limit int) (string, error) {
	if len(el.ChildElements()) != 0 {
		return "", fmt.Errorf("%w: <%s> must hold text only", ErrMalformed, el.Tag)
	}
	v := strings.TrimSpace(el.Text())
	if len(v) > limit {
		return "", fmt.Errorf("%w: <%s> longer than %d bytes", ErrMalformed, el.Tag, limit)
	}
	return v, nil
}

// readHeader reads the common attributes and the Issuer of root, which must
// be the protocol element tag.
func readHeader(root *etree.Element, tag string) (Header, error) {
	var h Header
	if !is(root, NSProtocol, tag) {
		return h, fmt.Errorf("%w: expected a samlp:%s, got <%s>", ErrMalformed, tag, root.Tag)
	}
	var err error
	if h.ID, err = attr(root, "ID", maxIDBytes); err != nil {
		return h, err
	}
	if h.ID == "" || strings.IndexFunc(h.ID, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return h, fmt.Errorf("%w: missing or invalid ID", ErrMalformed)
	}
	if h.Version, err = attr(root, "Version", 16); err != nil {
		return h, err
	}
	if h.IssueInstant, err = ParseTime(root.SelectAttrValue("IssueInstant", "")); err != nil {
		return h, err
	}
	if h.Destination, err = attr(root, "Destination", maxURLBytes); err != nil {
		return h, err
	}
	iss, err := optChild(root, NSAssertion, "Issuer")
	if err != nil {
		return h, err
	}
	if iss == nil {
		return h, fmt.Errorf("%w: no Issuer", ErrMalformed)
	}
	if f := iss.SelectAttrValue("Format", ""); f != "" && f != NameIDFormatEntity {
		return h, fmt.Errorf("%w: Issuer Format must be entity", ErrMalformed)
	}
	if h.Issuer, err = text(iss, maxIssuerBytes); err != nil {
		return h, err
	}
	if h.Issuer == "" {
		return h, fmt.Errorf("%w: empty Issuer", ErrMalformed)
	}
	return h, nil
}

// NameIDPolicy is an AuthnRequest's NameIDPolicy.
type NameIDPolicy struct {
	Format          string
	SPNameQualifier string
	AllowCreate     bool
}

// RequestedAuthnContext is an AuthnRequest's RequestedAuthnContext.
type RequestedAuthnContext struct {
	// Comparison is exact (the default), minimum, maximum or better.
	Comparison string
	ClassRefs  []string
	DeclRefs   []string
}

// AuthnRequest is a parsed samlp:AuthnRequest.
type AuthnRequest struct {
	Header
	AssertionConsumerServiceURL string
	// AssertionConsumerServiceIndex is nil when the request names no index.
	AssertionConsumerServiceIndex *int
	ProtocolBinding               string
	ForceAuthn                    bool
	IsPassive                     bool
	NameIDPolicy                  *NameIDPolicy
	RequestedAuthnContext         *RequestedAuthnContext

	Envelope
}

// ParseAuthnRequestRedirect parses an AuthnRequest from the raw query string
// of an HTTP-Redirect binding request (r.URL.RawQuery, not the decoded
// form), keeping the raw values so Verify can check the signature over the
// exact bytes received.
func ParseAuthnRequestRedirect(rawQuery string) (*AuthnRequest, error) {
	return parseRedirect(rawQuery, "SAMLRequest", authnRequestFrom)
}

// ParseAuthnRequestPOST parses an AuthnRequest from the HTTP-POST binding's
// SAMLRequest form value (base64) and RelayState.
func ParseAuthnRequestPOST(samlRequest, relayState string) (*AuthnRequest, error) {
	return parsePOST(samlRequest, relayState, authnRequestFrom)
}

// Verify checks the request's signature against the SP's certificates (any
// one may match, for rollover). It returns ErrUnsigned when there is no
// signature. For the POST binding every field is then re-read from the bytes
// goxmldsig verified.
func (r *AuthnRequest) Verify(certs []*x509.Certificate, opts VerifyOptions) error {
	nr, err := verifyMessage(r, certs, opts, authnRequestFrom)
	*r = *nr
	return err
}

// Check applies the version, freshness and destination rules.
func (r *AuthnRequest) Check(c Checks) error { return r.Header.check(c, r.Signed) }

func authnRequestFrom(root *etree.Element) (*AuthnRequest, error) {
	h, err := readHeader(root, "AuthnRequest")
	if err != nil {
		return nil, err
	}
	r := &AuthnRequest{Header: h}
	if r.AssertionConsumerServiceURL, err = attr(root, "AssertionConsumerServiceURL", maxURLBytes); err != nil {
		return nil, err
	}
	if v := root.SelectAttrValue("AssertionConsumerServiceIndex", ""); v != "" {
		i, err := strconv.ParseUint(strings.TrimSpace(v), 10, 16)
		if err != nil {
			return nil, fmt.Errorf("%w: bad AssertionConsumerServiceIndex", ErrMalformed)
		}
		n := int(i)
		r.AssertionConsumerServiceIndex = &n
	}
	if r.ProtocolBinding, err = attr(root, "ProtocolBinding", maxValueBytes); err != nil {
		return nil, err
	}
	if r.ForceAuthn, err = boolAttr(root, "ForceAuthn"); err != nil {
		return nil, err
	}
	if r.IsPassive, err = boolAttr(root, "IsPassive"); err != nil {
		return nil, err
	}
	pol, err := optChild(root, NSProtocol, "NameIDPolicy")
	if err != nil {
		return nil, err
	}
	if pol != nil {
		p := &NameIDPolicy{}
		if p.Format, err = attr(pol, "Format", maxValueBytes); err != nil {
			return nil, err
		}
		if p.SPNameQualifier, err = attr(pol, "SPNameQualifier", maxValueBytes); err != nil {
			return nil, err
		}
		if p.AllowCreate, err = boolAttr(pol, "AllowCreate"); err != nil {
			return nil, err
		}
		r.NameIDPolicy = p
	}
	rac, err := optChild(root, NSProtocol, "RequestedAuthnContext")
	if err != nil {
		return nil, err
	}
	if rac != nil {
		c := &RequestedAuthnContext{Comparison: rac.SelectAttrValue("Comparison", "exact")}
		switch c.Comparison {
		case "exact", "minimum", "maximum", "better":
		default:
			return nil, fmt.Errorf("%w: bad Comparison %q", ErrMalformed, c.Comparison)
		}
		for _, el := range children(rac, NSAssertion, "AuthnContextClassRef") {
			v, err := text(el, maxValueBytes)
			if err != nil {
				return nil, err
			}
			c.ClassRefs = append(c.ClassRefs, v)
		}
		for _, el := range children(rac, NSAssertion, "AuthnContextDeclRef") {
			v, err := text(el, maxValueBytes)
			if err != nil {
				return nil, err
			}
			c.DeclRefs = append(c.DeclRefs, v)
		}
		if len(c.ClassRefs) == 0 && len(c.DeclRefs) == 0 {
			return nil, fmt.Errorf("%w: empty RequestedAuthnContext", ErrMalformed)
		}
		r.RequestedAuthnContext = c
	}
	if r.AssertionConsumerServiceURL != "" && r.AssertionConsumerServiceIndex != nil {
		return nil, fmt.Errorf("%w: AssertionConsumerServiceURL and AssertionConsumerServiceIndex are exclusive", ErrMalformed)
	}
	return r, nil
}
