package app

import (
	"github.com/idcenter/idcenter/internal/saml/idp"
)

// wirePortalAccounts gives the portal's AWS accounts view its services: the
// user's roles (a.Cloud), the Federation for console sign-in and access keys
// (a.Federation, wire_cloud.go; without it the view lists roles only), an
// audit appender for console sign-ins, issued keys, failures and refusals,
// and the SAML auto-submit script the IdP serves.
func (a *App) wirePortalAccounts() {
	if a.Cloud != nil {
		a.Portal.Cloud = a.Cloud
	}
	if a.Federation != nil {
		a.Portal.Federation = a.Federation
	}
	a.Portal.Audit = idpStore{st: a.Store}
	a.Portal.PostScript = idp.ScriptPath
}
