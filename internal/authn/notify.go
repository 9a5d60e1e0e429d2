package authn

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/mail"
)

// noticeEvents are the audit actions that change how an account signs in;
// each sends the user a security notice by email (WEB-19), so a change they
// did not make does not go unnoticed.
var noticeEvents = map[string]string{
	"user.password.change":        "Your password was changed",
	"user.password.reset":         "Your password was reset",
	"mfa.totp.enrol":              "An authenticator app was added",
	"mfa.totp.remove":             "Your authenticator app was removed",
	"mfa.webauthn.register":       "A security key or passkey was added",
	"mfa.webauthn.remove":         "A security key or passkey was removed",
	"mfa.recovery_codes.generate": "New recovery codes were generated",
	"mfa.reset":                   "An administrator reset your multi-factor authentication",
}

// Notices sends security notices after the transactions that record the
// events above commit. It learns of them by watching the audit events a
// transaction appends, so every path that changes a credential is covered
// by the one mechanism that already records it.
type Notices struct {
	Users interface {
		GetUserEmail(ctx context.Context, id string) (name, email string, err error)
	}
	Mail     mail.Sender
	BaseURL  string
	Instance string
	Log      *slog.Logger
}

func (n *Notices) after(events []audit.Event) {
	for _, e := range events {
		text, ok := noticeEvents[e.Action]
		if !ok || e.TargetID == "" {
			continue
		}
		go n.send(e.TargetID, text, e.ClientIP)
	}
}

func (n *Notices) send(userID, event, ip string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name, to, err := n.Users.GetUserEmail(ctx, userID)
	if err != nil || to == "" {
		return
	}
	msg, err := mail.SecurityNotice(mail.NoticeData{To: to, DisplayName: name, InstanceName: n.Instance, Event: event,
		Link: strings.TrimRight(n.BaseURL, "/") + "/profile", RequestIP: ip})
	if err == nil {
		err = n.Mail.Send(ctx, msg)
	}
	if err != nil {
		n.Log.Warn("security notice not sent", "user_id", userID, "error", err.Error())
	}
}

// recorder collects the audit events appended in one transaction.
type recorder struct{ events []audit.Event }

type recordingTx struct {
	Tx
	r *recorder
}

func (t recordingTx) AppendAudit(ctx context.Context, e audit.Event) error {
	if err := t.Tx.AppendAudit(ctx, e); err != nil {
		return err
	}
	t.r.events = append(t.r.events, e)
	return nil
}

type recordingMFATx struct {
	MFATx
	r *recorder
}

func (t recordingMFATx) AppendAudit(ctx context.Context, e audit.Event) error {
	if err := t.MFATx.AppendAudit(ctx, e); err != nil {
		return err
	}
	t.r.events = append(t.r.events, e)
	return nil
}

type noticeStore struct {
	Store
	n *Notices
}

func (s noticeStore) WithAuthTx(ctx context.Context, fn func(Tx) error) error {
	r := &recorder{}
	err := s.Store.WithAuthTx(ctx, func(tx Tx) error { return fn(recordingTx{tx, r}) })
	if err == nil {
		s.n.after(r.events)
	}
	return err
}

type noticeMFAStore struct {
	MFAStore
	n *Notices
}

func (s noticeMFAStore) WithMFATx(ctx context.Context, fn func(MFATx) error) error {
	r := &recorder{}
	err := s.MFAStore.WithMFATx(ctx, func(tx MFATx) error { return fn(recordingMFATx{tx, r}) })
	if err == nil {
		s.n.after(r.events)
	}
	return err
}

// WithNotices returns st sending n's notices after committed credential changes.
func WithNotices(st Store, n *Notices) Store { return noticeStore{st, n} }

// WithMFANotices does the same for the MFA store.
func WithMFANotices(st MFAStore, n *Notices) MFAStore { return noticeMFAStore{st, n} }
