package core

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed prelude.lua
	preludeLua string
	//go:embed run.lua
	runLua string
)

// Prelude is the Lua every script of the store starts with: the registry's
// constants — KIND, the kinds of events by their Lua names (LuaKindName),
// and EVENT_LOG_LEN — then prelude.lua, which reads the script's arguments
// into args and holds what scripts share: jobs, their stored form and
// their scheduling, and the event log. NewScript puts it before a script.
var Prelude = LuaTable("KIND", luaKinds()) +
	"local EVENT_LOG_LEN = '" + strconv.Itoa(DefaultEventLogLen) + "'\n" +
	preludeLua

// Script is a Lua script of the store (a .lua file beside the Go that runs
// it) with the Prelude before it. It takes its keys in KEYS and its
// arguments, a value of type A, as one JSON object in ARGV[1], which the
// prelude decodes into the table args: a script reads them by name.
type Script[A any] struct {
	s   *luaCode
	run *runForm
}

// NewScript returns the script of the Prelude followed by src, in order
// (a library of the package, then the script), without the functions of
// the libraries that it never calls (pruneFunctions). Scripts are
// package-level values.
func NewScript[A any](src ...string) *Script[A] {
	parts := append([]string{Prelude}, src...)
	return &Script[A]{s: newLuaCode(parts, true), run: &runForm{parts: parts}}
}

// runForm is the form of a script in which one call carries out the jobs
// of a scheduler's run, one after another (run.lua, after the script made
// the function run_job): a run costs Redis one call, and its jobs share
// what the prelude and the libraries make at each call. It is made when a
// run first sends the script.
type runForm struct {
	parts []string
	once  sync.Once
	text  string
	s     *luaCode
}

// script answers the run form's script. A script that reads ARGV itself
// (RunWith's more) cannot have one: its arguments are the jobs' there; in
// a run, TEXTS holds a job's texts (its args' as a TextsAppender's), never
// more.
func (f *runForm) script() *luaCode {
	f.once.Do(func() {
		parts := slices.Clone(f.parts)
		last := len(parts) - 1
		for _, p := range parts[1:] {
			for line := range strings.Lines(p) {
				if slices.Contains(wordsOf(line), "ARGV") {
					panic("core: a script that reads ARGV goes in no run: " + line)
				}
			}
		}
		var body strings.Builder
		body.WriteString("local function run_job()\n")
		for line := range strings.Lines(parts[last]) {
			body.WriteString("  " + strings.TrimRight(line, "\n") + "\n")
		}
		body.WriteString("end\n")
		parts[last] = body.String()
		f.s = newLuaCode(append(parts, runLua), false)
		f.text = f.s.text
	})
	return f.s
}

// Libraries answers the names of the libraries of Redis's functions the
// script goes as where the store has them (luaCode): its own; its run form
// goes by EVALSHA.
func (s *Script[A]) Libraries() []string { return []string{s.s.name} }

// Run runs the script with keys and args: as a function of Redis's where
// the store has them (luaCode), by EVALSHA otherwise, loading it first when
// Redis does not hold it yet.
func (s *Script[A]) Run(ctx context.Context, c redis.Scripter, keys []string, args A) *redis.Cmd {
	return s.RunWith(ctx, c, keys, args, nil)
}

// RunWith is Run with more arguments after args, each a string of its own
// in ARGV[2], ARGV[3], …: what a script passes on to Redis as it is, such
// as entries to push, travels and reaches it without being encoded into
// args and decoded by the prelude. Args that are a TextsAppender put their
// texts first (TEXTS[2], …), then come the more.
//
// The arguments are encoded into a buffer of a pool, which Redis is sent
// as it is, and which is put back once the call is answered: the call's
// answer is given in a Cmd of its own, which does not hold it.
func (s *Script[A]) RunWith(ctx context.Context, c redis.Scripter, keys []string, args A, more []string) *redis.Cmd {
	buf := argsBuffers.Get().(*bytes.Buffer)
	defer argsBuffers.Put(buf)
	buf.Reset()
	out := redis.NewCmd(ctx)
	if a, ok := any(args).(Appender); ok {
		buf.Write(a.AppendJSON(buf.AvailableBuffer()))
	} else if err := json.NewEncoder(buf).Encode(args); err != nil {
		out.SetErr(fmt.Errorf("script arguments: %w", err))
		return out
	}
	var texts []int // where each text ends, after the JSON
	if ta, ok := any(args).(TextsAppender); ok {
		var ends [8]int
		var b []byte
		b, texts = ta.AppendTexts(buf.AvailableBuffer(), ends[:0])
		buf.Write(b)
	}
	all, n := buf.Bytes(), buf.Len() // the JSON is all[:n], the texts after it
	if len(texts) > 0 {
		n -= texts[len(texts)-1]
	}
	argv := make([]any, 0, 1+len(texts)+len(more))
	argv = append(argv, bytes.TrimSuffix(all[:n], newline)) // Encode ends it with a newline
	from := n
	for _, end := range texts {
		argv = append(argv, all[from:n+end])
		from = n + end
	}
	size := buf.Len()
	for _, m := range more {
		argv = append(argv, m)
		size += len(m)
	}
	cmd := runBatched(ctx, c, size, func(via redis.Scripter) *redis.Cmd { return s.s.run(ctx, c, via, keys, argv...) })
	out.SetVal(cmd.Val())
	out.SetErr(cmd.Err())
	return out
}

// scriptsInFlight counts the script calls of the process on their way to
// the store and back (runBatched).
var scriptsInFlight atomic.Int64

// runBatched makes a script's call (call, given the client to make it on).
// A call made while another is on its way goes through the client's
// autopipeliner (go-redis's), when the client was made with
// AutoPipelineOptions (OpenStore does, for a real Redis): the calls that
// goroutines make meanwhile go to Redis together, one batch after another,
// in a round trip each, which costs Redis and the process less than a
// round trip a call: under load, Redis does about a sixth less a delivery,
// and a validation costs an eighth less CPU, for a hand-off more each. A
// lone call goes as it is, and costs nothing more
// (cmd/smsim-bench/README.md).
//
// A batch runs on a context of its own, bounded by the store's timeout
// (StoreDeadline), whose hooks do not see the caller's: a call whose ctx
// has a deadline of its own (a long poll's) goes as it is, where that
// deadline holds, and a batched call's Outcome is noted here. A call whose
// arguments come to more than batchedAtMost bytes (size; the journal's,
// under load) goes as it is, so that no batch waits behind its writing,
// and so does a call on a pipeline or a transaction. The embedded store's
// client is made without AutoPipelineOptions: there one stream of batches
// would take the store's connections one at a time, and cost a quarter of
// its rate.
func runBatched(ctx context.Context, c redis.Scripter, size int, call func(redis.Scripter) *redis.Cmd) *redis.Cmd {
	others := scriptsInFlight.Add(1) > 1
	defer scriptsInFlight.Add(-1)
	if _, deadline := ctx.Deadline(); !others || deadline || size > batchedAtMost {
		return call(c)
	}
	ap := autoPipelinerOf(c)
	if ap == nil {
		return call(c)
	}
	cmd := call(ap)
	noteOutcome(ctx, cmd, cmd.Err())
	return cmd
}

// batchedAtMost is the most bytes of arguments a script call that goes in
// a batch carries (runBatched): a validation's are about 500, a message's
// about 1,200, an order's submission about 3,500; the journal's entries of
// 100 ms, at thousands of requests a second, hundreds of kilobytes.
const batchedAtMost = 16 << 10

// autoPipelinerOf answers the autopipeliner of c, a client made with
// AutoPipelineOptions; nil for any other.
func autoPipelinerOf(c redis.Scripter) *redis.AutoPipeliner {
	var ap *redis.AutoPipeliner
	switch c := c.(type) {
	case *redis.Client:
		if c.Options().AutoPipelineOptions != nil {
			ap, _ = c.AutoPipeline()
		}
	case *redis.ClusterClient:
		if c.Options().AutoPipelineOptions != nil {
			ap, _ = c.AutoPipeline()
		}
	}
	return ap
}

// argsBuffers are the buffers RunWith encodes arguments into.
var argsBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

var newline = []byte("\n")

// Call makes ready a call of the script with keys and args, to be sent
// later, with others, in one round trip (a Step of the scheduler). Args
// that are a TextsAppender go with their texts, alone (TEXTS[2], …) as in
// a run (run.lua).
func (s *Script[A]) Call(keys []string, args A) (Call, error) {
	var b []byte
	if a, ok := any(args).(Appender); ok {
		b = a.AppendJSON(nil)
	} else {
		var err error
		if b, err = json.Marshal(args); err != nil {
			return Call{}, fmt.Errorf("script arguments: %w", err)
		}
	}
	if len(b) < 2 || b[0] != '{' {
		return Call{}, fmt.Errorf("script arguments: %s is not a JSON object", b)
	}
	c := Call{script: s.s, form: s.run, keys: keys, args: b}
	if ta, ok := any(args).(TextsAppender); ok {
		// made in a buffer of the pool, kept in one of their size
		buf := argsBuffers.Get().(*bytes.Buffer)
		defer argsBuffers.Put(buf)
		buf.Reset()
		var ends [8]int
		made, at := ta.AppendTexts(buf.AvailableBuffer(), ends[:0])
		buf.Write(made) // the buffer keeps the room the texts took
		all := bytes.Clone(buf.Bytes())
		c.texts = make([][]byte, len(at))
		from := 0
		for i, end := range at {
			c.texts[i] = all[from:end:end]
			from = end
		}
	}
	return c, nil
}

// A Call is a script's call made ready (Script.Call).
type Call struct {
	script *luaCode
	form   *runForm
	keys   []string
	args   []byte   // the JSON object of ARGV[1]
	texts  [][]byte // its texts (a TextsAppender's), ARGV[2] on
}

// inRun answers the keys and the arguments of the call as the n-th job of
// a run whose mark is the key mark (the prelude's args.run), for the run
// form of its script: its JSON object, then its texts, whose number
// args.run.texts tells. same: its shared head (sharedHead) is the job's
// before it in the call, and is left out (args.run.same): run.lua gives it
// that job's.
func (c Call) inRun(mark string, n int, due, ttl int64, same bool) ([]string, []any) {
	keys := append(c.keys[:len(c.keys):len(c.keys)], mark)
	run := fmt.Sprintf(`{"run":{"key":%d,"n":%d,"due":%d,"ttl":%d`, len(keys), n, due, ttl)
	args := make([]byte, 0, len(run)+len(c.args)+16)
	args = append(args, run...)
	if len(c.texts) > 0 {
		args = append(args, `,"texts":`...)
		args = strconv.AppendInt(args, int64(len(c.texts)), 10)
	}
	rest := c.args[1:]
	if same {
		args = append(args, `,"same":true`...)
		rest = rest[len(sharedHead(c.args)):]
	}
	args = append(args, '}')
	if len(rest) > 1 {
		args = append(args, ',')
	}
	args = append(args, rest...)
	return keys, c.argv(string(args))
}

// sharedHead answers the head of a script's JSON arguments that the jobs
// of a run usually share — the clock and fault profile their plans were
// made with, and the lifetimes: `"expect":"…","bounds":{…},` — when they
// start so (as Go encodes core.Expect and core.Bounds: a string of no
// escapes, an object of numbers and booleans), or nil. Redis's Lua decodes
// JSON by the token, and these are a tenth of a sync's.
func sharedHead(args []byte) []byte {
	rest, ok := bytes.CutPrefix(args, []byte(`{"expect":"`))
	if !ok {
		return nil
	}
	q := bytes.IndexByte(rest, '"')
	if q < 0 || bytes.IndexByte(rest[:q], '\\') >= 0 {
		return nil
	}
	rest, ok = bytes.CutPrefix(rest[q+1:], []byte(`,"bounds":{`))
	if !ok {
		return nil
	}
	b := bytes.IndexByte(rest, '}')
	if b < 0 || b+1 >= len(rest) || rest[b+1] != ',' || bytes.ContainsAny(rest[:b], `{[\`) {
		return nil
	}
	end := len(args) - len(rest) + b + 2 // through the comma
	return args[1:end]
}

// argv answers the call's ARGV: first, then its texts.
func (c Call) argv(first string) []any {
	argv := make([]any, 0, 1+len(c.texts))
	argv = append(argv, first)
	for _, t := range c.texts {
		argv = append(argv, t)
	}
	return argv
}

// run runs the call alone (luaCode.run).
func (c Call) run(ctx context.Context, rdb redis.Scripter) *redis.Cmd {
	size := len(c.args)
	for _, t := range c.texts {
		size += len(t)
	}
	return runBatched(ctx, rdb, size, func(via redis.Scripter) *redis.Cmd {
		return c.script.run(ctx, rdb, via, c.keys, c.argv(string(c.args))...)
	})
}

// load has Redis hold the call's script, and its run form too when runs
// is true.
func (c Call) load(ctx context.Context, rdb redis.Scripter, runs bool) error {
	if err := c.script.load(ctx, rdb); err != nil {
		return fmt.Errorf("load a script: %w", err)
	}
	if runs {
		if err := c.form.script().load(ctx, rdb); err != nil {
			return fmt.Errorf("load a script's run form: %w", err)
		}
	}
	return nil
}

var (
	luaName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	luaWord = regexp.MustCompile(`^[A-Za-z0-9._:-]*$`)
)

// LuaTable declares a table of string constants for the head of a script
// (KIND.sms_sent, JOB.deliver): NewScript writes each use of one after the
// declaration as the value itself, quoted, so that no script builds the
// table at every call. A field the table lacks is a mistake of the
// program, and NewScript panics: scripts are package-level values, so a
// misspelt constant stops the program as it starts, in every test. A table
// declared again under the same name replaces the first for what follows,
// as a Lua local would. Names are Lua names and values plain words
// (letters, digits and . _ : -); anything else panics too.
func LuaTable(name string, fields map[string]string) string {
	if !luaName.MatchString(name) {
		panic(fmt.Sprintf("core: Lua table name %q", name))
	}
	keys := make([]string, 0, len(fields))
	for k, v := range fields {
		if !luaName.MatchString(k) || !luaWord.MatchString(v) {
			panic(fmt.Sprintf("core: Lua table %s: entry %q = %q", name, k, v))
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(constPrefix + name)
	for _, k := range keys {
		b.WriteString(" " + k + "=" + fields[k])
	}
	b.WriteString("\n")
	return b.String()
}

// constPrefix starts the line (a Lua comment) that declares a LuaTable.
const constPrefix = "--@const "

// inlineConstants writes each use of a LuaTable in src, after its
// declaration, as its value. It reads the source once, line by line,
// without regular expressions: every script is built as the program
// starts.
func inlineConstants(src string) string {
	if !strings.Contains(src, constPrefix) {
		return src
	}
	tables := map[string]map[string]string{}
	var b strings.Builder
	b.Grow(len(src))
	for line := range strings.Lines(src) {
		if decl, ok := strings.CutPrefix(line, constPrefix); ok {
			f := strings.Fields(decl)
			fields := make(map[string]string, len(f)-1)
			for _, kv := range f[1:] {
				k, v, _ := strings.Cut(kv, "=")
				fields[k] = v
			}
			tables[f[0]] = fields
			b.WriteString(line)
			continue
		}
		writeInlined(&b, line, tables)
	}
	return b.String()
}

// writeInlined writes line with each name.field of tables as its value.
func writeInlined(b *strings.Builder, line string, tables map[string]map[string]string) {
	from := 0
	for dot := strings.IndexByte(line, '.'); dot >= 0; {
		start := dot
		for start > 0 && isNameByte(line[start-1]) {
			start--
		}
		end := dot + 1
		for end < len(line) && isNameByte(line[end]) {
			end++
		}
		field := start == 0 || line[start-1] != '.' || start >= 2 && line[start-2] == '.' // not t.NAME.x; ..NAME.x is
		if fields, ok := tables[line[start:dot]]; ok && field && end > dot+1 {
			v, ok := fields[line[dot+1:end]]
			if !ok {
				name := line[start:dot]
				panic(fmt.Sprintf("core: %s.%s: no such entry in the Lua table %s", name, line[dot+1:end], name))
			}
			b.WriteString(line[from:start])
			b.WriteString("'" + v + "'")
			from = end
		}
		next := strings.IndexByte(line[end:], '.')
		if next < 0 {
			break
		}
		dot = end + next
	}
	b.WriteString(line[from:])
}

// pruneFunctions answers the parts of a script's source (the prelude, a
// library, the script) written one after the other, without the top-level
// functions that nothing left in them calls. Most of a library is of no
// use to any one script, and Lua makes a closure of each of its functions
// at every call (in the embedded store, a tenth of what a validation's
// script cost). A top-level function is written as the libraries write
// one: "local function name(" at the start of a line, to the first line
// that is "end" alone. It is kept when its name is a word of the code
// (comments and strings aside) outside every function, or of a function
// kept. Each part is read once (luaPartOf): the scripts share their
// libraries, and all are built as the program starts.
func pruneFunctions(parts []string) string {
	type at struct{ part, fn int }
	read := make([]*luaPart, len(parts))
	byName := map[string][]at{} // the functions of a name
	var todo []string           // names to keep the functions of: the words outside functions, first
	size := 0
	for pi, src := range parts {
		size += len(src)
		p := luaPartOf(src)
		read[pi] = p
		for fi, f := range p.fns {
			byName[f.name] = append(byName[f.name], at{pi, fi})
		}
		todo = append(todo, p.outside...)
	}
	kept := make([][]bool, len(parts))
	for pi, p := range read {
		kept[pi] = make([]bool, len(p.fns))
	}
	for len(todo) > 0 {
		w := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, a := range byName[w] {
			if !kept[a.part][a.fn] {
				kept[a.part][a.fn] = true
				todo = append(todo, read[a.part].fns[a.fn].words...)
			}
		}
	}
	var b strings.Builder
	b.Grow(size)
	for pi, p := range read {
		next := 0 // the next line to write
		for fi, f := range p.fns {
			if kept[pi][fi] {
				continue
			}
			for _, line := range p.lines[next:f.from] {
				b.WriteString(line)
			}
			next = f.to + 1
		}
		for _, line := range p.lines[next:] {
			b.WriteString(line)
		}
	}
	return b.String()
}

// luaPart is a part of a script's source, read for pruneFunctions: its
// lines, its top-level functions, and the words of the code outside them.
type luaPart struct {
	lines   []string
	fns     []luaFunction
	outside []string
}

// luaFunction is a top-level function of a luaPart: its name, its lines
// (from its first to its end) and the words of its body.
type luaFunction struct {
	name     string
	from, to int
	words    []string
}

// luaParts holds the parts read (luaPartOf), by their text.
var luaParts sync.Map // string → *luaPart

// luaPartOf reads src as a part of a script. A part holding a function
// without its end is read as having no functions, its every word outside
// them: it is written as it is, for Lua to refuse.
func luaPartOf(src string) *luaPart {
	if p, ok := luaParts.Load(src); ok {
		return p.(*luaPart)
	}
	p := &luaPart{lines: slices.Collect(strings.Lines(src))}
	for i := 0; i < len(p.lines); i++ {
		name, ok := functionName(p.lines[i])
		if !ok {
			p.outside = append(p.outside, wordsOf(p.lines[i])...)
			continue
		}
		f := luaFunction{name: name, from: i, to: i + 1}
		for f.to < len(p.lines) && strings.TrimRight(p.lines[f.to], "\r\n") != "end" {
			f.words = append(f.words, wordsOf(p.lines[f.to])...)
			f.to++
		}
		if f.to == len(p.lines) {
			p = &luaPart{lines: p.lines}
			for _, line := range p.lines {
				p.outside = append(p.outside, wordsOf(line)...)
			}
			break
		}
		p.fns = append(p.fns, f)
		i = f.to
	}
	luaParts.Store(src, p)
	return p
}

// functionName answers the name of the top-level function that line
// starts, if it starts one.
func functionName(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "local function ")
	name, _, paren := strings.Cut(rest, "(")
	if !ok || !paren || name == "" || name[0] >= '0' && name[0] <= '9' {
		return "", false
	}
	for i := range len(name) {
		if !isNameByte(name[i]) {
			return "", false
		}
	}
	return name, true
}

// wordsOf answers the Lua names in the code of line, its comment and
// strings aside, each once.
func wordsOf(line string) []string {
	var words []string
	var quote byte // the quote of the string the scan is in; 0: in none
	start := -1    // where the name being read starts; -1: in none
	for i := 0; i <= len(line); i++ {
		var c byte
		if i < len(line) {
			c = line[i]
		}
		if quote != 0 {
			switch c {
			case '\\':
				i++
			case quote:
				quote = 0
			}
			continue
		}
		if isNameByte(c) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			if w := line[start:i]; (w[0] < '0' || w[0] > '9') && !slices.Contains(words, w) {
				words = append(words, w)
			}
			start = -1
		}
		switch {
		case c == '\'' || c == '"':
			quote = c
		case c == '-' && i+1 < len(line) && line[i+1] == '-':
			return words
		}
	}
	return words
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// KeyList collects the KEYS of a script whose keys vary with its
// arguments: each key once, in the order added. The arguments name a key
// by its position (Add's answer), which the script reads as KEYS[n].
type KeyList struct {
	keys []string
	at   map[string]int // the positions, made once the list is longer than keyListScan
}

// keyListScan is how many keys a KeyList finds by reading them all: most
// scripts have a dozen or two, which a scan finds sooner than a map is
// made, and at no allocation of its own.
const keyListScan = 32

// NewKeyList starts a list with the script's fixed keys, at positions 1,
// 2, ….
func NewKeyList(fixed ...string) *KeyList {
	k := &KeyList{keys: make([]string, 0, len(fixed)+8)}
	for _, key := range fixed {
		k.Add(key)
	}
	return k
}

// Add adds key, unless the list holds it, and answers its position (from
// 1).
func (k *KeyList) Add(key string) int {
	if k.at != nil {
		if n, ok := k.at[key]; ok {
			return n
		}
	} else if i := slices.Index(k.keys, key); i >= 0 {
		return i + 1
	}
	k.keys = append(k.keys, key)
	n := len(k.keys)
	switch {
	case k.at != nil:
		k.at[key] = n
	case n > keyListScan:
		k.at = make(map[string]int, 2*n)
		for i, have := range k.keys {
			k.at[have] = i + 1
		}
	}
	return n
}

// Keys answers the list.
func (k *KeyList) Keys() []string { return k.keys }
