package iac

import (
	"fmt"
	"strings"
)

type tfDoc struct {
	Comment  string                       `json:"//"`
	Resource map[string]map[string]any    `json:"resource"`
	Output   map[string]map[string]string `json:"output"`
}

type tfProvider struct {
	Name                 string `json:"name"`
	SamlMetadataDocument string `json:"saml_metadata_document"`
}

type tfRole struct {
	Name                string            `json:"name"`
	Description         string            `json:"description"`
	AssumeRolePolicy    string            `json:"assume_role_policy"`
	MaxSessionDuration  int               `json:"max_session_duration"`
	PermissionsBoundary string            `json:"permissions_boundary,omitempty"`
	Tags                map[string]string `json:"tags,omitempty"`
}

type tfAttachment struct {
	Role      string `json:"role"`
	PolicyARN string `json:"policy_arn"`
}

type tfRolePolicy struct {
	Name   string `json:"name"`
	Role   string `json:"role"`
	Policy string `json:"policy"`
}

// Terraform renders in as Terraform HCL JSON (a *.tf.json file) with no
// provider block: an aws_iam_saml_provider (idcenter), one aws_iam_role per
// permission set (Role<PermissionSet>), one aws_iam_role_policy_attachment
// per managed policy and an aws_iam_role_policy for the inline policy. Put
// it in a module whose aws provider is configured for the account.
//
// HCL JSON strings are templates: every literal "${" and "%{" (IAM policy
// variables such as ${aws:username}) is escaped as "$${" and "%%{".
func Terraform(in Input) ([]byte, error) {
	p, err := buildPlan(in)
	if err != nil {
		return nil, err
	}
	d, err := p.terraform()
	if err != nil {
		return nil, err
	}
	return marshalIndent(d)
}

// tfLiteral escapes template sequences in a literal string.
func tfLiteral(s string) string {
	return strings.NewReplacer("${", "$${", "%{", "%%{").Replace(s)
}

func (p plan) terraform() (tfDoc, error) {
	a := p.account
	provider := "aws_iam_saml_provider." + ProviderTerraformName
	d := tfDoc{
		Comment: fmt.Sprintf("idcenter IAM set-up for AWS account %s (%s), rendered by idcenter. Apply it with an aws provider for account %s.",
			a.ID, tfLiteral(asciiText(a.Name)), a.ID),
		Resource: map[string]map[string]any{
			"aws_iam_saml_provider": {ProviderTerraformName: tfProvider{Name: a.SAMLProvider, SamlMetadataDocument: tfLiteral(p.metadata)}},
		},
		Output: map[string]map[string]string{
			"saml_provider_arn": {"value": "${" + provider + ".arn}"},
		},
	}
	roles, attachments, inline := map[string]any{}, map[string]any{}, map[string]any{}
	for _, r := range p.roles {
		id := "Role" + r.key
		// The trust policy is a JSON string in which the provider's ARN is
		// a Terraform reference; nothing else in it is a template.
		trust, err := marshal(trustPolicy("@@PROVIDER@@", tfLiteral(a.SignInURL)))
		if err != nil {
			return d, err
		}
		role := tfRole{
			Name: r.name, Description: r.description, MaxSessionDuration: r.seconds,
			AssumeRolePolicy:    strings.Replace(string(trust), "@@PROVIDER@@", "${"+provider+".arn}", 1),
			PermissionsBoundary: tfLiteral(r.boundary),
		}
		if len(r.tags) > 0 {
			role.Tags = map[string]string{}
			for _, t := range r.tags {
				role.Tags[tfLiteral(t.Key)] = tfLiteral(t.Value)
			}
		}
		roles[id] = role
		for _, arn := range r.managedPolicies {
			attachments[id+"_"+policyKey(arn)] = tfAttachment{Role: "${aws_iam_role." + id + ".name}", PolicyARN: tfLiteral(arn)}
		}
		if r.inline != nil {
			inline[id] = tfRolePolicy{Name: InlinePolicyName, Role: "${aws_iam_role." + id + ".id}", Policy: tfLiteral(string(r.inline))}
		}
		d.Output[strings.ToLower(id)+"_arn"] = map[string]string{"value": "${aws_iam_role." + id + ".arn}"}
	}
	for typ, m := range map[string]map[string]any{"aws_iam_role": roles, "aws_iam_role_policy_attachment": attachments, "aws_iam_role_policy": inline} {
		if len(m) > 0 {
			d.Resource[typ] = m
		}
	}
	return d, nil
}

// policyKey names a policy attachment after the policy (the last part of
// its ARN) plus a short digest of the whole ARN, so adding a policy never
// renames the attachments of the others.
func policyKey(arn string) string {
	name := arn[strings.LastIndex(arn, "/")+1:]
	var b strings.Builder
	for _, r := range name {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String() + "_" + hash8(arn)
}
