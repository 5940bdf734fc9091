package server_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"smsim/simulator/server"
)

// socketsToMeasure is how many stalled sockets TestEventSocketMemory opens:
// SMSIM_TEST_SOCKETS, else a few hundred (the README's number is of 5,000).
func socketsToMeasure(t *testing.T) int {
	if v := os.Getenv("SMSIM_TEST_SOCKETS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SMSIM_TEST_SOCKETS=%q: want a number of sockets", v)
		}
		return n
	}
	return 300
}

// memory answers the bytes the Go runtime holds for the heap's live objects
// and for the goroutines' stacks, after a collection.
func memory() (heap, stacks uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, m.StackInuse
}

// settledMemory is memory once what the process let go of since settles:
// a reading no lower than the one 50 ms before it (or the tenth). What an
// earlier test left winding down (a store client's connections and their
// buffers) is not let go of during the measure after it.
func settledMemory() (heap, stacks uint64) {
	heap, stacks = memory()
	for range 10 {
		time.Sleep(50 * time.Millisecond)
		h, s := memory()
		if h+s+64<<10 >= heap+stacks {
			return h, s
		}
		heap, stacks = h, s
	}
	return heap, stacks
}

// readingIn counts the goroutines waiting for a client in a read of its
// connection under fn (a function's name as the stacks of the process's
// goroutines give it, with its package's last element: "server.readAtMost").
func readingIn(fn string) int {
	var b strings.Builder
	pprof.Lookup("goroutine").WriteTo(&b, 1)
	_, records, _ := strings.Cut(b.String(), "\n") // after the line of the total
	n := 0
	for _, rec := range strings.Split(records, "\n\n") {
		if !strings.Contains(rec, fn+"+") || !strings.Contains(rec, "runtime_pollWait+") {
			continue
		}
		count, _, _ := strings.Cut(rec, " @ ") // a record starts with the goroutines that share its stack
		c, err := strconv.Atoi(count)
		if err != nil {
			panic(fmt.Sprintf("a goroutine profile's record that starts with no count: %.80q", rec))
		}
		n += c
	}
	return n
}

// rss answers the process's resident memory in bytes (Linux), or 0.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// rawSocket opens a websocket to /ws/events with a bare handshake: the
// client holds a connection and nothing else, reads nothing after the
// handshake, and costs the measure next to nothing.
func rawSocket(t *testing.T, addr string) net.Conn {
	return rawSocketOf(t, &net.Dialer{}, addr)
}

// rawSocketOf is rawSocket, dialed with d.
func rawSocketOf(t *testing.T, d *net.Dialer, addr string) net.Conn {
	return rawSocketTo(t, d, addr, "/ws/events")
}

// rawSocketTo is rawSocket to the websocket at path, dialed with d.
func rawSocketTo(t *testing.T, d *net.Dialer, addr, path string) net.Conn {
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr)
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 512), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	return c
}

// The memory a stalled watcher of the event log costs the server: each
// holds a connection and one goroutine, its reader; no writer goroutine,
// no queue (it grows only while frames wait) and no buffer of its own while
// it writes nothing. The client's side (a bare connection) is counted in
// too.
func TestEventSocketMemory(t *testing.T) {
	e := newEnv(t)
	n := socketsToMeasure(t)
	addr := strings.TrimPrefix(e.url, "http://")
	rawSocket(t, addr).Close() // the namespace's feed and the first buffers exist
	waitFor(t, func() bool { return metricValue(t, e.reg, "smsim_websocket_connections") == 0 })
	heap0, stacks0 := settledMemory()
	rss0 := rss()
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = rawSocket(t, addr)
	}
	waitFor(t, func() bool { return metricValue(t, e.reg, "smsim_websocket_connections") == float64(n) })
	waitFor(t, func() bool { return readingIn("server.(*socket).read") >= n }) // each socket's reader, its client silent
	heap1, stacks1 := memory()
	rss1 := rss()
	used := int64(heap1+stacks1) - int64(heap0+stacks0) // less than 0 when the process let go of more than the sockets took
	if p := os.Getenv("SMSIM_TEST_HEAPPROFILE"); p != "" {
		f, _ := os.Create(p)
		pprof.WriteHeapProfile(f)
		f.Close()
	}
	per := used / int64(n)
	t.Logf("%d stalled /ws/events sockets: %.1f MB, %d bytes per socket (heap %d, stacks %d); the process's resident memory grew %.1f MB",
		n, float64(used)/1e6, per, (int64(heap1)-int64(heap0))/int64(n), (int64(stacks1)-int64(stacks0))/int64(n), (float64(rss1)-float64(rss0))/1e6)
	for _, c := range conns {
		c.Close()
	}
	waitFor(t, func() bool { return metricValue(t, e.reg, "smsim_websocket_connections") == 0 })
	const most = 8 << 10 // 5,000 of them within 41 MB
	if per > most {
		t.Fatalf("a stalled socket costs %d bytes, want at most %d", per, most)
	}
}

// The memory a phone's socket costs the server while nothing comes to the
// phone: its connection, its reader goroutine and its place in the phone's
// line of the live feed; no writer, no queue, no write buffer. The README's
// budget of 24 KiB a socket, at 10,000 sockets, counts the resident memory
// the collector lets pile up between two collections too; this counts what
// the sockets hold. The client's side (a bare connection) is counted in.
func TestPhoneSocketMemory(t *testing.T) {
	e := newEnv(t)
	n := socketsToMeasure(t)
	addr := strings.TrimPrefix(e.url, "http://")
	phone := func(i int) string { return fmt.Sprintf("/phones/v1/139%08d/ws", i) }
	rawSocketTo(t, &net.Dialer{}, addr, phone(n)).Close() // the namespace's feed and the first buffers exist
	waitFor(t, func() bool { return metricValue(t, e.reg, "smsim_websocket_connections") == 0 })
	heap0, stacks0 := settledMemory()
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = rawSocketTo(t, &net.Dialer{}, addr, phone(i))
	}
	waitFor(t, func() bool { return metricValue(t, e.reg, "smsim_websocket_connections") == float64(n) })
	waitFor(t, func() bool { return readingIn("server.(*socket).read") >= n }) // each socket's reader, its client silent
	heap1, stacks1 := memory()
	per := (int64(heap1+stacks1) - int64(heap0+stacks0)) / int64(n)
	t.Logf("%d phone sockets: %d bytes per socket (heap %d, stacks %d)", n, per, (int64(heap1)-int64(heap0))/int64(n), (int64(stacks1)-int64(stacks0))/int64(n))
	for _, c := range conns {
		c.Close()
	}
	waitFor(t, func() bool { return metricValue(t, e.reg, "smsim_websocket_connections") == 0 })
	const most = 10 << 10
	if per > most {
		t.Fatalf("a phone's socket costs %d bytes, want at most %d", per, most)
	}
}

// Watchers of the event log that stop reading while events pour in hold no
// writer: once their send buffers are full, each socket is its reader
// alone (what waits for it is the feed's shared line of events,
// TestFeedQueueIsSharedByItsWatchers); the writers, a few for every
// socket, go on serving the others; and each socket is cut off once it
// read nothing for the write wait.
func TestEventSocketsThatReadNothingHoldNoWriter(t *testing.T) {
	// The write wait leaves the flood and the count of goroutines time to
	// be done before it cuts the sockets off, on a slow machine too.
	e := newEnv(t, withServer(server.Config{SocketWriteWait: 10 * time.Second}))
	const n = 100
	addr := strings.TrimPrefix(e.url, "http://")
	rawSocket(t, addr).Close() // the namespace's feed and the first buffers exist
	waitFor(t, func() bool { return metricValue(t, e.reg, "smsim_websocket_connections") == 0 })
	goroutines0 := runtime.NumGoroutine()
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = rawSocketOf(t, smallReceiveBuffer, addr)
		defer conns[i].Close()
	}
	waitFor(t, func() bool { return metricValue(t, e.reg, "smsim_websocket_connections") == n })
	flood(e.instance, 0, 150) // 300 events of a kilobyte each: more than the buffers hold
	// the writers are done: each socket is its reader; beside them run the
	// pinger, the one that looks after the sockets waiting for room, and the
	// connections the flood opened to the store (slack); a writer waiting
	// in each socket would be n more
	const slack = 20
	waitWithin(t, 3*time.Second, fmt.Sprintf("at most one goroutine a stalled socket and %d more (%d before them)", slack, goroutines0), func() bool {
		return runtime.NumGoroutine() <= goroutines0+n+slack
	})
	if v := metricValue(t, e.reg, "smsim_websocket_connections"); v != n {
		t.Fatalf("%v sockets open before the write wait, want %d", v, n)
	}
	waitWithin(t, 20*time.Second, "the sockets that read nothing cut off (the write wait is 10 s)", func() bool {
		return metricValue(t, e.reg, "smsim_websocket_connections") == 0
	})
	if v := metricValue(t, e.reg, "smsim_websocket_slow_drops_total"); v != n {
		t.Fatalf("smsim_websocket_slow_drops_total %v, want %d", v, n)
	}
}

// smallReceiveBuffer dials connections whose kernel receive buffer is as
// small as the kernel allows: a client that does not read fills it at once.
var smallReceiveBuffer = &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
	var err error
	rc.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
	return err
}}

// A client that announces a long body and sends none of it costs the
// server no more than one that announces a short one: the body is read as
// it comes, not into a buffer of the length announced made ahead. (A
// waiting request costs its connection and its handler's goroutine, some
// kilobytes, either way.)
func TestAnnouncedBodyIsNotAllocatedAhead(t *testing.T) {
	e := newEnv(t)
	addr := strings.TrimPrefix(e.url, "http://")
	const n = 200
	// perClient answers the heap a client costs that announced length bytes
	// to route and sent one.
	perClient := func(route string, length int) int64 {
		method, path, _ := strings.Cut(route, " ")
		heap0, _ := memory()
		conns := make([]net.Conn, n)
		for i := range conns {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", method, path, addr, length)
			conns[i] = c
		}
		waitFor(t, func() bool { return readingIn("server.readAtMost") >= n }) // the handlers wait for the rest of the body
		// the heap alone: the goroutines' stacks vary more than what is measured
		heap1, _ := memory()
		for _, c := range conns {
			c.Close()
		}
		return (int64(heap1) - int64(heap0)) / n
	}
	for _, route := range []string{"POST /miit/v1/validations", "PATCH /admin/v1/faults"} {
		perClient(route, 100) // the route's first requests make what later ones share
		short, long := perClient(route, 100), perClient(route, 60000)
		t.Logf("%s: a client that announced 100 bytes and sent 1 costs %d bytes of the heap; 60,000, %d", route, short, long)
		if long-short > 16<<10 {
			t.Errorf("%s: a client that announced 60,000 bytes and sent 1 costs %d bytes more of the heap than one that announced 100, want at most %d",
				route, long-short, 16<<10)
		}
	}
}

// The memory a long poll costs the server while it waits (nothing on its
// way to its phone, on a running clock): its connection with net/http's
// buffers, its handler's goroutine and net/http's background read, its
// watch of the phone and its timeout. The client's side (a bare
// connection) is counted in. A waiting websocket costs about a sixth of it
// (TestPhoneSocketMemory).
func TestLongPollMemory(t *testing.T) {
	e := newEnv(t)
	e.call("PUT", "/admin/v1/clock", `{"paused":false,"scale":1}`, 200, nil) // a paused clock answers nothing_on_its_way at once
	// what the first ones cost the namespace weighs little among 1,000
	n := 1000
	if os.Getenv("SMSIM_TEST_SOCKETS") != "" {
		n = socketsToMeasure(t)
	}
	addr := strings.TrimPrefix(e.url, "http://")
	poll := func(i int) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /phones/v1/137%08d/messages/next?timeout=1m HTTP/1.1\r\nHost: %s\r\n\r\n", i, addr)
		return c
	}
	first := poll(n) // the namespace's feed and the first buffers exist
	waitValue(t, e.reg, "smsim_long_polls", nil, 1)
	heap0, stacks0 := settledMemory()
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = poll(i)
	}
	waitValue(t, e.reg, "smsim_long_polls", nil, float64(n+1))
	waitFor(t, func() bool { return readingIn("http.(*connReader).backgroundRead") >= n+1 }) // net/http's, one a poll
	heap1, stacks1 := memory()
	if p := os.Getenv("SMSIM_TEST_HEAPPROFILE"); p != "" {
		f, _ := os.Create(p)
		pprof.WriteHeapProfile(f)
		f.Close()
	}
	per := (int64(heap1+stacks1) - int64(heap0+stacks0)) / int64(n)
	t.Logf("%d waiting long polls: %d bytes per poll (heap %d, stacks %d)", n, per, (int64(heap1)-int64(heap0))/int64(n), (int64(stacks1)-int64(stacks0))/int64(n))
	for _, c := range append(conns, first) {
		c.Close()
	}
	waitValue(t, e.reg, "smsim_long_polls", nil, 0)
	// about 40 KB: 19 KB of stacks (the handler's goroutine, 16 KiB, and
	// the background read's), 11 KB of net/http's buffers; 58 KB under the
	// race detector, whose stacks are twice as large
	const most = 64 << 10
	if per > most {
		t.Fatalf("a waiting long poll costs %d bytes, want at most %d", per, most)
	}
}
