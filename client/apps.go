package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// Principal types of an application assignment.
const (
	PrincipalUser  = "user"
	PrincipalGroup = "group"
)

// ACS is one assertion consumer service endpoint of a SAML application.
// Binding defaults to HTTP-POST, the only binding responses are sent with.
type ACS struct {
	URL     string `json:"url"`
	Binding string `json:"binding,omitempty"`
	Index   int    `json:"index"`
	Default bool   `json:"isDefault,omitempty"`
}

// AppAttribute maps a SAML attribute to a value expression such as
// "${user:email}" or "${user:givenName}.${user:familyName}@corp".
type AppAttribute struct {
	Name       string `json:"name"`
	Value      string `json:"value"`
	NameFormat string `json:"nameFormat,omitempty"` // basic, uri or unspecified (default)
}

// App is a SAML 2.0 application (service provider). ID, Template,
// ManagedBy, Created, LastModified and Version are set by the server.
type App struct {
	ID                    string         `json:"id"`
	DisplayName           string         `json:"displayName"`
	Description           string         `json:"description,omitempty"`
	EntityID              string         `json:"entityId"`
	ACS                   []ACS          `json:"acs"`
	SLOURL                string         `json:"sloUrl,omitempty"`
	SLOBinding            string         `json:"sloBinding,omitempty"`
	StartURL              string         `json:"startUrl,omitempty"`
	DefaultRelayState     string         `json:"defaultRelayState,omitempty"`
	SessionDuration       string         `json:"sessionDuration,omitempty"` // ISO 8601 (PT1H) or Go (1h)
	SigningCertificates   []string       `json:"signingCertificates,omitempty"`
	RequireSignedRequests bool           `json:"requireSignedRequests"`
	EncryptionCertificate string         `json:"encryptionCertificate,omitempty"`
	EncryptAssertions     bool           `json:"encryptAssertions"`
	SigningMode           string         `json:"signingMode,omitempty"`  // response, assertion or both
	NameIDFormat          string         `json:"nameIdFormat,omitempty"` // emailAddress, persistent, transient, unspecified
	NameID                string         `json:"nameId,omitempty"`
	Attributes            []AppAttribute `json:"attributes,omitempty"`
	Template              string         `json:"template"`
	Enabled               bool           `json:"enabled"`
	// SPMetadataURL is where the SP's metadata is fetched and refreshed from;
	// SPMetadataSigningCertificate, when set, must have signed it.
	SPMetadataURL                string           `json:"spMetadataUrl,omitempty"`
	SPMetadataSigningCertificate string           `json:"spMetadataSigningCertificate,omitempty"`
	MetadataRefresh              *MetadataRefresh `json:"metadataRefresh,omitempty"` // read-only
	// IncludeAWSRoles adds the AWS Role attribute (one value per role the
	// user holds), of the accounts in AWSRoleAccounts or of all accounts.
	IncludeAWSRoles bool      `json:"includeAwsRoles,omitempty"`
	AWSRoleAccounts []string  `json:"awsRoleAccounts,omitempty"`
	ManagedBy       string    `json:"managedBy,omitempty"`
	Created         time.Time `json:"created"`
	LastModified    time.Time `json:"lastModified"`
	Version         int64     `json:"version"`

	// The IdP's addresses for this application, set by the server (read-only):
	// its entity ID, SSO URL (both bindings), SLO URL, metadata URL and the
	// IdP-initiated start URL.
	IdPEntityID    string `json:"idpEntityId,omitempty"`
	IdPSSOURL      string `json:"idpSsoUrl,omitempty"`
	IdPSLOURL      string `json:"idpSloUrl,omitempty"`
	IdPMetadataURL string `json:"idpMetadataUrl,omitempty"`
	IdPStartURL    string `json:"idpStartUrl,omitempty"`
}

// MetadataRefresh is the outcome of the periodic refresh from SPMetadataURL.
type MetadataRefresh struct {
	CheckedAt   *time.Time `json:"checkedAt,omitempty"`
	RefreshedAt *time.Time `json:"refreshedAt,omitempty"`
	Error       string     `json:"error,omitempty"`
}

// AppRequest creates an application from a catalog template (empty for a
// custom application). The fields set in App override the template's; empty
// fields keep them. The application is enabled unless Disabled is set.
type AppRequest struct {
	// SPMetadata is the service provider's SAML metadata XML (optional).
	SPMetadata string
	// SPMetadataURL is an https URL the server fetches the SP metadata
	// from (optional; not together with SPMetadata).
	SPMetadataURL string
	Template      string
	KeyBits       int // size of the generated signing key: 2048 (default) or 3072
	Disabled      bool
	App           App
}

// AppCertificate is one of an application's own signing certificates.
type AppCertificate struct {
	ID        string    `json:"id"`
	AppID     string    `json:"appId"`
	Status    string    `json:"status"` // active, next or retired
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	PEM       string    `json:"pem"`
	SHA256    string    `json:"sha256"`
	KeyBits   int       `json:"keyBits"`
	CreatedAt time.Time `json:"createdAt"`
	// ActivateAt, on a next certificate, is when the server activates it by itself.
	ActivateAt *time.Time `json:"activateAt,omitempty"`
}

// AppAssignment gives a user, or every member of a group, access to an application.
type AppAssignment struct {
	AppID         string    `json:"appId"`
	PrincipalType string    `json:"principalType"` // PrincipalUser or PrincipalGroup
	PrincipalID   string    `json:"principalId"`
	PrincipalName string    `json:"principalName"`
	CreatedAt     time.Time `json:"createdAt"`
}

// ClaimAttribute is one attribute of an assertion, with its values.
type ClaimAttribute struct {
	Name       string   `json:"name"`
	NameFormat string   `json:"nameFormat"`
	Values     []string `json:"values"`
}

// AppPreview is what a user would receive from an application.
type AppPreview struct {
	AppID           string           `json:"appId"`
	AppName         string           `json:"appName"`
	UserID          string           `json:"userId"`
	UserName        string           `json:"userName"`
	Audience        string           `json:"audience"`
	Destination     string           `json:"destination"`
	SessionDuration string           `json:"sessionDuration"`
	NameID          string           `json:"nameId"`
	NameIDFormat    string           `json:"nameIdFormat"`
	Attributes      []ClaimAttribute `json:"attributes"`
	Assigned        bool             `json:"assigned"`
	Warnings        []string         `json:"warnings"`
	// AssertionXML is the SAML Response with the assertion the user would
	// receive (signed with the application's key, never encrypted).
	AssertionXML string `json:"assertionXml"`
}

// AppTemplate is an entry of the application catalog.
type AppTemplate struct {
	ID                string         `json:"id"`
	Name              string         `json:"name"`
	Description       string         `json:"description"`
	EntityID          string         `json:"entityId,omitempty"`
	ACS               []ACS          `json:"acs,omitempty"`
	SLOURL            string         `json:"sloUrl,omitempty"`
	SLOBinding        string         `json:"sloBinding,omitempty"`
	StartURL          string         `json:"startUrl,omitempty"`
	DefaultRelayState string         `json:"defaultRelayState,omitempty"`
	SessionDuration   string         `json:"sessionDuration,omitempty"`
	SigningMode       string         `json:"signingMode,omitempty"`
	NameIDFormat      string         `json:"nameIdFormat"`
	NameID            string         `json:"nameId"`
	Attributes        []AppAttribute `json:"attributes"`
	Documentation     string         `json:"documentation,omitempty"`
	Instructions      string         `json:"instructions"` // Markdown
}

// ListApps returns every application, in name order.
func (c *Client) ListApps(ctx context.Context) ([]App, error) {
	var p Page[App]
	err := c.do(ctx, request{method: http.MethodGet, path: "/apps"}, &p)
	return p.Items, err
}

// GetApp returns the application with the given id or display name.
func (c *Client) GetApp(ctx context.Context, app string) (App, error) {
	key, err := pathKey("app", app)
	if err != nil {
		return App{}, err
	}
	var a App
	err = c.do(ctx, request{method: http.MethodGet, path: "/apps/" + key}, &a)
	return a, err
}

// CreateApp creates an application and its signing certificate.
func (c *Client) CreateApp(ctx context.Context, req AppRequest) (App, error) {
	b, err := json.Marshal(req.App)
	if err != nil {
		return App{}, err
	}
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		return App{}, err
	}
	for _, k := range []string{"id", "template", "managedBy", "created", "lastModified", "version", "enabled",
		"idpEntityId", "idpSsoUrl", "idpSloUrl", "idpMetadataUrl", "idpStartUrl"} {
		delete(body, k)
	}
	for k, v := range body {
		if s, ok := v.(string); v == nil || ok && s == "" {
			delete(body, k)
		}
	}
	if req.Template != "" {
		body["template"] = req.Template
	}
	if req.KeyBits != 0 {
		body["keyBits"] = req.KeyBits
	}
	body["enabled"] = !req.Disabled
	if req.SPMetadata != "" {
		body["spMetadata"] = req.SPMetadata
	}
	if req.SPMetadataURL != "" {
		body["spMetadataUrl"] = req.SPMetadataURL
	}
	var out App
	err = c.do(ctx, request{method: http.MethodPost, path: "/apps", body: body}, &out)
	return out, err
}

// UpdateApp applies a JSON merge patch (RFC 7396) to the application, for
// example map[string]any{"enabled": false} or
// map[string]any{"acs": []map[string]any{{"url": "https://sp.example.com/acs"}}}.
// Arrays are replaced as a whole. When ifVersion is positive the update
// only succeeds if the application is still at that version (409 otherwise).
func (c *Client) UpdateApp(ctx context.Context, app string, patch map[string]any, ifVersion int64) (App, error) {
	key, err := pathKey("app", app)
	if err != nil {
		return App{}, err
	}
	var a App
	err = c.do(ctx, request{method: http.MethodPatch, path: "/apps/" + key, body: patch, ifVersion: ifVersion}, &a)
	return a, err
}

// DeleteApp deletes the application with its certificates and assignments.
func (c *Client) DeleteApp(ctx context.Context, app string) error {
	key, err := pathKey("app", app)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: "/apps/" + key}, nil)
}

// AssignApp assigns a user or a group (principalType PrincipalUser or
// PrincipalGroup; principal an id or name) to the application.
func (c *Client) AssignApp(ctx context.Context, app, principalType, principal string) (AppAssignment, error) {
	key, err := pathKey("app", app)
	if err != nil {
		return AppAssignment{}, err
	}
	var out AppAssignment
	body := map[string]string{principalType: principal}
	err = c.do(ctx, request{method: http.MethodPost, path: "/apps/" + key + "/assignments", body: body}, &out)
	return out, err
}

// UnassignApp removes a user's or group's assignment to the application.
func (c *Client) UnassignApp(ctx context.Context, app, principalType, principal string) error {
	key, err := pathKey("app", app)
	if err != nil {
		return err
	}
	pt, err := pathKey("principal type", principalType)
	if err != nil {
		return err
	}
	pk, err := pathKey(principalType, principal)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: "/apps/" + key + "/assignments/" + pt + "/" + pk}, nil)
}

// ListAppAssignments lists the users and groups assigned to the application.
func (c *Client) ListAppAssignments(ctx context.Context, app string) ([]AppAssignment, error) {
	key, err := pathKey("app", app)
	if err != nil {
		return nil, err
	}
	var p Page[AppAssignment]
	err = c.do(ctx, request{method: http.MethodGet, path: "/apps/" + key + "/assignments"}, &p)
	return p.Items, err
}

// ListAppCertificates lists the application's signing certificates.
func (c *Client) ListAppCertificates(ctx context.Context, app string) ([]AppCertificate, error) {
	key, err := pathKey("app", app)
	if err != nil {
		return nil, err
	}
	var p Page[AppCertificate]
	err = c.do(ctx, request{method: http.MethodGet, path: "/apps/" + key + "/certificates"}, &p)
	return p.Items, err
}

// AddAppCertificate generates the application's next signing certificate
// (keyBits 0 means 2048).
func (c *Client) AddAppCertificate(ctx context.Context, app string, keyBits int) (AppCertificate, error) {
	return c.AddScheduledAppCertificate(ctx, app, keyBits, time.Time{})
}

// AddScheduledAppCertificate generates the application's next signing
// certificate and, when activateAt is not zero, schedules the server to
// activate it at that time (which must be in the future).
func (c *Client) AddScheduledAppCertificate(ctx context.Context, app string, keyBits int, activateAt time.Time) (AppCertificate, error) {
	key, err := pathKey("app", app)
	if err != nil {
		return AppCertificate{}, err
	}
	body := map[string]any{}
	if keyBits != 0 {
		body["keyBits"] = keyBits
	}
	if !activateAt.IsZero() {
		body["activateAt"] = activateAt.UTC().Format(time.RFC3339Nano)
	}
	var out AppCertificate
	err = c.do(ctx, request{method: http.MethodPost, path: "/apps/" + key + "/certificates", body: body}, &out)
	return out, err
}

// ActivateAppCertificate makes the certificate the one responses are signed
// with; the previously active one is retired.
func (c *Client) ActivateAppCertificate(ctx context.Context, app, certID string) (AppCertificate, error) {
	key, err := pathKey("app", app)
	if err != nil {
		return AppCertificate{}, err
	}
	id, err := pathKey("certificate", certID)
	if err != nil {
		return AppCertificate{}, err
	}
	var out AppCertificate
	err = c.do(ctx, request{method: http.MethodPost, path: "/apps/" + key + "/certificates/" + id + "/activate"}, &out)
	return out, err
}

// RemoveAppCertificate removes a next or retired certificate.
func (c *Client) RemoveAppCertificate(ctx context.Context, app, certID string) error {
	key, err := pathKey("app", app)
	if err != nil {
		return err
	}
	id, err := pathKey("certificate", certID)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: "/apps/" + key + "/certificates/" + id}, nil)
}

// AppCertificatePEM returns the application's active signing certificate as PEM.
func (c *Client) AppCertificatePEM(ctx context.Context, app string) ([]byte, error) {
	key, err := pathKey("app", app)
	if err != nil {
		return nil, err
	}
	var b []byte
	err = c.do(ctx, request{method: http.MethodGet, path: "/apps/" + key + "/certificate.pem", accept: "application/x-pem-file"}, &b)
	return b, err
}

// AppMetadata returns the application's IdP metadata XML, the document its
// metadata URL serves.
func (c *Client) AppMetadata(ctx context.Context, app string) ([]byte, error) {
	key, err := pathKey("app", app)
	if err != nil {
		return nil, err
	}
	var b []byte
	err = c.do(ctx, request{method: http.MethodGet, path: "/apps/" + key + "/metadata", accept: "application/samlmetadata+xml"}, &b)
	return b, err
}

// PreviewApp shows the Name ID and attributes the user (id or userName)
// would receive from the application, with warnings.
func (c *Client) PreviewApp(ctx context.Context, app, user string) (AppPreview, error) {
	key, err := pathKey("app", app)
	if err != nil {
		return AppPreview{}, err
	}
	var p AppPreview
	err = c.do(ctx, request{method: http.MethodGet, path: "/apps/" + key + "/preview", query: url.Values{"user": {user}}}, &p)
	return p, err
}

// Catalog lists the application templates.
func (c *Client) Catalog(ctx context.Context) ([]AppTemplate, error) {
	var p Page[AppTemplate]
	err := c.do(ctx, request{method: http.MethodGet, path: "/catalog"}, &p)
	return p.Items, err
}
