package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/saml"
)

// wireApps builds the applications service: SAML service providers, their
// signing certificates (private keys sealed with the master key), their
// assignments and the template catalog. The admin API manages them; the SAML
// endpoints and the portal read them. It also sets up the periodic refresh
// of SP metadata fetched by URL (RefreshMetadata, run by the janitor) and
// its failure counter.
func (a *App) wireApps() {
	a.Apps = &apps.Service{Store: a.Store.Apps(), Keys: a.Keys}
	a.FetchSPMetadata = func(ctx context.Context, url string) (*apps.SPMetadata, error) {
		md, err := saml.FetchSPMetadata(ctx, url, saml.FetchOptions{})
		if err != nil {
			return nil, err
		}
		return saml.AppMetadata(md)
	}
	a.metadataRefreshFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "idcenter_app_metadata_refresh_failures_total",
		Help: "Refreshes of SP metadata by URL that failed (fetch, trust checks or validation); the application kept its settings.",
	})
	if a.metrics != nil {
		a.metrics.reg.MustRegister(a.metadataRefreshFailures)
	}
}

// RefreshMetadata refreshes the SP metadata of every application created
// from a metadata URL whose copy is older than apps.metadata_refresh_interval
// (apps.Service.RefreshMetadata), fetching with FetchSPMetadata. Failures
// are counted in idcenter_app_metadata_refresh_failures_total and logged.
// A zero interval turns it off.
func (a *App) RefreshMetadata(ctx context.Context) (apps.RefreshResult, error) {
	interval := a.Config.Apps.MetadataRefreshInterval
	if interval <= 0 || a.Apps == nil || a.FetchSPMetadata == nil {
		return apps.RefreshResult{}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	res, err := a.Apps.RefreshMetadata(ctx, a.FetchSPMetadata, interval)
	if res.Failed > 0 {
		a.metadataRefreshFailures.Add(float64(res.Failed))
		a.Log.Warn("SP metadata refresh failed for some applications; they keep their settings (see each application's metadataRefresh.error)",
			"failed", res.Failed)
	}
	if res.Changed > 0 {
		a.Log.Info("applied refreshed SP metadata", "changed", res.Changed, "checked", res.Checked)
	}
	return res, err
}
