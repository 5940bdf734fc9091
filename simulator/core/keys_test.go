package core_test

import (
	"context"
	"flag"
	"math"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

var update = flag.Bool("update", false, "rewrite the table of KEYS.md from the registry")

const (
	tableBegin = "<!-- the table is core.KeyDefs (keys.go); go test ./simulator/core -run TestKeysDoc -update writes it -->\n"
	tableEnd   = "<!-- end of the table -->\n"
)

// keysTable is the registry as a Markdown table.
func keysTable() string {
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	var b strings.Builder
	b.WriteString("| key | type | written by | lives |\n|---|---|---|---|\n")
	for _, d := range core.KeyDefs() {
		b.WriteString("| `" + cell(d.Pattern()) + "` | " + d.Type + " | " + cell(d.Writer) + " | " + cell(d.Lifetime) + " |\n")
	}
	return b.String()
}

// KEYS.md documents the registry: its table lists exactly the registry's
// keys, as the registry describes them.
func TestKeysDocIsTheRegistry(t *testing.T) {
	b, err := os.ReadFile("KEYS.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, tableBegin), strings.Index(doc, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("KEYS.md: no table between %q and %q", tableBegin, tableEnd)
	}
	want := keysTable()
	if got := doc[i+len(tableBegin) : j]; got != want {
		if *update {
			if err := os.WriteFile("KEYS.md", []byte(doc[:i+len(tableBegin)]+want+doc[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("the table of KEYS.md is not the registry's (run go test ./simulator/core -run TestKeysDoc -update):\n%s\nwant\n%s", got, want)
	}
}

// Every key a Keyspace builds is in the registry, and every key of a
// namespace in the registry has its function; each builds its pattern.
func TestEveryKeyHasItsFunction(t *testing.T) {
	ks := core.Keyspace{Prefix: "<prefix>", Namespace: "<ns>"}
	placeholder := regexp.MustCompile(`<[a-z]+>`)
	var built []string
	v := reflect.ValueOf(ks)
	for i := range v.NumMethod() {
		m := v.Type().Method(i)
		if m.Name == "Pattern" || m.Name == "Key" || m.Name == "LongLived" {
			continue // the whole keyspace, for SCAN; a key from its parts; keys of the registry
		}
		if m.Type.NumOut() != 1 || m.Type.Out(0).Kind() != reflect.String {
			t.Errorf("Keyspace.%s answers %v, want a key", m.Name, m.Type)
			continue
		}
		in := make([]reflect.Value, m.Type.NumIn()-1)
		for j := range in {
			in[j] = reflect.ValueOf("<x>")
		}
		built = append(built, placeholder.ReplaceAllString(v.Method(i).Call(in)[0].String(), "<x>"))
	}
	for _, k := range []string{core.NamespacesKey("<prefix>"), core.WebhookedKey("<prefix>"), core.ChangesChannel("<prefix>"), core.LibrariesKey} {
		built = append(built, placeholder.ReplaceAllString(k, "<x>"))
	}
	var registered []string
	for _, d := range core.KeyDefs() {
		registered = append(registered, placeholder.ReplaceAllString(d.Pattern(), "<x>"))
	}
	slices.Sort(built)
	slices.Sort(registered)
	if !slices.Equal(built, registered) {
		t.Errorf("the functions build\n%q\nthe registry lists\n%q", built, registered)
	}
	for _, d := range core.KeyDefs() {
		switch d.Type {
		case "string", "hash", "list", "set", "zset", "stream", "channel": // a channel: Pub/Sub, nothing stored
		default:
			t.Errorf("%s: type %q", d.Name, d.Type)
		}
		if d.Writer == "" || d.Lifetime == "" {
			t.Errorf("%s: say who writes it and how long it lives", d.Name)
		}
	}
}

// Each key function fills its key's placeholders with its arguments in
// order, under the prefix and the namespace, and builds the key in one
// allocation: a request builds a dozen of them.
func TestKeysAreBuiltInOrderInOneAllocation(t *testing.T) {
	ks := core.Keyspace{Prefix: "smsim", Namespace: "ci-42"}
	placeholder := regexp.MustCompile(`<[a-z]+>`)
	byPattern := map[string]core.KeyDef{}
	for _, d := range core.KeyDefs() {
		byPattern[placeholder.ReplaceAllString(d.Name, "<>")] = d
	}
	v := reflect.ValueOf(ks)
	for i := range v.NumMethod() {
		m := v.Type().Method(i)
		if m.Name == "Pattern" || m.Name == "Key" || m.Name == "LongLived" {
			continue
		}
		in := make([]reflect.Value, m.Type.NumIn()-1)
		args := make([]string, len(in))
		for j := range in {
			args[j] = "arg" + string(rune('1'+j))
			in[j] = reflect.ValueOf(args[j])
		}
		call := func() string { return v.Method(i).Call(in)[0].String() }
		got := call()
		name, ok := strings.CutPrefix(got, "smsim:{ci-42}:")
		if !ok {
			t.Errorf("Keyspace.%s = %q, want it under smsim:{ci-42}:", m.Name, got)
			continue
		}
		pattern := name
		for _, a := range args {
			pattern = strings.Replace(pattern, a, "<>", 1)
		}
		d, ok := byPattern[pattern]
		if !ok {
			t.Errorf("Keyspace.%s = %q: no key of the registry", m.Name, got)
			continue
		}
		want := d.Name
		for _, a := range args {
			want = strings.Replace(want, placeholder.FindString(want), a, 1)
		}
		if name != want {
			t.Errorf("Keyspace.%s = %q, want smsim:{ci-42}:%s", m.Name, got, want)
		}
	}
	filing := func() { _ = ks.Filing("f_0123456789abcdef") }
	code := func() { _ = ks.Code("123456") }
	for name, f := range map[string]func(){"Filing": filing, "Code": code, "Clock": func() { _ = ks.Clock() }} {
		if n := testing.AllocsPerRun(100, f); n != 1 {
			t.Errorf("Keyspace.%s makes %v allocations, want 1", name, n)
		}
	}
}

// A store written before the count of orders by status had a key of its
// own: the count moves there, added to what is there already, and the
// sequence numbers stay.
func TestUpgradeMovesTheCountOfOrders(t *testing.T) {
	ctx := context.Background()
	srv := testkit.StartRedis(t)
	rdb := srv.Client(t)
	ks := core.Keyspace{Prefix: srv.Prefix, Namespace: core.DefaultNamespace}
	if err := rdb.HSet(ctx, ks.Seq(), "job", "41", "filing", "3", "orders:unknown", "1", "orders:pending_validation", "2").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(ctx, ks.FilingsByStatus(), "pending_validation", "-1", "canceled", "1").Err(); err != nil {
		t.Fatal(err)
	}
	for range 2 { // once, and again with nothing left to move
		if err := core.UpgradeStore(ctx, rdb, ks, core.Bounds{}); err != nil {
			t.Fatal(err)
		}
	}
	seq, _ := rdb.HGetAll(ctx, ks.Seq()).Result()
	if !reflect.DeepEqual(seq, map[string]string{"job": "41", "filing": "3", "codes_indexed": "1"}) {
		t.Errorf("seq holds %v after the upgrade, want the sequence numbers, and the codes noted listed", seq)
	}
	counts, _ := rdb.HGetAll(ctx, ks.FilingsByStatus()).Result()
	if !reflect.DeepEqual(counts, map[string]string{"unknown": "1", "pending_validation": "1", "canceled": "1"}) {
		t.Errorf("filings:by_status holds %v after the upgrade", counts)
	}
}

// A store written before each live code had a key of its own: the codes of
// the set move to their keys, live until an order frees them, kept as long
// as anything under way; the set goes.
func TestUpgradeMovesTheCodes(t *testing.T) {
	ctx := context.Background()
	srv := testkit.StartRedis(t)
	rdb := srv.Client(t)
	ks := core.Keyspace{Prefix: srv.Prefix, Namespace: core.DefaultNamespace}
	legacy := ks.Key("codes")
	if err := rdb.SAdd(ctx, legacy, "123456", "654321").Err(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := core.UpgradeStore(ctx, rdb, ks, core.Bounds{Live: time.Hour.Milliseconds()}); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := rdb.Exists(ctx, legacy).Result(); n != 0 {
		t.Errorf("the set of codes is still there after the upgrade")
	}
	for _, c := range []string{"123456", "654321"} {
		if v, err := rdb.Get(ctx, ks.Code(c)).Result(); err != nil || v != "|" {
			t.Errorf("code %s: %q, %v; want %q", c, v, err, "|")
		}
		if ttl, _ := rdb.PTTL(ctx, ks.Code(c)).Result(); ttl <= 59*time.Minute || ttl > time.Hour {
			t.Errorf("code %s lives %s, want an hour", c, ttl)
		}
	}
	if live := liveCodes(t, rdb, ks); !reflect.DeepEqual(live, map[string]float64{"123456": math.Inf(1), "654321": math.Inf(1)}) {
		t.Errorf("the live codes after the upgrade: %v, want both, of no deadline", live)
	}
}

// liveCodes answers the list of live codes of ks, each with its score.
func liveCodes(t *testing.T, rdb redis.UniversalClient, ks core.Keyspace) map[string]float64 {
	t.Helper()
	zs, err := rdb.ZRangeWithScores(context.Background(), ks.CodesByDeadline(), 0, -1).Result()
	if err != nil {
		t.Fatalf("the live codes: %v", err)
	}
	out := map[string]float64{}
	for _, z := range zs {
		out[z.Member.(string)] = z.Score
	}
	return out
}

// A store written before the live codes were listed apart, each with a key
// of its own: the upgrade lists them, each by its deadline (of none, when
// the key does not say one), once — it notes it done, and does not read the
// database again. A code whose key holds something else is listed too, as
// live until freed, as miit's scripts read it.
func TestUpgradeListsTheLiveCodes(t *testing.T) {
	ctx := context.Background()
	srv := testkit.StartRedis(t)
	rdb := srv.Client(t)
	reads := testkit.CountKeyReads(t, rdb)
	ks := core.Keyspace{Prefix: srv.Prefix, Namespace: core.DefaultNamespace}
	other := core.Keyspace{Prefix: srv.Prefix, Namespace: "other"}
	if err := rdb.HSet(ctx, ks.Seq(), "job", "7", "filing", "2").Err(); err != nil {
		t.Fatal(err)
	}
	for code, v := range map[string]string{"111111": "1790000000000|f_1", "222222": "|", "333333": "1790000001000|f_2"} {
		if err := rdb.Set(ctx, ks.Code(code), v, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rdb.Set(ctx, other.Code("444444"), "1790000000000|f_3", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if err := core.UpgradeStore(ctx, rdb, ks, core.Bounds{}); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"111111": 1790000000000, "222222": math.Inf(1), "333333": 1790000001000}
	if live := liveCodes(t, rdb, ks); !reflect.DeepEqual(live, want) {
		t.Errorf("the live codes after the upgrade: %v, want %v", live, want)
	}
	if n, _ := reads.Take(); n == 0 {
		t.Errorf("the upgrade listed the codes without reading the database")
	}
	if v, _ := rdb.HGet(ctx, ks.Seq(), "codes_indexed").Result(); v != "1" {
		t.Errorf("seq's codes_indexed is %q after the upgrade, want 1", v)
	}
	if err := core.UpgradeStore(ctx, rdb, ks, core.Bounds{}); err != nil {
		t.Fatal(err)
	}
	if n, detail := reads.Take(); n != 0 {
		t.Errorf("a second upgrade read the keys %d times (%s), want none", n, detail)
	}
	if live := liveCodes(t, rdb, ks); !reflect.DeepEqual(live, want) {
		t.Errorf("the live codes after a second upgrade: %v, want %v", live, want)
	}
}

// A new namespace has no codes to list: its upgrade notes them listed
// without reading the database.
func TestUpgradeOfANewNamespaceReadsNoDatabase(t *testing.T) {
	ctx := context.Background()
	srv := testkit.StartRedis(t)
	rdb := srv.Client(t)
	reads := testkit.CountKeyReads(t, rdb)
	ks := core.Keyspace{Prefix: srv.Prefix, Namespace: "fresh"}
	if err := core.UpgradeStore(ctx, rdb, ks, core.Bounds{}); err != nil {
		t.Fatal(err)
	}
	if n, detail := reads.Take(); n != 0 {
		t.Errorf("the upgrade of a new namespace read the keys %d times (%s), want none", n, detail)
	}
	if v, _ := rdb.HGet(ctx, ks.Seq(), "codes_indexed").Result(); v != "1" {
		t.Errorf("seq's codes_indexed is %q after the upgrade of a new namespace, want 1", v)
	}
}

// A store written before the numbers a namespace knows were a sorted set
// held them in a set: they become the sorted set, each as written to at
// the upgrade.
func TestUpgradeTurnsTheSetOfPhonesIntoASortedSet(t *testing.T) {
	ctx := context.Background()
	srv := testkit.StartRedis(t)
	rdb := srv.Client(t)
	ks := core.Keyspace{Prefix: srv.Prefix, Namespace: core.DefaultNamespace}
	if err := rdb.SAdd(ctx, ks.Phones(), "13800000001", "13800000002").Err(); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second).UnixMilli()
	for range 2 { // once, and again with nothing left to change
		if err := core.UpgradeStore(ctx, rdb, ks, core.Bounds{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := rdb.ZRangeWithScores(ctx, ks.Phones(), 0, -1).Result()
	if err != nil {
		t.Fatalf("the phones after the upgrade: %v", err)
	}
	if len(got) != 2 || got[0].Member != "13800000001" || got[1].Member != "13800000002" {
		t.Fatalf("the phones after the upgrade: %v", got)
	}
	for _, z := range got {
		if int64(z.Score) < before || int64(z.Score) > time.Now().Add(time.Second).UnixMilli() {
			t.Errorf("%v written to at %d ms, want about now (%d)", z.Member, int64(z.Score), time.Now().UnixMilli())
		}
	}
}

// The long-lived keys are those of the namespace as a whole that the
// registry marks so.
func TestLongLivedKeys(t *testing.T) {
	ks := core.Keyspace{Prefix: "p", Namespace: "ns"}
	want := []string{ks.Clock(), ks.Faults(), ks.Events(), ks.Seq(), ks.SchedDue(), ks.SchedInflight(), ks.SchedDead(),
		ks.Filings(), ks.FilingsByStatus(), ks.CodesByDeadline(), ks.APICalls(), ks.Phones(), ks.Throttles(),
		ks.Webhooks(), ks.WebhookRetries(), ks.WebhookInflight()}
	if got := ks.LongLived(); !slices.Equal(got, want) {
		t.Errorf("long-lived keys\n%q\nwant\n%q", got, want)
	}
}
