package awsfed

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/idcenter/idcenter/internal/cloud"
)

// STS API version and the largest STS answer read.
const (
	STSVersion     = "2011-06-15"
	maxSTSResponse = 64 << 10
)

// AccessKeys implements cloud.Federation: it builds the assertion for role
// and exchanges it for temporary credentials with an unsigned
// AssumeRoleWithSAML call to the account's STS endpoint (Account.STSURL),
// asking for the permission set's session duration. STS errors become
// *cloud.STSError values matching cloud.ErrAssertionExpired,
// cloud.ErrRoleNotInAssertion, cloud.ErrAssertionRejected,
// cloud.ErrSTSUnavailable or cloud.ErrSTSRefused.
func (s *Service) AccessKeys(ctx context.Context, userID string, role cloud.Role) (cloud.Credentials, error) {
	a, err := s.Assertion(ctx, userID, role)
	if err != nil {
		return cloud.Credentials{}, err
	}
	res, err := s.AssumeRoleWithSAML(ctx, a.Role, a.Encoded(), a.SessionDuration)
	sum := roleSummary(a)
	if err != nil {
		var se *cloud.STSError
		if errors.As(err, &se) {
			sum["error"], sum["code"], sum["requestId"] = se.Kind.Error(), se.Code, se.RequestID
		}
		s.audit(ctx, a.User, "aws.credentials.failed", a.Role.Account, sum)
		return cloud.Credentials{}, err
	}
	sum["accessKeyId"], sum["expiration"], sum["requestId"] = res.Credentials.AccessKeyID, res.Credentials.Expiration, res.RequestID
	s.audit(ctx, a.User, "aws.credentials", a.Role.Account, sum)
	c := res.Credentials
	c.Region = a.Role.Account.DefaultRegion
	return c, nil
}

// AssumeRoleResult is what STS answers to AssumeRoleWithSAML.
type AssumeRoleResult struct {
	Credentials      cloud.Credentials
	AssumedRoleARN   string
	AssumedRoleID    string
	Audience         string
	Issuer           string
	Subject          string
	SubjectType      string
	NameQualifier    string
	SourceIdentity   string
	RequestID        string
	PackedPolicySize int
}

type stsResponse struct {
	XMLName xml.Name `xml:"AssumeRoleWithSAMLResponse"`
	Result  struct {
		Credentials struct {
			AccessKeyID     string `xml:"AccessKeyId"`
			SecretAccessKey string `xml:"SecretAccessKey"`
			SessionToken    string `xml:"SessionToken"`
			Expiration      string `xml:"Expiration"`
		} `xml:"Credentials"`
		AssumedRoleUser struct {
			Arn           string `xml:"Arn"`
			AssumedRoleID string `xml:"AssumedRoleId"`
		} `xml:"AssumedRoleUser"`
		Audience         string `xml:"Audience"`
		Issuer           string `xml:"Issuer"`
		Subject          string `xml:"Subject"`
		SubjectType      string `xml:"SubjectType"`
		NameQualifier    string `xml:"NameQualifier"`
		SourceIdentity   string `xml:"SourceIdentity"`
		PackedPolicySize int    `xml:"PackedPolicySize"`
	} `xml:"AssumeRoleWithSAMLResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

type stsErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

// AssumeRoleWithSAML posts Action=AssumeRoleWithSAML (unsigned, as AWS
// allows for this action) with the role and provider ARNs, the base64
// Response and DurationSeconds to role's account STS endpoint, and parses
// the answer or its error document.
func (s *Service) AssumeRoleWithSAML(ctx context.Context, role cloud.Role, samlResponse string, dur time.Duration) (AssumeRoleResult, error) {
	endpoint := role.Account.STSURL()
	form := url.Values{
		"Action":        {"AssumeRoleWithSAML"},
		"Version":       {STSVersion},
		"RoleArn":       {role.RoleARN},
		"PrincipalArn":  {role.ProviderARN},
		"SAMLAssertion": {samlResponse},
	}
	if dur > 0 {
		form.Set("DurationSeconds", strconv.Itoa(int(dur/time.Second)))
	}
	stsErr := func(kind error) *cloud.STSError {
		return &cloud.STSError{Kind: kind, Endpoint: endpoint, RoleARN: role.RoleARN, AccountID: role.Account.ID}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		e := stsErr(cloud.ErrSTSUnavailable)
		e.Underlying = err
		return AssumeRoleResult{}, e
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("Accept", "text/xml")
	res, err := s.client().Do(req)
	if err != nil {
		e := stsErr(cloud.ErrSTSUnavailable)
		e.Underlying = err
		return AssumeRoleResult{}, e
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxSTSResponse+1))
	if err != nil || len(body) > maxSTSResponse {
		e := stsErr(cloud.ErrSTSUnavailable)
		e.Status, e.Underlying = res.StatusCode, fmt.Errorf("reading the answer: %v (at most %d bytes)", err, maxSTSResponse)
		return AssumeRoleResult{}, e
	}
	if res.StatusCode == http.StatusOK {
		return parseSTSResult(body, stsErr)
	}
	var doc stsErrorResponse
	if xml.Unmarshal(body, &doc) != nil || doc.Error.Code == "" {
		e := stsErr(cloud.ErrSTSUnavailable)
		e.Status = res.StatusCode
		if res.StatusCode < 500 {
			e.Kind = cloud.ErrSTSRefused
		}
		return AssumeRoleResult{}, e
	}
	e := stsErr(errorKind(res.StatusCode, doc.Error.Code))
	e.Status, e.Type, e.Code, e.Message, e.RequestID = res.StatusCode, doc.Error.Type, doc.Error.Code, doc.Error.Message, doc.RequestID
	return AssumeRoleResult{}, e
}

// errorKind classifies an STS error code.
func errorKind(status int, code string) error {
	switch code {
	case "ExpiredTokenException", "ExpiredToken":
		return cloud.ErrAssertionExpired
	case "AccessDenied", "AccessDeniedException":
		return cloud.ErrRoleNotInAssertion
	case "InvalidIdentityToken", "InvalidIdentityTokenException", "IDPRejectedClaim", "IDPRejectedClaimException":
		return cloud.ErrAssertionRejected
	case "ServiceUnavailable", "InternalFailure", "Throttling", "ThrottlingException", "RequestExpired":
		return cloud.ErrSTSUnavailable
	}
	if status >= 500 {
		return cloud.ErrSTSUnavailable
	}
	return cloud.ErrSTSRefused
}

func parseSTSResult(body []byte, stsErr func(error) *cloud.STSError) (AssumeRoleResult, error) {
	var doc stsResponse
	if err := xml.Unmarshal(body, &doc); err != nil {
		e := stsErr(cloud.ErrSTSUnavailable)
		e.Status, e.Underlying = http.StatusOK, fmt.Errorf("not an AssumeRoleWithSAMLResponse: %w", err)
		return AssumeRoleResult{}, e
	}
	r := doc.Result
	exp, err := time.Parse(time.RFC3339, strings.TrimSpace(r.Credentials.Expiration))
	if err != nil || r.Credentials.AccessKeyID == "" || r.Credentials.SecretAccessKey == "" || r.Credentials.SessionToken == "" {
		e := stsErr(cloud.ErrSTSUnavailable)
		e.Status, e.Underlying = http.StatusOK, errors.New("AssumeRoleWithSAMLResponse without complete credentials")
		return AssumeRoleResult{}, e
	}
	return AssumeRoleResult{
		Credentials: cloud.Credentials{AccessKeyID: r.Credentials.AccessKeyID, SecretAccessKey: r.Credentials.SecretAccessKey,
			SessionToken: r.Credentials.SessionToken, Expiration: exp.UTC()},
		AssumedRoleARN: r.AssumedRoleUser.Arn, AssumedRoleID: r.AssumedRoleUser.AssumedRoleID,
		Audience: r.Audience, Issuer: r.Issuer, Subject: r.Subject, SubjectType: r.SubjectType,
		NameQualifier: r.NameQualifier, SourceIdentity: r.SourceIdentity, RequestID: doc.RequestID,
		PackedPolicySize: r.PackedPolicySize,
	}, nil
}
