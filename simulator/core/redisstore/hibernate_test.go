package redisstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// hibernating starts an embedded store whose hibernation reads the
// clock it answers, and a client of it.
func hibernating(t *testing.T) (*Memory, *miniredis.Miniredis, *redis.Client, *fakeClock) {
	t.Helper()
	m := miniredis.NewMiniRedis()
	mem, err := NewMemory(m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mem.Close)
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	mem.hib.now = clock.now
	c := redis.NewClient(&redis.Options{Addr: "embedded", Dialer: mem.Dial})
	t.Cleanup(func() { c.Close() })
	return mem, m, c, clock
}

// fakeClock is a real-time clock that moves only when told (testkit.Clock
// is one too, but testkit imports this package).
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// storeDump writes every key of database 0 — its type, TTL and value —
// read through miniredis's own API, which the pre-hook does not see.
func storeDump(t *testing.T, m *miniredis.Miniredis) string {
	t.Helper()
	db := m.DB(0)
	var b strings.Builder
	for _, k := range db.Keys() {
		fmt.Fprintf(&b, "%s %s ttl=%v: ", k, db.Type(k), db.TTL(k))
		switch db.Type(k) {
		case "string":
			v, _ := db.Get(k)
			b.WriteString(v)
		case "hash":
			fields, _ := db.HKeys(k)
			for _, f := range fields {
				fmt.Fprintf(&b, "%s=%s ", f, db.HGet(k, f))
			}
		case "list":
			l, _ := db.List(k)
			fmt.Fprint(&b, l)
		case "set":
			s, _ := db.Members(k)
			fmt.Fprint(&b, s)
		case "zset":
			z, _ := db.SortedSet(k)
			members := make([]string, 0, len(z))
			for m, sc := range z {
				members = append(members, fmt.Sprintf("%s:%v", m, sc))
			}
			slices.Sort(members)
			fmt.Fprint(&b, members)
		case "stream":
			s, _ := db.Stream(k)
			fmt.Fprint(&b, s)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// fill writes keys of every kind smsim uses into unit smsim:{name}.
func fill(t *testing.T, c *redis.Client, name string) {
	t.Helper()
	ctx := context.Background()
	p := "smsim:{" + name + "}:"
	pipe := c.Pipeline()
	pipe.Set(ctx, p+"code:123456", "1777600000000|f_1", 90*time.Second)
	pipe.HSet(ctx, p+"filing:f_1", "id", "f_1", "status", "pending_validation", "people", `{"entity_leader":{"name":"李雷"}}`, "empty", "")
	pipe.Expire(ctx, p+"filing:f_1", time.Hour)
	pipe.RPush(ctx, p+"journal", "first", "second", "")
	pipe.SAdd(ctx, p+"who:13800000001", "f_1", "f_2")
	pipe.ZAdd(ctx, p+"sched:due", redis.Z{Score: 1777600000000, Member: "000000000001|1777600000000|miit.sync|f_1"}, redis.Z{Score: -1.5, Member: "odd"})
	pipe.XAdd(ctx, &redis.XAddArgs{Stream: p + "events", ID: "1-1", Values: []string{"kind", "filing.submitted", "data", "{}"}})
	pipe.XAdd(ctx, &redis.XAddArgs{Stream: p + "events", ID: "2-0", Values: []string{"kind", "sms.sent", "data", "\x00\xff binary"}})
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
}

// A unit no command named for the idle period is packed: its keys leave
// miniredis; the first command that names one of them puts every key of
// the unit back as it was, TTLs run down by what passed meanwhile.
func TestHibernatePacksAUnitAndTheNextCommandUnpacksIt(t *testing.T) {
	mem, m, c, clock := hibernating(t)
	ctx := context.Background()
	fill(t, c, "a")
	fill(t, c, "b")
	m.Set("global", "kept") // no hash tag: never packed
	before := storeDump(t, m)

	if n := mem.Hibernate(time.Minute); n != 0 {
		t.Fatalf("the first look packed %d units, want none: each is first seen now", n)
	}
	clock.advance(59 * time.Second)
	if n := mem.Hibernate(time.Minute); n != 0 {
		t.Fatalf("packed %d units named within the idle period", n)
	}
	clock.advance(30 * time.Second)
	if err := c.Get(ctx, "smsim:{b}:code:123456").Err(); err != nil { // b is named again
		t.Fatal(err)
	}
	clock.advance(31 * time.Second)
	if n := mem.Hibernate(time.Minute); n != 1 {
		t.Fatalf("packed %d units, want 1 (a; b was named 31s ago)", n)
	}
	if units, size := mem.Packed(); units != 1 || size <= 0 || size > 1000 {
		t.Errorf("packed: %d units, %d bytes; want 1, under 1000", units, size)
	}
	for _, k := range m.DB(0).Keys() {
		if strings.HasPrefix(k, "smsim:{a}:") {
			t.Fatalf("key %s of the packed unit is still in miniredis", k)
		}
	}

	got, err := c.HGet(ctx, "smsim:{a}:filing:f_1", "people").Result()
	if err != nil || got != `{"entity_leader":{"name":"李雷"}}` {
		t.Fatalf("HGET of a packed unit's key: %q, %v", got, err)
	}
	if after := storeDump(t, m); after != before {
		t.Errorf("the store after unpacking:\n%s\nwant as before:\n%s", after, before)
	}
	if units, _ := mem.Packed(); units != 0 {
		t.Errorf("%d units still packed", units)
	}
}

// While packed, a unit's TTLs run down (Expire): a key whose TTL ran out
// is not put back, the others come back with what is left of theirs, and
// once every key's TTL has run out the blob goes.
func TestHibernatedKeysExpire(t *testing.T) {
	mem, m, c, clock := hibernating(t)
	ctx := context.Background()
	fill(t, c, "a")
	mem.Hibernate(time.Minute)
	clock.advance(time.Minute)
	if n := mem.Hibernate(time.Minute); n != 1 {
		t.Fatalf("packed %d units, want 1", n)
	}
	mem.Expire(2 * time.Minute) // the code (90s) has expired; the filing (1h) has not
	if n, err := c.Exists(ctx, "smsim:{a}:code:123456").Result(); err != nil || n != 0 {
		t.Errorf("EXISTS of a key that expired while packed: %d, %v; want 0", n, err)
	}
	if ttl := m.DB(0).TTL("smsim:{a}:filing:f_1"); ttl != 58*time.Minute {
		t.Errorf("TTL of the filing after unpacking: %v, want 58m", ttl)
	}
	if ttl := m.DB(0).TTL("smsim:{a}:journal"); ttl != 0 {
		t.Errorf("TTL of the journal: %v, want none", ttl)
	}

	// A unit whose every key has a TTL goes whole once they have run out.
	for _, k := range []string{"smsim:{a}:journal", "smsim:{a}:who:13800000001", "smsim:{a}:sched:due", "smsim:{a}:events"} {
		m.DB(0).SetTTL(k, 10*time.Minute)
	}
	clock.advance(time.Minute) // since the EXISTS named it
	if n := mem.Hibernate(time.Minute); n != 1 {
		t.Fatalf("packed %d units, want 1", n)
	}
	mem.Expire(57 * time.Minute)
	if units, _ := mem.Packed(); units != 1 {
		t.Errorf("%d units packed while the filing's TTL has a minute left, want 1", units)
	}
	mem.Expire(time.Minute)
	if units, _ := mem.Packed(); units != 0 {
		t.Errorf("%d units packed after every key's TTL ran out, want the blob gone", units)
	}
	if keys := m.DB(0).Keys(); len(keys) != 0 {
		t.Errorf("keys left: %q", keys)
	}
}

// A script's KEYS, a SCAN of the unit's pattern, a KEYS or DBSIZE of the
// whole database: each sees the packed keys; FLUSHALL drops them.
func TestHibernatedUnitsAreSeenByEveryRead(t *testing.T) {
	ctx := context.Background()
	pack := func(t *testing.T) (*Memory, *miniredis.Miniredis, *redis.Client) {
		mem, m, c, clock := hibernating(t)
		fill(t, c, "a")
		fill(t, c, "b")
		mem.Hibernate(time.Minute)
		clock.advance(time.Minute)
		if n := mem.Hibernate(time.Minute); n != 2 {
			t.Fatalf("packed %d units, want 2", n)
		}
		return mem, m, c
	}
	t.Run("script", func(t *testing.T) {
		_, _, c := pack(t)
		got, err := redis.NewScript(`return redis.call('HGET', KEYS[1], 'status')`).Run(ctx, c, []string{"smsim:{a}:filing:f_1"}).Text()
		if err != nil || got != "pending_validation" {
			t.Errorf("a script naming a packed key: %q, %v", got, err)
		}
	})
	t.Run("scan", func(t *testing.T) {
		mem, _, c := pack(t)
		keys, _, err := c.Scan(ctx, 0, "smsim:{a}:*", 1000).Result()
		if err != nil || len(keys) != 6 {
			t.Errorf("SCAN MATCH smsim:{a}:*: %q, %v; want its 6 keys", keys, err)
		}
		if units, _ := mem.Packed(); units != 1 {
			t.Errorf("%d units packed, want 1: b was not named", units)
		}
	})
	t.Run("keys", func(t *testing.T) {
		_, _, c := pack(t)
		if keys, err := c.Keys(ctx, "*").Result(); err != nil || len(keys) != 12 {
			t.Errorf("KEYS *: %d keys, %v; want 12", len(keys), err)
		}
	})
	t.Run("dbsize", func(t *testing.T) {
		_, _, c := pack(t)
		if n, err := c.DBSize(ctx).Result(); err != nil || n != 12 {
			t.Errorf("DBSIZE: %d, %v; want 12", n, err)
		}
	})
	t.Run("flushall", func(t *testing.T) {
		mem, m, c := pack(t)
		if err := c.FlushAll(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if units, _ := mem.Packed(); units != 0 {
			t.Errorf("%d units packed after FLUSHALL", units)
		}
		if err := c.Get(ctx, "smsim:{a}:code:123456").Err(); err != redis.Nil {
			t.Errorf("GET after FLUSHALL: %v, want nil", err)
		}
		if keys := m.DB(0).Keys(); len(keys) != 0 {
			t.Errorf("keys after FLUSHALL: %q", keys)
		}
	})
}

// A unit holding what a blob cannot keep — a stream's consumer groups —
// stays as it is.
func TestHibernateLeavesWhatItCannotPack(t *testing.T) {
	mem, _, c, clock := hibernating(t)
	ctx := context.Background()
	fill(t, c, "a")
	if err := c.XGroupCreate(ctx, "smsim:{a}:events", "hooks", "0").Err(); err != nil {
		t.Fatal(err)
	}
	mem.Hibernate(time.Minute)
	clock.advance(time.Minute)
	if n := mem.Hibernate(time.Minute); n != 0 {
		t.Errorf("packed %d units, want none: a stream of a has a consumer group", n)
	}
	mem.hib.mu.Lock()
	named := mem.hib.units[unitKey{0, "smsim:{a}"}].named
	mem.hib.mu.Unlock()
	if !named.Equal(clock.now()) {
		t.Errorf("a unit that could not be packed is tried again after %v, want after another idle period", clock.now().Sub(named)+time.Minute)
	}
}

// Units packed and unpacked while clients write to them lose no write:
// every command that names a packed unit unpacks it before it runs, and a
// unit named within the idle period is not packed.
func TestHibernateBesideWrites(t *testing.T) {
	mem, m, c, clock := hibernating(t)
	ctx := context.Background()
	const units, rounds, writes = 8, 20, 25
	for i := range units {
		fill(t, c, fmt.Sprint(i))
	}
	packed := 0
	for round := range rounds {
		// Every unit idle past the period; half of them written to while
		// the store packs.
		clock.advance(2 * time.Minute)
		var wg sync.WaitGroup
		for i := range units {
			if (i+round)%2 == 0 {
				continue
			}
			wg.Go(func() {
				for range writes {
					if err := c.HIncrBy(ctx, fmt.Sprintf("smsim:{%d}:filing:f_1", i), "n", 1).Err(); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		packed += mem.Hibernate(time.Minute)
		wg.Wait()
	}
	if packed < units {
		t.Errorf("packed %d times in %d rounds, want at least %d", packed, rounds, units)
	}
	for i := range units {
		k := fmt.Sprintf("smsim:{%d}:filing:f_1", i)
		if err := c.Exists(ctx, k).Err(); err != nil {
			t.Fatal(err)
		}
		if got, want := m.DB(0).HGet(k, "n"), fmt.Sprint(rounds/2*writes); got != want {
			t.Errorf("%s n = %s, want %s", k, got, want)
		}
	}
}
