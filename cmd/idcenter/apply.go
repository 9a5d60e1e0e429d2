package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/idcenter/idcenter/internal/declarative"
)

// maxDocumentBytes bounds the declarative document read by apply.
const maxDocumentBytes = 16 << 20

// ApplyCmd sends a declarative document and prints the plan.
type ApplyCmd struct {
	File   string `short:"f" required:"" help:"YAML document to apply; - reads standard input." placeholder:"FILE"`
	DryRun bool   `name:"dry-run" help:"Only show what would change."`
	Prune  bool   `help:"Also delete users and groups the document does not mention."`
}

// Run applies the document.
func (c *ApplyCmd) Run(g *Globals) error {
	doc, err := c.read(g.Stdin)
	if err != nil {
		return err
	}
	api, err := g.api()
	if err != nil {
		return err
	}
	plan, err := api.Apply(context.Background(), doc, c.DryRun, c.Prune)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(plan)
	}
	text := plan.Text
	if text == "" && len(plan.Changes) == 0 {
		text = "No changes."
	}
	g.printf("%s\n", strings.TrimRight(text, "\n"))
	if !plan.Applied && len(plan.Changes) > 0 {
		g.notef("Dry run: nothing was changed.\n")
	}
	return nil
}

func (c *ApplyCmd) read(stdin io.Reader) ([]byte, error) {
	var r io.Reader
	name := c.File
	if c.File == "-" {
		r, name = stdin, "standard input"
	} else {
		f, err := os.Open(c.File)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxDocumentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(b) > maxDocumentBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, maxDocumentBytes)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, fmt.Errorf("%s is empty", name)
	}
	if strings.Contains(string(b), "sp_metadata_file") || strings.Contains(string(b), "inline_policy_file") {
		// The server cannot read our files: inline the SP metadata and
		// the inline policies they name.
		dir := "."
		if c.File != "-" {
			dir = filepath.Dir(c.File)
		}
		doc, err := declarative.Parse(b)
		if err != nil {
			return nil, err
		}
		if err := doc.ResolveFiles(dir); err != nil {
			return nil, err
		}
		return doc.Marshal()
	}
	return b, nil
}

// ExportCmd writes the declarative document.
type ExportCmd struct {
	File string `short:"f" help:"Write to this file (mode 0600) instead of standard output." placeholder:"FILE"`
}

// Run exports the directory.
func (c *ExportCmd) Run(g *Globals) error {
	api, err := g.api()
	if err != nil {
		return err
	}
	doc, err := api.Export(context.Background())
	if err != nil {
		return err
	}
	if c.File == "" || c.File == "-" {
		_, err := g.Stdout.Write(doc)
		return err
	}
	if err := writeFileAtomic(c.File, doc, 0o600); err != nil {
		return err
	}
	g.notef("Wrote %s.\n", c.File)
	return nil
}
