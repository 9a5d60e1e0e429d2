package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// AuditListOptions selects audit events. Zero fields match everything.
type AuditListOptions struct {
	Since, Until time.Time
	Actor        string // actor id or name
	Action       string // exact action, or a prefix ending in "." or "*" ("user.")
	Target       string // target id or name
	Cursor       string
	Limit        int
}

// ListAuditEvents returns one page of audit events, newest first, and the
// cursor of the next (older) page.
func (c *Client) ListAuditEvents(ctx context.Context, opts AuditListOptions) ([]AuditEvent, string, error) {
	q := url.Values{}
	if !opts.Since.IsZero() {
		q.Set("since", opts.Since.UTC().Format(time.RFC3339Nano))
	}
	if !opts.Until.IsZero() {
		q.Set("until", opts.Until.UTC().Format(time.RFC3339Nano))
	}
	for k, v := range map[string]string{"actor": opts.Actor, "action": opts.Action, "target": opts.Target} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var p Page[AuditEvent]
	err := c.do(ctx, request{method: http.MethodGet, path: "/audit-events", query: pageQuery(q, opts.Cursor, opts.Limit)}, &p)
	return p.Items, p.NextCursor, err
}

// AllAuditEvents returns every event matching opts, newest first, following
// cursors.
func (c *Client) AllAuditEvents(ctx context.Context, opts AuditListOptions) ([]AuditEvent, error) {
	return collect(opts.Cursor, func(cursor string) ([]AuditEvent, string, error) {
		opts.Cursor = cursor
		return c.ListAuditEvents(ctx, opts)
	})
}
