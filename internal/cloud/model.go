// Package cloud owns account access, the second half of AWS IAM Identity
// Center: AWS accounts, permission sets, and assignments of users and groups
// to (account, permission set) pairs. A user's roles are computed from the
// assignments and their current group memberships at every request, so
// leaving a group removes the access at once.
package cloud

import "time"

// Defaults.
const (
	DefaultSAMLProvider    = "idcenter"
	DefaultSignInURL       = "https://signin.aws.amazon.com/saml"
	DefaultSessionDuration = "PT1H"
	DefaultRolePrefix      = "idcenter-"
	MaxInlinePolicyBytes   = 10240
)

// Account is an AWS account that trusts idcenter as a SAML identity provider.
type Account struct {
	ID          string `json:"id"` // the 12-digit AWS account id
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// SAMLProvider is the name of the IAM SAML provider in the account.
	SAMLProvider  string `json:"samlProvider"`
	DefaultRegion string `json:"defaultRegion,omitempty"`
	// STSRegion selects the regional STS endpoint
	// (https://sts.<region>.amazonaws.com); STSEndpoint overrides it.
	STSRegion   string `json:"stsRegion,omitempty"`
	STSEndpoint string `json:"stsEndpoint,omitempty"`
	// SignInURL is the AWS sign-in endpoint assertions are addressed to
	// (the global one, or a regional https://<region>.signin.aws.amazon.com/saml).
	SignInURL string `json:"signInUrl"`
	// AppID is the SAML application whose signing key signs this account's
	// assertions (its metadata is what the IAM SAML provider holds). Empty:
	// the instance's AWS application.
	AppID        string    `json:"appId,omitempty"`
	ManagedBy    string    `json:"managedBy,omitempty"`
	Created      time.Time `json:"created"`
	LastModified time.Time `json:"lastModified"`
	Version      int64     `json:"version"`
}

// PolicyRef names a customer managed policy (created in each account).
type PolicyRef struct {
	Name string `json:"name" yaml:"name"`
	Path string `json:"path,omitempty" yaml:"path,omitempty"` // default "/"
}

// Boundary is a permissions boundary: an AWS managed policy ARN or a
// customer managed policy reference.
type Boundary struct {
	ManagedPolicyARN string     `json:"managedPolicyArn,omitempty" yaml:"managed_policy_arn,omitempty"`
	CustomerPolicy   *PolicyRef `json:"customerPolicy,omitempty" yaml:"customer_policy,omitempty"`
}

// Tag is a key/value tag on the role.
type Tag struct {
	Key   string `json:"key" yaml:"key"`
	Value string `json:"value" yaml:"value"`
}

// PermissionSet is a role template: the same role is created in every
// account it is assigned in.
type PermissionSet struct {
	ID          string `json:"id"`
	Name        string `json:"name"` // 1–32 of [\w+=,.@-]
	Description string `json:"description,omitempty"`
	// SessionDuration is ISO 8601 (PT1H), 1 to 12 hours.
	SessionDuration  string      `json:"sessionDuration"`
	RelayState       string      `json:"relayState,omitempty"` // console URL to land on
	ManagedPolicies  []string    `json:"managedPolicies,omitempty"`
	CustomerPolicies []PolicyRef `json:"customerPolicies,omitempty"`
	InlinePolicy     string      `json:"inlinePolicy,omitempty"` // JSON policy document
	Boundary         *Boundary   `json:"permissionsBoundary,omitempty"`
	Tags             []Tag       `json:"tags,omitempty"`
	// RoleName overrides the derived role name (idcenter-<Name>).
	RoleName     string    `json:"roleName,omitempty"`
	ManagedBy    string    `json:"managedBy,omitempty"`
	Created      time.Time `json:"created"`
	LastModified time.Time `json:"lastModified"`
	Version      int64     `json:"version"`
}

// Role returns the IAM role name the permission set becomes in each account.
func (p PermissionSet) Role() string {
	if p.RoleName != "" {
		return p.RoleName
	}
	return DefaultRolePrefix + p.Name
}

// Principal types of an assignment.
const (
	PrincipalUser  = "user"
	PrincipalGroup = "group"
)

// Assignment gives a user or group a permission set in an account.
type Assignment struct {
	AccountID       string    `json:"accountId"`
	PermissionSetID string    `json:"permissionSetId"`
	PrincipalType   string    `json:"principalType"`
	PrincipalID     string    `json:"principalId"`
	PrincipalName   string    `json:"principalName,omitempty"` // read-only
	PermissionSet   string    `json:"permissionSet,omitempty"` // name, read-only
	Created         time.Time `json:"created"`
}

// Role is one (account, permission set) a user holds.
type Role struct {
	Account       Account       `json:"account"`
	PermissionSet PermissionSet `json:"permissionSet"`
	RoleName      string        `json:"roleName"`
	RoleARN       string        `json:"roleArn"`
	ProviderARN   string        `json:"providerArn"`
}

// RoleFor builds the role of a permission set in an account.
func RoleFor(a Account, p PermissionSet) Role {
	name := p.Role()
	return Role{
		Account: a, PermissionSet: p, RoleName: name,
		RoleARN:     "arn:aws:iam::" + a.ID + ":role/" + name,
		ProviderARN: "arn:aws:iam::" + a.ID + ":saml-provider/" + a.SAMLProvider,
	}
}

// AttributeValue is the value of https://aws.amazon.com/SAML/Attributes/Role
// for this role: "role ARN,provider ARN".
func (r Role) AttributeValue() string { return r.RoleARN + "," + r.ProviderARN }

// STSURL is the STS endpoint for the account.
func (a Account) STSURL() string {
	switch {
	case a.STSEndpoint != "":
		return a.STSEndpoint
	case a.STSRegion != "":
		return "https://sts." + a.STSRegion + ".amazonaws.com/"
	}
	return "https://sts.amazonaws.com/"
}
