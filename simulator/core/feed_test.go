package core_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"weak"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

// A watcher gets what is written after it started watching, live, and
// nothing from before it (but what was written just before); a watcher that
// comes back after everyone left gets what comes after its return.
func TestFeedStartsAtTheNewestEventWhenWatched(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log, f := newFeed(t, nil)
	f.Start(ctx)
	defer f.Stop()
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	emit := func(kind string) {
		t.Helper()
		if err := log.Emit(ctx, at, kind, map[string]any{}); err != nil {
			t.Fatal(err)
		}
	}
	next := func(w *core.Watcher) core.Record {
		t.Helper()
		select {
		case r := <-w.C:
			return r.Record
		case <-time.After(5 * time.Second):
			t.Fatal("no event came")
		}
		return core.Record{}
	}
	emit("before")
	w, err := f.Watch(ctx, "", 0)
	if err != nil {
		t.Fatalf("watch refused: %v", err)
	}
	emit("during")
	r := next(w)
	if r.Kind == "before" {
		// written just before the watch: it may reach it (on a Redis
		// Cluster, a publication reaches the other nodes a moment later)
		r = next(w)
	}
	if r.Kind != "during" {
		t.Fatalf("first event %q, want the one written after watching", r.Kind)
	}
	w.Close()
	emit("while away")
	w2, _ := f.Watch(ctx, "", 0)
	defer w2.Close()
	emit("back")
	// An event written just before a watch may reach it too (callers that
	// also read the store skip what they saw); nothing older does.
	r = next(w2)
	if r.Kind == "while away" {
		r = next(w2)
	}
	if r.Kind != "back" {
		t.Fatalf("event after coming back %q, want %q", r.Kind, "back")
	}
}

// Watchers of a key get the events of that key only; watchers of no key
// get every event; a watcher that does not keep up is dropped once its
// buffer is full, and the others go on.
func TestFeedByKey(t *testing.T) {
	ctx := t.Context()
	keyOf := func(l *core.Live) string {
		var d struct{ Phone string }
		json.Unmarshal(l.Data, &d)
		return d.Phone
	}
	log, f := newFeed(t, keyOf)
	f.Start(ctx)
	defer f.Stop()
	all, _ := f.Watch(ctx, "", 0)
	a, _ := f.Watch(ctx, "a", 0)
	b, _ := f.Watch(ctx, "b", 0)
	slow, _ := f.Watch(ctx, "a", 2)
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, phone := range []string{"a", "b", "", "a", "a"} {
		if err := log.Emit(ctx, at, "k", map[string]any{"phone": phone}); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing reads the slow watcher until the feed has dropped it: read
	// before, its buffer could make room for the third event of a.
	testkit.WaitFor(t, "the slow watcher to be dropped", slow.Slow)
	read := func(w *core.Watcher, n int) []string {
		t.Helper()
		var out []string
		for range n {
			select {
			case r, ok := <-w.C:
				if !ok {
					t.Fatalf("watcher closed after %v", out)
				}
				out = append(out, keyOf(r))
			case <-time.After(5 * time.Second):
				t.Fatalf("no event after %v", out)
			}
		}
		return out
	}
	if got := read(all, 5); !slices.Equal(got, []string{"a", "b", "", "a", "a"}) {
		t.Fatalf("the watcher of every event got %v", got)
	}
	if got := read(a, 3); !slices.Equal(got, []string{"a", "a", "a"}) {
		t.Fatalf("the watcher of a got %v", got)
	}
	if got := read(b, 1); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("the watcher of b got %v", got)
	}
	n := 0
	for dropped := false; !dropped; {
		select {
		case _, ok := <-slow.C:
			if ok {
				n++
			}
			dropped = !ok
		case <-time.After(5 * time.Second):
			t.Fatalf("the slow watcher, %d events read, was not dropped", n)
		}
	}
	if n != 2 {
		t.Fatalf("the slow watcher read %d events before it was dropped, want its buffer of 2", n)
	}
	slow.Close() // closing a dropped watcher is harmless
	for _, w := range []*core.Watcher{all, a, b} {
		select {
		case r, ok := <-w.C:
			t.Fatalf("an extra event %v (open %v)", r, ok)
		default:
		}
	}
}

// A stopped feed refuses watchers and has closed those it had.
func TestFeedStopped(t *testing.T) {
	ctx := t.Context()
	_, f := newFeed(t, nil)
	if _, err := f.Watch(ctx, "", 0); err != core.ErrStopped {
		t.Fatalf("a feed never started: %v, want %v", err, core.ErrStopped)
	}
	f.Start(ctx)
	w, err := f.Watch(ctx, "", 0)
	if err != nil {
		t.Fatalf("a started feed refused a watcher: %v", err)
	}
	f.Stop()
	if _, open := <-w.C; open {
		t.Fatal("the watcher of a stopped feed is still open")
	}
	if _, err := f.Watch(ctx, "", 0); err != core.ErrStopped {
		t.Fatalf("a stopped feed: %v, want %v", err, core.ErrStopped)
	}
}

// Every watcher of a key is handed the same event, and what they make of
// it (a phone's frame) is made once for all of them.
func TestFeedSharesWhatWatchersMakeOfAnEvent(t *testing.T) {
	ctx := t.Context()
	log, f := newFeed(t, func(*core.Live) string { return "k" })
	f.Start(ctx)
	defer f.Stop()
	var ws []*core.Watcher
	for range 10 {
		w, _ := f.Watch(ctx, "k", 4)
		ws = append(ws, w)
	}
	if err := log.Emit(ctx, time.Now(), "k", map[string]any{"n": 1}); err != nil {
		t.Fatal(err)
	}
	made := 0
	var first *core.Live
	for _, w := range ws {
		select {
		case l := <-w.C:
			if first == nil {
				first = l
			} else if l != first {
				t.Fatal("two watchers were handed two copies of one event")
			}
			if got := l.Memo(memoKey("a"), func(*core.Live) any { made++; return "frame" }); got != "frame" {
				t.Fatalf("memo %v", got)
			}
			if got := l.Memo(memoKey("b"), func(*core.Live) any { made++; return "wire" }); got != "wire" {
				t.Fatalf("memo of another key %v", got)
			}
			if string(l.JSON()) != string(first.JSON()) || !strings.Contains(string(l.JSON()), `"kind":"k"`) {
				t.Fatalf("JSON %s", l.JSON())
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no event")
		}
	}
	if made != 2 {
		t.Fatalf("the frame and the wire were made %d times for 10 watchers, want once each", made)
	}
}

// memoKey is the key of what TestFeedSharesWhatWatchersMakeOfAnEvent's
// watchers make of an event.
type memoKey string

// newFeed answers the event log of a namespace on the test's store and its
// feed, not started yet, its events keyed by keyOf (nil: none).
func newFeed(t *testing.T, keyOf func(*core.Live) string) (*core.EventLog, *core.Feed) {
	t.Helper()
	srv := testkit.StartRedis(t)
	log := core.NewEventLog(srv.Client(t), core.Keyspace{Prefix: srv.Prefix, Namespace: "default"})
	return log, core.NewFeed(log, startSubscriber(t, srv), slog.New(slog.DiscardHandler), keyOf)
}

// startSubscriber runs a subscriber on the test's store until the test ends.
func startSubscriber(t *testing.T, srv *testkit.Redis) *core.Subscriber {
	t.Helper()
	sub := core.NewSubscriber(srv.Client(t), slog.New(slog.DiscardHandler), 0)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sub.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	return sub
}

// A watcher of Queue is told when an event comes to its empty queue, not
// for each event; it takes them in order with Next; one that falls more
// than its queue behind is dropped, told once more, and ends once it took
// what waited. Its queue holds nothing while it keeps up.
func TestFeedQueue(t *testing.T) {
	ctx := t.Context()
	log, f := newFeed(t, nil)
	f.Start(ctx)
	defer f.Stop()
	told := make(chan struct{}, 100)
	w, err := f.Queue(ctx, "", 3, func() { told <- struct{}{} })
	if err != nil {
		t.Fatalf("queue refused: %v", err)
	}
	defer w.Close()
	if l, ended := w.Next(); l != nil || ended || w.Pending() {
		t.Fatalf("a new watcher: Next %v %v, Pending %v", l, ended, w.Pending())
	}
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	emit := func(kind string) {
		t.Helper()
		if err := log.Emit(ctx, at, kind, map[string]any{}); err != nil {
			t.Fatal(err)
		}
	}
	wait := func() {
		t.Helper()
		select {
		case <-told:
		case <-time.After(5 * time.Second):
			t.Fatal("not told")
		}
	}
	emit("one")
	wait()
	if l, ended := w.Next(); l == nil || l.Kind != "one" || ended {
		t.Fatalf("Next %v %v, want event one", l, ended)
	}
	if w.Pending() {
		t.Fatal("pending after the only event was taken")
	}
	for _, k := range []string{"a", "b", "c", "d"} { // one more than the queue holds
		emit(k)
	}
	wait() // the first to come to the empty queue
	wait() // the drop
	var got []string
	for {
		l, ended := w.Next()
		if ended {
			break
		}
		if l == nil {
			t.Fatalf("nothing and no end after %v", got)
		}
		got = append(got, l.Kind)
	}
	if !slices.Equal(got, []string{"a", "b", "c"}) || !w.Slow() {
		t.Fatalf("the dropped watcher took %v (slow %v), want a b c, slow", got, w.Slow())
	}
	if len(told) != 0 {
		t.Fatalf("told %d times more", len(told))
	}
}

// Watchers of Queue that fall behind cost the feed their place in a line
// that all of them share, not a queue each: 2,000 watchers 1,000 events
// behind hold the events once (a queue of pointers each would be 16 MB),
// and each still takes every one of them, in order.
func TestFeedQueueIsSharedByItsWatchers(t *testing.T) {
	ctx := t.Context()
	log, f := newFeed(t, func(*core.Live) string { return "k" })
	f.Start(ctx)
	defer f.Stop()
	const watchers, events = 2000, 1000
	var ws []*core.Watcher
	for i := range watchers {
		key := "" // half watch every event, half those of the key
		if i%2 == 1 {
			key = "k"
		}
		w, err := f.Queue(ctx, key, events, func() {})
		if err != nil {
			t.Fatalf("queue refused: %v", err)
		}
		defer w.Close()
		ws = append(ws, w)
	}
	last, err := f.Watch(ctx, "", events) // handed each event after the queues were
	if err != nil {
		t.Fatalf("watch refused: %v", err)
	}
	defer last.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := range events {
		if err := log.Emit(ctx, at, "k", map[string]any{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	for range events {
		select {
		case <-last.C:
		case <-time.After(10 * time.Second):
			t.Fatal("an event did not come")
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 2<<20 {
		t.Errorf("%d watchers %d events behind grew the heap by %d bytes, want at most 2 MiB", watchers, events, grew)
	}
	for i, w := range ws {
		for n := range events {
			l, ended := w.Next()
			if l == nil || ended {
				t.Fatalf("watcher %d: event %d: Next %v %v", i, n, l, ended)
			}
			var p struct{ N int }
			if err := json.Unmarshal(l.Data, &p); err != nil || p.N != n {
				t.Fatalf("watcher %d took %s as event %d", i, l.Data, n)
			}
		}
		if l, ended := w.Next(); l != nil || ended || w.Pending() {
			t.Fatalf("watcher %d after every event: Next %v %v, Pending %v", i, l, ended, w.Pending())
		}
	}
}

// A line holds an event only until every watcher of Queue that was there
// when it came has taken it: a phone's line, its code read by its socket,
// holds nothing while nobody writes to the phone again. A watcher dropped
// for falling behind is not waited for, nor one that came after the event.
func TestFeedQueueLetsAnEventGoOnceEveryWatcherTookIt(t *testing.T) {
	ctx := t.Context()
	log, f := newFeed(t, func(*core.Live) string { return "k" })
	f.Start(ctx)
	defer f.Stop()
	queue := func(max int) (*core.Watcher, chan struct{}) {
		told := make(chan struct{}, 10)
		w, err := f.Queue(ctx, "k", max, func() { told <- struct{}{} })
		if err != nil {
			t.Fatalf("queue refused: %v", err)
		}
		t.Cleanup(w.Close)
		return w, told
	}
	wait := func(told chan struct{}) {
		t.Helper()
		select {
		case <-told:
		case <-time.After(5 * time.Second):
			t.Fatal("not told")
		}
	}
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	emit := func(kind string) {
		t.Helper()
		if err := log.Emit(ctx, at, kind, map[string]any{}); err != nil {
			t.Fatal(err)
		}
	}
	next := func(w *core.Watcher, kind string) weak.Pointer[core.Live] {
		t.Helper()
		l, ended := w.Next()
		if l == nil || ended || l.Kind != kind {
			t.Fatalf("Next %v %v, want event %s", l, ended, kind)
		}
		return weak.Make(l)
	}
	held := func(p weak.Pointer[core.Live]) bool {
		runtime.GC()
		runtime.GC()
		return p.Value() != nil
	}

	slow, slowTold := queue(1)
	fast, fastTold := queue(10)
	emit("one")
	wait(slowTold)
	wait(fastTold)
	later, _ := queue(10) // after event one: not waited for, for it
	one := next(slow, "one")
	if !held(one) {
		t.Fatal("the line let event one go before its second watcher took it")
	}
	if next(fast, "one"); held(one) {
		t.Fatal("the line holds event one after both watchers took it")
	}
	if l, ended := later.Next(); l != nil || ended {
		t.Fatalf("the watcher that came after event one took %v %v", l, ended)
	}

	emit("two")
	emit("three") // two behind: the slow watcher is dropped, and may take two only
	wait(slowTold)
	wait(slowTold)
	wait(fastTold)
	next(slow, "two")
	if l, ended := slow.Next(); l != nil || !ended || !slow.Slow() {
		t.Fatalf("the slow watcher after event two: Next %v %v, slow %v; want its end", l, ended, slow.Slow())
	}
	two := next(fast, "two")
	if !held(two) {
		t.Fatal("the line let event two go before the watcher that came after event one took it")
	}
	next(later, "two")
	if held(two) {
		t.Fatal("the line holds event two after its watchers took it")
	}
	three := next(fast, "three")
	if !held(three) {
		t.Fatal("the line let event three go before the watcher that came after event one took it")
	}
	if next(later, "three"); held(three) {
		t.Fatal("the line holds event three, which the dropped watcher will never take, after the others took it")
	}
}

// An event a script holds back (the prelude's emit with hold) is published
// with the next it emits, in one message, the two separated by the ASCII
// record separator; one held while another is held, or followed by an
// event of another log (and so of another channel), goes alone first.
// Watchers get every event once, in order, as if each had had a message of
// its own.
func TestHeldEventsArePublishedWithTheNext(t *testing.T) {
	ctx := t.Context()
	srv := testkit.StartRedis(t)
	rdb := srv.Client(t)
	ksA := core.Keyspace{Prefix: srv.Prefix, Namespace: "default"}
	other := ksA.Events() + "-other" // another log of the same slot, for a Redis Cluster
	otherLive := other + ":live"
	log := core.NewEventLog(rdb, ksA)
	f := core.NewFeed(log, startSubscriber(t, srv), slog.New(slog.DiscardHandler), nil)
	f.Start(ctx)
	defer f.Stop()
	w, err := f.Watch(ctx, "", 0)
	if err != nil {
		t.Fatalf("watch refused: %v", err)
	}
	defer w.Close()
	raw := rdb.Subscribe(ctx, ksA.Live(), otherLive)
	defer raw.Close()
	if _, err := raw.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	script := core.NewScript[struct{}](`
local a, b = KEYS[1], KEYS[2]
emit(a, 1, 'one', '{"n":1}', true)
emit(a, 2, 'two', '{"n":2}')
emit(a, 3, 'three', '{"n":3}', true)
emit(a, 4, 'four', '{"n":4}', true)
emit(b, 5, 'five', '{"n":5}')
emit(a, 6, 'six', '{"n":6}', true)
emit(a, 7, 'seven', '{"n":7}')
return 1`)
	if err := script.Run(ctx, rdb, []string{ksA.Events(), other}, struct{}{}).Err(); err != nil {
		t.Fatal(err)
	}
	var messages []string
	for range 5 {
		m, err := raw.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for one := range strings.SplitSeq(m.Payload, "\x1e") {
			lines := strings.SplitN(one, "\n", 4)
			if len(lines) != 4 {
				t.Fatalf("an event of %d lines in %q", len(lines), m.Payload)
			}
			kinds = append(kinds, lines[2])
		}
		channel := "log"
		if m.Channel == otherLive {
			channel = "other log"
		}
		messages = append(messages, channel+" "+strings.Join(kinds, "+"))
	}
	want := []string{"log one+two", "log three", "log four", "other log five", "log six+seven"}
	if !slices.Equal(messages, want) {
		t.Errorf("the messages published:\n%q\nwant\n%q", messages, want)
	}
	var kinds []string
	for range 6 {
		select {
		case r := <-w.C:
			kinds = append(kinds, r.Kind)
		case <-time.After(5 * time.Second):
			t.Fatalf("the watcher got %q, then nothing", kinds)
		}
	}
	if want := []string{"one", "two", "three", "four", "six", "seven"}; !slices.Equal(kinds, want) {
		t.Errorf("the watcher got %q, want %q", kinds, want)
	}
}
