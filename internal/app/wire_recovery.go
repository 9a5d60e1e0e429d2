package app

import (
	"github.com/idcenter/idcenter/internal/authn"
	"github.com/idcenter/idcenter/internal/mail"
)

// wireRecovery builds the mail sender (SMTP when configured, else a log
// line per email, which never includes the link), the password policy, and
// invitations and password reset.
func (a *App) wireRecovery() error {
	var sender mail.Sender = mail.Log{Logger: a.Log}
	if a.Config.SMTP.Enabled() {
		s, err := mail.NewSMTP(a.Config.SMTP)
		if err != nil {
			return err
		}
		sender = s
	} else {
		a.Log.Warn("smtp is not configured: invitation and password-reset emails are not sent (see docs/email.md)")
	}
	a.Mail = sender
	pol := authn.DefaultPolicy()
	pol.MinLength = int(a.Config.Auth.PasswordMinLength)
	a.Auth.Policy = pol
	a.Auth.Emails = a.Store
	a.Auth.InstanceName = a.Config.InstanceName
	a.Accounts = &authn.Accounts{
		Auth: a.Auth, Mail: sender, BaseURL: a.Config.PublicURL(), Instance: a.Config.InstanceName,
		InviteTTL: a.Config.Auth.InviteTTL, ResetTTL: a.Config.Auth.ResetTTL, Log: a.Log,
	}
	a.Portal.Accounts = a.Accounts
	// Security notices: every committed credential or MFA change emails the user.
	n := &authn.Notices{Users: a.Store, Mail: sender, BaseURL: a.Config.PublicURL(), Instance: a.Config.InstanceName, Log: a.Log}
	a.Auth.Store = authn.WithNotices(a.Auth.Store, n)
	if a.MFA != nil {
		a.MFA.Store = authn.WithMFANotices(a.MFA.Store, n)
	}
	return nil
}
