package app

import (
	"net/url"

	"github.com/idcenter/idcenter/internal/authn"
)

// wireMFA builds the MFA service (policy, TOTP, WebAuthn, recovery codes,
// remembered browsers) and hands it to sign-in (as its MFA decider), to the
// portal's pages and to the App (for the console's admin reset).
//
// The WebAuthn relying party comes from the public base URL: RP ID = its host
// name, origin = exactly its scheme, host and port. When that cannot be an RP
// ID (an IP address), security keys and passkeys are off and a warning says
// why; TOTP and recovery codes still work.
func (a *App) wireMFA() error {
	mc := a.Config.Auth.MFA
	name := "idcenter"
	if a.Portal != nil && a.Portal.Render != nil && a.Portal.Render.InstanceName != "" {
		name = a.Portal.Render.InstanceName
	}
	m := &authn.MFAService{
		Auth: a.Auth, Store: a.Store, Keys: a.Keys, Issuer: name,
		Policy: authn.MFAPolicy{
			Mode: mc.Mode, NoDevice: mc.NoDevice, AdminsExempt: mc.AdminsExempt,
			RememberDevice: mc.RememberDevice, PasskeySignIn: mc.PasskeySignIn,
		},
	}
	base := a.Config.PublicURL()
	if wa, err := authn.NewWebAuthn(base, name); err != nil {
		host := base
		if u, perr := url.Parse(base); perr == nil {
			host = u.Hostname()
		}
		a.Log.Warn("security keys and passkeys are disabled: the base URL's host cannot be a WebAuthn RP ID; set base_url to a DNS name",
			"host", host, "reason", err.Error())
	} else {
		m.WebAuthn = wa
	}
	a.MFA = m
	a.Auth.MFA = m
	a.Portal.MFA = m
	return nil
}
