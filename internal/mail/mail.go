// Package mail sends idcenter's email: invitations and password resets. It
// owns the message type, the Sender interface the domain services depend on,
// the SMTP sender (github.com/wneessen/go-mail), the embedded templates, and
// two senders for when there is no SMTP server: Recorder for tests and Log
// for development.
//
// Every Sender checks a Message the same way (see Message.Validate): a CR or
// LF in a header value is an error, never passed through.
package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Message is one email to one recipient. Text is required; HTML is optional
// and, when set, is sent as the multipart/alternative companion of Text.
type Message struct {
	To      string // one address, "bob@example.com" or "Bob <bob@example.com>"
	Subject string
	Text    string
	HTML    string
}

// Sender delivers messages. Implementations are safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Limits on a message, well above what the templates produce.
const (
	maxSubjectLen = 998 // RFC 5322 line limit
	maxBodyLen    = 1 << 20
)

// ErrInvalidMessage is wrapped by every validation error of a Message.
var ErrInvalidMessage = errors.New("mail: invalid message")

// Validate checks m and returns the parsed recipient. A CR, LF or other
// control character in To or Subject is rejected (header injection).
func (m Message) Validate() (*netmail.Address, error) {
	if err := headerSafe("to", m.To); err != nil {
		return nil, err
	}
	if err := headerSafe("subject", m.Subject); err != nil {
		return nil, err
	}
	to, err := parseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("%w: to: %v", ErrInvalidMessage, err)
	}
	if strings.TrimSpace(m.Subject) == "" {
		return nil, fmt.Errorf("%w: subject is empty", ErrInvalidMessage)
	}
	if len(m.Subject) > maxSubjectLen {
		return nil, fmt.Errorf("%w: subject is longer than %d bytes", ErrInvalidMessage, maxSubjectLen)
	}
	if strings.TrimSpace(m.Text) == "" {
		return nil, fmt.Errorf("%w: text part is empty", ErrInvalidMessage)
	}
	if !utf8.ValidString(m.Text) || !utf8.ValidString(m.HTML) {
		return nil, fmt.Errorf("%w: body is not valid UTF-8", ErrInvalidMessage)
	}
	if len(m.Text)+len(m.HTML) > maxBodyLen {
		return nil, fmt.Errorf("%w: body is larger than %d bytes", ErrInvalidMessage, maxBodyLen)
	}
	return to, nil
}

// headerSafe rejects values that could break out of a header line.
func headerSafe(field, v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidMessage, field)
	}
	if strings.ContainsAny(v, "\r\n") {
		return fmt.Errorf("%w: %s contains a line break", ErrInvalidMessage, field)
	}
	for _, r := range v {
		if r != '\t' && unicode.IsControl(r) {
			return fmt.Errorf("%w: %s contains a control character", ErrInvalidMessage, field)
		}
	}
	return nil
}

// parseAddress parses exactly one address, without group syntax.
func parseAddress(s string) (*netmail.Address, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty address")
	}
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("not an email address: %v", err)
	}
	if i := strings.LastIndexByte(a.Address, '@'); i <= 0 || i == len(a.Address)-1 {
		return nil, errors.New("not an email address: missing local part or domain")
	}
	return a, nil
}

// Recorder is a Sender that keeps the messages it is given, for tests of the
// packages that send mail. It validates each message like the SMTP sender.
// The zero value is ready to use and it is safe for concurrent use.
type Recorder struct {
	mu   sync.Mutex
	msgs []Message
	err  error
}

// Send records m, or returns the error set with SetErr.
func (r *Recorder) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := m.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.msgs = append(r.msgs, m)
	return nil
}

// SetErr makes every later Send fail with err (nil: succeed again), to test
// how callers handle a mail server that is down.
func (r *Recorder) SetErr(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

// Messages returns a copy of the recorded messages, oldest first.
func (r *Recorder) Messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.msgs...)
}

// To returns the recorded messages whose To is addr (case-insensitive).
func (r *Recorder) To(addr string) []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Message
	for _, m := range r.msgs {
		if a, err := netmail.ParseAddress(m.To); err == nil && strings.EqualFold(a.Address, addr) {
			out = append(out, m)
		}
	}
	return out
}

// Last returns the most recent message, and false when there is none.
func (r *Recorder) Last() (Message, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.msgs) == 0 {
		return Message{}, false
	}
	return r.msgs[len(r.msgs)-1], true
}

// Reset forgets the recorded messages.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.msgs = nil
	r.mu.Unlock()
}

// Log is the Sender used when SMTP is not configured: it delivers nothing and
// writes "email to X: subject" to Logger (nil: slog.Default()). It never logs
// the body, because the body holds a link with a secret token.
type Log struct {
	Logger *slog.Logger
}

// Send logs the recipient and subject of m.
func (l Log) Send(ctx context.Context, m Message) error {
	to, err := m.Validate()
	if err != nil {
		return err
	}
	lg := l.Logger
	if lg == nil {
		lg = slog.Default()
	}
	lg.InfoContext(ctx, fmt.Sprintf("email to %s: %s", to.Address, m.Subject), slog.Bool("delivered", false),
		slog.String("reason", "smtp is not configured"))
	return nil
}
