package authn

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
)

// NewWebAuthn builds the relying party from the public base URL: the RP ID
// is its host name and the only accepted origin is exactly its scheme, host
// and port. Nothing comes from request headers, and no metadata (MDS) is
// fetched. An IP address cannot be an RP ID: use a DNS name (localhost works
// for development).
func NewWebAuthn(publicURL, displayName string) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(publicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		return nil, fmt.Errorf("webauthn: base URL %q is not an http(s) URL", publicURL)
	}
	if displayName == "" {
		displayName = "idcenter"
	}
	return webauthn.New(&webauthn.Config{
		RPID:                  u.Hostname(),
		RPDisplayName:         displayName,
		RPOrigins:             []string{u.Scheme + "://" + u.Host},
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationPreferred,
		},
	})
}

// waUser adapts a directory user and their credentials to webauthn.User. The
// user handle is the user id (a UUID; never the username or email).
type waUser struct {
	u     directory.User
	rows  []WebAuthnCredential
	creds []webauthn.Credential
}

func (w *waUser) WebAuthnID() []byte   { return []byte(w.u.ID) }
func (w *waUser) WebAuthnName() string { return w.u.UserName }
func (w *waUser) WebAuthnDisplayName() string {
	if w.u.DisplayName != "" {
		return w.u.DisplayName
	}
	return w.u.UserName
}
func (w *waUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

// row returns the stored row of a credential id.
func (w *waUser) row(id []byte) (WebAuthnCredential, bool) {
	enc := base64.RawURLEncoding.EncodeToString(id)
	for _, r := range w.rows {
		if r.CredentialID == enc {
			return r, true
		}
	}
	return WebAuthnCredential{}, false
}

func loadWAUser(ctx context.Context, list func(context.Context, string) ([]WebAuthnCredential, error), u directory.User) (*waUser, error) {
	rows, err := list(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	w := &waUser{u: u, rows: rows}
	for _, r := range rows {
		var c webauthn.Credential
		if err := json.Unmarshal([]byte(r.Data), &c); err != nil {
			return nil, fmt.Errorf("webauthn credential %s: %w", r.ID, err)
		}
		w.creds = append(w.creds, c)
	}
	return w, nil
}

func describeKey(r WebAuthnCredential) WebAuthnKey {
	k := WebAuthnKey{ID: r.ID, Name: r.Name, Created: r.Created, LastUsed: r.LastUsed}
	var c webauthn.Credential
	if json.Unmarshal([]byte(r.Data), &c) == nil {
		k.Synced = c.Flags.BackupEligible
	}
	return k
}

// Ceremony purposes.
const (
	purposeRegister = "register"
	purposeLogin    = "login"
	purposePasskey  = "passkey"
)

// ceremony is the server-side state of one WebAuthn ceremony, stored as a
// one-time token (kind "webauthn"). Binding ties it to the browser state
// that began it: "session:<id>" or "pending:<hash of the pending token>".
type ceremony struct {
	Purpose string               `json:"purpose"`
	Binding string               `json:"binding,omitempty"`
	Name    string               `json:"name,omitempty"`
	Session webauthn.SessionData `json:"session"`
}

// Ceremony is what the browser needs to run a ceremony: an opaque id to send
// back with the answer, and the options for navigator.credentials
// (JSON: {"publicKey": {...}}).
type Ceremony struct {
	ID      string          `json:"ceremony"`
	Options json.RawMessage `json:"options"`
}

func pendingBinding(pendingToken string) string { return "pending:" + HashToken(pendingToken) }

// SessionBinding is the binding of a ceremony begun by a signed-in browser.
func SessionBinding(sessionID string) string { return "session:" + sessionID }

func (m *MFAService) startCeremony(ctx context.Context, userID string, c ceremony, options any) (Ceremony, error) {
	opts, err := json.Marshal(options)
	if err != nil {
		return Ceremony{}, err
	}
	data, err := json.Marshal(c)
	if err != nil {
		return Ceremony{}, err
	}
	token, hash := NewToken()
	now := m.now()
	err = m.Store.WithMFATx(ctx, func(tx MFATx) error {
		return tx.InsertOneTimeToken(ctx, OneTimeToken{Kind: KindWebAuthn, UserID: userID, Data: string(data),
			Created: now, Expires: now.Add(CeremonyTTL)}, hash)
	})
	if err != nil {
		return Ceremony{}, err
	}
	return Ceremony{ID: token, Options: opts}, nil
}

// takeCeremony uses up a ceremony in tx: whatever happens next, it cannot be
// answered twice. It must be of purpose, for userID and binding.
func (m *MFAService) takeCeremony(ctx context.Context, tx MFATx, id, purpose, userID, binding string) (ceremony, error) {
	var c ceremony
	if id == "" || len(id) > 128 {
		return c, ErrTokenInvalid
	}
	t, err := tx.ConsumeOneTimeToken(ctx, HashToken(id), KindWebAuthn, m.now())
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(t.Data), &c); err != nil || c.Purpose != purpose || t.UserID != userID || c.Binding != binding {
		return ceremony{}, ErrTokenInvalid
	}
	return c, nil
}

// reasonOf turns a verification error into a short audit reason.
func webauthnReason(err error) string {
	var pe *protocol.Error
	var ue *protocol.ErrorUnknownCredential
	switch {
	case errors.As(err, &ue):
		return "webauthn: credential not registered to this user"
	case errors.As(err, &pe):
		r := pe.Details
		if r == "" {
			r = pe.Type
		}
		if len(r) > 200 {
			r = r[:200]
		}
		return "webauthn: " + r
	case errors.Is(err, ErrTokenInvalid), errors.Is(err, errs.ErrNotFound):
		return "webauthn: challenge unknown, expired or already used"
	}
	return "webauthn: invalid response"
}

// ParseAssertion parses the JSON of a PublicKeyCredential from
// navigator.credentials.get (untrusted input).
func ParseAssertion(body []byte) (*protocol.ParsedCredentialAssertionData, error) {
	if len(body) == 0 || len(body) > MaxWebAuthnBody {
		return nil, protocol.ErrBadRequest.WithDetails("response missing or too large")
	}
	return protocol.ParseCredentialRequestResponseBytes(body)
}

// ParseAttestation parses the JSON of a PublicKeyCredential from
// navigator.credentials.create (untrusted input).
func ParseAttestation(body []byte) (*protocol.ParsedCredentialCreationData, error) {
	if len(body) == 0 || len(body) > MaxWebAuthnBody {
		return nil, protocol.ErrBadRequest.WithDetails("response missing or too large")
	}
	return protocol.ParseCredentialCreationResponseBytes(body)
}

// MaxWebAuthnBody bounds a ceremony answer.
const MaxWebAuthnBody = 32 << 10

// CleanKeyName normalises the name a user gives a security key: control
// characters removed, spaces collapsed, at most 64 characters; empty gives
// "Security key".
func CleanKeyName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if unicode.IsControl(r) || r == utf8.RuneError || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 64 {
		s = string([]rune(s)[:64])
		s = strings.TrimSpace(s)
	}
	if s == "" {
		return "Security key"
	}
	return s
}

// --- registration ---

func (m *MFAService) beginRegistration(ctx context.Context, u directory.User, binding, name string) (Ceremony, error) {
	if m.WebAuthn == nil {
		return Ceremony{}, ErrWebAuthnUnavailable
	}
	w, err := loadWAUser(ctx, m.Store.ListWebAuthnCredentials, u)
	if err != nil {
		return Ceremony{}, err
	}
	if len(w.creds) >= MaxWebAuthnCredentials {
		return Ceremony{}, ErrTooManyCredentials
	}
	creation, sd, err := m.WebAuthn.BeginRegistration(w,
		webauthn.WithExclusions(webauthn.Credentials(w.creds).CredentialDescriptors()),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation))
	if err != nil {
		return Ceremony{}, err
	}
	return m.startCeremony(ctx, u.ID, ceremony{Purpose: purposeRegister, Binding: binding, Name: CleanKeyName(name), Session: *sd}, creation)
}

// verifyRegistration uses up the ceremony and checks the authenticator's
// answer; it returns the credential to store, or a reason for refusing.
func (m *MFAService) verifyRegistration(ctx context.Context, u directory.User, binding, ceremonyID string, body []byte) (WebAuthnCredential, string, error) {
	var cer ceremony
	err := m.Store.WithMFATx(ctx, func(tx MFATx) error {
		var err error
		cer, err = m.takeCeremony(ctx, tx, ceremonyID, purposeRegister, u.ID, binding)
		return err
	})
	if errors.Is(err, ErrTokenInvalid) {
		return WebAuthnCredential{}, webauthnReason(err), nil
	}
	if err != nil {
		return WebAuthnCredential{}, "", err
	}
	parsed, err := ParseAttestation(body)
	if err != nil {
		return WebAuthnCredential{}, webauthnReason(err), nil
	}
	w, err := loadWAUser(ctx, m.Store.ListWebAuthnCredentials, u)
	if err != nil {
		return WebAuthnCredential{}, "", err
	}
	cred, err := m.WebAuthn.CreateCredential(w, cer.Session, parsed)
	if err != nil {
		return WebAuthnCredential{}, webauthnReason(err), nil
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return WebAuthnCredential{}, "", err
	}
	return WebAuthnCredential{
		ID: uuid.Must(uuid.NewV7()).String(), UserID: u.ID, CredentialID: base64.RawURLEncoding.EncodeToString(cred.ID),
		Name: cer.Name, Data: string(data), Created: m.now(),
	}, "", nil
}

// insertCredential stores a verified credential within the per-user cap and
// records mfa.webauthn.register.
func insertCredential(ctx context.Context, tx MFATx, u directory.User, c WebAuthnCredential, summary map[string]any) error {
	existing, err := tx.ListWebAuthnCredentials(ctx, u.ID)
	if err != nil {
		return err
	}
	if len(existing) >= MaxWebAuthnCredentials {
		return ErrTooManyCredentials
	}
	if err := tx.InsertWebAuthnCredential(ctx, c); err != nil {
		return err
	}
	if summary == nil {
		summary = map[string]any{}
	}
	summary["credentialId"], summary["name"] = c.ID, c.Name
	return tx.AppendAudit(ctx, audit.New(ctx, mfaActor(u), "mfa.webauthn.register", "user", u.ID, u.UserName, summary))
}

// BeginRegisterWebAuthn starts registering a security key or passkey for a
// signed-in user after checking their current password.
func (m *MFAService) BeginRegisterWebAuthn(ctx context.Context, u directory.User, sessionID, name, password string, c Client) (Ceremony, error) {
	if m.WebAuthn == nil {
		return Ceremony{}, ErrWebAuthnUnavailable
	}
	if err := m.reauth(ctx, u, password, c); err != nil {
		return Ceremony{}, err
	}
	return m.beginRegistration(ctx, u, SessionBinding(sessionID), name)
}

// FinishRegisterWebAuthn verifies the answer of a registration begun by
// BeginRegisterWebAuthn in the same session and stores the credential.
func (m *MFAService) FinishRegisterWebAuthn(ctx context.Context, u directory.User, sessionID, ceremonyID string, body []byte, c Client) error {
	if m.WebAuthn == nil {
		return ErrWebAuthnUnavailable
	}
	cred, reason, err := m.verifyRegistration(ctx, u, SessionBinding(sessionID), ceremonyID, body)
	if err != nil {
		return err
	}
	if reason != "" {
		m.Auth.auditFailure(ctx, u.UserName, u.ID, CredWebAuthn, reason+" (registration)")
		return ErrMFAFailed
	}
	return m.Store.WithMFATx(ctx, func(tx MFATx) error { return insertCredential(ctx, tx, u, cred, nil) })
}

// BeginEnrolWebAuthn starts registering a security key for a pending sign-in
// that must enrol a factor.
func (m *MFAService) BeginEnrolWebAuthn(ctx context.Context, pendingToken, name string) (Ceremony, error) {
	if m.WebAuthn == nil {
		return Ceremony{}, ErrWebAuthnUnavailable
	}
	st, err := m.pendingFor(ctx, pendingToken, true)
	if err != nil {
		return Ceremony{}, err
	}
	if st.Factors.Any() {
		return Ceremony{}, ErrTokenInvalid
	}
	return m.beginRegistration(ctx, st.User, pendingBinding(pendingToken), name)
}

// FinishEnrolWebAuthn stores the security key of a pending sign-in that had
// to enrol one and finishes the sign-in, using up the pending sign-in in the
// same transaction; refused once the user has any factor.
func (m *MFAService) FinishEnrolWebAuthn(ctx context.Context, pendingToken, ceremonyID string, body []byte, c Client, replaces string) (MFAOutcome, error) {
	if m.WebAuthn == nil {
		return MFAOutcome{}, ErrWebAuthnUnavailable
	}
	st, err := m.pendingFor(ctx, pendingToken, true)
	if err != nil {
		return MFAOutcome{}, err
	}
	u := st.User
	if err := m.checkAttempt(ctx, u, c, CredWebAuthn); err != nil {
		return MFAOutcome{}, err
	}
	cred, reason, err := m.verifyRegistration(ctx, u, pendingBinding(pendingToken), ceremonyID, body)
	if err != nil {
		return MFAOutcome{}, err
	}
	if reason != "" {
		if err := m.failAttempt(ctx, u, c, CredWebAuthn, reason+" (enrolment)"); err != nil {
			return MFAOutcome{}, err
		}
		return MFAOutcome{}, ErrMFAFailed
	}
	err = m.Store.WithMFATx(ctx, func(tx MFATx) error {
		if _, err := tx.ConsumeOneTimeToken(ctx, HashToken(pendingToken), KindPendingSignIn, m.now()); err != nil {
			return err
		}
		if has, err := txHasFactor(ctx, tx, u.ID); err != nil || has {
			if err == nil {
				err = ErrTokenInvalid
			}
			return err
		}
		if _, err := tx.ClearThrottle(ctx, mfaKey(u.ID)); err != nil {
			return err
		}
		return insertCredential(ctx, tx, u, cred, map[string]any{"during": "signin"})
	})
	if err != nil {
		return MFAOutcome{}, err
	}
	return m.complete(ctx, u, append(append([]string{}, st.Data.Methods...), CredWebAuthn), c, replaces)
}

// RemoveWebAuthn removes one of a signed-in user's security keys or passkeys
// after checking their current password. Another user's credential is not found.
func (m *MFAService) RemoveWebAuthn(ctx context.Context, u directory.User, id, password string, c Client) error {
	if err := m.reauth(ctx, u, password, c); err != nil {
		return err
	}
	return m.Store.WithMFATx(ctx, func(tx MFATx) error {
		creds, err := tx.ListWebAuthnCredentials(ctx, u.ID)
		if err != nil {
			return err
		}
		var name string
		found := false
		for _, x := range creds {
			if x.ID == id {
				name, found = x.Name, true
			}
		}
		if !found {
			return errs.NotFound("security key", id)
		}
		if len(creds) == 1 {
			t, err := tx.GetTOTPCredential(ctx, u.ID)
			if err != nil && !errors.Is(err, errs.ErrNotFound) {
				return err
			}
			if err != nil || t.Confirmed == nil {
				if err := m.mayRemoveLast(u); err != nil {
					return err
				}
			}
		}
		if ok, err := tx.DeleteWebAuthnCredential(ctx, u.ID, id); err != nil || !ok {
			if err == nil {
				err = errs.NotFound("security key", id)
			}
			return err
		}
		codes, err := afterRemoval(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		return tx.AppendAudit(ctx, audit.New(ctx, mfaActor(u), "mfa.webauthn.remove", "user", u.ID, u.UserName,
			map[string]any{"credentialId": id, "name": name, "recoveryCodesDeleted": codes}))
	})
}

// WebAuthnKey returns one of u's keys (for the removal page).
func (m *MFAService) WebAuthnKey(ctx context.Context, u directory.User, id string) (WebAuthnKey, error) {
	creds, err := m.Store.ListWebAuthnCredentials(ctx, u.ID)
	if err != nil {
		return WebAuthnKey{}, err
	}
	for _, c := range creds {
		if c.ID == id {
			return describeKey(c), nil
		}
	}
	return WebAuthnKey{}, errs.NotFound("security key", id)
}

// --- authentication ---

// BeginWebAuthnSignIn starts the security-key step of a pending sign-in.
func (m *MFAService) BeginWebAuthnSignIn(ctx context.Context, pendingToken string) (Ceremony, error) {
	if m.WebAuthn == nil {
		return Ceremony{}, ErrWebAuthnUnavailable
	}
	st, err := m.pendingFor(ctx, pendingToken, false)
	if err != nil {
		return Ceremony{}, err
	}
	w, err := loadWAUser(ctx, m.Store.ListWebAuthnCredentials, st.User)
	if err != nil {
		return Ceremony{}, err
	}
	if len(w.creds) == 0 {
		return Ceremony{}, ErrMFAFailed
	}
	assertion, sd, err := m.WebAuthn.BeginLogin(w, webauthn.WithUserVerification(protocol.VerificationDiscouraged))
	if err != nil {
		return Ceremony{}, err
	}
	return m.startCeremony(ctx, st.User.ID, ceremony{Purpose: purposeLogin, Binding: pendingBinding(pendingToken), Session: *sd}, assertion)
}

// verifyAssertion checks an assertion of w against the ceremony's session
// data and, when it passes, stores the new sign count, flags and use time.
// A sign count that does not increase (a possibly cloned authenticator) is
// refused.
func (m *MFAService) verifyAssertion(ctx context.Context, tx MFATx, w *waUser, sd webauthn.SessionData, parsed *protocol.ParsedCredentialAssertionData, discoverable bool) (string, error) {
	var cred *webauthn.Credential
	var err error
	if discoverable {
		_, cred, err = m.WebAuthn.ValidatePasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
			if !bytes.Equal(userHandle, w.WebAuthnID()) {
				return nil, errors.New("unknown user handle")
			}
			return w, nil
		}, sd, parsed)
	} else {
		cred, err = m.WebAuthn.ValidateLogin(w, sd, parsed)
	}
	if err != nil {
		return webauthnReason(err), nil
	}
	if cred.Authenticator.CloneWarning {
		return "webauthn: sign count did not increase (possibly a cloned authenticator)", nil
	}
	row, ok := w.row(cred.ID)
	if !ok {
		return "webauthn: credential not registered to this user", nil
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return "", err
	}
	return "", tx.UpdateWebAuthnCredential(ctx, row.ID, w.u.ID, string(data), m.now())
}

// FinishWebAuthnSignIn finishes a pending sign-in with a security key.
func (m *MFAService) FinishWebAuthnSignIn(ctx context.Context, pendingToken, ceremonyID string, body []byte, c Client, replaces string) (MFAOutcome, error) {
	if m.WebAuthn == nil {
		return MFAOutcome{}, ErrWebAuthnUnavailable
	}
	st, err := m.pendingFor(ctx, pendingToken, false)
	if err != nil {
		return MFAOutcome{}, err
	}
	return m.finishSecondFactor(ctx, st, pendingToken, c, replaces, CredWebAuthn, func(ctx context.Context, tx MFATx) (string, error) {
		cer, err := m.takeCeremony(ctx, tx, ceremonyID, purposeLogin, st.User.ID, pendingBinding(pendingToken))
		if errors.Is(err, ErrTokenInvalid) {
			return webauthnReason(err), nil
		}
		if err != nil {
			return "", err
		}
		parsed, err := ParseAssertion(body)
		if err != nil {
			return webauthnReason(err), nil
		}
		w, err := loadWAUser(ctx, tx.ListWebAuthnCredentials, st.User)
		if err != nil {
			return "", err
		}
		return m.verifyAssertion(ctx, tx, w, cer.Session, parsed, false)
	})
}

// BeginPasskeySignIn starts a sign-in with a passkey alone (a discoverable
// credential with user verification), when the instance allows it.
func (m *MFAService) BeginPasskeySignIn(ctx context.Context) (Ceremony, error) {
	if !m.PasskeySignInEnabled() {
		return Ceremony{}, ErrPasskeyDisabled
	}
	assertion, sd, err := m.WebAuthn.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return Ceremony{}, err
	}
	return m.startCeremony(ctx, "", ceremony{Purpose: purposePasskey, Session: *sd}, assertion)
}

// FinishPasskeySignIn finishes a passkey sign-in: the user is the owner of
// the credential (found by its user handle), the authenticator verified the
// user, and the sign-in counts as multi-factor. Failures count toward the
// owner's lockout like any second factor.
func (m *MFAService) FinishPasskeySignIn(ctx context.Context, ceremonyID string, body []byte, c Client, replaces string) (MFAOutcome, error) {
	if !m.PasskeySignInEnabled() {
		return MFAOutcome{}, ErrPasskeyDisabled
	}
	parsed, perr := ParseAssertion(body)
	var u directory.User
	if perr == nil && len(parsed.Response.UserHandle) > 0 && len(parsed.Response.UserHandle) <= 64 {
		var err error
		u, err = m.Auth.Store.GetUser(ctx, string(parsed.Response.UserHandle))
		if err != nil && !errors.Is(err, errs.ErrNotFound) {
			return MFAOutcome{}, err
		}
	}
	if u.ID == "" || !u.Active {
		// Use the ceremony up anyway, and say nothing about why.
		_ = m.Store.WithMFATx(ctx, func(tx MFATx) error {
			_, err := m.takeCeremony(ctx, tx, ceremonyID, purposePasskey, "", "")
			return err
		})
		reason := "webauthn: passkey of no active user"
		if perr != nil {
			reason = webauthnReason(perr)
		}
		m.Auth.auditFailure(ctx, "", u.ID, CredWebAuthn, reason+" (passkey sign-in)")
		return MFAOutcome{}, ErrMFAFailed
	}
	if err := m.checkAttempt(ctx, u, c, CredWebAuthn); err != nil {
		return MFAOutcome{}, err
	}
	reason := ""
	err := m.Store.WithMFATx(ctx, func(tx MFATx) error {
		cer, err := m.takeCeremony(ctx, tx, ceremonyID, purposePasskey, "", "")
		if errors.Is(err, ErrTokenInvalid) {
			reason = webauthnReason(err)
			return nil
		}
		if err != nil {
			return err
		}
		w, err := loadWAUser(ctx, tx.ListWebAuthnCredentials, u)
		if err != nil {
			return err
		}
		if reason, err = m.verifyAssertion(ctx, tx, w, cer.Session, parsed, true); err != nil || reason != "" {
			return err
		}
		_, err = tx.ClearThrottle(ctx, mfaKey(u.ID))
		return err
	})
	if err != nil {
		return MFAOutcome{}, err
	}
	if reason != "" {
		if err := m.failAttempt(ctx, u, c, CredWebAuthn, reason+" (passkey sign-in)"); err != nil {
			return MFAOutcome{}, err
		}
		return MFAOutcome{}, ErrMFAFailed
	}
	return m.complete(ctx, u, []string{CredWebAuthn}, c, replaces)
}
