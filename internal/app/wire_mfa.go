package app

// wireMFA builds the MFA services (TOTP, WebAuthn, recovery codes, policy)
// and hands them to authn and the portal. Filled in by the MFA work.
func (a *App) wireMFA() error { return nil }
