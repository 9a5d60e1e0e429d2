package saml

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// ErrEndpointURL means an endpoint location is not an acceptable URL (IDP-03).
var ErrEndpointURL = errors.New("saml: endpoint URL refused")

// ValidateEndpointURL accepts an absolute https URL with a host, or an http
// URL whose host is loopback (localhost, 127.0.0.0/8, ::1; for testing). It
// refuses every other scheme (javascript:, data:, …), user information,
// fragments, whitespace, control characters, quotes and angle brackets
// (IDP-03).
func ValidateEndpointURL(s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty", ErrEndpointURL)
	}
	if len(s) > maxURLBytes {
		return fmt.Errorf("%w: longer than %d bytes", ErrEndpointURL, maxURLBytes)
	}
	if i := strings.IndexFunc(s, func(r rune) bool {
		return r <= 0x20 || r >= 0x7f || strings.ContainsRune("\"'<>\\`{}|^#", r)
	}); i >= 0 {
		return fmt.Errorf("%w: %q contains a character that must be percent-encoded", ErrEndpointURL, s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrEndpointURL, err)
	}
	if !u.IsAbs() || u.Opaque != "" || u.Host == "" {
		return fmt.Errorf("%w: %q is not an absolute URL with a host", ErrEndpointURL, s)
	}
	if u.User != nil {
		return fmt.Errorf("%w: %q has user information", ErrEndpointURL, s)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return fmt.Errorf("%w: %q: http is allowed only for loopback hosts", ErrEndpointURL, s)
		}
	default:
		return fmt.Errorf("%w: %q: scheme must be https", ErrEndpointURL, s)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%w: %q has no host", ErrEndpointURL, s)
	}
	return nil
}

func isLoopback(host string) bool {
	h := strings.ToLower(host)
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Endpoint is a metadata endpoint (AssertionConsumerService, SingleLogoutService).
type Endpoint struct {
	Binding          string
	Location         string
	ResponseLocation string // SingleLogoutService only; empty means Location
	// Index and IsDefault are for AssertionConsumerService; IsDefault is
	// nil when the attribute is absent.
	Index     int
	IsDefault *bool
}

// SPMetadata is what idcenter reads from an SP's metadata.
type SPMetadata struct {
	EntityID                  string
	ValidUntil                time.Time // zero when absent
	AuthnRequestsSigned       bool
	WantAssertionsSigned      bool
	AssertionConsumerServices []Endpoint
	SingleLogoutServices      []Endpoint
	// Certificates from KeyDescriptors with use="signing" or no use go to
	// SigningCertificates; use="encryption" or no use to
	// EncryptionCertificates. Encrypting stays the admin's choice.
	SigningCertificates    []*x509.Certificate
	EncryptionCertificates []*x509.Certificate
	NameIDFormats          []string
	// SourceURL is the URL FetchSPMetadata fetched the document from;
	// empty for metadata parsed from bytes.
	SourceURL string

	raw []byte // the document, for VerifySignature
}

const (
	maxEndpoints = 64
	maxCerts     = 16
)

// ParseSPMetadata parses untrusted SP metadata: one EntityDescriptor (or an
// EntitiesDescriptor holding exactly one) with one SAML 2.0 SPSSODescriptor.
// Every endpoint location must pass ValidateEndpointURL, ACS indexes must be
// unique, and every certificate must parse.
func ParseSPMetadata(data []byte) (*SPMetadata, error) {
	doc, err := ParseUntrusted(data, MaxMetadataBytes)
	if err != nil {
		return nil, err
	}
	m, err := spMetadataFrom(doc.Root())
	if err != nil {
		return nil, err
	}
	m.raw = data
	return m, nil
}

// ErrMetadataSignature means SP metadata does not carry a valid signature
// by the expected certificate.
var ErrMetadataSignature = errors.New("saml: metadata signature")

// VerifySignature checks that the metadata document carries a valid
// enveloped XML signature by cert: on its root, or on the one
// EntityDescriptor of an EntitiesDescriptor root; exactly one Reference to
// the signed element's ID, RSA/ECDSA with SHA-256 or stronger (the same
// rules as signed requests). The certificate's dates are not checked: it
// is trusted as configured. The verified element is read again and must
// say exactly what the document said, so nothing outside the signature
// (or hidden from it, like comments) is used.
func (m *SPMetadata) VerifySignature(cert *x509.Certificate) error {
	if m == nil || m.raw == nil {
		return fmt.Errorf("%w: the metadata document is not available", ErrMetadataSignature)
	}
	if cert == nil {
		return fmt.Errorf("%w: no certificate", ErrMetadataSignature)
	}
	doc, err := ParseUntrusted(m.raw, MaxMetadataBytes)
	if err != nil {
		return err
	}
	el := doc.Root()
	sigs := children(el, nsDSig, "Signature")
	if len(sigs) == 0 && is(el, NSMetadata, "EntitiesDescriptor") {
		if eds := children(el, NSMetadata, "EntityDescriptor"); len(eds) == 1 {
			el, sigs = eds[0], children(eds[0], nsDSig, "Signature")
		}
	}
	switch len(sigs) {
	case 0:
		return fmt.Errorf("%w: the metadata is not signed", ErrMetadataSignature)
	case 1:
	default:
		return fmt.Errorf("%w: the metadata has %d signatures, want one", ErrMetadataSignature, len(sigs))
	}
	st := &sigState{root: el, sigEl: sigs[0]}
	verified, err := st.verify([]*x509.Certificate{cert}, VerifyOptions{})
	if err != nil {
		return fmt.Errorf("%w: not signed by the metadata signing certificate (SHA-256 %X): %v", ErrMetadataSignature, sha256.Sum256(cert.Raw), err)
	}
	signed, err := spMetadataFrom(verified)
	if err != nil {
		return fmt.Errorf("%w: the signed content cannot be read: %v", ErrMetadataSignature, err)
	}
	a, b := *m, *signed
	a.raw, a.SourceURL, b.raw, b.SourceURL = nil, "", nil, ""
	if !reflect.DeepEqual(a, b) {
		return fmt.Errorf("%w: the signed content differs from the document", ErrMetadataSignature)
	}
	return nil
}

// spMetadataFrom reads SP metadata from its root element.
func spMetadataFrom(ed *etree.Element) (*SPMetadata, error) {
	var err error
	if is(ed, NSMetadata, "EntitiesDescriptor") {
		eds := children(ed, NSMetadata, "EntityDescriptor")
		if len(eds) != 1 {
			return nil, fmt.Errorf("%w: EntitiesDescriptor must hold exactly one EntityDescriptor, has %d", ErrMalformed, len(eds))
		}
		ed = eds[0]
	}
	if !is(ed, NSMetadata, "EntityDescriptor") {
		return nil, fmt.Errorf("%w: root must be an md:EntityDescriptor, got <%s>", ErrMalformed, ed.Tag)
	}
	m := &SPMetadata{}
	if m.EntityID, err = attr(ed, "entityID", maxIssuerBytes); err != nil {
		return nil, err
	}
	m.EntityID = strings.TrimSpace(m.EntityID)
	if m.EntityID == "" {
		return nil, fmt.Errorf("%w: no entityID", ErrMalformed)
	}
	if err := checkXMLString(m.EntityID, false); err != nil {
		return nil, fmt.Errorf("%w: entityID: %v", ErrMalformed, err)
	}
	if m.ValidUntil, err = optTime(ed, "validUntil"); err != nil {
		return nil, err
	}
	var sp *etree.Element
	for _, d := range children(ed, NSMetadata, "SPSSODescriptor") {
		if slicesContainsField(d.SelectAttrValue("protocolSupportEnumeration", ""), NSProtocol) {
			if sp != nil {
				return nil, fmt.Errorf("%w: more than one SAML 2.0 SPSSODescriptor", ErrMalformed)
			}
			sp = d
		}
	}
	if sp == nil {
		return nil, fmt.Errorf("%w: no SAML 2.0 SPSSODescriptor", ErrMalformed)
	}
	if m.AuthnRequestsSigned, err = boolAttr(sp, "AuthnRequestsSigned"); err != nil {
		return nil, err
	}
	if m.WantAssertionsSigned, err = boolAttr(sp, "WantAssertionsSigned"); err != nil {
		return nil, err
	}
	for _, kd := range children(sp, NSMetadata, "KeyDescriptor") {
		use := kd.SelectAttrValue("use", "")
		if use != "" && use != "signing" && use != "encryption" {
			return nil, fmt.Errorf("%w: KeyDescriptor use=%q", ErrMalformed, use)
		}
		certs, err := keyDescriptorCerts(kd)
		if err != nil {
			return nil, err
		}
		if use != "encryption" {
			m.SigningCertificates = append(m.SigningCertificates, certs...)
		}
		if use != "signing" {
			m.EncryptionCertificates = append(m.EncryptionCertificates, certs...)
		}
		if len(m.SigningCertificates)+len(m.EncryptionCertificates) > 2*maxCerts {
			return nil, fmt.Errorf("%w: too many certificates", ErrMalformed)
		}
	}
	for _, el := range children(sp, NSMetadata, "SingleLogoutService") {
		e, err := readEndpoint(el, false)
		if err != nil {
			return nil, err
		}
		m.SingleLogoutServices = append(m.SingleLogoutServices, e)
	}
	for _, el := range children(sp, NSMetadata, "NameIDFormat") {
		v, err := text(el, maxValueBytes)
		if err != nil {
			return nil, err
		}
		if v != "" {
			m.NameIDFormats = append(m.NameIDFormats, v)
		}
	}
	seen := map[int]bool{}
	for _, el := range children(sp, NSMetadata, "AssertionConsumerService") {
		e, err := readEndpoint(el, true)
		if err != nil {
			return nil, err
		}
		if seen[e.Index] {
			return nil, fmt.Errorf("%w: AssertionConsumerService index %d used twice", ErrMalformed, e.Index)
		}
		seen[e.Index] = true
		m.AssertionConsumerServices = append(m.AssertionConsumerServices, e)
	}
	if len(m.AssertionConsumerServices) == 0 {
		return nil, fmt.Errorf("%w: no AssertionConsumerService", ErrMalformed)
	}
	if len(m.AssertionConsumerServices) > maxEndpoints || len(m.SingleLogoutServices) > maxEndpoints {
		return nil, fmt.Errorf("%w: more than %d endpoints", ErrMalformed, maxEndpoints)
	}
	return m, nil
}

func slicesContainsField(s, want string) bool {
	for f := range strings.FieldsSeq(s) {
		if f == want {
			return true
		}
	}
	return false
}

func readEndpoint(el *etree.Element, indexed bool) (Endpoint, error) {
	var e Endpoint
	var err error
	if e.Binding, err = attr(el, "Binding", maxValueBytes); err != nil {
		return e, err
	}
	if e.Binding == "" {
		return e, fmt.Errorf("%w: <%s> without Binding", ErrMalformed, el.Tag)
	}
	e.Location = el.SelectAttrValue("Location", "")
	if err := ValidateEndpointURL(e.Location); err != nil {
		return e, fmt.Errorf("%s Location: %w", el.Tag, err)
	}
	if !indexed {
		if e.ResponseLocation = el.SelectAttrValue("ResponseLocation", ""); e.ResponseLocation != "" {
			if err := ValidateEndpointURL(e.ResponseLocation); err != nil {
				return e, fmt.Errorf("%s ResponseLocation: %w", el.Tag, err)
			}
		}
		return e, nil
	}
	idx := strings.TrimSpace(el.SelectAttrValue("index", ""))
	n, err := strconv.ParseUint(idx, 10, 16)
	if err != nil {
		return e, fmt.Errorf("%w: <%s> needs an index between 0 and 65535, got %q", ErrMalformed, el.Tag, idx)
	}
	e.Index = int(n)
	if el.SelectAttr("isDefault") != nil {
		d, err := boolAttr(el, "isDefault")
		if err != nil {
			return e, err
		}
		e.IsDefault = &d
	}
	return e, nil
}

func keyDescriptorCerts(kd *etree.Element) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, ki := range children(kd, nsDSig, "KeyInfo") {
		for _, xd := range children(ki, nsDSig, "X509Data") {
			for _, xc := range children(xd, nsDSig, "X509Certificate") {
				if len(out) >= maxCerts {
					return nil, fmt.Errorf("%w: too many certificates", ErrMalformed)
				}
				der, err := DecodeBase64(xc.Text(), 64<<10)
				if err != nil {
					return nil, fmt.Errorf("%w: KeyDescriptor certificate: %v", ErrMalformed, err)
				}
				c, err := x509.ParseCertificate(der)
				if err != nil {
					return nil, fmt.Errorf("%w: KeyDescriptor certificate: %v", ErrMalformed, err)
				}
				out = append(out, c)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: KeyDescriptor without an X509Certificate", ErrMalformed)
	}
	return out, nil
}

// ErrACS means no registered AssertionConsumerService fits the request (IDP-01, IDP-02).
var ErrACS = errors.New("saml: no matching AssertionConsumerService")

// SelectACS picks the endpoint a Response is sent to. With a request URL it
// must equal a registered HTTP-POST location byte for byte (no
// normalization, IDP-01); with an index, that index must be registered for
// HTTP-POST; with neither (or req nil, IdP-initiated) the default endpoint is
// used: the first HTTP-POST one with isDefault="true", else the first without
// isDefault="false", else the first. A ProtocolBinding other than HTTP-POST
// is refused.
func SelectACS(registered []Endpoint, req *AuthnRequest) (Endpoint, error) {
	if req != nil && req.ProtocolBinding != "" && req.ProtocolBinding != BindingHTTPPOST {
		return Endpoint{}, fmt.Errorf("%w: binding %q not supported", ErrACS, req.ProtocolBinding)
	}
	var post []Endpoint
	for _, e := range registered {
		if e.Binding == BindingHTTPPOST {
			post = append(post, e)
		}
	}
	switch {
	case req != nil && req.AssertionConsumerServiceURL != "":
		for _, e := range post {
			if e.Location == req.AssertionConsumerServiceURL {
				return e, nil
			}
		}
		return Endpoint{}, fmt.Errorf("%w: %q is not a registered HTTP-POST ACS URL", ErrACS, req.AssertionConsumerServiceURL)
	case req != nil && req.AssertionConsumerServiceIndex != nil:
		for _, e := range post {
			if e.Index == *req.AssertionConsumerServiceIndex {
				return e, nil
			}
		}
		return Endpoint{}, fmt.Errorf("%w: index %d is not a registered HTTP-POST ACS", ErrACS, *req.AssertionConsumerServiceIndex)
	}
	if len(post) == 0 {
		return Endpoint{}, fmt.Errorf("%w: no HTTP-POST ACS registered", ErrACS)
	}
	for _, e := range post {
		if e.IsDefault != nil && *e.IsDefault {
			return e, nil
		}
	}
	for _, e := range post {
		if e.IsDefault == nil {
			return e, nil
		}
	}
	return post[0], nil
}

// IdPMetadata describes idcenter's metadata for one application.
type IdPMetadata struct {
	// ID is the EntityDescriptor's ID attribute when the document is
	// signed; empty means a random one.
	ID       string
	EntityID string
	// SigningCertificates are published as signing KeyDescriptors: the
	// current certificate, plus the next one during rotation.
	SigningCertificates     []*x509.Certificate
	WantAuthnRequestsSigned bool
	NameIDFormats           []string
	// SSOURL is published for both the HTTP-Redirect and HTTP-POST bindings.
	SSOURL string
	// SLOURL, when set, is published for both bindings.
	SLOURL string
	// ValidUntil and CacheDuration are left out when zero.
	ValidUntil    time.Time
	CacheDuration time.Duration
}

// BuildIdPMetadata returns the md:EntityDescriptor XML. With a signer the
// document is signed (enveloped, like a response); nil leaves it unsigned.
func BuildIdPMetadata(m IdPMetadata, signer *Signer) ([]byte, error) {
	b := newBuilder(nil, nil)
	b.strict("entityID", m.EntityID)
	b.url("SSO URL", m.SSOURL)
	if m.SLOURL != "" {
		b.url("SLO URL", m.SLOURL)
	}
	for _, f := range m.NameIDFormats {
		b.strict("NameIDFormat", f)
	}
	if m.EntityID == "" {
		b.fail(errors.New("saml: metadata needs an entity ID"))
	}
	if m.ID != "" && !isNCName(m.ID) {
		b.fail(fmt.Errorf("saml: metadata ID %q is not an XML name", m.ID))
	}
	if len(m.SigningCertificates) == 0 {
		b.fail(errors.New("saml: metadata needs a signing certificate"))
	}
	if b.err != nil {
		return nil, b.err
	}
	ed := etree.NewElement("md:EntityDescriptor")
	ed.CreateAttr("xmlns:md", NSMetadata)
	ed.CreateAttr("xmlns:ds", nsDSig)
	if signer != nil {
		id := m.ID
		if id == "" {
			id = b.id()
		}
		ed.CreateAttr("ID", id)
	}
	ed.CreateAttr("entityID", m.EntityID)
	if !m.ValidUntil.IsZero() {
		ed.CreateAttr("validUntil", formatTime(m.ValidUntil))
	}
	if m.CacheDuration > 0 {
		ed.CreateAttr("cacheDuration", fmt.Sprintf("PT%dS", int64(m.CacheDuration/time.Second)))
	}
	idp := ed.CreateElement("md:IDPSSODescriptor")
	idp.CreateAttr("protocolSupportEnumeration", NSProtocol)
	idp.CreateAttr("WantAuthnRequestsSigned", strconv.FormatBool(m.WantAuthnRequestsSigned))
	for _, c := range m.SigningCertificates {
		kd := idp.CreateElement("md:KeyDescriptor")
		kd.CreateAttr("use", "signing")
		kd.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
			SetText(base64.StdEncoding.EncodeToString(c.Raw))
	}
	if m.SLOURL != "" {
		for _, bind := range []string{BindingHTTPRedirect, BindingHTTPPOST} {
			s := idp.CreateElement("md:SingleLogoutService")
			s.CreateAttr("Binding", bind)
			s.CreateAttr("Location", m.SLOURL)
		}
	}
	for _, f := range m.NameIDFormats {
		idp.CreateElement("md:NameIDFormat").SetText(f)
	}
	for _, bind := range []string{BindingHTTPRedirect, BindingHTTPPOST} {
		s := idp.CreateElement("md:SingleSignOnService")
		s.CreateAttr("Binding", bind)
		s.CreateAttr("Location", m.SSOURL)
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	doc.SetRoot(ed)
	doc.Indent(2)
	if signer != nil {
		if err := signer.signEnveloped(ed); err != nil {
			return nil, err
		}
	}
	return doc.WriteToBytes()
}

// isNCName reports whether s is a plain XML NCName of ASCII letters,
// digits, '_', '-' and '.', starting with a letter or '_' (what IDs built
// here look like).
func isNCName(s string) bool {
	for i, r := range s {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return s != ""
}
