package keys

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	k, _, err := LoadOrCreate("", t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	s := k.Seal([]byte("totp seed"), []byte("users/1/totp"))
	if strings.Contains(s, "totp seed") {
		t.Fatal("plaintext visible")
	}
	got, err := k.Open(s, []byte("users/1/totp"))
	if err != nil || !bytes.Equal(got, []byte("totp seed")) {
		t.Fatalf("open: %q %v", got, err)
	}
	// bound to its location, tamper-evident, key-specific
	if _, err := k.Open(s, []byte("users/2/totp")); err != ErrOpen {
		t.Fatalf("moved value opened: %v", err)
	}
	b := []byte(s)
	b[len(b)-2] ^= 1
	if _, err := k.Open(string(b), []byte("users/1/totp")); err != ErrOpen {
		t.Fatalf("tampered value opened: %v", err)
	}
	other, _, _ := LoadOrCreate("", t.TempDir(), true)
	if _, err := other.Open(s, []byte("users/1/totp")); err != ErrOpen {
		t.Fatal("other key opened value")
	}
	if other.VerifyKeyCheck(k.KeyCheck()) || !k.VerifyKeyCheck(k.KeyCheck()) {
		t.Fatal("key check")
	}
	for _, bad := range []string{"", "v1:", "v1:!!!", "v2:AAAA", "v1:" + strings.Repeat("A", 10)} {
		if _, err := k.Open(bad, nil); err != ErrOpen {
			t.Errorf("Open(%q) = %v", bad, err)
		}
	}
}

func TestLoadOrCreate(t *testing.T) {
	dir := t.TempDir()
	k1, gen, err := LoadOrCreate("", dir, true)
	if err != nil || !gen {
		t.Fatal(err, gen)
	}
	fi, _ := os.Stat(filepath.Join(dir, MasterKeyFile))
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %o", fi.Mode().Perm())
	}
	k2, gen, err := LoadOrCreate("", dir, true)
	if err != nil || gen || !k2.VerifyKeyCheck(k1.KeyCheck()) {
		t.Fatal("reload changed the key", err, gen)
	}
	if _, _, err := LoadOrCreate("", t.TempDir(), false); err == nil {
		t.Fatal("missing key created without permission")
	}
	os.Chmod(filepath.Join(dir, MasterKeyFile), 0o644)
	if _, _, err := LoadOrCreate("", dir, true); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Fatalf("world-readable key accepted: %v", err)
	}
	ext := filepath.Join(t.TempDir(), "k")
	for _, c := range []struct{ content, want string }{
		{"MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=\n", ""},
		{"3031323334353637383930313233343536373839303132333435363738393031", ""},
		{"too short", "32 random bytes"},
	} {
		os.WriteFile(ext, []byte(c.content), 0o600)
		_, _, err := LoadOrCreate(ext, "", false)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%q: %v", c.content, err)
		}
	}
}

func FuzzOpen(f *testing.F) {
	k, err := New(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(k.Seal([]byte("x"), nil))
	f.Add("v1:")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = k.Open(s, nil) // must never panic
	})
}
