package redisstore

import (
	"bufio"
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/alicebob/miniredis/v2/server"
	"github.com/redis/go-redis/v9"
	lua "github.com/yuin/gopher-lua"
)

// memoryClient answers a client of a new embedded store (NewMemory, its
// scripts run by scripting), and the store.
func memoryClient(t testing.TB, db int) (*redis.Client, *Memory) {
	t.Helper()
	mem, err := NewMemory(miniredis.NewMiniRedis())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mem.Close)
	c := redis.NewClient(&redis.Options{Dialer: mem.Dial, DB: db})
	t.Cleanup(func() { c.Close() })
	return c, mem
}

// plainClient answers a client of a miniredis as it is, over TCP: its own
// scripting, a new Lua state a call.
func plainClient(t testing.TB) *redis.Client {
	t.Helper()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { c.Close() })
	return c
}

// answer is a script's reply as a client sees it: its value, or its error.
func answer(v any, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprintf("%#v", v)
}

// The embedded store's scripts answer as miniredis's own do, value for
// value and error for error: the conversions both ways between Lua and
// Redis, the redis library, cjson, errors raised and returned, the
// protected globals. Each is loaded, then run by its SHA-1, as smsim's
// store client runs them.
func TestScriptsAnswerAsMiniredis(t *testing.T) {
	cases := []struct {
		script string
		keys   []string
		args   []any
	}{
		{script: `return 1`},
		{script: `return 3.7`},
		{script: `return 'text'`},
		{script: `return nil`},
		{script: `return false`},
		{script: `return true`},
		{script: `return {1, 'two', {3, 'four'}, false}`},
		{script: `return {1, nil, 3}`},
		{script: `return {}`},
		{script: `return {ok = 'FINE'}`},
		{script: `return redis.status_reply('FINE')`},
		{script: `return {err = 'STALE the clock or the fault profile changed since they were read'}`},
		{script: `return redis.error_reply('no free code among the candidates')`},
		{script: `return redis.error_reply('WRONG thing')`},
		{script: `return #KEYS .. ' ' .. #ARGV .. ' ' .. KEYS[2] .. ARGV[1] .. ARGV[2]`, keys: []string{"k1", "k2"}, args: []any{"a", 7}},
		{script: `redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])`, keys: []string{"s"}, args: []any{"v"}},
		{script: `return redis.call('SET', KEYS[1], 'v')`, keys: []string{"s"}},
		{script: `return redis.call('GET', 'missing')`},
		{script: `return redis.call('GET', 'missing') == false`},
		{script: `redis.call('HSET', KEYS[1], 'a', '1', 'b', 2); return redis.call('HGETALL', KEYS[1])`, keys: []string{"h"}},
		{script: `redis.call('ZADD', KEYS[1], 1, 'x', 2, 'y'); return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')`, keys: []string{"z"}},
		{script: `return redis.call('HMGET', 'nohash', 'a', 'b')`},
		{script: `redis.call('XADD', KEYS[1], '1-1', 'a', '1'); redis.call('XADD', KEYS[1], '2-1', 'b', ''); return redis.call('XRANGE', KEYS[1], '-', '+')`, keys: []string{"x"}},
		{script: `redis.call('SET', KEYS[1], ''); return {redis.call('GET', KEYS[1]), redis.call('STRLEN', KEYS[1]), redis.call('TYPE', KEYS[1])}`, keys: []string{"e"}},
		{script: `return redis.pcall('HGET', KEYS[1])`, keys: []string{"h"}},
		{script: `return redis.call('INCRBY', KEYS[1], 5)`, keys: []string{"n"}},
		{script: `redis.call('SET', KEYS[1], 'x'); return redis.pcall('INCR', KEYS[1])`, keys: []string{"str"}},
		{script: `redis.call('SET', KEYS[1], 'x'); return redis.call('INCR', KEYS[1])`, keys: []string{"str"}},
		{script: `return redis.pcall('NOSUCHCOMMAND')`},
		{script: `return redis.call('NOSUCHCOMMAND')`},
		{script: `return redis.call('EVALSHA', 'abc', 0)`},
		{script: `error('malformed job x')`},
		{script: `undeclared = 1`},
		{script: `return undeclared`},
		{script: `return cjson.encode({a = 1, b = {'x', 'y'}})`},
		{script: `local v = cjson.decode(ARGV[1]); return {v.n, v.s, v.list[2], tostring(v.yes)}`, args: []any{`{"n":12,"s":"x","list":[1,2],"yes":true}`}},
		{script: `return cjson.encode({})`},
		{script: `return cjson.encode({1, 2, nil, 4})`},
		{script: `return cjson.encode({1, 2, a = 3})`},
		{script: `return cjson.encode({a = 1, [7] = 2})`},
		{script: `local t = {} t[2] = 'b' t[1] = 'a' return cjson.encode(t)`},
		{script: `local t = {} t.self = t return cjson.encode(t)`},
		{script: `return cjson.encode({z = '<&>', y = 'tab\there', x = '\226\128\168', w = '\255', v = 'plain "quoted" \\'})`},
		{script: `return cjson.encode({0/0})`},
		{script: `return cjson.encode({1/0})`},
		{script: `return cjson.encode({-0, 0.1, 1e21, 1e20, 1e-7, 1e-6, 123456789012345678, -2.5e-10, 3})`},
		{script: `return cjson.encode({f = function() end})`},
		{script: `return cjson.encode(true) .. cjson.encode(nil) .. cjson.encode('s') .. cjson.encode(12)`},
		{script: `return cjson.encode()`},
		{script: `return cjson.encode(` + strings.Repeat("{", 80) + "1" + strings.Repeat("}", 80) + `)`},
		{script: `local v, err = cjson.decode(ARGV[1]) return {tostring(v), err}`, args: []any{`{"a":`}},
		{script: `local v, err = cjson.decode(ARGV[1]) return {tostring(v), err}`, args: []any{`[01]`}},
		{script: `local v, err = cjson.decode(ARGV[1]) return {tostring(v), err}`, args: []any{`1e400`}},
		{script: `return cjson.encode(cjson.decode(ARGV[1]))`, args: []any{`{"b":[1,null,3],"a":{"n":null,"m":-0,"e":1E+2,"u":"\u00e9\n","x":"é"},"c":[],"d":{},"t":true,"f":false}`}},
		{script: `return cjson.encode(cjson.decode(ARGV[1]))`, args: []any{`{"k":1,"k":2}`}},
		{script: `return cjson.encode(cjson.decode(ARGV[1]))`, args: []any{" \t\n[ 1 , \"two\" , [ ] ] \r\n"}},
		{script: `return cjson.encode(cjson.decode(ARGV[1]))`, args: []any{strings.Repeat("[", 80) + strings.Repeat("]", 80)}},
		{script: `return cjson.decode(ARGV[1])`, args: []any{`null`}},
		{script: `return cjson.decode()`},
		{script: `return redis.sha1hex('abc')`},
		// the reads answered from the data (reads.go), and those left to miniredis
		{script: `redis.call('SET', KEYS[1], 'v'); return {redis.call('GET', KEYS[1]), redis.call('GET', 'missing'), redis.call('EXISTS', KEYS[1], 'missing', KEYS[1])}`, keys: []string{"rs"}},
		{script: `redis.call('HSET', KEYS[1], 'b', '2', 'a', '1', 'c', ''); return {redis.call('HGET', KEYS[1], 'a'), redis.call('HGET', KEYS[1], 'zz'), redis.call('HGET', 'missing', 'a'), redis.call('HMGET', KEYS[1], 'c', 'x', 'a'), redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', 'missing')}`, keys: []string{"rh"}},
		{script: `redis.call('SADD', KEYS[1], 'b', 'a', 'c'); return {redis.call('SMEMBERS', KEYS[1]), redis.call('SMEMBERS', 'missing')}`, keys: []string{"rset"}},
		{script: `redis.call('ZADD', KEYS[1], 2, 'b', 1, 'a'); redis.call('RPUSH', KEYS[2], 'x', 'y', 'z'); return {redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', 'missing'), redis.call('LLEN', KEYS[2]), redis.call('LLEN', 'missing')}`, keys: []string{"rz", "rl"}},
		{script: `redis.call('SET', KEYS[1], 'v'); return {redis.pcall('HGET', KEYS[1], 'a'), redis.pcall('HMGET', KEYS[1], 'a'), redis.pcall('HGETALL', KEYS[1]), redis.pcall('SMEMBERS', KEYS[1]), redis.pcall('ZCARD', KEYS[1]), redis.pcall('LLEN', KEYS[1])}`, keys: []string{"rwrong"}},
		{script: `redis.call('HSET', KEYS[1], 'a', '1'); return redis.pcall('GET', KEYS[1])`, keys: []string{"rwrongh"}},
		{script: `redis.call('HSET', KEYS[1], 'a', '1'); return redis.call('GET', KEYS[1])`, keys: []string{"rwrongh2"}},
		{script: `return {redis.pcall('GET'), redis.pcall('GET', 'a', 'b'), redis.pcall('HGET', 'h'), redis.pcall('HMGET', 'h'), redis.pcall('HGETALL', 'a', 'b'), redis.pcall('EXISTS'), redis.pcall('SMEMBERS'), redis.pcall('ZCARD'), redis.pcall('LLEN', 'a', 'b')}`},
		{script: `redis.call('SET', KEYS[1], 'zero'); redis.call('SWAPDB', 0, 1); local v = redis.call('GET', KEYS[1]); redis.call('SWAPDB', 0, 1); return {v, redis.call('GET', KEYS[1])}`, keys: []string{"rswap"}},
		{script: `redis.call('SET', KEYS[1], 'lower'); return {redis.call('get', KEYS[1]), redis.call('exists', KEYS[1])}`, keys: []string{"rlow"}},
		{script: `redis.call('SET', KEYS[1], 'v'); redis.call('DEL', KEYS[1]); return {redis.call('GET', KEYS[1]), redis.call('EXISTS', KEYS[1])}`, keys: []string{"rdel"}},
		// no arg table for the chunk, as Redis's function of no arguments; a vararg function's own
		{script: `return tostring(arg)`},
		{script: `local function f(...) return arg.n end return f(1, 2)`},
		{script: `local function f(...) return select('#', ...) end return f(1, 2, 3)`},
		{script: `return string.format('%05d', tonumber(ARGV[1])) .. table.concat({'a', 'b'}, '|') .. math.floor(2.5)`, args: []any{"42"}},
		{script: `return {string.format('%d', 1777593600000), string.format('%d', -2.5), string.format('%d', 0.5), string.format('%d', -0), string.format('%d', 2^63), string.format('%d', '12'), ('%d'):format(7), string.format('%d', 1, 2), string.format('%d')}`},
	}
	ctx := context.Background()
	mine, mem := memoryClient(t, 0)
	theirs := plainClient(t)
	for i, c := range cases {
		var got, want string
		for _, side := range []struct {
			rdb *redis.Client
			out *string
		}{{mine, &got}, {theirs, &want}} {
			sha, err := side.rdb.ScriptLoad(ctx, c.script).Result()
			if err != nil {
				t.Fatalf("case %d: load %q: %v", i, c.script, err)
			}
			*side.out = answer(side.rdb.EvalSha(ctx, sha, c.keys, c.args...).Result())
		}
		if got != want {
			t.Errorf("%s\n  answers %s\n  miniredis answers %s", c.script, got, want)
		}
	}
	if n := mem.scripts.runs.Load(); n != int64(len(cases)) {
		t.Errorf("the embedded store ran %d of the %d calls itself", n, len(cases))
	}
	// a call whose number of keys is wrong
	for _, numkeys := range []string{"x", "-1", "3"} {
		var got, want string
		for _, side := range []struct {
			rdb *redis.Client
			out *string
		}{{mine, &got}, {theirs, &want}} {
			sha, err := side.rdb.ScriptLoad(ctx, `return 1`).Result()
			if err != nil {
				t.Fatal(err)
			}
			*side.out = answer(side.rdb.Do(ctx, "EVALSHA", sha, numkeys, "k").Result())
		}
		if got != want {
			t.Errorf("EVALSHA with %s keys: %s; miniredis: %s", numkeys, got, want)
		}
	}
}

// What a call needs of its connection is read from miniredis's context of
// it: its database, an open MULTI, a command of a script. Should miniredis
// rename them, this fails (and the store, unable to read them, leaves
// every script to miniredis).
func TestReadConnReadsMiniredisContext(t *testing.T) {
	rdb, mem := memoryClient(t, 0)
	var seen []conn
	if err := mem.srv.Register("SEEN", func(c *server.Peer, _ string, _ []string) {
		cn, ok := readConn(c)
		if !ok {
			t.Error("readConn cannot read miniredis's context")
		}
		seen = append(seen, cn)
		c.WriteOK()
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Do(ctx, "SELECT", 5)
		p.Do(ctx, "SEEN")
		p.Do(ctx, "MULTI")
		p.Do(ctx, "SEEN")
		p.Do(ctx, "EXEC")
		p.Do(ctx, "SELECT", 0)
		p.Eval(ctx, `return redis.call('SEEN')`, nil)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []conn{{db: 5}, {db: 5, multi: true}, {nested: true}}
	if !slices.Equal(seen, want) {
		t.Errorf("read %+v, want %+v", seen, want)
	}
}

// A script that miniredis runs itself (sent whole with EVAL) and that
// calls EVALSHA inside is refused, as Redis refuses it; the store does not
// run the inner call, which would wait on the lock the outer one holds.
func TestScriptsCannotCallScripts(t *testing.T) {
	rdb, _ := memoryClient(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sha, err := rdb.ScriptLoad(ctx, `return 1`).Result()
	if err != nil {
		t.Fatal(err)
	}
	err = rdb.Eval(ctx, `return redis.call('EVALSHA', ARGV[1], 0)`, nil, sha).Err()
	if err == nil || !strings.Contains(err.Error(), "This Redis command is not allowed from script") {
		t.Fatalf("EVALSHA inside a script: %v, want a refusal", err)
	}
}

// A script runs whole, between other clients' commands: scripts that read
// a counter and write it back, and plain INCRs on the same key, from
// clients side by side, lose no increment.
func TestScriptsAreAtomic(t *testing.T) {
	rdb, mem := memoryClient(t, 0)
	ctx := context.Background()
	script := redis.NewScript(`local n = tonumber(redis.call('GET', KEYS[1]) or '0')
redis.call('SET', 'other', n)
redis.call('SET', KEYS[1], n + 1)
return n + 1`)
	if err := script.Load(ctx, rdb).Err(); err != nil {
		t.Fatal(err)
	}
	const clients, each = 8, 200
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			for range each {
				var err error
				if i%2 == 0 {
					err = script.Run(ctx, rdb, []string{"n"}).Err()
				} else {
					err = rdb.Incr(ctx, "n").Err()
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n, err := rdb.Get(ctx, "n").Int(); err != nil || n != clients*each {
		t.Errorf("the counter is %d (%v), want %d", n, err, clients*each)
	}
	if n := mem.scripts.runs.Load(); n != clients/2*each {
		t.Errorf("the embedded store ran %d of the %d scripts itself", n, clients/2*each)
	}
}

// A script runs in its client's database.
func TestScriptsRunInTheClientsDatabase(t *testing.T) {
	rdb, mem := memoryClient(t, 3)
	ctx := context.Background()
	script := redis.NewScript(`redis.call('SET', KEYS[1], 'here'); return 1`)
	for range 2 {
		if err := script.Run(ctx, rdb, []string{"k"}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if mem.scripts.runs.Load() == 0 {
		t.Fatal("the embedded store ran none of the calls itself")
	}
	if v, err := mem.m.DB(3).Get("k"); err != nil || v != "here" {
		t.Errorf("database 3 holds %q (%v), want the script's value", v, err)
	}
	if mem.m.Exists("k") {
		t.Error("database 0 holds the key too")
	}
}

// In a MULTI a script is queued and runs at EXEC, as miniredis runs it.
func TestScriptsInATransaction(t *testing.T) {
	rdb, _ := memoryClient(t, 0)
	ctx := context.Background()
	sha, err := rdb.ScriptLoad(ctx, `return redis.call('INCR', KEYS[1])`).Result()
	if err != nil {
		t.Fatal(err)
	}
	var first, second *redis.Cmd
	if _, err := rdb.TxPipelined(ctx, func(tx redis.Pipeliner) error {
		first = tx.EvalSha(ctx, sha, []string{"n"})
		tx.Set(ctx, "m", "x", 0)
		second = tx.EvalSha(ctx, sha, []string{"n"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if first.Val() != int64(1) || second.Val() != int64(2) {
		t.Errorf("the scripts of the transaction answered %v and %v, want 1 and 2", first.Val(), second.Val())
	}
	if v, err := rdb.EvalSha(ctx, sha, []string{"n"}).Result(); err != nil || v != int64(3) {
		t.Errorf("after the transaction: %v, %v; want 3", v, err)
	}
}

// The state the scripts share keeps nothing of one call for the next: a
// call that fails halfway leaves it as it was, and a script cannot leave
// a global behind.
func TestScriptsShareNothing(t *testing.T) {
	rdb, _ := memoryClient(t, 0)
	ctx := context.Background()
	failing := redis.NewScript(`local t = {} for i = 1, 100 do t[i] = i end
if ARGV[1] == 'fail' then error('failed halfway') end
return #t`)
	for i := range 3 {
		err := failing.Run(ctx, rdb, nil, "fail").Err()
		if err == nil || !strings.Contains(err.Error(), "failed halfway") {
			t.Fatalf("call %d: %v, want the script's error", i, err)
		}
	}
	if n, err := failing.Run(ctx, rdb, nil, "go").Int(); err != nil || n != 100 {
		t.Fatalf("after the failures: %d, %v; want 100", n, err)
	}
	leak := redis.NewScript(`leaked = 'x' return 1`)
	for range 2 {
		err := leak.Run(ctx, rdb, nil).Err()
		if err == nil || !strings.Contains(err.Error(), "Script attempted to create global variable 'leaked'") {
			t.Fatalf("a script that sets a global: %v", err)
		}
	}
	read := redis.NewScript(`return type(rawget(_G, 'leaked'))`)
	if v, err := read.Run(ctx, rdb, nil).Text(); err != nil || v != "nil" {
		t.Errorf("the global after the refused writes: %q, %v; want none", v, err)
	}
}

// A script is compiled once in a process, whatever the number of stores
// that run it: a test suite starts one for each test.
func TestScriptsCompileOncePerProcess(t *testing.T) {
	ctx := context.Background()
	const script = `return 'compiled once'`
	var protos []*lua.FunctionProto
	for range 2 {
		rdb, mem := memoryClient(t, 0)
		sha, err := rdb.ScriptLoad(ctx, script).Result()
		if err != nil {
			t.Fatal(err)
		}
		if v, err := rdb.EvalSha(ctx, sha, nil).Text(); err != nil || v != "compiled once" {
			t.Fatalf("%q, %v", v, err)
		}
		mem.scripts.mu.Lock()
		protos = append(protos, mem.scripts.scripts[sha])
		mem.scripts.mu.Unlock()
	}
	if protos[0] == nil || protos[0] != protos[1] {
		t.Errorf("two stores hold the script compiled twice: %p, %p", protos[0], protos[1])
	}
}

// A read-only call (EVALSHA_RO) is miniredis's, which refuses a write in
// it.
func TestScriptsReadOnlyAreMiniredis(t *testing.T) {
	rdb, mem := memoryClient(t, 0)
	ctx := context.Background()
	sha, err := rdb.ScriptLoad(ctx, `return redis.call('SET', KEYS[1], 'x')`).Result()
	if err != nil {
		t.Fatal(err)
	}
	err = rdb.EvalShaRO(ctx, sha, []string{"k"}).Err()
	if err == nil || !strings.Contains(err.Error(), "Write commands are not allowed in read-only scripts") {
		t.Fatalf("a write in EVALSHA_RO: %v, want it refused", err)
	}
	if n := mem.scripts.runs.Load(); n != 0 {
		t.Errorf("the embedded store ran %d read-only calls itself", n)
	}
}

// A script the store has not seen is NOSCRIPT, as on Redis, so that
// go-redis sends it whole.
func TestScriptsUnknownAreRefused(t *testing.T) {
	rdb, _ := memoryClient(t, 0)
	err := rdb.EvalSha(context.Background(), "ffffffffffffffffffffffffffffffffffffffff", nil).Err()
	if err == nil || !strings.HasPrefix(err.Error(), "NOSCRIPT") {
		t.Fatalf("an unknown script: %v, want NOSCRIPT", err)
	}
}

// What a call of a small script allocates in this process, the client's
// share included: the state kept from call to call makes it a fraction of
// miniredis's, which makes a new state a call (738 allocations when it
// was measured; 53 here).
func TestScriptCallAllocations(t *testing.T) {
	ctx := context.Background()
	script := redis.NewScript(`return redis.call('INCR', KEYS[1])`)
	allocs := func(rdb *redis.Client) float64 {
		if err := script.Run(ctx, rdb, []string{"n"}).Err(); err != nil {
			t.Fatal(err)
		}
		return testing.AllocsPerRun(200, func() {
			if err := script.Run(ctx, rdb, []string{"n"}).Err(); err != nil {
				t.Fatal(err)
			}
		})
	}
	mine, _ := memoryClient(t, 0)
	got, theirs := allocs(mine), allocs(plainClient(t))
	t.Logf("a small script: %.0f allocations, miniredis's own %.0f", got, theirs)
	if got > 80 || got > theirs/5 {
		t.Errorf("a small script allocates %.0f times, want at most 80 and a fifth of miniredis's own (%.0f)", got, theirs)
	}
}

// BenchmarkScriptCall is one small script call on the embedded store, and
// on a miniredis as it is, in the same run; both over a TCP socket: a
// write (INCR), and a read of an order-sized hash (HGETALL, 24 fields),
// which the embedded store answers from the data (reads.go).
func BenchmarkScriptCall(b *testing.B) {
	for _, sc := range []struct{ name, src string }{
		{"incr", `return redis.call('INCR', KEYS[1])`},
		{"hgetall", `return #redis.call('HGETALL', KEYS[2])`},
	} {
		script := redis.NewScript(sc.src)
		for _, store := range []string{"miniredis", "embedded"} {
			b.Run("script="+sc.name+"/store="+store, func(b *testing.B) {
				m := miniredis.NewMiniRedis()
				if err := m.Start(); err != nil {
					b.Fatal(err)
				}
				defer m.Close()
				if store == "embedded" {
					if _, err := NewMemory(m); err != nil {
						b.Fatal(err)
					}
				}
				c := redis.NewClient(&redis.Options{Addr: m.Addr()})
				defer c.Close()
				ctx := context.Background()
				for i := range 24 {
					if err := c.HSet(ctx, "h", fmt.Sprintf("s%d.field", i), strings.Repeat("v", i)).Err(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				for b.Loop() {
					if err := script.Run(ctx, c, []string{"n", "h"}).Err(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// A reply reaches a script as miniredis's parser and toLua would give it;
// what the direct reading cannot read — an error inside an array, a type
// of RESP3, a reply cut short — is left to that parser.
func TestReplyToLuaReadsAsMiniredis(t *testing.T) {
	l := lua.NewState()
	defer l.Close()
	for _, reply := range []string{
		"+OK\r\n", ":42\r\n", ":-7\r\n", "$5\r\nhello\r\n", "$0\r\n\r\n", "$-1\r\n", "*-1\r\n", "*0\r\n",
		"*3\r\n$1\r\na\r\n$-1\r\n*2\r\n:1\r\n$3\r\nb\nc\r\n", "$4\r\na\r\nb\r\n",
	} {
		got, msg, ok := replyToLua(l, []byte(reply))
		res, err := server.ParseReply(bufio.NewReader(strings.NewReader(reply)))
		if !ok || msg != "" || err != nil {
			t.Errorf("%q: read %v, error %q; miniredis: %v", reply, ok, msg, err)
			continue
		}
		if want := toLua(l, res); dumpLua(got) != dumpLua(want) {
			t.Errorf("%q: %s, want %s", reply, dumpLua(got), dumpLua(want))
		}
	}
	if _, msg, ok := replyToLua(l, []byte("-WRONGTYPE not a hash\r\n")); !ok || msg != "WRONGTYPE not a hash" {
		t.Errorf("an error reply: read %v, message %q", ok, msg)
	}
	for _, reply := range []string{"*2\r\n:1\r\n-ERR inside\r\n", "%1\r\n+a\r\n:1\r\n", "$5\r\nhel\r\n", "*2\r\n:1\r\n", ":1\r\n:2\r\n", "-\r\n", ""} {
		if _, _, ok := replyToLua(l, []byte(reply)); ok {
			t.Errorf("%q was read, want it left to miniredis's parser", reply)
		}
	}
}

// dumpLua writes v as a script would see it, tables in full.
func dumpLua(v lua.LValue) string {
	t, ok := v.(*lua.LTable)
	if !ok {
		return v.Type().String() + ":" + v.String()
	}
	var b strings.Builder
	b.WriteString("{")
	t.ForEach(func(k, v lua.LValue) { b.WriteString(k.String() + "=" + dumpLua(v) + " ") })
	return b.String() + "}"
}

// The reads smsim's scripts make most are answered from miniredis's data
// (reads.go), in the script's database; a read miniredis answers with an
// error, and every write, go to miniredis. Should miniredis's databases no
// longer read as reads.go expects, every read goes to miniredis again,
// answering right but costing what it did, and this fails.
func TestScriptReadsAreAnsweredFromTheData(t *testing.T) {
	if !layoutOK {
		t.Fatal("miniredis's databases do not read as reads.go expects: scripts' reads all go to miniredis")
	}
	ctx := context.Background()
	c, mem := memoryClient(t, 2)
	p := c.Pipeline()
	p.Set(ctx, "str", "v", 0)
	p.Set(ctx, "long", "0123456789", 0)
	p.HSet(ctx, "h", "b", "2", "a", "1")
	p.SAdd(ctx, "set", "y", "x")
	p.ZAdd(ctx, "z", redis.Z{Score: 1, Member: "m"})
	p.RPush(ctx, "l", "1", "2", "3")
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	script := redis.NewScript(`return {redis.call('GET', 'str'), redis.call('HGET', 'h', 'a'), redis.call('HMGET', 'h', 'b', 'c'),
		redis.call('HGETALL', 'h'), redis.call('EXISTS', 'h', 'nothing', 'str'), redis.call('SMEMBERS', 'set'), redis.call('ZCARD', 'z'),
		redis.call('LLEN', 'l'), redis.pcall('GET', 'h')['err'], redis.call('HSET', 'h', 'c', '3'), redis.call('HGET', 'h', 'c'),
		redis.call('GETRANGE', 'long', 0, 3), redis.call('GETRANGE', 'long', 2, 99), redis.call('GETRANGE', 'long', 5, 2),
		redis.call('GETRANGE', 'long', 9, 12), redis.call('GETRANGE', 'nothing', 0, 39), redis.call('GETRANGE', 'long', -3, -1)}`)
	if err := script.Load(ctx, c).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := script.Run(ctx, c, nil).Result()
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"v", "1", []any{"2", nil}, []any{"a", "1", "b", "2"}, int64(2), []any{"x", "y"}, int64(1), int64(3),
		"WRONGTYPE Operation against a key holding the wrong kind of value", int64(1), "3",
		"0123", "23456789", "", "9", "", "789"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the script answers %v, want %v", got, want)
	}
	if n := mem.scripts.reads.Load(); n != 14 {
		t.Errorf("%d of the script's reads were answered from the data, want 14 (all but the GET of a hash and the GETRANGE from the end)", n)
	}
}

// A database whose maps are not where, or not of the types, reads.go reads
// them in is not read: its reads go to miniredis.
func TestDataLayoutRefusesAnotherShape(t *testing.T) {
	//lint:ignore U1000 its fields are read by reflection
	type like struct {
		keys, stringKeys map[string]string
		hashKeys         map[string]map[string]string
		setKeys          map[string]map[string]struct{}
		listKeys         map[string][]string
		sortedsetKeys    map[string]map[string]float64
		ttl              map[string]time.Duration
		hashTTLs         map[string]map[string]time.Duration
	}
	//lint:ignore U1000 its fields are read by reflection
	type renamed struct {
		keys, strings map[string]string
		hashKeys      map[string]map[string]string
		setKeys       map[string]map[string]struct{}
		listKeys      map[string][]string
		sortedsetKeys map[string]map[string]float64
		ttl           map[string]time.Duration
		hashTTLs      map[string]map[string]time.Duration
	}
	//lint:ignore U1000 its fields are read by reflection
	type retyped struct {
		keys, stringKeys map[string]string
		hashKeys         map[string][]string
		setKeys          map[string]map[string]struct{}
		listKeys         map[string][]string
		sortedsetKeys    map[string]map[string]float64
		ttl              map[string]time.Duration
		hashTTLs         map[string]map[string]time.Duration
	}
	if _, ok := dataLayoutOf(reflect.TypeFor[like]()); !ok {
		t.Error("a database of the expected shape is refused")
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[renamed](), reflect.TypeFor[retyped]()} {
		if _, ok := dataLayoutOf(typ); ok {
			t.Errorf("%v is read as a database", typ)
		}
	}
}

// A script's chunk is compiled to make no table of its arguments at each
// call (compile): no script can read it.
func TestScriptChunkMakesNoArgTable(t *testing.T) {
	proto, ok := compile("test-no-arg", `return 1`)
	if !ok {
		t.Fatal("a script does not compile")
	}
	if proto.IsVarArg&lua.VarArgNeedsArg != 0 {
		t.Error("the chunk makes a table of its arguments at each call")
	}
}

// A script's SELECT is its own, as in Redis: its reads and writes after it
// are in the database it chose, and the next script of the first database
// runs in that one again.
func TestScriptsSelectForThemselves(t *testing.T) {
	ctx := context.Background()
	c0, mem := memoryClient(t, 0)
	c1 := redis.NewClient(&redis.Options{Dialer: mem.Dial, DB: 1})
	t.Cleanup(func() { c1.Close() })
	if err := c0.Set(ctx, "k", "in 0", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c1.Set(ctx, "k", "in 1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	run := func(src string) any {
		t.Helper()
		s := redis.NewScript(src)
		if err := s.Load(ctx, c0).Err(); err != nil {
			t.Fatal(err)
		}
		v, err := s.Run(ctx, c0, nil).Result()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := run(`redis.call('SELECT', 1); redis.call('SET', 'n', 'x'); return redis.call('GET', 'k')`); got != "in 1" {
		t.Errorf("after its SELECT 1, a script reads %v, want %q", got, "in 1")
	}
	if got := fmt.Sprint(run(`redis.call('INCR', 'n0'); return {redis.call('GET', 'k'), redis.call('EXISTS', 'n')}`)); got != "[in 0 0]" {
		t.Errorf("the next script of database 0 reads %s, want [in 0 0]", got)
	}
	if n, err := c0.Get(ctx, "n0").Result(); err != nil || n != "1" {
		t.Errorf("the next script's INCR: database 0 holds %q (%v), want 1", n, err)
	}
	if n, err := c1.Exists(ctx, "n0").Result(); err != nil || n != 0 {
		t.Errorf("the next script's INCR reached database 1 (%d, %v)", n, err)
	}
}

// The reads a script's calls are answered from the data (reads.go) answer
// as miniredis answers them, value for value and error for error: each
// input is a list of reads — a command of those, or one it leaves to
// miniredis, given keys of every type, a key missing, fields and too many
// or too few arguments.
func FuzzScriptReadsMatchMiniredis(f *testing.F) {
	// for each command: on each key; then with none, with a key and a
	// field, with a key and two fields
	for c := range byte(10) {
		var each, arities []byte
		for k := range byte(8) {
			each = append(each, c, 1, k)
			arities = append(arities, c, 2, k, 8+k%4)
		}
		f.Add(each)
		f.Add(append([]byte{c, 0, c, 3, 2, 9, 11, c, 3, 3, 8, 9}, arities...))
	}
	ctx := context.Background()
	mine, _ := memoryClient(f, 0)
	theirs := plainClient(f)
	for _, rdb := range []*redis.Client{mine, theirs} {
		p := rdb.Pipeline()
		p.Set(ctx, "s", "v", 0)
		p.Set(ctx, "empty", "", 0)
		p.HSet(ctx, "h", "b", "2", "a", "1", "c", "")
		p.SAdd(ctx, "set", "y", "x", "z")
		p.ZAdd(ctx, "z", redis.Z{Score: 2, Member: "n"}, redis.Z{Score: 1, Member: "m"})
		p.RPush(ctx, "l", "1", "2")
		p.XAdd(ctx, &redis.XAddArgs{Stream: "x", Values: []string{"f", "v"}})
		if _, err := p.Exec(ctx); err != nil {
			f.Fatal(err)
		}
	}
	cmds := []string{"GET", "HGET", "HMGET", "HGETALL", "EXISTS", "SMEMBERS", "ZCARD", "LLEN", "get", "TYPE"}
	args := []string{"s", "empty", "h", "set", "z", "l", "x", "missing", "a", "b", "c", "zz"}
	f.Fuzz(func(t *testing.T, b []byte) {
		var calls []string
		for len(b) >= 2 && len(calls) < 16 {
			cmd, n := cmds[int(b[0])%len(cmds)], int(b[1])%4
			b = b[2:]
			call := "redis.pcall('" + cmd + "'"
			for ; n > 0 && len(b) > 0; n-- {
				call += ", '" + args[int(b[0])%len(args)] + "'"
				b = b[1:]
			}
			calls = append(calls, call+")")
		}
		if len(calls) == 0 {
			return
		}
		src := "return {" + strings.Join(calls, ", ") + "}"
		var got, want string
		for _, side := range []struct {
			rdb *redis.Client
			out *string
		}{{mine, &got}, {theirs, &want}} {
			sha, err := side.rdb.ScriptLoad(ctx, src).Result()
			if err != nil {
				t.Fatalf("load %s: %v", src, err)
			}
			*side.out = answer(side.rdb.EvalSha(ctx, sha, nil).Result())
		}
		if got != want {
			t.Errorf("%s\n  answers %s\n  miniredis answers %s", src, got, want)
		}
	})
}
