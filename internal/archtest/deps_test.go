package archtest

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/samsa-io/samsa"

// allowed lists, for each package, the internal packages it may import
// (directly or not). config is a leaf of the standard library only, which
// every package above the pure storage and metadata layers may use for its
// typed settings; docs/architecture.md records that refinement of DESIGN.md.
var allowed = map[string][]string{
	"cmd/samsa":            {"broker", "config", "cli", "*"}, // the composition reaches everything through broker
	"internal/config":      {},
	"internal/wire":        {},
	"internal/record":      {},
	"internal/metadata":    {},
	"internal/metrics":     {},
	"internal/storage":     {"record"},
	"internal/quorum":      {"metadata", "storage", "record"},
	"internal/kclient":     {},
	"internal/controller":  {"metadata", "quorum", "config", "storage", "record", "kclient"},
	"internal/partition":   {"storage", "record", "metadata", "config"},
	"internal/replication": {"partition", "storage", "record", "metadata", "config", "kclient"},
	"internal/group":       {"partition", "storage", "record", "metadata", "config"},
	"internal/txn":         {"partition", "storage", "record", "metadata", "config"},
	"internal/auth":        {"metadata", "config"},
	"internal/server":      {"auth", "wire", "metadata", "config"},
	"internal/api":         {"*", "!server"},
	"internal/broker":      {"*"},
	"internal/cli":         {"config"},
	"internal/clustertest": {"*"},
}

func TestDependencyRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-json=ImportPath,Deps", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		rel, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue
		}
		rules, known := allowed[rel]
		if !known {
			if strings.HasPrefix(rel, "internal/") && !strings.Contains(strings.TrimPrefix(rel, "internal/"), "/") && rel != "internal/archtest" {
				t.Errorf("package %s has no dependency rule: add it here and to internal/README.md", rel)
			}
			continue
		}
		checked++
		for _, dep := range p.Deps {
			drel, ok := strings.CutPrefix(dep, module+"/internal/")
			if !ok {
				continue
			}
			drel, _, _ = strings.Cut(drel, "/") // internal sub-packages count as their parent
			if "internal/"+drel == rel {
				continue
			}
			if slices.Contains(rules, "!"+drel) || (!slices.Contains(rules, "*") && !slices.Contains(rules, drel)) {
				t.Errorf("%s must not depend on internal/%s", rel, drel)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d packages checked; is go list working?", checked)
	}
}
