// Package directory owns the people and groups idcenter knows: users with
// their SCIM-shaped attributes, groups, and group membership. Its Service is
// the only way surfaces change them: it checks the actor's role, validates and
// normalises input, and writes the change and its audit event in one store
// transaction.
package directory

import "time"

// Name is a user's structured name (SCIM "name").
type Name struct {
	Formatted       string `json:"formatted,omitempty" yaml:"formatted,omitempty"`
	FamilyName      string `json:"familyName,omitempty" yaml:"familyName,omitempty"`
	GivenName       string `json:"givenName,omitempty" yaml:"givenName,omitempty"`
	MiddleName      string `json:"middleName,omitempty" yaml:"middleName,omitempty"`
	HonorificPrefix string `json:"honorificPrefix,omitempty" yaml:"honorificPrefix,omitempty"`
	HonorificSuffix string `json:"honorificSuffix,omitempty" yaml:"honorificSuffix,omitempty"`
}

// MultiValue is one value of a SCIM multi-valued attribute (emails,
// phoneNumbers, ims, photos, entitlements, roles, x509Certificates).
type MultiValue struct {
	Value   string `json:"value" yaml:"value"`
	Display string `json:"display,omitempty" yaml:"display,omitempty"`
	Type    string `json:"type,omitempty" yaml:"type,omitempty"`
	Primary bool   `json:"primary,omitempty" yaml:"primary,omitempty"`
}

// Address is a SCIM postal address.
type Address struct {
	Formatted     string `json:"formatted,omitempty" yaml:"formatted,omitempty"`
	StreetAddress string `json:"streetAddress,omitempty" yaml:"streetAddress,omitempty"`
	Locality      string `json:"locality,omitempty" yaml:"locality,omitempty"`
	Region        string `json:"region,omitempty" yaml:"region,omitempty"`
	PostalCode    string `json:"postalCode,omitempty" yaml:"postalCode,omitempty"`
	Country       string `json:"country,omitempty" yaml:"country,omitempty"`
	Type          string `json:"type,omitempty" yaml:"type,omitempty"`
	Primary       bool   `json:"primary,omitempty" yaml:"primary,omitempty"`
}

// Enterprise holds the SCIM enterprise user extension attributes.
type Enterprise struct {
	EmployeeNumber string `json:"employeeNumber,omitempty" yaml:"employeeNumber,omitempty"`
	CostCenter     string `json:"costCenter,omitempty" yaml:"costCenter,omitempty"`
	Organization   string `json:"organization,omitempty" yaml:"organization,omitempty"`
	Division       string `json:"division,omitempty" yaml:"division,omitempty"`
	Department     string `json:"department,omitempty" yaml:"department,omitempty"`
	// ManagerID is the manager's user id; ManagerName is their display name
	// (read-only, filled from the directory when the manager exists).
	ManagerID   string `json:"managerId,omitempty" yaml:"managerId,omitempty"`
	ManagerName string `json:"managerName,omitempty" yaml:"-"`
}

// Roles a user or token can hold. The empty role is an ordinary user.
const (
	RoleNone    = ""
	RoleAdmin   = "admin"
	RoleAuditor = "auditor"
)

// Managed-by values: who owns an object. Declarative apply only touches
// objects it manages (unless pruning); it never deletes SCIM-managed ones.
const (
	ManagedByHand  = ""
	ManagedByApply = "apply"
	// ManagedBySCIM marks users and groups created through /scim/v2: the
	// identity provider's next sync overwrites hand edits.
	ManagedBySCIM = "scim"
)

// User is a person in the directory. It never carries credentials.
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
	Role              string       `json:"role,omitempty"` // admin, auditor or empty
	ManagedBy         string       `json:"managedBy,omitempty"`
	Created           time.Time    `json:"created"`
	LastModified      time.Time    `json:"lastModified"`
	Version           int64        `json:"version"`
}

// PrimaryEmail returns the primary email, or the first one.
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

// Group is a named set of users.
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
	Role        string `json:"-"` // the member's role, for hiding privileged members from SCIM
}

// UserFilter selects users. Zero fields match everything.
type UserFilter struct {
	UserName string // exact, case-insensitive
	Prefix   string // userName prefix, case-insensitive
	Email    string // exact primary email, case-insensitive
	GroupID  string // members of this group
	Active   *bool
	Cursor   string
	Limit    int
}

// GroupFilter selects groups.
type GroupFilter struct {
	DisplayName string // exact, case-insensitive
	Prefix      string
	MemberID    string // groups this user belongs to
	Cursor      string
	Limit       int
}
