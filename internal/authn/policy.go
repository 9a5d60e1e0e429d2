package authn

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/idcenter/idcenter/internal/errs"
)

// Policy is the password policy of NIST SP 800-63B-4 §3.1.1.2: a minimum
// length (characters after NFC normalisation), up to MaxPasswordLen bytes
// allowed, no composition rules, and a blocklist of common passwords and of
// words from the user's own context. Spaces and all of Unicode are allowed.
//
// The zero Policy is usable: MinPasswordLen characters and no common list.
type Policy struct {
	// MinLength is the minimum number of characters (runes after NFC);
	// zero or less means MinPasswordLen (8). NIST asks for 15 when the
	// password is the only factor.
	MinLength int
	// Common holds blocked passwords as returned by LoadCommonPasswords
	// (NFC, case-folded). The map is only read, so one map may be shared.
	Common map[string]struct{}
}

// ProductName is always treated as a context word (a "service name" in
// NIST's terms), whatever the instance is called.
const ProductName = "idcenter"

// minContextLen is the shortest context word that is checked; shorter ones
// ("Al", "Bo") would block too many good passwords.
const minContextLen = 4

//go:embed commonpasswords.txt
var commonPasswordsFile string

var defaultCommon = sync.OnceValue(func() map[string]struct{} {
	m, err := LoadCommonPasswords(strings.NewReader(commonPasswordsFile))
	if err != nil {
		panic("authn: embedded commonpasswords.txt: " + err.Error()) // covered by tests
	}
	return m
})

// DefaultPolicy returns the policy with the default minimum length and the
// embedded list of common passwords (loaded once, shared, read-only).
func DefaultPolicy() Policy {
	return Policy{MinLength: MinPasswordLen, Common: defaultCommon()}
}

// LoadCommonPasswords reads a blocklist: one password per line, blank lines
// and lines starting with # skipped. Entries are NFC-normalised and
// case-folded, like the passwords they are compared with.
func LoadCommonPasswords(r io.Reader) (map[string]struct{}, error) {
	m := make(map[string]struct{})
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !utf8.ValidString(line) {
			return nil, fmt.Errorf("line %d: not valid UTF-8", n)
		}
		m[fold(line)] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

// Check reports whether password satisfies the policy. context holds words
// the password must not contain: the userName, the email address (checked
// whole and by its local part), the given, family and display names, and the
// instance name; ProductName is always added. Words shorter than four
// characters are ignored. The error is an *errs.Invalid for field
// "password" with one reason a user can act on.
func (p Policy) Check(password string, context ...string) error {
	if !utf8.ValidString(password) {
		return errs.Invalidf("password", "must be valid UTF-8")
	}
	if len(password) > MaxPasswordLen {
		return errs.Invalidf("password", "must be at most %d bytes", MaxPasswordLen)
	}
	minLen := p.MinLength
	if minLen <= 0 {
		minLen = MinPasswordLen
	}
	nfc := norm.NFC.String(password)
	if utf8.RuneCountInString(nfc) < minLen {
		return errs.Invalidf("password", "must be at least %d characters", minLen)
	}
	f := fold(nfc)
	if trivial(f) {
		return errs.Invalidf("password", "must not be one character repeated or a simple sequence like 12345678 or abcdefgh")
	}
	if p.isCommon(f) {
		return errs.Invalidf("password", "is too common: it is, or is a simple variation of, a password found in leaked password lists")
	}
	if containsContext(f, context) {
		return errs.Invalidf("password", "must not contain your user name, email address or name, or the name of this service")
	}
	return nil
}

// fold normalises s for case-insensitive comparison: NFC, Unicode case
// folding, NFC again (folding can denormalise).
func fold(s string) string {
	return norm.NFC.String(cases.Fold().String(norm.NFC.String(s)))
}

// trivial reports a single repeated character or a run of consecutive code
// points, ascending or descending ("aaaaaaaa", "12345678", "hgfedcba").
func trivial(f string) bool {
	var prev rune
	same, up, down := true, true, true
	for i, r := range []rune(f) {
		if i > 0 {
			same = same && r == prev
			up = up && r == prev+1
			down = down && r == prev-1
		}
		prev = r
	}
	return same || up || down
}

// leet undoes common character substitutions; '1' stands for 'i' or 'l'.
var leet = [2]*strings.Replacer{
	strings.NewReplacer("0", "o", "1", "i", "3", "e", "4", "a", "5", "s", "7", "t", "@", "a", "$", "s", "!", "i"),
	strings.NewReplacer("0", "o", "1", "l", "3", "e", "4", "a", "5", "s", "7", "t", "@", "a", "$", "s", "!", "i"),
}

// isCommon reports whether f, or a simple variation of it, is in p.Common.
// Variations: digits and symbols trimmed from either end ("Dragon2024!" →
// dragon, "hunter2!!" → hunter2), leet substitutions undone ("p@ssw0rd" →
// password), and both ("@dmin123" → admin, "1etmein!" → letmein).
func (p Policy) isCommon(f string) bool {
	if len(p.Common) == 0 {
		return false
	}
	if _, ok := p.Common[f]; ok {
		return true
	}
	notLetter := func(r rune) bool { return !unicode.IsLetter(r) }
	notLetterOrDigit := func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }
	candidates := []string{strings.TrimFunc(f, notLetter), strings.TrimFunc(f, notLetterOrDigit)}
	for _, l := range leet {
		candidates = append(candidates,
			l.Replace(f),
			l.Replace(strings.TrimFunc(f, notLetter)),
			l.Replace(strings.TrimRightFunc(f, notLetter)),
			l.Replace(strings.TrimLeftFunc(f, notLetter)),
		)
	}
	for _, c := range candidates {
		if utf8.RuneCountInString(c) < minContextLen {
			continue
		}
		if _, ok := p.Common[c]; ok {
			return true
		}
	}
	return false
}

// containsContext reports whether the folded password f (or f with leet
// substitutions undone) contains one of the context words. Each context
// string counts whole, without its separators, and word by word; an email
// address also counts by its local part.
func containsContext(f string, context []string) bool {
	forms := []string{f, leet[0].Replace(f), leet[1].Replace(f)}
	hit := func(term string) bool {
		if utf8.RuneCountInString(term) < minContextLen {
			return false
		}
		for _, form := range forms {
			if strings.Contains(form, term) {
				return true
			}
		}
		return false
	}
	notWordRune := func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }
	for _, c := range append(context, ProductName) {
		c = fold(strings.TrimSpace(c))
		if c == "" {
			continue
		}
		if hit(c) {
			return true
		}
		if at := strings.LastIndexByte(c, '@'); at > 0 {
			c = c[:at] // words of the local part only: a domain like gmail.com says little
			if hit(c) {
				return true
			}
		}
		words := strings.FieldsFunc(c, notWordRune)
		if len(words) > 1 && hit(strings.Join(words, "")) {
			return true
		}
		for _, w := range words {
			if hit(w) {
				return true
			}
		}
	}
	return false
}
