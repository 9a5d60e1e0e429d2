package saml

import (
	"crypto/x509"
	"fmt"

	"github.com/beevik/etree"
)

// Envelope is what every received protocol message carries besides its
// content: how it arrived and whether its signature was checked. It is
// embedded in AuthnRequest, LogoutRequest and LogoutResponse.
type Envelope struct {
	// Binding is BindingHTTPRedirect or BindingHTTPPOST.
	Binding string
	// RelayState is the decoded RelayState, passed back unchanged.
	RelayState string
	// Signed reports whether the message carries a signature (query
	// Signature, or an enveloped ds:Signature). Verified is set by Verify.
	Signed   bool
	Verified bool

	sig *sigState
}

func (e *Envelope) envelope() *Envelope { return e }

// received is a parsed message: its header and its envelope.
type received interface {
	header() *Header
	envelope() *Envelope
}

func (h *Header) header() *Header { return h }

// parseRedirect reads a message from an HTTP-Redirect query (param is
// SAMLRequest or SAMLResponse) and builds it with from.
func parseRedirect[M received](rawQuery, param string, from func(*etree.Element) (M, error)) (M, error) {
	var zero M
	root, st, rs, err := readRedirect(rawQuery, param)
	if err != nil {
		return zero, err
	}
	m, err := from(root)
	if err != nil {
		return zero, err
	}
	*m.envelope() = Envelope{Binding: BindingHTTPRedirect, RelayState: rs, sig: st, Signed: st.signed()}
	return m, nil
}

// parsePOST reads a message from an HTTP-POST form value.
func parsePOST[M received](value, relayState string, from func(*etree.Element) (M, error)) (M, error) {
	var zero M
	root, st, err := readPOST(value, relayState)
	if err != nil {
		return zero, err
	}
	m, err := from(root)
	if err != nil {
		return zero, err
	}
	*m.envelope() = Envelope{Binding: BindingHTTPPOST, RelayState: relayState, sig: st, Signed: st.signed()}
	return m, nil
}

// verifyMessage checks m's signature against certs (any one may match, for
// rollover). For the POST binding the message is re-read, with from, from
// the bytes goxmldsig verified and returned in m's place; its ID and issuer
// must not have changed. It returns ErrUnsigned when there is no signature.
func verifyMessage[M received](m M, certs []*x509.Certificate, opts VerifyOptions, from func(*etree.Element) (M, error)) (M, error) {
	env := m.envelope()
	v, err := env.sig.verify(certs, opts)
	if err != nil {
		return m, err
	}
	if v != nil {
		nm, err := from(v)
		if err != nil {
			return m, err
		}
		if nm.header().ID != m.header().ID || nm.header().Issuer != m.header().Issuer {
			return m, fmt.Errorf("%w: verified content differs", ErrSignature)
		}
		*nm.envelope() = *env
		m = nm
	}
	m.envelope().Verified = true
	return m, nil
}
