package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// AppSSOEvent is one SAML sign-in or sign-out event of an application; a
// failure carries its reason in plain words and the setting that fixes it.
type AppSSOEvent struct {
	ID         string         `json:"id"`
	Time       time.Time      `json:"time"`
	Action     string         `json:"action"`
	Outcome    string         `json:"outcome"` // success, refused, status, partial, propagate
	User       string         `json:"user,omitempty"`
	ReasonCode string         `json:"reasonCode,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Fix        string         `json:"fix,omitempty"`
	Detail     string         `json:"detail,omitempty"`
	RequestID  string         `json:"requestId,omitempty"`
	Summary    map[string]any `json:"summary,omitempty"`
}

// AppSSOEvents lists an application's recent SAML events, newest first
// (limit 0 means the server's default).
func (c *Client) AppSSOEvents(ctx context.Context, app string, limit int) ([]AppSSOEvent, error) {
	key, err := pathKey("app", app)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var p Page[AppSSOEvent]
	err = c.do(ctx, request{method: http.MethodGet, path: "/apps/" + key + "/sso-events", query: q}, &p)
	return p.Items, err
}
