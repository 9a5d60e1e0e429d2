package mail

import (
	"errors"
	"flag"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var expires = time.Date(2026, 12, 1, 9, 30, 0, 0, time.FixedZone("CET", 3600))

func TestTemplatesGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		render func() (Message, error)
	}{
		{"invitation", func() (Message, error) {
			return Invitation(InviteData{To: "bob@example.com", DisplayName: "Bob Example", InstanceName: "Acme Sign-in",
				Link: "https://idc.example.com/invite/accept?token=abc123", ExpiresAt: expires, InvitedBy: "Alice Admin"})
		}},
		{"invitation_minimal", func() (Message, error) {
			return Invitation(InviteData{To: "bob@example.com", Link: "https://idc.example.com/invite/accept?token=abc123"})
		}},
		{"password_reset", func() (Message, error) {
			return PasswordReset(ResetData{To: "bob@example.com", DisplayName: "Bob Example", InstanceName: "Acme Sign-in",
				Link: "https://idc.example.com/reset?token=abc123", ExpiresAt: expires, RequestIP: "2001:db8::7"})
		}},
		{"password_reset_minimal", func() (Message, error) {
			return PasswordReset(ResetData{To: "bob@example.com", Link: "https://idc.example.com/reset?token=abc123"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.render()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".txt", "Subject: "+m.Subject+"\n\n"+m.Text)
			golden(t, tc.name+".html", m.HTML)
		})
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got); run go test -update if intended:\n%s", path, diff)
	}
}

var (
	anyURL = regexp.MustCompile(`https?://[^\s<>"]+`)
	hrefRE = regexp.MustCompile(`href="([^"]*)"`)
)

func TestTemplateLinks(t *testing.T) {
	links := []string{
		"https://idc.example.com/invite/accept?token=AbC-_123~xyz",
		"https://idc.example.com/reset?token=AbC&next=%2Fportal%3Fa%3Db",
		"http://localhost:8080/invite/accept?token=" + strings.Repeat("k", 300),
		"https://idc.example.com:8443/a/b;c=d/e+f?g=h#frag",
	}
	for _, link := range links {
		for kind, render := range map[string]func() (Message, error){
			"invitation": func() (Message, error) {
				return Invitation(InviteData{To: "bob@example.com", DisplayName: "Bob", Link: link, ExpiresAt: expires})
			},
			"reset": func() (Message, error) {
				return PasswordReset(ResetData{To: "bob@example.com", DisplayName: "Bob", Link: link, ExpiresAt: expires})
			},
		} {
			m, err := render()
			if err != nil {
				t.Fatalf("%s(%s): %v", kind, link, err)
			}
			// plain part: verbatim, on a line of its own, and the only URL
			if !strings.Contains(m.Text, "\n"+link+"\n") {
				t.Errorf("%s: the text part lacks %q on a line of its own:\n%s", kind, link, m.Text)
			}
			if diff := cmp.Diff([]string{link}, anyURL.FindAllString(m.Text, -1)); diff != "" {
				t.Errorf("%s: URLs in the text part (-want +got):\n%s", kind, diff)
			}
			// HTML part: the link is the href of the button and of the
			// fallback anchor, and its text; HTML escaping is undone by
			// the client.
			hrefs := hrefRE.FindAllStringSubmatch(m.HTML, -1)
			if len(hrefs) != 2 {
				t.Errorf("%s: %d hrefs in the HTML part, want 2", kind, len(hrefs))
			}
			for _, h := range hrefs {
				if got := html.UnescapeString(h[1]); got != link {
					t.Errorf("%s: href %q, want %q", kind, got, link)
				}
			}
			for _, u := range anyURL.FindAllString(m.HTML, -1) {
				if html.UnescapeString(u) != link {
					t.Errorf("%s: unexpected URL %q in the HTML part", kind, u)
				}
			}
			// nothing remote, nothing active
			low := strings.ToLower(m.HTML)
			for _, bad := range []string{"<img", "<script", "src=", "url(", "<link", "<iframe", "<form"} {
				if strings.Contains(low, bad) {
					t.Errorf("%s: HTML part contains %q", kind, bad)
				}
			}
		}
	}
}

func TestTemplateFreeTextIsOneLine(t *testing.T) {
	evil := "Bob\n\nhttps://evil.example/reset?token=phish\r\n\u202eevil\u2028x\x00y"
	m, err := PasswordReset(ResetData{To: "bob@example.com", DisplayName: evil, InstanceName: "Acme\nCorp",
		Link: "https://idc.example.com/reset?token=abc"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Text, "Hello Bob https://evil.example/reset?token=phish evil x y,\n") {
		t.Errorf("display name not reduced to one line:\n%s", m.Text)
	}
	if strings.Contains(m.Text, "\nhttps://evil") {
		t.Error("a display name put a link on a line of its own")
	}
	if m.Subject != "Reset your Acme Corp password" {
		t.Errorf("Subject = %q", m.Subject)
	}
	long := strings.Repeat("é", 500)
	m, err = Invitation(InviteData{To: "bob@example.com", DisplayName: long, Link: "https://idc.example.com/i?t=1"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Text, long) || !strings.Contains(m.Text, strings.Repeat("é", 99)+"…,") {
		t.Error("long display name not shortened")
	}
}

func TestTemplateInvalidInput(t *testing.T) {
	ok := InviteData{To: "bob@example.com", Link: "https://idc.example.com/invite/accept?token=abc"}
	for _, tc := range []struct {
		name string
		edit func(*InviteData)
	}{
		{"no to", func(d *InviteData) { d.To = "" }},
		{"to with CRLF", func(d *InviteData) { d.To = "bob@example.com\r\nBcc: x@example.net" }},
		{"to not an address", func(d *InviteData) { d.To = "bob" }},
		{"no link", func(d *InviteData) { d.Link = "" }},
		{"javascript link", func(d *InviteData) { d.Link = "javascript:alert(1)//https://x" }},
		{"data link", func(d *InviteData) { d.Link = "data:text/html,hi" }},
		{"relative link", func(d *InviteData) { d.Link = "/invite/accept?token=abc" }},
		{"link with space", func(d *InviteData) { d.Link = "https://idc.example.com/a b" }},
		{"link with newline", func(d *InviteData) { d.Link = "https://idc.example.com/a\nhttps://evil.example" }},
		{"link with quote", func(d *InviteData) { d.Link = `https://idc.example.com/a"onclick="x` }},
		{"link with non-ASCII", func(d *InviteData) { d.Link = "https://idc.example.com/é" }},
		{"link with user info", func(d *InviteData) { d.Link = "https://idc.example.com@evil.example/a" }},
		{"link too long", func(d *InviteData) { d.Link = "https://idc.example.com/" + strings.Repeat("a", 2100) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := ok
			tc.edit(&d)
			if _, err := Invitation(d); !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("Invitation = %v, want ErrInvalidMessage", err)
			}
			r := ResetData{To: d.To, Link: d.Link}
			if _, err := PasswordReset(r); !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("PasswordReset = %v, want ErrInvalidMessage", err)
			}
		})
	}
	for _, ip := range []string{"203.0.113.7\nhttps://evil", "unknown", "203.0.113.7:443", "<b>"} {
		m, err := PasswordReset(ResetData{To: ok.To, Link: ok.Link, RequestIP: ip})
		if err != nil || strings.Contains(m.Text, "IP address") || strings.Contains(m.HTML, "IP address") {
			t.Errorf("request IP %q: not left out (%v)", ip, err)
		}
	}
	if m, err := PasswordReset(ResetData{To: ok.To, Link: ok.Link, RequestIP: "::ffff:203.0.113.7"}); err != nil ||
		!strings.Contains(m.Text, "IP address 203.0.113.7.") {
		t.Errorf("mapped IPv4: %v", err)
	}
}
