package authn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/mail"
)

// Default lifetimes of the emailed links.
const (
	DefaultInviteTTL = 7 * 24 * time.Hour
	DefaultResetTTL  = time.Hour
	// resetInterval is the least time between two reset emails for one account.
	resetInterval = time.Minute
)

// Accounts sends invitations and password-reset links, and accepts them.
// Tokens are random, single use, stored only as hashes, and expire; a new
// link of a kind replaces the user's older ones.
type Accounts struct {
	Auth      *Service
	Mail      mail.Sender
	BaseURL   string // public URL links are built from
	Instance  string // name shown in emails
	InviteTTL time.Duration
	ResetTTL  time.Duration
	Log       *slog.Logger
}

func (a *Accounts) inviteTTL() time.Duration {
	if a.InviteTTL > 0 {
		return a.InviteTTL
	}
	return DefaultInviteTTL
}

func (a *Accounts) resetTTL() time.Duration {
	if a.ResetTTL > 0 {
		return a.ResetTTL
	}
	return DefaultResetTTL
}

// ErrNoEmail means the user has no email address to send a link to.
var ErrNoEmail = errors.New("the user has no email address")

// issue stores a new token of kind for u (replacing older ones) and returns it.
func (a *Accounts) issue(ctx context.Context, tx Tx, u directory.User, kind string, ttl time.Duration) (string, time.Time, error) {
	now := a.Auth.now()
	if err := tx.InvalidateOneTimeTokens(ctx, u.ID, kind, now); err != nil {
		return "", time.Time{}, err
	}
	token, hash := NewToken()
	exp := now.Add(ttl)
	err := tx.InsertOneTimeToken(ctx, OneTimeToken{Kind: kind, UserID: u.ID, Created: now, Expires: exp}, hash)
	return token, exp, err
}

// InvitationLink creates an invitation for u inside tx and returns its link
// without sending anything (used for the first administrator's setup link).
func (a *Accounts) InvitationLink(ctx context.Context, tx Tx, actor audit.Actor, u directory.User) (string, time.Time, error) {
	token, exp, err := a.issue(ctx, tx, u, KindInvitation, a.inviteTTL())
	if err != nil {
		return "", exp, err
	}
	if err := tx.AppendAudit(ctx, audit.New(ctx, actor, "user.invitation.create", "user", u.ID, u.UserName,
		map[string]any{"expiresAt": exp})); err != nil {
		return "", exp, err
	}
	return a.link("/invite/", token), exp, nil
}

func (a *Accounts) link(path, token string) string {
	return strings.TrimRight(a.BaseURL, "/") + path + token
}

// recipient checks that actor is an admin and returns the user and the
// address to send what to.
func (a *Accounts) recipient(ctx context.Context, actor audit.Actor, userID, what string) (directory.User, string, error) {
	if err := audit.RequireRole(actor, audit.RoleAdmin); err != nil {
		return directory.User{}, "", err
	}
	u, err := a.Auth.Store.GetUser(ctx, userID)
	if err != nil {
		return u, "", err
	}
	to := u.PrimaryEmail()
	if to == "" {
		return u, "", errs.Invalidf("emails", "%s has no email address to send %s to", u.UserName, what)
	}
	return u, to, nil
}

// SendInvitation emails u a link to set a password (admin only). The token
// is committed before the email is sent; if sending fails the error says so
// and the admin can send again (which replaces the token).
func (a *Accounts) SendInvitation(ctx context.Context, actor audit.Actor, userID string) error {
	u, to, err := a.recipient(ctx, actor, userID, "an invitation")
	if err != nil {
		return err
	}
	var link string
	var exp time.Time
	err = a.Auth.Store.WithAuthTx(ctx, func(tx Tx) error {
		var err error
		if link, exp, err = a.issue(ctx, tx, u, KindInvitation, a.inviteTTL()); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, audit.New(ctx, actor, "user.invitation.send", "user", u.ID, u.UserName,
			map[string]any{"to": to, "expiresAt": exp}))
	})
	if err != nil {
		return err
	}
	msg, err := mail.Invitation(mail.InviteData{To: to, DisplayName: displayName(u), InstanceName: a.Instance,
		Link: a.link("/invite/", link), ExpiresAt: exp, InvitedBy: actor.Name})
	if err != nil {
		return err
	}
	if err := a.Mail.Send(ctx, msg); err != nil {
		return fmt.Errorf("the invitation was created but the email could not be sent: %w", err)
	}
	return nil
}

func displayName(u directory.User) string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	if n := strings.TrimSpace(u.Name.GivenName + " " + u.Name.FamilyName); n != "" {
		return n
	}
	return u.UserName
}

// ForcePasswordReset removes a user's password, ends their sessions and
// emails them a reset link (admin only).
func (a *Accounts) ForcePasswordReset(ctx context.Context, actor audit.Actor, userID string) error {
	u, to, err := a.recipient(ctx, actor, userID, "a reset link")
	if err != nil {
		return err
	}
	var token string
	var exp time.Time
	err = a.Auth.Store.WithAuthTx(ctx, func(tx Tx) error {
		now := a.Auth.now()
		if err := tx.SetPasswordHash(ctx, u.ID, "!", now); err != nil { // "!" matches no password
			return err
		}
		if _, err := tx.RevokeUserSessions(ctx, u.ID, now); err != nil {
			return err
		}
		var err error
		if token, exp, err = a.issue(ctx, tx, u, KindReset, a.resetTTL()); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, audit.New(ctx, actor, "user.password.force_reset", "user", u.ID, u.UserName,
			map[string]any{"to": to}))
	})
	if err != nil {
		return err
	}
	return a.sendReset(ctx, u, to, token, exp, "")
}

func (a *Accounts) sendReset(ctx context.Context, u directory.User, to, token string, exp time.Time, ip string) error {
	msg, err := mail.PasswordReset(mail.ResetData{To: to, DisplayName: displayName(u), InstanceName: a.Instance,
		Link: a.link("/reset/", token), ExpiresAt: exp, RequestIP: ip})
	if err != nil {
		return err
	}
	return a.Mail.Send(ctx, msg)
}

// RequestReset emails a reset link to the user named by userName or email,
// if there is one, it is active and has an email. It returns nil whatever
// happened, so the response cannot reveal whether the account exists; what
// happened goes to the audit trail.
func (a *Accounts) RequestReset(ctx context.Context, who string, c Client) error {
	who = strings.TrimSpace(who)
	if who == "" || len(who) > 256 {
		return nil
	}
	u, err := a.findUser(ctx, who)
	if err != nil {
		if !errors.Is(err, errs.ErrNotFound) {
			return err // store trouble: fail closed, the caller shows an error
		}
		a.auditReset(ctx, directory.User{UserName: who}, "unknown user")
		return nil
	}
	to := u.PrimaryEmail()
	switch {
	case !u.Active:
		a.auditReset(ctx, u, "user disabled")
		return nil
	case to == "":
		a.auditReset(ctx, u, "no email address")
		return nil
	}
	// At most one email a minute per account: no mail bombing through this form.
	now := a.Auth.now()
	key := "reset:" + u.ID
	t, err := a.Auth.Store.GetThrottle(ctx, key)
	if err != nil {
		return err
	}
	if t.Failures > 0 && now.Sub(t.LastFailure) < resetInterval {
		a.auditReset(ctx, u, "rate limited")
		return nil
	}
	var token string
	var exp time.Time
	err = a.Auth.Store.WithAuthTx(ctx, func(tx Tx) error {
		if _, err := tx.RecordFailure(ctx, key, now, now.Add(-resetInterval), 1<<30, now); err != nil {
			return err
		}
		var err error
		if token, exp, err = a.issue(ctx, tx, u, KindReset, a.resetTTL()); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, audit.New(ctx, audit.Actor{Type: audit.ActorUser, ID: u.ID, Name: u.UserName},
			"user.password.reset_request", "user", u.ID, u.UserName, map[string]any{"sent": true}))
	})
	if err != nil {
		return err
	}
	// Send in the background: waiting for the SMTP server here would make
	// known accounts answer slower than unknown ones.
	go func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := a.sendReset(sctx, u, to, token, exp, c.IP); err != nil {
			a.Log.Error("password reset email failed", "user_id", u.ID, "error", err.Error())
		}
	}()
	return nil
}

func (a *Accounts) findUser(ctx context.Context, who string) (directory.User, error) {
	u, err := a.Auth.Store.GetUserByUserName(ctx, who)
	if err == nil || !errors.Is(err, errs.ErrNotFound) || !strings.Contains(who, "@") {
		return u, err
	}
	if a.Auth.Emails == nil {
		return u, err
	}
	return a.Auth.Emails.GetUserByEmail(ctx, who)
}

func (a *Accounts) auditReset(ctx context.Context, u directory.User, reason string) {
	_ = a.Auth.Store.WithAuthTx(ctx, func(tx Tx) error {
		return tx.AppendAudit(ctx, audit.New(ctx, audit.Actor{Type: audit.ActorUser, ID: u.ID, Name: u.UserName},
			"user.password.reset_request", "user", u.ID, u.UserName, map[string]any{"sent": false, "reason": reason}))
	})
}

// Peek returns the user a live link of kind belongs to.
func (a *Accounts) Peek(ctx context.Context, kind, token string) (directory.User, error) {
	t, err := a.Auth.Store.PeekOneTimeToken(ctx, HashToken(token), kind, a.Auth.now())
	if err != nil {
		return directory.User{}, err
	}
	u, err := a.Auth.Store.GetUser(ctx, t.UserID)
	if errors.Is(err, errs.ErrNotFound) || err == nil && !u.Active {
		return directory.User{}, ErrTokenInvalid
	}
	return u, err
}

// Accept uses a link of kind to set the user's password, ends their other
// sessions, and then signs them in as a password sign-in would (so MFA
// enrolment or verification follows as policy requires).
// replaces is the session the browser already has, if any: it is revoked.
func (a *Accounts) Accept(ctx context.Context, kind, token, password string, c Client, replaces string) (Outcome, error) {
	u, err := a.Peek(ctx, kind, token)
	if err != nil {
		return Outcome{}, err
	}
	hash, err := a.Auth.hashWithPolicy(password, u)
	if err != nil {
		return Outcome{}, err
	}
	action := "user.invitation.accept"
	if kind == KindReset {
		action = "user.password.reset"
	}
	err = a.Auth.Store.WithAuthTx(ctx, func(tx Tx) error {
		now := a.Auth.now()
		if _, err := tx.ConsumeOneTimeToken(ctx, HashToken(token), kind, now); err != nil {
			return err
		}
		if err := tx.SetPasswordHash(ctx, u.ID, hash, now); err != nil {
			return err
		}
		// Every session and remembered browser of the account ends: whoever
		// knew the old password is out, and MFA is asked again.
		if _, err := tx.RevokeUserSessions(ctx, u.ID, now); err != nil {
			return err
		}
		if _, err := tx.DeleteRememberedDevices(ctx, u.ID); err != nil {
			return err
		}
		userKey, _ := throttleKeys(u.UserName, "")
		if _, err := tx.ClearThrottle(ctx, userKey); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, audit.New(ctx, audit.Actor{Type: audit.ActorUser, ID: u.ID, Name: u.UserName},
			action, "user", u.ID, u.UserName, nil))
	})
	if err != nil {
		return Outcome{}, err
	}
	return a.Auth.PasswordStep(ctx, u.UserName, password, c, "", replaces)
}
