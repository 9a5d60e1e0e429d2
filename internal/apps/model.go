// Package apps owns the applications idcenter signs users in to as a SAML 2.0
// identity provider: each application's service-provider settings (entity
// ID, ACS and SLO endpoints, SP certificates, signing and encryption options),
// its Name ID and attribute mappings written in AWS IAM Identity Center's
// expression syntax, its own signing certificates and their rotation, the
// users and groups assigned to it, and the catalog of templates an
// application can start from. Its Service is the only way surfaces change
// applications: it checks the actor's role, validates and normalises input,
// and writes the change and its audit event in one store transaction. It
// knows no XML; the SAML endpoints build assertions from what it resolves.
package apps

import (
	"time"
)

// SAML binding URNs.
const (
	BindingPOST     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
	BindingRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
)

// Name ID formats, by their short names.
const (
	NameIDEmail       = "emailAddress"
	NameIDPersistent  = "persistent"
	NameIDTransient   = "transient"
	NameIDUnspecified = "unspecified"
)

// nameIDFormatURNs maps the short Name ID format names to their URNs.
var nameIDFormatURNs = map[string]string{
	NameIDEmail:       "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
	NameIDPersistent:  "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
	NameIDTransient:   "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
	NameIDUnspecified: "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
}

// NameIDFormatURN returns the URN of a short Name ID format name ("" when unknown).
func NameIDFormatURN(short string) string { return nameIDFormatURNs[short] }

// Attribute name formats, by their short names.
const (
	NameFormatBasic       = "basic"
	NameFormatURI         = "uri"
	NameFormatUnspecified = "unspecified"
)

var nameFormatURNs = map[string]string{
	NameFormatBasic:       "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
	NameFormatURI:         "urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
	NameFormatUnspecified: "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified",
}

// NameFormatURN returns the URN of a short attribute name format ("" when unknown).
func NameFormatURN(short string) string { return nameFormatURNs[short] }

// Signing modes: what the IdP signs in a response.
const (
	SignResponse  = "response"
	SignAssertion = "assertion"
	SignBoth      = "both"
)

// Session duration bounds and default.
const (
	MinSessionDuration     = 15 * time.Minute
	MaxSessionDuration     = 12 * time.Hour
	DefaultSessionDuration = time.Hour
)

// ACS is one assertion consumer service endpoint of the service provider.
type ACS struct {
	URL     string `json:"url"`
	Binding string `json:"binding"` // a binding URN; only HTTP-POST carries responses
	Index   int    `json:"index"`
	Default bool   `json:"isDefault,omitempty"`
}

// Attribute maps one SAML attribute to a value expression.
type Attribute struct {
	Name       string `json:"name"`
	Value      string `json:"value"`      // expression, e.g. ${user:email}
	NameFormat string `json:"nameFormat"` // basic, uri or unspecified
}

// Application is a SAML 2.0 service provider users sign in to through
// idcenter. It never carries private keys.
type Application struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Description string `json:"description,omitempty"`
	// EntityID is the SP's entity ID: the "application SAML audience".
	EntityID string `json:"entityId"`
	ACS      []ACS  `json:"acs"`
	// SLOURL and SLOBinding are the SP's single logout endpoint, if any.
	SLOURL     string `json:"sloUrl,omitempty"`
	SLOBinding string `json:"sloBinding,omitempty"`
	// StartURL, when set, is where the portal sends users (SP-initiated).
	StartURL          string `json:"startUrl,omitempty"`
	DefaultRelayState string `json:"defaultRelayState,omitempty"`
	// SessionDuration is an ISO 8601 duration (PT1H), stored normalised;
	// input may also be a Go duration (1h30m).
	SessionDuration string `json:"sessionDuration"`
	// SigningCertificates are the SP's request-signing certificates (PEM).
	SigningCertificates   []string `json:"signingCertificates,omitempty"`
	RequireSignedRequests bool     `json:"requireSignedRequests"`
	// EncryptionCertificate is the SP's encryption certificate (PEM).
	EncryptionCertificate string      `json:"encryptionCertificate,omitempty"`
	EncryptAssertions     bool        `json:"encryptAssertions"`
	SigningMode           string      `json:"signingMode"`  // response, assertion or both
	NameIDFormat          string      `json:"nameIdFormat"` // emailAddress, persistent, transient, unspecified
	NameID                string      `json:"nameId"`       // expression
	Attributes            []Attribute `json:"attributes,omitempty"`
	Template              string      `json:"template"` // catalog entry it came from
	Enabled               bool        `json:"enabled"`
	ManagedBy             string      `json:"managedBy,omitempty"`

	// IncludeAWSRoles adds the AWS Role attribute
	// (https://aws.amazon.com/SAML/Attributes/Role) to this application's
	// assertions: one "role ARN,provider ARN" value per AWS role the user
	// holds (cloud accounts and permission sets), for role-aware
	// applications. AWSRoleAccounts limits it to those 12-digit account
	// ids; empty means every account. Applications from the aws-account
	// template carry the roles of the accounts linked to them without it.
	IncludeAWSRoles bool     `json:"includeAwsRoles,omitempty"`
	AWSRoleAccounts []string `json:"awsRoleAccounts,omitempty"`

	// SPMetadataURL is the https URL the SP's metadata was fetched from.
	// The server fetches it again periodically (Service.RefreshMetadata)
	// and applies changed ACS URLs, SLO URL and SP certificates. Empty: the
	// application is not refreshed.
	SPMetadataURL string `json:"spMetadataUrl,omitempty"`
	// SPMetadataSigningCertificate (PEM), when set, must have signed the
	// metadata fetched from SPMetadataURL with an enveloped XML signature;
	// metadata without a valid signature by it is refused. Empty: the TLS
	// connection to SPMetadataURL is the trust.
	SPMetadataSigningCertificate string `json:"spMetadataSigningCertificate,omitempty"`
	// MetadataRefresh is the outcome of the last refresh from
	// SPMetadataURL. Read-only: updates ignore it.
	MetadataRefresh *MetadataRefresh `json:"metadataRefresh,omitempty"`
	Created         time.Time        `json:"created"`
	LastModified    time.Time        `json:"lastModified"`
	Version         int64            `json:"version"`
}

// MetadataRefresh is the state of an application's periodic SP metadata
// refresh.
type MetadataRefresh struct {
	// CheckedAt is when a refresh was last attempted (or the metadata first
	// fetched); the next one is due an interval later.
	CheckedAt *time.Time `json:"checkedAt,omitempty"`
	// RefreshedAt is when the metadata was last fetched and accepted.
	RefreshedAt *time.Time `json:"refreshedAt,omitempty"`
	// Error is why the last attempt failed; empty when it succeeded. The
	// application keeps its settings when a refresh fails.
	Error string `json:"error,omitempty"`
}

// Session returns the session duration (the default when unset or invalid).
func (a *Application) Session() time.Duration {
	d, err := ParseDuration(a.SessionDuration)
	if err != nil || d == 0 {
		return DefaultSessionDuration
	}
	return d
}

// DefaultACS returns the default ACS endpoint (the first when none is marked).
func (a *Application) DefaultACS() (ACS, bool) {
	for _, e := range a.ACS {
		if e.Default {
			return e, true
		}
	}
	if len(a.ACS) > 0 {
		return a.ACS[0], true
	}
	return ACS{}, false
}

// ACSByIndex returns the ACS endpoint with this index.
func (a *Application) ACSByIndex(i int) (ACS, bool) {
	for _, e := range a.ACS {
		if e.Index == i {
			return e, true
		}
	}
	return ACS{}, false
}

// ACSByURL returns the registered ACS endpoint whose URL is exactly u.
func (a *Application) ACSByURL(u string) (ACS, bool) {
	for _, e := range a.ACS {
		if e.URL == u {
			return e, true
		}
	}
	return ACS{}, false
}

// Certificate statuses. An application has one active certificate, at most
// one next certificate (published in metadata before it signs), and any
// number of retired ones (listed until removed).
const (
	CertActive  = "active"
	CertNext    = "next"
	CertRetired = "retired"
)

// Certificate is one of an application's own signing certificates. The
// private key stays sealed in the store; see Service.SigningKey.
type Certificate struct {
	ID        string    `json:"id"`
	AppID     string    `json:"appId"`
	Status    string    `json:"status"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	PEM       string    `json:"pem"`
	// SHA256 is the certificate's SHA-256 fingerprint, colon-separated hex.
	SHA256    string    `json:"sha256"`
	KeyBits   int       `json:"keyBits"`
	CreatedAt time.Time `json:"createdAt"`
	// ActivateAt, on a next certificate, is when it becomes the active one
	// by itself (Service.ActivateDue); nil means it waits for an admin.
	ActivateAt *time.Time `json:"activateAt,omitempty"`
}

// Principal types of an assignment.
const (
	PrincipalUser  = "user"
	PrincipalGroup = "group"
)

// Assignment gives a user, or every member of a group, access to an application.
type Assignment struct {
	AppID         string    `json:"appId"`
	PrincipalType string    `json:"principalType"` // user or group
	PrincipalID   string    `json:"principalId"`
	PrincipalName string    `json:"principalName"` // userName or group display name
	CreatedAt     time.Time `json:"createdAt"`
}

// SPMetadata is what idcenter reads from a service provider's metadata,
// already parsed and verified by the SAML layer. Create uses it to fill the
// application before the request's own fields apply.
type SPMetadata struct {
	EntityID              string
	ACS                   []ACS
	SLOURL                string
	SLOBinding            string
	SigningCertificates   []string // PEM or base64 DER
	EncryptionCertificate string   // PEM or base64 DER
	AuthnRequestsSigned   bool
	NameIDFormats         []string // URNs or short names, preferred first
	// URL is where the metadata was fetched from; empty for uploaded
	// metadata. An application created from fetched metadata remembers it
	// (Application.SPMetadataURL).
	URL string
	// ValidUntil is the metadata's validUntil; zero when it has none.
	// Metadata whose validUntil has passed is refused.
	ValidUntil time.Time
	// VerifySignature checks that the document carries a valid enveloped
	// XML signature by the certificate (PEM) and that the signed content is
	// what was read. Nil when the document itself is not available.
	VerifySignature func(certPEM string) error
}

// CreateRequest creates an application from a catalog template (Template,
// empty for custom), from parsed SP metadata, and from the fields set in
// Application, in that order of precedence (later wins; empty fields do not
// override). Enabled, RequireSignedRequests and EncryptAssertions are taken
// as given. KeyBits is the size of the generated signing key (2048 or 3072;
// 0 means 2048).
type CreateRequest struct {
	Application
	Template string      `json:"template"`
	KeyBits  int         `json:"keyBits,omitempty"`
	Metadata *SPMetadata `json:"-"`
}

// ClaimAttribute is one attribute an assertion carries.
type ClaimAttribute struct {
	Name       string   `json:"name"`
	NameFormat string   `json:"nameFormat"` // URN
	Values     []string `json:"values"`
}

// Claims are what an assertion states about a user for one application:
// the Name ID and the attribute values.
type Claims struct {
	NameID       string           `json:"nameId"`
	NameIDFormat string           `json:"nameIdFormat"` // URN
	Attributes   []ClaimAttribute `json:"attributes"`
	// SessionDuration, when set, replaces the application's session
	// duration for SessionNotOnOrAfter: the AWS SessionDuration of an
	// aws-account application's assertion (addAWSRoles).
	SessionDuration time.Duration `json:"-"`
}

// Preview is what a user would receive from an application, with warnings
// that explain surprises before a real sign-in does.
type Preview struct {
	AppID           string           `json:"appId"`
	AppName         string           `json:"appName"`
	UserID          string           `json:"userId"`
	UserName        string           `json:"userName"`
	Audience        string           `json:"audience"`
	Destination     string           `json:"destination"` // the default ACS URL
	SessionDuration string           `json:"sessionDuration"`
	NameID          string           `json:"nameId"`
	NameIDFormat    string           `json:"nameIdFormat"` // URN
	Attributes      []ClaimAttribute `json:"attributes"`
	Assigned        bool             `json:"assigned"`
	Warnings        []string         `json:"warnings"`
}
