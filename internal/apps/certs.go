package apps

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/errs"
)

// Signing key sizes.
const (
	DefaultKeyBits = 2048
	// DefaultCertValidity is the lifetime of a generated signing certificate.
	DefaultCertValidity = 5 * 365 * 24 * time.Hour
)

func keyBits(n int) (int, error) {
	switch n {
	case 0:
		return DefaultKeyBits, nil
	case 2048, 3072:
		return n, nil
	}
	return 0, errs.Invalidf("keyBits", "must be 2048 or 3072")
}

// keyAAD binds a sealed private key to its row.
func keyAAD(certID string) []byte { return []byte("app_certificates.private_key:" + certID) }

// newCertificate generates an RSA key and a self-signed certificate for an
// application (CN = its name) and returns the certificate record and the
// PKCS#8 private key sealed with the master key.
func (s *Service) newCertificate(appID, name string, bits int, status string) (Certificate, string, error) {
	if s.Keys == nil {
		return Certificate{}, "", errors.New("apps: no keyring configured")
	}
	gen := s.GenerateKey
	if gen == nil {
		gen = func(bits int) (*rsa.PrivateKey, error) { return rsa.GenerateKey(s.rand(), bits) }
	}
	key, err := gen(bits)
	if err != nil {
		return Certificate{}, "", fmt.Errorf("generate signing key: %w", err)
	}
	serial, err := randSerial(s)
	if err != nil {
		return Certificate{}, "", err
	}
	validity := s.CertValidity
	if validity <= 0 {
		validity = DefaultCertValidity
	}
	now := s.now()
	notBefore := now.Add(-time.Minute).Truncate(time.Second) // tolerate SP clocks a little behind
	cn := []rune(name)
	if len(cn) > 64 { // ub-common-name
		cn = cn[:64]
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: string(cn)},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(s.rand(), tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return Certificate{}, "", fmt.Errorf("create certificate: %w", err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		return Certificate{}, "", err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Certificate{}, "", err
	}
	c := Certificate{
		ID: newID(), AppID: appID, Status: status,
		NotBefore: parsed.NotBefore.UTC(), NotAfter: parsed.NotAfter.UTC(),
		PEM:       string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		CreatedAt: now,
	}
	decorate(&c)
	return c, s.Keys.Seal(pkcs8, keyAAD(c.ID)), nil
}

func randSerial(s *Service) (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := s.rand().Read(b); err != nil {
		return nil, err
	}
	b[0] &= 0x7f
	return new(big.Int).SetBytes(b), nil
}

// decorate fills the fields derived from the certificate itself.
func decorate(c *Certificate) {
	x, _, err := ParseCertificate(c.PEM)
	if err != nil {
		return
	}
	c.SHA256 = Fingerprint(x)
	if k, ok := x.PublicKey.(*rsa.PublicKey); ok {
		c.KeyBits = k.N.BitLen()
	}
}

var statusOrder = map[string]int{CertActive: 0, CertNext: 1, CertRetired: 2}

func (s *Service) certificates(ctx context.Context, r Reader, appID string) ([]Certificate, error) {
	cs, err := r.ListAppCertificates(ctx, appID)
	if err != nil {
		return nil, err
	}
	for i := range cs {
		decorate(&cs[i])
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if statusOrder[cs[i].Status] != statusOrder[cs[j].Status] {
			return statusOrder[cs[i].Status] < statusOrder[cs[j].Status]
		}
		return cs[i].CreatedAt.After(cs[j].CreatedAt)
	})
	return cs, nil
}

// ListCertificates lists the application's signing certificates: the
// active one, then the next one, then retired ones, newest first.
func (s *Service) ListCertificates(ctx context.Context, actor audit.Actor, appKey string) ([]Certificate, error) {
	if err := canRead(actor); err != nil {
		return nil, err
	}
	app, err := resolveApp(ctx, s.Store, appKey)
	if err != nil {
		return nil, err
	}
	return s.certificates(ctx, s.Store, app.ID)
}

// ActiveCertificate returns the certificate the application's responses
// are signed with (for download as PEM).
func (s *Service) ActiveCertificate(ctx context.Context, actor audit.Actor, appKey string) (Certificate, error) {
	if err := canRead(actor); err != nil {
		return Certificate{}, err
	}
	app, err := resolveApp(ctx, s.Store, appKey)
	if err != nil {
		return Certificate{}, err
	}
	return s.activeCertificate(ctx, app.ID)
}

func (s *Service) activeCertificate(ctx context.Context, appID string) (Certificate, error) {
	cs, err := s.certificates(ctx, s.Store, appID)
	if err != nil {
		return Certificate{}, err
	}
	for _, c := range cs {
		if c.Status == CertActive {
			return c, nil
		}
	}
	return Certificate{}, errs.NotFound("active certificate of app", appID)
}

// PublishedKeys is what an application's IdP metadata is built from.
type PublishedKeys struct {
	// Certificates are the certificates the metadata publishes: the active
	// one, then the next one if any, so service providers trust the next
	// key before it starts signing.
	Certificates []Certificate
	// Signer is the active certificate's private key: it signs the
	// metadata document. Never serialised.
	Signer crypto.Signer `json:"-"`
	// Active is the certificate of Signer.
	Active Certificate
	// At is when the keys were read, by the service's clock; the metadata's
	// validity counts from it.
	At time.Time
}

// PublishedCertificates returns what IdP metadata publishes for the
// application, and the active key that signs it (PublishedKeys). Only the
// metadata builders call it.
func (s *Service) PublishedCertificates(ctx context.Context, appID string) (PublishedKeys, error) {
	cs, err := s.certificates(ctx, s.Store, appID)
	if err != nil {
		return PublishedKeys{}, err
	}
	out := PublishedKeys{At: s.now()}
	for _, c := range cs {
		if c.Status == CertActive || c.Status == CertNext {
			out.Certificates = append(out.Certificates, c)
		}
	}
	if out.Signer, out.Active, err = s.SigningKey(ctx, appID); err != nil {
		return PublishedKeys{}, err
	}
	return out, nil
}

// SigningKey opens the private key of the application's active certificate,
// for the SAML endpoints to sign with.
func (s *Service) SigningKey(ctx context.Context, appID string) (crypto.Signer, Certificate, error) {
	c, err := s.activeCertificate(ctx, appID)
	if err != nil {
		return nil, Certificate{}, err
	}
	sealed, err := s.Store.AppCertificateKey(ctx, c.ID)
	if err != nil {
		return nil, Certificate{}, err
	}
	der, err := s.Keys.Open(sealed, keyAAD(c.ID))
	if err != nil {
		return nil, Certificate{}, fmt.Errorf("certificate %s: %w", c.ID, err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, Certificate{}, fmt.Errorf("certificate %s: private key: %w", c.ID, err)
	}
	signer, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, Certificate{}, fmt.Errorf("certificate %s: not an RSA key", c.ID)
	}
	x, _, err := ParseCertificate(c.PEM)
	if err != nil || !signer.PublicKey.Equal(x.PublicKey) {
		return nil, Certificate{}, fmt.Errorf("certificate %s: private key does not match the certificate", c.ID)
	}
	return signer, c, nil
}

// AddCertificate generates the application's next signing certificate.
// Metadata publishes it beside the active one until it is activated. There
// is at most one next certificate.
func (s *Service) AddCertificate(ctx context.Context, actor audit.Actor, appKey string, bits int) (Certificate, error) {
	return s.AddScheduledCertificate(ctx, actor, appKey, bits, time.Time{})
}

// AddScheduledCertificate is AddCertificate with an optional activation
// time: when activateAt is not zero it must be in the future, and
// ActivateDue (run by the server's janitor) makes the certificate active
// once that time has passed. An admin may still activate or remove it
// before then.
func (s *Service) AddScheduledCertificate(ctx context.Context, actor audit.Actor, appKey string, bits int, activateAt time.Time) (Certificate, error) {
	if err := canWrite(actor); err != nil {
		return Certificate{}, err
	}
	bits, err := keyBits(bits)
	if err != nil {
		return Certificate{}, err
	}
	if !activateAt.IsZero() {
		activateAt = activateAt.UTC().Truncate(time.Microsecond)
		if !activateAt.After(s.now()) {
			return Certificate{}, errs.Invalidf("activateAt", "must be in the future")
		}
	}
	app, err := resolveApp(ctx, s.Store, appKey)
	if err != nil {
		return Certificate{}, err
	}
	if err := s.noNext(ctx, s.Store, app.ID); err != nil {
		return Certificate{}, err // fail fast, before generating a key
	}
	cert, sealed, err := s.newCertificate(app.ID, app.DisplayName, bits, CertNext)
	if err != nil {
		return Certificate{}, err
	}
	if !activateAt.IsZero() {
		if !activateAt.Before(cert.NotAfter) {
			return Certificate{}, errs.Invalidf("activateAt", "must be before the certificate expires (%s)", cert.NotAfter.Format(time.RFC3339))
		}
		cert.ActivateAt = &activateAt
	}
	err = s.Store.WithTx(ctx, func(tx Tx) error {
		app, err := tx.GetApp(ctx, app.ID)
		if err != nil {
			return err
		}
		if err := s.noNext(ctx, tx, app.ID); err != nil {
			return err
		}
		if err := tx.InsertAppCertificate(ctx, cert, sealed); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, audit.New(ctx, actor, "app.certificate.add", "app", app.ID, app.DisplayName,
			map[string]any{"certificate": certSummary(cert)}))
	})
	if err != nil {
		return Certificate{}, err
	}
	return cert, nil
}

func (s *Service) noNext(ctx context.Context, r Reader, appID string) error {
	cs, err := r.ListAppCertificates(ctx, appID)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.Status == CertNext {
			return &errs.Conflict{Kind: "certificate", Field: "status", Value: CertNext}
		}
	}
	return nil
}

// ActivateCertificate makes a next (or retired) certificate the active one;
// the previous active certificate becomes retired and stays listed until
// removed, so the switch can be undone.
func (s *Service) ActivateCertificate(ctx context.Context, actor audit.Actor, appKey, certID string) (Certificate, error) {
	if err := canWrite(actor); err != nil {
		return Certificate{}, err
	}
	var out Certificate
	err := s.Store.WithTx(ctx, func(tx Tx) error {
		app, err := resolveApp(ctx, tx, appKey)
		if err != nil {
			return err
		}
		cs, err := s.certificates(ctx, tx, app.ID)
		if err != nil {
			return err
		}
		var target, prev *Certificate
		for i := range cs {
			if cs[i].ID == certID {
				target = &cs[i]
			}
			if cs[i].Status == CertActive {
				prev = &cs[i]
			}
		}
		if target == nil {
			return errs.NotFound("certificate", certID)
		}
		if target.Status == CertActive {
			out = *target
			return nil
		}
		if !target.NotAfter.After(s.now()) {
			return errs.Invalidf("certificate", "expired on %s; add a new certificate instead", target.NotAfter.Format(time.RFC3339))
		}
		summary := map[string]any{"certificate": certSummary(*target)}
		if prev != nil {
			if ok, err := tx.SetAppCertificateStatus(ctx, prev.ID, CertActive, CertRetired); err != nil {
				return err
			} else if !ok {
				return &errs.Conflict{Kind: "certificate", Stale: true}
			}
			summary["retired"] = prev.ID
		}
		ok, err := tx.SetAppCertificateStatus(ctx, target.ID, target.Status, CertActive)
		if err != nil {
			return err
		}
		if !ok {
			return &errs.Conflict{Kind: "certificate", Stale: true}
		}
		target.Status = CertActive
		out = *target
		return tx.AppendAudit(ctx, audit.New(ctx, actor, "app.certificate.activate", "app", app.ID, app.DisplayName, summary))
	})
	return out, err
}

// RemoveCertificate deletes a next or retired certificate and its key. The
// active certificate cannot be removed.
func (s *Service) RemoveCertificate(ctx context.Context, actor audit.Actor, appKey, certID string) error {
	if err := canWrite(actor); err != nil {
		return err
	}
	return s.Store.WithTx(ctx, func(tx Tx) error {
		app, err := resolveApp(ctx, tx, appKey)
		if err != nil {
			return err
		}
		cs, err := s.certificates(ctx, tx, app.ID)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.ID != certID {
				continue
			}
			if c.Status == CertActive {
				return errs.Invalidf("certificate", "is the active certificate; activate another one before removing it")
			}
			ok, err := tx.DeleteAppCertificate(ctx, c.ID)
			if err != nil {
				return err
			}
			if !ok {
				return errs.NotFound("certificate", certID)
			}
			return tx.AppendAudit(ctx, audit.New(ctx, actor, "app.certificate.remove", "app", app.ID, app.DisplayName,
				map[string]any{"certificate": certSummary(c)}))
		}
		return errs.NotFound("certificate", certID)
	})
}

// ActivateDue activates every next certificate whose scheduled activation
// time is at or before now, each application in its own transaction; the
// previously active certificate is retired. It returns how many it
// activated. The audit event is "app.certificate.activate" by the system
// actor. It is idempotent and safe to run on several replicas at once: a
// guarded UPDATE claims each certificate, so only one caller activates it.
// A failure on one application does not stop the others; the errors are
// joined.
func (s *Service) ActivateDue(ctx context.Context, now time.Time) (int, error) {
	now = now.UTC().Truncate(time.Microsecond)
	due, err := s.Store.ListDueAppCertificates(ctx, now)
	if err != nil {
		return 0, err
	}
	var n int
	var errList []error
	for _, c := range due {
		activated := false
		err := s.Store.WithTx(ctx, func(tx Tx) error {
			activated = false
			claimed, err := tx.ClaimDueAppCertificate(ctx, c.ID, now)
			if err != nil || !claimed {
				return err // another replica (or an admin) got there first
			}
			app, err := tx.GetApp(ctx, c.AppID)
			if err != nil {
				return err
			}
			cs, err := s.certificates(ctx, tx, app.ID)
			if err != nil {
				return err
			}
			var target, prev *Certificate
			for i := range cs {
				if cs[i].ID == c.ID {
					target = &cs[i]
				}
				if cs[i].Status == CertActive {
					prev = &cs[i]
				}
			}
			if target == nil || target.Status != CertNext {
				return nil
			}
			target.ActivateAt = c.ActivateAt // the claim cleared it; the audit event keeps it
			summary := map[string]any{"certificate": certSummary(*target), "scheduled": true}
			if prev != nil {
				if ok, err := tx.SetAppCertificateStatus(ctx, prev.ID, CertActive, CertRetired); err != nil {
					return err
				} else if !ok {
					return &errs.Conflict{Kind: "certificate", Stale: true}
				}
				summary["retired"] = prev.ID
			}
			ok, err := tx.SetAppCertificateStatus(ctx, target.ID, CertNext, CertActive)
			if err != nil {
				return err
			}
			if !ok {
				return &errs.Conflict{Kind: "certificate", Stale: true}
			}
			activated = true
			return tx.AppendAudit(ctx, audit.New(ctx, audit.System, "app.certificate.activate", "app", app.ID, app.DisplayName, summary))
		})
		if err != nil {
			errList = append(errList, fmt.Errorf("activate certificate %s of app %s: %w", c.ID, c.AppID, err))
			continue
		}
		if activated {
			n++
		}
	}
	return n, errors.Join(errList...)
}
