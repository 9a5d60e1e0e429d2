package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Apply sends a declarative YAML document describing users and groups. With
// dryRun the server only plans; with prune it also deletes objects the
// document does not mention. The returned Plan lists the changes made (or
// that would be made) and whether they were applied.
func (c *Client) Apply(ctx context.Context, yamlDoc []byte, dryRun, prune bool) (Plan, error) {
	q := url.Values{"dryRun": {strconv.FormatBool(dryRun)}, "prune": {strconv.FormatBool(prune)}}
	if yamlDoc == nil {
		yamlDoc = []byte{}
	}
	var p Plan
	err := c.do(ctx, request{method: http.MethodPost, path: "/apply", query: q, raw: yamlDoc, rawType: "application/yaml"}, &p)
	return p, err
}

// Export returns the directory as a declarative YAML document, in the form
// Apply accepts.
func (c *Client) Export(ctx context.Context) ([]byte, error) {
	var b []byte
	err := c.do(ctx, request{method: http.MethodGet, path: "/export", accept: "application/yaml"}, &b)
	return b, err
}
