package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"smsim/dashboard"
)

// node finds Node.js. Without it, the JavaScript unit tests fail in CI (CI
// is set: .ci/run installs Node.js, so its absence there is a defect) and
// are skipped elsewhere, saying how to install it.
func node(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("SMSIM_NODE"), "node", "nodejs"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const why = "node is not installed: the dashboard's JavaScript unit tests need it (Debian: apt-get install -y nodejs; " +
		".ci/run installs it), or name a node binary in SMSIM_NODE"
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
	return ""
}

var tapCount = regexp.MustCompile(`(?m)^# (pass|fail) (\d+)$`)

// TestJavaScriptUnits runs the unit tests of the page's modules,
// jstest/*.test.js, with node --test: the model, the feed's order and
// catch-up, the namespace rules and control, the requests of the namespace
// shown, and its state. It fails with node's report when one fails.
func TestJavaScriptUnits(t *testing.T) {
	bin := node(t)
	files, err := filepath.Glob(filepath.Join("jstest", "*.test.js"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no jstest/*.test.js")
	}
	cmd := exec.CommandContext(t.Context(), bin, append([]string{"--test", "--test-reporter=tap"}, files...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test %v: %v\n%s", files, err, out)
	}
	counts := map[string]int{}
	for _, m := range tapCount.FindAllStringSubmatch(string(out), -1) {
		counts[m[1]], _ = strconv.Atoi(m[2])
	}
	if counts["pass"] == 0 || counts["fail"] != 0 {
		t.Fatalf("node --test %v: %d passed, %d failed\n%s", files, counts["pass"], counts["fail"], out)
	}
	t.Logf("node --test: %d JavaScript tests passed in %d files", counts["pass"], len(files))
}

// TestJavaScriptTestsNotServed: the unit tests and their package.json live
// beside the page's tree, not in it, so the binary neither embeds nor
// serves them.
func TestJavaScriptTestsNotServed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("jstest", "*.js"))
	if err != nil {
		t.Fatal(err)
	}
	h := dashboard.Handler()
	for _, f := range append(files, "package.json") {
		for _, name := range []string{filepath.ToSlash(f), filepath.Base(f)} {
			if dashboard.HasAsset(name) {
				t.Errorf("the page has an asset %s", name)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", dashboard.AssetPrefix+name, nil))
			if rec.Code != http.StatusNotFound {
				t.Errorf("GET %s%s: %d, want 404", dashboard.AssetPrefix, name, rec.Code)
			}
		}
	}
	if !dashboard.HasAsset("shown.js") {
		t.Error("the page has no shown.js: the check above looks in the wrong place")
	}
}
