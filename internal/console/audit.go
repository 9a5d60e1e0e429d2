package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/web"
)

// auditRow is an audit event as the table shows it.
type auditRow struct {
	Time                time.Time
	Actor, ActorType    string
	Action              string
	Target, TargetType  string
	Summary             string // compact JSON
	ClientIP, RequestID string
}

func auditRows(events []audit.Event) []auditRow {
	rows := make([]auditRow, 0, len(events))
	for _, e := range events {
		row := auditRow{Time: e.Time, Actor: first(e.Actor.Name, e.Actor.ID, e.Actor.Type), ActorType: e.Actor.Type, Action: e.Action,
			Target: first(e.TargetName, e.TargetID), TargetType: e.TargetType, ClientIP: e.ClientIP, RequestID: e.RequestID}
		if len(e.Summary) > 0 {
			// The template escapes the text; JSON's own \u003c escaping
			// would only make it harder to read.
			var b strings.Builder
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(e.Summary); err == nil {
				row.Summary = strings.TrimSuffix(b.String(), "\n")
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func first(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

type auditPage struct {
	frame
	Since, Until, Actor, Action, Target string
	Errors                              map[string]string
	Events                              []auditRow
	Next, First                         string
}

// dateTimeLayouts are what a datetime-local input sends (with or without
// seconds), plus RFC 3339 for hand-written links. Times without a zone are UTC.
var dateTimeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339}

func parseDateTime(s string) (time.Time, bool) {
	for _, l := range dateTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func (c *Console) auditEvents(w http.ResponseWriter, r *http.Request, actor audit.Actor) {
	d := auditPage{frame: newFrame("Audit events"), Since: query(r, "since"), Until: query(r, "until"),
		Actor: query(r, "actor"), Action: query(r, "action"), Target: query(r, "target"), Errors: map[string]string{}}
	f := audit.Filter{ActorID: d.Actor, Action: d.Action, Target: d.Target, Cursor: query(r, "cursor"), Limit: pageSize}
	var ok bool
	if d.Since != "" {
		if f.Since, ok = parseDateTime(d.Since); !ok {
			d.Errors["since"] = "Enter a date and time, for example 2025-01-31T09:00."
		}
	}
	if d.Until != "" {
		if f.Until, ok = parseDateTime(d.Until); !ok {
			d.Errors["until"] = "Enter a date and time, for example 2025-01-31T17:30."
		}
	}
	params := []string{"since", d.Since, "until", d.Until, "actor", d.Actor, "action", d.Action, "target", d.Target}
	if f.Cursor != "" {
		d.First = pageURL("/console/audit", params...)
	}
	if len(d.Errors) > 0 {
		c.render(w, r, http.StatusBadRequest, "console_audit", web.Page{Title: "Audit events", Error: "Check the highlighted filters.", Data: d})
		return
	}
	events, next, err := c.Audit.List(r.Context(), actor, f)
	var inv *errs.Invalid
	switch {
	case errors.As(err, &inv):
		c.render(w, r, http.StatusBadRequest, "console_audit", web.Page{Title: "Audit events", Error: "This page link is not valid any more. Start again from the first page.", Data: d})
		return
	case err != nil:
		c.Fail(w, r, err)
		return
	}
	d.Events = auditRows(events)
	if next != "" {
		d.Next = pageURL("/console/audit", append(params, "cursor", next)...)
	}
	c.render(w, r, http.StatusOK, "console_audit", web.Page{Title: "Audit events", Data: d})
}
