package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/idcenter/idcenter/client"
)

// AccountsCmd groups the AWS account commands.
type AccountsCmd struct {
	List        AccountsListCmd        `cmd:"" aliases:"ls" help:"List AWS accounts."`
	Get         AccountsGetCmd         `cmd:"" help:"Show an account."`
	Create      AccountsCreateCmd      `cmd:"" help:"Register an AWS account that trusts idcenter."`
	Update      AccountsUpdateCmd      `cmd:"" help:"Change an account; only the settings given as flags change."`
	Delete      AccountsDeleteCmd      `cmd:"" aliases:"rm" help:"Delete an account and its assignments."`
	Assign      AccountsAssignCmd      `cmd:"" help:"Give a user, or every member of a group, a permission set in an account."`
	Unassign    AccountsUnassignCmd    `cmd:"" help:"Remove a user's or group's permission set in an account."`
	Assignments AccountsAssignmentsCmd `cmd:"" help:"List the assignments of an account, or of every account."`
}

// AccountSettings are the flags shared by accounts create and update; only
// the flags given are sent ("" restores the default or removes the value).
type AccountSettings struct {
	Description   *string `help:"What the account is for."`
	SAMLProvider  *string `name:"saml-provider" help:"Name of the IAM SAML provider in the account (default idcenter)." placeholder:"NAME"`
	STSEndpoint   *string `name:"sts-endpoint" help:"STS endpoint for access keys (https; http only for loopback). Overrides --sts-region." placeholder:"URL"`
	STSRegion     *string `name:"sts-region" help:"Use the regional STS endpoint https://sts.REGION.amazonaws.com (default: the global one)." placeholder:"REGION"`
	DefaultRegion *string `name:"default-region" help:"Region for the AWS console and credentials." placeholder:"REGION"`
	SignInURL     *string `name:"sign-in-url" help:"AWS sign-in endpoint assertions go to (default https://signin.aws.amazon.com/saml, or https://REGION.signin.aws.amazon.com/saml)." placeholder:"URL"`
}

func (s *AccountSettings) addTo(m map[string]any) {
	for key, v := range map[string]*string{"description": s.Description, "samlProvider": s.SAMLProvider, "stsEndpoint": s.STSEndpoint,
		"stsRegion": s.STSRegion, "defaultRegion": s.DefaultRegion, "signInUrl": s.SignInURL} {
		if v != nil {
			m[key] = *v
		}
	}
}

// stsLabel describes where an account's access keys come from.
func stsLabel(a client.Account) string {
	switch {
	case a.STSEndpoint != "":
		return a.STSEndpoint
	case a.STSRegion != "":
		return "https://sts." + a.STSRegion + ".amazonaws.com/"
	}
	return "https://sts.amazonaws.com/"
}

// AccountsListCmd lists accounts.
type AccountsListCmd struct{}

// Run lists the accounts.
func (c *AccountsListCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	list, err := api.ListAccounts(context.Background())
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(nonNil(list))
	}
	t := newTable(g.Stdout, "ID", "NAME", "SAML PROVIDER", "DEFAULT REGION", "STS", "DESCRIPTION")
	for _, a := range list {
		t.row(a.ID, a.Name, a.SAMLProvider, a.DefaultRegion, stsLabel(a), a.Description)
	}
	return t.flush()
}

// AccountsGetCmd shows an account.
type AccountsGetCmd struct {
	Account string `arg:"" help:"12-digit account id or name."`
}

// Run shows the account.
func (c *AccountsGetCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	a, err := api.GetAccount(context.Background(), c.Account)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(a)
	}
	return printAccount(g, a)
}

func printAccount(g *Globals, a client.Account) error {
	d := newDetails(g.Stdout)
	d.add("Name", a.Name)
	d.add("ID", a.ID)
	d.add("Description", a.Description)
	d.add("SAML provider", a.SAMLProvider)
	d.add("Provider ARN", "arn:aws:iam::"+a.ID+":saml-provider/"+a.SAMLProvider)
	d.add("Sign-in URL", a.SignInURL)
	d.add("STS endpoint", stsLabel(a))
	d.add("Default region", a.DefaultRegion)
	d.add("Signing app", a.AppID)
	d.add("Managed by", a.ManagedBy)
	d.add("Created", fmtTime(a.Created))
	d.add("Last modified", fmtTime(a.LastModified))
	d.add("Version", fmt.Sprint(a.Version))
	return d.flush()
}

// AccountsCreateCmd registers an account.
type AccountsCreateCmd struct {
	ID   string `arg:"" help:"The 12-digit AWS account id."`
	Name string `required:"" help:"A name for the account, unique (e.g. prod)." placeholder:"NAME"`
	AccountSettings
}

// Run creates the account.
func (c *AccountsCreateCmd) Run(g *Globals) error {
	m := map[string]any{"id": c.ID, "name": c.Name}
	c.AccountSettings.addTo(m)
	var in client.Account
	if err := roundTrip(m, &in); err != nil {
		return err
	}
	api, err := g.api()
	if err != nil {
		return err
	}
	a, err := api.CreateAccount(context.Background(), in)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(a)
	}
	g.printf("Created account %s (%s); IAM SAML provider %s.\n", oneLine(a.Name), a.ID, oneLine(a.SAMLProvider))
	return nil
}

// AccountsUpdateCmd changes an account with a merge patch of the flags given.
type AccountsUpdateCmd struct {
	Account   string  `arg:"" help:"12-digit account id or name."`
	Name      *string `help:"New name." placeholder:"NEW"`
	IfVersion int64   `name:"if-version" help:"Only update if the account is still at this version (see 'accounts get'); otherwise fail with 409." placeholder:"N"`
	AccountSettings
}

// Run updates the account.
func (c *AccountsUpdateCmd) Run(g *Globals) error {
	patch := map[string]any{}
	if c.Name != nil {
		patch["name"] = *c.Name
	}
	c.AccountSettings.addTo(patch)
	if len(patch) == 0 {
		return errors.New("nothing to update: give at least one setting (see 'idcenter accounts update --help')")
	}
	api, err := g.api()
	if err != nil {
		return err
	}
	a, err := api.UpdateAccount(context.Background(), c.Account, patch, c.IfVersion)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(a)
	}
	g.printf("Updated account %s (version %d).\n", oneLine(a.Name), a.Version)
	return nil
}

// AccountsDeleteCmd deletes an account.
type AccountsDeleteCmd struct {
	Account string `arg:"" help:"12-digit account id or name."`
}

// Run deletes the account.
func (c *AccountsDeleteCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	if err := api.DeleteAccount(context.Background(), c.Account); err != nil {
		return err
	}
	if !g.jsonOutput() {
		g.printf("Deleted account %s.\n", oneLine(c.Account))
	}
	return nil
}

// AccountsAssignCmd assigns a permission set to a user or group.
type AccountsAssignCmd struct {
	Account       string `arg:"" help:"12-digit account id or name."`
	PermissionSet string `name:"permission-set" required:"" help:"The permission set (name or id)." placeholder:"NAME"`
	principalFlags
}

// Run assigns.
func (c *AccountsAssignCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	kind, who := c.principal()
	as, err := api.AssignAccount(context.Background(), c.Account, c.PermissionSet, kind, who)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(as)
	}
	g.printf("Assigned %s to %s %s in account %s.\n", oneLine(as.PermissionSet), kind, oneLine(as.PrincipalName), oneLine(c.Account))
	return nil
}

// AccountsUnassignCmd removes an assignment.
type AccountsUnassignCmd struct {
	Account       string `arg:"" help:"12-digit account id or name."`
	PermissionSet string `name:"permission-set" required:"" help:"The permission set (name or id)." placeholder:"NAME"`
	principalFlags
}

// Run removes the assignment.
func (c *AccountsUnassignCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	kind, who := c.principal()
	if err := api.UnassignAccount(context.Background(), c.Account, c.PermissionSet, kind, who); err != nil {
		return err
	}
	if !g.jsonOutput() {
		g.printf("Unassigned %s from %s %s in account %s.\n", oneLine(c.PermissionSet), kind, oneLine(who), oneLine(c.Account))
	}
	return nil
}

// AccountsAssignmentsCmd lists assignments.
type AccountsAssignmentsCmd struct {
	Account string `arg:"" optional:"" help:"12-digit account id or name; all accounts when omitted."`
}

// Run lists the assignments.
func (c *AccountsAssignmentsCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	ctx := context.Background()
	var list []client.AccountAssignment
	if c.Account != "" {
		list, err = api.ListAccountAssignments(ctx, c.Account)
	} else {
		list, err = api.AllAccountAssignments(ctx)
	}
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(nonNil(list))
	}
	accounts, err := api.ListAccounts(ctx)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, a := range accounts {
		names[a.ID] = a.Name
	}
	slices.SortStableFunc(list, func(x, y client.AccountAssignment) int {
		return strings.Compare(strings.ToLower(names[x.AccountID]), strings.ToLower(names[y.AccountID]))
	})
	t := newTable(g.Stdout, "ACCOUNT", "ACCOUNT ID", "PERMISSION SET", "TYPE", "PRINCIPAL")
	for _, a := range list {
		t.row(names[a.AccountID], a.AccountID, a.PermissionSet, a.PrincipalType, a.PrincipalName)
	}
	return t.flush()
}
