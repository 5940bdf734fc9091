package core_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

type countArgs struct {
	N int `json:"n"`
}

// seenProbe keeps what it saw in a top-level local that a function uses:
// as a library of Redis's functions, that local is the library's, and it
// starts afresh at each call as a script's did.
var seenProbe = core.NewScript[countArgs](`
local seen = {}
local function note(x) seen[#seen + 1] = x return #seen end
local out = {}
for i = 1, args.n do out[#out + 1] = int(note(i)) end
return out
`)

// A script's state starts afresh at each call, on either store.
func TestAScriptKeepsNoStateFromCallToCall(t *testing.T) {
	ctx := context.Background()
	rdb := testkit.StartRedis(t).Client(t)
	for _, n := range []int{3, 2, 3} {
		got, err := seenProbe.Run(ctx, rdb, nil, countArgs{N: n}).StringSlice()
		if err != nil {
			t.Fatal(err)
		}
		want := make([]string, 0, n)
		for i := 1; i <= n; i++ {
			want = append(want, fmt.Sprint(i))
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("n=%d answered %v, want %v", n, got, want)
		}
	}
}

// manyFunctions is a script whose statements call 70 functions of its
// own: as a library, its function would have more upvalues than Redis's
// Lua allows (60), and Redis refuses to compile it.
func manyFunctions() string {
	var b strings.Builder
	for i := range 70 {
		fmt.Fprintf(&b, "local function f%d()\n  return %d\nend\n", i, i)
	}
	b.WriteString("local sum = args.n\n")
	for i := range 70 {
		fmt.Fprintf(&b, "sum = sum + f%d()\n", i)
	}
	b.WriteString("return int(sum)\n")
	return b.String()
}

var refusedProbe = core.NewScript[countArgs](manyFunctions())

// A script whose library Redis refuses goes by EVALSHA, and answers as it
// would.
func TestAScriptRedisRefusesAsALibraryGoesByEvalsha(t *testing.T) {
	ctx := context.Background()
	rdb := testkit.StartRedis(t).Client(t)
	for range 2 {
		got, err := refusedProbe.Run(ctx, rdb, nil, countArgs{N: 5}).Text()
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprint(5 + 69*70/2); got != want {
			t.Fatalf("answered %s, want %s", got, want)
		}
	}
	if testkit.RealRedis() {
		if err := rdb.FCall(ctx, "smsim_"+core.ScriptHash(refusedProbe), nil).Err(); !core.NotLoaded(err) {
			t.Fatalf("FCALL of its library answered %v, want Function not found: Redis refused it", err)
		}
	}
}

// A library the store lost (a restart, FUNCTION DELETE or FLUSH) is loaded
// again by the next call, which answers as the first did.
func TestALostLibraryIsLoadedAgain(t *testing.T) {
	ctx := context.Background()
	r := testkit.StartRedis(t)
	rdb := r.Client(t)
	// a text of this test's own, so that no other test calls its library
	probe := core.NewScript[countArgs](`return int(args.n + 1) -- ` + r.Prefix + "\n")
	for i := range 2 {
		got, err := probe.Run(ctx, rdb, nil, countArgs{N: 41}).Text()
		if err != nil || got != "42" {
			t.Fatalf("call %d answered %q, %v; want 42", i+1, got, err)
		}
		if !testkit.RealRedis() {
			continue
		}
		if err := rdb.FunctionDelete(ctx, "smsim_"+core.ScriptHash(probe)).Err(); err != nil {
			t.Fatalf("the call went as a library of functions, which Redis holds: FUNCTION DELETE answered %v", err)
		}
	}
}
