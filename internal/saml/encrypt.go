package saml

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // RSA-OAEP's MGF1/digest per xmlenc rsa-oaep-mgf1p; not a signature
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/beevik/etree"
)

// Encryption algorithm URIs (XML Encryption 1.1).
const (
	EncAES256GCM    = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
	EncRSAOAEPMGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
	encSHA1Digest   = "http://www.w3.org/2000/09/xmldsig#sha1"
	encTypeElement  = "http://www.w3.org/2001/04/xmlenc#Element"
)

// encryptAssertion wraps the serialized, already signed assertion in a
// saml:EncryptedAssertion for cert's RSA key: a fresh AES-256 key encrypts
// it with GCM (12-byte nonce prepended, 16-byte tag appended, as XML
// Encryption 1.1 specifies), and RSA-OAEP (rsa-oaep-mgf1p, SHA-1 digest and
// MGF1, the combination every SP stack we test decrypts) transports the key.
func encryptAssertion(a *etree.Element, cert *x509.Certificate, rnd io.Reader) (*etree.Element, error) {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("saml: encryption certificate must hold an RSA key, has %T", cert.PublicKey)
	}
	if pub.N.BitLen() < MinRSABits {
		return nil, fmt.Errorf("saml: encryption key of %d bits, need %d", pub.N.BitLen(), MinRSABits)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	doc := etree.NewDocument()
	doc.SetRoot(a.Copy())
	plaintext, err := doc.WriteToBytes()
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	nonce := make([]byte, 12)
	if _, err := io.ReadFull(rnd, key); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	ct := gcm.Seal(append([]byte(nil), nonce...), nonce, plaintext, nil)
	wrapped, err := rsa.EncryptOAEP(sha1.New(), rnd, pub, key, nil)
	if err != nil {
		return nil, fmt.Errorf("saml: wrap key: %w", err)
	}

	ea := etree.NewElement("saml:EncryptedAssertion")
	ed := ea.CreateElement("xenc:EncryptedData")
	ed.CreateAttr("xmlns:xenc", nsXEnc)
	ed.CreateAttr("xmlns:ds", nsDSig)
	ed.CreateAttr("Type", encTypeElement)
	ed.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", EncAES256GCM)
	ek := ed.CreateElement("ds:KeyInfo").CreateElement("xenc:EncryptedKey")
	em := ek.CreateElement("xenc:EncryptionMethod")
	em.CreateAttr("Algorithm", EncRSAOAEPMGF1P)
	em.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", encSHA1Digest)
	ek.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
		SetText(base64.StdEncoding.EncodeToString(cert.Raw))
	ek.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(wrapped))
	ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(ct))
	return ea, nil
}
