package app

// wireRecovery builds invitations, password reset and the mail sender.
// Filled in by the invitations work.
func (a *App) wireRecovery() error { return nil }
