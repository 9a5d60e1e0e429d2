package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/idcenter/idcenter/client"
)

// AuditCmd groups the audit commands.
type AuditCmd struct {
	List AuditListCmd `cmd:"" aliases:"ls" help:"List audit events, newest first."`
}

// AuditListCmd lists audit events.
type AuditListCmd struct {
	Since  string `help:"Only events at or after this time: RFC 3339, or a duration ago like 24h or 7d." placeholder:"TIME|DURATION"`
	Until  string `help:"Only events before this time: RFC 3339, or a duration ago." placeholder:"TIME|DURATION"`
	Actor  string `help:"Only events by this actor (name or id)."`
	Action string `help:"Only this action (user.create), or a prefix ending in . or * (user.)."`
	Target string `help:"Only events about this object (name or id)."`
	pageFlags
}

// Run lists the events.
func (c *AuditListCmd) Run(g *Globals) error {
	now := time.Now()
	since, err := parseWhen(c.Since, now)
	if err != nil {
		return fmt.Errorf("--since: %w", err)
	}
	until, err := parseWhen(c.Until, now)
	if err != nil {
		return fmt.Errorf("--until: %w", err)
	}
	api, err := g.api()
	if err != nil {
		return err
	}
	opts := client.AuditListOptions{Since: since, Until: until, Actor: c.Actor, Action: c.Action, Target: c.Target, Cursor: c.Cursor, Limit: c.Limit}
	ctx := context.Background()
	var events []client.AuditEvent
	var next string
	if c.All {
		events, err = api.AllAuditEvents(ctx, opts)
	} else {
		events, next, err = api.ListAuditEvents(ctx, opts)
	}
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		err = g.printJSON(nonNil(events))
	} else {
		t := newTable(g.Stdout, "TIME", "ACTOR", "ACTION", "TARGET")
		for _, e := range events {
			t.row(fmtTime(e.Time), actorName(e.Actor), e.Action, targetName(e))
		}
		err = t.flush()
	}
	g.moreHint(next)
	return err
}

// parseWhen reads an RFC 3339 time or a duration before now ("24h", "7d").
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := parseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("want an RFC 3339 time (2026-01-02T15:04:05Z) or a duration ago (24h, 7d), got %q", s)
}

func actorName(a client.Actor) string {
	switch {
	case a.Name != "":
		return a.Type + ":" + a.Name
	case a.ID != "":
		return a.Type + ":" + a.ID
	}
	return a.Type
}

func targetName(e client.AuditEvent) string {
	name := e.TargetName
	if name == "" {
		name = e.TargetID
	}
	return strings.TrimSpace(e.TargetType + " " + name)
}
