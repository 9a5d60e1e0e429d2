package mail

import "crypto/x509"

// SetRootCAs makes s trust pool instead of the system roots. The external
// tests (package mail_test, which may import testenv) use it to verify the
// SMTP sink's self-signed certificate.
func SetRootCAs(s *SMTP, pool *x509.CertPool) { s.rootCAs = pool }
