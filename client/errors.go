package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode"
)

// FieldError is one validation problem reported by the server.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Error is a non-2xx response from the server, decoded from its RFC 9457
// problem details when it sent them.
type Error struct {
	Status    int    // HTTP status code
	Type      string // problem type URI, if any
	Title     string // short summary, e.g. "Conflict"
	Detail    string // what went wrong with this request
	RequestID string // server request id, for matching server logs
	Problems  []FieldError
}

// Error returns one line: the status code and text, and the detail, e.g.
// `409 Conflict: user with userName "alice" already exists`. Server errors
// (5xx) end with the request id, for matching the server's log.
func (e *Error) Error() string {
	title := http.StatusText(e.Status)
	if title == "" {
		title = e.Title
	}
	var b strings.Builder
	b.WriteString(strconv.Itoa(e.Status))
	if title != "" {
		b.WriteString(" " + oneLine(title, 100))
	}
	detail := e.Detail
	if detail == "" && len(e.Problems) > 0 {
		parts := make([]string, len(e.Problems))
		for i, p := range e.Problems {
			parts[i] = p.Field + ": " + p.Reason
		}
		detail = "invalid input: " + strings.Join(parts, "; ")
	}
	if detail = oneLine(detail, 1000); detail != "" {
		b.WriteString(": " + detail)
	}
	if e.Status >= 500 && e.RequestID != "" {
		b.WriteString(" (request id " + oneLine(e.RequestID, 100) + ")")
	}
	return b.String()
}

// IsStatus reports whether err is (or wraps) an *Error with the given HTTP status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// IsNotFound reports whether err is a 404 from the server.
func IsNotFound(err error) bool { return IsStatus(err, http.StatusNotFound) }

// problem is the RFC 9457 body idcenter sends, plus the fields other servers
// and proxies commonly use for an error message.
type problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail"`
	RequestID string       `json:"requestId"`
	Errors    []FieldError `json:"errors"`
	Message   string       `json:"message"`
	Error     string       `json:"error"`
}

// decodeError builds an *Error from a non-2xx response. The body may be a
// problem document, other JSON, plain text or HTML (from a proxy); whatever
// it is, the result stays one line.
func decodeError(resp *http.Response, body []byte) *Error {
	e := &Error{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id")}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case mt == "application/problem+json" || mt == "application/json" || strings.HasSuffix(mt, "+json"):
		var p problem
		if json.Unmarshal(body, &p) != nil {
			break
		}
		e.Type, e.Title, e.Detail, e.Problems = p.Type, p.Title, p.Detail, p.Errors
		if p.RequestID != "" {
			e.RequestID = p.RequestID
		}
		if e.Detail == "" {
			e.Detail = p.Message
		}
		if e.Detail == "" {
			e.Detail = p.Error
		}
	case mt == "text/plain" || mt == "":
		text := strings.TrimSpace(string(body))
		if line, _, _ := strings.Cut(text, "\n"); !strings.HasPrefix(line, "<") {
			e.Detail = oneLine(line, 200)
		}
	}
	if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
		e.Detail = "the server redirects to " + oneLine(loc, 200)
		if base, _, ok := strings.Cut(loc, "/api/v1/"); ok && base != "" {
			e.Detail += "; use " + oneLine(base, 200) + " as the server URL"
		}
	}
	// Go's http.Error writes the status text as the body; don't repeat it.
	if strings.EqualFold(e.Detail, http.StatusText(e.Status)) || strings.EqualFold(e.Detail, e.Title) {
		e.Detail = ""
	}
	return e
}

// oneLine makes server-supplied text safe to print on one terminal line:
// control and format characters (newlines, escape sequences, bidi
// overrides) become spaces, runs of
// spaces collapse, and the result is cut to max runes.
func oneLine(s string, max int) string {
	var b strings.Builder
	space := false
	n := 0
	for _, r := range strings.TrimSpace(s) {
		if unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
			n++
		}
		space = false
		if n >= max {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// errTooLarge is returned when a response body exceeds the client's limit.
func errTooLarge(limit int64) error {
	return fmt.Errorf("response body larger than %d bytes", limit)
}
