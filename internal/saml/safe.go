package saml

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/beevik/etree"
	xrv "github.com/mattermost/xml-roundtrip-validator"
)

// Limits applied to every untrusted XML document.
const (
	// MaxDepth is the deepest element nesting accepted (XML-05).
	MaxDepth = 64
	// MaxTokens bounds the number of XML tokens in one document (XML-05, XML-06).
	MaxTokens = 50000
	// MaxAttrsPerElement bounds attributes, namespace declarations included,
	// on one element (XML-06: namespace amplification).
	MaxAttrsPerElement = 64

	// MaxMessageBytes caps a decoded or inflated protocol message
	// (AuthnRequest, LogoutRequest, LogoutResponse) (XML-03, XML-04).
	MaxMessageBytes = 256 << 10
	// MaxMetadataBytes caps an SP metadata document (IDP-04).
	MaxMetadataBytes = 2 << 20
	// MaxRedirectQueryBytes caps the raw query string of a Redirect-binding message.
	MaxRedirectQueryBytes = 64 << 10
)

// Errors returned by the parsers. They are wrapped with detail; match them with errors.Is.
var (
	// ErrTooLarge means an input exceeded a size limit.
	ErrTooLarge = errors.New("saml: message too large")
	// ErrUnsafeXML means the XML had a DTD, an entity, a processing
	// instruction, too deep nesting, too many tokens, or did not survive an
	// encoding/xml round trip.
	ErrUnsafeXML = errors.New("saml: unsafe XML")
	// ErrMalformed means the input is not a well-formed message of the expected kind.
	ErrMalformed = errors.New("saml: malformed message")
)

// ParseUntrusted parses XML from an untrusted source. It refuses input larger
// than maxBytes, any DOCTYPE or other directive (so no DTD and no entity
// declaration is ever seen by a parser: XML-01, XML-02), processing
// instructions other than the XML declaration, encodings other than UTF-8,
// nesting deeper than MaxDepth, more than MaxTokens tokens, more than
// MaxAttrsPerElement attributes on an element, more than one root element,
// and documents that do not survive an encoding/xml round trip (XML-07).
// It never panics.
func ParseUntrusted(data []byte, maxBytes int) (doc *etree.Document, err error) {
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("%w: parser panic", ErrUnsafeXML)
		}
	}()
	if maxBytes <= 0 || len(data) > maxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), maxBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: empty document", ErrMalformed)
	}
	if err := scanXML(data); err != nil {
		return nil, err
	}
	if err := xrv.Validate(bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("%w: round trip: %v", ErrUnsafeXML, err)
	}
	doc = etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{MaxDepth: MaxDepth + 1}
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if doc.Root() == nil {
		return nil, fmt.Errorf("%w: no root element", ErrMalformed)
	}
	return doc, nil
}

// scanXML walks the token stream once with a strict decoder (no entity map,
// so only the five predefined entities are known) and enforces the limits.
func scanXML(data []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	// CharsetReader stays nil: a declared encoding other than UTF-8 is an error.
	depth, tokens, roots := 0, 0, 0
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		tokens++
		if tokens > MaxTokens {
			return fmt.Errorf("%w: more than %d XML tokens", ErrUnsafeXML, MaxTokens)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > MaxDepth {
				return fmt.Errorf("%w: nesting deeper than %d", ErrUnsafeXML, MaxDepth)
			}
			if len(t.Attr) > MaxAttrsPerElement {
				return fmt.Errorf("%w: more than %d attributes on <%s>", ErrUnsafeXML, MaxAttrsPerElement, t.Name.Local)
			}
			if !qname(t.Name) {
				return fmt.Errorf("%w: element name %q is not a namespace-well-formed QName", ErrUnsafeXML, t.Name.Local)
			}
			for _, a := range t.Attr {
				if !qname(a.Name) {
					return fmt.Errorf("%w: attribute name %q is not a namespace-well-formed QName", ErrUnsafeXML, a.Name.Local)
				}
			}
			if depth == 1 {
				roots++
				if roots > 1 {
					return fmt.Errorf("%w: more than one root element", ErrMalformed)
				}
			}
		case xml.EndElement:
			if !qname(t.Name) {
				return fmt.Errorf("%w: element name %q is not a namespace-well-formed QName", ErrUnsafeXML, t.Name.Local)
			}
			depth--
			if depth < 0 {
				return fmt.Errorf("%w: unbalanced end tag", ErrMalformed)
			}
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) != 0 {
				return fmt.Errorf("%w: text outside the root element", ErrMalformed)
			}
		case xml.Directive:
			// <!DOCTYPE …>, <!ENTITY …> and every other markup declaration.
			return fmt.Errorf("%w: DTD or other directive not allowed", ErrUnsafeXML)
		case xml.ProcInst:
			if t.Target != "xml" || tokens != 1 {
				return fmt.Errorf("%w: processing instruction not allowed", ErrUnsafeXML)
			}
		case xml.Comment:
		}
	}
	if depth != 0 || roots != 1 {
		return fmt.Errorf("%w: document must hold exactly one complete root element", ErrMalformed)
	}
	return nil
}

// qname reports whether a raw token name is prefix:local or local with both
// parts non-empty and no further colon. encoding/xml leaves names such as
// ":", "x:" and "a:b:c" unsplit in Local; they are refused (XML-07).
func qname(n xml.Name) bool {
	return n.Local != "" && !strings.Contains(n.Local, ":")
}

// DecodeBase64 decodes a base64 form or query value (standard alphabet,
// padding optional, whitespace ignored), refusing output larger than maxBytes
// before decoding anything.
func DecodeBase64(s string, maxBytes int) ([]byte, error) {
	if len(s) > 2*base64.StdEncoding.EncodedLen(maxBytes)+64 {
		return nil, fmt.Errorf("%w: encoded value longer than allowed", ErrTooLarge)
	}
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	if len(s) > base64.StdEncoding.EncodedLen(maxBytes) {
		return nil, fmt.Errorf("%w: encoded value longer than allowed", ErrTooLarge)
	}
	enc := base64.StdEncoding
	if !strings.HasSuffix(s, "=") && len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: bad base64: %v", ErrMalformed, err)
	}
	if len(b) > maxBytes {
		return nil, fmt.Errorf("%w: decoded value larger than %d bytes", ErrTooLarge, maxBytes)
	}
	return b, nil
}

// Inflate decompresses raw DEFLATE data (the HTTP-Redirect binding's
// encoding), stopping with ErrTooLarge as soon as the output would exceed
// maxBytes (XML-03: deflate bombs).
func Inflate(compressed []byte, maxBytes int) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(compressed))
	defer r.Close()
	var out bytes.Buffer
	n, err := io.Copy(&out, io.LimitReader(r, int64(maxBytes)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: bad DEFLATE data: %v", ErrMalformed, err)
	}
	if n > int64(maxBytes) {
		return nil, fmt.Errorf("%w: inflated message larger than %d bytes", ErrTooLarge, maxBytes)
	}
	return out.Bytes(), nil
}

// deflate compresses msg for the HTTP-Redirect binding.
func deflate(msg []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(msg); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
