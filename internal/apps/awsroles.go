package apps

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
)

// TemplateAWSAccount is the catalog entry of the "External AWS Account"
// application: its assertions carry the AWS roles of the accounts linked
// to it.
const TemplateAWSAccount = "aws-account"

// AWS SAML attributes (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml_assertions.html).
const (
	AWSAttributePrefix          = "https://aws.amazon.com/SAML/Attributes/"
	AWSRoleAttribute            = AWSAttributePrefix + "Role"
	AWSRoleSessionNameAttribute = AWSAttributePrefix + "RoleSessionName"
	AWSSessionDurationAttribute = AWSAttributePrefix + "SessionDuration"
	AWSSourceIdentityAttribute  = AWSAttributePrefix + "SourceIdentity"
	// AWSPrincipalTagPrefix starts the name of a session tag attribute
	// (PrincipalTag:<key>): "attributes for access control".
	AWSPrincipalTagPrefix = AWSAttributePrefix + "PrincipalTag:"
)

// AWSRole is one AWS IAM role a user holds, as an assertion carries it.
type AWSRole struct {
	// Value is the Role attribute value: "role ARN,provider ARN".
	Value     string
	AccountID string
	// SessionDuration is the permission set's session duration.
	SessionDuration time.Duration
}

// RoleSource lists the AWS roles that app's assertions carry for a user:
// for an aws-account application, the roles the user holds in the accounts
// linked to it; for an application with IncludeAWSRoles, the roles in
// AWSRoleAccounts (every account when empty). It is implemented outside
// this package (internal/awsfed, from the cloud service), so that apps
// does not depend on cloud accounts.
type RoleSource interface {
	AWSRolesFor(ctx context.Context, app Application, userID string) ([]AWSRole, error)
}

// UsesAWSRoles reports whether app's assertions carry the AWS Role
// attribute: aws-account applications and those with IncludeAWSRoles.
func UsesAWSRoles(app Application) bool {
	return app.Template == TemplateAWSAccount || app.IncludeAWSRoles
}

// addAWSRoles adds the AWS roles of u to c when app uses them: the Role
// attribute (merged with a literal mapping of the same name, if any), and
// for aws-account applications SessionDuration, the shortest session
// duration of the roles (so no role is held longer than its permission set
// allows), unless the application maps SessionDuration itself; the
// assertion's SessionNotOnOrAfter follows it (Claims.SessionDuration). An
// aws-account application without any role refuses the sign-in, since AWS
// would; preview turns that into a warning, which it returns.
func (s *Service) addAWSRoles(ctx context.Context, app Application, u directory.User, c *Claims, preview bool) ([]string, error) {
	if !UsesAWSRoles(app) || s.Roles == nil {
		return nil, nil
	}
	roles, err := s.Roles.AWSRolesFor(ctx, app, u.ID)
	if err != nil {
		return nil, err
	}
	var values []string
	var shortest time.Duration
	for _, r := range roles {
		values = append(values, r.Value)
		if r.SessionDuration > 0 && (shortest == 0 || r.SessionDuration < shortest) {
			shortest = r.SessionDuration
		}
	}
	i := slices.IndexFunc(c.Attributes, func(a ClaimAttribute) bool { return a.Name == AWSRoleAttribute })
	if i >= 0 {
		for _, v := range values {
			if !slices.Contains(c.Attributes[i].Values, v) {
				c.Attributes[i].Values = append(c.Attributes[i].Values, v)
			}
		}
	} else if len(values) > 0 {
		c.Attributes = append(c.Attributes, ClaimAttribute{Name: AWSRoleAttribute, NameFormat: NameFormatURN(NameFormatURI), Values: values})
	}
	if app.Template == TemplateAWSAccount && shortest > 0 &&
		!slices.ContainsFunc(c.Attributes, func(a ClaimAttribute) bool { return a.Name == AWSSessionDurationAttribute }) {
		c.Attributes = append(c.Attributes, ClaimAttribute{Name: AWSSessionDurationAttribute, NameFormat: NameFormatURN(NameFormatURI),
			Values: []string{strconv.Itoa(int(shortest / time.Second))}})
		c.SessionDuration = shortest
	}
	if i >= 0 || len(values) > 0 {
		return nil, nil
	}
	var msg string
	if app.Template == TemplateAWSAccount {
		msg = fmt.Sprintf("%s holds no AWS role in the accounts linked to %s: assign them a permission set in such an account", u.UserName, app.DisplayName)
		if !preview {
			return nil, errs.Invalidf("roles", "%s", msg)
		}
	} else {
		msg = fmt.Sprintf("%s holds no AWS role in the selected accounts: the Role attribute would be left out of the assertion", u.UserName)
	}
	return []string{msg}, nil
}

var awsAccountIDRE = regexp.MustCompile(`^\d{12}$`)

// normalizeAWSRoles checks the "include AWS roles" option.
func normalizeAWSRoles(v *errs.Invalid, a *Application) {
	var ids []string
	for i, id := range a.AWSRoleAccounts {
		id = strings.TrimSpace(id)
		if !awsAccountIDRE.MatchString(id) {
			v.Add(fmt.Sprintf("awsRoleAccounts[%d]", i), "must be a 12-digit AWS account id")
			continue
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(a.AWSRoleAccounts) > 0 && !a.IncludeAWSRoles {
		v.Add("awsRoleAccounts", "selects the accounts of includeAwsRoles, which is off")
	}
	slices.Sort(ids)
	a.AWSRoleAccounts = ids
}
