package app

import (
	"context"
	"net/http"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/saml/idp"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/web"
)

// wireSLO mounts SAML single logout next to SSO and exempts exactly the
// POST-binding SLO pattern from cross-origin protection (service providers
// post LogoutRequests and LogoutResponses from their own origin).
func (a *App) wireSLO(browser *http.ServeMux, cop *http.CrossOriginProtection) {
	slo := &idp.SLO{Handler: a.IdP, EndSession: func(w http.ResponseWriter, r *http.Request) error {
		au := web.AuthFrom(r.Context())
		if au.Session == nil || au.User == nil {
			return nil
		}
		actor := audit.Actor{Type: audit.ActorUser, ID: au.User.ID, Name: au.User.UserName, Role: au.User.Role}
		if err := a.Sessions.End(r.Context(), actor, au.User.ID, au.Session.ID, "saml single logout"); err != nil {
			return err
		}
		a.Portal.Cookies.Clear(w, web.SessionCookie)
		a.Portal.Cookies.Clear(w, web.ConsoleCookie)
		return nil
	}}
	slo.Register(browser)
	cop.AddInsecureBypassPattern(idp.SLOPOSTPattern)
	a.Portal.SignedOut = slo.PropagateLogout
}

// RecordParticipant and Participants keep saml_session_apps for single
// logout (idp.ParticipantStore).
func (s idpStore) RecordParticipant(ctx context.Context, p idp.Participant) error {
	return s.st.RecordSAMLSessionApp(ctx, sqlstore.SAMLSessionApp{SessionID: p.SessionID, AppID: p.AppID,
		NameID: p.NameID, NameIDFormat: p.NameIDFormat, Created: p.Created})
}

func (s idpStore) Participants(ctx context.Context, sessionID string) ([]idp.Participant, error) {
	rows, err := s.st.ListSAMLSessionApps(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	out := make([]idp.Participant, 0, len(rows))
	for _, x := range rows {
		out = append(out, idp.Participant{SessionID: x.SessionID, AppID: x.AppID, NameID: x.NameID,
			NameIDFormat: x.NameIDFormat, Created: x.Created})
	}
	return out, nil
}
