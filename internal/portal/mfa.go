package portal

import "net/http"

// registerMFA mounts the second-factor pages (sign-in step, enrolment,
// profile management). Filled in by the MFA work.
func (p *Portal) registerMFA(mux *http.ServeMux) {}
