package saml

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/idcenter/idcenter/internal/apps"
)

// AppPathPrefix is the path prefix of every per-application IdP endpoint
// (internal/saml/idp mounts them under it).
const AppPathPrefix = "/saml/apps/"

// AppIdPURLs are the IdP's addresses for one application.
type AppIdPURLs struct {
	EntityID    string // {base}/saml/apps/{appID}
	SSOURL      string // …/sso (HTTP-Redirect and HTTP-POST)
	SLOURL      string // …/slo
	MetadataURL string // …/metadata
	StartURL    string // …/start (IdP-initiated)
}

// IdPURLsFor builds the IdP's addresses for the application appID from the
// public base URL (no trailing slash: config.PublicURL). It is the one place
// they are built: the admin API reports them, and the SAML endpoints
// (internal/saml/idp) are meant to use it too.
func IdPURLsFor(base, appID string) AppIdPURLs {
	e := base + AppPathPrefix + appID
	return AppIdPURLs{EntityID: e, SSOURL: e + "/sso", SLOURL: e + "/slo", MetadataURL: e + "/metadata", StartURL: e + "/start"}
}

// Validity of the per-application IdP metadata (AppIdPMetadata).
const (
	// IdPMetadataValidity is the least time a served metadata document stays
	// valid: validUntil is the first midnight (UTC) at least this far ahead,
	// so it is 7 to 8 days away and the document stays the same all day.
	IdPMetadataValidity = 7 * 24 * time.Hour
	// IdPMetadataCacheDuration is the cacheDuration published: how long an
	// SP may use its copy before fetching it again. A next certificate is
	// published well before it signs, so a daily fetch picks it up.
	IdPMetadataCacheDuration = 24 * time.Hour
)

// AppIdPMetadata builds the signed IdP metadata XML of an application: its
// entity ID, SSO and SLO URLs, the published certificates (the active one,
// plus the next one during rotation), its Name ID format,
// WantAuthnRequestsSigned, validUntil and cacheDuration. The
// EntityDescriptor is signed (enveloped, RSA-SHA256, exclusive c14n) with
// the active certificate's key (pub.Signer). It is the one function behind
// every way the metadata is served (the metadata URL, the admin API and so
// the CLI), and it is deterministic for a given application, keys and UTC
// day: the document's ID is a digest of the unsigned document, validUntil
// moves once a day, and RSA PKCS #1 v1.5 signatures are deterministic. So
// two fetches on the same day get the same bytes.
func AppIdPMetadata(base string, app apps.Application, pub apps.PublishedKeys) ([]byte, error) {
	u := IdPURLsFor(base, app.ID)
	at := pub.At
	if at.IsZero() {
		at = time.Now()
	}
	md := IdPMetadata{
		EntityID:                u.EntityID,
		WantAuthnRequestsSigned: app.RequireSignedRequests,
		SSOURL:                  u.SSOURL,
		SLOURL:                  u.SLOURL,
		ValidUntil:              IdPMetadataValidUntil(at),
		CacheDuration:           IdPMetadataCacheDuration,
	}
	if app.Template == apps.TemplateAWSAccount {
		// AWS IAM copies validUntil into the SAML provider's expiry; a
		// provider must not lapse a week after `idcenter aws render`.
		md.ValidUntil = time.Time{}
	}
	for _, c := range pub.Certificates {
		x, err := DecodeCertificatePEM([]byte(c.PEM))
		if err != nil {
			return nil, fmt.Errorf("application %s certificate %s: %w", app.ID, c.ID, err)
		}
		md.SigningCertificates = append(md.SigningCertificates, x)
	}
	if f := apps.NameIDFormatURN(app.NameIDFormat); f != "" {
		md.NameIDFormats = []string{f}
	}
	if pub.Signer == nil {
		return nil, fmt.Errorf("application %s: no active signing key to sign the metadata with", app.ID)
	}
	cert, err := DecodeCertificatePEM([]byte(pub.Active.PEM))
	if err != nil {
		return nil, fmt.Errorf("application %s certificate %s: %w", app.ID, pub.Active.ID, err)
	}
	signer, err := NewSigner(pub.Signer, cert)
	if err != nil {
		return nil, fmt.Errorf("application %s: %w", app.ID, err)
	}
	unsigned, err := BuildIdPMetadata(md, nil)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(unsigned)
	md.ID = "_" + hex.EncodeToString(sum[:20])
	return BuildIdPMetadata(md, signer)
}

// IdPMetadataValidUntil is the validUntil of metadata served at t: the
// first midnight UTC at least IdPMetadataValidity after t.
func IdPMetadataValidUntil(t time.Time) time.Time {
	return t.UTC().Add(IdPMetadataValidity + 24*time.Hour - 1).Truncate(24 * time.Hour)
}

// AppPreviewResponse builds the SAML Response an application's user would
// receive for preview: IdP-initiated to the preview's destination, signed
// with key/cert in the application's signing mode, never encrypted; the IDs,
// instants and session index are examples made now.
func AppPreviewResponse(base string, app apps.Application, p apps.Preview, key crypto.Signer, certPEM string) ([]byte, error) {
	x, err := DecodeCertificatePEM([]byte(certPEM))
	if err != nil {
		return nil, err
	}
	signer, err := NewSigner(key, x)
	if err != nil {
		return nil, err
	}
	sid, err := NewID(nil)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	ap := AssertionParams{
		Issuer: IdPURLsFor(base, app.ID).EntityID, Audience: app.EntityID, Destination: p.Destination,
		NameID: p.NameID, NameIDFormat: p.NameIDFormat,
		SessionIndex: sid, AuthnInstant: now, AuthnContextClassRef: AuthnContextPassword,
		SessionNotOnOrAfter: now.Add(app.Session()), Now: func() time.Time { return now },
	}
	if p.NameIDFormat == NameIDFormatPersistent {
		ap.SPNameQualifier = app.EntityID
	}
	for _, at := range p.Attributes {
		ap.Attributes = append(ap.Attributes, Attribute{Name: at.Name, NameFormat: at.NameFormat, Values: at.Values})
	}
	return BuildResponse(ap, signer, SignOptions{
		SignResponse:  app.SigningMode != apps.SignAssertion,
		SignAssertion: app.SigningMode != apps.SignResponse,
	})
}
