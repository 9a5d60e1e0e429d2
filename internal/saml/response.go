package saml

import (
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// Defaults for AssertionParams.
const (
	// DefaultAssertionLifetime is the Conditions and SubjectConfirmationData
	// NotOnOrAfter distance from now (SAML2Int: at most 5 minutes).
	DefaultAssertionLifetime = 5 * time.Minute
	// DefaultNotBeforeSkew is how far before now Conditions/NotBefore is set,
	// for SPs whose clock is behind.
	DefaultNotBeforeSkew = 2 * time.Minute
)

// Bounds on the user-controlled values of an assertion (IDP-12).
const (
	// MaxAttributeValueBytes bounds one attribute value, NameID or other text.
	MaxAttributeValueBytes = 1024
	// MaxAttributeValues bounds the number of attribute values in one assertion.
	MaxAttributeValues = 2000
)

// Name ID formats.
const (
	NameIDFormatUnspecified  = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	NameIDFormatEmailAddress = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	NameIDFormatPersistent   = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	NameIDFormatTransient    = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
)

// Attribute name formats.
const (
	AttrNameFormatUnspecified = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"
	AttrNameFormatBasic       = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
	AttrNameFormatURI         = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
)

// AuthnContextClassRef values idcenter emits and understands.
const (
	// AuthnContextPassword: signed in with a password over TLS, no second factor.
	AuthnContextPassword = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
	// AuthnContextMFA: signed in with more than one factor (password plus
	// TOTP or WebAuthn, or a user-verifying passkey): the REFEDS MFA profile.
	AuthnContextMFA = "https://refeds.org/profile/mfa"

	// Classes recognised in RequestedAuthnContext only.
	authnContextUnspecified   = "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified"
	authnContextPlainPassword = "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"
	authnContextMSMultiple    = "http://schemas.microsoft.com/claims/multipleauthn"
)

var authnRank = map[string]int{
	authnContextPlainPassword: 1,
	AuthnContextPassword:      2,
	AuthnContextMFA:           3,
	authnContextMSMultiple:    3,
}

// ChooseAuthnContext returns the AuthnContextClassRef to assert for a user
// authenticated at actual (AuthnContextPassword or AuthnContextMFA) under
// the SP's RequestedAuthnContext, or "" when the request cannot be met; the
// IdP then answers NoAuthnContext or asks for a stronger sign-in, never
// silently downgrades (IDP-14). Strength: Password < PasswordProtectedTransport
// < MFA; unknown classes only match exactly.
func ChooseAuthnContext(req *RequestedAuthnContext, actual string) string {
	if req == nil || len(req.ClassRefs) == 0 && len(req.DeclRefs) == 0 {
		return actual
	}
	if slices.Contains(req.ClassRefs, actual) && req.Comparison != "better" {
		return actual
	}
	if req.Comparison == "exact" || req.Comparison == "" {
		if slices.Contains(req.ClassRefs, authnContextUnspecified) {
			return actual
		}
		return ""
	}
	have, ok := authnRank[actual]
	if !ok {
		return ""
	}
	lo, hi := 1<<30, -1
	for _, c := range req.ClassRefs {
		if r, ok := authnRank[c]; ok {
			lo, hi = min(lo, r), max(hi, r)
		}
	}
	if hi < 0 {
		return ""
	}
	switch req.Comparison {
	case "minimum":
		if have >= lo {
			return actual
		}
	case "better":
		if have > lo {
			return actual
		}
	case "maximum":
		if have <= hi {
			return actual
		}
	}
	return ""
}

// Attribute is one saml:Attribute; each value becomes its own
// AttributeValue (SDP-IDP20).
type Attribute struct {
	Name         string
	NameFormat   string // AttrNameFormat…; empty leaves it out (unspecified)
	FriendlyName string
	Values       []string
}

// AssertionParams describes one SSO Response. Every string is checked (valid
// UTF-8, XML characters only, bounded) and written through etree, so no value
// can change the document's structure (IDP-12).
type AssertionParams struct {
	Issuer       string // IdP entity ID
	Audience     string // SP entity ID
	Destination  string // the ACS URL: Response Destination and SubjectConfirmationData Recipient
	InResponseTo string // the AuthnRequest ID; empty for IdP-initiated SSO

	NameID          string
	NameIDFormat    string // empty means NameIDFormatUnspecified
	SPNameQualifier string // optional

	SessionIndex         string // required; make one with NewID and keep it for logout
	AuthnInstant         time.Time
	AuthnContextClassRef string    // AuthnContextPassword or AuthnContextMFA
	SessionNotOnOrAfter  time.Time // zero leaves it out

	Attributes []Attribute

	NotBeforeSkew time.Duration // zero means DefaultNotBeforeSkew
	Lifetime      time.Duration // zero means DefaultAssertionLifetime
	Now           func() time.Time
	Rand          io.Reader // for IDs; nil means crypto/rand
}

// SignOptions chooses what BuildResponse signs, and whether it encrypts.
type SignOptions struct {
	SignResponse  bool
	SignAssertion bool
	// EncryptTo, when set, encrypts the (signed) assertion to this SP
	// certificate: AES-256-GCM content encryption, RSA-OAEP key transport.
	EncryptTo *x509.Certificate
}

// BuildResponse builds a successful samlp:Response with one Assertion
// holding one AuthnStatement, signs the assertion first and then the
// response as opts asks (RSA-SHA256, SHA-256 digests, exclusive c14n), and
// serializes it once. At least one of SignResponse and SignAssertion must be
// set.
func BuildResponse(p AssertionParams, signer *Signer, opts SignOptions) ([]byte, error) {
	if !opts.SignResponse && !opts.SignAssertion {
		return nil, errors.New("saml: sign the response, the assertion, or both")
	}
	if signer == nil {
		return nil, errors.New("saml: no signer")
	}
	b := newBuilder(p.Now, p.Rand)
	respID, asrtID := b.id(), b.id()
	b.strict("Issuer", p.Issuer)
	b.strict("Audience", p.Audience)
	b.url("Destination", p.Destination)
	b.strict("InResponseTo", p.InResponseTo)
	b.text("NameID", p.NameID)
	b.strict("NameID Format", p.NameIDFormat)
	b.strict("SPNameQualifier", p.SPNameQualifier)
	b.strict("SessionIndex", p.SessionIndex)
	b.strict("AuthnContextClassRef", p.AuthnContextClassRef)
	nvals := 0
	for _, a := range p.Attributes {
		b.strict("Attribute Name", a.Name)
		b.strict("Attribute NameFormat", a.NameFormat)
		b.strict("Attribute FriendlyName", a.FriendlyName)
		if a.Name == "" {
			b.fail(errors.New("saml: attribute without a name"))
		}
		for _, v := range a.Values {
			b.text("value of attribute "+a.Name, v)
		}
		nvals += len(a.Values)
	}
	if nvals > MaxAttributeValues {
		b.fail(fmt.Errorf("saml: %d attribute values, limit %d", nvals, MaxAttributeValues))
	}
	switch {
	case p.Issuer == "", p.Audience == "":
		b.fail(errors.New("saml: response needs Issuer and Audience"))
	case p.NameID == "":
		b.fail(errors.New("saml: response needs a NameID"))
	case p.SessionIndex == "":
		b.fail(errors.New("saml: response needs a SessionIndex"))
	case p.AuthnInstant.IsZero():
		b.fail(errors.New("saml: response needs an AuthnInstant"))
	case p.AuthnContextClassRef == "":
		b.fail(errors.New("saml: response needs an AuthnContextClassRef"))
	}
	if b.err != nil {
		return nil, b.err
	}
	lifetime, skew := p.Lifetime, p.NotBeforeSkew
	if lifetime <= 0 {
		lifetime = DefaultAssertionLifetime
	}
	if skew <= 0 {
		skew = DefaultNotBeforeSkew
	}
	now := b.now
	format := p.NameIDFormat
	if format == "" {
		format = NameIDFormatUnspecified
	}

	// The assertion declares the namespace it uses, so it canonicalizes and
	// encrypts the same standalone as inside the response. Signing rewrites
	// each signed element into its canonical form in place, so what is
	// serialized is exactly what was digested.
	a := etree.NewElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", NSAssertion)
	a.CreateAttr("ID", asrtID)
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", formatTime(now))
	a.CreateElement("saml:Issuer").SetText(p.Issuer)

	subj := a.CreateElement("saml:Subject")
	nid := subj.CreateElement("saml:NameID")
	nid.CreateAttr("Format", format)
	setOpt(nid, "SPNameQualifier", p.SPNameQualifier)
	nid.SetText(p.NameID)
	sc := subj.CreateElement("saml:SubjectConfirmation")
	sc.CreateAttr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
	scd := sc.CreateElement("saml:SubjectConfirmationData")
	setOpt(scd, "InResponseTo", p.InResponseTo)
	scd.CreateAttr("NotOnOrAfter", formatTime(now.Add(lifetime)))
	scd.CreateAttr("Recipient", p.Destination)

	cond := a.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", formatTime(now.Add(-skew)))
	cond.CreateAttr("NotOnOrAfter", formatTime(now.Add(lifetime)))
	cond.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(p.Audience)

	as := a.CreateElement("saml:AuthnStatement")
	as.CreateAttr("AuthnInstant", formatTime(p.AuthnInstant))
	as.CreateAttr("SessionIndex", p.SessionIndex)
	if !p.SessionNotOnOrAfter.IsZero() {
		as.CreateAttr("SessionNotOnOrAfter", formatTime(p.SessionNotOnOrAfter))
	}
	as.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText(p.AuthnContextClassRef)

	if len(p.Attributes) > 0 {
		st := a.CreateElement("saml:AttributeStatement")
		for _, at := range p.Attributes {
			ae := st.CreateElement("saml:Attribute")
			ae.CreateAttr("Name", at.Name)
			setOpt(ae, "NameFormat", at.NameFormat)
			setOpt(ae, "FriendlyName", at.FriendlyName)
			for _, v := range at.Values {
				// No xsi:type: exclusive c14n would drop the xs prefix
				// declaration it needs, leaving a QName schema validators refuse.
				ae.CreateElement("saml:AttributeValue").SetText(v)
			}
		}
	}
	if opts.SignAssertion {
		if err := signer.signEnveloped(a); err != nil {
			return nil, err
		}
	}

	resp := etree.NewElement("samlp:Response")
	resp.CreateAttr("xmlns:samlp", NSProtocol)
	resp.CreateAttr("xmlns:saml", NSAssertion)
	resp.CreateAttr("ID", respID)
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", formatTime(now))
	resp.CreateAttr("Destination", p.Destination)
	setOpt(resp, "InResponseTo", p.InResponseTo)
	resp.CreateElement("saml:Issuer").SetText(p.Issuer)
	resp.AddChild(statusElement(Status{Code: StatusSuccess}))
	if opts.EncryptTo != nil {
		enc, err := encryptAssertion(a, opts.EncryptTo, p.Rand)
		if err != nil {
			return nil, err
		}
		resp.AddChild(enc)
	} else {
		resp.AddChild(a)
	}
	if !opts.SignResponse {
		signer = nil
	}
	return finish(resp, signer)
}

// formatTime writes an xs:dateTime in UTC with second precision.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// builder collects the first validation error of a message being built.
type builder struct {
	now time.Time
	rnd io.Reader
	err error
}

func newBuilder(now func() time.Time, rnd io.Reader) *builder {
	b := &builder{rnd: rnd}
	if now != nil {
		b.now = now()
	} else {
		b.now = time.Now()
	}
	if b.rnd == nil {
		b.rnd = rand.Reader
	}
	return b
}

func (b *builder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

func (b *builder) id() string {
	id, err := NewID(b.rnd)
	b.fail(err)
	return id
}

// text checks a value written as element text: tab and newline allowed.
func (b *builder) text(what, v string) {
	if err := checkXMLString(v, true); err != nil {
		b.fail(fmt.Errorf("saml: %s: %w", what, err))
	}
}

// strict checks a value written as an attribute or identifier: no control
// characters at all, since attribute-value normalization would change them.
func (b *builder) strict(what, v string) {
	if err := checkXMLString(v, false); err != nil {
		b.fail(fmt.Errorf("saml: %s: %w", what, err))
	}
}

func (b *builder) url(what, v string) {
	if err := ValidateEndpointURL(v); err != nil {
		b.fail(fmt.Errorf("saml: %s: %w", what, err))
	}
}

// ErrValue means a value cannot be placed in an assertion unchanged.
var ErrValue = errors.New("value refused")

// checkXMLString refuses what would not survive an XML round trip byte for
// byte: invalid UTF-8, characters outside XML's Char production, carriage
// returns (normalized to newlines by parsers), C1 controls, and values longer
// than MaxAttributeValueBytes.
func checkXMLString(s string, allowTabNewline bool) error {
	if len(s) > MaxAttributeValueBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrValue, len(s), MaxAttributeValueBytes)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: not valid UTF-8", ErrValue)
	}
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n':
			if !allowTabNewline {
				return fmt.Errorf("%w: tab or newline", ErrValue)
			}
		case r < 0x20, r >= 0x7f && r <= 0x9f, r == 0xfffe, r == 0xffff:
			return fmt.Errorf("%w: control or non-XML character %U", ErrValue, r)
		}
	}
	return nil
}
