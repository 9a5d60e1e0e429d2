package apps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/errs"
)

// DefaultMetadataRefreshInterval is how old an application's SP metadata
// may get before RefreshMetadata fetches it again.
const DefaultMetadataRefreshInterval = 24 * time.Hour

// maxRefreshErrorLen bounds the refresh error kept with an application.
const maxRefreshErrorLen = 1000

// MetadataFetcher fetches and parses the SP metadata at an https URL
// (saml.FetchSPMetadata then saml.AppMetadata; wired by internal/app, since
// this package knows no XML and no HTTP).
type MetadataFetcher func(ctx context.Context, url string) (*SPMetadata, error)

// CheckMetadata applies idcenter's trust rules to SP metadata before it is
// used (IDP-04): metadata whose validUntil has passed is refused, and
// metadata fetched by URL must carry a valid enveloped signature by
// signingCert (PEM) when one is given; without one, the https connection
// it was fetched over is the trust. The error names spMetadataUrl for
// fetched metadata, spMetadata for uploaded metadata.
func (s *Service) CheckMetadata(md *SPMetadata, signingCert string) error {
	if md == nil {
		return nil
	}
	field := "spMetadata"
	if md.URL != "" {
		field = "spMetadataUrl"
	}
	if !md.ValidUntil.IsZero() && !md.ValidUntil.After(s.now()) {
		return errs.Invalidf(field, "has expired: its validUntil (%s) is in the past; the service provider must publish current metadata",
			md.ValidUntil.UTC().Format(time.RFC3339))
	}
	if md.URL != "" && strings.TrimSpace(signingCert) != "" {
		if md.VerifySignature == nil {
			return errs.Invalidf(field, "cannot be checked against the metadata signing certificate")
		}
		if err := md.VerifySignature(signingCert); err != nil {
			return errs.Invalidf(field, "is refused: %v", err)
		}
	}
	return nil
}

// RefreshResult counts what one RefreshMetadata run did.
type RefreshResult struct {
	Checked int // metadata fetched and accepted
	Changed int // of which changed the application's settings
	Failed  int // refused or not fetched: the application kept its settings
}

// RefreshMetadata fetches again the SP metadata of every application that
// has an SP metadata URL and whose last attempt is at least interval old
// (0 means DefaultMetadataRefreshInterval). Changed ACS URLs, SLO URL and SP
// signing and encryption certificates are applied through the service,
// audited as "app.metadata.refresh" by the system actor in the same
// transaction that records the refresh. A failure (fetch, CheckMetadata,
// another entity ID, validation) keeps the current settings and records the
// error with the application (Application.MetadataRefresh). Each refresh is
// claimed first by a guarded UPDATE of the attempt time, so of several
// replicas only one fetches a given application per interval. Errors of
// the store are joined into the returned error; per-application failures
// are only counted.
func (s *Service) RefreshMetadata(ctx context.Context, fetch MetadataFetcher, interval time.Duration) (RefreshResult, error) {
	var res RefreshResult
	if fetch == nil {
		return res, errors.New("apps: no metadata fetcher")
	}
	if interval <= 0 {
		interval = DefaultMetadataRefreshInterval
	}
	now := s.now()
	due, err := s.Store.ListMetadataRefreshDue(ctx, now.Add(-interval))
	if err != nil {
		return res, err
	}
	var storeErrs []error
	for _, app := range due {
		claimed := false
		err := s.Store.WithTx(ctx, func(tx Tx) error {
			var err error
			claimed, err = tx.ClaimMetadataRefresh(ctx, app.ID, now, now.Add(-interval))
			return err
		})
		if err != nil {
			storeErrs = append(storeErrs, fmt.Errorf("claim metadata refresh of app %s: %w", app.ID, err))
			continue
		}
		if !claimed {
			continue // another replica refreshes it
		}
		changed, err := s.refreshOne(ctx, fetch, app, now)
		if err == nil {
			res.Checked++
			if changed {
				res.Changed++
			}
			continue
		}
		if ctx.Err() != nil {
			return res, errors.Join(append(storeErrs, ctx.Err())...)
		}
		res.Failed++
		msg := err.Error()
		if len(msg) > maxRefreshErrorLen {
			msg = msg[:maxRefreshErrorLen] + "…"
		}
		if err := s.Store.WithTx(ctx, func(tx Tx) error {
			return tx.SetMetadataRefreshResult(ctx, app.ID, nil, msg)
		}); err != nil {
			storeErrs = append(storeErrs, fmt.Errorf("record metadata refresh error of app %s: %w", app.ID, err))
		}
	}
	return res, errors.Join(storeErrs...)
}

// refreshOne fetches and applies one application's metadata; it reports
// whether the settings changed.
func (s *Service) refreshOne(ctx context.Context, fetch MetadataFetcher, app Application, now time.Time) (bool, error) {
	md, err := fetch(ctx, app.SPMetadataURL)
	if err != nil {
		return false, err
	}
	md.URL = app.SPMetadataURL
	if err := s.CheckMetadata(md, app.SPMetadataSigningCertificate); err != nil {
		return false, err
	}
	changed := false
	err = s.Store.WithTx(ctx, func(tx Tx) error {
		cur, err := tx.GetApp(ctx, app.ID)
		if err != nil {
			return err
		}
		if cur.SPMetadataURL != app.SPMetadataURL {
			return errors.New("the metadata URL changed during the refresh")
		}
		if md.EntityID != cur.EntityID {
			return errs.Invalidf("spMetadataUrl", "names entity ID %q, but the application's is %q; not applied", md.EntityID, cur.EntityID)
		}
		out, err := s.updateTx(ctx, tx, audit.System, cur, cur.Version, "app.metadata.refresh", func(a *Application) error {
			applyRefreshedMetadata(a, md)
			return nil
		})
		if err != nil {
			return err
		}
		changed = out.Version != cur.Version
		return tx.SetMetadataRefreshResult(ctx, app.ID, &now, "")
	})
	return changed, err
}

// applyRefreshedMetadata copies what refreshed SP metadata defines into a:
// the ACS endpoints (keeping nothing the metadata dropped), the SLO
// endpoint, the SP signing certificates and the encryption certificate.
// Settings that are the admin's (Name ID, attributes, signing and
// encryption choices) stay.
func applyRefreshedMetadata(a *Application, md *SPMetadata) {
	if len(md.ACS) > 0 {
		a.ACS = slices.Clone(md.ACS)
	}
	a.SLOURL, a.SLOBinding = md.SLOURL, md.SLOBinding
	a.SigningCertificates = slices.Clone(md.SigningCertificates)
	a.EncryptionCertificate = md.EncryptionCertificate
}
