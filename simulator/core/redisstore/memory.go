package redisstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/alicebob/miniredis/v2/server"
)

// Memory is the embedded store, a miniredis, reached in memory: its Dial
// (a redis.Options' Dialer) connects with a command and its answer
// crossing no socket and making no system call, which on a small machine
// was much of what a short script call cost (BenchmarkMemoryDialer).
//
// miniredis's own Dial serves a net.Pipe, which holds nothing: a pipeline
// larger than the store's 4 KiB read buffer waits forever on itself (the
// store cannot take the rest of it before its first answer is read, and
// the client reads no answer before it has written all). The connections
// made here buffer what is written, up to pipeCapacity bytes unread in each
// direction, so that a pipeline never waits for its own answers.
//
// Its scripts run in one Lua state kept from call to call (scripting),
// not in a new one for each call as miniredis runs them.
//
// It packs the keys of a namespace that no command has named for a while
// into one compressed blob, and unpacks them before the next command that
// names one (Hibernate, hibernate.go): what 10,000 idle namespaces hold
// falls to about a tenth.
//
// Close the store with Memory's Close, not the miniredis's: a connection
// handed to the store while it closes would race with its closing.
type Memory struct {
	m       *miniredis.Miniredis
	srv     *server.Server
	scripts *scripting
	hib     hibernation
	peak    map[int]int  // the most keys each database held since its maps were made (compact), under m's lock
	mu      sync.RWMutex // held to hand a connection to srv, and to close
	closed  bool
}

// NewMemory answers the store m, reached in memory. A miniredis that has
// not started starts without a listener; one that listens keeps listening
// for other clients.
func NewMemory(m *miniredis.Miniredis) (*Memory, error) {
	c, err := m.Dial() // starts m, listener or not; its net.Pipe is not used
	if err != nil {
		return nil, err
	}
	c.Close()
	scripts, err := newScripting(m)
	if err != nil {
		return nil, err
	}
	s := &Memory{m: m, srv: m.Server(), scripts: scripts}
	s.srv.SetPreHook(s.hook)
	return s, nil
}

// hook sees every command before miniredis runs it: the packed units it
// names are unpacked (hibernate.go), then the scripts take the commands
// they run (scripting.hook).
func (s *Memory) hook(c *server.Peer, cmd string, args ...string) bool {
	if c != s.scripts.dispatching.Load() { // not a command of the running script
		if err := s.see(c, cmd, args); err != nil {
			c.WriteError("ERR " + err.Error())
			return true
		}
	}
	return s.scripts.hook(c, cmd, args...)
}

// Dial connects to the store; once it is closed, it fails.
func (s *Memory) Dial(context.Context, string, string) (net.Conn, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errStoreClosed
	}
	client, server := newPipe(pipeCapacity)
	s.srv.ServeConn(server)
	return client, nil
}

// Close closes the store, once no connection is being handed to it: its
// connections end, and Dial fails from then on.
func (s *Memory) Close() {
	s.mu.Lock()
	closed := s.closed
	s.closed = true
	s.mu.Unlock()
	if !closed {
		s.m.Close()
	}
}

var errStoreClosed = errors.New("the embedded store is closed")

// pipeCapacity is how many bytes one direction of a pipe holds unread
// before a write waits for its reader: far more than any pipeline of
// smsim's, so that only a reader that stopped reading holds a writer up.
const pipeCapacity = 16 << 20

// newPipe answers the two ends of a connection in memory, each a net.Conn
// with deadlines. Unlike net.Pipe, a write returns once its bytes are
// buffered (up to capacity unread: pipeCapacity), not once the other end
// has read them.
func newPipe(capacity int) (*pipeConn, *pipeConn) {
	a := &pipeConn{in: newPipeBuffer(capacity), closed: make(chan struct{}), rd: newDeadline(), wd: newDeadline()}
	b := &pipeConn{in: newPipeBuffer(capacity), closed: make(chan struct{}), rd: newDeadline(), wd: newDeadline()}
	a.peer, b.peer = b, a
	return a, b
}

// pipeConn is one end of a pipe (newPipe): it reads its own buffer, written by its
// peer, and writes its peer's.
type pipeConn struct {
	in        *pipeBuffer
	peer      *pipeConn
	closed    chan struct{} // closed by Close: this end reads and writes no more
	closeOnce sync.Once
	rd, wd    *deadline
}

// pipeBuffer is the bytes written to one end and not read yet. Its two
// channels hold a wake-up each (buffered 1): a reader that found nothing,
// or a writer that found no room, waits on them; each taker passes the
// wake-up on while something is left for the next one.
type pipeBuffer struct {
	mu       sync.Mutex
	buf      bytes.Buffer
	capacity int
	readable chan struct{}
	writable chan struct{}
}

func newPipeBuffer(capacity int) *pipeBuffer {
	return &pipeBuffer{capacity: capacity, readable: make(chan struct{}, 1), writable: make(chan struct{}, 1)}
}

func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (c *pipeConn) Read(p []byte) (int, error) {
	b := c.in
	for {
		switch {
		case isClosed(c.closed):
			return 0, net.ErrClosed
		case isClosed(c.rd.wait()):
			return 0, os.ErrDeadlineExceeded
		}
		b.mu.Lock()
		if b.buf.Len() > 0 || len(p) == 0 {
			n, _ := b.buf.Read(p)
			left := b.buf.Len() > 0
			b.mu.Unlock()
			wake(b.writable)
			if left {
				wake(b.readable)
			}
			return n, nil
		}
		b.mu.Unlock()
		if isClosed(c.peer.closed) {
			return 0, io.EOF
		}
		select {
		case <-b.readable:
		case <-c.peer.closed:
		case <-c.closed:
		case <-c.rd.wait():
		}
	}
}

func (c *pipeConn) Write(p []byte) (int, error) {
	b := c.peer.in
	for {
		switch {
		case isClosed(c.closed):
			return 0, net.ErrClosed
		case isClosed(c.wd.wait()):
			return 0, os.ErrDeadlineExceeded
		case isClosed(c.peer.closed):
			return 0, io.ErrClosedPipe
		}
		b.mu.Lock()
		if b.buf.Len() < b.capacity {
			b.buf.Write(p)
			room := b.buf.Len() < b.capacity
			b.mu.Unlock()
			wake(b.readable)
			if room {
				wake(b.writable)
			}
			return len(p), nil
		}
		b.mu.Unlock()
		select {
		case <-b.writable:
		case <-c.peer.closed:
		case <-c.closed:
		case <-c.wd.wait():
		}
	}
}

// Close ends this end: its reads and writes fail with net.ErrClosed, and
// its peer reads what was written before it, then io.EOF.
func (c *pipeConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

func (c *pipeConn) LocalAddr() net.Addr  { return pipeAddr{} }
func (c *pipeConn) RemoteAddr() net.Addr { return pipeAddr{} }

func (c *pipeConn) SetDeadline(t time.Time) error {
	if isClosed(c.closed) {
		return net.ErrClosed
	}
	c.rd.set(t)
	c.wd.set(t)
	return nil
}

func (c *pipeConn) SetReadDeadline(t time.Time) error {
	if isClosed(c.closed) {
		return net.ErrClosed
	}
	c.rd.set(t)
	return nil
}

func (c *pipeConn) SetWriteDeadline(t time.Time) error {
	if isClosed(c.closed) {
		return net.ErrClosed
	}
	c.wd.set(t)
	return nil
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "memory" }
func (pipeAddr) String() string  { return "memory" }

// deadline is a read or write deadline of a pipeConn: its channel is
// closed once the deadline has passed, and replaced when it is moved.
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	passed chan struct{}
}

func newDeadline() *deadline { return &deadline{passed: make(chan struct{})} }

// set moves the deadline to t; the zero t means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.passed // the timer has fired: its channel is closed, or about to be
	}
	d.timer = nil
	passed := isClosed(d.passed)
	if t.IsZero() {
		if passed {
			d.passed = make(chan struct{})
		}
		return
	}
	if dur := time.Until(t); dur > 0 {
		if passed {
			d.passed = make(chan struct{})
		}
		ch := d.passed
		d.timer = time.AfterFunc(dur, func() { close(ch) })
		return
	}
	if !passed {
		close(d.passed)
	}
}

func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.passed
}
