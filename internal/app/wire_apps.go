package app

import (
	"github.com/idcenter/idcenter/internal/apps"
)

// wireApps builds the applications service: SAML service providers, their
// signing certificates (private keys sealed with the master key), their
// assignments and the template catalog. The admin API manages them; the SAML
// endpoints and the portal read them.
func (a *App) wireApps() {
	a.Apps = &apps.Service{Store: a.Store.Apps(), Keys: a.Keys}
}
