package authn

import (
	"bufio"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/idcenter/idcenter/internal/errs"
)

// userContext is what a caller passes for a typical user.
var userContext = []string{"alice.smith", "alice.smith@example.com", "Alice", "Smith", "Alice Smith", "Acme Identity"}

func TestPolicyCheck(t *testing.T) {
	p := DefaultPolicy()
	printable := func() string {
		var b strings.Builder
		for c := ' '; c <= '~'; c++ {
			b.WriteRune(c)
		}
		return b.String()
	}()
	for _, tc := range []struct {
		name     string
		password string
		context  []string
		want     string // substring of the reason; "" = accepted
	}{
		// accepted: length is what counts, no composition rules
		{"passphrase", "correct horse battery staple", nil, ""},
		{"eight characters", "eight ch", nil, ""},
		{"eight lower-case letters", "xkcdqpwz", nil, ""},
		{"spaces inside and around", "  my cat  sleeps  ", nil, ""},
		{"all printable ASCII", printable, nil, ""},
		{"64 characters", strings.Repeat("fine-pw-", 8), nil, ""},
		{"256 characters", strings.Repeat("Lorem ipsum dolor sit amet, ", 10)[:256], nil, ""},
		{"1024 bytes", strings.Repeat("abcz", 256), nil, ""},
		{"emoji", "🔑🐢🌵🎻🚲🧀🛶🪁", nil, ""},
		{"non-Latin", "пароль-не-угадать", nil, ""},
		{"CJK", "我的密码很长很安全", nil, ""},
		{"unrelated to user", "purple tractor glides", userContext, ""},
		{"short context words ignored", "Al likes ox stew", []string{"Al", "Ox"}, ""},
		{"empty context ignored", "purple tractor glides", []string{"", "  "}, ""},
		{"email domain is not a context word", "my example of a password phrase", []string{"bob@example.com"}, ""},

		// length and encoding
		{"empty", "", nil, "at least 8 characters"},
		{"seven", "abcdzyx", nil, "at least 8 characters"},
		{"seven after NFC", strings.Repeat("e\u0301", 7), nil, "at least 8 characters"},
		{"invalid UTF-8", "\xff\xfe invalid utf8", nil, "valid UTF-8"},
		{"1025 bytes", strings.Repeat("abcz", 256) + "x", nil, "at most 1024 bytes"},

		// trivial patterns
		{"repeated character", "aaaaaaaa", nil, "repeated"},
		{"repeated non-ASCII", strings.Repeat("ü", 10), nil, "repeated"},
		{"repeated space", strings.Repeat(" ", 12), nil, "repeated"},
		{"repeated mixed case", "aAaAaAaA", nil, "repeated"},
		{"ascending digits", "123456789", nil, "sequence"},
		{"ascending digits 2", "23456789", nil, "sequence"},
		{"ascending letters", "abcdefgh", nil, "sequence"},
		{"ascending upper", "CDEFGHIJK", nil, "sequence"},
		{"descending digits", "98765432", nil, "sequence"},
		{"descending letters", "hgfedcba", nil, "sequence"},

		// common passwords and their variations
		{"password", "password", nil, "too common"},
		{"upper case", "PASSWORD", nil, "too common"},
		{"Password1!", "Password1!", nil, "too common"},
		{"iloveyou", "iloveyou", nil, "too common"},
		{"qwertyuiop", "qwertyuiop", nil, "too common"},
		{"1q2w3e4r", "1q2w3e4r", nil, "too common"},
		{"leet", "P@ssw0rd", nil, "too common"},
		{"leet with digits", "p@ssw0rd123", nil, "too common"},
		{"leet one as l", "1etmein!", nil, "too common"},
		{"leet symbol first", "@dmin2024", nil, "too common"},
		{"word and year", "Dragon2024!", nil, "too common"},
		{"digits before", "123sunshine", nil, "too common"},
		{"spaces around", "  football  ", nil, "too common"},
		{"NFD spelling of a list entry", "contrasen\u0303a", nil, "too common"},

		// context words
		{"user name", "alice.smith-2024", userContext, "user name"},
		{"user name upper case", "ALICE.SMITH rocks!", userContext, "user name"},
		{"user name without dot", "xx alicesmith xx", userContext, "user name"},
		{"email", "alice.smith@example.com", userContext, "user name"},
		{"email local part", "hello alice.smith!", []string{"alice.smith@example.com"}, "user name"},
		{"given name", "my name is alice!", userContext, "user name"},
		{"family name", "the smiths are great", userContext, "user name"},
		{"instance name", "acme identity rules", userContext, "name of this service"},
		{"instance name word", "i work at acme co", userContext, "name of this service"},
		{"product name", "IDCenter-2024!", nil, "name of this service"},
		{"leet user name", "@l1ce-was-here", []string{"alice"}, "user name"},
		{"NFD display name", "zoe\u0308quinn forever", []string{"Zoë Quinn"}, "user name"},
		{"case-folded context", "STRASSE-im-regen", []string{"Straße"}, "user name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := p.Check(tc.password, tc.context...)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want nil", tc.password, err)
				}
				return
			}
			var inv *errs.Invalid
			if !errors.As(err, &inv) || len(inv.Problems) != 1 || inv.Problems[0].Field != "password" {
				t.Fatalf("Check(%q) = %v, want one invalid password problem", tc.password, err)
			}
			if !strings.Contains(inv.Problems[0].Reason, tc.want) {
				t.Errorf("Check(%q) reason %q, want it to mention %q", tc.password, inv.Problems[0].Reason, tc.want)
			}
		})
	}
}

func TestPolicyMinLength(t *testing.T) {
	p := DefaultPolicy()
	p.MinLength = 15 // NIST, password as the only factor
	if err := p.Check("purple tractor"); err == nil || !strings.Contains(err.Error(), "at least 15 characters") {
		t.Errorf("14 characters: %v", err)
	}
	if err := p.Check("purple tractors"); err != nil {
		t.Errorf("15 characters: %v", err)
	}
	// characters, not bytes: 15 two-byte runes pass
	if err := p.Check("ñandú-pingüino-ç"); err != nil {
		t.Errorf("15 non-ASCII characters: %v", err)
	}
}

func TestZeroPolicy(t *testing.T) {
	var p Policy
	if err := p.Check("short"); err == nil || !strings.Contains(err.Error(), "at least 8 characters") {
		t.Errorf("zero policy, short: %v", err)
	}
	if err := p.Check("password"); err != nil {
		t.Errorf("zero policy has no common list, yet: %v", err)
	}
	if err := p.Check("12345678"); err == nil {
		t.Error("zero policy accepted a sequence")
	}
	if err := p.Check("my idcenter password"); err == nil {
		t.Error("zero policy accepted the product name")
	}
}

func TestCommonPasswordList(t *testing.T) {
	common := DefaultPolicy().Common
	if n := len(common); n < 300 || n > 600 {
		t.Errorf("%d common passwords, want about 300 to 500", n)
	}
	for _, pw := range []string{"123456", "password", "qwerty", "iloveyou", "admin", "welcome", "letmein", "dragon",
		"12345678", "baseball", "football", "sunshine", "princess", "trustno1", "1qaz2wsx"} {
		if _, ok := common[pw]; !ok {
			t.Errorf("%q is missing", pw)
		}
	}
	// the file: a header comment saying where it comes from, then one
	// unique, valid, already-normalised entry per line
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsFile))
	seen := map[string]int{}
	header := true
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			if !header {
				t.Errorf("line %d: comment after the header", n)
			}
			if n == 1 && !strings.Contains(line, "compiled for idcenter") {
				t.Errorf("the header does not say the list was compiled for idcenter: %q", line)
			}
			continue
		}
		header = false
		switch {
		case line == "" || strings.TrimSpace(line) != line:
			t.Errorf("line %d: blank or padded %q", n, line)
		case !utf8.ValidString(line) || !norm.NFC.IsNormalString(line):
			t.Errorf("line %d: not NFC UTF-8: %q", n, line)
		case fold(line) != line:
			t.Errorf("line %d: %q is not lower case", n, line)
		case seen[line] != 0:
			t.Errorf("line %d: %q repeats line %d", n, line, seen[line])
		}
		seen[line] = n
		if _, ok := common["#"+line]; ok {
			t.Errorf("comment loaded as an entry")
		}
	}
	for pw := range common {
		if strings.HasPrefix(pw, "#") {
			t.Errorf("comment %q loaded as an entry", pw)
		}
	}
}

func TestLoadCommonPasswords(t *testing.T) {
	got, err := LoadCommonPasswords(strings.NewReader("# header\r\n\r\nHunter2\r\nCONTRASEN\u0303A\n  \n#not me\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Errorf("got %v", got)
	}
	for _, want := range []string{"hunter2", "contraseña"} {
		if _, ok := got[want]; !ok {
			t.Errorf("%q missing from %v", want, got)
		}
	}
	if _, err := LoadCommonPasswords(strings.NewReader("ok\n\xff\n")); err == nil {
		t.Error("invalid UTF-8 accepted")
	}
	p := Policy{Common: got}
	if err := p.Check("HUNTER2!!"); err == nil {
		t.Error("custom list not applied")
	}
}

func FuzzPolicyCheck(f *testing.F) {
	for _, seed := range [][2]string{
		{"correct horse battery staple", "alice"},
		{"Password1!", ""},
		{"p@ssw0rd123", "bob@example.com"},
		{"aaaaaaaa", "Acme"},
		{"12345678", ""},
		{"\xff\xfe", "\xff"},
		{"zoe\u0308quinn forever", "Zoë Quinn"},
		{strings.Repeat("ü", 600), strings.Repeat("ü", 600)},
		{"", "@"},
		{"ǅǆǄ\u0345ΐ", "ΐ\u0345"},
	} {
		f.Add(seed[0], seed[1])
	}
	p := DefaultPolicy()
	f.Fuzz(func(t *testing.T, password, context string) {
		err := p.Check(password, context, context+"@example.com", "")
		if err == nil {
			if !utf8.ValidString(password) || len(password) > MaxPasswordLen ||
				utf8.RuneCountInString(norm.NFC.String(password)) < MinPasswordLen {
				t.Fatalf("accepted %q", password)
			}
			if _, common := p.Common[fold(password)]; common {
				t.Fatalf("accepted common password %q", password)
			}
			return
		}
		var inv *errs.Invalid
		if !errors.As(err, &inv) || len(inv.Problems) != 1 || inv.Problems[0].Field != "password" || inv.Problems[0].Reason == "" {
			t.Fatalf("Check(%q) = %#v", password, err)
		}
	})
}
