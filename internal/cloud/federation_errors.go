package cloud

import (
	"errors"
	"fmt"
)

// Errors of Federation. Each is a distinct value the portal can explain;
// match them with errors.Is. Errors from STS are *STSError values that
// unwrap to one of them.
var (
	// ErrRoleNotHeld: the user does not hold the role (any more): no
	// assignment of the permission set in the account applies to them, or
	// the user is disabled. It also matches errs.ErrForbidden.
	ErrRoleNotHeld = errors.New("you do not hold this role")
	// ErrRoleSessionName: the RoleSessionName the AWS application's mapping
	// gives the user is not 2 to 64 of [\w+=,.@-] (for example no email
	// address, or one with other characters).
	ErrRoleSessionName = errors.New("invalid AWS RoleSessionName")
	// ErrAssertionExpired: STS found the assertion expired
	// (ExpiredTokenException), usually a clock off between idcenter and AWS.
	ErrAssertionExpired = errors.New("AWS STS: the SAML assertion has expired")
	// ErrRoleNotInAssertion: STS refused the role (AccessDenied): the
	// role/provider pair is not in the assertion's Role attribute, or the
	// role's trust policy does not allow this identity provider.
	ErrRoleNotInAssertion = errors.New("AWS STS: access denied to the role")
	// ErrAssertionRejected: STS could not validate the assertion
	// (InvalidIdentityToken, IDPRejectedClaim): typically the IAM SAML
	// provider does not hold idcenter's current metadata, or its name differs.
	ErrAssertionRejected = errors.New("AWS STS: the SAML assertion was rejected")
	// ErrSTSUnavailable: STS could not be reached, timed out, failed (5xx)
	// or answered something that is not an STS document.
	ErrSTSUnavailable = errors.New("AWS STS is unavailable")
	// ErrSTSRefused: any other STS error document (validation, region
	// disabled, throttling, …).
	ErrSTSRefused = errors.New("AWS STS refused the request")
)

// STSError is an error document from STS (ErrorResponse/Error). It unwraps
// to Kind, one of the errors above.
type STSError struct {
	Kind       error
	Status     int    // HTTP status
	Type       string // Sender or Receiver
	Code       string // e.g. ExpiredTokenException, AccessDenied
	Message    string
	RequestID  string
	Endpoint   string
	RoleARN    string
	AccountID  string
	Underlying error // transport error, when STS was not reached
}

func (e *STSError) Error() string {
	switch {
	case e.Underlying != nil:
		return fmt.Sprintf("%v: %s: %v", e.Kind, e.Endpoint, e.Underlying)
	case e.Code != "":
		return fmt.Sprintf("%v: %s: %s (request %s)", e.Kind, e.Code, e.Message, e.RequestID)
	}
	return fmt.Sprintf("%v: %s: HTTP %d", e.Kind, e.Endpoint, e.Status)
}

func (e *STSError) Unwrap() error { return e.Kind }
