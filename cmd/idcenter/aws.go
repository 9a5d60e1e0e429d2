package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/idcenter/idcenter/client"
)

// AWSCmd groups the commands about the AWS side of account access.
type AWSCmd struct {
	Render AWSRenderCmd `cmd:"" help:"Write the IAM set-up each AWS account needs (SAML provider, one role per assigned permission set) as CloudFormation or Terraform."`
	Check  AWSCheckCmd  `cmd:"" help:"List drift between the model and the last rendered IAM set-up; exits 1 when there is any."`
}

// AWSRenderCmd renders accounts' IAM set-up.
type AWSRenderCmd struct {
	Format  string `default:"cloudformation" enum:"cloudformation,cloudformation-yaml,terraform" help:"cloudformation (JSON), cloudformation-yaml or terraform (HCL JSON, *.tf.json)." placeholder:"FORMAT"`
	Account string `help:"Only this account (12-digit id or name); default: every account, one document each." placeholder:"ID"`
	File    string `short:"f" help:"Write to this file, or into this directory (created if needed; required for several accounts). Terraform goes to DIR/<account id>/, one module per account. Default: standard output." placeholder:"FILE|DIR"`
}

// Run renders and writes the documents.
func (c *AWSRenderCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	ctx := context.Background()
	if c.Account != "" {
		doc, err := api.RenderAccountIAM(ctx, c.Account, c.Format)
		if err != nil {
			return err
		}
		if c.File == "" || c.File == "-" {
			_, err := g.Stdout.Write(doc)
			return err
		}
		path := c.File
		if st, err := os.Stat(path); err == nil && st.IsDir() {
			// Name it after the account id the server rendered for.
			d, err := api.AccountIAMDrift(ctx, c.Account)
			if err != nil {
				return err
			}
			path = filepath.Join(path, iamFileName(d.AccountID, c.Format))
		}
		return g.writeIAM(path, doc, c.Account)
	}

	accounts, err := api.IAMDrift(ctx)
	if err != nil {
		return err
	}
	if len(accounts) == 0 {
		g.notef("No AWS accounts: nothing to render.\n")
		return nil
	}
	if c.File == "" || c.File == "-" {
		if len(accounts) > 1 {
			return errors.New("several accounts: give --account ID, or -f DIR to write one document per account")
		}
		doc, err := api.RenderAccountIAM(ctx, accounts[0].AccountID, c.Format)
		if err != nil {
			return err
		}
		_, err = g.Stdout.Write(doc)
		return err
	}
	for _, a := range accounts {
		doc, err := api.RenderAccountIAM(ctx, a.AccountID, c.Format)
		if err != nil {
			return fmt.Errorf("account %s (%s): %w", a.AccountID, a.AccountName, err)
		}
		dir := c.File
		if c.Format == client.IAMFormatTerraform {
			dir = filepath.Join(dir, a.AccountID)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := g.writeIAM(filepath.Join(dir, iamFileName(a.AccountID, c.Format)), doc, a.AccountName); err != nil {
			return err
		}
	}
	return nil
}

func (g *Globals) writeIAM(path string, doc []byte, account string) error {
	// The documents hold no secret: the metadata is public, like the roles.
	if err := writeFileAtomic(path, doc, 0o644); err != nil {
		return err
	}
	g.notef("Wrote %s (account %s).\n", path, account)
	return nil
}

// iamFileName is the file name of an account's rendered set-up, the one
// the server's Content-Disposition gives.
func iamFileName(accountID, format string) string {
	switch format {
	case client.IAMFormatCloudFormationYAML:
		return "idcenter-iam-" + accountID + ".yaml"
	case client.IAMFormatTerraform:
		return "idcenter-iam-" + accountID + ".tf.json"
	}
	return "idcenter-iam-" + accountID + ".json"
}

// AWSCheckCmd reports drift.
type AWSCheckCmd struct {
	Account string `help:"Only this account (12-digit id or name); default: every account." placeholder:"ID"`
}

// errDrift is returned (exit status 1) when some account drifted.
type errDrift struct{ accounts int }

func (e errDrift) Error() string {
	return fmt.Sprintf("drift in %d account(s): render again ('idcenter aws render') and apply the documents", e.accounts)
}

// Run prints the drift of the accounts, and fails if there is any.
func (c *AWSCheckCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	ctx := context.Background()
	var ds []client.IAMDrift
	if c.Account != "" {
		d, err := api.AccountIAMDrift(ctx, c.Account)
		if err != nil {
			return err
		}
		ds = []client.IAMDrift{d}
	} else if ds, err = api.IAMDrift(ctx); err != nil {
		return err
	}
	drifted := 0
	for _, d := range ds {
		if !d.InSync {
			drifted++
		}
	}
	if g.jsonOutput() {
		if err := g.printJSON(nonNil(ds)); err != nil {
			return err
		}
	} else if len(ds) == 0 {
		g.notef("No AWS accounts.\n")
	} else {
		tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ACCOUNT\tNAME\tROLE\tCHANGE")
		for _, d := range ds {
			if d.InSync {
				fmt.Fprintf(tw, "%s\t%s\t-\tin sync (rendered %s by %s)\n", d.AccountID, plainCell(d.AccountName),
					d.RenderedAt.Local().Format("2006-01-02 15:04"), plainCell(d.RenderedBy))
				continue
			}
			for _, x := range d.Differences {
				role := x.Role
				if role == "" {
					role = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.AccountID, plainCell(d.AccountName), plainCell(role), plainCell(x.Detail))
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if drifted > 0 {
		return errDrift{drifted}
	}
	return nil
}

// plainCell makes server text safe for a terminal without shortening it
// (the change is the point of the table).
func plainCell(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return ' '
		}
		return r
	}, s)
}
