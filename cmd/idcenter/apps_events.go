package main

import (
	"context"
	"fmt"
	"time"
)

// AppsEventsCmd lists an application's recent SAML events.
type AppsEventsCmd struct {
	App   string `arg:"" help:"Application name or id."`
	Limit int    `default:"20" help:"How many events (at most 500)." placeholder:"N"`
}

// Run lists the events, newest first; each failure is followed by its
// reason in plain words and the setting that fixes it.
func (c *AppsEventsCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	evs, err := api.AppSSOEvents(context.Background(), c.App, c.Limit)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(evs)
	}
	if len(evs) == 0 {
		_, err := fmt.Fprintln(g.Stdout, "No SAML events for this application yet.")
		return err
	}
	for _, e := range evs {
		user := e.User
		if user == "" {
			user = "-"
		}
		line := fmt.Sprintf("%s  %-9s  %-20s  %s", e.Time.UTC().Format(time.RFC3339), e.Outcome, safeText(user), e.Action)
		if e.ReasonCode != "" {
			line += "  " + e.ReasonCode
		}
		if _, err := fmt.Fprintln(g.Stdout, line); err != nil {
			return err
		}
		for _, kv := range [][2]string{{"Reason", e.Reason}, {"Fix", e.Fix}, {"Detail", e.Detail}} {
			if kv[1] == "" {
				continue
			}
			if _, err := fmt.Fprintf(g.Stdout, "    %-7s %s\n", kv[0]+":", safeText(kv[1])); err != nil {
				return err
			}
		}
	}
	return nil
}
