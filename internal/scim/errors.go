package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/idcenter/idcenter/internal/errs"
)

// Error is a SCIM error response (RFC 7644 §3.12).
type Error struct {
	Status   int
	ScimType string
	Detail   string
}

func (e *Error) Error() string {
	if e.ScimType != "" {
		return e.ScimType + ": " + e.Detail
	}
	return e.Detail
}

func errorf(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// toError maps a domain error onto the SCIM error it is.
func toError(err error) *Error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	var conflict *errs.Conflict
	if errors.As(err, &conflict) {
		if conflict.Stale {
			return errorf(http.StatusPreconditionFailed, "", "the resource was modified; read it again and retry")
		}
		field := conflict.Field
		if field == "email" {
			field = "emails"
		}
		return errorf(http.StatusConflict, "uniqueness", "a %s with this %s already exists", conflict.Kind, field)
	}
	var inv *errs.Invalid
	if errors.As(err, &inv) {
		parts := make([]string, len(inv.Problems))
		for i, p := range inv.Problems {
			parts[i] = p.Field + ": " + p.Reason
		}
		return errorf(http.StatusBadRequest, "invalidValue", "%s", strings.Join(parts, "; "))
	}
	switch {
	case errors.Is(err, errs.ErrNotFound):
		return errorf(http.StatusNotFound, "", "resource not found")
	case errors.Is(err, errs.ErrForbidden):
		return errorf(http.StatusForbidden, "", "this token may not do that")
	case errors.Is(err, errs.ErrUnauthenticated):
		return errorf(http.StatusUnauthorized, "", "a valid SCIM bearer token is required")
	case errors.Is(err, errs.ErrUnavailable):
		return errorf(http.StatusServiceUnavailable, "", "the store is unavailable; retry later")
	}
	return nil
}

// writeError writes err in the SCIM error shape. Unknown errors become a
// 500 without internal detail (logged instead).
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	se := toError(err)
	if se == nil {
		if log != nil {
			log.ErrorContext(r.Context(), "scim request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		se = errorf(http.StatusInternalServerError, "", "internal error")
	}
	if se.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	if se.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="scim"`)
	}
	writeJSON(w, se.Status, errorBody(se))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
