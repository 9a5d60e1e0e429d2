package saml

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// Limits of FetchSPMetadata (IDP-04).
const (
	// MaxFetchedMetadataBytes caps an SP metadata document fetched by URL.
	MaxFetchedMetadataBytes = 512 << 10
	// FetchMetadataTimeout bounds the whole fetch: dial, TLS, redirects, body.
	FetchMetadataTimeout = 10 * time.Second
	// MaxMetadataRedirects is how many redirects a fetch follows; each target
	// is checked again (https, and the address at dial time).
	MaxMetadataRedirects = 3
)

// ErrMetadataFetch is wrapped by every error of FetchSPMetadata.
var ErrMetadataFetch = errors.New("metadata fetch")

// ErrMetadataTooLarge is returned when a fetched document exceeds
// MaxFetchedMetadataBytes.
var ErrMetadataTooLarge = fmt.Errorf("%w: document is larger than %d bytes", ErrMetadataFetch, MaxFetchedMetadataBytes)

// FetchOptions tune FetchSPMetadata; the zero value is what production uses.
type FetchOptions struct {
	// Transport, when set, replaces the default transport; its TLS config is
	// used for server certificates (tests pass an httptest server's pool via
	// a transport whose dialer is built with NewMetadataDialer).
	Transport *http.Transport
	// AllowLoopback lets tests fetch from 127.0.0.1/::1. Every other
	// denied range stays denied.
	AllowLoopback bool
}

// FetchSPMetadata fetches SP metadata from an https URL and parses it with
// ParseSPMetadata; the result remembers the URL (SourceURL). The URL and every redirect target must be https; at most
// MaxMetadataRedirects redirects are followed; the whole fetch is bounded by
// FetchMetadataTimeout and the body by MaxFetchedMetadataBytes. Connections to
// loopback, private, link-local, multicast or unspecified addresses are
// refused when dialling (after DNS resolution), so DNS rebinding cannot
// bypass the check.
func FetchSPMetadata(ctx context.Context, rawURL string, opt FetchOptions) (*SPMetadata, error) {
	body, err := fetchMetadata(ctx, rawURL, opt)
	if err != nil {
		return nil, err
	}
	md, err := ParseSPMetadata(body)
	if err != nil {
		return nil, err
	}
	md.SourceURL = rawURL
	return md, nil
}

func checkMetadataURL(u *url.URL) error {
	if u.Scheme != "https" {
		return fmt.Errorf("%w: only https URLs are allowed, got %q", ErrMetadataFetch, u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%w: URL has no host", ErrMetadataFetch)
	}
	if u.User != nil {
		return fmt.Errorf("%w: URL must not carry credentials", ErrMetadataFetch)
	}
	return nil
}

func fetchMetadata(ctx context.Context, rawURL string, opt FetchOptions) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMetadataFetch, err)
	}
	if err := checkMetadataURL(u); err != nil {
		return nil, err
	}
	tr := opt.Transport
	if tr == nil {
		tr = &http.Transport{
			DialContext:           NewMetadataDialer(opt.AllowLoopback).DialContext,
			TLSHandshakeTimeout:   FetchMetadataTimeout,
			ResponseHeaderTimeout: FetchMetadataTimeout,
			MaxIdleConns:          1,
			DisableKeepAlives:     true,
		}
		defer tr.CloseIdleConnections()
	}
	tr.Proxy = nil // a proxy would dial on our behalf, past the address check
	client := &http.Client{
		Transport: tr,
		Timeout:   FetchMetadataTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > MaxMetadataRedirects {
				return fmt.Errorf("%w: more than %d redirects", ErrMetadataFetch, MaxMetadataRedirects)
			}
			return checkMetadataURL(req.URL)
		},
	}
	ctx, cancel := context.WithTimeout(ctx, FetchMetadataTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMetadataFetch, err)
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && errors.Is(ue.Err, ErrMetadataFetch) {
			return nil, ue.Err
		}
		return nil, fmt.Errorf("%w: %v", ErrMetadataFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s answered %s", ErrMetadataFetch, resp.Request.URL.Redacted(), resp.Status)
	}
	if resp.ContentLength > MaxFetchedMetadataBytes {
		return nil, ErrMetadataTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxFetchedMetadataBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading body: %v", ErrMetadataFetch, err)
	}
	if len(b) > MaxFetchedMetadataBytes {
		return nil, ErrMetadataTooLarge
	}
	return b, nil
}

// NewMetadataDialer returns a dialer that refuses, at connect time, every
// address FetchSPMetadata must not reach. allowLoopback is for tests only.
func NewMetadataDialer(allowLoopback bool) *net.Dialer {
	return &net.Dialer{
		Timeout: FetchMetadataTimeout,
		Control: func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrMetadataFetch, err)
			}
			ip, err := netip.ParseAddr(host)
			if err != nil {
				return fmt.Errorf("%w: dialling a non-IP address %q", ErrMetadataFetch, host)
			}
			if err := checkMetadataAddr(ip, allowLoopback); err != nil {
				return err
			}
			return nil
		},
	}
}

// deniedPrefixes are ranges net/netip's predicates do not cover.
var deniedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64 (embeds IPv4)
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("2002::/16"),      // 6to4 (embeds IPv4)
	netip.MustParsePrefix("fec0::/10"),      // site-local (deprecated)
}

func checkMetadataAddr(ip netip.Addr, allowLoopback bool) error {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		if allowLoopback {
			return nil
		}
		return fmt.Errorf("%w: %s is a loopback address", ErrMetadataFetch, ip)
	case ip.IsPrivate():
		return fmt.Errorf("%w: %s is a private address", ErrMetadataFetch, ip)
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return fmt.Errorf("%w: %s is a link-local address", ErrMetadataFetch, ip)
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return fmt.Errorf("%w: %s is a multicast address", ErrMetadataFetch, ip)
	case ip.IsUnspecified():
		return fmt.Errorf("%w: %s is the unspecified address", ErrMetadataFetch, ip)
	}
	for _, p := range deniedPrefixes {
		if p.Contains(ip) {
			return fmt.Errorf("%w: %s is in the reserved range %s", ErrMetadataFetch, ip, p)
		}
	}
	return nil
}
