// Package iac renders what an AWS account needs so that it trusts idcenter,
// as infrastructure code: the IAM SAML provider holding idcenter's IdP
// metadata and one IAM role per permission set assigned in the account,
// with its trust policy, managed policies, inline policy, permissions
// boundary and tags. It writes CloudFormation (JSON or YAML) and Terraform
// (HCL JSON). The renderers are pure functions of an account, its permission
// sets and the metadata XML, and their output is deterministic (sorted), so
// it diffs well.
//
// It also records, per account, a summary of each render (State) and
// compares the current model with the last one to report drift (Service).
package iac

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/errs"
)

// Formats of a rendered document.
const (
	FormatCloudFormation     = "cloudformation"      // CloudFormation template, JSON
	FormatCloudFormationYAML = "cloudformation-yaml" // the same template, YAML
	FormatTerraform          = "terraform"           // Terraform HCL JSON (*.tf.json)
)

// Formats lists the formats in the order help texts show them.
var Formats = []string{FormatCloudFormation, FormatCloudFormationYAML, FormatTerraform}

// ParseFormat accepts a format name; "" is CloudFormation JSON, and "cfn",
// "yaml" and "tf" are accepted as short names.
func ParseFormat(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "cloudformation", "cfn", "cloudformation-json":
		return FormatCloudFormation, nil
	case "cloudformation-yaml", "cfn-yaml", "yaml":
		return FormatCloudFormationYAML, nil
	case "terraform", "tf":
		return FormatTerraform, nil
	}
	return "", errs.Invalidf("format", "%q is not a format: use cloudformation, cloudformation-yaml or terraform", s)
}

// Names used in every rendered document.
const (
	// InlinePolicyName names the role's inline policy in IAM.
	InlinePolicyName = "idcenter-inline"
	// ProviderLogicalID is the SAML provider's CloudFormation logical ID.
	ProviderLogicalID = "SAMLProvider"
	// ProviderTerraformName is the SAML provider's Terraform resource name.
	ProviderTerraformName = "idcenter"
)

// Input is what a render needs: the account, the permission sets assigned
// in it (each once; the order does not matter) and the IdP metadata XML of
// the SAML application that signs the account's assertions.
type Input struct {
	Account        cloud.Account
	PermissionSets []cloud.PermissionSet
	Metadata       []byte
}

// plan is the normalised content of a render, shared by the formats and by
// the drift summary.
type plan struct {
	account  cloud.Account
	metadata string
	provider ProviderState
	roles    []role
}

type role struct {
	key             string // logical ID suffix: alphanumeric, unique in the account
	name            string // IAM role name
	permissionSet   string
	description     string
	seconds         int
	managedPolicies []string        // ARNs, AWS managed then customer managed, sorted, distinct
	inline          json.RawMessage // canonical JSON, nil when none
	boundary        string          // ARN or ""
	tags            []cloud.Tag     // sorted by key
}

// buildPlan validates and normalises in.
func buildPlan(in Input) (plan, error) {
	a := in.Account
	v := &errs.Invalid{}
	if a.ID == "" || a.SAMLProvider == "" || a.SignInURL == "" {
		v.Add("account", "needs an id, a SAML provider name and a sign-in URL")
	}
	prov, err := ParseMetadata(in.Metadata)
	if err != nil {
		v.Add("metadata", "%s", err.Error())
	}
	prov.Name, prov.Audience = a.SAMLProvider, a.SignInURL
	p := plan{account: a, metadata: string(in.Metadata), provider: prov}

	sets := append([]cloud.PermissionSet(nil), in.PermissionSets...)
	sort.Slice(sets, func(i, j int) bool { return sets[i].Name < sets[j].Name })
	seenRole, seenKey, seenSet := map[string]string{}, map[string]bool{}, map[string]bool{}
	for _, ps := range sets {
		if seenSet[ps.ID+"\x00"+ps.Name] {
			continue // the same permission set assigned twice
		}
		seenSet[ps.ID+"\x00"+ps.Name] = true
		r, err := roleOf(a, ps)
		if err != nil {
			v.Add("permissionSets", "%s: %s", ps.Name, err.Error())
			continue
		}
		// IAM role names are unique in an account, ignoring case.
		if other, dup := seenRole[strings.ToLower(r.name)]; dup {
			v.Add("permissionSets", "%s and %s both become the role %s: give one of them another roleName", other, ps.Name, r.name)
			continue
		}
		seenRole[strings.ToLower(r.name)] = ps.Name
		if seenKey[r.key] {
			r.key += hash8(ps.ID)
		}
		seenKey[r.key] = true
		p.roles = append(p.roles, r)
	}
	return p, v.Err()
}

func roleOf(a cloud.Account, ps cloud.PermissionSet) (role, error) {
	d, ok := cloud.ParseSessionDuration(ps.SessionDuration)
	if ps.SessionDuration == "" {
		d, ok = cloud.ParseSessionDuration(cloud.DefaultSessionDuration)
	}
	if !ok {
		return role{}, fmt.Errorf("session duration %q is not an ISO 8601 duration", ps.SessionDuration)
	}
	r := role{
		key: logicalKey(ps.Name), name: ps.Role(), permissionSet: ps.Name,
		description: "idcenter permission set " + ps.Name,
		seconds:     int(d.Seconds()), boundary: boundaryARN(a, ps.Boundary),
	}
	arns := map[string]bool{}
	for _, m := range ps.ManagedPolicies {
		arns[m] = true
	}
	for _, c := range ps.CustomerPolicies {
		arns[customerPolicyARN(a, c)] = true
	}
	for arn := range arns {
		r.managedPolicies = append(r.managedPolicies, arn)
	}
	sort.Strings(r.managedPolicies)
	if strings.TrimSpace(ps.InlinePolicy) != "" {
		if problem := cloud.CheckPolicyDocument(ps.InlinePolicy); problem != "" {
			return role{}, fmt.Errorf("inline policy %s", problem)
		}
		c, err := canonicalJSON([]byte(ps.InlinePolicy))
		if err != nil {
			return role{}, fmt.Errorf("inline policy: %w", err)
		}
		r.inline = c
	}
	r.tags = append([]cloud.Tag(nil), ps.Tags...)
	sort.Slice(r.tags, func(i, j int) bool { return r.tags[i].Key < r.tags[j].Key })
	return r, nil
}

// customerPolicyARN is the ARN of a customer managed policy in the account:
// arn:aws:iam::<account>:policy<path><name>.
func customerPolicyARN(a cloud.Account, ref cloud.PolicyRef) string {
	path := ref.Path
	if path == "" {
		path = "/"
	}
	return "arn:aws:iam::" + a.ID + ":policy" + path + ref.Name
}

func boundaryARN(a cloud.Account, b *cloud.Boundary) string {
	switch {
	case b == nil:
		return ""
	case b.ManagedPolicyARN != "":
		return b.ManagedPolicyARN
	case b.CustomerPolicy != nil:
		return customerPolicyARN(a, *b.CustomerPolicy)
	}
	return ""
}

// ProviderARN is the ARN of the account's IAM SAML provider.
func ProviderARN(a cloud.Account) string {
	return "arn:aws:iam::" + a.ID + ":saml-provider/" + a.SAMLProvider
}

// logicalKey makes a permission set name into an alphanumeric key, valid as
// a CloudFormation logical ID and a Terraform name. A name that loses
// characters gets a short digest of the full name, so two names that differ
// only in punctuation stay apart.
func logicalKey(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	if b.Len() != len(name) {
		b.WriteString(hash8(name))
	}
	return b.String()
}

func hash8(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// canonicalJSON re-encodes a JSON document compactly with object keys in
// sorted order, keeping numbers as written.
func canonicalJSON(b []byte) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return marshal(v)
}

// marshal encodes v compactly without HTML escaping (policy documents keep
// their <, > and & as they are).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// marshalIndent is marshal with two-space indentation and a final newline.
func marshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// trustPolicy is the role's trust policy: the SAML provider may assume the
// role (and tag the session) for assertions addressed to the account's
// sign-in URL. federated is the provider ARN, or a reference to it.
func trustPolicy(federated any, audience string) map[string]any {
	return map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Federated": federated},
			"Action":    []string{"sts:AssumeRoleWithSAML", "sts:TagSession"},
			"Condition": map[string]any{"StringEquals": map[string]any{"SAML:aud": audience}},
		}},
	}
}

// Render renders in in format.
func Render(in Input, format string) ([]byte, error) {
	switch format {
	case FormatCloudFormation:
		return CloudFormation(in)
	case FormatCloudFormationYAML:
		return CloudFormationYAML(in)
	case FormatTerraform:
		return Terraform(in)
	}
	_, err := ParseFormat(format)
	if err == nil {
		err = fmt.Errorf("iac: format %q not handled", format)
	}
	return nil, err
}

// FileName is the name a rendered document is saved under.
func FileName(accountID, format string) string {
	switch format {
	case FormatCloudFormationYAML:
		return "idcenter-iam-" + accountID + ".yaml"
	case FormatTerraform:
		return "idcenter-iam-" + accountID + ".tf.json"
	}
	return "idcenter-iam-" + accountID + ".json"
}

// ContentType is the media type of a rendered document.
func ContentType(format string) string {
	if format == FormatCloudFormationYAML {
		return "application/yaml"
	}
	return "application/json"
}
