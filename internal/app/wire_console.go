package app

import "net/http"

// registerConsole mounts the admin console on the browser mux. Filled in by
// the console work.
func (a *App) registerConsole(mux *http.ServeMux) {}
