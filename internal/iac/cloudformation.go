package iac

import (
	"bytes"
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v3"
)

type cfnTemplate struct {
	Version     string                 `json:"AWSTemplateFormatVersion"`
	Description string                 `json:"Description"`
	Resources   map[string]cfnResource `json:"Resources"`
	Outputs     map[string]cfnOutput   `json:"Outputs"`
}

type cfnResource struct {
	Type       string `json:"Type"`
	Properties any    `json:"Properties"`
}

type cfnOutput struct {
	Description string `json:"Description"`
	Value       any    `json:"Value"`
}

type cfnProvider struct {
	Name                 string `json:"Name"`
	SamlMetadataDocument string `json:"SamlMetadataDocument"`
}

type cfnRole struct {
	RoleName                 string         `json:"RoleName"`
	Description              string         `json:"Description"`
	MaxSessionDuration       int            `json:"MaxSessionDuration"`
	AssumeRolePolicyDocument map[string]any `json:"AssumeRolePolicyDocument"`
	ManagedPolicyArns        []string       `json:"ManagedPolicyArns,omitempty"`
	Policies                 []cfnPolicy    `json:"Policies,omitempty"`
	PermissionsBoundary      string         `json:"PermissionsBoundary,omitempty"`
	Tags                     []cfnTag       `json:"Tags,omitempty"`
}

type cfnPolicy struct {
	PolicyName     string          `json:"PolicyName"`
	PolicyDocument json.RawMessage `json:"PolicyDocument"`
}

type cfnTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// CloudFormation renders in as a CloudFormation template (JSON): an
// AWS::IAM::SAMLProvider (logical ID SAMLProvider) and one AWS::IAM::Role
// per permission set (logical ID Role<PermissionSet>), with outputs for
// their ARNs. Deploy it as a stack in the account.
func CloudFormation(in Input) ([]byte, error) {
	p, err := buildPlan(in)
	if err != nil {
		return nil, err
	}
	return marshalIndent(p.cloudFormation())
}

// CloudFormationYAML renders the same template as CloudFormation, as YAML.
func CloudFormationYAML(in Input) ([]byte, error) {
	j, err := CloudFormation(in)
	if err != nil {
		return nil, err
	}
	return jsonToYAML(j)
}

func (p plan) cloudFormation() cfnTemplate {
	a := p.account
	t := cfnTemplate{
		Version: "2010-09-09",
		Description: fmt.Sprintf("idcenter IAM set-up for AWS account %s (%s): the SAML provider %s trusting idcenter and %d role(s). "+
			"Rendered by idcenter; deploy it in account %s.", a.ID, asciiText(a.Name), a.SAMLProvider, len(p.roles), a.ID),
		Resources: map[string]cfnResource{
			ProviderLogicalID: {Type: "AWS::IAM::SAMLProvider", Properties: cfnProvider{Name: a.SAMLProvider, SamlMetadataDocument: p.metadata}},
		},
		Outputs: map[string]cfnOutput{
			ProviderLogicalID + "Arn": {Description: "ARN of the SAML provider", Value: map[string]any{"Ref": ProviderLogicalID}},
		},
	}
	for _, r := range p.roles {
		id := "Role" + r.key
		props := cfnRole{
			RoleName: r.name, Description: r.description, MaxSessionDuration: r.seconds,
			// Ref of an AWS::IAM::SAMLProvider is its ARN.
			AssumeRolePolicyDocument: trustPolicy(map[string]any{"Ref": ProviderLogicalID}, a.SignInURL),
			ManagedPolicyArns:        r.managedPolicies,
			PermissionsBoundary:      r.boundary,
		}
		if r.inline != nil {
			props.Policies = []cfnPolicy{{PolicyName: InlinePolicyName, PolicyDocument: r.inline}}
		}
		for _, tg := range r.tags {
			props.Tags = append(props.Tags, cfnTag(tg))
		}
		t.Resources[id] = cfnResource{Type: "AWS::IAM::Role", Properties: props}
		t.Outputs[id+"Arn"] = cfnOutput{Description: "ARN of the role " + r.name, Value: map[string]any{"Fn::GetAtt": []string{id, "Arn"}}}
	}
	return t
}

// asciiText keeps printable ASCII, for descriptions AWS restricts.
func asciiText(s string) string {
	b := []rune{}
	for _, r := range s {
		if r >= 0x20 && r < 0x7f {
			b = append(b, r)
		}
	}
	return string(b)
}

// jsonToYAML re-encodes a JSON document as block-style YAML, keeping the
// order of keys. Scalars are quoted where YAML would read them otherwise
// (a version date stays a string).
func jsonToYAML(j []byte) ([]byte, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(j, &n); err != nil {
		return nil, err
	}
	var plain func(*yaml.Node)
	plain = func(n *yaml.Node) {
		n.Style = 0
		for _, c := range n.Content {
			plain(c)
		}
	}
	plain(&n)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
