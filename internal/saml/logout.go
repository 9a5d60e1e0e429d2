package saml

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/beevik/etree"
)

// Status codes (SAML Core §3.2.2.2).
const (
	StatusSuccess             = "urn:oasis:names:tc:SAML:2.0:status:Success"
	StatusRequester           = "urn:oasis:names:tc:SAML:2.0:status:Requester"
	StatusResponder           = "urn:oasis:names:tc:SAML:2.0:status:Responder"
	StatusVersionMismatch     = "urn:oasis:names:tc:SAML:2.0:status:VersionMismatch"
	StatusAuthnFailed         = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
	StatusInvalidNameIDPolicy = "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy"
	StatusNoAuthnContext      = "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext"
	StatusNoPassive           = "urn:oasis:names:tc:SAML:2.0:status:NoPassive"
	StatusRequestDenied       = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"
	StatusRequestUnsupported  = "urn:oasis:names:tc:SAML:2.0:status:RequestUnsupported"
	StatusUnsupportedBinding  = "urn:oasis:names:tc:SAML:2.0:status:UnsupportedBinding"
	StatusPartialLogout       = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout"
	StatusUnknownPrincipal    = "urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal"
)

// Status is a samlp:Status: a top-level code, an optional second-level
// code, and an optional message.
type Status struct {
	Code    string
	SubCode string
	Message string
}

// NameID is a saml:NameID.
type NameID struct {
	Value           string
	Format          string
	NameQualifier   string
	SPNameQualifier string
}

// LogoutRequest is a parsed samlp:LogoutRequest.
type LogoutRequest struct {
	Header
	// NotOnOrAfter is zero when absent.
	NotOnOrAfter   time.Time
	Reason         string
	NameID         NameID
	SessionIndexes []string

	Envelope
}

// ParseLogoutRequestRedirect parses a LogoutRequest from the raw query string
// of an HTTP-Redirect binding request.
func ParseLogoutRequestRedirect(rawQuery string) (*LogoutRequest, error) {
	return parseRedirect(rawQuery, "SAMLRequest", logoutRequestFrom)
}

// ParseLogoutRequestPOST parses a LogoutRequest from the HTTP-POST binding's
// SAMLRequest form value and RelayState.
func ParseLogoutRequestPOST(samlRequest, relayState string) (*LogoutRequest, error) {
	return parsePOST(samlRequest, relayState, logoutRequestFrom)
}

// Verify checks the signature against the SP's certificates; see
// AuthnRequest.Verify. Logout messages must be signed (IDP-13), so callers
// treat ErrUnsigned as a refusal.
func (r *LogoutRequest) Verify(certs []*x509.Certificate, opts VerifyOptions) error {
	nr, err := verifyMessage(r, certs, opts, logoutRequestFrom)
	*r = *nr
	return err
}

// Check applies the version, freshness and destination rules, and refuses a
// request whose NotOnOrAfter has passed.
func (r *LogoutRequest) Check(c Checks) error {
	err := r.Header.check(c, r.Signed)
	if !r.NotOnOrAfter.IsZero() && !c.now().Before(r.NotOnOrAfter) {
		err = errors.Join(err, fmt.Errorf("%w: NotOnOrAfter %s", ErrExpired, r.NotOnOrAfter.Format(time.RFC3339)))
	}
	return err
}

func logoutRequestFrom(root *etree.Element) (*LogoutRequest, error) {
	h, err := readHeader(root, "LogoutRequest")
	if err != nil {
		return nil, err
	}
	r := &LogoutRequest{Header: h}
	if r.NotOnOrAfter, err = optTime(root, "NotOnOrAfter"); err != nil {
		return nil, err
	}
	if r.Reason, err = attr(root, "Reason", maxValueBytes); err != nil {
		return nil, err
	}
	if len(children(root, NSAssertion, "EncryptedID")) != 0 || len(children(root, NSAssertion, "BaseID")) != 0 {
		return nil, fmt.Errorf("%w: only a plain NameID is supported in LogoutRequest", ErrMalformed)
	}
	nid, err := optChild(root, NSAssertion, "NameID")
	if err != nil {
		return nil, err
	}
	if nid == nil {
		return nil, fmt.Errorf("%w: LogoutRequest has no NameID", ErrMalformed)
	}
	if r.NameID, err = readNameID(nid); err != nil {
		return nil, err
	}
	for _, el := range children(root, NSProtocol, "SessionIndex") {
		v, err := text(el, maxIDBytes)
		if err != nil {
			return nil, err
		}
		r.SessionIndexes = append(r.SessionIndexes, v)
	}
	return r, nil
}

func readNameID(el *etree.Element) (NameID, error) {
	var n NameID
	var err error
	if n.Value, err = text(el, maxValueBytes); err != nil {
		return n, err
	}
	if n.Value == "" {
		return n, fmt.Errorf("%w: empty NameID", ErrMalformed)
	}
	if n.Format, err = attr(el, "Format", maxValueBytes); err != nil {
		return n, err
	}
	if n.NameQualifier, err = attr(el, "NameQualifier", maxValueBytes); err != nil {
		return n, err
	}
	if n.SPNameQualifier, err = attr(el, "SPNameQualifier", maxValueBytes); err != nil {
		return n, err
	}
	return n, nil
}

// LogoutResponse is a parsed samlp:LogoutResponse (an SP's answer to a
// LogoutRequest the IdP propagated).
type LogoutResponse struct {
	Header
	InResponseTo string
	Status       Status

	Envelope
}

// ParseLogoutResponseRedirect parses a LogoutResponse from the raw query
// string of an HTTP-Redirect binding request.
func ParseLogoutResponseRedirect(rawQuery string) (*LogoutResponse, error) {
	return parseRedirect(rawQuery, "SAMLResponse", logoutResponseFrom)
}

// ParseLogoutResponsePOST parses a LogoutResponse from the HTTP-POST
// binding's SAMLResponse form value and RelayState.
func ParseLogoutResponsePOST(samlResponse, relayState string) (*LogoutResponse, error) {
	return parsePOST(samlResponse, relayState, logoutResponseFrom)
}

// Verify checks the signature; see AuthnRequest.Verify.
func (r *LogoutResponse) Verify(certs []*x509.Certificate, opts VerifyOptions) error {
	nr, err := verifyMessage(r, certs, opts, logoutResponseFrom)
	*r = *nr
	return err
}

// Check applies the version, freshness and destination rules.
func (r *LogoutResponse) Check(c Checks) error { return r.Header.check(c, r.Signed) }

func logoutResponseFrom(root *etree.Element) (*LogoutResponse, error) {
	h, err := readHeader(root, "LogoutResponse")
	if err != nil {
		return nil, err
	}
	r := &LogoutResponse{Header: h}
	if r.InResponseTo, err = attr(root, "InResponseTo", maxIDBytes); err != nil {
		return nil, err
	}
	st, err := optChild(root, NSProtocol, "Status")
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fmt.Errorf("%w: no Status", ErrMalformed)
	}
	code, err := optChild(st, NSProtocol, "StatusCode")
	if err != nil || code == nil {
		return nil, fmt.Errorf("%w: Status needs one StatusCode", ErrMalformed)
	}
	r.Status.Code = code.SelectAttrValue("Value", "")
	if sub, err := optChild(code, NSProtocol, "StatusCode"); err != nil {
		return nil, err
	} else if sub != nil {
		r.Status.SubCode = sub.SelectAttrValue("Value", "")
	}
	if msg, err := optChild(st, NSProtocol, "StatusMessage"); err != nil {
		return nil, err
	} else if msg != nil {
		if r.Status.Message, err = text(msg, maxValueBytes); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// LogoutResponseParams describes a LogoutResponse the IdP sends back to the
// SP that asked for logout.
type LogoutResponseParams struct {
	Issuer       string // IdP entity ID
	Destination  string // the SP's registered SLO (response) location
	InResponseTo string // the LogoutRequest's ID
	// Status defaults to Success. Use PartialLogout as SubCode when some
	// session participants could not be logged out (SDP-IDP31).
	Status Status
	Now    func() time.Time
	Rand   io.Reader
}

// BuildLogoutResponse builds a LogoutResponse. With a signer the XML carries
// an enveloped signature (POST binding); pass nil signer for the Redirect
// binding and sign the query with RedirectURL instead.
func BuildLogoutResponse(p LogoutResponseParams, signer *Signer) ([]byte, error) {
	if p.Status.Code == "" {
		p.Status.Code = StatusSuccess
	}
	root, err := statusResponseElement("LogoutResponse", p.Issuer, p.Destination, p.InResponseTo, p.Status, p.Now, p.Rand)
	if err != nil {
		return nil, err
	}
	return finish(root, signer)
}

// StatusResponseParams describes a samlp:Response that carries only a
// status: the answer to an AuthnRequest that cannot be satisfied (NoPassive,
// NoAuthnContext, InvalidNameIDPolicy, RequestDenied…; IDP-14).
type StatusResponseParams struct {
	Issuer       string
	Destination  string // the ACS URL chosen for the request
	InResponseTo string
	Status       Status
	Now          func() time.Time
	Rand         io.Reader
}

// BuildStatusResponse builds an error samlp:Response without an assertion,
// signed when signer is not nil.
func BuildStatusResponse(p StatusResponseParams, signer *Signer) ([]byte, error) {
	if p.Status.Code == "" || p.Status.Code == StatusSuccess {
		return nil, errors.New("saml: a status response needs an error status")
	}
	root, err := statusResponseElement("Response", p.Issuer, p.Destination, p.InResponseTo, p.Status, p.Now, p.Rand)
	if err != nil {
		return nil, err
	}
	return finish(root, signer)
}

// LogoutRequestParams describes a LogoutRequest the IdP sends to a session
// participant during single logout.
type LogoutRequestParams struct {
	Issuer         string // IdP entity ID
	Destination    string // the SP's SLO location
	NameID         NameID
	SessionIndexes []string
	Reason         string
	// Lifetime sets NotOnOrAfter; zero means DefaultAssertionLifetime.
	Lifetime time.Duration
	Now      func() time.Time
	Rand     io.Reader
}

// BuildLogoutRequest builds a LogoutRequest and returns it with its ID (to
// match the LogoutResponse). Sign as for BuildLogoutResponse.
func BuildLogoutRequest(p LogoutRequestParams, signer *Signer) ([]byte, string, error) {
	b := newBuilder(p.Now, p.Rand)
	id := b.id()
	b.strict("Issuer", p.Issuer)
	b.url("Destination", p.Destination)
	b.text("NameID", p.NameID.Value)
	b.strict("NameID Format", p.NameID.Format)
	b.strict("NameQualifier", p.NameID.NameQualifier)
	b.strict("SPNameQualifier", p.NameID.SPNameQualifier)
	b.strict("Reason", p.Reason)
	for _, s := range p.SessionIndexes {
		b.strict("SessionIndex", s)
	}
	if p.Issuer == "" || p.NameID.Value == "" {
		b.fail(errors.New("saml: LogoutRequest needs an Issuer and a NameID"))
	}
	if b.err != nil {
		return nil, "", b.err
	}
	lifetime := p.Lifetime
	if lifetime <= 0 {
		lifetime = DefaultAssertionLifetime
	}
	root := etree.NewElement("samlp:LogoutRequest")
	root.CreateAttr("xmlns:samlp", NSProtocol)
	root.CreateAttr("xmlns:saml", NSAssertion)
	root.CreateAttr("ID", id)
	root.CreateAttr("Version", "2.0")
	root.CreateAttr("IssueInstant", formatTime(b.now))
	root.CreateAttr("Destination", p.Destination)
	root.CreateAttr("NotOnOrAfter", formatTime(b.now.Add(lifetime)))
	if p.Reason != "" {
		root.CreateAttr("Reason", p.Reason)
	}
	root.CreateElement("saml:Issuer").SetText(p.Issuer)
	nid := root.CreateElement("saml:NameID")
	setOpt(nid, "Format", p.NameID.Format)
	setOpt(nid, "NameQualifier", p.NameID.NameQualifier)
	setOpt(nid, "SPNameQualifier", p.NameID.SPNameQualifier)
	nid.SetText(p.NameID.Value)
	for _, s := range p.SessionIndexes {
		root.CreateElement("samlp:SessionIndex").SetText(s)
	}
	out, err := finish(root, signer)
	return out, id, err
}

// statusResponseElement builds a StatusResponseType element (Response or
// LogoutResponse) with Issuer and Status.
func statusResponseElement(tag, issuer, dest, inResponseTo string, st Status, now func() time.Time, rnd io.Reader) (*etree.Element, error) {
	b := newBuilder(now, rnd)
	id := b.id()
	b.strict("Issuer", issuer)
	b.url("Destination", dest)
	b.strict("InResponseTo", inResponseTo)
	b.strict("StatusCode", st.Code)
	b.strict("StatusCode", st.SubCode)
	b.text("StatusMessage", st.Message)
	if issuer == "" {
		b.fail(errors.New("saml: response needs an Issuer"))
	}
	if b.err != nil {
		return nil, b.err
	}
	root := etree.NewElement("samlp:" + tag)
	root.CreateAttr("xmlns:samlp", NSProtocol)
	root.CreateAttr("xmlns:saml", NSAssertion)
	root.CreateAttr("ID", id)
	root.CreateAttr("Version", "2.0")
	root.CreateAttr("IssueInstant", formatTime(b.now))
	root.CreateAttr("Destination", dest)
	setOpt(root, "InResponseTo", inResponseTo)
	root.CreateElement("saml:Issuer").SetText(issuer)
	root.AddChild(statusElement(st))
	return root, nil
}

func statusElement(st Status) *etree.Element {
	s := etree.NewElement("samlp:Status")
	code := s.CreateElement("samlp:StatusCode")
	code.CreateAttr("Value", st.Code)
	if st.SubCode != "" {
		code.CreateElement("samlp:StatusCode").CreateAttr("Value", st.SubCode)
	}
	if st.Message != "" {
		s.CreateElement("samlp:StatusMessage").SetText(st.Message)
	}
	return s
}

// finish signs root when signer is set and serializes it once.
func finish(root *etree.Element, signer *Signer) ([]byte, error) {
	if signer != nil {
		if err := signer.signEnveloped(root); err != nil {
			return nil, err
		}
	}
	doc := etree.NewDocument()
	doc.SetRoot(root)
	return doc.WriteToBytes()
}

func setOpt(el *etree.Element, name, value string) {
	if value != "" {
		el.CreateAttr(name, value)
	}
}
