package main

// The stalled measure: what watchers of the event log that never read cost
// the process (its RSS, heap and stacks, each, waiting and at most while
// events are written), and the other clients: the p50 of a submission and
// a read of it, first with no one watching, then with those watchers open
// while the submissions write events, then alone again (the machine's
// noise); how soon the server drops the watchers, and how each ended.

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stalledClients is how many clients submit and read, one request after
// another each, in the stalled measure: a steady flow of events, and a p50
// that is their time, not a queue's.
const stalledClients = 4

// stalledMeasure opens n sockets of /ws/events that never read, beside
// stalledClients clients that each submit a filing and read it back for
// d: first without the sockets, then with them.
func stalledMeasure(ctx context.Context, bin string, storeArgs []string, n int, d time.Duration) (scaleResult, error) {
	res := scaleResult{Measure: "stalled", Store: storeName(storeArgs), N: n}
	p, err := startSmsim(ctx, bin, storeArgs...)
	if err != nil {
		return res, err
	}
	defer p.stop()
	// the process's own start settles, and its first submissions warm it up
	if _, err := submitAndRead(ctx, p, stalledClients, time.Second); err != nil {
		return res, err
	}
	// both phases are watched alike (watch): the watching costs each the same
	base, _, err := watch(ctx, p, n, func() ([]timed, error) { return submitAndRead(ctx, p, stalledClients, d) })
	if err != nil {
		return res, err
	}

	time.Sleep(time.Second)
	rss0, _ := p.rss()
	m0, err := p.metrics(memMetrics...)
	if err != nil {
		return res, err
	}
	addr := strings.TrimPrefix(p.base, "http://")
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range n {
		c, err := stalledSocket(ctx, addr)
		if err != nil {
			return res, fmt.Errorf("socket %d: %w", i, err)
		}
		conns = append(conns, c)
	}
	if err := waitMetric(ctx, p, "smsim_websocket_connections", float64(n), 30*time.Second); err != nil {
		return res, err
	}
	time.Sleep(2 * time.Second)
	rss1, _ := p.rss()
	m1, err := p.metrics(append(memMetrics, "go_goroutines", "smsim_websocket_slow_drops_total")...)
	if err != nil {
		return res, err
	}
	perSocket := func(name string, m map[string]float64) float64 {
		return (m[name] - m0[name]) / float64(n) / 1024
	}
	res.set("kib_per_socket", float64(rss1-rss0)/float64(n)/1024)
	res.set("stack_kib_per_socket", perSocket("go_memstats_stack_inuse_bytes", m1))
	res.set("heap_kib_per_socket", perSocket("go_memstats_heap_inuse_bytes", m1))
	res.set("goroutines", m1["go_goroutines"])

	stalled, w, err := watch(ctx, p, n, func() ([]timed, error) {
		ls, err := submitAndRead(ctx, p, stalledClients, d)
		if err == nil {
			err = waitMetric(ctx, p, "smsim_websocket_connections", 0, 30*time.Second)
		}
		return ls, err
	})
	if err != nil {
		return res, err
	}
	drops, _ := p.metric("smsim_websocket_slow_drops_total")
	ends := closings(conns)
	// the clients alone again: how far the machine's noise moved their p50
	after, _, err := watch(ctx, p, n, func() ([]timed, error) { return submitAndRead(ctx, p, stalledClients, d) })
	if err != nil {
		return res, err
	}

	// the q-quantile of the times of the requests started before until (0: all)
	pct := func(ls []timed, q float64, until time.Duration) time.Duration {
		var got []time.Duration
		for _, l := range ls {
			if until == 0 || l.at < until {
				got = append(got, l.took)
			}
		}
		if len(got) == 0 {
			return 0
		}
		slices.Sort(got)
		return got[min(len(got)-1, int(q*float64(len(got))))]
	}
	b, s := pct(base, 0.5, 0), pct(stalled, 0.5, 0)
	res.set("p50_ms", ms(b))
	res.set("p99_ms", ms(pct(base, 0.99, 0)))
	res.set("stalled_p50_ms", ms(s))
	res.set("stalled_p99_ms", ms(pct(stalled, 0.99, 0)))
	res.set("p50_ratio", float64(s)/float64(b))
	res.set("after_p50_ms", ms(pct(after, 0.5, 0)))
	if w.lastDrop > 0 && w.lastDrop < d {
		// the requests that started while sockets were still open
		if sd := pct(stalled, 0.5, w.lastDrop); sd > 0 {
			res.set("while_open_p50_ms", ms(sd))
			res.set("while_open_p50_ratio", float64(sd)/float64(b))
		}
	}
	res.set("requests_per_s", float64(len(base))/d.Seconds())
	res.set("stalled_requests_per_s", float64(len(stalled))/d.Seconds())
	res.set("dropped", drops-m1["smsim_websocket_slow_drops_total"])
	res.set("closed_1008", float64(ends.policy))
	res.set("cut_off", float64(ends.cut))
	res.set("frames_per_socket", float64(ends.frames)/float64(n))
	res.set("peak_kib_per_socket", float64(w.rss-rss0)/float64(n)/1024)
	res.set("peak_stack_kib_per_socket", perSocket("go_memstats_stack_inuse_bytes", w.peak))
	res.set("peak_heap_kib_per_socket", perSocket("go_memstats_heap_inuse_bytes", w.peak))
	res.set("first_drop_s", w.firstDrop.Seconds())
	res.set("all_dropped_s", w.lastDrop.Seconds())
	return res, nil
}

// memMetrics are the metrics of the Go runtime's memory the measure reads.
var memMetrics = []string{"go_memstats_stack_inuse_bytes", "go_memstats_heap_inuse_bytes"}

// watched is what watch saw of the process.
type watched struct {
	rss                 int64              // the resident memory at its most
	peak                map[string]float64 // memMetrics at their most
	firstDrop, lastDrop time.Duration      // when the sockets' count first fell below n, and reached 0; 0: never
}

// watch runs f while it reads the process every 100 ms: its memory at its
// most, and when its n sockets were dropped (f returns once they all
// are).
func watch(ctx context.Context, p *proc, n int, f func() ([]timed, error)) ([]timed, watched, error) {
	var w watched
	w.peak = map[string]float64{}
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			at := time.Since(start)
			if r, err := p.rss(); err == nil {
				w.rss = max(w.rss, r)
			}
			if m, err := p.metrics(append(memMetrics, "smsim_websocket_connections")...); err == nil {
				for _, name := range memMetrics {
					w.peak[name] = max(w.peak[name], m[name])
				}
				c := m["smsim_websocket_connections"]
				if c < float64(n) && w.firstDrop == 0 {
					w.firstDrop = at
				}
				if c == 0 && w.lastDrop == 0 {
					w.lastDrop = at
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	ls, err := f()
	end := time.Since(start)
	cancel()
	<-done
	if w.firstDrop == 0 {
		w.firstDrop = end
	}
	if w.lastDrop == 0 { // f ends once they are all dropped (waitMetric)
		w.lastDrop = end
	}
	return ls, w, err
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// timed is a request's time, and when it started after its loop did.
type timed struct {
	at, took time.Duration
}

// submitAndRead runs clients clients for d, each submitting a filing (in
// the default namespace: its events reach the sockets) and reading it
// back, one after another, and answers each pair's time.
func submitAndRead(ctx context.Context, p *proc, clients int, d time.Duration) ([]timed, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu    sync.Mutex
		out   []timed
		first error
		wg    sync.WaitGroup
	)
	start := time.Now()
	order := map[string]any{"type": "first_filing", "variant": "app", "entity_leader": map[string]string{
		"name": "Li Lei", "phone": "13800000001", "certificate_number": "110101199003071234"}}
	for range clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				b, err := p.do(ctx, http.MethodPost, "/provider/v1/filings", "", order, http.StatusCreated)
				var f struct{ ID string }
				if err == nil {
					if err = json.Unmarshal(b, &f); err == nil {
						_, err = p.do(ctx, http.MethodGet, "/provider/v1/filings/"+f.ID, "", nil, http.StatusOK)
					}
				}
				if err != nil {
					if ctx.Err() == nil {
						mu.Lock()
						first = cmpOr(first, err)
						mu.Unlock()
					}
					return
				}
				mu.Lock()
				out = append(out, timed{at: t0.Sub(start), took: time.Since(t0)})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if len(out) == 0 {
		return nil, errors.New("no submission was answered")
	}
	return out, nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// waitMetric waits until an unlabelled metric of p has the value want.
func waitMetric(ctx context.Context, p *proc, name string, want float64, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		v, err := p.metric(name)
		if err == nil && v == want {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s is %v after %s, want %v (%v)", name, v, within, want, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stalledSocket opens a websocket to /ws/events with a bare handshake and
// a kernel receive buffer as small as the kernel allows: a client that
// never reads, and costs the bench a connection and nothing else.
func stalledSocket(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
		return err
	}}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c, "GET /ws/events HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
	// read the answer a byte at a time: nothing of the socket's frames is
	// taken into a buffer
	var head []byte
	one := make([]byte, 1)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for !strings.HasSuffix(string(head), "\r\n\r\n") {
		if _, err := c.Read(one); err != nil {
			c.Close()
			return nil, err
		}
		head = append(head, one[0])
	}
	c.SetReadDeadline(time.Time{})
	if !strings.HasPrefix(string(head), "HTTP/1.1 101 ") {
		c.Close()
		return nil, fmt.Errorf("handshake: %s", strings.SplitN(string(head), "\r\n", 2)[0])
	}
	return c, nil
}

// ends is how the stalled sockets ended, read from what each was sent.
type ends struct {
	policy int // closed with 1008
	cut    int // closed without a close frame: a frame timed out
	frames int // text frames sent, in all
}

// closings reads what each stalled socket was sent, to its end.
func closings(conns []net.Conn) ends {
	var (
		mu  sync.Mutex
		out ends
		wg  sync.WaitGroup
		ch  = make(chan net.Conn)
	)
	for range 8 {
		wg.Go(func() {
			for c := range ch {
				frames, code := readToEnd(c)
				mu.Lock()
				out.frames += frames
				switch code {
				case 1008:
					out.policy++
				case 0:
					out.cut++
				}
				mu.Unlock()
			}
		})
	}
	for _, c := range conns {
		ch <- c
	}
	close(ch)
	wg.Wait()
	return out
}

// readToEnd reads a server's websocket frames until the connection ends,
// and answers how many text frames came and the close frame's code (0:
// none came).
func readToEnd(c net.Conn) (frames, code int) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReaderSize(c, 64<<10)
	for {
		var h [2]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return frames, 0
		}
		n := int64(h[1] & 0x7f)
		switch n {
		case 126:
			var l [2]byte
			if _, err := io.ReadFull(r, l[:]); err != nil {
				return frames, 0
			}
			n = int64(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			if _, err := io.ReadFull(r, l[:]); err != nil {
				return frames, 0
			}
			n = int64(binary.BigEndian.Uint64(l[:]))
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			return frames, 0
		}
		switch h[0] & 0x0f {
		case 1:
			frames++
		case 8:
			if len(payload) >= 2 {
				return frames, int(binary.BigEndian.Uint16(payload))
			}
			return frames, 1005
		}
	}
}
