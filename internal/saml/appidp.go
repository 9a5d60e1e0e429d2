package saml

import (
	"crypto"
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

// AppIdPMetadata builds the (unsigned) IdP metadata XML of an application:
// its entity ID, SSO and SLO URLs, the published certificates
// (apps.Service.PublishedCertificates: the active one, plus the next one
// during rotation), its Name ID format and WantAuthnRequestsSigned.
func AppIdPMetadata(base string, app apps.Application, published []apps.Certificate) ([]byte, error) {
	u := IdPURLsFor(base, app.ID)
	md := IdPMetadata{
		EntityID:                u.EntityID,
		WantAuthnRequestsSigned: app.RequireSignedRequests,
		SSOURL:                  u.SSOURL,
		SLOURL:                  u.SLOURL,
	}
	for _, c := range published {
		x, err := DecodeCertificatePEM([]byte(c.PEM))
		if err != nil {
			return nil, fmt.Errorf("application %s certificate %s: %w", app.ID, c.ID, err)
		}
		md.SigningCertificates = append(md.SigningCertificates, x)
	}
	if f := apps.NameIDFormatURN(app.NameIDFormat); f != "" {
		md.NameIDFormats = []string{f}
	}
	return BuildIdPMetadata(md, nil)
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
