// Package saml is idcenter's SAML 2.0 toolkit for the identity-provider side:
// untrusted-XML parsing with hard limits (DTDs refused, round-trip
// validated), AuthnRequest and LogoutRequest parsing for the HTTP-Redirect
// and HTTP-POST bindings with signature verification, signed Response and
// LogoutResponse building on goxmldsig and etree, optional assertion
// encryption, signing keys, IdP metadata generation, SP metadata parsing and
// the auto-POST form.
//
// It has no HTTP handlers and no store: callers pass bytes, certificates and
// a clock, and get values or errors back. Parsing an inbound message is two
// steps, because the certificates to check it with depend on its Issuer:
// Parse… returns the message with Signed set, the caller looks the issuer up,
// then Verify checks the signature against that SP's certificates and Check
// applies the freshness, destination and version rules.
//
// docs/saml.md describes the algorithms, limits and AuthnContext choices.
package saml
