package saml

import (
	"bytes"
	"encoding/base64"
	"html"
	"regexp"
	"strings"
	"testing"
)

func TestPostForm(t *testing.T) {
	msg := []byte(`<samlp:Response ID="_x">&amp;</samlp:Response>`)
	const relay = `"><script>alert(1)</script>&x=1`
	out, err := PostForm{Action: "https://sp.example.com/acs?a=1&b=2", Param: "SAMLResponse", Message: msg, RelayState: relay}.HTML()
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if strings.Contains(s, "<script") {
		t.Errorf("script element without ScriptSrc:\n%s", s)
	}
	if !strings.Contains(s, `action="https://sp.example.com/acs?a=1&amp;b=2"`) {
		t.Errorf("action:\n%s", s)
	}
	if !strings.Contains(s, `<button type="submit">Continue</button>`) || strings.Contains(s, "<noscript>") {
		t.Errorf("visible button:\n%s", s)
	}
	values := map[string]string{}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(s, -1) {
		values[m[1]] = html.UnescapeString(m[2])
	}
	if got, _ := base64.StdEncoding.DecodeString(values["SAMLResponse"]); !bytes.Equal(got, msg) {
		t.Errorf("SAMLResponse %q", got)
	}
	if values["RelayState"] != relay {
		t.Errorf("RelayState %q", values["RelayState"])
	}

	out, err = PostForm{Action: "https://sp.example.com/slo", Param: "SAMLRequest", Message: msg, ScriptSrc: "/static/saml-post.js", Nonce: `n"1`}.HTML()
	if err != nil {
		t.Fatal(err)
	}
	s = string(out)
	if !strings.Contains(s, `<script src="/static/saml-post.js" nonce="n&#34;1" defer></script>`) || !strings.Contains(s, "<noscript><button") {
		t.Errorf("script form:\n%s", s)
	}
	if strings.Contains(s, "RelayState") {
		t.Error("empty RelayState rendered")
	}
	if regexp.MustCompile(`<script[^>]*>[^<]`).MatchString(s) {
		t.Error("inline script content")
	}

	for name, f := range map[string]PostForm{
		"javascript action": {Action: "javascript:alert(1)", Param: "SAMLResponse"},
		"data action":       {Action: "data:text/html,x", Param: "SAMLResponse"},
		"markup action":     {Action: `https://x/"><script>`, Param: "SAMLResponse"},
		"http action":       {Action: "http://sp.example.com/acs", Param: "SAMLResponse"},
		"bad param":         {Action: "https://sp.example.com/acs", Param: "x"},
		"huge RelayState":   {Action: "https://sp.example.com/acs", Param: "SAMLResponse", RelayState: strings.Repeat("a", 4096)},
	} {
		if _, err := f.HTML(); err == nil {
			t.Errorf("%s: rendered", name)
		}
	}
}
