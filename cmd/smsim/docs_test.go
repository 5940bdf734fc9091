package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode"

	"smsim/simulator/core/testkit"
)

// The docs whose command blocks run, each against a fresh smsim started
// with args. With exact, every block's output must be the one the doc
// shows after it; with reset, each section starts with a reset of the
// default namespace, as those docs say their examples did.
var docRuns = []struct {
	name  string
	doc   string
	args  []string
	exact bool
	reset bool
	cli   bool // its blocks run the binary's subcommands (smsim submit, …) too
}{
	{"walkthrough", "../../README.md", seeded, true, false, false},
	{"walkthrough on a running clock", "../../README.md", nil, false, false, false},
	{"faults", "../../simulator/README.md", seeded, true, true, false},
	{"API", "../../simulator/server/README.md", append(seeded[:len(seeded):len(seeded)], "--webhook-host", "127.0.0.1:9000"), true, true, false},
	{"rules", "../../miit/README.md", seeded, true, true, false},
	{"the binary's subcommands", "README.md", seeded, true, false, true},
}

// TestMain lets the test binary stand in for the smsim binary: with
// SMSIM_DOCS_BINARY set, it runs as smsim does, so that the docs' command
// blocks run the binary's subcommands as written, with no build.
func TestMain(m *testing.M) {
	if os.Getenv(asBinary) != "" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// asBinary is the variable that makes the test binary run as smsim.
const asBinary = "SMSIM_DOCS_BINARY"

// seeded is how the docs' examples were run.
var seeded = []string{"--paused", "--seed", "42", "--clock-start", "2026-05-01T00:00:00Z"}

// TestDocsCommandsRun runs the shell blocks of the docs as they are written,
// with bash, curl and jq, and the binary's subcommands (smsim submit, …),
// against a running smsim: every request must be answered below 400 (unless
// the doc shows the problem it answers), send Content-Type:
// application/json with the body of a POST, PUT or PATCH, and every block
// followed by an output block must print that output. A block that starts
// a program of its own (go, the smsim server, wscat, redis-server, docker)
// is not run; smsim tail, which follows a phone until Ctrl-C, runs for a
// second.
func TestDocsCommandsRun(t *testing.T) {
	shell := tools(t, "bash", "curl", "jq")
	for _, d := range docRuns {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(d.doc)
			if err != nil {
				t.Fatal(err)
			}
			sections := runnable(parseDoc(string(b)), d.cli)
			if len(sections) == 0 {
				t.Fatalf("%s: no block runs curl", d.doc)
			}
			if flags := strings.Join(d.args, " "); d.exact && !strings.Contains(strings.Join(strings.Fields(string(b)), " "), flags) {
				t.Fatalf("%s does not say its examples ran on smsim %s", d.doc, flags)
			}
			base := serve(t, d.args)
			rec := newRecorder(t, base)
			rec.cli = d.cli
			dir := t.TempDir()
			for _, sec := range sections {
				t.Run(sec.heading, func(t *testing.T) {
					if d.reset {
						resetDefault(t, base)
					}
					state := filepath.Join(dir, "state")
					os.Remove(state)
					for i, blk := range sec.blocks {
						out := rec.runBlock(t, shell, dir, state, blk)
						where := fmt.Sprintf("%s, %q, block %d (line %d)", d.doc, sec.heading, i+1, blk.line)
						if t.Failed() {
							t.Fatalf("%s failed", where)
						}
						if d.exact && blk.want != nil {
							if diff := compareOutput(*blk.want, out); diff != "" {
								t.Fatalf("%s printed what the doc does not show: %s\n--- printed:\n%s", where, diff, out)
							}
						}
					}
				})
			}
		})
	}
}

// Every doc of the repository with a block that runs curl or a subcommand
// of the binary is run by TestDocsCommandsRun, so that a new doc's
// examples cannot drift either. smsim load, which loads a server for
// minutes, is left to its own tests (load_test.go).
func TestDocsWithCommandsAreRun(t *testing.T) {
	run := map[string]bool{}
	for _, d := range docRuns {
		abs, err := filepath.Abs(d.doc)
		if err != nil {
			t.Fatal(err)
		}
		run[abs] = true
	}
	err := filepath.WalkDir("../..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "../.." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".md") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if abs, _ := filepath.Abs(path); len(runnable(parseDoc(string(b)), true)) > 0 && !run[abs] {
			t.Errorf("%s has blocks that run curl or the binary's subcommands, and no entry in docRuns", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// tools answers the path of bash, and checks that the others are
// installed. Without one, the test fails in CI (.ci/run installs them) and
// is skipped elsewhere, saying how to install it.
func tools(t *testing.T, names ...string) string {
	t.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			why := name + " is not installed: the test of the docs' commands needs bash, curl and jq " +
				"(Debian: apt-get install -y curl jq; .ci/run installs them)"
			if os.Getenv("CI") != "" {
				t.Fatal(why)
			}
			t.Skip(why)
		}
	}
	p, _ := exec.LookPath(names[0])
	return p
}

// block is one fenced block of a doc: its language, text and line, and
// for a shell block the output block that follows it.
type block struct {
	lang, text string
	line       int
	want       *block
}

type section struct {
	heading string
	blocks  []*block
}

var fence = regexp.MustCompile("^```([a-z]*)$")

// parseDoc splits a doc into its sections (by heading) and their fenced
// blocks at the start of a line; an output block is one that follows a
// shell block with nothing but blank lines between them.
func parseDoc(doc string) []section {
	var secs []section
	cur := section{heading: "(top)"}
	var open *block
	var last *block // the shell block the next block may be the output of
	for i, line := range strings.Split(doc, "\n") {
		if open != nil {
			if line == "```" {
				if open.lang == "sh" {
					cur.blocks = append(cur.blocks, open)
					last = open
				} else if last != nil && (open.lang == "json" || open.lang == "text") {
					last.want = open
					last = nil
				} else {
					last = nil
				}
				open = nil
				continue
			}
			open.text += line + "\n"
			continue
		}
		if m := fence.FindStringSubmatch(line); m != nil {
			open = &block{lang: m[1], line: i + 1}
			continue
		}
		if strings.HasPrefix(line, "#") {
			secs = append(secs, cur)
			cur = section{heading: strings.TrimSpace(strings.TrimLeft(line, "#"))}
		}
		if strings.TrimSpace(line) != "" {
			last = nil
		}
	}
	return append(secs, cur)
}

// starts names the programs a block may start that the test does not run.
var starts = []string{"go", "smsim", "./smsim", "wscat", "redis-server", "docker"}

var envAssign = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=\S*\s+`)

// runnable keeps the sections with a block that runs curl (or, with cli,
// a subcommand of the binary), and in them the blocks that start no
// program of their own.
func runnable(secs []section, cli bool) []section {
	var out []section
	for _, s := range secs {
		var keep []*block
		runs := false
		for _, b := range s.blocks {
			if startsProgram(b.text, cli) {
				continue
			}
			keep = append(keep, b)
			runs = runs || strings.Contains(b.text, "curl ") || (cli && runsSubcommand(b.text))
		}
		if runs {
			out = append(out, section{s.heading, keep})
		}
	}
	return out
}

// startsProgram tells whether a block starts a program of its own; with
// cli, smsim followed by a subcommand is not one.
func startsProgram(text string, cli bool) bool {
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(envAssign.ReplaceAllString(strings.TrimSpace(line), ""))
		if len(f) == 0 || !slices.Contains(starts, f[0]) {
			continue
		}
		if cli && f[0] == "smsim" && len(f) > 1 && isSubcommand(f[1]) {
			continue
		}
		return true
	}
	return false
}

// runsSubcommand tells whether a block runs a subcommand of the binary.
func runsSubcommand(text string) bool {
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(envAssign.ReplaceAllString(strings.TrimSpace(line), ""))
		if len(f) > 1 && f[0] == "smsim" && isSubcommand(f[1]) {
			return true
		}
	}
	return false
}

func isSubcommand(name string) bool {
	_, ok := cliCommand(name)
	return ok && name != "load"
}

// serve starts the binary's run with args on a random port, and answers its
// URL; it stops when the test ends.
func serve(t *testing.T, args []string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var logs testkit.Buffer
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), env(nil), io.Discard, &logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exit:
		case <-time.After(15 * time.Second):
			t.Error("smsim did not shut down")
		}
	})
	served := regexp.MustCompile(`url=(http://[0-9.:]+)`)
	var base string
	testkit.WaitFor(t, "smsim serving", func() bool {
		if m := served.FindStringSubmatch(logs.String()); m != nil {
			base = m[1]
		}
		return base != ""
	})
	return base
}

func resetDefault(t *testing.T, base string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/admin/v1/reset", nil)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		t.Fatalf("reset: %d", resp.StatusCode)
	}
}

// exchange is one request a block made, as the recorder saw it.
type exchange struct {
	method, path, contentType string
	body                      bool // the request had a body
	status                    int
}

// recorder stands between the blocks' curl and smsim, and records every
// exchange.
type recorder struct {
	url string
	cli bool // the blocks run the binary's subcommands
	mu  sync.Mutex
	got []exchange
}

func newRecorder(t *testing.T, base string) *recorder {
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		proxy.ServeHTTP(sw, req)
		r.mu.Lock()
		r.got = append(r.got, exchange{req.Method, req.URL.RequestURI(), req.Header.Get("Content-Type"), req.ContentLength != 0, sw.status})
		r.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var (
	docAddr = regexp.MustCompile(`(http://)?(127\.0\.0\.1|localhost):8080`)
	docVar  = regexp.MustCompile(`(?m)^\s*([A-Z_][A-Z0-9_]*)=`)
)

// runBlock runs blk with bash in dir, its address rewritten to the
// recorder's, with the variables that earlier blocks of its section set
// (kept in the file state), and answers what it printed. It fails the test
// when the block fails or one of its requests is not as the docs promise.
func (r *recorder) runBlock(t *testing.T, bash, dir, state string, blk *block) string {
	t.Helper()
	var vars []string
	for _, m := range docVar.FindAllStringSubmatch(blk.text, -1) {
		vars = append(vars, m[1])
	}
	script := "set -eo pipefail\n[ -f " + state + " ] && source " + state + "\n"
	if r.cli {
		// smsim is this test binary run as the binary; tail follows the
		// phone for a second, in place of the reader's Ctrl-C; MIIT's no
		// (exit 3) is an answer the docs show, not a failure
		script += `smsim() {
  if [ "$1" = tail ]; then timeout -s INT 1 "$SMSIM_BIN" "$@" && return; local rc=$?; [ $rc = 124 ] || [ $rc = 130 ]; return; fi
  "$SMSIM_BIN" "$@" && return; local rc=$?; [ $rc = 3 ]
}` + "\n"
	}
	script += docAddr.ReplaceAllString(blk.text, r.url) + "\n"
	if len(vars) > 0 {
		script += "declare -p " + strings.Join(vars, " ") + " >> " + state + " 2>/dev/null || true\n"
	}
	r.mu.Lock()
	r.got = nil
	r.mu.Unlock()

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "-c", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LC_ALL=C.UTF-8"}
	if r.cli {
		bin, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Env = append(cmd.Env, "SMSIM_BIN="+bin, asBinary+"=1", "SMSIM_URL="+r.url)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()

	r.mu.Lock()
	got := r.got
	r.mu.Unlock()
	if err != nil {
		t.Errorf("block at line %d: %v\n--- stdout:\n%s--- stderr:\n%s", blk.line, err, stdout.String(), stderr.String())
		return stdout.String()
	}
	if len(got) == 0 && (strings.Contains(blk.text, "curl ") || (r.cli && runsSubcommand(blk.text))) {
		t.Errorf("block at line %d made no request of smsim", blk.line)
	}
	allowed := problemStatuses(blk.want)
	for _, x := range got {
		if x.method == http.MethodPost || x.method == http.MethodPut || x.method == http.MethodPatch || x.method == http.MethodDelete {
			if mt, _, _ := mime.ParseMediaType(x.contentType); mt != "application/json" {
				t.Errorf("block at line %d: %s %s sends Content-Type %q, not application/json", blk.line, x.method, x.path, x.contentType)
			}
		}
		if x.status >= 400 && !allowed[x.status] {
			t.Errorf("block at line %d: %s %s answered %d", blk.line, x.method, x.path, x.status)
		}
	}
	return stdout.String()
}

// problemStatuses answers the statuses of the problem details an output
// block shows: the errors its commands are documented to meet.
func problemStatuses(want *block) map[int]bool {
	out := map[int]bool{}
	if want == nil || want.lang != "json" {
		return out
	}
	vals, _ := jsonValues(want.text)
	for _, v := range vals {
		if m, ok := v.(map[string]any); ok {
			if typ, _ := m["type"].(string); strings.HasPrefix(typ, "urn:smsim:problem:") {
				if n, ok := m["status"].(json.Number); ok {
					var code int
					fmt.Sscan(n.String(), &code)
					out[code] = true
				}
			}
		}
	}
	return out
}

// What the seed leaves alone differs from run to run, and from the docs:
// event ids (real time), webhook ids (random), and when a webhook was
// registered.
var (
	unseeded = regexp.MustCompile(`\b\d{13}-\d+\b|\bwh_[0-9a-f]{16}\b`)
	realTime = []string{"created_at"}
)

// compareOutput answers how got differs from the output block want: JSON
// as values, text line by line.
func compareOutput(want block, got string) string {
	if want.lang == "json" {
		w, err := jsonValues(want.text)
		if err != nil {
			return "the doc's output is not JSON: " + err.Error()
		}
		g, err := jsonValues(got)
		if err != nil {
			return "the output is not JSON: " + err.Error()
		}
		if len(w) != len(g) {
			return fmt.Sprintf("%d JSON values, the doc shows %d", len(g), len(w))
		}
		for i := range w {
			if !reflect.DeepEqual(normalize(w[i]), normalize(g[i])) {
				wb, _ := json.Marshal(w[i])
				return fmt.Sprintf("value %d differs; the doc shows\n%s", i+1, wb)
			}
		}
		return ""
	}
	lines := func(s string) []string {
		return strings.Split(strings.TrimRight(unseeded.ReplaceAllString(s, "<unseeded>"), "\n"), "\n")
	}
	if w, g := lines(want.text), lines(got); !slices.Equal(w, g) {
		return "the doc shows\n" + strings.Join(w, "\n")
	}
	return ""
}

func jsonValues(s string) ([]any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var out []any
	for {
		var v any
		if err := dec.Decode(&v); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, e := range v {
			if slices.Contains(realTime, k) {
				e = "<real time>"
			}
			m[k] = normalize(e)
		}
		return m
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalize(e)
		}
		return out
	case string:
		return unseeded.ReplaceAllString(v, "<unseeded>")
	}
	return v
}

// Every relative link of every doc leads to a file of the repository, and
// a link to a heading (#anchor) to a heading of that doc.
func TestDocsLinksLead(t *testing.T) {
	root := "../.."
	var docs []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".md") {
			docs = append(docs, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 7 {
		t.Fatalf("found only %v", docs)
	}
	for _, doc := range docs {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(prose(string(b)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := doc
			if file != "" {
				path = filepath.Join(filepath.Dir(doc), file)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s: the link %s leads nowhere: %v", doc, target, err)
				continue
			}
			if anchor == "" {
				continue
			}
			tb, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%s: the link %s: %v", doc, target, err)
				continue
			}
			if !slices.Contains(anchors(string(tb)), anchor) {
				t.Errorf("%s: the link %s names no heading of %s", doc, target, path)
			}
		}
	}
}

var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// prose answers a doc without its fenced blocks.
func prose(doc string) string {
	var b strings.Builder
	in := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			in = !in
			continue
		}
		if !in {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// anchors answers the anchors of a doc's headings, as GitHub makes them:
// lower case, spaces as hyphens, other punctuation dropped, a repeated one
// numbered.
func anchors(doc string) []string {
	var out []string
	seen := map[string]int{}
	for _, line := range strings.Split(prose(doc), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#"))) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			out = append(out, fmt.Sprintf("%s-%d", a, n))
		} else {
			out = append(out, a)
		}
		seen[a]++
	}
	return out
}

// The flags table of README.md lists every flag of the binary, with its
// SMSIM_* variable and its default.
func TestFlagsDocListsEveryFlag(t *testing.T) {
	var usage bytes.Buffer
	if _, err := parse([]string{"-h"}, env(nil), &usage); err == nil {
		t.Fatal("-h: no usage")
	}
	defaults := map[string]string{} // flag: its default, as the usage prints it ("" for none)
	var last string
	for _, line := range strings.Split(usage.String(), "\n") {
		if m := usageFlag.FindStringSubmatch(line); m != nil {
			last = m[1]
			defaults[last] = ""
		} else if m := usageDefault.FindStringSubmatch(line); m != nil && last != "" {
			defaults[last] = strings.Trim(m[1], `"`)
		}
	}
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := flagRow.FindAllStringSubmatch(string(b), -1)
	var listed []string
	for _, r := range rows {
		name, envName, def := r[1], r[2], r[3]
		listed = append(listed, name)
		want, ok := defaults[name]
		if !ok {
			t.Errorf("README.md lists --%s, which the binary does not have", name)
			continue
		}
		if v := "SMSIM_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")); envName != v {
			t.Errorf("--%s: the table says %s, the binary reads %s", name, envName, v)
		}
		if !sameDefault(def, want) {
			t.Errorf("--%s: the table's default is %q, the binary's %q", name, def, want)
		}
	}
	for name := range defaults {
		if name != "h" && name != "help" && !slices.Contains(listed, name) {
			t.Errorf("README.md does not list --%s", name)
		}
	}
}

var (
	usageFlag    = regexp.MustCompile(`^  -([a-z-]+)`)
	usageDefault = regexp.MustCompile(`\(default (.+)\)$`)
	flagRow      = regexp.MustCompile("(?m)^\\| `--([a-z-]+)` \\| `([A-Z_]+)` \\| ([^|]+) \\|")
)

// sameDefault says whether a table's default cell states the default the
// usage prints: that value in backticks (a duration may be written
// shorter), or "empty…" or `false` when the usage prints none.
func sameDefault(cell, want string) bool {
	cell = strings.TrimSpace(cell)
	if want == "" {
		return strings.HasPrefix(cell, "empty") || cell == "`false`"
	}
	got, ok := strings.CutPrefix(cell, "`")
	if ok {
		got, _, ok = strings.Cut(got, "`")
	}
	if !ok {
		return false
	}
	if got == want {
		return true
	}
	g, err1 := time.ParseDuration(got)
	w, err2 := time.ParseDuration(want)
	return err1 == nil && err2 == nil && g == w
}

// README.md's map, "where everything else is", reaches every section (##)
// of each doc whose sections it lists: one click from the README.
func TestReadmeMapReachesEverySection(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Where everything else is\n")
	if !ok {
		t.Fatal(`README.md has no section "Where everything else is"`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	linked := map[string]bool{}
	for _, m := range mdLink.FindAllStringSubmatch(prose(section), -1) {
		linked[m[1]] = true
	}
	docs := map[string]bool{}
	for target := range linked {
		if file, anchor, ok := strings.Cut(target, "#"); ok && file != "" && anchor != "" && strings.HasSuffix(file, ".md") {
			docs[file] = true
		}
	}
	if len(docs) < 7 {
		t.Fatalf("the map links sections of %d docs: %v", len(docs), docs)
	}
	for doc := range docs {
		d, err := os.ReadFile(filepath.Join("../..", doc))
		if err != nil {
			t.Fatal(err)
		}
		var top strings.Builder // its ## sections alone
		for _, line := range strings.Split(prose(string(d)), "\n") {
			if strings.HasPrefix(line, "## ") {
				top.WriteString(line + "\n")
			}
		}
		for _, a := range anchors(top.String()) {
			if !linked[doc+"#"+a] {
				t.Errorf("README.md's map lists sections of %s but not #%s", doc, a)
			}
		}
	}
}
