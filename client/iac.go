package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Formats of a rendered IAM set-up.
const (
	IAMFormatCloudFormation     = "cloudformation"      // CloudFormation template, JSON
	IAMFormatCloudFormationYAML = "cloudformation-yaml" // the same template, YAML
	IAMFormatTerraform          = "terraform"           // Terraform HCL JSON (*.tf.json)
)

// IAMDrift compares an account's current model (permission sets assigned,
// their policies, the SAML application's metadata) with the last rendered
// IAM set-up.
type IAMDrift struct {
	AccountID      string          `json:"accountId"`
	AccountName    string          `json:"accountName"`
	InSync         bool            `json:"inSync"`
	Rendered       bool            `json:"rendered"`
	RenderedAt     *time.Time      `json:"renderedAt,omitempty"`
	RenderedBy     string          `json:"renderedBy,omitempty"`
	Format         string          `json:"format,omitempty"`
	RecordedDigest string          `json:"recordedDigest,omitempty"`
	CurrentDigest  string          `json:"currentDigest"`
	Differences    []IAMDifference `json:"differences"`
}

// IAMDifference is one change to re-apply. Kind is provider, role-added,
// role-removed, role-changed or not-rendered; Role the IAM role name.
type IAMDifference struct {
	Kind   string `json:"kind"`
	Role   string `json:"role,omitempty"`
	Detail string `json:"detail"`
}

// RenderAccountIAM renders the IAM set-up of an account (12-digit id or
// name) in format (IAMFormat*; "" is CloudFormation JSON): the IAM SAML
// provider holding idcenter's metadata and one role per permission set
// assigned in the account. With an admin token the server records the
// render as the account's baseline for IAMDrift; an auditor's is not recorded.
func (c *Client) RenderAccountIAM(ctx context.Context, account, format string) ([]byte, error) {
	key, err := pathKey("account", account)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if format != "" {
		q.Set("format", format)
	}
	accept := "application/json"
	if format == IAMFormatCloudFormationYAML {
		accept = "application/yaml"
	}
	var b []byte
	err = c.do(ctx, request{method: http.MethodGet, path: "/accounts/" + key + "/iam", query: q, accept: accept}, &b)
	return b, err
}

// AccountIAMDrift compares an account's current model with its last
// rendered IAM set-up.
func (c *Client) AccountIAMDrift(ctx context.Context, account string) (IAMDrift, error) {
	key, err := pathKey("account", account)
	if err != nil {
		return IAMDrift{}, err
	}
	var out IAMDrift
	err = c.do(ctx, request{method: http.MethodGet, path: "/accounts/" + key + "/iam/drift"}, &out)
	return out, err
}

// IAMDrift compares every account's current model with its last rendered
// IAM set-up, in account name order.
func (c *Client) IAMDrift(ctx context.Context) ([]IAMDrift, error) {
	var out struct {
		Items []IAMDrift `json:"items"`
	}
	err := c.do(ctx, request{method: http.MethodGet, path: "/iam/drift"}, &out)
	return out.Items, err
}
