package core_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"smsim/simulator/core"
)

// repo is the top of the repository, seen from this package's directory.
const repo = "../.."

// luaFiles reads every .lua file of the repository, by path.
func luaFiles(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(repo, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != repo {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".lua") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(path)] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no .lua file found")
	}
	return out
}

// Every kind a script emits is in the registry: a script names it from
// KIND, by its Lua name, and never spells it.
func TestScriptsEmitKindsOfTheRegistry(t *testing.T) {
	known := map[string]bool{}
	for _, k := range core.EventKinds() {
		known[core.LuaKindName(k)] = true
	}
	use := regexp.MustCompile(`KIND\.([A-Za-z0-9_]+)`)
	emitted := map[string]bool{}
	for path, src := range luaFiles(t) {
		for _, m := range use.FindAllStringSubmatch(src, -1) {
			if !known[m[1]] {
				t.Errorf("%s: KIND.%s is no kind of the registry (core.EventKinds)", path, m[1])
			}
			emitted[m[1]] = true
		}
		if strings.Contains(src, "KIND[") {
			t.Errorf("%s: reads KIND by an expression; name the kind (KIND.sms_sent), so that it can be checked", path)
		}
		for _, k := range core.EventKinds() {
			if strings.Contains(src, "'"+k+"'") || strings.Contains(src, `"`+k+`"`) {
				t.Errorf("%s: spells the kind %q; use KIND.%s", path, k, core.LuaKindName(k))
			}
		}
	}
	for _, k := range []string{core.KindFilingSubmitted, core.KindFilingStatus, core.KindSMSSent, core.KindSMSDelivered,
		core.KindSMSBlocked, core.KindSMSFailed, core.KindValidation, core.KindResend} {
		if !emitted[core.LuaKindName(k)] {
			t.Errorf("no script emits %s: is the test reading the scripts?", k)
		}
	}
}

// pageKinds are the kinds the page's event switch (dashboard/static/app.js)
// has a case for.
func pageKinds(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, "dashboard", "static", "app.js"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	at := regexp.MustCompile(`switch \(\w+\.kind\) \{`).FindStringIndex(src)
	if at == nil {
		t.Fatal("app.js: no switch on an event's kind")
	}
	depth, end := 1, at[1]
	for ; end < len(src) && depth > 0; end++ {
		switch src[end] {
		case '{':
			depth++
		case '}':
			depth--
		}
	}
	var kinds []string
	for _, m := range regexp.MustCompile(`case '([^']+)':`).FindAllStringSubmatch(src[at[1]:end], -1) {
		kinds = append(kinds, m[1])
	}
	return kinds
}

// The page shows every kind of event, and no kind the registry lacks.
func TestThePageKnowsEveryKind(t *testing.T) {
	page := pageKinds(t)
	for _, k := range core.EventKinds() {
		if !slices.Contains(page, k) {
			t.Errorf("the page (dashboard/static/app.js) has no case for the kind %s", k)
		}
	}
	for _, k := range page {
		if !slices.Contains(core.EventKinds(), k) {
			t.Errorf("the page has a case for %s, no kind of the registry (core.EventKinds)", k)
		}
	}
}
