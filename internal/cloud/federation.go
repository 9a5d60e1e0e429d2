package cloud

import (
	"context"
	"time"
)

// Federation turns a role a user holds into access: a signed SAML response
// for the AWS console, or temporary credentials from STS. The portal calls
// it; the implementation (which signs with the AWS application's key and
// talks HTTP to STS) is wired in internal/app.
type Federation interface {
	// ConsoleSignIn returns the auto-POST form for signing in to the AWS
	// console as role: the sign-in URL, the SAMLResponse (base64) and the
	// RelayState (the permission set's relay state).
	ConsoleSignIn(ctx context.Context, userID string, role Role) (ConsoleSignIn, error)
	// AccessKeys obtains temporary credentials for role with
	// AssumeRoleWithSAML at the account's STS endpoint.
	AccessKeys(ctx context.Context, userID string, role Role) (Credentials, error)
}

// ConsoleSignIn is a SAML POST to the AWS sign-in endpoint.
type ConsoleSignIn struct {
	URL          string
	SAMLResponse string
	RelayState   string
}

// Credentials are temporary AWS credentials.
type Credentials struct {
	AccessKeyID     string    `json:"accessKeyId"`
	SecretAccessKey string    `json:"secretAccessKey"`
	SessionToken    string    `json:"sessionToken"`
	Expiration      time.Time `json:"expiration"`
	Region          string    `json:"region,omitempty"`
}
