// Package audit defines audit events: who did what to which object, when, from
// where and with which request. Domain services append one event in the same
// store transaction as the change they record; the store offers no way to
// change or delete an event. The package has no HTTP and no SQL.
package audit

import (
	"context"
	"time"
)

// Actor kinds.
const (
	ActorUser   = "user"
	ActorToken  = "token"
	ActorSystem = "system"
)

// Actor is who performed an action.
type Actor struct {
	Type string `json:"type"` // user, token, system
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	// Role is the actor's role at the time ("admin", "auditor"); not stored.
	Role string `json:"-"`
}

// System is the actor for changes made by idcenter itself (bootstrap).
var System = Actor{Type: ActorSystem, Name: "idcenter"}

// Event is one audit record.
type Event struct {
	ID         string         `json:"id"`
	Time       time.Time      `json:"time"`
	Actor      Actor          `json:"actor"`
	Action     string         `json:"action"` // e.g. user.create, group.member.add
	TargetType string         `json:"targetType,omitempty"`
	TargetID   string         `json:"targetId,omitempty"`
	TargetName string         `json:"targetName,omitempty"`
	Summary    map[string]any `json:"summary,omitempty"` // what changed; never secrets
	RequestID  string         `json:"requestId,omitempty"`
	ClientIP   string         `json:"clientIp,omitempty"`
}

// Filter selects events. Zero fields match everything.
type Filter struct {
	Since, Until time.Time
	ActorID      string // actor id or name
	Action       string // exact action, or a prefix ending in "." / "*" ("user." or "user.*")
	Target       string // target id or name
	Cursor       string
	Limit        int
}

// Appender appends events; implemented by a store transaction.
type Appender interface {
	AppendAudit(ctx context.Context, e Event) error
}

// Reader lists events newest first.
type Reader interface {
	ListAudit(ctx context.Context, f Filter) (events []Event, next string, err error)
}

type ctxKey struct{}

// RequestInfo is the per-request context an event records.
type RequestInfo struct {
	RequestID string
	ClientIP  string
}

// WithRequest stores request information in ctx for events appended later.
func WithRequest(ctx context.Context, ri RequestInfo) context.Context {
	return context.WithValue(ctx, ctxKey{}, ri)
}

// RequestFrom returns the request information stored in ctx.
func RequestFrom(ctx context.Context) RequestInfo {
	ri, _ := ctx.Value(ctxKey{}).(RequestInfo)
	return ri
}

// New builds an event for actor and action, filling the request details from ctx.
func New(ctx context.Context, actor Actor, action, targetType, targetID, targetName string, summary map[string]any) Event {
	ri := RequestFrom(ctx)
	return Event{
		Actor: actor, Action: action,
		TargetType: targetType, TargetID: targetID, TargetName: targetName,
		Summary: summary, RequestID: ri.RequestID, ClientIP: ri.ClientIP,
	}
}

// Service reads the audit trail for the API; only admins and auditors may.
type Service struct {
	Store Reader
}

// List returns events matching f.
func (s *Service) List(ctx context.Context, actor Actor, f Filter) ([]Event, string, error) {
	if err := RequireRole(actor, "admin", "auditor"); err != nil {
		return nil, "", err
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	return s.Store.ListAudit(ctx, f)
}
