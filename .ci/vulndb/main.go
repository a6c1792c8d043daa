// Command vulndb builds a Go vulnerability database in the layout
// govulncheck reads (-db file:///DIR) from the OSV entries shipped in the
// golang.org/x/vulndb module, for machines that cannot reach vuln.go.dev.
//
//	vulndb -osv $(go mod download -json golang.org/x/vulndb@latest | jq -r .Dir)/data/osv -out DIR
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// entry holds the parts of an OSV entry the indexes need; the entry itself
// is copied through untouched apart from its modified time.
type entry struct {
	ID       string   `json:"id"`
	Aliases  []string `json:"aliases"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
	} `json:"affected"`
}

type vulnRef struct {
	ID       string `json:"id"`
	Modified string `json:"modified"`
}

type moduleIndex struct {
	Path  string    `json:"path"`
	Vulns []vulnRef `json:"vulns"`
}

type vulnIndex struct {
	ID       string   `json:"id"`
	Modified string   `json:"modified"`
	Aliases  []string `json:"aliases,omitempty"`
}

func main() {
	osvDir := flag.String("osv", "", "directory of OSV JSON entries (data/osv of golang.org/x/vulndb)")
	out := flag.String("out", "", "directory to write the database to")
	flag.Parse()
	if *osvDir == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: vulndb -osv DIR -out DIR")
		os.Exit(2)
	}
	if err := build(*osvDir, *out, time.Now().UTC().Format(time.RFC3339)); err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(1)
	}
}

func build(osvDir, out, modified string) error {
	files, err := filepath.Glob(filepath.Join(osvDir, "GO-*.json"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no OSV entries in %s", osvDir)
	}
	for _, d := range []string{"ID", "index"} {
		if err := os.MkdirAll(filepath.Join(out, d), 0o755); err != nil {
			return err
		}
	}
	modules := map[string][]vulnRef{}
	var vulns []vulnIndex
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var whole map[string]any
		var e entry
		if err := json.Unmarshal(raw, &whole); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		whole["modified"] = modified
		if err := writeJSON(filepath.Join(out, "ID", e.ID+".json"), whole); err != nil {
			return err
		}
		vulns = append(vulns, vulnIndex{ID: e.ID, Modified: modified, Aliases: e.Aliases})
		seen := map[string]bool{}
		for _, a := range e.Affected {
			if p := a.Package.Name; p != "" && !seen[p] {
				seen[p] = true
				modules[p] = append(modules[p], vulnRef{ID: e.ID, Modified: modified})
			}
		}
	}
	var mods []moduleIndex
	for p, v := range modules {
		mods = append(mods, moduleIndex{Path: p, Vulns: v})
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Path < mods[j].Path })
	sort.Slice(vulns, func(i, j int) bool { return vulns[i].ID < vulns[j].ID })
	if err := writeJSON(filepath.Join(out, "index", "modules.json"), mods); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(out, "index", "vulns.json"), vulns); err != nil {
		return err
	}
	return writeJSON(filepath.Join(out, "index", "db.json"), map[string]string{"modified": modified})
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
