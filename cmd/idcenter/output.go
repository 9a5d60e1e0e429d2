package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// jsonOutput reports whether -o json was asked for.
func (g *Globals) jsonOutput() bool { return g.Output == "json" }

// printJSON writes v as indented JSON: the objects exactly as the API
// returns them.
func (g *Globals) printJSON(v any) error {
	enc := json.NewEncoder(g.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// printf writes a human-readable line to stdout.
func (g *Globals) printf(format string, args ...any) {
	fmt.Fprintf(g.Stdout, format, args...)
}

// notef writes a remark to stderr, where it never mixes with data.
func (g *Globals) notef(format string, args ...any) {
	fmt.Fprintf(g.Stderr, format, args...)
}

// nonNil turns a nil slice into an empty one, so -o json prints [] not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// table writes aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, headers ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	fmt.Fprintln(t.tw, strings.Join(headers, "\t"))
	return t
}

// row adds one row; cells are made safe for a terminal and "-" stands for
// an empty value.
func (t *table) row(cells ...string) {
	for i, c := range cells {
		if c = cell(c); c == "" {
			c = "-"
		}
		cells[i] = c
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// cell makes directory data safe to print in a table: control and format
// characters (tabs, newlines, escape sequences, bidi overrides) become
// spaces, and long values are cut.
func cell(s string) string {
	const max = 60
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}

// details prints "Key: value" lines, aligned, skipping empty values.
type details struct{ tw *tabwriter.Writer }

func newDetails(w io.Writer) *details {
	return &details{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
}

func (d *details) add(key, value string) {
	if value == "" {
		return
	}
	fmt.Fprintf(d.tw, "%s:\t%s\n", key, oneLine(value))
}

func (d *details) flush() error { return d.tw.Flush() }

// fmtTime formats a time for tables: UTC, to the second.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// fmtTimePtr formats an optional time, with none for nil.
func fmtTimePtr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return fmtTime(*t)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// moreHint tells on stderr how to get the next page.
func (g *Globals) moreHint(next string) {
	if next != "" {
		g.notef("More results: rerun with --all, or with --cursor %s for the next page.\n", oneLine(next))
	}
}
