package app

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/tokens"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are labelled by route pattern and status only: never by user, IP
// or raw path, so cardinality stays bounded.
type metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	storeErrors prometheus.Counter
	errors      *prometheus.CounterVec
	// sso counts SAML sign-in outcomes: result is one of SSOIssued,
	// SSORefused, SSOStatus (a fixed set).
	sso *prometheus.CounterVec
}

// Results of idcenter_saml_sso_total.
const (
	SSOIssued  = "issued"  // a Response with an assertion was posted to the SP
	SSORefused = "refused" // error page, no SAML message (not assigned, unregistered ACS, replay, …)
	SSOStatus  = "status"  // a Response carrying only a non-success status (NoPassive, AuthnFailed, …)
)

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idcenter_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "idcenter_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "idcenter_store_errors_total", Help: "Requests that failed because the store was unavailable or erred.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idcenter_api_errors_total", Help: "Admin API error responses by status.",
		}, []string{"status"}),
	}
	m.sso = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "idcenter_saml_sso_total", Help: "SAML single sign-on outcomes: issued, refused, status.",
	}, []string{"result"})
	for _, r := range []string{SSOIssued, SSORefused, SSOStatus} {
		m.sso.WithLabelValues(r) // export zeroes
	}
	m.reg.MustRegister(m.requests, m.latency, m.storeErrors, m.errors, m.sso,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

var knownMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true}

func (m *metrics) observe(route, method string, status int, d time.Duration) {
	if !knownMethods[method] {
		method = "OTHER"
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
}

func (m *metrics) observeError(status int) {
	m.errors.WithLabelValues(strconv.Itoa(status)).Inc()
	if status >= 500 {
		m.storeErrors.Inc()
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ObserveSSO counts one SAML sign-in outcome (SSOIssued, SSORefused or
// SSOStatus; anything else is ignored, keeping the label set fixed).
func (m *metrics) ObserveSSO(result string) {
	switch result {
	case SSOIssued, SSORefused, SSOStatus:
		m.sso.WithLabelValues(result).Inc()
	}
}

// ssoResult maps the SAML endpoints' audit actions to SSO outcomes.
func ssoResult(action string) string {
	switch action {
	case "saml.sso":
		return SSOIssued
	case "saml.sso.refused":
		return SSORefused
	case "saml.sso.status":
		return SSOStatus
	}
	return ""
}

// certExpiry is a Prometheus collector computing, at scrape time,
// idcenter_app_certificate_expiry_seconds{app}: the seconds until each
// application's active signing certificate expires (negative once expired).
// The app label is the application's display name: admin-controlled and
// bounded by the number of applications, so cardinality stays bounded.
type certExpiry struct {
	apps *apps.Service
	now  func() time.Time
	desc *prometheus.Desc
}

func newCertExpiry(s *apps.Service) *certExpiry {
	return &certExpiry{apps: s, now: time.Now, desc: prometheus.NewDesc("idcenter_app_certificate_expiry_seconds",
		"Seconds until the active SAML signing certificate of the application expires.", []string{"app"}, nil)}
}

func (c *certExpiry) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect lists the applications and their certificates with the system
// actor. A store error leaves the gauge out of this scrape (the rest of
// /metrics still answers; idcenter_store_errors_total and /readyz show the
// outage).
func (c *certExpiry) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := c.apps.List(ctx, audit.System)
	if err != nil {
		return
	}
	now := c.now()
	for _, app := range list {
		certs, err := c.apps.ListCertificates(ctx, audit.System, app.ID)
		if err != nil {
			return
		}
		for _, cert := range certs {
			if cert.Status == apps.CertActive {
				ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, cert.NotAfter.Sub(now).Seconds(), app.DisplayName)
			}
		}
	}
}

// tokenExpiry is a Prometheus collector computing, at scrape time,
// idcenter_token_expiry_seconds{name,role}: the seconds until each
// unrevoked API or SCIM token with an expiry expires (negative once expired;
// revoke an expired token to drop it). Token names are admin-controlled and
// bounded by the number of tokens, so cardinality stays bounded; secrets and
// hints are never labels.
type tokenExpiry struct {
	tokens *tokens.Service
	now    func() time.Time
	desc   *prometheus.Desc
}

func newTokenExpiry(s *tokens.Service) *tokenExpiry {
	return &tokenExpiry{tokens: s, now: time.Now, desc: prometheus.NewDesc("idcenter_token_expiry_seconds",
		"Seconds until the API or SCIM token expires (negative once expired); tokens without expiry and revoked tokens are left out.",
		[]string{"name", "role"}, nil)}
}

func (c *tokenExpiry) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect lists the tokens with the system actor; a store error leaves the
// gauge out of this scrape.
func (c *tokenExpiry) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := c.tokens.List(ctx, audit.System)
	if err != nil {
		return
	}
	now := c.now()
	for _, t := range list {
		if t.RevokedAt != nil || t.ExpiresAt == nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, t.ExpiresAt.Sub(now).Seconds(), t.Name, t.Role)
	}
}
