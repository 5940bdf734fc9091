package redisstore

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

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
