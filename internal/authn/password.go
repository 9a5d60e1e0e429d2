// Package authn owns sign-in. For now it holds password hashing (argon2id,
// PHC string format) and the password policy; the sign-in flows, MFA and
// lockout join it with the sign-in issue.
package authn

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"github.com/idcenter/idcenter/internal/errs"
)

// Argon2Params are the argon2id cost parameters.
type Argon2Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
}

// DefaultArgon2 is OWASP's minimum recommended argon2id configuration
// (m=19 MiB, t=2, p=1).
var DefaultArgon2 = Argon2Params{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1}

// Password limits. NIST SP 800-63B: at least 8 characters, at least 64
// allowed, no composition rules.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 1024 // bytes; bounds hashing cost
)

// Hasher hashes passwords with argon2id. A semaphore bounds how many hashes
// run at once, so memory stays at MemoryKiB × Concurrency.
type Hasher struct {
	Params  Argon2Params
	MinLen  int
	slots   chan struct{}
	saltLen int
}

// NewHasher returns a hasher with the given parameters and concurrency.
func NewHasher(p Argon2Params, concurrency int) *Hasher {
	if concurrency < 1 {
		concurrency = 1
	}
	return &Hasher{Params: p, MinLen: MinPasswordLen, slots: make(chan struct{}, concurrency), saltLen: 16}
}

// Check applies the password policy.
func (h *Hasher) Check(password string) error {
	if !utf8.ValidString(password) {
		return errs.Invalidf("password", "must be valid UTF-8")
	}
	if len(password) > MaxPasswordLen {
		return errs.Invalidf("password", "must be at most %d bytes", MaxPasswordLen)
	}
	if n := utf8.RuneCountInString(norm.NFC.String(password)); n < h.MinLen {
		return errs.Invalidf("password", "must be at least %d characters", h.MinLen)
	}
	return nil
}

// Hash checks the policy and returns the PHC string of password.
func (h *Hasher) Hash(password string) (string, error) {
	if err := h.Check(password); err != nil {
		return "", err
	}
	return h.hashUnchecked(password)
}

func (h *Hasher) hashUnchecked(password string) (string, error) {
	salt := make([]byte, h.saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := h.derive(context.Background(), norm.NFC.String(password), salt, h.Params)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.Params.MemoryKiB, h.Params.Iterations,
		h.Params.Parallelism, base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

func (h *Hasher) derive(_ context.Context, password string, salt []byte, p Argon2Params) []byte {
	h.slots <- struct{}{}
	defer func() { <-h.slots }()
	return argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, 32)
}

// ErrMalformedHash means a stored hash is not an argon2id PHC string.
var ErrMalformedHash = errors.New("authn: malformed password hash")

// Verify reports whether password matches the PHC string phc.
func (h *Hasher) Verify(password, phc string) (bool, error) {
	p, salt, want, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	if len(password) > MaxPasswordLen {
		return false, nil
	}
	got := h.derive(context.Background(), norm.NFC.String(password), salt, p)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func parsePHC(s string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, ErrMalformedHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Iterations, &p.Parallelism); err != nil ||
		p.MemoryKiB < 8 || p.MemoryKiB > 256*1024 || p.Iterations < 1 || p.Iterations > 16 || p.Parallelism < 1 || p.Parallelism > 16 {
		return p, nil, nil, ErrMalformedHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, ErrMalformedHash
	}
	return p, salt, key, nil
}
