package adminapi

// Troubleshooting an application: the assertion a user would receive
// (preview) and the recent SAML events with their reasons (issue 4).

import (
	"context"
	"net/http"
	"strconv"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/httpx"
	"github.com/idcenter/idcenter/internal/saml"
)

// PreviewView is a preview plus the SAML Response (with its assertion) the
// user would receive: built by saml.BuildResponse with the application's
// active signing key and signing mode, never encrypted, for an IdP-initiated
// sign-in to the default ACS now (IDs, instants and the session index are
// examples).
type PreviewView struct {
	apps.Preview
	AssertionXML string `json:"assertionXml"`
}

func (a *API) previewXML(ctx context.Context, app apps.Application, p apps.Preview) ([]byte, error) {
	key, cert, err := a.Apps.SigningKey(ctx, app.ID)
	if err != nil {
		return nil, err
	}
	return saml.AppPreviewResponse(a.BaseURL, app, p, key, cert.PEM)
}

// DefaultSSOEvents and MaxSSOEvents bound GET /apps/{app}/sso-events.
const (
	DefaultSSOEvents = 50
	MaxSSOEvents     = 500
)

func (a *API) appSSOEvents(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	limit := DefaultSSOEvents
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return errs.Invalidf("limit", "must be a positive integer")
		}
		limit = min(n, MaxSSOEvents)
	}
	app, err := a.Apps.Get(r.Context(), actor, r.PathValue("app"))
	if err != nil {
		return err
	}
	out := []apps.SSOEvent{}
	f := audit.Filter{Target: app.ID, Action: "saml.*", Limit: limit}
	for len(out) < limit {
		evs, next, err := a.Audit.List(r.Context(), actor, f)
		if err != nil {
			return err
		}
		for _, e := range evs {
			// Target matches names too: keep this application's events only.
			if e.TargetType != "application" || e.TargetID != app.ID || !apps.IsSSOAction(e.Action) {
				continue
			}
			if len(out) < limit {
				out = append(out, apps.ExplainSSOEvent(e))
			}
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	httpx.WriteJSON(w, 200, List[apps.SSOEvent]{Items: out})
	return nil
}
