package redisstore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// A client's SCAN 0 MATCH of a name and * (a namespace's keys, as a reset
// looks for them) is answered from the data (scan.go), as miniredis
// answers it; any other SCAN goes to miniredis.
func TestScanOfAPrefixAnswersAsMiniredis(t *testing.T) {
	ctx := context.Background()
	mine, mem := memoryClient(t, 2)
	theirs := redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr(), DB: 2})
	t.Cleanup(func() { theirs.Close() })
	for _, c := range []*redis.Client{mine, theirs} {
		for _, k := range []string{"smsim:{a}:msg:2", "smsim:{a}:clock", "smsim:{a}b", "smsim:{ab}:x", "smsim:{b}:clock",
			"other", "smsim:{a}:\n\xff", "smsim:{a}:é"} {
			if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
		c.HSet(ctx, "smsim:{a}:seq", "job", 1)
		c.ZAdd(ctx, "smsim:{a}:sched:due", redis.Z{Score: 1, Member: "m"})
		c.Do(ctx, "SELECT", 3) // another database, with a key of the name
		c.Set(ctx, "smsim:{a}:clock", "in 3", 0)
		c.Do(ctx, "SELECT", 2)
	}
	for _, cmd := range []struct {
		args []any
		fast bool // answered from the data
	}{
		{[]any{"SCAN", 0, "MATCH", "smsim:{a}:*"}, true},
		{[]any{"SCAN", 0, "MATCH", "smsim:{a}:*", "COUNT", 500}, true},
		{[]any{"scan", "0", "count", "10", "match", "smsim:{a}*"}, true},
		{[]any{"SCAN", 0, "MATCH", "smsim:{z}:*"}, true},
		{[]any{"SCAN", 0, "MATCH", "smsim:{a}:é*"}, true},
		{[]any{"SCAN", 0, "MATCH", "smsim:?a}:*"}, false},
		{[]any{"SCAN", 0, "MATCH", "smsim:{a}:*:*"}, false},
		{[]any{"SCAN", 0, "MATCH", "*"}, false},
		{[]any{"SCAN", 0}, false},
		{[]any{"SCAN", 1, "MATCH", "smsim:{a}:*"}, false},
		{[]any{"SCAN", 0, "MATCH", "smsim:{a}:*", "TYPE", "string"}, false},
		{[]any{"SCAN", 0, "MATCH", "smsim:{a}:*", "COUNT", "many"}, false},
	} {
		before := mem.scripts.reads.Load()
		got := fmt.Sprint(mine.Do(ctx, cmd.args...).Result())
		want := fmt.Sprint(theirs.Do(ctx, cmd.args...).Result())
		if got != want {
			t.Errorf("%q answers %q, miniredis %q", cmd.args, got, want)
		}
		if fast := mem.scripts.reads.Load() > before; fast != cmd.fast {
			t.Errorf("%q answered from the data: %v, want %v", cmd.args, fast, cmd.fast)
		}
	}
}

// A name that is not valid UTF-8 is matched byte by byte, as Redis matches
// it (miniredis panics on it).
func TestScanOfAPrefixNotUTF8(t *testing.T) {
	ctx := context.Background()
	c, _ := memoryClient(t, 0)
	for _, k := range []string{"smsim:{a}:\n\xff", "smsim:{a}:\n\xfe", "smsim:{a}:\n"} {
		if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	keys, cursor, err := c.Scan(ctx, 0, "smsim:{a}:\n\xff*", 0).Result()
	if err != nil || cursor != 0 || fmt.Sprintf("%q", keys) != `["smsim:{a}:\n\xff"]` {
		t.Fatalf("SCAN answers %q, cursor %d, %v; want the one key, cursor 0", keys, cursor, err)
	}
}

// BenchmarkScanPrefix is a SCAN of one namespace's ten keys among 200,000
// others': as the store answers it, then as miniredis does, which sorts
// every key of the database for each. Read the two against each other.
func BenchmarkScanPrefix(b *testing.B) {
	ctx := context.Background()
	mine, _ := memoryClient(b, 0)
	for _, side := range []struct {
		name string
		rdb  *redis.Client
	}{{"store", mine}, {"miniredis", plainClient(b)}} {
		p := side.rdb.Pipeline()
		for i := range 200_000 {
			p.Set(ctx, fmt.Sprintf("smsim:{load%d}:msg:m%d", i%50, i), "x", 0)
		}
		for i := range 10 {
			p.Set(ctx, fmt.Sprintf("smsim:{ns}:k%d", i), "x", 0)
		}
		if _, err := p.Exec(ctx); err != nil {
			b.Fatal(err)
		}
		b.Run(side.name, func(b *testing.B) {
			for b.Loop() {
				if keys, _, err := side.rdb.Scan(ctx, 0, "smsim:{ns}:*", 500).Result(); err != nil || len(keys) != 10 {
					b.Fatalf("%d keys, %v", len(keys), err)
				}
			}
		})
	}
}

// A SCAN of a name and * answers as miniredis does, whatever the keys and
// the name (one that is not valid UTF-8 aside: miniredis panics on it).
func FuzzScanOfAPrefixMatchesMiniredis(f *testing.F) {
	f.Add("smsim:{a}:", "smsim:{a}:clock|smsim:{a}b|smsim:{ab}:x|other|smsim:{a}:\n")
	f.Add("é", "é|éé|e|\xff")
	f.Add("a{", "a{|a{b}|a|{")
	f.Fuzz(func(t *testing.T, prefix, keys string) {
		if prefix == "" || strings.ContainsAny(prefix, `*?[]\`) || !utf8.ValidString(prefix) || len(keys) > 4096 {
			return
		}
		ctx := context.Background()
		mine, _ := memoryClient(t, 0)
		theirs := plainClient(t)
		for _, k := range strings.Split(keys, "|") {
			for _, c := range []*redis.Client{mine, theirs} {
				if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
		}
		got := fmt.Sprintf("%q", answer(mine.Do(ctx, "SCAN", 0, "MATCH", prefix+"*").Result()))
		want := fmt.Sprintf("%q", answer(theirs.Do(ctx, "SCAN", 0, "MATCH", prefix+"*").Result()))
		if got != want {
			t.Errorf("SCAN 0 MATCH %q* of %q answers %s, miniredis %s", prefix, keys, got, want)
		}
	})
}
