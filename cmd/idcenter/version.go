package main

import (
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise it comes from the module's build information.
var version = ""

// buildInfo describes this binary.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"goVersion"`
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, GoVersion: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	return b
}

func versionString() string { return readBuildInfo().Version }

// VersionCmd prints the version.
type VersionCmd struct{}

// Run prints the version, commit and Go version.
func (c *VersionCmd) Run(g *Globals) error {
	b := readBuildInfo()
	if g.jsonOutput() {
		return g.printJSON(b)
	}
	line := "idcenter " + b.Version
	if b.Commit != "" {
		line += " commit " + b.Commit
		if b.Modified {
			line += " (modified)"
		}
	}
	g.printf("%s %s\n", line, b.GoVersion)
	return nil
}
