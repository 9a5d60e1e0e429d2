package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/idcenter/idcenter/internal/errs"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail,omitempty"`
	Instance  string            `json:"instance,omitempty"`
	RequestID string            `json:"requestId,omitempty"`
	Errors    []errs.FieldError `json:"errors,omitempty"`
}

// WriteProblem writes a problem document. An empty title uses the status text.
func WriteProblem(w http.ResponseWriter, r *http.Request, status int, title, detail string, fields []errs.FieldError) {
	if title == "" {
		title = http.StatusText(status)
	}
	p := Problem{Type: "about:blank", Title: title, Status: status, Detail: detail, Errors: fields, RequestID: RequestID(r.Context())}
	if r.URL != nil {
		p.Instance = r.URL.Path
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// ErrorStatus maps a domain error to a status, title, public detail and field errors.
// Internal errors get a generic detail; their cause is for the log only.
func ErrorStatus(err error) (status int, title, detail string, fields []errs.FieldError) {
	var inv *errs.Invalid
	var cf *errs.Conflict
	var be *BadRequest
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "", fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit), nil
	case errors.As(err, &be):
		return http.StatusBadRequest, "", be.Msg, nil
	case errors.As(err, &inv):
		return http.StatusBadRequest, "Invalid input", inv.Error(), inv.Problems
	case errors.As(err, &cf):
		return http.StatusConflict, "", cf.Error(), nil
	case errors.Is(err, errs.ErrNotFound):
		return http.StatusNotFound, "", err.Error(), nil
	case errors.Is(err, errs.ErrUnauthenticated):
		return http.StatusUnauthorized, "", "a valid bearer token is required", nil
	case errors.Is(err, errs.ErrForbidden):
		return http.StatusForbidden, "", "your role does not allow this", nil
	case errors.Is(err, errs.ErrUnavailable):
		return http.StatusServiceUnavailable, "", "the database is unavailable; try again shortly", nil
	}
	return http.StatusInternalServerError, "", "an internal error occurred; quote the request id when reporting it", nil
}

// BadRequest is a malformed request (bad JSON, bad query parameter).
type BadRequest struct{ Msg string }

func (e *BadRequest) Error() string { return e.Msg }

// Badf builds a BadRequest.
func Badf(format string, args ...any) error { return &BadRequest{Msg: fmt.Sprintf(format, args...)} }

// DecodeJSON decodes exactly one JSON object from the body into v, refusing
// unknown fields and trailing data, with errors that say what is wrong.
func DecodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return Badf("Content-Type must be application/json, got %q", ct)
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return Badf("request body must hold a single JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return Badf("request body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Badf("request body is truncated JSON")
	case errors.As(err, &syn):
		return Badf("malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return Badf("field %q: expected %s, got JSON %s", field, typ.Type, typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return Badf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return Badf("malformed JSON: %v", err)
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
