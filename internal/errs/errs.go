// Package errs holds the error values shared by the domain services and the
// stores: not found, conflicts naming the field that collided, validation
// problems naming the fields at fault, and an unavailable store. Surfaces
// (admin API, CLI, later SCIM and the console) match them with errors.Is/As
// and map them to their own error shapes.
package errs

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrNotFound: the object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the store cannot be reached; callers fail closed (503).
	ErrUnavailable = errors.New("store unavailable")
	// ErrForbidden: the actor may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthenticated: no valid credentials.
	ErrUnauthenticated = errors.New("unauthenticated")
)

// NotFound wraps ErrNotFound with the kind of object that was missing.
func NotFound(kind, key string) error {
	return fmt.Errorf("%s %q: %w", kind, key, ErrNotFound)
}

// Conflict reports that a write collided with existing state: a unique field
// (Field set) or a concurrent update (Field empty, Stale true).
type Conflict struct {
	Kind  string // "user", "group", "token"
	Field string // "userName", "email", "displayName", "name"; empty for a stale version
	Value string
	Stale bool // the object changed since it was read (optimistic concurrency)
}

func (c *Conflict) Error() string {
	if c.Stale {
		return fmt.Sprintf("%s was modified concurrently; re-read it and retry", c.Kind)
	}
	if c.Value != "" {
		return fmt.Sprintf("%s with %s %q already exists", c.Kind, c.Field, c.Value)
	}
	return fmt.Sprintf("%s with this %s already exists", c.Kind, c.Field)
}

// FieldError is one validation problem.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Invalid is a list of validation problems; every problem is reported at once.
type Invalid struct {
	Problems []FieldError
}

func (v *Invalid) Error() string {
	parts := make([]string, len(v.Problems))
	for i, p := range v.Problems {
		parts[i] = p.Field + ": " + p.Reason
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Add records a problem.
func (v *Invalid) Add(field, format string, args ...any) {
	v.Problems = append(v.Problems, FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// Err returns v as an error when it holds problems, else nil.
func (v *Invalid) Err() error {
	if v == nil || len(v.Problems) == 0 {
		return nil
	}
	return v
}

// Invalidf builds a single-field validation error.
func Invalidf(field, format string, args ...any) error {
	v := &Invalid{}
	v.Add(field, format, args...)
	return v
}
