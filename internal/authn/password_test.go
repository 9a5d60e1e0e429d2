package authn

import (
	"errors"
	"strings"
	"testing"

	"github.com/idcenter/idcenter/internal/errs"
)

// fast parameters keep the tests quick; the format and checks are the same.
var testParams = Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

func TestHashVerify(t *testing.T) {
	h := NewHasher(testParams, 2)
	phc, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(phc, "horse") {
		t.Fatalf("phc %q", phc)
	}
	again, _ := h.Hash("correct horse battery staple")
	if again == phc {
		t.Fatal("same salt twice")
	}
	for _, c := range []struct {
		pw   string
		want bool
	}{
		{"correct horse battery staple", true},
		{"correct horse battery stapl", false},
		{"Correct horse battery staple", false},
		{"", false},
		{strings.Repeat("a", MaxPasswordLen+1), false},
	} {
		ok, err := h.Verify(c.pw, phc)
		if err != nil || ok != c.want {
			t.Errorf("Verify(%.20q) = %v, %v", c.pw, ok, err)
		}
	}
	// Unicode normalisation: NFC and NFD spellings are the same password.
	nfc, _ := h.Hash("pässwörd-long")
	if ok, _ := h.Verify("pa\u0308sswo\u0308rd-long", nfc); !ok {
		t.Fatal("NFD spelling rejected")
	}
	// verifying uses the parameters stored in the hash
	strong := NewHasher(Argon2Params{MemoryKiB: 128, Iterations: 2, Parallelism: 1}, 1)
	if ok, _ := strong.Verify("correct horse battery staple", phc); !ok {
		t.Fatal("hash with other parameters rejected")
	}
}

func TestPolicy(t *testing.T) {
	h := NewHasher(testParams, 1)
	for _, pw := range []string{"", "short", "1234567", "\xff\xfe invalid utf8", strings.Repeat("x", MaxPasswordLen+1)} {
		_, err := h.Hash(pw)
		var inv *errs.Invalid
		if !errors.As(err, &inv) || inv.Problems[0].Field != "password" {
			t.Errorf("Hash(%.12q) = %v, want invalid password", pw, err)
		}
	}
	if _, err := h.Hash("eight ch"); err != nil {
		t.Errorf("8 characters rejected: %v", err)
	}
	if _, err := h.Hash(strings.Repeat("ü", 64)); err != nil {
		t.Errorf("64 characters rejected: %v", err)
	}
}

func TestMalformedHashes(t *testing.T) {
	h := NewHasher(testParams, 1)
	for _, phc := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA", "$2a$10$abcdefghijklmnopqrstuu"} {
		if ok, err := h.Verify("x", phc); ok || err == nil {
			t.Errorf("Verify against %q = %v, %v", phc, ok, err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	h := NewHasher(testParams, 1)
	good, _ := h.Hash("a fine password")
	f.Add("a fine password", good)
	f.Add("x", "$argon2id$v=19$m=64,t=1,p=1$$")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, pw, phc string) {
		ok, err := h.Verify(pw, phc)
		if ok && err != nil {
			t.Fatal("ok with error")
		}
	})
}
