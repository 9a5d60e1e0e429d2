package app

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/authn"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/portal"
	"github.com/idcenter/idcenter/internal/saml/idp"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
)

// wireIdP mounts the SAML identity-provider endpoints (metadata, start URL,
// SSO over both bindings) on the browser mux, and exempts exactly the
// POST-binding SSO pattern from cross-origin protection: service providers
// post AuthnRequests to it from their own origin. portal.Middleware exempts
// the same requests from its CSRF-token check (see portal.CSRFExempt).
func (a *App) wireIdP(browser *http.ServeMux, cop *http.CrossOriginProtection) {
	a.IdP = &idp.Handler{
		Apps: a.Apps, Store: idpStore{a.Store, a.metrics.ObserveSSO}, Render: a.Portal.Render, BaseURL: a.Config.PublicURL(),
		Log: a.Log, Fail: a.Portal.Fail,
	}
	a.IdP.Register(browser)
	cop.AddInsecureBypassPattern(idp.SSOPOSTPattern)
	a.wireSLO(browser, cop) // single logout (wire_slo.go)
	a.Portal.CSRFExempt = idp.IsSAMLPOST
	a.Portal.Tiles = appTiles{a}
}

// idpStore keeps the SAML endpoints' one-time records in one_time_tokens
// and appends their audit events. Every SSO outcome is audited, so the
// audit actions also feed idcenter_saml_sso_total (observe), without a
// metrics dependency in internal/saml/idp.
type idpStore struct {
	st      *sqlstore.Store
	observe func(result string)
}

func (s idpStore) MarkSeen(ctx context.Context, key string, now, expires time.Time) (bool, error) {
	res, err := s.st.DB().ExecContext(ctx, `INSERT INTO one_time_tokens (token_hash, kind, data, created_at, expires_at)
		VALUES ($1, $2, '{}', $3, $4) ON CONFLICT (token_hash) DO NOTHING`,
		key, idp.KindSeenRequest, now.UTC().UnixMicro(), expires.UTC().UnixMicro())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s idpStore) PutPending(ctx context.Context, key, data string, now, expires time.Time) error {
	return s.st.WithAuthTx(ctx, func(tx authn.Tx) error {
		return tx.InsertOneTimeToken(ctx, authn.OneTimeToken{Kind: idp.KindPending, Data: data, Created: now, Expires: expires}, key)
	})
}

func (s idpStore) TakePending(ctx context.Context, key string, now time.Time) (string, error) {
	var data string
	err := s.st.WithAuthTx(ctx, func(tx authn.Tx) error {
		t, err := tx.ConsumeOneTimeToken(ctx, key, idp.KindPending, now)
		if err != nil {
			return err
		}
		data = t.Data
		return nil
	})
	if err == authn.ErrTokenInvalid {
		return "", errs.ErrNotFound
	}
	return data, err
}

func (s idpStore) AppendAudit(ctx context.Context, e audit.Event) error {
	if r := ssoResult(e.Action); r != "" && s.observe != nil {
		s.observe(r) // the outcome happened whether or not the audit append succeeds
	}
	return s.st.WithTx(ctx, func(tx *sqlstore.Tx) error { return tx.AppendAudit(ctx, e) })
}

// appTiles lists a user's applications for the portal: each tile opens the
// application's start URL (IdP-initiated), or its application start URL
// when one is set (SP-initiated).
type appTiles struct{ a *App }

func (t appTiles) TilesFor(ctx context.Context, userID string) ([]portal.Tile, error) {
	list, err := t.a.Apps.ListAppsForUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]portal.Tile, 0, len(list))
	for _, app := range list {
		u := app.StartURL
		if u == "" {
			u = idp.Prefix + url.PathEscape(app.ID) + "/start"
		}
		out = append(out, portal.Tile{Name: app.DisplayName, URL: u})
	}
	return out, nil
}
