// Package keys holds the instance master key and seals secrets at rest with
// it (AES-256-GCM, with the secret's location as additional data so a sealed
// value cannot be moved to another row or column). Signing keys and their
// rotation join this package with the SAML issue.
package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the master key length in bytes.
const KeySize = 32

// MasterKeyFile is the name of the generated key inside the data directory.
const MasterKeyFile = "master.key"

// Keyring seals and opens secrets under the master key.
type Keyring struct {
	aead cipher.AEAD
	key  []byte
}

// Derive returns a 32-byte key for one purpose (e.g. "csrf"), derived from
// the master key with HMAC-SHA256, so no two uses share key material.
func (k *Keyring) Derive(purpose string) []byte {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte("idcenter derive v1\x00" + purpose))
	return m.Sum(nil)
}

// New builds a keyring from raw key bytes.
func New(key []byte) (*Keyring, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("master key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keyring{aead: aead, key: append([]byte(nil), key...)}, nil
}

// ErrOpen means a sealed value did not open: wrong key, wrong location, or tampering.
var ErrOpen = errors.New("keys: sealed value does not open with this key")

// Seal encrypts plaintext bound to aad and returns "v1:" + base64(nonce‖ciphertext).
func (k *Keyring) Seal(plaintext, aad []byte) string {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	out := k.aead.Seal(nonce, nonce, plaintext, aad)
	return "v1:" + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts a value produced by Seal with the same aad.
func (k *Keyring) Open(sealed string, aad []byte) ([]byte, error) {
	rest, ok := strings.CutPrefix(sealed, "v1:")
	if !ok {
		return nil, ErrOpen
	}
	b, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil || len(b) < k.aead.NonceSize()+k.aead.Overhead() {
		return nil, ErrOpen
	}
	n := k.aead.NonceSize()
	pt, err := k.aead.Open(nil, b[:n], b[n:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// checkAAD and checkPlain form the key check stored with the instance.
var (
	checkAAD   = []byte("instance.key_check")
	checkPlain = []byte("idcenter master key check v1")
)

// KeyCheck returns a value that proves which key the instance was created with.
func (k *Keyring) KeyCheck() string { return k.Seal(checkPlain, checkAAD) }

// VerifyKeyCheck reports whether kc was produced by this key.
func (k *Keyring) VerifyKeyCheck(kc string) bool {
	pt, err := k.Open(kc, checkAAD)
	return err == nil && string(pt) == string(checkPlain)
}

// LoadOrCreate returns the master key: from path when set (it must exist),
// else from dataDir/master.key, generating it (mode 0600) when absent and
// create is true. It reports whether the key was generated.
func LoadOrCreate(path, dataDir string, create bool) (*Keyring, bool, error) {
	generated := false
	if path == "" {
		path = filepath.Join(dataDir, MasterKeyFile)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			if !create {
				return nil, false, fmt.Errorf("master key %s does not exist", path)
			}
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				return nil, false, err
			}
			key := make([]byte, KeySize)
			if _, err := rand.Read(key); err != nil {
				return nil, false, err
			}
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return nil, false, fmt.Errorf("create master key: %w", err)
			}
			_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
			if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
				return nil, false, fmt.Errorf("write master key: %w", err)
			}
			generated = true
		} else if err != nil {
			return nil, false, err
		} else if st, _ := os.Stat(path); st != nil && st.Mode().Perm()&0o077 != 0 {
			return nil, false, fmt.Errorf("master key %s is readable by others (mode %o); chmod 600 it", path, st.Mode().Perm())
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false, fmt.Errorf("read master key: %w", err)
	}
	key, err := decodeKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, false, fmt.Errorf("master key %s: %w", path, err)
	}
	k, err := New(key)
	return k, generated, err
}

// decodeKey accepts base64 (standard or URL, padded or not) or hex of 32 bytes.
func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	return nil, fmt.Errorf("must hold %d random bytes, base64 or hex encoded (e.g. `openssl rand -base64 32`)", KeySize)
}
