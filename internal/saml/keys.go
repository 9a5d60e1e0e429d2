package saml

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// DefaultCertValidity is the validity of a generated signing certificate.
const DefaultCertValidity = 5 * 365 * 24 * time.Hour

// Signer signs SAML messages: a private key and its certificate chain, leaf
// first. XML signatures need an RSA key of at least 2048 bits (goxmldsig
// writes ECDSA signature values in DER, which other XML-DSig stacks reject);
// Redirect-binding signatures accept ECDSA too.
type Signer struct {
	key   crypto.Signer
	chain []*x509.Certificate
	der   [][]byte
}

// NewSigner checks that the leaf certificate holds key's public key and
// returns a Signer.
func NewSigner(key crypto.Signer, chain ...*x509.Certificate) (*Signer, error) {
	if key == nil || len(chain) == 0 || chain[0] == nil {
		return nil, errors.New("saml: signer needs a key and a certificate")
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(chain[0].PublicKey) {
		return nil, errors.New("saml: certificate does not match the signing key")
	}
	switch k := key.Public().(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return nil, fmt.Errorf("saml: RSA signing key of %d bits, need %d", k.N.BitLen(), MinRSABits)
		}
	case *ecdsa.PublicKey:
	default:
		return nil, fmt.Errorf("saml: unsupported signing key %T", key.Public())
	}
	s := &Signer{key: key, chain: append([]*x509.Certificate(nil), chain...)}
	for _, c := range chain {
		s.der = append(s.der, c.Raw)
	}
	return s, nil
}

// Certificate returns the leaf certificate.
func (s *Signer) Certificate() *x509.Certificate { return s.chain[0] }

// Chain returns the certificate chain, leaf first.
func (s *Signer) Chain() []*x509.Certificate { return append([]*x509.Certificate(nil), s.chain...) }

func (s *Signer) isRSA() bool {
	_, ok := s.key.Public().(*rsa.PublicKey)
	return ok
}

// signEnveloped signs el with an enveloped signature (exc-c14n, RSA-SHA256,
// SHA-256 digest, one Reference to el's ID) and inserts the ds:Signature
// right after el's Issuer child, or first when el has no Issuer, where the
// SAML schemas want it.
func (s *Signer) signEnveloped(el *etree.Element) error {
	if !s.isRSA() {
		return errors.New("saml: XML signatures need an RSA key")
	}
	ctx, err := dsig.NewSigningContext(s.key, s.der)
	if err != nil {
		return err
	}
	ctx.Hash = crypto.SHA256
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	sig, err := ctx.ConstructSignature(el, true)
	if err != nil {
		return fmt.Errorf("saml: sign: %w", err)
	}
	at := 0
	for i, t := range el.Child {
		if c, ok := t.(*etree.Element); ok && c.Tag == "Issuer" {
			at = i + 1
			break
		}
	}
	el.InsertChildAt(at, sig)
	return nil
}

// redirectSigAlg is the SigAlg used for outbound Redirect-binding messages.
func (s *Signer) redirectSigAlg() string {
	if s.isRSA() {
		return SigAlgRSASHA256
	}
	return SigAlgECDSASHA256
}

// signRaw signs octets for the Redirect binding.
func (s *Signer) signRaw(octets []byte, alg string) ([]byte, error) {
	sum := sha256.Sum256(octets)
	sig, err := s.key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("saml: sign: %w", err)
	}
	if k, ok := s.key.Public().(*ecdsa.PublicKey); ok && alg == SigAlgECDSASHA256 {
		return ecdsaRawSignature(sig, (k.Curve.Params().BitSize+7)/8)
	}
	return sig, nil
}

// GenerateSigningKey creates an RSA key (2048, 3072 or 4096 bits; 0 means
// 2048) and a self-signed certificate for it valid from now for validity (0
// means DefaultCertValidity), with commonName as subject. The caller seals
// the private key (keys.Keyring) before storing it.
func GenerateSigningKey(bits int, validity time.Duration, commonName string) (*rsa.PrivateKey, *x509.Certificate, error) {
	switch bits {
	case 0:
		bits = 2048
	case 2048, 3072, 4096:
	default:
		return nil, nil, fmt.Errorf("saml: RSA key size %d not supported (2048, 3072 or 4096)", bits)
	}
	if validity <= 0 {
		validity = DefaultCertValidity
	}
	if commonName == "" {
		return nil, nil, errors.New("saml: certificate needs a common name")
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return key, cert, nil
}

// EncodeCertificatePEM returns cert as a PEM "CERTIFICATE" block.
func EncodeCertificatePEM(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}

// DecodeCertificatesPEM parses every "CERTIFICATE" block in data; it fails
// when there is none or one does not parse.
func DecodeCertificatesPEM(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("saml: certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("saml: no PEM certificate found")
	}
	return certs, nil
}

// DecodeCertificatePEM parses the first "CERTIFICATE" block in data.
func DecodeCertificatePEM(data []byte) (*x509.Certificate, error) {
	certs, err := DecodeCertificatesPEM(data)
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

// EncodePrivateKeyPEM returns key as a PKCS#8 "PRIVATE KEY" PEM block.
func EncodePrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("saml: private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// DecodePrivateKeyPEM parses a PKCS#8 "PRIVATE KEY", PKCS#1 "RSA PRIVATE
// KEY" or SEC 1 "EC PRIVATE KEY" PEM block.
func DecodePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("saml: no PEM private key found")
	}
	var key any
	var err error
	switch b.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		return nil, fmt.Errorf("saml: unexpected PEM block %q", b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("saml: private key: %w", err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("saml: unsupported private key %T", key)
	}
	return s, nil
}

// NewID returns a fresh SAML identifier: "_" followed by 20 random bytes in
// hex (160 bits, NCName-valid; IDP-11). rnd nil means crypto/rand. Use it
// for SessionIndex values too.
func NewID(rnd io.Reader) (string, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var b [20]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", fmt.Errorf("saml: random ID: %w", err)
	}
	return "_" + hex.EncodeToString(b[:]), nil
}
