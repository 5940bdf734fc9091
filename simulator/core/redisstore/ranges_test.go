package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// A script's ZRANGEBYSCORE and ZREMRANGEBYSCORE are answered in one pass
// over the set (ranges.go), and answer as miniredis does: members in order
// of score, then of name, LIMIT and WITHSCORES as it reads them, the
// members removed.
func TestScriptRangesAreAnsweredFromTheData(t *testing.T) {
	ctx := context.Background()
	c, mem := memoryClient(t, 0)
	if err := c.Set(ctx, "s", "v", 0).Err(); err != nil { // the database is made before the script
		t.Fatal(err)
	}
	script := redis.NewScript(`
redis.call('ZADD', 'z', 3, 'c', 1, 'b', 1, 'a', 2, 'd', 5, 'e')
return {
  redis.call('ZRANGEBYSCORE', 'z', '-inf', '+inf'),
  redis.call('ZRANGEBYSCORE', 'z', '(1', 3, 'WITHSCORES'),
  redis.call('ZRANGEBYSCORE', 'z', '-inf', '+inf', 'LIMIT', 1, 2),
  redis.call('ZRANGEBYSCORE', 'z', 1, '(5', 'limit', 2, -1, 'withscores'),
  redis.call('ZRANGEBYSCORE', 'missing', 0, 1),
  redis.call('ZREMRANGEBYSCORE', 'z', '-inf', '(2'),
  redis.call('ZREMRANGEBYSCORE', 'z', 10, 20),
  redis.call('ZRANGEBYSCORE', 'z', '-inf', '+inf', 'WITHSCORES'),
  redis.pcall('ZRANGEBYSCORE', 's', 0, 1)['err'],
  redis.pcall('ZRANGEBYSCORE', 'z', 'low', 1)['err'],
}`)
	if err := script.Load(ctx, c).Err(); err != nil { // run by its SHA-1, as smsim runs scripts
		t.Fatal(err)
	}
	got, err := script.Run(ctx, c, nil).Result()
	if err != nil {
		t.Fatal(err)
	}
	want := []any{
		[]any{"a", "b", "d", "c", "e"},
		[]any{"d", "2", "c", "3"},
		[]any{"b", "d"},
		[]any{"d", "2", "c", "3"},
		[]any{},
		int64(2),
		int64(0),
		[]any{"d", "2", "c", "3", "e", "5"},
		"WRONGTYPE Operation against a key holding the wrong kind of value",
		"ERR min or max is not a float",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the script answers\n  %v\nwant\n  %v", got, want)
	}
	// Six ranges answered from the data, and the removal that found nothing
	// to remove; the one that did ran as a ZREM, the errors in miniredis.
	if n := mem.scripts.reads.Load(); n != 7 {
		t.Errorf("%d of the script's calls were answered from the data, want 7", n)
	}
	// a client's ZRANGE by rank, as the scheduler asks for its earliest job
	first, err := c.ZRangeWithScores(ctx, "z", 0, 1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(first) != "[{2 d} {3 c}]" {
		t.Errorf("ZRANGE z 0 1 WITHSCORES answers %v, want [{2 d} {3 c}]", first)
	}
	if n := mem.scripts.reads.Load(); n != 8 {
		t.Errorf("%d commands were answered from the data, want 8: the ZRANGE too", n)
	}
}

// The ranges answered from the data (ranges.go) answer as miniredis does,
// value for value and error for error, and a removal leaves the set as
// miniredis's leaves it: each input is a set of members, some of equal
// scores, and a list of ranges and removals of bounds inclusive and not,
// infinite, malformed, with LIMITs past the set's end and negative; then
// a client's ZRANGE by rank of the set left, in and out of the form
// rangeByRank answers.
func FuzzScriptRangesMatchMiniredis(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7}, []byte{0, 0, 1, 2, 3, 1, 2, 5, 6, 7, 2, 3, 4, 0, 1}, []byte{0, 0, 1, 3, 0, 2, 2, 9})
	f.Add([]byte{9, 9, 9, 1, 1}, []byte{1, 8, 9, 0, 0, 3, 1, 2, 9, 4, 2, 2, 5, 8, 3}, []byte{0, 6, 1, 7, 4, 4, 0, 5})
	f.Add([]byte{}, []byte{0, 1, 2, 1, 2, 3}, []byte{0, 0, 1, 1})
	f.Add([]byte{3, 3, 3, 3, 3, 3, 3, 3, 3, 3}, []byte{0, 10, 11, 7, 6, 2, 10, 11, 5, 5, 1, 1, 1, 0, 0}, []byte{3, 1, 2, 3, 1, 6, 0, 8})
	ctx := context.Background()
	mine, _ := memoryClient(f, 0)
	theirs := plainClient(f)
	for _, rdb := range []*redis.Client{mine, theirs} {
		if err := rdb.Set(ctx, "s", "v", 0).Err(); err != nil { // the database is made before the scripts
			f.Fatal(err)
		}
	}
	bounds := []string{"-inf", "+inf", "1", "(1", "2.5", "(2.5", "-1", "(0", "x", "", "4", "(4", "inf", "-INF", "1e1"}
	limits := []string{"", "LIMIT 0 2", "LIMIT 1 -1", "LIMIT 3 100", "LIMIT -1 2", "LIMIT 0 0", "limit 2 1", "LIMIT a 1", "LIMIT 9223372036854775807 9223372036854775807", "LIMIT 1"}
	scores := []string{"0", "1", "1", "2.5", "-1", "4", "1e1", "-inf", "+inf", "3"}
	rankArgs := []string{"0", "1", "2", "5", "-1", "-3", "255", "256", "x", "3"}
	f.Fuzz(func(t *testing.T, set, calls, ranks []byte) {
		var src strings.Builder
		src.WriteString("redis.call('DEL', 'z')\n")
		for i, b := range set {
			if i == 32 {
				break
			}
			fmt.Fprintf(&src, "redis.call('ZADD', 'z', '%s', 'm%d')\n", scores[int(b)%len(scores)], i%12)
		}
		src.WriteString("return {")
		for n := 0; len(calls) >= 3 && n < 12; n++ {
			op, lo, hi := calls[0], bounds[int(calls[1])%len(bounds)], bounds[int(calls[2])%len(bounds)]
			calls = calls[3:]
			if op%3 == 0 {
				fmt.Fprintf(&src, "redis.pcall('ZREMRANGEBYSCORE', 'z', '%s', '%s'), ", lo, hi)
				continue
			}
			args := []string{"'z'", "'" + lo + "'", "'" + hi + "'"}
			if op%3 == 2 {
				args = append(args, "'WITHSCORES'")
			}
			for _, w := range strings.Fields(limits[int(op/3)%len(limits)]) {
				args = append(args, strconv.Quote(w))
			}
			fmt.Fprintf(&src, "redis.pcall('ZRANGEBYSCORE', %s), ", strings.Join(args, ", "))
		}
		src.WriteString("redis.call('ZRANGE', 'z', 0, -1, 'WITHSCORES'), redis.call('EXISTS', 'z')}")
		var got, want string
		for _, side := range []struct {
			rdb *redis.Client
			out *string
		}{{mine, &got}, {theirs, &want}} {
			sha, err := side.rdb.ScriptLoad(ctx, src.String()).Result()
			if err != nil {
				t.Fatalf("load %s: %v", src.String(), err)
			}
			*side.out = answer(side.rdb.EvalSha(ctx, sha, nil).Result())
		}
		if got != want {
			t.Errorf("%s\n  answers %s\n  miniredis answers %s", src.String(), got, want)
		}
		// a client's ZRANGE by rank (rangeByRank) of the set left
		for i := 0; len(ranks) >= 2 && i < 4; i++ {
			cmd := []any{"ZRANGE", "z", rankArgs[int(ranks[0])%len(rankArgs)], rankArgs[int(ranks[1])%len(rankArgs)]}
			if ranks[0]&1 == 1 {
				cmd = append(cmd, "withscores")
			}
			if ranks[1]%5 == 4 {
				cmd = append(cmd, "REV")
			}
			ranks = ranks[2:]
			got, want := answer(mine.Do(ctx, cmd...).Result()), answer(theirs.Do(ctx, cmd...).Result())
			if got != want {
				t.Errorf("after %s\n%v answers %s\n  miniredis answers %s", src.String(), cmd, got, want)
			}
		}
	})
}

// BenchmarkRange is a script's look at the 64 earliest members of a set of
// 50,000, and its removal of those under a score that none reaches, as the
// scripts of a busy namespace make them (the sweep of its orders, the prune
// of its numbers): on the store, then on miniredis's own scripting, which
// sorts the set for each. Read the two against each other.
func BenchmarkRange(b *testing.B) {
	ctx := context.Background()
	mine, _ := memoryClient(b, 0)
	for _, side := range []struct {
		name string
		rdb  *redis.Client
	}{{"store", mine}, {"miniredis", plainClient(b)}} {
		p := side.rdb.Pipeline()
		for i := range 50_000 {
			p.ZAdd(ctx, "z", redis.Z{Score: float64(i % 5000), Member: "m" + strconv.Itoa(i)})
		}
		if _, err := p.Exec(ctx); err != nil {
			b.Fatal(err)
		}
		script := redis.NewScript(`return {#redis.call('ZRANGEBYSCORE', 'z', '(100', '+inf', 'WITHSCORES', 'LIMIT', 0, 64),
			redis.call('ZREMRANGEBYSCORE', 'z', '-inf', '(-1')}`)
		if err := script.Load(ctx, side.rdb).Err(); err != nil {
			b.Fatal(err)
		}
		b.Run(side.name, func(b *testing.B) {
			for b.Loop() {
				if err := script.Run(ctx, side.rdb, nil).Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
