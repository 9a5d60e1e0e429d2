package app

import (
	"context"
	"fmt"
	"net/http"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/authn"
	"github.com/idcenter/idcenter/internal/console"
)

// registerConsole mounts the admin console on the browser mux. It uses the
// same domain services as the admin API, and the portal's renderer,
// signed-in guard and error page. The optional actions are enabled when
// their services exist: MFA reset and the factor list when the MFA service
// handed to the portal provides them, invitations and forced password resets
// through a.Accounts; otherwise their buttons are hidden.
func (a *App) registerConsole(mux *http.ServeMux) {
	c := &console.Console{
		Render:    a.Portal.Render,
		Directory: a.Directory,
		Audit:     &audit.Service{Store: a.Store},
		Auth:      a.Auth,
		Sessions:  a.Sessions,
		Apps:      a.Apps,
		BaseURL:   a.Config.PublicURL(),
		Tokens:    a.Tokens,
		Cloud:     a.Cloud,
		IaC:       a.API.IaC,
		Log:       a.Log,
		Guard:     a.Portal.SignedIn,
		SameSite:  a.Portal.ConsoleRequest,
		Fail:      a.Portal.Fail,
	}
	if m, ok := a.Portal.MFA.(console.MFAResetter); ok {
		c.MFAResetter = m
	}
	if m, ok := a.Portal.MFA.(mfaFactorLister); ok {
		c.MFAStatus = mfaFactors{m}
	}
	if a.Accounts != nil { // invitations and password reset (wire_recovery.go)
		c.Invitations = a.Accounts
	}
	c.Register(mux)
}

type mfaFactorLister interface {
	Factors(ctx context.Context, userID string) (authn.Factors, error)
}

// mfaFactors adapts the MFA service's Factors to the list of names the
// console shows.
type mfaFactors struct{ m mfaFactorLister }

func (f mfaFactors) Factors(ctx context.Context, userID string) ([]string, error) {
	fs, err := f.m.Factors(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []string
	switch {
	case fs.TOTP:
		out = append(out, "Authenticator app")
	case fs.TOTPPending:
		out = append(out, "Authenticator app (enrolment not finished)")
	}
	for _, k := range fs.WebAuthn {
		kind := "Security key"
		if k.Synced {
			kind = "Passkey"
		}
		if k.Name != "" {
			kind += " “" + k.Name + "”"
		}
		out = append(out, kind)
	}
	if fs.RecoveryCodes > 0 {
		out = append(out, fmt.Sprintf("%d recovery codes left", fs.RecoveryCodes))
	}
	return out, nil
}
