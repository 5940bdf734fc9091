package redisstore

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// versions answers how many versions of keys miniredis keeps in database 0.
func versions(t *testing.T, mem *Memory) int {
	t.Helper()
	mem.m.Lock()
	defer mem.m.Unlock()
	db := reflect.ValueOf(mem.m).Elem().FieldByName("dbs").MapIndex(reflect.ValueOf(0))
	if !db.IsValid() {
		t.Fatal("miniredis has no database 0")
	}
	v := db.Elem().FieldByName("keyVersion")
	if v.Kind() != reflect.Map {
		t.Fatalf("miniredis's database has no map of versions (keyVersion): %s", v.Kind())
	}
	return v.Len()
}

// Expire forgets the versions of the keys gone, once they outnumber the
// keys there are, and keeps those of the keys there are: a WATCH of one
// still sees it written.
func TestExpireForgetsVersionsOfKeysGone(t *testing.T) {
	rdb, mem := memoryClient(t, 0)
	ctx := context.Background()
	for i := range 10 {
		if err := rdb.Set(ctx, fmt.Sprintf("live:%d", i), "x", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	write := func(from, n int) {
		if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := from; i < from+n; i++ {
				p.Set(ctx, fmt.Sprintf("gone:%d", i), "x", time.Minute)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	write(0, 500)
	mem.Expire(2 * time.Minute)
	if n := versions(t, mem); n != 510 {
		t.Fatalf("%d versions after 500 keys expired, fewer than the slack: want them kept, 510", n)
	}
	write(500, 2500)
	mem.Expire(2 * time.Minute)
	if n := versions(t, mem); n != 10 {
		t.Fatalf("%d versions after 3000 keys expired, want those of the 10 keys there are", n)
	}
	if n, _ := rdb.DBSize(ctx).Result(); n != 10 {
		t.Fatalf("%d keys, want the 10 without a TTL", n)
	}

	other := redis.NewClient(&redis.Options{Dialer: mem.Dial})
	defer other.Close()
	err := rdb.Watch(ctx, func(tx *redis.Tx) error {
		if err := other.Set(ctx, "live:3", "changed", 0).Err(); err != nil {
			return err
		}
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "live:3", "mine", 0)
			return nil
		})
		return err
	}, "live:3")
	if !errors.Is(err, redis.TxFailedErr) {
		t.Fatalf("a WATCH of a key written by another client before EXEC: %v, want %v", err, redis.TxFailedErr)
	}
}

// A value that is not miniredis's databases is left alone.
func TestForgetVersionsOfNoDatabases(t *testing.T) {
	if n := forgetVersions(reflect.Value{}, 0); n != 0 {
		t.Fatal(n)
	}
	if n := forgetVersions(reflect.ValueOf(map[int]string{0: "x"}), 0); n != 0 {
		t.Fatal(n)
	}
}

// mapOf answers the address of the map field name of miniredis's
// database 0: it changes when the map is made anew.
func mapOf(t *testing.T, mem *Memory, name string) uintptr {
	t.Helper()
	mem.m.Lock()
	defer mem.m.Unlock()
	f := reflect.ValueOf(mem.m).Elem().FieldByName("dbs").MapIndex(reflect.ValueOf(0)).Elem().FieldByName(name)
	if f.Kind() != reflect.Map {
		t.Fatalf("miniredis's database has no map %s", name)
	}
	return f.Pointer()
}

// Once a database holds under a quarter of the keys it held at most,
// Expire makes miniredis's maps anew, at their size, holding what they
// held: the keys left, their values, TTLs and versions.
func TestExpireRemakesMapsLeftMostlyEmpty(t *testing.T) {
	rdb, mem := memoryClient(t, 0)
	ctx := context.Background()
	if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range 2000 {
			p.HSet(ctx, fmt.Sprintf("k:%d", i), "f", i)
			p.Expire(ctx, fmt.Sprintf("k:%d", i), time.Hour)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	mem.Expire(0)
	keys, hashes := mapOf(t, mem, "keys"), mapOf(t, mem, "hashKeys")
	del := func(from, to int) {
		for i := from; i < to; i++ {
			if err := rdb.Del(ctx, fmt.Sprintf("k:%d", i)).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	del(0, 1400) // 600 left: more than a quarter
	mem.Expire(0)
	if mapOf(t, mem, "keys") != keys {
		t.Fatal("the maps were made anew while the database held more than a quarter of its most")
	}
	del(1400, 1600) // 400 left
	mem.Expire(time.Minute)
	if mapOf(t, mem, "keys") == keys || mapOf(t, mem, "hashKeys") == hashes {
		t.Fatal("the maps were not made anew with a fifth of the keys left")
	}
	for _, i := range []int{1600, 1777, 1999} {
		k := fmt.Sprintf("k:%d", i)
		if v, err := rdb.HGet(ctx, k, "f").Result(); err != nil || v != fmt.Sprint(i) {
			t.Errorf("HGET %s f: %q, %v", k, v, err)
		}
		if ttl := mem.m.TTL(k); ttl != 59*time.Minute {
			t.Errorf("TTL %s: %v, want 59m", k, ttl)
		}
	}
	if n := versions(t, mem); n != 400 {
		t.Errorf("%d versions, want those of the 400 keys left", n)
	}
}

// The store's TTLs run down as miniredis's FastForward runs them, without
// its sort of every key: the same keys expire, in every database, and the
// rest keep the same TTLs.
func TestExpireAsMiniredis(t *testing.T) {
	fill := func(m *miniredis.Miniredis) {
		for db := range 3 {
			d := m.DB(db)
			for i := range 40 {
				k := fmt.Sprintf("k%d", i)
				switch i % 4 {
				case 0:
					d.Set(k, "v")
				case 1:
					d.HSet(k, "f", "v")
				case 2:
					d.SetAdd(k, "m")
				case 3:
					d.Push(k, "e")
				}
				if i%5 != 0 { // some keep no TTL
					d.SetTTL(k, time.Duration(i%7+1)*time.Second)
				}
			}
		}
	}
	state := func(m *miniredis.Miniredis) string {
		var b strings.Builder
		for db := range 3 {
			d := m.DB(db)
			for _, k := range d.Keys() {
				fmt.Fprintf(&b, "%d %s %s %v\n", db, k, d.Type(k), d.TTL(k))
			}
		}
		return b.String()
	}
	mine := miniredis.NewMiniRedis()
	mem, err := NewMemory(mine)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	theirs := miniredis.NewMiniRedis()
	fill(mine)
	fill(theirs)
	for _, d := range []time.Duration{1500 * time.Millisecond, 3 * time.Second, 10 * time.Second} {
		if !mem.expireTTLs(d) {
			t.Fatal("the store's TTLs were left to miniredis's walk")
		}
		theirs.FastForward(d)
		if got, want := state(mine), state(theirs); got != want {
			t.Fatalf("after %v:\n%s\nminiredis:\n%s", d, got, want)
		}
	}
	if n := len(mine.DB(0).Keys()); n != 8 {
		t.Errorf("database 0 holds %d keys at the end, want the 8 without a TTL", n)
	}
}

// A hash with a field of its own TTL (HEXPIRE, which smsim does not use)
// leaves the TTLs to miniredis's walk, which runs them down too.
func TestExpireOfHashFieldsIsMiniredis(t *testing.T) {
	rdb, mem := memoryClient(t, 0)
	ctx := context.Background()
	if err := rdb.HSet(ctx, "h", "a", "1", "b", "2").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Do(ctx, "HEXPIRE", "h", "5", "FIELDS", "1", "a").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, "s", "v", time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	if mem.expireTTLs(0) {
		t.Fatal("a hash field's TTL was not left to miniredis")
	}
	mem.Expire(10 * time.Second)
	if got, err := rdb.HGetAll(ctx, "h").Result(); err != nil || fmt.Sprint(got) != "map[b:2]" {
		t.Errorf("the hash after its field's TTL: %v (%v), want map[b:2]", got, err)
	}
	if n, err := rdb.Exists(ctx, "s").Result(); err != nil || n != 0 {
		t.Errorf("a key whose TTL ran out is still there (%d, %v)", n, err)
	}
}

// BenchmarkExpire is one run of the store's TTLs over 400,000 keys, 300,000
// of them with a TTL that does not run out, by miniredis's walk and by the
// store's, in the same run.
func BenchmarkExpire(b *testing.B) {
	for _, walk := range []string{"miniredis", "store"} {
		b.Run("walk="+walk, func(b *testing.B) {
			m := miniredis.NewMiniRedis()
			mem, err := NewMemory(m)
			if err != nil {
				b.Fatal(err)
			}
			defer mem.Close()
			for i := range 400_000 {
				k := fmt.Sprintf("smsim:{default}:msg:m_%016x", i)
				m.HSet(k, "id", "x", "status", "delivered")
				if i%4 != 0 {
					m.SetTTL(k, 1000*time.Hour)
				}
			}
			for b.Loop() {
				if walk == "miniredis" {
					m.FastForward(time.Millisecond)
				} else if !mem.expireTTLs(time.Millisecond) {
					b.Fatal("left to miniredis")
				}
			}
		})
	}
}
