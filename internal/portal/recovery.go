package portal

import "net/http"

// registerRecovery mounts invitations and password reset. Filled in by the
// invitations work.
func (p *Portal) registerRecovery(mux *http.ServeMux) {}
