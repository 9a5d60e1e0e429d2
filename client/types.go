package client

import "time"

// Name is a user's structured name (SCIM "name").
type Name struct {
	Formatted       string `json:"formatted,omitempty"`
	FamilyName      string `json:"familyName,omitempty"`
	GivenName       string `json:"givenName,omitempty"`
	MiddleName      string `json:"middleName,omitempty"`
	HonorificPrefix string `json:"honorificPrefix,omitempty"`
	HonorificSuffix string `json:"honorificSuffix,omitempty"`
}

// MultiValue is one value of a multi-valued user attribute (emails,
// phoneNumbers, ims, photos, entitlements, roles, x509Certificates).
type MultiValue struct {
	Value   string `json:"value"`
	Display string `json:"display,omitempty"`
	Type    string `json:"type,omitempty"`
	Primary bool   `json:"primary,omitempty"`
}

// Address is a postal address.
type Address struct {
	Formatted     string `json:"formatted,omitempty"`
	StreetAddress string `json:"streetAddress,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postalCode,omitempty"`
	Country       string `json:"country,omitempty"`
	Type          string `json:"type,omitempty"`
	Primary       bool   `json:"primary,omitempty"`
}

// Enterprise holds the SCIM enterprise user extension attributes.
type Enterprise struct {
	EmployeeNumber string `json:"employeeNumber,omitempty"`
	CostCenter     string `json:"costCenter,omitempty"`
	Organization   string `json:"organization,omitempty"`
	Division       string `json:"division,omitempty"`
	Department     string `json:"department,omitempty"`
	// ManagerID is the manager's user id. ManagerName is filled in by the
	// server and ignored when sent.
	ManagerID   string `json:"managerId,omitempty"`
	ManagerName string `json:"managerName,omitempty"`
}

// Roles a user or token can hold. A user without a role is an ordinary user.
// RoleSCIM is held by SCIM provisioning tokens only: they authenticate on
// the SCIM server (/scim/v2), never on the admin API.
const (
	RoleAdmin   = "admin"
	RoleAuditor = "auditor"
	RoleSCIM    = "scim"
)

// Values of User.ManagedBy and Group.ManagedBy: who owns the object.
const (
	ManagedByHand  = ""      // created through the console, the API or the CLI
	ManagedByApply = "apply" // created by idcenter apply
	// ManagedBySCIM objects were created by an identity provider through
	// SCIM: its next sync overwrites hand edits, and apply --prune keeps them.
	ManagedBySCIM = "scim"
)

// User is a person in the directory. ID, ManagedBy, Created, LastModified and
// Version are set by the server.
type User struct {
	ID                string       `json:"id"`
	UserName          string       `json:"userName"`
	Name              Name         `json:"name"`
	DisplayName       string       `json:"displayName,omitempty"`
	NickName          string       `json:"nickName,omitempty"`
	ProfileURL        string       `json:"profileUrl,omitempty"`
	Title             string       `json:"title,omitempty"`
	UserType          string       `json:"userType,omitempty"`
	PreferredLanguage string       `json:"preferredLanguage,omitempty"`
	Locale            string       `json:"locale,omitempty"`
	Timezone          string       `json:"timezone,omitempty"`
	Active            bool         `json:"active"`
	Emails            []MultiValue `json:"emails,omitempty"`
	PhoneNumbers      []MultiValue `json:"phoneNumbers,omitempty"`
	Addresses         []Address    `json:"addresses,omitempty"`
	IMs               []MultiValue `json:"ims,omitempty"`
	Photos            []MultiValue `json:"photos,omitempty"`
	Entitlements      []MultiValue `json:"entitlements,omitempty"`
	Roles             []MultiValue `json:"roles,omitempty"`
	X509Certificates  []MultiValue `json:"x509Certificates,omitempty"`
	Enterprise        Enterprise   `json:"enterprise"`
	ExternalID        string       `json:"externalId,omitempty"`
	Role              string       `json:"role,omitempty"` // RoleAdmin, RoleAuditor or empty
	ManagedBy         string       `json:"managedBy,omitempty"`
	Created           time.Time    `json:"created"`
	LastModified      time.Time    `json:"lastModified"`
	Version           int64        `json:"version"`
}

// PrimaryEmail returns the primary email address, or the first one, or "".
func (u *User) PrimaryEmail() string {
	for _, e := range u.Emails {
		if e.Primary {
			return e.Value
		}
	}
	if len(u.Emails) > 0 {
		return u.Emails[0].Value
	}
	return ""
}

// Group is a named set of users. ID, ManagedBy, MemberCount, Created,
// LastModified and Version are set by the server.
type Group struct {
	ID           string    `json:"id"`
	DisplayName  string    `json:"displayName"`
	Description  string    `json:"description,omitempty"`
	ExternalID   string    `json:"externalId,omitempty"`
	ManagedBy    string    `json:"managedBy,omitempty"`
	MemberCount  int       `json:"memberCount"`
	Created      time.Time `json:"created"`
	LastModified time.Time `json:"lastModified"`
	Version      int64     `json:"version"`
}

// Member is a group member as listed.
type Member struct {
	UserID      string `json:"userId"`
	UserName    string `json:"userName"`
	DisplayName string `json:"displayName,omitempty"`
}

// Token is an API token's public record. The secret is never returned after
// creation.
type Token struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"` // RoleAdmin, RoleAuditor or RoleSCIM
	Hint       string     `json:"hint"` // first characters of the secret
	CreatedAt  time.Time  `json:"createdAt"`
	CreatedBy  string     `json:"createdBy,omitempty"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
}

// Status returns "revoked", "expired" or "active" as of now.
func (t *Token) Status(now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return "revoked"
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return "expired"
	default:
		return "active"
	}
}

// CreatedToken is a newly created token with its secret, which the server
// shows only this once.
type CreatedToken struct {
	Token
	Secret string `json:"token"`
}

// TokenRequest describes a token to create.
type TokenRequest struct {
	Name      string     `json:"name"`
	Role      string     `json:"role"` // RoleAdmin or RoleAuditor
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// Identity is the caller as the server sees it (GET /whoami).
type Identity struct {
	Type string `json:"type"` // "token" or "user"
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// Actor is who performed an audited action.
type Actor struct {
	Type string `json:"type"` // user, token, system
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// AuditEvent is one audit record.
type AuditEvent struct {
	ID         string         `json:"id"`
	Time       time.Time      `json:"time"`
	Actor      Actor          `json:"actor"`
	Action     string         `json:"action"` // e.g. user.create, group.member.add
	TargetType string         `json:"targetType,omitempty"`
	TargetID   string         `json:"targetId,omitempty"`
	TargetName string         `json:"targetName,omitempty"`
	Summary    map[string]any `json:"summary,omitempty"`
	RequestID  string         `json:"requestId,omitempty"`
	ClientIP   string         `json:"clientIp,omitempty"`
}

// Page is one page of a list: its items and the cursor of the next page,
// empty on the last page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// Plan is the result of a declarative apply: the changes it made (or, in a
// dry run, would make).
type Plan struct {
	Changes []Change `json:"changes"`
	Applied bool     `json:"applied"`
	Text    string   `json:"text"` // human-readable rendering of Changes
}

// Change ops and kinds.
const (
	OpCreate = "create"
	OpUpdate = "update"
	OpDelete = "delete"

	KindUser  = "user"
	KindGroup = "group"
)

// Change is one object created, updated or deleted by an apply.
type Change struct {
	Op             string                 `json:"op"`   // OpCreate, OpUpdate, OpDelete
	Kind           string                 `json:"kind"` // KindUser, KindGroup
	Name           string                 `json:"name"`
	Fields         map[string]FieldChange `json:"fields,omitempty"`
	MembersAdded   []string               `json:"membersAdded,omitempty"`
	MembersRemoved []string               `json:"membersRemoved,omitempty"`
}

// FieldChange is the old and new value of one field, as text (booleans are
// "true" or "false"; From is empty on create).
type FieldChange struct {
	From string `json:"from"`
	To   string `json:"to"`
}
