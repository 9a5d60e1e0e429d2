package authn

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
)

// Recovery codes: RecoveryCodeCount codes of RecoveryCodeLen characters from
// a 32-letter alphabet without look-alikes (60 random bits each), shown once
// in groups of four, stored as SHA-256 (they are random, so a fast hash is
// enough), each usable once at the MFA step.
const (
	RecoveryCodeCount = 10
	RecoveryCodeLen   = 12
)

// recoveryAlphabet has 32 symbols: the letters without i, l and o, and the
// digits without 1.
const recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz023456789"

// ParseRecoveryCode normalises a recovery code typed by a user: case, spaces
// and hyphens are ignored and the letter o is read as the digit 0. It reports
// false unless what remains is RecoveryCodeLen characters of the alphabet.
func ParseRecoveryCode(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			continue
		case r == 'o':
			r = '0'
		}
		if r > 127 || !strings.ContainsRune(recoveryAlphabet, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != RecoveryCodeLen {
		return "", false
	}
	return b.String(), true
}

// hashRecoveryCode is the stored form of a normalised code.
func hashRecoveryCode(code string) string {
	h := sha256.Sum256([]byte("idcenter recovery code v1:" + code))
	return hex.EncodeToString(h[:])
}

// newRecoveryCodes returns fresh codes, formatted for display, and their hashes.
func newRecoveryCodes() (codes, hashes []string) {
	for len(codes) < RecoveryCodeCount {
		b := make([]byte, RecoveryCodeLen)
		_, _ = rand.Read(b)
		raw := make([]byte, RecoveryCodeLen)
		for i, x := range b {
			raw[i] = recoveryAlphabet[int(x)%len(recoveryAlphabet)] // 256 is a multiple of 32: no bias
		}
		code := string(raw)
		codes = append(codes, code[:4]+"-"+code[4:8]+"-"+code[8:])
		hashes = append(hashes, hashRecoveryCode(code))
	}
	return codes, hashes
}

// GenerateRecoveryCodes replaces a signed-in user's recovery codes with new
// ones, after checking their current password, and returns them (they are
// never shown again). The user must have a second factor.
func (m *MFAService) GenerateRecoveryCodes(ctx context.Context, u directory.User, password string, c Client) ([]string, error) {
	if err := m.reauth(ctx, u, password, c); err != nil {
		return nil, err
	}
	codes, hashes := newRecoveryCodes()
	err := m.Store.WithMFATx(ctx, func(tx MFATx) error {
		has, err := txHasFactor(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		if !has {
			return ErrNoFactor
		}
		old, err := tx.CountRecoveryCodes(ctx, u.ID)
		if err != nil {
			return err
		}
		if err := tx.ReplaceRecoveryCodes(ctx, u.ID, hashes, m.now()); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, audit.New(ctx, mfaActor(u), "mfa.recovery_codes.generate", "user", u.ID, u.UserName,
			map[string]any{"count": len(codes), "unusedReplaced": old}))
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// SignInRecoveryCode finishes a pending sign-in with a recovery code, which
// is used up (a guarded update: once, even under concurrent attempts).
func (m *MFAService) SignInRecoveryCode(ctx context.Context, pendingToken, code string, c Client, replaces string) (MFAOutcome, error) {
	st, err := m.pendingFor(ctx, pendingToken, false)
	if err != nil {
		return MFAOutcome{}, err
	}
	left := 0
	out, err := m.finishSecondFactor(ctx, st, pendingToken, c, replaces, CredRecoveryCode, func(ctx context.Context, tx MFATx) (string, error) {
		norm, ok := ParseRecoveryCode(code)
		if !ok {
			return "malformed recovery code", nil
		}
		used, err := tx.UseRecoveryCode(ctx, st.User.ID, hashRecoveryCode(norm), m.now())
		if err != nil {
			return "", err
		}
		if !used {
			return "unknown or used recovery code", nil
		}
		left, err = tx.CountRecoveryCodes(ctx, st.User.ID)
		return "", err
	})
	if err != nil {
		return out, err
	}
	out.RecoveryCodesLeft = left
	return out, nil
}
