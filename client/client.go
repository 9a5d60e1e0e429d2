package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Response size limits: a successful body (a list page, an export) and an
// error body. Larger responses are refused rather than buffered.
const (
	MaxResponseBytes      = 64 << 20
	maxErrorResponseBytes = 64 << 10
)

// DefaultUserAgent is sent unless WithUserAgent sets another.
const DefaultUserAgent = "idcenter-go-client"

// Client calls the idcenter admin API. It is safe for concurrent use.
type Client struct {
	base      string // server URL without a trailing slash
	token     string
	http      *http.Client
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client used for requests (timeouts, proxies,
// TLS roots). The default is like http.DefaultClient but does not follow
// redirects (see NoRedirects); a client given here should not either.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// NoRedirects is an http.Client CheckRedirect function that stops at the
// first redirect. The API never redirects; a redirect means the base URL is
// wrong (http instead of https, a missing path prefix), and following it
// would turn a POST into a GET. The redirect is returned as an *Error naming
// its target.
func NoRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// New returns a client for the server at baseURL (e.g.
// "https://id.example.com", or with a path prefix when idcenter is served
// below one) authenticating with the bearer token. An invalid baseURL is
// reported by the first request.
func New(baseURL, token string, opts ...Option) *Client {
	c := &Client{
		base:      strings.TrimRight(strings.TrimSpace(baseURL), "/"),
		token:     token,
		http:      &http.Client{CheckRedirect: NoRedirects},
		userAgent: DefaultUserAgent,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// request is one API call.
type request struct {
	method    string
	path      string // below /api/v1, already escaped
	query     url.Values
	body      any    // JSON-encoded unless raw is set
	raw       []byte // sent as is with contentType
	rawType   string
	accept    string // default application/json
	ifVersion int64  // If-Match when > 0
}

// pathKey escapes one path segment (a user, group or token key). "." and
// ".." are escaped too, so a key can never climb the path.
func pathKey(kind, key string) (string, error) {
	if key == "" {
		return "", fmt.Errorf("empty %s name or id", kind)
	}
	if key == "." || key == ".." {
		return strings.Repeat("%2E", len(key)), nil
	}
	return url.PathEscape(key), nil
}

func (c *Client) endpoint(r *request) (string, error) {
	u, err := url.Parse(c.base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("invalid server URL %q: want http(s)://host[:port]", c.base)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("invalid server URL %q: it must not have a query or fragment", c.base)
	}
	s := c.base + "/api/v1" + r.path
	if len(r.query) > 0 {
		s += "?" + r.query.Encode()
	}
	return s, nil
}

// do sends r and decodes a 2xx JSON body into out (unless out is nil, or a
// *[]byte, which receives the raw body). A non-2xx response is an *Error.
func (c *Client) do(ctx context.Context, r request, out any) error {
	endpoint, err := c.endpoint(&r)
	if err != nil {
		return err
	}
	var body io.Reader
	contentType := ""
	switch {
	case r.raw != nil:
		body, contentType = bytes.NewReader(r.raw), r.rawType
	case r.body != nil:
		b, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("encoding request: %w", err)
		}
		body, contentType = bytes.NewReader(b), "application/json"
		if r.method == http.MethodPatch {
			contentType = "application/merge-patch+json"
		}
	}
	req, err := http.NewRequestWithContext(ctx, r.method, endpoint, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	accept := r.accept
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept+", application/problem+json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if r.ifVersion > 0 {
		req.Header.Set("If-Match", strconv.Quote(strconv.FormatInt(r.ifVersion, 10)))
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorResponseBytes))
		return decodeError(resp, b)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("%s %s: reading response: %w", r.method, req.URL.Path, err)
	}
	if len(b) > MaxResponseBytes {
		return fmt.Errorf("%s %s: %w", r.method, req.URL.Path, errTooLarge(MaxResponseBytes))
	}
	if out == nil {
		return nil
	}
	// An HTML page most often means the URL points at something other than
	// the API: a proxy's login page, the console.
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	_, wantRaw := out.(*[]byte)
	if mt == "text/html" || !wantRaw && mt != "" && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return fmt.Errorf("%s %s: unexpected response with Content-Type %q: is %s the idcenter server?",
			r.method, req.URL.Path, mt, c.base)
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = b
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decoding response: %w", r.method, req.URL.Path, err)
	}
	return nil
}

// collect follows cursors from cursor onwards, gathering every item.
func collect[T any](cursor string, list func(cursor string) ([]T, string, error)) ([]T, error) {
	all := []T{}
	seen := map[string]bool{}
	for {
		items, next, err := list(cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		if seen[next] {
			return nil, errors.New("server returned a cursor it already returned; stopping")
		}
		seen[next] = true
		cursor = next
	}
}

// pageQuery adds cursor and limit to q.
func pageQuery(q url.Values, cursor string, limit int) url.Values {
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return q
}

// WhoAmI returns the caller's identity and role.
func (c *Client) WhoAmI(ctx context.Context) (Identity, error) {
	var id Identity
	err := c.do(ctx, request{method: http.MethodGet, path: "/whoami"}, &id)
	return id, err
}
