package server

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"smsim/simulator"
	"smsim/simulator/core"
)

// catchUpPage is how many missed events a reconnecting page is sent at a
// time.
const catchUpPage = 1000

// DefaultEventQueue is how many events a socket of the event log may fall
// behind the feed before it is dropped: pointers to events whose frames
// are made once for every socket (wire), in a queue that grows only while
// they wait, so the bound costs nothing while a reader keeps up. An advance
// hands a page a burst of events at once, and a load test writes thousands
// a second, which a reader that pauses for a collection or a busy core
// must be able to catch up on: 4096 is about a second of `smsim load` at
// 500 flows a second.
const DefaultEventQueue = 4096

// socket is a websocket once its handshake is answered. While it waits it
// is one goroutine, its reader (read), on the smallest stack a goroutine
// has, and its watcher's queue is empty; a writer goroutine (write) runs
// only while something is to be sent — an event its watcher queued, a
// ping, its end — and ends once it has sent it all, or once the kernel's
// send buffer is too full to take more (a client that stopped reading):
// it never waits in a write, the socket steps aside (rooms) and a writer
// starts again once the client has read.
type socket struct {
	s      *Server
	ctx    context.Context // its log lines' (the request's id), not its end
	route  string
	conn   *websocket.Conn
	watch  *core.Watcher
	stream stream
	sndbuf sendBuffer // the kernel's, to tell whether it has room
	held   *core.Live // taken from the watcher, not sent for want of room: the writers'

	ping    atomic.Bool  // a ping is due (pingers)
	heard   atomic.Int64 // when its client last answered a ping (UnixNano), or the socket opened
	mu      sync.Mutex
	writing bool // a writer runs, or has ended the socket
	aside   bool // waiting for room in the send buffer (rooms): no writer starts
	closed  bool // the reader has ended: no writer starts
	writers sync.WaitGroup
}

// stream is what a socket sends: the frames of the events of its watcher
// that its client wants, after those it missed.
type stream interface {
	// catchUp sends what the client missed before the socket opened.
	catchUp(k *socket) bool
	// send sends what the client is to see of an event, if anything.
	send(k *socket, l *core.Live) bool
	// resume is where the client resumes from when the socket is closed:
	// the id of the last event or message it was sent.
	resume() string
}

// newSocket answers a socket not yet served: its watcher (the feed's
// Queue, notify k.wake) may be made before the handshake, and wakes no
// writer before serve starts the first.
func newSocket(s *Server) *socket { return &socket{s: s, writing: true} }

// serve runs the socket of conn, taken over from r: its reader, and a first
// writer that sends what the client missed and what came since. It counts
// the socket among the open ones, with a context of its own that has the
// request's id for the log (the request, and all it holds, are let go).
func (k *socket) serve(r *http.Request, conn *websocket.Conn, watch *core.Watcher, st stream) {
	s := k.s
	k.ctx = core.WithRequestID(context.Background(), core.RequestID(r.Context()))
	k.route, k.conn, k.watch, k.stream = r.Pattern, conn, watch, st
	k.sndbuf = sendBufferOf(conn.NetConn())
	s.stats.websockets.Inc()
	s.sockets.Add(1)
	s.pingers.add(s, k)
	conn.SetReadLimit(wsReadLimit)
	// no read deadline: the pinger drops a socket its client left silent
	// (pingers), so that a waiting socket holds no timer (idleWrites)
	k.heard.Store(time.Now().UnixNano())
	conn.SetPongHandler(func(string) error { k.heard.Store(time.Now().UnixNano()); return nil })
	k.writers.Add(1)
	go k.write(true)
	go k.read()
}

// wake starts a writer unless one runs, the socket waits for room, or it
// has ended. The feed calls it (under its lock) when an event comes to the
// socket's empty queue, and when it drops the watcher; the pinger when a
// ping is due.
func (k *socket) wake() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.writing || k.aside || k.closed {
		return
	}
	k.writing = true
	k.writers.Add(1)
	k.s.writers.add(k.s, k)
}

// roomCheck is how many frames a writer sends between two looks at the
// send buffer's room: events and messages are a few kilobytes at most, so
// that many fit in the half of it a look leaves free.
const roomCheck = 8

// hasRoom tells whether the send buffer can take a few more frames without
// a write waiting: it holds no more than half what it should, or cannot
// tell.
func (k *socket) hasRoom() bool {
	queued, most, ok := k.sndbuf.fill()
	return !ok || queued <= most/2
}

// stepAside ends the writer of a socket whose send buffer has no room: the
// socket waits among the rooms' until its client reads, or is cut off once
// it read nothing for the write wait.
func (k *socket) stepAside() {
	k.mu.Lock()
	k.writing = false
	k.aside = !k.closed
	k.mu.Unlock()
	if k.aside {
		k.s.rooms.add(k.s, k)
	}
}

// resume starts a writer for a socket that stepped aside, once its send
// buffer has room (rooms).
func (k *socket) resume() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.aside = false
	if k.writing || k.closed {
		return
	}
	k.writing = true
	k.writers.Add(1)
	k.s.writers.add(k.s, k)
}

// write is a writer of the socket: it sends what waits — first, when it is
// the socket's first writer, what the client missed — and ends when
// nothing more waits, when the send buffer has no room (stepAside), after
// writeRun frames (the socket waits for its turn again), or when it ends
// the socket: a client too slow is closed with 1008, and one that takes no
// frame within the write wait is dropped. The first writer is a goroutine
// of its own, the others run in the server's writers.
func (k *socket) write(first bool) {
	defer k.writers.Done()
	if first && !k.stream.catchUp(k) {
		k.conn.Close()
		return
	}
	for sent := 0; ; {
		if sent%roomCheck == 0 && (k.held != nil || k.watch.Pending()) {
			if !k.hasRoom() {
				k.idleWrites()
				k.stepAside() // a ping too waits: a client that reads nothing has yet to answer one
				return
			}
			if sent >= writeRun && !first {
				k.idleWrites()
				k.writers.Add(1) // its turn again once the others had theirs
				k.s.writers.add(k.s, k)
				return
			}
		}
		if k.ping.Swap(false) && !k.sendFrame(websocket.PingMessage, nil) {
			k.conn.Close()
			return
		}
		l, ended := k.held, false
		k.held = nil
		if l == nil {
			l, ended = k.watch.Next()
		}
		switch {
		case l != nil:
			sent++
			if !k.stream.send(k, l) {
				k.conn.Close()
				return
			}
		case ended:
			k.feedEnded()
			k.conn.Close()
			return
		default:
			k.idleWrites()
			k.mu.Lock()
			if k.ping.Load() || k.watch.Pending() { // came before the lock: wake saw this writer
				k.mu.Unlock()
				continue
			}
			k.writing = false
			k.mu.Unlock()
			return
		}
	}
}

// idleWrites clears the deadline of the connection's writes as its writer
// leaves it, before another may take it up. Each frame is written within
// the write wait (sendFrame), and a deadline left set is a timer of the
// runtime's until it passes: 5 s of one for every socket written to. The
// runtime looks through all of its timers whenever one is reset to fall
// due soon (net/http does so at the end of every request), so that timers
// held by 10,000 idle sockets made every request of the process cost some
// 20 µs more. With the pinger dropping the silent (no read deadline), a
// waiting socket holds none (TestWaitingSocketsHoldNoDeadline).
func (k *socket) idleWrites() { k.conn.NetConn().SetWriteDeadline(time.Time{}) }

// read is the socket's reader, and its goroutine while it waits: it
// notes pongs and drops what the client sends, until the connection ends,
// or a writer or the pinger (a client that answers no ping) closes it;
// then it ends the socket.
func (k *socket) read() {
	for readOne(k.conn) {
	}
	k.end()
}

// end closes the socket, once its reader has ended: its connection, its
// watcher, its writer.
func (k *socket) end() {
	k.mu.Lock()
	k.closed = true
	k.mu.Unlock()
	k.conn.Close() // a writer under way fails at once
	k.watch.Close()
	k.writers.Wait()
	s := k.s
	s.rooms.remove(k)
	s.pingers.remove(k)
	s.stats.websockets.Dec()
	s.sockets.Done()
}

// Wait waits until every websocket has ended: they end when their client
// goes, or when the world stops (its feeds close their watchers).
func (s *Server) Wait() { s.sockets.Wait() }

// sendFrame writes one frame within the write wait, and tells whether it
// could (sent).
func (k *socket) sendFrame(typ int, b []byte) bool {
	k.conn.SetWriteDeadline(time.Now().Add(k.s.cfg.SocketWriteWait))
	return k.sent(k.conn.WriteMessage(typ, b))
}

// sendWire writes an event's frame, its payload made once for every
// socket (wire), within the write wait, and tells whether it could (sent).
func (k *socket) sendWire(payload []byte) bool {
	if payload == nil {
		return true // an event with no frame
	}
	return k.sendFrame(websocket.TextMessage, payload)
}

// sent tells whether a frame was written: a client that read nothing for
// the write wait is dropped, counted with those too slow to keep up.
func (k *socket) sent(err error) bool {
	if err == nil {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		k.s.stats.dropped.Inc()
		k.s.log.DebugContext(k.ctx, "websocket client reads nothing: dropped", "route", k.route, "wait", k.s.cfg.SocketWriteWait)
	}
	return false
}

// wireKey is the key of a socket's frame on the wire among what watchers
// make of an event (core.Live.Memo): one for the event log's sockets, one
// for the phones'.
type wireKey int

const (
	eventWire wireKey = iota
	phoneWire
)

// wire answers the payload of an event's text frame, as payload makes it:
// made once, however many sockets send it (core.Live.Memo), and framed by
// each socket as it writes it, into the write buffer it holds only while
// it writes. nil when the event has no frame.
//
// Not a gorilla PreparedMessage: without compression it spares the sockets
// nothing but a copy into that buffer, and to frame the message it makes a
// connection of its own, a 4 KiB buffer among it, about 10 KB for every
// event: at thousands of deliveries a second, the largest part of what
// smsim allocated, and of what its collector had to catch up with.
func wire(l *core.Live, key wireKey, payload func() []byte) []byte {
	b, _ := l.Memo(key, func(*core.Live) any { return payload() }).([]byte)
	return b
}

// feedEnded closes a socket whose watcher the feed dropped: with 1008 and
// how to resume when it fell behind (the client reconnects and catches up
// from the id of the last event or message it was sent), with 1013 when
// the server is stopping.
func (k *socket) feedEnded() {
	code, why := websocket.CloseTryAgainLater, "the server is stopping"
	if k.watch.Slow() {
		code, why = websocket.ClosePolicyViolation, "too slow to keep up"
		k.s.stats.dropped.Inc()
	}
	reason := why + ": reconnect"
	if resume := k.stream.resume(); resume != "" {
		reason = why + ": reconnect with ?after=" + resume
	}
	if !k.hasRoom() {
		return // no frame would reach a client that reads nothing: it is cut off
	}
	k.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(k.s.cfg.SocketWriteWait))
}

// pingers is the one goroutine that pings every open socket of a server,
// each Config.SocketPingPeriod, and closes those whose client answered no
// ping for 10/9 of it, instead of a timer a socket: it runs while a socket
// is open, counted among the sockets' goroutines.
type pingers struct {
	mu    sync.Mutex
	socks map[*socket]struct{}
	stop  chan struct{} // closed when the last socket ends
}

// pingBatch is how many sockets the pinger wakes at once before it pauses
// a moment: their writers run a few at a time.
const pingBatch = 64

func (p *pingers) add(s *Server, k *socket) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.socks) == 0 {
		if p.socks == nil {
			p.socks = map[*socket]struct{}{}
		}
		p.stop = make(chan struct{})
		s.sockets.Add(1)
		go p.run(s, p.stop)
	}
	p.socks[k] = struct{}{}
}

func (p *pingers) remove(k *socket) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.socks, k)
	if len(p.socks) == 0 {
		close(p.stop)
	}
}

// pingChecks is how many times a ping period the pinger looks for the
// sockets whose client answered no ping within the pong wait (10/9 of the
// period): a silent client is dropped within a ninth of the period after
// it (6 s by default).
const pingChecks = 9

// run pings the sockets each Config.SocketPingPeriod, and closes each
// ninth of it those not heard from for the pong wait, until stop is
// closed.
func (p *pingers) run(s *Server, stop <-chan struct{}) {
	defer s.sockets.Done()
	pongWait := int64(s.cfg.SocketPingPeriod * 10 / 9)
	t := time.NewTicker(s.cfg.SocketPingPeriod / pingChecks)
	defer t.Stop()
	var socks []*socket
	for round := 1; ; round++ {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		socks = socks[:0]
		for k := range p.socks {
			socks = append(socks, k)
		}
		p.mu.Unlock()
		now, ping, woken := time.Now().UnixNano(), round%pingChecks == 0, 0
		for _, k := range socks {
			switch {
			case now-k.heard.Load() > pongWait:
				k.silent()
			case ping:
				if woken > 0 && woken%pingBatch == 0 {
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
				}
				woken++
				k.ping.Store(true)
				k.wake()
			}
		}
		clear(socks) // hold no socket that ends before the next look
	}
}

// silent closes a socket whose client answered no ping within the pong
// wait: its reader then ends it.
func (k *socket) silent() {
	k.s.log.DebugContext(k.ctx, "websocket client answers no ping: dropped", "route", k.route, "wait", k.s.cfg.SocketPingPeriod*10/9)
	k.conn.Close()
}

// eventSocket streams the event log: first every event after ?after=ID
// (a page that reconnects catches up on what it missed), then each new
// event live, one JSON text frame each. A page too slow to keep up is
// disconnected with 1008 (it reconnects and catches up), never waited for.
func (s *Server) eventSocket(w http.ResponseWriter, r *http.Request, ns *simulator.Namespace) {
	after := r.URL.Query().Get("after")
	if after != "" && !eventID.MatchString(after) {
		s.fail(w, r, core.Invalid("after: %q is not an event id such as 1777593600000-0 (at most 15 digits each side)", after))
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		writeProblem(w, http.StatusUpgradeRequired, "this endpoint is a websocket: connect with an Upgrade: websocket request")
		return
	}
	k := newSocket(s)
	watch, err := ns.Feed().Queue(r.Context(), "", s.cfg.EventQueue, k.wake)
	if err != nil {
		if r.Context().Err() != nil {
			return // the client left during its handshake: no one to answer
		}
		s.fail(w, r, err) // stopping, or the store away: a 503
		return
	}
	stream := &eventStream{feed: ns.Feed(), events: ns.Events(), after: after, last: after}
	if after == "" {
		// what the live channel brings up to the newest event now, however
		// late, happened before the socket opened
		last, err := ns.Events().Last(r.Context())
		if err != nil {
			watch.Close()
			s.fail(w, r, err)
			return
		}
		if last != "0" { // "0": none
			stream.last = last
		}
	}
	conn, err := s.upgrade(w, r)
	if err != nil {
		watch.Close()
		return
	}
	// The socket goes on in goroutines of its own, and the handler returns:
	// net/http's goroutine, its buffers and the request are let go, and a
	// socket that waits costs only what it needs (the README's measure).
	k.serve(r, conn, watch, stream)
}

// eventStream is what an event socket sends (eventSocket): the events
// after ?after=, then each new one.
type eventStream struct {
	feed   *core.Feed
	events *core.EventLog
	after  string
	last   string // the id of the last event sent, or of the newest as the socket opened
}

// catchUp sends the events after ?after=, a page at a time, until the log
// has no more.
func (e *eventStream) catchUp(k *socket) bool {
	for e.after != "" {
		missed, err := e.feed.CatchUp(k.ctx, e.last, catchUpPage)
		if err != nil {
			k.s.log.WarnContext(k.ctx, "catching a page up on events", "err", err)
			return false
		}
		for _, rec := range missed {
			b, err := json.Marshal(rec)
			if err != nil || !k.sendFrame(websocket.TextMessage, b) {
				return false
			}
			e.last = rec.ID
		}
		if len(missed) < catchUpPage {
			break
		}
	}
	return true
}

func (e *eventStream) send(k *socket, l *core.Live) bool {
	if e.last != "" && !core.Newer(l.ID, e.last) && (l.Kind != core.KindReset || !resetSince(k, e.events.Holds, e.last, l)) {
		return true // sent in the catch-up, or before the socket opened
	}
	if !k.sendWire(wire(l, eventWire, l.JSON)) {
		return false
	}
	e.last = l.ID
	return true
}

func (e *eventStream) resume() string { return e.last }

// rooms is the one goroutine that looks after the sockets that stepped
// aside for want of room in their send buffer (socket.stepAside): it looks
// at each buffer every few milliseconds — less often the more sockets wait,
// so that looking costs a few percent of a core — and starts a writer for
// a socket whose client has read, or cuts off one that read nothing for
// the write wait. It runs while a socket waits, counted among the sockets'
// goroutines.
type rooms struct {
	mu    sync.Mutex
	socks map[*socket]time.Time // since when each waits
	stop  chan struct{}         // closed when the last one leaves
}

// Bounds of the time between two looks at the waiting sockets: a look
// costs about a microsecond a socket.
const (
	roomLookMin       = 5 * time.Millisecond
	roomLookMax       = 100 * time.Millisecond
	roomLookPerSocket = 20 * time.Microsecond
)

func (r *rooms) add(s *Server, k *socket) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.socks) == 0 {
		if r.socks == nil {
			r.socks = map[*socket]time.Time{}
		}
		r.stop = make(chan struct{})
		s.sockets.Add(1)
		go r.run(s, r.stop)
	}
	if _, ok := r.socks[k]; !ok {
		r.socks[k] = time.Now()
	}
}

// remove takes k out of the waiting sockets, and tells whether it was one.
func (r *rooms) remove(k *socket) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.socks[k]; !ok {
		return false
	}
	delete(r.socks, k)
	if len(r.socks) == 0 {
		close(r.stop)
	}
	return true
}

// run looks at the waiting sockets until stop is closed.
func (r *rooms) run(s *Server, stop <-chan struct{}) {
	defer s.sockets.Done()
	type waiting struct {
		k     *socket
		since time.Time
	}
	var socks []waiting
	for {
		r.mu.Lock()
		socks = socks[:0]
		for k, since := range r.socks {
			socks = append(socks, waiting{k, since})
		}
		r.mu.Unlock()
		wait := min(max(time.Duration(len(socks))*roomLookPerSocket, roomLookMin), roomLookMax)
		select {
		case <-stop:
			return
		case <-time.After(wait):
		}
		now := time.Now()
		for _, w := range socks {
			switch {
			case w.k.hasRoom():
				if r.remove(w.k) {
					w.k.resume()
				}
			case now.Sub(w.since) >= s.cfg.SocketWriteWait:
				if r.remove(w.k) {
					w.k.cutOff()
				}
			}
		}
	}
}

// cutOff closes a socket whose client read nothing for the write wait,
// counted with those too slow to keep up: its reader then ends it.
func (k *socket) cutOff() {
	k.mu.Lock()
	closed := k.closed
	k.mu.Unlock()
	if closed {
		return // its client went first
	}
	k.s.stats.dropped.Inc()
	k.s.log.DebugContext(k.ctx, "websocket client reads nothing: dropped", "route", k.route, "wait", k.s.cfg.SocketWriteWait)
	k.conn.Close()
}

// writers are the goroutines that write to the sockets, at most
// maxWriters of them, however many sockets an event wakes at once: a
// socket whose writer is due waits in line for one. They run while a
// socket waits for one, counted among the sockets' goroutines. A writer
// never waits in a write for a client that reads nothing (stepAside), so
// a few serve every socket.
type writers struct {
	mu      sync.Mutex
	line    []*socket // the sockets whose writer is due, first come first
	running int
}

// maxWriters is how many writers a server runs at most; writeRun is how
// many frames a writer sends a socket before it lets the next one in line
// have its turn.
const (
	maxWriters = 64
	writeRun   = 64
)

// add puts k in line for a writer (its k.writers counted already).
func (w *writers) add(s *Server, k *socket) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.line = append(w.line, k)
	if w.running < maxWriters {
		w.running++
		s.sockets.Add(1)
		go w.run(s)
	}
}

// run writes to the sockets in line until none is left.
func (w *writers) run(s *Server) {
	defer s.sockets.Done()
	for {
		w.mu.Lock()
		if len(w.line) == 0 {
			w.running--
			w.line = nil // an idle server holds no line
			w.mu.Unlock()
			return
		}
		k := w.line[0]
		w.line[0] = nil
		w.line = w.line[1:]
		w.mu.Unlock()
		k.write(false)
	}
}
