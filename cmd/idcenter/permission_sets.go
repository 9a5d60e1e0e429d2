package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/idcenter/idcenter/client"
)

// PermissionSetsCmd groups the permission set commands.
type PermissionSetsCmd struct {
	List   PermissionSetsListCmd   `cmd:"" aliases:"ls" help:"List permission sets."`
	Get    PermissionSetsGetCmd    `cmd:"" help:"Show a permission set."`
	Create PermissionSetsCreateCmd `cmd:"" help:"Create a permission set: the IAM role each assigned account gets."`
	Update PermissionSetsUpdateCmd `cmd:"" help:"Change a permission set; only the settings given as flags change."`
	Delete PermissionSetsDeleteCmd `cmd:"" aliases:"rm" help:"Delete a permission set and its assignments."`
}

// PermissionSetSettings are the flags shared by permission-sets create and
// update. Only the flags given are sent; a list flag replaces the whole
// list, and a single empty value ("") removes it.
type PermissionSetSettings struct {
	Description            *string  `help:"What the permission set is for."`
	SessionDuration        *string  `name:"session-duration" help:"Console and credential session length, ISO 8601, PT1H (default) to PT12H." placeholder:"DURATION"`
	RelayState             *string  `name:"relay-state" help:"AWS console URL to land on after sign-in." placeholder:"URL"`
	ManagedPolicy          []string `name:"managed-policy" sep:"none" help:"AWS managed policy ARN, e.g. arn:aws:iam::aws:policy/ReadOnlyAccess; repeat for more." placeholder:"ARN"`
	CustomerPolicy         []string `name:"customer-policy" sep:"none" help:"Customer managed policy NAME[:PATH] (path default /), created in each account; repeat for more." placeholder:"NAME[:PATH]"`
	InlinePolicyFile       *string  `name:"inline-policy-file" help:"File holding the inline policy (JSON, at most 10,240 bytes); - reads standard input." placeholder:"FILE"`
	BoundaryManagedPolicy  *string  `name:"boundary-managed-policy" xor:"boundary" help:"Permissions boundary: an AWS managed policy ARN." placeholder:"ARN"`
	BoundaryCustomerPolicy *string  `name:"boundary-customer-policy" xor:"boundary" help:"Permissions boundary: a customer managed policy NAME[:PATH]." placeholder:"NAME[:PATH]"`
	Tag                    []string `sep:"none" help:"Tag of the role, KEY=VALUE; repeat for more." placeholder:"KEY=VALUE"`
	RoleName               *string  `name:"role-name" help:"IAM role name (default idcenter-<name>)." placeholder:"NAME"`
}

// maxPolicyFileBytes bounds an inline policy file; the server checks the
// real limit.
const maxPolicyFileBytes = 64 << 10

// cleared reports whether a list flag was given as one empty value.
func cleared(list []string) bool { return len(list) == 1 && strings.TrimSpace(list[0]) == "" }

func (s *PermissionSetSettings) addTo(g *Globals, m map[string]any) error {
	for key, v := range map[string]*string{"description": s.Description, "sessionDuration": s.SessionDuration,
		"relayState": s.RelayState, "roleName": s.RoleName} {
		if v != nil {
			m[key] = *v
		}
	}
	switch {
	case cleared(s.ManagedPolicy):
		m["managedPolicies"] = nil
	case len(s.ManagedPolicy) > 0:
		m["managedPolicies"] = s.ManagedPolicy
	}
	switch {
	case cleared(s.CustomerPolicy):
		m["customerPolicies"] = nil
	case len(s.CustomerPolicy) > 0:
		var refs []client.PolicyRef
		for _, p := range s.CustomerPolicy {
			r, err := parsePolicyRef("--customer-policy", p)
			if err != nil {
				return err
			}
			refs = append(refs, r)
		}
		m["customerPolicies"] = refs
	}
	if s.InlinePolicyFile != nil {
		doc, err := s.readInlinePolicy(g)
		if err != nil {
			return err
		}
		m["inlinePolicy"] = doc
	}
	switch {
	case s.BoundaryManagedPolicy != nil && *s.BoundaryManagedPolicy == "", s.BoundaryCustomerPolicy != nil && *s.BoundaryCustomerPolicy == "":
		m["permissionsBoundary"] = nil
	case s.BoundaryManagedPolicy != nil:
		// Replace (not merge) the boundary: the customer policy goes.
		m["permissionsBoundary"] = map[string]any{"managedPolicyArn": *s.BoundaryManagedPolicy, "customerPolicy": nil}
	case s.BoundaryCustomerPolicy != nil:
		r, err := parsePolicyRef("--boundary-customer-policy", *s.BoundaryCustomerPolicy)
		if err != nil {
			return err
		}
		m["permissionsBoundary"] = map[string]any{"customerPolicy": r, "managedPolicyArn": nil}
	}
	switch {
	case cleared(s.Tag):
		m["tags"] = nil
	case len(s.Tag) > 0:
		var tags []client.Tag
		for _, t := range s.Tag {
			k, v, ok := strings.Cut(t, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return fmt.Errorf("--tag %q: want KEY=VALUE, e.g. team=platform", oneLine(t))
			}
			tags = append(tags, client.Tag{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v)})
		}
		m["tags"] = tags
	}
	return nil
}

func (s *PermissionSetSettings) readInlinePolicy(g *Globals) (string, error) {
	f := *s.InlinePolicyFile
	if f == "" {
		return "", nil // removes the inline policy
	}
	var r io.Reader
	if f == "-" {
		r = g.Stdin
	} else {
		file, err := os.Open(f)
		if err != nil {
			return "", fmt.Errorf("--inline-policy-file: %w", err)
		}
		defer file.Close()
		r = file
	}
	b, err := io.ReadAll(io.LimitReader(r, maxPolicyFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("--inline-policy-file: %w", err)
	}
	if len(b) > maxPolicyFileBytes {
		return "", fmt.Errorf("--inline-policy-file %s: larger than %d bytes; is it a policy document?", oneLine(f), maxPolicyFileBytes)
	}
	return string(b), nil
}

// parsePolicyRef reads NAME[:PATH]; policy names hold no ":".
func parsePolicyRef(flag, s string) (client.PolicyRef, error) {
	name, path, _ := strings.Cut(strings.TrimSpace(s), ":")
	if name == "" {
		return client.PolicyRef{}, fmt.Errorf("%s %q: want NAME[:PATH], e.g. Billing or Billing:/finance/", flag, oneLine(s))
	}
	if path == "" {
		path = "/" // explicit, so a merge patch does not keep an old path
	}
	return client.PolicyRef{Name: name, Path: path}, nil
}

// PermissionSetsListCmd lists permission sets.
type PermissionSetsListCmd struct{}

// Run lists the permission sets.
func (c *PermissionSetsListCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	list, err := api.ListPermissionSets(context.Background())
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(nonNil(list))
	}
	t := newTable(g.Stdout, "NAME", "ROLE", "SESSION", "POLICIES", "DESCRIPTION", "ID")
	for _, p := range list {
		t.row(p.Name, p.IAMRoleName, p.SessionDuration, policySummary(p), p.Description, p.ID)
	}
	return t.flush()
}

// policySummary counts a permission set's policies: "2 managed, 1 inline".
func policySummary(p client.PermissionSet) string {
	var parts []string
	if n := len(p.ManagedPolicies); n > 0 {
		parts = append(parts, fmt.Sprintf("%d managed", n))
	}
	if n := len(p.CustomerPolicies); n > 0 {
		parts = append(parts, fmt.Sprintf("%d customer", n))
	}
	if p.InlinePolicy != "" {
		parts = append(parts, "inline")
	}
	if p.Boundary != nil {
		parts = append(parts, "boundary")
	}
	return strings.Join(parts, ", ")
}

// PermissionSetsGetCmd shows a permission set.
type PermissionSetsGetCmd struct {
	PermissionSet string `arg:"" name:"permission-set" help:"Permission set name or id."`
}

// Run shows the permission set.
func (c *PermissionSetsGetCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	p, err := api.GetPermissionSet(context.Background(), c.PermissionSet)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(p)
	}
	d := newDetails(g.Stdout)
	d.add("Name", p.Name)
	d.add("ID", p.ID)
	d.add("Description", p.Description)
	d.add("IAM role", p.IAMRoleName)
	d.add("Session", p.SessionDuration)
	d.add("Relay state", p.RelayState)
	for _, arn := range p.ManagedPolicies {
		d.add("Managed policy", arn)
	}
	for _, r := range p.CustomerPolicies {
		d.add("Customer policy", policyPath(r))
	}
	if b := p.Boundary; b != nil {
		if b.CustomerPolicy != nil {
			d.add("Boundary", "customer policy "+policyPath(*b.CustomerPolicy))
		} else {
			d.add("Boundary", b.ManagedPolicyARN)
		}
	}
	for _, t := range p.Tags {
		d.add("Tag", t.Key+"="+t.Value)
	}
	if p.InlinePolicy != "" {
		var b bytes.Buffer
		if json.Compact(&b, []byte(p.InlinePolicy)) == nil {
			d.add("Inline policy", b.String())
		} else {
			d.add("Inline policy", p.InlinePolicy)
		}
	}
	d.add("Managed by", p.ManagedBy)
	d.add("Created", fmtTime(p.Created))
	d.add("Last modified", fmtTime(p.LastModified))
	d.add("Version", fmt.Sprint(p.Version))
	return d.flush()
}

func policyPath(r client.PolicyRef) string {
	if r.Path == "" {
		return "/" + r.Name
	}
	return r.Path + r.Name
}

// PermissionSetsCreateCmd creates a permission set.
type PermissionSetsCreateCmd struct {
	Name string `arg:"" help:"Name of the permission set: 1-32 of letters, digits and +=,.@_- (e.g. ReadOnly)."`
	PermissionSetSettings
}

// Run creates the permission set.
func (c *PermissionSetsCreateCmd) Run(g *Globals) error {
	m := map[string]any{"name": c.Name}
	if err := c.PermissionSetSettings.addTo(g, m); err != nil {
		return err
	}
	var in client.PermissionSet
	if err := roundTrip(m, &in); err != nil {
		return err
	}
	api, err := g.api()
	if err != nil {
		return err
	}
	p, err := api.CreatePermissionSet(context.Background(), in)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(p)
	}
	g.printf("Created permission set %s (IAM role %s, id %s).\n", oneLine(p.Name), oneLine(p.IAMRoleName), p.ID)
	return nil
}

// PermissionSetsUpdateCmd changes a permission set with a merge patch.
type PermissionSetsUpdateCmd struct {
	PermissionSet string  `arg:"" name:"permission-set" help:"Permission set name or id."`
	Name          *string `help:"New name." placeholder:"NEW"`
	IfVersion     int64   `name:"if-version" help:"Only update if the permission set is still at this version (see 'permission-sets get'); otherwise fail with 409." placeholder:"N"`
	PermissionSetSettings
}

// Run updates the permission set.
func (c *PermissionSetsUpdateCmd) Run(g *Globals) error {
	patch := map[string]any{}
	if c.Name != nil {
		patch["name"] = *c.Name
	}
	if err := c.PermissionSetSettings.addTo(g, patch); err != nil {
		return err
	}
	if len(patch) == 0 {
		return errors.New("nothing to update: give at least one setting (see 'idcenter permission-sets update --help')")
	}
	api, err := g.api()
	if err != nil {
		return err
	}
	p, err := api.UpdatePermissionSet(context.Background(), c.PermissionSet, patch, c.IfVersion)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(p)
	}
	g.printf("Updated permission set %s (version %d).\n", oneLine(p.Name), p.Version)
	return nil
}

// PermissionSetsDeleteCmd deletes a permission set.
type PermissionSetsDeleteCmd struct {
	PermissionSet string `arg:"" name:"permission-set" help:"Permission set name or id."`
}

// Run deletes the permission set.
func (c *PermissionSetsDeleteCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	if err := api.DeletePermissionSet(context.Background(), c.PermissionSet); err != nil {
		return err
	}
	if !g.jsonOutput() {
		g.printf("Deleted permission set %s.\n", oneLine(c.PermissionSet))
	}
	return nil
}
