package core

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core/testkit"
)

// A pattern is looked up in one slot of a cluster only when every key it
// matches starts with a plain prefix that holds a hash tag: a cluster
// hashes such a key by the tag alone.
func TestTaggedPrefix(t *testing.T) {
	for _, c := range []struct{ pattern, prefix, tag string }{
		{"smsim:{default}:*", "smsim:{default}:", "{default}"},
		{"smsim:{load-1}:code:*", "smsim:{load-1}:code:", "{load-1}"},
		{"a{b}{c}:*", "a{b}{c}:", "{b}"},   // the first { and the first } after it
		{"smsim:{}:{ns}:*", "", ""},        // an empty tag hashes the whole key
		{"smsim:{ns:*", "", ""},            // no } after the {
		{"smsim:*", "", ""},                // no tag
		{"smsim:{ns}:code:?23456", "", ""}, // not a prefix and a *
		{"smsim:{ns}:code:[0-9]*", "", ""}, // a wildcard in the prefix
		{"smsim:{n*}:*", "", ""},           // in the tag
		{"smsim:{ns}:key", "", ""},         // no * at all
		{`smsim:{ns}:\*`, "", ""},          // an escaped *
	} {
		prefix, tag, ok := taggedPrefix(c.pattern)
		if ok != (c.tag != "") || prefix != c.prefix || tag != c.tag {
			t.Errorf("taggedPrefix(%q) = %q, %q, %v; want %q, %q, %v", c.pattern, prefix, tag, ok, c.prefix, c.tag, c.tag != "")
		}
	}
}

// ScanKeys hands on every key of a namespace, in batches, and no key of
// another namespace or of another prefix under the same hash tag, on every
// store. On a cluster it reads the namespace's slot (CLUSTER
// GETKEYSINSLOT), or, from a slot too full to read at once, SCANs the
// slot's master.
func TestScanKeysOfANamespace(t *testing.T) {
	ctx := context.Background()
	srv := testkit.StartRedis(t)
	rdb := srv.Client(t)
	_, cluster := rdb.(*redis.ClusterClient)
	ks := Keyspace{Prefix: srv.Prefix, Namespace: "scanned"}
	var want []string
	p := rdb.Pipeline()
	for i := range 30 {
		k := ks.Key("k", strconv.Itoa(i))
		want = append(want, k)
		p.Set(ctx, k, "x", time.Hour)
		p.Set(ctx, fmt.Sprintf("%s-other:{%s}:k:%d", ks.Prefix, ks.Namespace, i), "x", time.Hour) // the same slot
		p.Set(ctx, Keyspace{Prefix: srv.Prefix, Namespace: "other"}.Key("k", strconv.Itoa(i)), "x", time.Hour)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	reads := testkit.CountKeyReads(t, rdb)
	defer func(most int) { slotReadMost = most }(slotReadMost)
	for _, c := range []struct {
		most int
		read string // what a cluster reads the keys by
	}{{slotReadMost, "cluster getkeysinslot:1"}, {40, "scan:"}} {
		slotReadMost = c.most
		var got []string
		err := ScanKeys(ctx, rdb, ks.Pattern(), 7, func(_ context.Context, _ redis.Cmdable, keys []string) error {
			if len(keys) > 7 {
				t.Errorf("a batch of %d keys, want at most 7", len(keys))
			}
			got = append(got, keys...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("a slot read at most %d keys at once: ScanKeys handed on %v, want %v", c.most, got, want)
		}
		if _, detail := reads.Take(); cluster && !strings.Contains(detail, c.read) {
			t.Errorf("a slot read at most %d keys at once: the keys were read by %s, want %s", c.most, detail, c.read)
		}
	}
}
