// Command idcenter is the idcenter server and its admin command line.
//
// "idcenter serve" runs the server; "migrate" and "check-config" help operate
// it. Every other command administers a running server through the admin
// REST API (package client), with one grammar:
//
//	idcenter <resource> <verb> [args] [flags]
//
// The server URL and API token come from --url/--token, then the
// IDCENTER_URL/IDCENTER_TOKEN environment variables, then the file written by
// "idcenter login".
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"

	"github.com/alecthomas/kong"

	"github.com/idcenter/idcenter/client"
)

// Globals are the flags every command accepts, plus the process's streams
// and environment. Commands receive them in Run.
type Globals struct {
	URL    string `name:"url" placeholder:"URL" help:"Server URL, e.g. https://id.example.com (default: $$IDCENTER_URL, then the URL saved by 'idcenter login')."`
	Token  string `placeholder:"TOKEN" help:"API token (default: $$IDCENTER_TOKEN, then the token saved by 'idcenter login'; flags are visible to other local users, prefer those)."`
	Output string `short:"o" enum:"table,json" default:"table" help:"Output format: table or json."`

	Stdout io.Writer `kong:"-"`
	Stderr io.Writer `kong:"-"`
	Stdin  io.Reader `kong:"-"`
	// Getenv reads the environment: os.Getenv in main, a map in tests.
	Getenv func(string) string `kong:"-"`
}

// getenv reads an environment variable through g.Getenv.
func (g *Globals) getenv(key string) string {
	if g.Getenv == nil {
		return ""
	}
	return g.Getenv(key)
}

// CLI is the command tree.
type CLI struct {
	Globals `embed:""`

	Serve       ServeCmd       `cmd:"" help:"Run the idcenter server."`
	Migrate     MigrateCmd     `cmd:"" help:"Apply pending database migrations and exit."`
	CheckConfig CheckConfigCmd `cmd:"" name:"check-config" help:"Check the server configuration and exit."`

	Login  LoginCmd  `cmd:"" help:"Save the server URL and an API token for later commands." group:"Admin commands:"`
	Logout LogoutCmd `cmd:"" help:"Remove the saved API token." group:"Admin commands:"`
	Whoami WhoamiCmd `cmd:"" help:"Show who the API token belongs to." group:"Admin commands:"`
	Users  UsersCmd  `cmd:"" help:"Manage users." group:"Admin commands:"`
	Groups GroupsCmd `cmd:"" help:"Manage groups and their members." group:"Admin commands:"`
	Apps   AppsCmd   `cmd:"" help:"Manage SAML applications, their assignments and certificates." group:"Admin commands:"`

	Accounts       AccountsCmd       `cmd:"" help:"Manage AWS accounts and who holds which permission set in them." group:"Admin commands:"`
	PermissionSets PermissionSetsCmd `cmd:"" name:"permission-sets" help:"Manage permission sets: the IAM roles people get in AWS accounts." group:"Admin commands:"`

	Tokens TokensCmd `cmd:"" help:"Manage admin API tokens." group:"Admin commands:"`

	SCIMTokens SCIMTokensCmd `cmd:"" name:"scim-tokens" help:"Manage SCIM provisioning tokens for identity providers." group:"Admin commands:"`

	Audit  AuditCmd  `cmd:"" help:"Read the audit trail." group:"Admin commands:"`
	Apply  ApplyCmd  `cmd:"" help:"Apply a declarative YAML description of users, groups, applications, accounts and permission sets." group:"Admin commands:"`
	Export ExportCmd `cmd:"" help:"Print users, groups, applications, accounts and permission sets as a declarative YAML document." group:"Admin commands:"`

	AWS AWSCmd `cmd:"" name:"aws" help:"Render the IAM set-up of AWS accounts as code and check it for drift." group:"Admin commands:"`

	Version VersionCmd `cmd:"" help:"Print the version."`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// exitCode carries kong's request to exit (after --help) out of the parser.
type exitCode int

// run parses args, runs the selected command and returns the exit status:
// 0 on success, 1 on any error (reported as one line on stderr).
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) string) (code int) {
	cli := CLI{Globals: Globals{Stdout: stdout, Stderr: stderr, Stdin: stdin, Getenv: env}}
	parser, err := kong.New(&cli,
		kong.Name("idcenter"),
		kong.Description("idcenter is a self-hosted identity center: a directory of users and groups, single sign-on, and an admin API. "+
			"Admin commands take the form 'idcenter <resource> <verb> [args] [flags]'."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(c int) { panic(exitCode(c)) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, NoExpandSubcommands: true}),
	)
	if err != nil {
		fmt.Fprintf(stderr, "idcenter: %v\n", err)
		return 1
	}
	defer func() {
		if r := recover(); r != nil {
			c, ok := r.(exitCode)
			if !ok {
				panic(r)
			}
			code = int(c)
		}
	}()
	if len(args) == 0 {
		args = []string{"--help"}
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		hint := "idcenter --help"
		var pe *kong.ParseError
		if errors.As(err, &pe) && pe.Context != nil {
			if path := commandPath(pe.Context.Selected()); path != "" {
				hint = "idcenter " + path + " --help"
			}
		}
		fmt.Fprintf(stderr, "idcenter: %s (see '%s')\n", oneLine(err.Error()), hint)
		return 1
	}
	if err := kctx.Run(&cli.Globals); err != nil {
		fmt.Fprintf(stderr, "idcenter: %s\n", errorLine(err))
		return 1
	}
	return 0
}

// commandPath is the command words leading to n ("users create").
func commandPath(n *kong.Node) string {
	var words []string
	for ; n != nil && n.Parent != nil; n = n.Parent {
		if n.Type == kong.CommandNode {
			words = append([]string{n.Name}, words...)
		}
	}
	return strings.Join(words, " ")
}

// errorLine renders err as one line, with a hint for the errors people can
// fix themselves.
func errorLine(err error) string {
	msg := oneLine(err.Error())
	switch {
	case client.IsStatus(err, 401):
		msg += " (check --token, IDCENTER_TOKEN or 'idcenter login')"
	case client.IsStatus(err, 403):
		msg += " (this needs a token with the admin role)"
	}
	return msg
}

// oneLine replaces control and format characters (newlines, terminal escape
// sequences, bidi overrides) with spaces, so untrusted text prints safely on
// one line.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)
	}), " ")
}
