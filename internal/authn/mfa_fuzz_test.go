package authn_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/idcenter/idcenter/internal/authn"
)

// Fuzz targets for the parsers of untrusted MFA input. Their seed corpus
// runs in every `go test`; `go test -fuzz=FuzzX` explores further.

func FuzzParseTOTPCode(f *testing.F) {
	for _, s := range []string{"123456", " 123 456 ", "123-456", "12345", "1234567", "abcdef", "", "１２３４５６", "\x00123456", strings.Repeat("1", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, ok := authn.ParseTOTPCode(s)
		if !ok {
			return
		}
		if len(code) != authn.TOTPDigits {
			t.Fatalf("%q → %q", s, code)
		}
		for _, r := range code {
			if r < '0' || r > '9' {
				t.Fatalf("%q → %q", s, code)
			}
		}
	})
}

func FuzzParseRecoveryCode(f *testing.F) {
	for _, s := range []string{"abcd-efgh-jkmn", "ABCDEFGHJKMN", " abcd efgh jkmn ", "abcd-efgh-jkm", "oooo-oooo-oooo", "iiii-llll-1111", "", "ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, ok := authn.ParseRecoveryCode(s)
		if !ok {
			return
		}
		if len(code) != authn.RecoveryCodeLen || strings.ContainsAny(code, "ilo1 -") || code != strings.ToLower(code) {
			t.Fatalf("%q → %q", s, code)
		}
		if again, ok := authn.ParseRecoveryCode(code); !ok || again != code {
			t.Fatalf("not idempotent: %q", code)
		}
	})
}

func FuzzCleanKeyName(f *testing.F) {
	for _, s := range []string{"YubiKey", "", "  a\tb\nc  ", "\x00\u200b", strings.Repeat("é", 100), "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := authn.CleanKeyName(s)
		if n == "" || utf8.RuneCountInString(n) > 64 || !utf8.ValidString(n) || strings.ContainsAny(n, "\x00\t\n\r") || n != strings.TrimSpace(n) {
			t.Fatalf("%q → %q", s, n)
		}
	})
}

// WebAuthn answers are parsed by go-webauthn; these targets check that no
// input makes the parse panic or hang, whatever it contains.
func FuzzParseAssertion(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"id":"x","rawId":"eA","type":"public-key","response":{}}`,
		`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"authenticatorData":"AAAA","clientDataJSON":"e30","signature":"AAAA","userHandle":"AAAA"}}`,
		`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"authenticatorData":"` + strings.Repeat("A", 60) + `","clientDataJSON":"eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0","signature":"MEUCIQ"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = authn.ParseAssertion(b)
	})
}

func FuzzParseAttestation(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `{"id":"x","rawId":"eA","type":"public-key","response":{}}`,
		`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"attestationObject":"o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVgl","clientDataJSON":"e30"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = authn.ParseAttestation(b)
	})
}
