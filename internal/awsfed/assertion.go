package awsfed

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/saml"
	"github.com/idcenter/idcenter/internal/web"
)

// DefaultRoleSessionName is the RoleSessionName expression used when the
// AWS application does not map RoleSessionName.
const DefaultRoleSessionName = "${user:email}"

// roleSessionNameRE is what AWS accepts as RoleSessionName and SourceIdentity.
var roleSessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// Assertion is a signed SAML Response for one AWS role.
type Assertion struct {
	App  apps.Application
	Role cloud.Role // as held now
	User directory.User
	// Response is the signed samlp:Response XML.
	Response []byte
	// Destination is the account's sign-in URL (Destination, Recipient).
	Destination string
	// RelayState is the permission set's relay state.
	RelayState string
	// SessionDuration is the SessionDuration attribute: the permission
	// set's session duration, also the DurationSeconds asked of STS.
	SessionDuration time.Duration
}

// Encoded is the Response in base64, as SAMLResponse and SAMLAssertion carry it.
func (a Assertion) Encoded() string { return base64.StdEncoding.EncodeToString(a.Response) }

// Assertion builds the signed SAML Response for userID and one role the
// user holds (checked against the roles they hold now):
//
//   - addressed to the account's sign-in URL (Destination and Recipient),
//     Audience the application's entity ID (urn:amazon:webservices),
//     Issuer the application's IdP entity ID, as in its metadata;
//   - Name ID and attributes from the application's mappings, among them
//     PrincipalTag:<key> and SourceIdentity ("attributes for access
//     control"), with RoleSessionName (default ${user:email}) checked
//     against [\w+=,.@-]{2,64};
//   - Role = "role ARN,provider ARN" of this role only, SessionDuration =
//     the permission set's session duration in seconds, and
//     SessionNotOnOrAfter = now + that duration;
//   - signed with the application's active key in its signing mode (and
//     encrypted when the application encrypts assertions).
//
// The session (SessionIndex, AuthnInstant, MFA) is the browser session in
// ctx (web.AuthFrom) when there is one.
func (s *Service) Assertion(ctx context.Context, userID string, role cloud.Role) (Assertion, error) {
	held, err := s.heldRole(ctx, userID, role)
	if err != nil {
		return Assertion{}, err
	}
	app, err := s.AWSApplication(ctx, held.Account)
	if err != nil {
		return Assertion{}, err
	}
	// A disabled application signs nobody in (docs/applications.md), here
	// as at its SSO endpoint: disabling the AWS application is how an admin
	// stops every console sign-in and access key it would sign.
	if !app.Enabled {
		return Assertion{}, fmt.Errorf("%w: the application %s, which signs the assertions of AWS account %s, is disabled",
			errs.ErrForbidden, app.DisplayName, held.Account.ID)
	}
	u, err := s.Users.GetUser(ctx, userID)
	if err != nil {
		return Assertion{}, err
	}
	groups, err := s.Users.GroupsOfUser(ctx, u.ID)
	if err != nil {
		return Assertion{}, err
	}
	claims, err := s.Apps.Resolve(app, u, groups)
	if err != nil {
		return Assertion{}, err
	}
	dur := sessionDuration(held.PermissionSet)
	attrs, err := awsAttributes(app, u, groups, claims, held, dur)
	if err != nil {
		return Assertion{}, err
	}
	dest := held.Account.SignInURL
	if dest == "" {
		dest = cloud.DefaultSignInURL
	}
	now := s.now()
	p := saml.AssertionParams{
		Issuer:               saml.IdPURLsFor(s.BaseURL, app.ID).EntityID,
		Audience:             app.EntityID,
		Destination:          dest,
		NameID:               claims.NameID,
		NameIDFormat:         claims.NameIDFormat,
		AuthnInstant:         now,
		AuthnContextClassRef: saml.AuthnContextPassword,
		SessionNotOnOrAfter:  now.Add(dur),
		Attributes:           attrs,
		Now:                  func() time.Time { return now },
		Rand:                 s.Rand,
	}
	if a := web.AuthFrom(ctx); a.Session != nil && a.User != nil && a.User.ID == u.ID {
		p.SessionIndex, p.AuthnInstant = a.Session.ID, a.Session.Created
		if a.Session.MFA {
			p.AuthnContextClassRef = saml.AuthnContextMFA
		}
	} else if p.SessionIndex, err = saml.NewID(s.Rand); err != nil {
		return Assertion{}, err
	}
	if claims.NameIDFormat == saml.NameIDFormatPersistent {
		p.SPNameQualifier = app.EntityID
	}
	signer, err := s.signer(ctx, app)
	if err != nil {
		return Assertion{}, err
	}
	opts := saml.SignOptions{SignResponse: app.SigningMode != apps.SignAssertion, SignAssertion: app.SigningMode != apps.SignResponse}
	if app.EncryptAssertions && app.EncryptionCertificate != "" {
		c, err := saml.DecodeCertificatePEM([]byte(app.EncryptionCertificate))
		if err != nil {
			return Assertion{}, fmt.Errorf("application %s encryption certificate: %w", app.ID, err)
		}
		opts.EncryptTo = c
	}
	xml, err := saml.BuildResponse(p, signer, opts)
	if err != nil {
		return Assertion{}, err
	}
	return Assertion{App: app, Role: held, User: u, Response: xml, Destination: dest,
		RelayState: held.PermissionSet.RelayState, SessionDuration: dur}, nil
}

func (s *Service) signer(ctx context.Context, app apps.Application) (*saml.Signer, error) {
	key, cert, err := s.Apps.SigningKey(ctx, app.ID)
	if err != nil {
		return nil, err
	}
	x, err := saml.DecodeCertificatePEM([]byte(cert.PEM))
	if err != nil {
		return nil, err
	}
	return saml.NewSigner(key, x)
}

// awsAttributes turns the application's resolved mappings into the
// attributes of an assertion for one role: the mappings as they are
// (PrincipalTag:<key>, SourceIdentity and anything else), RoleSessionName
// checked (or the default), and Role and SessionDuration for this role,
// replacing any mapping of those names.
func awsAttributes(app apps.Application, u directory.User, groups []directory.Group, c apps.Claims, role cloud.Role, dur time.Duration) ([]saml.Attribute, error) {
	uri := apps.NameFormatURN(apps.NameFormatURI)
	var out []saml.Attribute
	var sessionName []string
	mapped := false
	for _, at := range c.Attributes {
		switch at.Name {
		case apps.AWSRoleAttribute, apps.AWSSessionDurationAttribute:
			continue
		case apps.AWSRoleSessionNameAttribute:
			sessionName = at.Values
			continue
		case apps.AWSSourceIdentityAttribute:
			if len(at.Values) != 1 || !roleSessionNameRE.MatchString(at.Values[0]) {
				return nil, fmt.Errorf("%w: SourceIdentity %q is not 2 to 64 of letters, digits and +=,.@_- (attribute mapping of %s)",
					cloud.ErrRoleSessionName, strings.Join(at.Values, ","), app.DisplayName)
			}
		}
		out = append(out, saml.Attribute{Name: at.Name, NameFormat: at.NameFormat, Values: at.Values})
	}
	expr := DefaultRoleSessionName
	if i := slices.IndexFunc(app.Attributes, func(a apps.Attribute) bool { return a.Name == apps.AWSRoleSessionNameAttribute }); i >= 0 {
		mapped, expr = true, app.Attributes[i].Value
	}
	if !mapped {
		e, err := apps.ParseExpr(expr)
		if err != nil {
			return nil, err
		}
		sessionName = e.Eval(u, groups)
	}
	if len(sessionName) != 1 || !roleSessionNameRE.MatchString(sessionName[0]) {
		return nil, fmt.Errorf("%w: %s gives %s the RoleSessionName %q; AWS needs 2 to 64 of letters, digits and +=,.@_- (attribute mapping of %s)",
			cloud.ErrRoleSessionName, expr, u.UserName, strings.Join(sessionName, ","), app.DisplayName)
	}
	out = append(out,
		saml.Attribute{Name: apps.AWSRoleSessionNameAttribute, NameFormat: uri, Values: sessionName},
		saml.Attribute{Name: apps.AWSRoleAttribute, NameFormat: uri, Values: []string{role.AttributeValue()}},
		saml.Attribute{Name: apps.AWSSessionDurationAttribute, NameFormat: uri, Values: []string{strconv.Itoa(int(dur / time.Second))}},
	)
	return out, nil
}

// ConsoleSignIn implements cloud.Federation: the SAML POST that signs the
// user in to the AWS console as role, landing at the permission set's
// relay state.
func (s *Service) ConsoleSignIn(ctx context.Context, userID string, role cloud.Role) (cloud.ConsoleSignIn, error) {
	a, err := s.Assertion(ctx, userID, role)
	if err != nil {
		return cloud.ConsoleSignIn{}, err
	}
	s.audit(ctx, a.User, "aws.console", a.Role.Account, roleSummary(a))
	return cloud.ConsoleSignIn{URL: a.Destination, SAMLResponse: a.Encoded(), RelayState: a.RelayState}, nil
}

func roleSummary(a Assertion) map[string]any {
	return map[string]any{"permissionSet": a.Role.PermissionSet.Name, "role": a.Role.RoleARN, "app": a.App.ID,
		"destination": a.Destination}
}
