package saml

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	_ "crypto/sha256" // SHA-256 for signatures and digests
	_ "crypto/sha512" // SHA-384 and SHA-512 for signatures and digests
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"unicode/utf8"

	dsig "github.com/russellhaering/goxmldsig"
)

// Binding URIs (SAML Bindings §3).
const (
	BindingHTTPRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	BindingHTTPPOST     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
	BindingHTTPArtifact = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"
)

// Signature algorithm URIs accepted on inbound messages (SigAlg of the
// Redirect binding, SignatureMethod of an XML signature).
const (
	SigAlgRSASHA1     = dsig.RSASHA1SignatureMethod
	SigAlgRSASHA256   = dsig.RSASHA256SignatureMethod
	SigAlgRSASHA384   = dsig.RSASHA384SignatureMethod
	SigAlgRSASHA512   = dsig.RSASHA512SignatureMethod
	SigAlgECDSASHA1   = dsig.ECDSASHA1SignatureMethod
	SigAlgECDSASHA256 = dsig.ECDSASHA256SignatureMethod
	SigAlgECDSASHA384 = dsig.ECDSASHA384SignatureMethod
	SigAlgECDSASHA512 = dsig.ECDSASHA512SignatureMethod
)

// MaxRelayStateBytes bounds RelayState. SAML Bindings §3.4.3 says an SP
// "MUST NOT" send more than 80 bytes, but real SPs do; longer values up to
// this bound are passed through unchanged, longer ones are refused, never
// truncated (IDP-08).
const MaxRelayStateBytes = 2048

// MinRSABits is the smallest RSA key accepted for an inbound signature.
const MinRSABits = 2048

// Signature errors.
var (
	// ErrUnsigned means a signature was required but the message carries none.
	ErrUnsigned = errors.New("saml: message is not signed")
	// ErrSignature means the signature did not verify with any given certificate.
	ErrSignature = errors.New("saml: signature does not verify")
	// ErrAlgorithm means the signature or digest algorithm is not allowed.
	ErrAlgorithm = errors.New("saml: signature algorithm not allowed")
	// ErrRelayState means RelayState is longer than MaxRelayStateBytes or not UTF-8.
	ErrRelayState = errors.New("saml: RelayState refused")
)

// VerifyOptions tunes signature verification.
type VerifyOptions struct {
	// AllowSHA1 accepts rsa-sha1 / ecdsa-sha1 signatures and SHA-1 digests.
	// Off by default; only for an SP that cannot do better.
	AllowSHA1 bool
}

type sigAlgInfo struct {
	hash crypto.Hash
	ec   bool
}

var sigAlgs = map[string]sigAlgInfo{
	SigAlgRSASHA1:     {crypto.SHA1, false},
	SigAlgRSASHA256:   {crypto.SHA256, false},
	SigAlgRSASHA384:   {crypto.SHA384, false},
	SigAlgRSASHA512:   {crypto.SHA512, false},
	SigAlgECDSASHA1:   {crypto.SHA1, true},
	SigAlgECDSASHA256: {crypto.SHA256, true},
	SigAlgECDSASHA384: {crypto.SHA384, true},
	SigAlgECDSASHA512: {crypto.SHA512, true},
}

// Digest algorithm URIs accepted in XML signatures.
const (
	digestSHA1   = "http://www.w3.org/2000/09/xmldsig#sha1"
	digestSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	digestSHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	digestSHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
)

func (o VerifyOptions) sigAlgAllowed(alg string) (sigAlgInfo, error) {
	info, ok := sigAlgs[alg]
	if !ok {
		return info, fmt.Errorf("%w: %q", ErrAlgorithm, alg)
	}
	if info.hash == crypto.SHA1 && !o.AllowSHA1 {
		return info, fmt.Errorf("%w: SHA-1 signature %q", ErrAlgorithm, alg)
	}
	return info, nil
}

func (o VerifyOptions) digestAllowed(alg string) error {
	switch alg {
	case digestSHA256, digestSHA384, digestSHA512:
		return nil
	case digestSHA1:
		if o.AllowSHA1 {
			return nil
		}
		return fmt.Errorf("%w: SHA-1 digest", ErrAlgorithm)
	}
	return fmt.Errorf("%w: digest %q", ErrAlgorithm, alg)
}

// checkCertKeys refuses certificates whose keys are too weak or of a kind we
// do not verify with.
func checkCertKeys(certs []*x509.Certificate) error {
	if len(certs) == 0 {
		return fmt.Errorf("%w: no certificate to verify with", ErrSignature)
	}
	for _, c := range certs {
		if c == nil {
			return fmt.Errorf("%w: nil certificate", ErrSignature)
		}
		switch k := c.PublicKey.(type) {
		case *rsa.PublicKey:
			if k.N.BitLen() < MinRSABits {
				return fmt.Errorf("%w: RSA key of %d bits, need %d", ErrAlgorithm, k.N.BitLen(), MinRSABits)
			}
		case *ecdsa.PublicKey:
		default:
			return fmt.Errorf("%w: unsupported public key type %T", ErrAlgorithm, c.PublicKey)
		}
	}
	return nil
}

// redirectMessage is one Redirect-binding message as received: the raw,
// still-encoded values needed to rebuild the signed octets (IDP-06), and the
// decoded ones.
type redirectMessage struct {
	param      string // SAMLRequest or SAMLResponse
	rawMsg     string
	rawRelay   string
	hasRelay   bool
	rawSigAlg  string
	hasSigAlg  bool
	hasSig     bool
	xml        []byte
	relayState string
	sigAlg     string
	sig        []byte
}

// parseRedirectQuery splits a raw query string without decoding the values it
// must keep, rejects duplicates of the SAML parameters, and decodes and
// inflates the message.
func parseRedirectQuery(rawQuery, param string) (*redirectMessage, error) {
	rawQuery = strings.TrimPrefix(rawQuery, "?")
	if len(rawQuery) > MaxRedirectQueryBytes {
		return nil, fmt.Errorf("%w: query of %d bytes", ErrTooLarge, len(rawQuery))
	}
	m := &redirectMessage{param: param}
	var hasMsg bool
	var rawSig string
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		rawKey, rawVal, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			return nil, fmt.Errorf("%w: query key: %v", ErrMalformed, err)
		}
		var seen *bool
		switch key {
		case param:
			seen, m.rawMsg = &hasMsg, rawVal
		case "RelayState":
			seen, m.rawRelay = &m.hasRelay, rawVal
		case "SigAlg":
			seen, m.rawSigAlg = &m.hasSigAlg, rawVal
		case "Signature":
			seen, rawSig = &m.hasSig, rawVal
		default:
			continue
		}
		if *seen {
			return nil, fmt.Errorf("%w: %s given twice", ErrMalformed, key)
		}
		*seen = true
	}
	if !hasMsg || m.rawMsg == "" {
		return nil, fmt.Errorf("%w: no %s parameter", ErrMalformed, param)
	}
	msgB64, err := url.QueryUnescape(m.rawMsg)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, param, err)
	}
	compressed, err := DecodeBase64(msgB64, MaxMessageBytes)
	if err != nil {
		return nil, err
	}
	if m.xml, err = Inflate(compressed, MaxMessageBytes); err != nil {
		return nil, err
	}
	if m.hasRelay {
		if m.relayState, err = url.QueryUnescape(m.rawRelay); err != nil {
			return nil, fmt.Errorf("%w: RelayState: %v", ErrMalformed, err)
		}
		if err := checkRelayState(m.relayState); err != nil {
			return nil, err
		}
	}
	if m.hasSig != m.hasSigAlg {
		return nil, fmt.Errorf("%w: Signature and SigAlg must come together", ErrMalformed)
	}
	if m.hasSig {
		if m.sigAlg, err = url.QueryUnescape(m.rawSigAlg); err != nil {
			return nil, fmt.Errorf("%w: SigAlg: %v", ErrMalformed, err)
		}
		sigB64, err := url.QueryUnescape(rawSig)
		if err != nil {
			return nil, fmt.Errorf("%w: Signature: %v", ErrMalformed, err)
		}
		if m.sig, err = DecodeBase64(sigB64, 1024); err != nil {
			return nil, err
		}
		if len(m.sig) == 0 {
			return nil, fmt.Errorf("%w: empty Signature", ErrMalformed)
		}
	}
	return m, nil
}

func checkRelayState(rs string) error {
	if len(rs) > MaxRelayStateBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrRelayState, len(rs), MaxRelayStateBytes)
	}
	if !utf8.ValidString(rs) {
		return fmt.Errorf("%w: not UTF-8", ErrRelayState)
	}
	return nil
}

// signedOctets returns the byte strings the Redirect signature may cover:
// "SAMLRequest=…&RelayState=…&SigAlg=…" from the raw values in spec order
// (SAML Bindings §3.4.4.1). An empty RelayState is tried both included and
// left out, as implementations differ; both are built from received bytes.
func (m *redirectMessage) signedOctets() []string {
	base := m.param + "=" + m.rawMsg
	tail := "SigAlg=" + m.rawSigAlg
	if !m.hasRelay {
		return []string{base + "&" + tail}
	}
	with := base + "&RelayState=" + m.rawRelay + "&" + tail
	if m.rawRelay == "" {
		return []string{with, base + "&" + tail}
	}
	return []string{with}
}

// verify checks the Redirect-binding signature against certs.
func (m *redirectMessage) verify(certs []*x509.Certificate, opts VerifyOptions) error {
	if !m.hasSig {
		return ErrUnsigned
	}
	info, err := opts.sigAlgAllowed(m.sigAlg)
	if err != nil {
		return err
	}
	if err := checkCertKeys(certs); err != nil {
		return err
	}
	for _, octets := range m.signedOctets() {
		h := info.hash.New()
		h.Write([]byte(octets))
		digest := h.Sum(nil)
		for _, c := range certs {
			if verifyDigest(c.PublicKey, info, digest, m.sig) {
				return nil
			}
		}
	}
	return ErrSignature
}

// verifyDigest checks one raw signature. ECDSA signatures are accepted in the
// XML-DSig r‖s form (RFC 4051) and in ASN.1 DER, which some SPs send on the
// Redirect binding.
func verifyDigest(pub crypto.PublicKey, info sigAlgInfo, digest, sig []byte) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return !info.ec && rsa.VerifyPKCS1v15(k, info.hash, digest, sig) == nil
	case *ecdsa.PublicKey:
		if !info.ec {
			return false
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) == 2*size {
			r := new(big.Int).SetBytes(sig[:size])
			s := new(big.Int).SetBytes(sig[size:])
			if ecdsa.Verify(k, digest, r, s) {
				return true
			}
		}
		return ecdsa.VerifyASN1(k, digest, sig)
	}
	return false
}

// ecdsaRawSignature converts a DER ECDSA signature to XML-DSig's r‖s form.
func ecdsaRawSignature(der []byte, size int) ([]byte, error) {
	var v struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &v); err != nil {
		return nil, err
	}
	out := make([]byte, 2*size)
	v.R.FillBytes(out[:size])
	v.S.FillBytes(out[size:])
	return out, nil
}

// RedirectURL encodes msg for the HTTP-Redirect binding (DEFLATE, base64,
// URL-escaped) under param ("SAMLRequest" or "SAMLResponse"), adds
// RelayState when non-empty, signs the query with signer when it is not nil
// (RSA-SHA256, or ECDSA-SHA256 for an ECDSA key), and appends the query to
// endpoint. msg must not carry an enveloped XML signature.
func RedirectURL(endpoint, param string, msg []byte, relayState string, signer *Signer) (string, error) {
	if param != "SAMLRequest" && param != "SAMLResponse" {
		return "", fmt.Errorf("saml: bad Redirect parameter %q", param)
	}
	if err := ValidateEndpointURL(endpoint); err != nil {
		return "", err
	}
	if err := checkRelayState(relayState); err != nil {
		return "", err
	}
	compressed, err := deflate(msg)
	if err != nil {
		return "", err
	}
	q := param + "=" + url.QueryEscape(base64.StdEncoding.EncodeToString(compressed))
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	if signer != nil {
		alg := signer.redirectSigAlg()
		q += "&SigAlg=" + url.QueryEscape(alg)
		sig, err := signer.signRaw([]byte(q), alg)
		if err != nil {
			return "", err
		}
		q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	}
	sep := "?"
	if strings.Contains(endpoint, "?") {
		sep = "&"
	}
	return endpoint + sep + q, nil
}
