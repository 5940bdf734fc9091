package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"smsim/miit"
	"smsim/simulator/core"
	"smsim/simulator/core/redisstore"
)

// Every key of a namespace lies in one slot — the namespace, in braces, is
// the hash tag of its keys — so that each script and transaction runs on
// one shard of a Redis Cluster, and the namespaces spread over its masters:
// on a cluster (SMSIM_TEST_REDIS_URL=redis+cluster://…) the keys of each
// namespace are all on one master, and those of the eight namespaces here
// on more than one. A namespace's whole flow — an order, its notices, the
// sync, its codes on the phones, a validation — writes them.
func TestNamespaceIsOneSlot(t *testing.T) {
	e := newEnv(t)
	names := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"}
	for i, ns := range names {
		in := e.in(ns)
		in.fixedLags("0s", "0s")
		phone := fmt.Sprintf("1380000%04d", i)
		in.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
		wantValidation(t, in.validate(in.code(phone), phone, leaderCert), miit.ResultComplete, false)
	}
	for key, want := range map[string]int{"foo": 12182, "smsim:{default}:clock": 5718, "a{}b{c}": 7353} { // CLUSTER KEYSLOT's
		if got := slot(key); got != want {
			t.Fatalf("slot(%q) = %d, want %d", key, got, want)
		}
	}
	ctx := context.Background()
	masters, err := redisstore.Masters(ctx, e.rdb)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{} // the masters holding a namespace
	for _, ns := range names {
		pattern := core.Keyspace{Prefix: e.redis.Prefix, Namespace: ns}.Pattern()
		var mu sync.Mutex
		on := map[string][]string{} // master → the namespace's keys it holds
		err := redisstore.ForEachMaster(ctx, e.rdb, func(ctx context.Context, m *redis.Client) error {
			keys, err := m.Keys(ctx, pattern).Result()
			mu.Lock()
			defer mu.Unlock()
			if len(keys) > 0 {
				on[m.Options().Addr] = keys
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(on) != 1 {
			t.Errorf("namespace %s: its keys are on %d masters, want 1: %v", ns, len(on), on)
		}
		for addr, keys := range on {
			used[addr] = true
			if len(keys) < 10 {
				t.Errorf("namespace %s: %d keys, want at least 10: %q", ns, len(keys), keys)
			}
			want := slot("{" + ns + "}")
			for _, k := range keys {
				if s := slot(k); s != want {
					t.Errorf("namespace %s: key %s is in slot %d, want %d", ns, k, s, want)
				}
			}
		}
	}
	if want := min(len(masters), 2); len(used) < want {
		t.Errorf("the namespaces are on %d masters of %d, want at least %d", len(used), len(masters), want)
	}
}

// slot is the Redis Cluster slot of key: CRC16 (XMODEM) of its hash tag —
// what lies between its first { and the first } after it, when not empty —
// or of the whole key, modulo 16384.
func slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for _, b := range []byte(key) {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}
