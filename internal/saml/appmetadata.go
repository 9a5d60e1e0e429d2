package saml

import (
	"errors"
	"fmt"

	"github.com/idcenter/idcenter/internal/apps"
)

// AppMetadata converts SP metadata parsed by ParseSPMetadata into what
// apps.Service.Create reads. It lives here rather than in apps, which knows
// no XML (and which the store, and so this package's tests, import).
// idcenter answers with the HTTP-POST binding only, so other ACS endpoints
// (Artifact, PAOS) are left out; metadata without an HTTP-POST ACS is an
// error. The first SLO endpoint and the first encryption certificate are
// kept. The source URL and validUntil are passed on, with a check of the
// document's signature (apps.SPMetadata.VerifySignature) that the
// applications service runs when the application names a metadata signing
// certificate. The caller names the field in errors.
func AppMetadata(md *SPMetadata) (*apps.SPMetadata, error) {
	out := &apps.SPMetadata{EntityID: md.EntityID, AuthnRequestsSigned: md.AuthnRequestsSigned, NameIDFormats: md.NameIDFormats,
		URL: md.SourceURL, ValidUntil: md.ValidUntil}
	if md.raw != nil {
		out.VerifySignature = func(certPEM string) error {
			c, _, err := apps.ParseCertificate(certPEM)
			if err != nil {
				return fmt.Errorf("metadata signing certificate %v", err)
			}
			return md.VerifySignature(c)
		}
	}
	for _, e := range md.AssertionConsumerServices {
		if e.Binding == BindingHTTPPOST {
			out.ACS = append(out.ACS, apps.ACS{URL: e.Location, Binding: e.Binding, Index: e.Index, Default: e.IsDefault != nil && *e.IsDefault})
		}
	}
	if len(out.ACS) == 0 {
		return nil, errors.New("has no AssertionConsumerService with the HTTP-POST binding")
	}
	if len(md.SingleLogoutServices) > 0 {
		out.SLOURL, out.SLOBinding = md.SingleLogoutServices[0].Location, md.SingleLogoutServices[0].Binding
	}
	for _, c := range md.SigningCertificates {
		out.SigningCertificates = append(out.SigningCertificates, string(EncodeCertificatePEM(c)))
	}
	if len(md.EncryptionCertificates) > 0 {
		out.EncryptionCertificate = string(EncodeCertificatePEM(md.EncryptionCertificates[0]))
	}
	return out, nil
}
