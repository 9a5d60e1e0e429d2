package apps

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/mail"
	"strings"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
)

// persistentPurpose names the key persistent Name IDs are derived with.
const persistentPurpose = "saml-persistent"

// PersistentNameID returns the pairwise persistent Name ID of a user for an
// application: base64url(HMAC-SHA256(K, appID "/" userID)) with K derived
// from the master key. It is stable for the pair, differs between
// applications, and reveals nothing about the user.
func (s *Service) PersistentNameID(appID, userID string) string {
	m := hmac.New(sha256.New, s.Keys.Derive(persistentPurpose))
	m.Write([]byte(appID + "/" + userID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// pairwise reports whether the persistent Name ID of app is the pairwise
// one: the format is persistent and the expression is ${user:subject}.
// Any other expression is a shared identifier the admin chose deliberately.
func pairwise(app Application) bool {
	return app.NameIDFormat == NameIDPersistent && (app.NameID == "" || app.NameID == "${user:subject}")
}

// resolved is Claims plus what Preview explains.
type resolved struct {
	Claims
	warnings []string
}

func (s *Service) resolve(app Application, u directory.User, groups []directory.Group) (resolved, error) {
	var r resolved
	r.NameIDFormat = NameIDFormatURN(app.NameIDFormat)
	name := u.UserName
	switch {
	case pairwise(app):
		r.NameID = s.PersistentNameID(app.ID, u.ID)
	case app.NameIDFormat == NameIDTransient:
		b := make([]byte, 20)
		if _, err := s.rand().Read(b); err != nil {
			return r, err
		}
		r.NameID = "_" + base64.RawURLEncoding.EncodeToString(b)
	default:
		e, err := ParseExpr(app.NameID)
		if err != nil {
			return r, errs.Invalidf("nameId", "%s", err.Error())
		}
		if v := e.Eval(u, groups); len(v) > 0 {
			r.NameID = v[0]
		}
		if r.NameID == "" {
			r.warnings = append(r.warnings, fmt.Sprintf("the Name ID is empty for %s (%s has no value): sign-in would fail", name, strings.Join(e.EmptyVars(u, groups), ", ")))
		} else if app.NameIDFormat == NameIDEmail && !isEmail(r.NameID) {
			r.warnings = append(r.warnings, fmt.Sprintf("the Name ID format is emailAddress but the value %q is not an email address; some applications reject this", r.NameID))
		}
	}
	r.Attributes = []ClaimAttribute{}
	for _, at := range app.Attributes {
		e, err := ParseExpr(at.Value)
		if err != nil {
			return r, errs.Invalidf("attributes", "%s: %s", at.Name, err.Error())
		}
		vals := e.Eval(u, groups)
		if len(vals) == 0 {
			r.warnings = append(r.warnings, fmt.Sprintf("attribute %s has no value for %s (%s): it would be left out of the assertion", at.Name, name, e.String()))
			continue
		}
		if empty := e.EmptyVars(u, groups); len(empty) > 0 && !e.MultiValued() {
			r.warnings = append(r.warnings, fmt.Sprintf("attribute %s: %s has no value for %s, so the value is %q", at.Name, strings.Join(empty, ", "), name, vals[0]))
		}
		r.Attributes = append(r.Attributes, ClaimAttribute{Name: at.Name, NameFormat: NameFormatURN(at.NameFormat), Values: vals})
	}
	return r, nil
}

func isEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// Resolve computes what an assertion for app states about u, a member of
// groups: the Name ID (pairwise for persistent ${user:subject}, random for
// transient, else the expression's value) and every mapped attribute that
// has a value. An empty Name ID is an error.
func (s *Service) Resolve(app Application, u directory.User, groups []directory.Group) (Claims, error) {
	r, err := s.resolve(app, u, groups)
	if err != nil {
		return Claims{}, err
	}
	if r.NameID == "" {
		return Claims{}, errs.Invalidf("nameId", "%s has no value for user %s", app.NameID, u.UserName)
	}
	return r.Claims, nil
}

// ClaimsFor loads the user and their groups and resolves the claims of app.
func (s *Service) ClaimsFor(ctx context.Context, app Application, userID string) (Claims, error) {
	u, err := s.Store.GetUser(ctx, userID)
	if err != nil {
		return Claims{}, err
	}
	groups, err := s.Store.GroupsOfUser(ctx, u.ID)
	if err != nil {
		return Claims{}, err
	}
	c, err := s.Resolve(app, u, groups)
	if err != nil {
		return Claims{}, err
	}
	if _, err := s.addAWSRoles(ctx, app, u, &c, false); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// Preview shows the Name ID and attribute values the user would receive
// from the application, with warnings for empty values, a missing email
// address, and anything that would refuse the sign-in (not assigned,
// disabled user or application).
func (s *Service) Preview(ctx context.Context, actor audit.Actor, appKey, userKey string) (Preview, error) {
	if err := canRead(actor); err != nil {
		return Preview{}, err
	}
	if strings.TrimSpace(userKey) == "" {
		return Preview{}, errs.Invalidf("user", "is required")
	}
	app, err := resolveApp(ctx, s.Store, appKey)
	if err != nil {
		return Preview{}, err
	}
	u, err := resolveUser(ctx, s.Store, userKey)
	if err != nil {
		return Preview{}, err
	}
	groups, err := s.Store.GroupsOfUser(ctx, u.ID)
	if err != nil {
		return Preview{}, err
	}
	assigned, err := s.Store.IsAssigned(ctx, app.ID, u.ID)
	if err != nil {
		return Preview{}, err
	}
	r, err := s.resolve(app, u, groups)
	if err != nil {
		return Preview{}, err
	}
	roleWarnings, err := s.addAWSRoles(ctx, app, u, &r.Claims, true)
	if err != nil {
		return Preview{}, err
	}
	r.warnings = append(r.warnings, roleWarnings...)
	p := Preview{
		AppID: app.ID, AppName: app.DisplayName, UserID: u.ID, UserName: u.UserName,
		Audience: app.EntityID, SessionDuration: app.SessionDuration,
		NameID: r.NameID, NameIDFormat: r.NameIDFormat, Attributes: r.Attributes,
		Assigned: assigned, Warnings: []string{},
	}
	if acs, ok := app.DefaultACS(); ok {
		p.Destination = acs.URL
	}
	if !assigned {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s is not assigned to %s, directly or through a group: sign-in would be refused", u.UserName, app.DisplayName))
	}
	if !u.Active {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s is disabled: sign-in would be refused", u.UserName))
	}
	if !app.Enabled {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s is disabled: nobody can sign in to it", app.DisplayName))
	}
	if u.PrimaryEmail() == "" && usesEmail(app) {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s has no email address, which this application's mappings use", u.UserName))
	}
	if app.NameIDFormat == NameIDTransient {
		p.Warnings = append(p.Warnings, "the Name ID is transient: a new random value at every sign-in (shown: an example)")
	}
	p.Warnings = append(p.Warnings, r.warnings...)
	return p, nil
}

// usesEmail reports whether the Name ID or an attribute needs an email address.
func usesEmail(app Application) bool {
	uses := func(expr string) bool {
		e, err := ParseExpr(expr)
		return err == nil && (e.Uses("${user:email}") || strings.Contains(e.String(), "${path:emails"))
	}
	if app.NameIDFormat == NameIDEmail || (!pairwise(app) && app.NameIDFormat != NameIDTransient && uses(app.NameID)) {
		return true
	}
	for _, at := range app.Attributes {
		if uses(at.Value) {
			return true
		}
	}
	return false
}
