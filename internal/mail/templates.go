package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"net/netip"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"
	"unicode/utf8"
)

//go:embed templates/*.txt templates/*.html
var templateFS embed.FS

// Templates are parsed once, at start-up; a broken template fails every test.
var (
	textTemplates = texttemplate.Must(texttemplate.New("").Option("missingkey=error").
			ParseFS(templateFS, "templates/*.txt"))
	htmlTemplates = htmltemplate.Must(htmltemplate.New("").Option("missingkey=error").
			ParseFS(templateFS, "templates/*.html"))
)

// InviteData fills the invitation email.
type InviteData struct {
	To           string    // the invited address
	DisplayName  string    // the invitee's name; optional
	InstanceName string    // this idcenter's name, e.g. "Acme Sign-in"; "idcenter" when empty
	Link         string    // absolute http(s) URL carrying the invitation token
	ExpiresAt    time.Time // when the link stops working; zero: not mentioned
	InvitedBy    string    // the inviting administrator's name; optional
}

// ResetData fills the password-reset email.
type ResetData struct {
	To           string
	DisplayName  string
	InstanceName string
	Link         string // absolute http(s) URL carrying the reset token
	ExpiresAt    time.Time
	RequestIP    string // the client IP that asked for the reset; optional, left out unless an IP literal
}

// view is what the templates see. Every free-text value is reduced to one
// line, so a display name cannot add lines (or a fake link) to the text part.
type view struct {
	Subject      string
	DisplayName  string
	InstanceName string
	InvitedBy    string
	RequestIP    string
	Link         string
	Expires      string
	Button       string
	Event        string
}

// NoticeData fills a security notification: something changed on the account.
type NoticeData struct {
	To           string
	DisplayName  string
	InstanceName string
	Event        string // one sentence without a full stop, e.g. "Your password was changed"
	Link         string // where to review the account (the profile page)
	RequestIP    string
}

// SecurityNotice renders a notification of a change to the account's
// sign-in methods (WEB-19: users hear of credential and MFA changes).
func SecurityNotice(data NoticeData) (Message, error) {
	v, err := newView(data.To, data.DisplayName, data.InstanceName, data.Link, time.Time{})
	if err != nil {
		return Message{}, err
	}
	v.Event = oneLine(data.Event)
	if a, err := netip.ParseAddr(strings.TrimSpace(data.RequestIP)); err == nil {
		v.RequestIP = a.Unmap().WithZone("").String()
	}
	v.Subject = "Security notice: " + v.Event
	v.Button = "Review your account"
	return render(data.To, "security_notice", v)
}

// Invitation renders the invitation email.
func Invitation(data InviteData) (Message, error) {
	v, err := newView(data.To, data.DisplayName, data.InstanceName, data.Link, data.ExpiresAt)
	if err != nil {
		return Message{}, err
	}
	v.InvitedBy = oneLine(data.InvitedBy)
	v.Subject = "Invitation to join " + v.InstanceName
	v.Button = "Accept invitation"
	return render(data.To, "invitation", v)
}

// PasswordReset renders the password-reset email.
func PasswordReset(data ResetData) (Message, error) {
	v, err := newView(data.To, data.DisplayName, data.InstanceName, data.Link, data.ExpiresAt)
	if err != nil {
		return Message{}, err
	}
	// Only an IP literal is shown; anything else is left out rather than
	// failing the email (a reset email matters more than this line).
	if a, err := netip.ParseAddr(strings.TrimSpace(data.RequestIP)); err == nil {
		v.RequestIP = a.Unmap().WithZone("").String()
	}
	v.Subject = "Reset your " + v.InstanceName + " password"
	v.Button = "Reset password"
	return render(data.To, "password_reset", v)
}

func newView(to, displayName, instance, link string, expires time.Time) (view, error) {
	if err := headerSafe("to", to); err != nil {
		return view{}, err
	}
	if _, err := parseAddress(to); err != nil {
		return view{}, fmt.Errorf("%w: to: %v", ErrInvalidMessage, err)
	}
	if err := checkLink(link); err != nil {
		return view{}, err
	}
	v := view{DisplayName: oneLine(displayName), InstanceName: oneLine(instance), Link: link}
	if v.InstanceName == "" {
		v.InstanceName = "idcenter"
	}
	if !expires.IsZero() {
		v.Expires = expires.UTC().Format("Monday, 2 January 2006 at 15:04 UTC")
	}
	return v, nil
}

func render(to, name string, v view) (Message, error) {
	var text, html bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&text, name+".txt", v); err != nil {
		return Message{}, fmt.Errorf("mail: render %s.txt: %w", name, err)
	}
	if err := htmlTemplates.ExecuteTemplate(&html, name+".html", v); err != nil {
		return Message{}, fmt.Errorf("mail: render %s.html: %w", name, err)
	}
	m := Message{To: to, Subject: v.Subject, Text: text.String(), HTML: html.String()}
	if _, err := m.Validate(); err != nil {
		return Message{}, err
	}
	return m, nil
}

// maxLinkLen keeps links well inside what mail clients and browsers handle.
const maxLinkLen = 2048

// checkLink accepts only absolute http(s) URLs made of characters that need
// no escaping, so the link reaches the reader byte for byte in both parts.
func checkLink(link string) error {
	if link == "" {
		return fmt.Errorf("%w: link is empty", ErrInvalidMessage)
	}
	if len(link) > maxLinkLen {
		return fmt.Errorf("%w: link is longer than %d bytes", ErrInvalidMessage, maxLinkLen)
	}
	for i := 0; i < len(link); i++ {
		c := link[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"<>\\^`{|}", c) >= 0 {
			return fmt.Errorf("%w: link contains a character that must be percent-encoded", ErrInvalidMessage)
		}
	}
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return fmt.Errorf("%w: link must be an absolute http or https URL without user info", ErrInvalidMessage)
	}
	return nil
}

// maxNameLen caps free-text values (display names, instance name) in mails.
const maxNameLen = 100

// oneLine turns control characters and runs of white space into one space,
// trims, and caps the length.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || isBidiControl(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	out := b.String()
	if utf8.RuneCountInString(out) > maxNameLen {
		out = string([]rune(out)[:maxNameLen-1]) + "…"
	}
	return out
}

// isBidiControl reports the explicit direction marks and overrides, which can
// make a name display as something else ("Trojan Source").
func isBidiControl(r rune) bool {
	return r == '\u200E' || r == '\u200F' || (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069')
}
