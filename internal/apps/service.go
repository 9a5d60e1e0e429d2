package apps

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
)

// Reader is the read side of the application store. It never returns
// private keys.
type Reader interface {
	GetApp(ctx context.Context, id string) (Application, error)
	GetAppByName(ctx context.Context, displayName string) (Application, error)
	GetAppByEntityID(ctx context.Context, entityID string) (Application, error)
	ListApps(ctx context.Context) ([]Application, error)
	ListAppCertificates(ctx context.Context, appID string) ([]Certificate, error)
	ListAppAssignments(ctx context.Context, appID string) ([]Assignment, error)
	// IsAssigned reports, in one query, whether the user is assigned to the
	// application directly or through a group they belong to.
	IsAssigned(ctx context.Context, appID, userID string) (bool, error)
	// ListAppsForUser lists the enabled applications the user is assigned
	// to, directly or through a group, in name order.
	ListAppsForUser(ctx context.Context, userID string) ([]Application, error)

	// Directory lookups for assignments and previews.
	GetUser(ctx context.Context, id string) (directory.User, error)
	GetUserByUserName(ctx context.Context, userName string) (directory.User, error)
	GetGroup(ctx context.Context, id string) (directory.Group, error)
	GetGroupByName(ctx context.Context, displayName string) (directory.Group, error)
	GroupsOfUser(ctx context.Context, userID string) ([]directory.Group, error)
}

// KeyReader reads sealed private keys. Only signing needs it; it is kept
// apart from Reader so code that lists applications never sees key material.
type KeyReader interface {
	AppCertificateKey(ctx context.Context, certID string) (sealed string, err error)
}

// Tx is a read-write store transaction.
type Tx interface {
	Reader
	audit.Appender
	InsertApp(ctx context.Context, a Application) error
	// UpdateApp is guarded by prevVersion (a stale *errs.Conflict otherwise).
	UpdateApp(ctx context.Context, a Application, prevVersion int64) error
	DeleteApp(ctx context.Context, id string) error
	InsertAppCertificate(ctx context.Context, c Certificate, sealedKey string) error
	// SetAppCertificateStatus moves a certificate from one status to
	// another and reports false when it was not in from.
	SetAppCertificateStatus(ctx context.Context, certID, from, to string) (bool, error)
	// ClaimDueAppCertificate clears the schedule of a next certificate
	// whose activate_at is at or before now, and reports false when it was
	// not (any more) such a certificate.
	ClaimDueAppCertificate(ctx context.Context, certID string, now time.Time) (bool, error)
	DeleteAppCertificate(ctx context.Context, certID string) (bool, error)
	// ClaimMetadataRefresh sets the application's last refresh attempt to
	// now if it has an SP metadata URL and its last attempt was at or before
	// before (or never); it reports false otherwise: another replica
	// claimed this refresh first.
	ClaimMetadataRefresh(ctx context.Context, appID string, now, before time.Time) (bool, error)
	// SetMetadataRefreshResult records a refresh's outcome: refreshedAt when
	// it succeeded (nil leaves the last success as it was) and the error
	// ("" on success).
	SetMetadataRefreshResult(ctx context.Context, appID string, refreshedAt *time.Time, errText string) error
	// AddAppAssignment and RemoveAppAssignment report whether anything changed.
	AddAppAssignment(ctx context.Context, a Assignment) (bool, error)
	RemoveAppAssignment(ctx context.Context, appID, principalType, principalID string) (bool, error)
}

// Store is what the applications service needs from storage.
type Store interface {
	Reader
	KeyReader
	// ListDueAppCertificates lists unexpired next certificates, across
	// applications, scheduled to activate at or before now.
	ListDueAppCertificates(ctx context.Context, now time.Time) ([]Certificate, error)
	// ListMetadataRefreshDue lists the applications with an SP metadata
	// URL whose last refresh attempt was at or before before, or never.
	ListMetadataRefreshDue(ctx context.Context, before time.Time) ([]Application, error)
	WithTx(ctx context.Context, fn func(Tx) error) error
}

// Keyring seals private keys at rest and derives purpose keys from the
// master key (keys.Keyring).
type Keyring interface {
	Seal(plaintext, aad []byte) string
	Open(sealed string, aad []byte) ([]byte, error)
	Derive(purpose string) []byte
}

// Service is the applications domain service.
type Service struct {
	Store Store
	Keys  Keyring
	Now   func() time.Time // nil: time.Now
	Rand  io.Reader        // nil: crypto/rand (serial numbers, transient Name IDs)
	// GenerateKey makes the RSA key of a new signing certificate; nil means
	// rsa.GenerateKey with crypto/rand.
	GenerateKey func(bits int) (*rsa.PrivateKey, error)
	// CertValidity is the lifetime of generated certificates; 0 means 5 years.
	CertValidity time.Duration
	// Roles lists the AWS roles a user holds, for applications that carry
	// them (UsesAWSRoles); nil leaves the Role attribute out.
	Roles RoleSource
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

func (s *Service) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func canRead(a audit.Actor) error  { return audit.RequireRole(a, audit.RoleAdmin, audit.RoleAuditor) }
func canWrite(a audit.Actor) error { return audit.RequireRole(a, audit.RoleAdmin) }

// resolveApp finds an application by id, falling back to its display name.
func resolveApp(ctx context.Context, r Reader, key string) (Application, error) {
	if _, err := uuid.Parse(key); err == nil {
		a, err := r.GetApp(ctx, key)
		if !errors.Is(err, errs.ErrNotFound) {
			return a, err
		}
	}
	return r.GetAppByName(ctx, key)
}

func resolveUser(ctx context.Context, r Reader, key string) (directory.User, error) {
	if _, err := uuid.Parse(key); err == nil {
		u, err := r.GetUser(ctx, key)
		if !errors.Is(err, errs.ErrNotFound) {
			return u, err
		}
	}
	return r.GetUserByUserName(ctx, key)
}

func resolveGroup(ctx context.Context, r Reader, key string) (directory.Group, error) {
	if _, err := uuid.Parse(key); err == nil {
		g, err := r.GetGroup(ctx, key)
		if !errors.Is(err, errs.ErrNotFound) {
			return g, err
		}
	}
	return r.GetGroupByName(ctx, key)
}

// --- applications ---

// build merges template, SP metadata and the request into a new application.
func build(req CreateRequest) (Application, error) {
	tid := strings.TrimSpace(req.Template)
	if tid == "" {
		tid = TemplateCustom
	}
	t, ok := LookupTemplate(tid)
	if !ok {
		var ids []string
		for _, t := range Catalog() {
			ids = append(ids, t.ID)
		}
		return Application{}, errs.Invalidf("template", "unknown template %q; the catalog has %s", tid, strings.Join(ids, ", "))
	}
	a := t.application()
	if t.ID == TemplateCustom {
		a.DisplayName, a.Description = "", ""
	}
	if md := req.Metadata; md != nil {
		if md.EntityID != "" {
			a.EntityID = md.EntityID
		}
		if len(md.ACS) > 0 {
			a.ACS = slices.Clone(md.ACS)
		}
		if md.SLOURL != "" {
			a.SLOURL, a.SLOBinding = md.SLOURL, md.SLOBinding
		}
		a.SigningCertificates = slices.Clone(md.SigningCertificates)
		a.EncryptionCertificate = md.EncryptionCertificate
		a.RequireSignedRequests = md.AuthnRequestsSigned
		a.SPMetadataURL = md.URL
		if t.ID == TemplateCustom {
			for _, f := range md.NameIDFormats {
				if short, ok := NormalizeNameIDFormat(f); ok {
					a.NameIDFormat, a.NameID = short, defaultNameID(short)
					break
				}
			}
		}
	}
	in := req.Application
	set := func(dst *string, v string) {
		if strings.TrimSpace(v) != "" {
			*dst = v
		}
	}
	set(&a.DisplayName, in.DisplayName)
	set(&a.Description, in.Description)
	set(&a.EntityID, in.EntityID)
	if len(in.ACS) > 0 {
		a.ACS = slices.Clone(in.ACS)
	}
	if in.SLOURL != "" {
		a.SLOURL, a.SLOBinding = in.SLOURL, in.SLOBinding
	}
	set(&a.StartURL, in.StartURL)
	set(&a.DefaultRelayState, in.DefaultRelayState)
	set(&a.SessionDuration, in.SessionDuration)
	if len(in.SigningCertificates) > 0 {
		a.SigningCertificates = slices.Clone(in.SigningCertificates)
	}
	set(&a.EncryptionCertificate, in.EncryptionCertificate)
	set(&a.SPMetadataURL, in.SPMetadataURL)
	set(&a.SPMetadataSigningCertificate, in.SPMetadataSigningCertificate)
	a.MetadataRefresh = nil
	a.RequireSignedRequests = a.RequireSignedRequests || in.RequireSignedRequests
	a.EncryptAssertions = in.EncryptAssertions
	set(&a.SigningMode, in.SigningMode)
	if strings.TrimSpace(in.NameIDFormat) != "" {
		a.NameIDFormat, a.NameID = in.NameIDFormat, ""
	}
	set(&a.NameID, in.NameID)
	if len(in.Attributes) > 0 {
		a.Attributes = slices.Clone(in.Attributes)
	}
	a.Enabled = in.Enabled
	a.IncludeAWSRoles, a.AWSRoleAccounts = in.IncludeAWSRoles, slices.Clone(in.AWSRoleAccounts)
	a.ManagedBy = in.ManagedBy
	a.Template = t.ID
	return a, nil
}

// Build returns the application Create would store for req, normalised and
// validated, without an id, timestamps or certificate. Every problem is
// returned at once as an *errs.Invalid whose fields are the Application's
// JSON names. Planners (the declarative engine) use it to compare before
// writing.
func Build(req CreateRequest) (Application, error) {
	a, err := build(req)
	if err != nil {
		return Application{}, err
	}
	verr := normalizeApp(&a)
	_, berr := keyBits(req.KeyBits)
	if verr != nil || berr != nil {
		v := &errs.Invalid{}
		for _, e := range []error{verr, berr} {
			var iv *errs.Invalid
			if errors.As(e, &iv) {
				v.Problems = append(v.Problems, iv.Problems...)
			}
		}
		return Application{}, v
	}
	return a, nil
}

// Create validates the request and stores a new application with a freshly
// generated active signing certificate.
func (s *Service) Create(ctx context.Context, actor audit.Actor, req CreateRequest) (Application, error) {
	if err := canWrite(actor); err != nil {
		return Application{}, err
	}
	a, cert, sealed, err := s.prepareCreate(req)
	if err != nil {
		return Application{}, err
	}
	err = s.Store.WithTx(ctx, func(tx Tx) error { return s.insertApp(ctx, tx, actor, a, cert, sealed) })
	if err != nil {
		return Application{}, err
	}
	return a, nil
}

// CreateTx is Create inside the caller's transaction tx. It generates the
// signing key inside the transaction, so callers creating many applications
// hold the store's writer for the time that takes.
func (s *Service) CreateTx(ctx context.Context, tx Tx, actor audit.Actor, req CreateRequest) (Application, error) {
	if err := canWrite(actor); err != nil {
		return Application{}, err
	}
	a, cert, sealed, err := s.prepareCreate(req)
	if err != nil {
		return Application{}, err
	}
	if err := s.insertApp(ctx, tx, actor, a, cert, sealed); err != nil {
		return Application{}, err
	}
	return a, nil
}

func (s *Service) prepareCreate(req CreateRequest) (Application, Certificate, string, error) {
	a, err := Build(req)
	if err != nil {
		return Application{}, Certificate{}, "", err
	}
	if req.Metadata != nil {
		if err := s.CheckMetadata(req.Metadata, a.SPMetadataSigningCertificate); err != nil {
			return Application{}, Certificate{}, "", err
		}
	}
	bits, _ := keyBits(req.KeyBits) // checked by Build
	now := s.now()
	a.ID, a.Created, a.LastModified, a.Version = newID(), now, now, 1
	if a.SPMetadataURL != "" && req.Metadata != nil && req.Metadata.URL == a.SPMetadataURL {
		// Just fetched: the first refresh is due an interval from now.
		a.MetadataRefresh = &MetadataRefresh{CheckedAt: &now, RefreshedAt: &now}
	}
	// Create generates the key before its transaction: RSA key generation
	// takes tens of milliseconds and must not hold SQLite's single writer.
	cert, sealed, err := s.newCertificate(a.ID, a.DisplayName, bits, CertActive)
	if err != nil {
		return Application{}, Certificate{}, "", err
	}
	return a, cert, sealed, nil
}

func (s *Service) insertApp(ctx context.Context, tx Tx, actor audit.Actor, a Application, cert Certificate, sealed string) error {
	if err := tx.InsertApp(ctx, a); err != nil {
		return err
	}
	if err := tx.InsertAppCertificate(ctx, cert, sealed); err != nil {
		return err
	}
	summary := appSummary(Application{}, a)
	summary["certificate"] = certSummary(cert)
	return tx.AppendAudit(ctx, audit.New(ctx, actor, "app.create", "app", a.ID, a.DisplayName, summary))
}

// Get returns the application with this id or display name.
func (s *Service) Get(ctx context.Context, actor audit.Actor, key string) (Application, error) {
	if err := canRead(actor); err != nil {
		return Application{}, err
	}
	return resolveApp(ctx, s.Store, key)
}

// List lists every application in display-name order.
func (s *Service) List(ctx context.Context, actor audit.Actor) ([]Application, error) {
	if err := canRead(actor); err != nil {
		return nil, err
	}
	return s.Store.ListApps(ctx)
}

// Update applies mutate to the current application and stores the result.
// When ifVersion is non-zero the update fails with a stale conflict unless
// the stored version equals it. id, template, created and version are not
// the caller's to change.
func (s *Service) Update(ctx context.Context, actor audit.Actor, key string, ifVersion int64, mutate func(*Application) error) (Application, error) {
	if err := canWrite(actor); err != nil {
		return Application{}, err
	}
	var out Application
	err := s.Store.WithTx(ctx, func(tx Tx) error {
		cur, err := resolveApp(ctx, tx, key)
		if err != nil {
			return err
		}
		out, err = s.updateTx(ctx, tx, actor, cur, ifVersion, "", mutate)
		return err
	})
	return out, err
}

// UpdateTx is Update inside the caller's transaction tx, for the application
// cur read in it.
func (s *Service) UpdateTx(ctx context.Context, tx Tx, actor audit.Actor, cur Application, ifVersion int64, mutate func(*Application) error) (Application, error) {
	if err := canWrite(actor); err != nil {
		return Application{}, err
	}
	return s.updateTx(ctx, tx, actor, cur, ifVersion, "", mutate)
}

// updateTx updates cur; action names the audit event ("" means
// app.update, or app.enable/app.disable when only Enabled changed).
func (s *Service) updateTx(ctx context.Context, tx Tx, actor audit.Actor, cur Application, ifVersion int64, action string,
	mutate func(*Application) error) (Application, error) {
	if ifVersion != 0 && ifVersion != cur.Version {
		return Application{}, &errs.Conflict{Kind: "app", Stale: true}
	}
	next := cur
	next.ACS, next.Attributes = slices.Clone(cur.ACS), slices.Clone(cur.Attributes)
	next.SigningCertificates = slices.Clone(cur.SigningCertificates)
	if err := mutate(&next); err != nil {
		return Application{}, err
	}
	next.ID, next.Template, next.Created, next.Version = cur.ID, cur.Template, cur.Created, cur.Version
	next.LastModified = cur.LastModified
	next.MetadataRefresh = cur.MetadataRefresh // the refresher's, not the caller's
	if err := normalizeApp(&next); err != nil {
		return Application{}, err
	}
	summary := appSummary(cur, next)
	if len(summary) == 0 {
		return cur, nil
	}
	next.LastModified = s.now()
	next.Version = cur.Version + 1
	if next.SPMetadataURL != cur.SPMetadataURL {
		next.MetadataRefresh = nil // a new URL is refreshed at the next opportunity (the store resets it too)
	}
	if err := tx.UpdateApp(ctx, next, cur.Version); err != nil {
		return Application{}, err
	}
	if action == "" {
		action = "app.update"
		if cur.Enabled != next.Enabled && len(summary) == 1 {
			action = map[bool]string{true: "app.enable", false: "app.disable"}[next.Enabled]
		}
	}
	if err := tx.AppendAudit(ctx, audit.New(ctx, actor, action, "app", next.ID, next.DisplayName, summary)); err != nil {
		return Application{}, err
	}
	return next, nil
}

// Delete removes an application with its certificates and assignments.
func (s *Service) Delete(ctx context.Context, actor audit.Actor, key string) error {
	if err := canWrite(actor); err != nil {
		return err
	}
	return s.Store.WithTx(ctx, func(tx Tx) error {
		a, err := resolveApp(ctx, tx, key)
		if err != nil {
			return err
		}
		return deleteTx(ctx, tx, actor, a)
	})
}

// DeleteTx is Delete inside the caller's transaction tx, for the
// application a read in it.
func (s *Service) DeleteTx(ctx context.Context, tx Tx, actor audit.Actor, a Application) error {
	if err := canWrite(actor); err != nil {
		return err
	}
	return deleteTx(ctx, tx, actor, a)
}

func deleteTx(ctx context.Context, tx Tx, actor audit.Actor, a Application) error {
	if err := tx.DeleteApp(ctx, a.ID); err != nil {
		return err
	}
	return tx.AppendAudit(ctx, audit.New(ctx, actor, "app.delete", "app", a.ID, a.DisplayName,
		map[string]any{"entityId": a.EntityID}))
}

// ByID returns an application for the SAML endpoints. There is no actor:
// the caller is the protocol surface, which decides what the user may see.
func (s *Service) ByID(ctx context.Context, id string) (Application, error) {
	return s.Store.GetApp(ctx, id)
}

// ByEntityID returns the application whose SP entity ID is exactly entityID
// (the Issuer of an AuthnRequest), for the SAML endpoints.
func (s *Service) ByEntityID(ctx context.Context, entityID string) (Application, error) {
	return s.Store.GetAppByEntityID(ctx, entityID)
}

// --- assignments ---

// Assign gives a user or a group (principalType PrincipalUser or
// PrincipalGroup; key an id or name) access to the application. Assigning
// twice changes nothing.
func (s *Service) Assign(ctx context.Context, actor audit.Actor, appKey, principalType, principalKey string) (Assignment, error) {
	return s.changeAssignment(ctx, actor, appKey, principalType, principalKey, true)
}

// Unassign removes a user's or group's assignment to the application.
func (s *Service) Unassign(ctx context.Context, actor audit.Actor, appKey, principalType, principalKey string) error {
	_, err := s.changeAssignment(ctx, actor, appKey, principalType, principalKey, false)
	return err
}

// AssignTx is Assign inside the caller's transaction tx, for the
// application app read in it.
func (s *Service) AssignTx(ctx context.Context, tx Tx, actor audit.Actor, app Application, principalType, principalKey string) (Assignment, error) {
	if err := checkAssignment(actor, &principalType, principalKey); err != nil {
		return Assignment{}, err
	}
	return s.changeAssignmentTx(ctx, tx, actor, app, principalType, principalKey, true)
}

// UnassignTx is Unassign inside the caller's transaction tx, for the
// application app read in it.
func (s *Service) UnassignTx(ctx context.Context, tx Tx, actor audit.Actor, app Application, principalType, principalKey string) error {
	if err := checkAssignment(actor, &principalType, principalKey); err != nil {
		return err
	}
	_, err := s.changeAssignmentTx(ctx, tx, actor, app, principalType, principalKey, false)
	return err
}

func checkAssignment(actor audit.Actor, principalType *string, principalKey string) error {
	if err := canWrite(actor); err != nil {
		return err
	}
	*principalType = strings.ToLower(strings.TrimSpace(*principalType))
	if *principalType != PrincipalUser && *principalType != PrincipalGroup {
		return errs.Invalidf("principalType", "must be user or group")
	}
	if strings.TrimSpace(principalKey) == "" {
		return errs.Invalidf(*principalType, "is required")
	}
	return nil
}

func (s *Service) changeAssignment(ctx context.Context, actor audit.Actor, appKey, principalType, principalKey string, add bool) (Assignment, error) {
	if err := checkAssignment(actor, &principalType, principalKey); err != nil {
		return Assignment{}, err
	}
	var out Assignment
	err := s.Store.WithTx(ctx, func(tx Tx) error {
		app, err := resolveApp(ctx, tx, appKey)
		if err != nil {
			return err
		}
		out, err = s.changeAssignmentTx(ctx, tx, actor, app, principalType, principalKey, add)
		return err
	})
	return out, err
}

func (s *Service) changeAssignmentTx(ctx context.Context, tx Tx, actor audit.Actor, app Application, principalType, principalKey string, add bool) (Assignment, error) {
	as := Assignment{AppID: app.ID, PrincipalType: principalType, CreatedAt: s.now()}
	if principalType == PrincipalUser {
		u, err := resolveUser(ctx, tx, principalKey)
		if err != nil {
			return Assignment{}, principalErr(err, add, principalType, principalKey)
		}
		as.PrincipalID, as.PrincipalName = u.ID, u.UserName
	} else {
		g, err := resolveGroup(ctx, tx, principalKey)
		if err != nil {
			return Assignment{}, principalErr(err, add, principalType, principalKey)
		}
		as.PrincipalID, as.PrincipalName = g.ID, g.DisplayName
	}
	var changed bool
	var err error
	action := "app.assign"
	if add {
		changed, err = tx.AddAppAssignment(ctx, as)
	} else {
		action = "app.unassign"
		changed, err = tx.RemoveAppAssignment(ctx, app.ID, as.PrincipalType, as.PrincipalID)
		if err == nil && !changed {
			return Assignment{}, errs.NotFound("assignment of "+principalType, principalKey)
		}
	}
	if err != nil {
		return Assignment{}, err
	}
	if !changed {
		// Already assigned: report the existing assignment.
		list, err := tx.ListAppAssignments(ctx, app.ID)
		if err != nil {
			return Assignment{}, err
		}
		out := as
		for _, x := range list {
			if x.PrincipalType == as.PrincipalType && x.PrincipalID == as.PrincipalID {
				out = x
			}
		}
		return out, nil
	}
	return as, tx.AppendAudit(ctx, audit.New(ctx, actor, action, "app", app.ID, app.DisplayName, map[string]any{
		"principalType": as.PrincipalType, "principalId": as.PrincipalID, "principalName": as.PrincipalName}))
}

// principalErr: an unknown principal in a new assignment is a validation
// error naming the field; in a removal it is simply not found.
func principalErr(err error, add bool, principalType, key string) error {
	if add && errors.Is(err, errs.ErrNotFound) {
		return errs.Invalidf(principalType, "no %s %q", principalType, key)
	}
	return err
}

// ListAssignments lists the users and groups assigned to the application.
func (s *Service) ListAssignments(ctx context.Context, actor audit.Actor, appKey string) ([]Assignment, error) {
	if err := canRead(actor); err != nil {
		return nil, err
	}
	app, err := resolveApp(ctx, s.Store, appKey)
	if err != nil {
		return nil, err
	}
	return s.Store.ListAppAssignments(ctx, app.ID)
}

// IsAssigned reports whether the user may use the application: assigned
// directly or through membership of an assigned group. Removing the user
// from the group takes effect at the next call.
func (s *Service) IsAssigned(ctx context.Context, appID, userID string) (bool, error) {
	return s.Store.IsAssigned(ctx, appID, userID)
}

// ListAppsForUser lists the enabled applications the user is assigned to,
// for the portal.
func (s *Service) ListAppsForUser(ctx context.Context, userID string) ([]Application, error) {
	return s.Store.ListAppsForUser(ctx, userID)
}

// --- audit summaries ---

// appSummary lists the fields that differ between a and b as
// {field: {"from": …, "to": …}}; SP certificates appear as fingerprints.
func appSummary(a, b Application) map[string]any {
	strip := func(x Application) Application {
		x.ID, x.Created, x.LastModified, x.Version = "", time.Time{}, time.Time{}, 0
		x.MetadataRefresh = nil
		x.SigningCertificates = fingerprints(x.SigningCertificates)
		if x.SPMetadataSigningCertificate != "" {
			x.SPMetadataSigningCertificate = fingerprints([]string{x.SPMetadataSigningCertificate})[0]
		}
		if x.EncryptionCertificate != "" {
			x.EncryptionCertificate = fingerprints([]string{x.EncryptionCertificate})[0]
		}
		return x
	}
	return diff(strip(a), strip(b))
}

func fingerprints(pems []string) []string {
	var out []string
	for _, p := range pems {
		c, _, err := ParseCertificate(p)
		if err != nil {
			out = append(out, "(unreadable)")
			continue
		}
		out = append(out, "sha256:"+Fingerprint(c))
	}
	return out
}

func certSummary(c Certificate) map[string]any {
	m := map[string]any{"id": c.ID, "status": c.Status, "notAfter": c.NotAfter.Format(time.RFC3339), "sha256": c.SHA256}
	if c.ActivateAt != nil {
		m["activateAt"] = c.ActivateAt.Format(time.RFC3339)
	}
	return m
}

func diff(a, b any) map[string]any {
	ma, mb := toMap(a), toMap(b)
	keys := map[string]bool{}
	for k := range ma {
		keys[k] = true
	}
	for k := range mb {
		keys[k] = true
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	out := map[string]any{}
	for _, k := range names {
		if !reflect.DeepEqual(ma[k], mb[k]) {
			out[k] = map[string]any{"from": ma[k], "to": mb[k]}
		}
	}
	return out
}

func toMap(v any) map[string]any {
	b, _ := json.Marshal(v)
	m := map[string]any{}
	_ = json.Unmarshal(b, &m)
	for k, x := range m {
		switch t := x.(type) {
		case string:
			if t == "" {
				delete(m, k)
			}
		case []any:
			if len(t) == 0 {
				delete(m, k)
			}
		case nil:
			delete(m, k)
		case bool:
			if !t && k != "enabled" {
				delete(m, k)
			}
		}
	}
	return m
}
