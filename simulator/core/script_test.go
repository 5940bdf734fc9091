package core_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

type jobProbeArgs struct {
	Seq     int64    `json:"seq"`
	Due     int64    `json:"due"`
	Kind    string   `json:"kind"`
	JobArgs []string `json:"job_args"`
	Member  string   `json:"member"`
}

// jobProbe encodes a job with the prelude's job_encode and decodes
// args.member with its job_decode: {encoded, seq, due, kind, arg…}.
var jobProbe = core.NewScript[jobProbeArgs](`
local d = job_decode(args.member)
local out = {job_encode(args.seq, args.due, args.kind, args.job_args), d.seq, int(d.due), d.kind}
for _, a in ipairs(d.args) do out[#out + 1] = a end
return out
`)

// The stored form of a job is written in one Lua place (the prelude) and
// one Go place (NewJob, ParseJob): each reads what the other writes.
func TestJobFormIsTheSameInLuaAndGo(t *testing.T) {
	ctx := context.Background()
	rdb := testkit.StartRedis(t).Client(t)
	round := time.UnixMilli(1_800_000_000_000).UTC() // an exponent, were it written as a float
	for _, c := range []struct {
		name string
		seq  int64
		due  time.Time
		kind string
		args []string
	}{
		{"code", 14, start.Add(90 * time.Minute), "miit.code", []string{"f_f38d9fe5fe197028", "1", "13900000092", "123456", "86400000"}},
		{"no arguments", 1, start, "miit.sync", []string{}},
		{"empty argument", 999_999_999_999, round, "x", []string{"", "a"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			job, err := core.NewJob(c.seq, c.due, c.kind, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			out, err := jobProbe.Run(ctx, rdb, nil, jobProbeArgs{Seq: c.seq, Due: c.due.UnixMilli(), Kind: c.kind,
				JobArgs: c.args, Member: job.Member()}).StringSlice()
			if err != nil {
				t.Fatal(err)
			}
			if out[0] != job.Member() {
				t.Errorf("Lua writes %q, Go %q", out[0], job.Member())
			}
			parsed, err := core.ParseJob(out[0])
			if err != nil {
				t.Fatal(err)
			}
			if parsed.Seq != job.Seq || !parsed.Due.Equal(c.due) || parsed.Kind != c.kind || !slices.Equal(parsed.Args, c.args) {
				t.Errorf("Go reads %+v from Lua's %q, want %+v", parsed, out[0], job)
			}
			want := append([]string{job.Seq, strconv.FormatInt(c.due.UnixMilli(), 10), c.kind}, c.args...)
			if got := out[1:]; !slices.Equal(got, want) {
				t.Errorf("Lua reads %q from Go's %q, want %q", got, job.Member(), want)
			}
		})
	}
}

// A field holding '|' would make the stored form ambiguous: neither side
// writes one.
func TestJobFieldsHoldNoBar(t *testing.T) {
	if _, err := core.NewJob(1, start, "k", "a|b"); err == nil {
		t.Error("NewJob took an argument holding '|'")
	}
	rdb := testkit.StartRedis(t).Client(t)
	err := jobProbe.Run(context.Background(), rdb, nil,
		jobProbeArgs{Seq: 1, Due: start.UnixMilli(), Kind: "k", JobArgs: []string{"a|b"}, Member: "1|2|k"}).Err()
	if err == nil || !strings.Contains(err.Error(), "an argument holds |") {
		t.Errorf("job_encode with an argument holding '|': %v, want an error", err)
	}
}

// KIND holds every kind of the registry, written into the script as its
// value; a KIND the registry lacks stops the program when the script is
// built, rather than writing nil.
func TestPreludeKnowsEveryKindAndNoOther(t *testing.T) {
	ctx := context.Background()
	rdb := testkit.StartRedis(t).Client(t)
	var uses []string
	for _, k := range core.EventKinds() {
		uses = append(uses, "KIND."+core.LuaKindName(k))
	}
	kinds := core.NewScript[struct{}]("return {" + strings.Join(uses, ", ") + "}\n")
	got, err := kinds.Run(ctx, rdb, nil, struct{}{}).StringSlice()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, core.EventKinds()) {
		t.Errorf("KIND gives %q, want %q", got, core.EventKinds())
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "KIND.sms_delivred: no such entry") {
			t.Errorf("a script using KIND.sms_delivred: %v, want a panic naming it", r)
		}
	}()
	core.NewScript[struct{}]("return KIND.sms_delivred\n")
}

// A table declared again replaces the first for what follows it, as a
// Lua local would; what it names is written as its value, what it does
// not name is left alone.
func TestLuaTableIsWrittenInline(t *testing.T) {
	ctx := context.Background()
	rdb := testkit.StartRedis(t).Client(t)
	s := core.NewScript[struct{}](
		core.LuaTable("JOB", map[string]string{"deliver": "gateway.deliver"}),
		"local first = JOB.deliver\n",
		core.LuaTable("JOB", map[string]string{"sync": "miit.sync"}),
		"local t = {JOB = 'x'}\nreturn {first, JOB.sync, t.JOB, JOB.sync..JOB.sync, (JOB.sync):upper()}\n")
	got, err := s.Run(ctx, rdb, nil, struct{}{}).StringSlice()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"gateway.deliver", "miit.sync", "x", "miit.syncmiit.sync", "MIIT.SYNC"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A script keeps the functions of its libraries that its code calls,
// directly or through one another, and none other: a name in a comment or
// a string, or within a longer name, calls nothing.
func TestScriptsKeepOnlyTheFunctionsTheyCall(t *testing.T) {
	src := `local function helper(x)
  return x .. '!'
end

-- unused is mentioned here, and in a string below, but never called
local function unused()
  return deep()
end

local function deep()
  return 1
end

local function loud(x)
  local s = "-- not a comment: unused"
  return helper(x) -- deep is only named in this comment
end

local function loud_twin()
  return 'loud_twin is not loud'
end

local function guarded(x)
  if x then
    return loud('guarded')
  end
end
local loudly = loud
return {loudly('a'), guarded(true), 'unused'}
`
	got := core.PruneFunctions([]string{src})
	for _, name := range []string{"helper", "loud", "guarded"} {
		if !strings.Contains(got, "local function "+name+"(") {
			t.Errorf("%s was dropped:\n%s", name, got)
		}
	}
	for _, name := range []string{"unused", "deep", "loud_twin"} {
		if strings.Contains(got, "local function "+name+"(") {
			t.Errorf("%s was kept:\n%s", name, got)
		}
	}
	rdb := testkit.StartRedis(t).Client(t)
	res, err := rdb.Eval(context.Background(), got, nil).StringSlice()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a!", "guarded!", "unused"}; !slices.Equal(res, want) {
		t.Errorf("the pruned script answers %q, want %q", res, want)
	}
	lib := "local function used()\n  return 1\nend\nlocal function unused()\n  return 2\nend\n"
	if got, want := core.PruneFunctions([]string{lib, "return used()\n"}), "local function used()\n  return 1\nend\nreturn used()\n"; got != want {
		t.Errorf("a library's function the script calls: %q, want %q", got, want)
	}
	bad := "local function f()\n  return unused()\n"
	if got, want := core.PruneFunctions([]string{lib, bad}), "local function unused()\n  return 2\nend\n"+bad; got != want {
		t.Errorf("a part with a function without its end: %q, want it as it is and what it names, %q", got, want)
	}
}

// A key list answers each key's position from 1, the same position for a
// key added again, short or long (past the length from which it keeps a
// map of the positions).
func TestKeyListPositions(t *testing.T) {
	for _, n := range []int{3, 32, 33, 100} {
		k := core.NewKeyList("fixed:a", "fixed:b")
		want := []string{"fixed:a", "fixed:b"}
		for i := range n {
			key := fmt.Sprintf("key:%d", i)
			if got := k.Add(key); got != len(want)+1 {
				t.Fatalf("n=%d: key %d added at %d, want %d", n, i, got, len(want)+1)
			}
			want = append(want, key)
			if got := k.Add("fixed:b"); got != 2 { // again, as it grows
				t.Fatalf("n=%d: fixed:b again at %d, want 2", n, got)
			}
		}
		for i := n - 1; i >= 0; i-- {
			if got := k.Add(fmt.Sprintf("key:%d", i)); got != i+3 {
				t.Fatalf("n=%d: key %d again at %d, want %d", n, i, got, i+3)
			}
		}
		if got := k.Keys(); !slices.Equal(got, want) {
			t.Fatalf("n=%d: keys %v, want %v", n, got, want)
		}
	}
}

// A script's run form is the script as a function, run_job, called for
// each job by run.lua; a script that reads ARGV itself, whose arguments
// are the jobs' there, has none.
func TestScriptRunForm(t *testing.T) {
	text := core.RunFormText(core.NewScript[struct{}]("local refused = run_refusal()\nif refused then return refused end\nreturn with_due_now({})\n"))
	for _, want := range []string{"local KEYS = KEYS\n", "local function run_job()\n  local refused = run_refusal()\n  if refused then return refused end\n  return with_due_now({})\nend\n", "local ok, answer = pcall(run_job)"} {
		if !strings.Contains(text, want) {
			t.Errorf("the run form lacks %q:\n%s", want, text)
		}
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "reads ARGV") {
			t.Fatalf("the run form of a script reading ARGV: %v, want a panic naming ARGV", r)
		}
	}()
	core.RunFormText(core.NewScript[struct{}]("-- ARGV in a comment is no use of it\nreturn ARGV[2]\n"))
}

// echoArgs answers its arguments as the prelude read them, and ARGV[2].
var echoArgs = core.NewScript[map[string]string](`return {args.text, ARGV[2] or ''}`)

// Run encodes the arguments of concurrent calls into buffers it takes back
// once each call is answered: every call gets its own answer, whole, and
// an answer holds none of them.
func TestScriptRunsConcurrentlyOnItsOwnArguments(t *testing.T) {
	ctx := context.Background()
	rdb := testkit.StartRedis(t).Client(t)
	const callers, calls = 8, 50
	errs := make(chan error, callers)
	for c := range callers {
		go func() {
			for i := range calls {
				text := strings.Repeat(fmt.Sprintf("caller %d call %d ", c, i), 1+i%40) // past a pooled buffer's size now and then
				cmd := echoArgs.RunWith(ctx, rdb, nil, map[string]string{"text": text}, []string{strconv.Itoa(i)})
				out, err := cmd.StringSlice()
				if err != nil {
					errs <- err
					return
				}
				if want := []string{text, strconv.Itoa(i)}; !slices.Equal(out, want) {
					errs <- fmt.Errorf("caller %d call %d: got %q, want %q", c, i, out, want)
					return
				}
				if len(cmd.Args()) != 0 {
					errs <- fmt.Errorf("the answer holds the call's arguments: %v", cmd.Args())
					return
				}
			}
			errs <- nil
		}()
	}
	for range callers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// In a script's run form, an event a job held back to go with its next
// (emit's hold) is published alone when the job fails before it emits
// that next one: the log holds it, and so does the live channel.
func TestARunPublishesWhatAFailedJobHeldBack(t *testing.T) {
	ctx := t.Context()
	srv := testkit.StartRedis(t)
	rdb := srv.Client(t)
	ks := core.Keyspace{Prefix: srv.Prefix, Namespace: "default"}
	live := rdb.Subscribe(ctx, ks.Live())
	defer live.Close()
	if _, err := live.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	text := core.RunFormText(core.NewScript[struct{}](
		"emit(KEYS[1], 5, 'held', '{\"n\":1}', true)\nerror('a failure after the hold')\n"))
	answer, err := rdb.Eval(ctx, text, []string{ks.Events(), ks.SchedRun("t")},
		`{"run":{"key":2,"n":1,"due":0,"ttl":1000}}`).Slice()
	if err != nil || len(answer) != 1 {
		t.Fatalf("the run answered %v, %v; want the job's failure", answer, err)
	}
	if msg, ok := answer[0].(error); !ok || !strings.Contains(msg.Error(), "a failure after the hold") {
		t.Fatalf("the job answered %v, want its failure", answer[0])
	}
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	m, err := live.ReceiveMessage(wait)
	if err != nil {
		t.Fatalf("nothing published: %v", err)
	}
	logged, err := rdb.XRange(ctx, ks.Events(), "-", "+").Result()
	if err != nil || len(logged) != 1 {
		t.Fatalf("the log holds %v, %v; want the held event", logged, err)
	}
	if want := logged[0].ID + "\n5\nheld\n{\"n\":1}"; m.Payload != want {
		t.Errorf("published %q, want %q", m.Payload, want)
	}
}
