package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"smsim/simulator/core"
)

// The deadlines of an HTTP server (HTTPServer). A request's header and
// body must arrive within ReadTimeout; once read, net/http lifts the read
// deadline, and a handler may run longer (TestHTTPServerDeadlines). Its
// answer must be written within WriteTimeout, except on the streaming
// routes: a long poll writes its answer within SocketWriteWait of the end
// of its wait (and holds no deadline while it waits), a websocket each
// frame within SocketWriteWait. A kept-alive connection
// idle for IdleTimeout is closed.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 60 * time.Second
	IdleTimeout       = 120 * time.Second
)

// MaxHeaderBytes bounds a request's line and header: a client's request
// fits in far less, and one of more is answered 431.
const MaxHeaderBytes = 64 << 10

// HTTPServer answers an http.Server of h with the deadlines and the bound
// above, its errors logged on log at warn level.
func HTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: ReadHeaderTimeout, ReadTimeout: ReadTimeout,
		WriteTimeout: WriteTimeout, IdleTimeout: IdleTimeout, MaxHeaderBytes: MaxHeaderBytes,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
}

// refusedWait bounds how long a connection beyond the limit is kept to
// answer it.
const refusedWait = time.Second

// LimitListener answers a listener that accepts at most max connections
// open at once, as golang.org/x/net/netutil's does, except that it never
// blocks: a connection beyond the limit is answered 503 (problem+json,
// Retry-After: 1) and closed, so that a flood runs out neither the
// process's file descriptors nor the others' patience — unless it asks for
// a probe, GET or HEAD /healthz or /readyz, which probes answers (when not
// nil: the server's routes) as on any connection, then closes: a process
// at its limit is alive, and an orchestrator must not restart it for being
// busy. At most max/8 + 16 such answers are under way at once; beyond
// them a connection is closed at once, a probe too (a flood of
// connections that send nothing holds them for a second each). reg counts the connections (nil: not
// counted).
func LimitListener(ln net.Listener, max int, reg prometheus.Registerer, probes http.Handler) net.Listener {
	l := &limitListener{Listener: ln, open: make(chan struct{}, max), refusing: make(chan struct{}, max/8+16), probes: probes}
	if reg != nil {
		l.gauge = core.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "smsim_http_connections", Help: "HTTP connections open on this instance (at most --max-conns).",
		}))
		l.refused = core.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "smsim_http_connections_refused_total", Help: "HTTP connections beyond --max-conns, answered 503 and closed.",
		}))
	}
	return l
}

type limitListener struct {
	net.Listener
	open     chan struct{} // a token per connection open
	refusing chan struct{} // a token per refusal under way
	gauge    prometheus.Gauge
	refused  prometheus.Counter
	probes   http.Handler // answers the probes beyond the limit; nil: none
}

// Accept answers the next connection within the limit, answering those
// beyond it.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.open <- struct{}{}:
			if l.gauge != nil {
				l.gauge.Inc()
			}
			return &limitedConn{Conn: c, release: l.release}, nil
		default:
		}
		if l.refused != nil {
			l.refused.Inc()
		}
		select {
		case l.refusing <- struct{}{}:
			go l.refuse(c)
		default:
			c.Close()
		}
	}
}

func (l *limitListener) release() {
	<-l.open
	if l.gauge != nil {
		l.gauge.Dec()
	}
}

// tooMany is the answer to a connection beyond the limit.
var tooMany = func() []byte {
	body := `{"type":"urn:smsim:problem:too-many-connections","title":"Service Unavailable","status":503,` +
		`"detail":"too many connections: the server holds --max-conns open at once; try again"}` + "\n"
	return fmt.Appendf(nil, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n"+
		"Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}()

// refuse answers c 503 and closes it: it reads the request's header first
// (a client may take an answer that comes before its request for a broken
// connection), then, once it has answered, what the client still sends,
// so that the client reads the answer rather than a reset.
func (l *limitListener) refuse(c net.Conn) {
	defer func() { <-l.refusing }()
	defer c.Close()
	c.SetDeadline(time.Now().Add(refusedWait))
	var buf [1024]byte
	var seen []byte
	for !bytes.Contains(seen, []byte("\r\n\r\n")) && len(seen) < 16<<10 {
		n, err := c.Read(buf[:])
		if err != nil {
			return
		}
		seen = append(seen, buf[:n]...)
	}
	if !l.probe(c, seen) {
		if _, err := c.Write(tooMany); err != nil {
			return
		}
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	for {
		if _, err := c.Read(buf[:]); err != nil {
			return
		}
	}
}

// probe answers the request of c, its header seen, when it is a probe
// (GET or HEAD /healthz or /readyz) and the listener has probes, and tells
// whether it did. A handler that panics leaves the connection closed
// unanswered, as net/http does, the panic logged (but http.ErrAbortHandler,
// a handler's way to abort).
func (l *limitListener) probe(c net.Conn, seen []byte) (answered bool) {
	if l.probes == nil {
		return false
	}
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(seen)))
	if err != nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) || (r.URL.Path != "/healthz" && r.URL.Path != "/readyz") {
		return false
	}
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				slog.Error("a probe beyond --max-conns panicked", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			}
			answered = true // closed unanswered
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), refusedWait)
	defer cancel()
	r.RemoteAddr = c.RemoteAddr().String()
	w := &probeAnswer{header: http.Header{}, status: http.StatusOK}
	l.probes.ServeHTTP(w, r.WithContext(ctx))
	resp := &http.Response{StatusCode: w.status, ProtoMajor: 1, ProtoMinor: 1, Header: w.header, Close: true,
		ContentLength: int64(w.body.Len()), Body: io.NopCloser(&w.body), Request: r}
	_ = resp.Write(c)
	return true
}

// probeAnswer is the answer of a probe beyond the limit, written whole
// once the handler returns.
type probeAnswer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *probeAnswer) Header() http.Header         { return w.header }
func (w *probeAnswer) Write(b []byte) (int, error) { return w.body.Write(b) }
func (w *probeAnswer) WriteHeader(status int)      { w.status = status }

// limitedConn gives its place back once closed.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// SetWriteBuffer sets the kernel's send buffer of a TCP connection.
func (c *limitedConn) SetWriteBuffer(n int) error {
	if tc, ok := c.Conn.(interface{ SetWriteBuffer(int) error }); ok {
		return tc.SetWriteBuffer(n)
	}
	return nil
}

// SyscallConn answers the raw connection of a TCP connection, for the
// kernel's measures of it (sendRoom).
func (c *limitedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, syscall.EINVAL
}
