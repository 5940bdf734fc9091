package simulator_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The floors of the code, and what each may import besides the standard
// library: a package that imports anything else breaks the layout.
var floors = []struct {
	pkg   string
	allow []string
}{
	// The SDK is a guest in its users' go.mod: a websocket library and
	// nothing of the server's.
	{"smsim/simulator/client", []string{"github.com/gorilla/websocket"}},
	// The load driver stands where a client team does: on the SDK and the
	// people who use it, with a histogram library of its own.
	{"smsim/simulator/load", []string{"smsim/simulator/client", "smsim/simulator/people",
		"github.com/gorilla/websocket", "github.com/HdrHistogram/hdrhistogram-go"}},
}

// The floors of smsim itself: each package, and the smsim packages it may
// import (not counting its tests). They run one way: the ground imports
// nothing of smsim but the opening of its store (redisstore); the domain stands on the ground; the assembled world on
// the domain; HTTP, the test harness and the binary on the world. The SDK
// stands alone, and what drives a server through it stands on it. A
// package missing from this table fails the test: a new one takes its
// floor here.
var smsimFloors = map[string][]string{
	"smsim/simulator/core/redisstore": {},
	"smsim/simulator/core":            {"smsim/simulator/core/redisstore"},
	"smsim/simulator/core/testkit":    {"smsim/simulator/core/redisstore"},
	"smsim/gateway":                   {"smsim/simulator/core"},
	"smsim/miit":                      {"smsim/simulator/core", "smsim/gateway"},
	"smsim/simulator/webhook":         {"smsim/simulator/core"},
	"smsim/simulator": {"smsim/simulator/core", "smsim/gateway", "smsim/miit",
		"smsim/simulator/webhook"},
	"smsim/dashboard": {},
	"smsim/simulator/server": {"smsim/simulator", "smsim/simulator/core", "smsim/gateway", "smsim/miit",
		"smsim/simulator/webhook", "smsim/dashboard"},
	"smsim/simulator/server/openapitest": {"smsim/simulator/server"},
	"smsim/simulator/client":             {},
	"smsim/simulator/people":             {"smsim/simulator/client"},
	"smsim/simulator/simtest": {"smsim/simulator", "smsim/simulator/core", "smsim/simulator/server",
		"smsim/simulator/client", "smsim/simulator/core/testkit", "smsim/simulator/core/redisstore"},
	"smsim/simulator/load":          {"smsim/simulator/client", "smsim/simulator/people"},
	"smsim/cmd/internal/gcheadroom": {},
	"smsim/cmd/smsim-bench": {"smsim/simulator", "smsim/simulator/core", "smsim/simulator/server", "smsim/simulator/client",
		"smsim/simulator/core/redisstore", "smsim/simulator/people", "smsim/simulator/load", "smsim/cmd/internal/gcheadroom"},
	"smsim/cmd/smsim": {"smsim/simulator", "smsim/simulator/core", "smsim/simulator/server", "smsim/gateway",
		"smsim/simulator/client", "smsim/simulator/people", "smsim/simulator/load", "smsim/simulator/core/redisstore",
		"smsim/cmd/internal/gcheadroom"},
}

func TestFloors(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \",\"}}", "smsim/...").Output()
	if err != nil {
		t.Fatalf("go list smsim/...: %v", err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		seen[pkg] = true
		allowed, ok := smsimFloors[pkg]
		if !ok {
			t.Errorf("%s has no floor: give it one in smsimFloors", pkg)
			continue
		}
		for _, imp := range strings.Split(imports, ",") {
			if strings.HasPrefix(imp, "smsim/") && !slices.Contains(allowed, imp) {
				t.Errorf("%s imports %s, which its floor does not allow (it may import %v)", pkg, imp, allowed)
			}
		}
	}
	for pkg := range smsimFloors {
		if !seen[pkg] {
			t.Errorf("%s is in smsimFloors but is no package", pkg)
		}
	}
}

func TestLayout(t *testing.T) {
	for _, f := range floors {
		t.Run(f.pkg, func(t *testing.T) {
			ok := func(path string) bool { return path == f.pkg || slices.Contains(f.allow, path) }
			var through int // packages that come with those named
			for _, d := range deps(t, f.pkg) {
				if d.standard || ok(d.path) {
					continue
				}
				var by []string // the floor's own packages that import it
				for _, p := range d.importers {
					if ok(p) {
						by = append(by, p)
					}
				}
				if len(by) == 0 {
					through++
					continue
				}
				t.Errorf("%s depends on %s, which %s imports", f.pkg, d.path, strings.Join(by, " and "))
			}
			if through > 0 {
				t.Errorf("and %d more packages come with them", through)
			}
		})
	}
}

// dep is a package that another imports, directly or not.
type dep struct {
	path      string
	standard  bool     // of the standard library
	importers []string // the packages among the deps that import it
}

// deps answers pkg and every package it imports, directly or not (go list
// -deps).
func deps(t *testing.T, pkg string) []dep {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}} {{join .Imports \",\"}}", pkg).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	var ds []dep
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			t.Fatalf("go list -deps %s: a line %q", pkg, line)
		}
		ds = append(ds, dep{path: fields[0], standard: fields[1] == "true"})
		if len(fields) == 3 {
			imports[fields[0]] = strings.Split(fields[2], ",")
		}
	}
	for i := range ds {
		for _, d := range ds {
			if slices.Contains(imports[d.path], ds[i].path) {
				ds[i].importers = append(ds[i].importers, d.path)
			}
		}
	}
	return ds
}
