package testenv

import (
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"
)

// FakeSTS is a FAKE of the AWS Security Token Service for tests: an HTTP
// server on loopback answering Action=AssumeRoleWithSAML the way AWS
// documents it. It is not AWS and issues credentials that work nowhere.
//
// For each registered IAM SAML provider (account id, provider name, the
// IdP metadata XML the provider was created with) it:
//
//   - verifies the Response's or Assertion's XML signature with the
//     certificates of that metadata, and that the Issuer is its entity ID;
//   - checks the Audience (urn:amazon:webservices), that Destination and
//     Recipient are the provider's sign-in URL, NotBefore/NotOnOrAfter by
//     its clock (Now), and the bearer confirmation;
//   - checks that RoleArn and PrincipalArn are in the same account and the
//     pair is one of the Role attribute's values (either order, as AWS
//     accepts), that RoleSessionName is 2–64 of [\w+=,.@-], and that
//     DurationSeconds (900–43200, default 3600) is at most the
//     SessionDuration attribute when there is one;
//   - answers an AssumeRoleWithSAMLResponse (Credentials, AssumedRoleUser,
//     Audience, Issuer, Subject, SubjectType, NameQualifier, SourceIdentity)
//     or an ErrorResponse (Type, Code, Message, RequestId) with AWS's codes:
//     InvalidIdentityToken, ExpiredTokenException, AccessDenied,
//     ValidationError, MissingParameter, InvalidAction.
type FakeSTS struct {
	// URL is the endpoint (http://127.0.0.1:port/), for Account.STSEndpoint.
	URL string
	// Now is the fake's clock; nil means time.Now.
	Now func() time.Time

	srv       *httptest.Server
	mu        sync.Mutex
	providers map[string]*FakeSTSProvider // by provider ARN
	calls     []FakeSTSCall
}

// FakeSTSProvider is an IAM SAML provider registered with the fake.
type FakeSTSProvider struct {
	AccountID string
	Name      string // the provider's name (the last part of its ARN)
	// Metadata is the IdP metadata XML uploaded to the provider.
	Metadata []byte
	// SignInURL is where assertions must be addressed (Destination and
	// Recipient); empty means https://signin.aws.amazon.com/saml.
	SignInURL string

	entityID string
	certs    []*x509.Certificate
}

// FakeSTSCall records one AssumeRoleWithSAML call and its outcome.
type FakeSTSCall struct {
	RoleARN, PrincipalARN string
	DurationSeconds       int
	// Attributes are the verified assertion's attribute values by name
	// (empty when verification failed).
	Attributes map[string][]string
	NameID     string
	// Code is the error code answered; empty on success.
	Code string
}

// FakeSTSAudience is the audience AWS requires.
const FakeSTSAudience = "urn:amazon:webservices"

// StartFakeSTS starts a fake STS on loopback, closed when the test ends.
func StartFakeSTS(t testing.TB) *FakeSTS {
	t.Helper()
	f := &FakeSTS{providers: map[string]*FakeSTSProvider{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL + "/"
	t.Cleanup(f.srv.Close)
	return f
}

// Close stops the fake: calls then fail to connect (STS down).
func (f *FakeSTS) Close() { f.srv.Close() }

// Register adds (or replaces) an IAM SAML provider created with metadata.
func (f *FakeSTS) Register(p FakeSTSProvider) error {
	entityID, certs, err := parseIdPMetadata(p.Metadata)
	if err != nil {
		return err
	}
	if p.SignInURL == "" {
		p.SignInURL = "https://signin.aws.amazon.com/saml"
	}
	p.entityID, p.certs = entityID, certs
	f.mu.Lock()
	defer f.mu.Unlock()
	f.providers["arn:aws:iam::"+p.AccountID+":saml-provider/"+p.Name] = &p
	return nil
}

// Calls returns the calls received so far.
func (f *FakeSTS) Calls() []FakeSTSCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FakeSTSCall(nil), f.calls...)
}

func (f *FakeSTS) now() time.Time {
	if f.Now != nil {
		return f.Now().UTC()
	}
	return time.Now().UTC()
}

// parseIdPMetadata reads the entity ID and the signing certificates of an
// IdP EntityDescriptor.
func parseIdPMetadata(md []byte) (string, []*x509.Certificate, error) {
	var doc struct {
		EntityID string `xml:"entityID,attr"`
		IdP      struct {
			Keys []struct {
				Use   string   `xml:"use,attr"`
				Certs []string `xml:"KeyInfo>X509Data>X509Certificate"`
			} `xml:"KeyDescriptor"`
		} `xml:"IDPSSODescriptor"`
	}
	if err := xml.Unmarshal(md, &doc); err != nil {
		return "", nil, fmt.Errorf("fake sts: metadata: %w", err)
	}
	var certs []*x509.Certificate
	for _, k := range doc.IdP.Keys {
		if k.Use != "" && k.Use != "signing" {
			continue
		}
		for _, c := range k.Certs {
			der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c), ""))
			if err != nil {
				return "", nil, fmt.Errorf("fake sts: metadata certificate: %w", err)
			}
			x, err := x509.ParseCertificate(der)
			if err != nil {
				return "", nil, fmt.Errorf("fake sts: metadata certificate: %w", err)
			}
			certs = append(certs, x)
		}
	}
	if doc.EntityID == "" || len(certs) == 0 {
		return "", nil, errors.New("fake sts: metadata without entityID or signing certificate")
	}
	return doc.EntityID, certs, nil
}

// stsFault is an STS error document.
type stsFault struct {
	status    int
	typ, code string
	message   string
}

func fault(status int, code, format string, args ...any) *stsFault {
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	return &stsFault{status: status, typ: typ, code: code, message: fmt.Sprintf(format, args...)}
}

var fakeSessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

func (f *FakeSTS) serve(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	call := FakeSTSCall{}
	res, flt := f.assume(r, &call)
	if flt != nil {
		call.Code = flt.code
	}
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", reqID)
	if flt != nil {
		w.WriteHeader(flt.status)
		_, _ = fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>%s</Type>
    <Code>%s</Code>
    <Message>%s</Message>
  </Error>
  <RequestId>%s</RequestId>
</ErrorResponse>
`, flt.typ, flt.code, xmlEscape(flt.message), reqID)
		return
	}
	_, _ = fmt.Fprintf(w, `<AssumeRoleWithSAMLResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithSAMLResult>
    <Audience>%s</Audience>
    <AssumedRoleUser>
      <AssumedRoleId>%s</AssumedRoleId>
      <Arn>%s</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>%s</SecretAccessKey>
      <SessionToken>%s</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
    <Issuer>%s</Issuer>
    <NameQualifier>%s</NameQualifier>
    <PackedPolicySize>0</PackedPolicySize>%s
    <Subject>%s</Subject>
    <SubjectType>%s</SubjectType>
  </AssumeRoleWithSAMLResult>
  <ResponseMetadata>
    <RequestId>%s</RequestId>
  </ResponseMetadata>
</AssumeRoleWithSAMLResponse>
`, xmlEscape(res.audience), xmlEscape(res.roleID), xmlEscape(res.roleARN), res.keyID, res.secret, res.token,
		res.expiration.Format(time.RFC3339), xmlEscape(res.issuer), res.nameQualifier, res.sourceIdentity,
		xmlEscape(res.subject), xmlEscape(res.subjectType), reqID)
}

type fakeResult struct {
	audience, roleID, roleARN, keyID, secret, token string
	expiration                                      time.Time
	issuer, nameQualifier, sourceIdentity           string
	subject, subjectType                            string
}

func (f *FakeSTS) assume(r *http.Request, call *FakeSTSCall) (fakeResult, *stsFault) {
	var res fakeResult
	if err := r.ParseForm(); err != nil {
		return res, fault(400, "MalformedQueryString", "%v", err)
	}
	if a := r.Form.Get("Action"); a != "AssumeRoleWithSAML" {
		return res, fault(400, "InvalidAction", "Could not find operation %s for version %s", a, r.Form.Get("Version"))
	}
	if v := r.Form.Get("Version"); v != "2011-06-15" {
		return res, fault(400, "InvalidAction", "Could not find operation AssumeRoleWithSAML for version %s", v)
	}
	call.RoleARN, call.PrincipalARN = r.Form.Get("RoleArn"), r.Form.Get("PrincipalArn")
	for _, p := range []string{"RoleArn", "PrincipalArn", "SAMLAssertion"} {
		if r.Form.Get(p) == "" {
			return res, fault(400, "MissingParameter", "The request must contain the parameter %s", p)
		}
	}
	call.DurationSeconds = 3600
	if d := r.Form.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 900 || n > 43200 {
			return res, fault(400, "ValidationError", "1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200", d)
		}
		call.DurationSeconds = n
	}
	f.mu.Lock()
	p := f.providers[call.PrincipalARN]
	f.mu.Unlock()
	if p == nil {
		return res, fault(400, "InvalidIdentityToken", "Specified provider doesn't exist: %s", call.PrincipalARN)
	}
	roleAcct, roleName, ok := parseRoleARN(call.RoleARN)
	if !ok || roleAcct != p.AccountID {
		return res, fault(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML")
	}
	now := f.now()
	sp := &saml2.SAMLServiceProvider{
		IdentityProviderIssuer:      p.entityID,
		AssertionConsumerServiceURL: p.SignInURL,
		AudienceURI:                 FakeSTSAudience,
		IDPCertificateStore:         &dsig.MemoryX509CertificateStore{Roots: p.certs},
		Clock:                       dsig.NewFakeClockAt(now),
	}
	info, err := sp.RetrieveAssertionInfo(r.Form.Get("SAMLAssertion"))
	if err != nil {
		var ve saml2.ErrVerification
		var iv saml2.ErrInvalidValue
		if errors.As(err, &ve) && errors.As(ve.Cause, &iv) && iv.Reason == saml2.ReasonExpired {
			return res, fault(400, "ExpiredTokenException", "Token must be fresh: the SAML assertion expired")
		}
		return res, fault(400, "InvalidIdentityToken", "Invalid SAML response: %v", err)
	}
	if info.WarningInfo.NotInAudience {
		return res, fault(400, "InvalidIdentityToken", "Audience in the SAML assertion is not %s", FakeSTSAudience)
	}
	if info.WarningInfo.InvalidTime {
		return res, fault(400, "ExpiredTokenException", "Token must be fresh: the SAML assertion is outside its NotBefore/NotOnOrAfter window")
	}
	attrs := map[string][]string{}
	for name, a := range info.Values {
		for _, v := range a.Values {
			attrs[name] = append(attrs[name], v.Value)
		}
	}
	call.Attributes, call.NameID = attrs, info.NameID
	const prefix = "https://aws.amazon.com/SAML/Attributes/"
	inRole := false
	for _, v := range attrs[prefix+"Role"] {
		parts := strings.Split(v, ",")
		if len(parts) == 2 && (parts[0] == call.RoleARN && parts[1] == call.PrincipalARN || parts[1] == call.RoleARN && parts[0] == call.PrincipalARN) {
			inRole = true
		}
	}
	if !inRole {
		return res, fault(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML")
	}
	names := attrs[prefix+"RoleSessionName"]
	if len(names) != 1 || !fakeSessionNameRE.MatchString(names[0]) {
		return res, fault(400, "InvalidIdentityToken", "The RoleSessionName attribute is missing or does not satisfy [\\w+=,.@-]{2,64}")
	}
	if sd := attrs[prefix+"SessionDuration"]; len(sd) > 0 {
		n, err := strconv.Atoi(sd[0])
		if err != nil || len(sd) != 1 || n < 900 || n > 43200 {
			return res, fault(400, "InvalidIdentityToken", "Invalid SessionDuration attribute %q", strings.Join(sd, ","))
		}
		if call.DurationSeconds > n {
			return res, fault(400, "ValidationError", "The requested DurationSeconds (%d) exceeds the SessionDuration (%d) in the SAML assertion", call.DurationSeconds, n)
		}
	}
	res.expiration = now.Add(time.Duration(call.DurationSeconds) * time.Second).Truncate(time.Second)
	if info.SessionNotOnOrAfter != nil && info.SessionNotOnOrAfter.Before(res.expiration) {
		res.expiration = info.SessionNotOnOrAfter.UTC().Truncate(time.Second)
	}
	if si := attrs[prefix+"SourceIdentity"]; len(si) == 1 {
		res.sourceIdentity = "\n    <SourceIdentity>" + xmlEscape(si[0]) + "</SourceIdentity>"
	}
	sum := sha256.Sum256([]byte(call.RoleARN))
	res.roleID = "AROA" + strings.ToUpper(hex.EncodeToString(sum[:8])) + ":" + names[0]
	res.roleARN = "arn:aws:sts::" + p.AccountID + ":assumed-role/" + roleName + "/" + names[0]
	res.audience = p.SignInURL
	res.issuer = p.entityID
	q := sha1.Sum([]byte(p.entityID + p.AccountID + "/" + p.Name))
	res.nameQualifier = base64.StdEncoding.EncodeToString(q[:])
	res.subject = info.NameID
	res.subjectType = subjectType(info.NameIDFormat)
	res.keyID = "ASIA" + randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
	res.secret = randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
	res.token = "FakeSTS" + randomString(120, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
	return res, nil
}

func parseRoleARN(arn string) (account, name string, ok bool) {
	const prefix = "arn:aws:iam::"
	rest, found := strings.CutPrefix(arn, prefix)
	if !found {
		return "", "", false
	}
	account, path, found := strings.Cut(rest, ":role/")
	if !found || len(account) != 12 || path == "" {
		return "", "", false
	}
	return account, path[strings.LastIndex(path, "/")+1:], true
}

func subjectType(format string) string {
	switch format {
	case "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent":
		return "persistent"
	case "urn:oasis:names:tc:SAML:2.0:nameid-format:transient":
		return "transient"
	}
	return format
}

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
