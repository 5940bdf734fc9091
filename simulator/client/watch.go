package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Feed is a live feed of one of the server's websockets: each frame is one
// T.
type Feed[T any] struct {
	conn   *websocket.Conn
	ctx    context.Context
	stop   func() bool
	once   sync.Once
	closed atomic.Bool
}

// HandshakeTimeout bounds the handshake of a websocket (Watch,
// WatchEvents): from the connection's dial to the server's answer. The
// handshake ends sooner when its context does.
const HandshakeTimeout = 10 * time.Second

// ErrFeedClosed is what Next answers once Close was called.
var ErrFeedClosed = errors.New("smsim: the feed is closed")

// Watch follows the messages delivered to phone, in either folder, over
// the phone's websocket (GET /phones/v1/{phone}/ws). Every message
// delivered once Watch has answered is in the feed; one delivered a moment
// before may be too, and older ones are not (Messages lists them). The
// feed ends when ctx ends or Close is called.
func (c *Client) Watch(ctx context.Context, phone string) (*Feed[Message], error) {
	return dial[Message](ctx, c, phonePath(phone, "/ws"), nil)
}

// WatchEvents follows the event log over its websocket (GET /ws/events):
// first the events after the one with id after, then each new one as it is
// written. With after empty, only what happens from then on; give the Last
// of Events to miss nothing. A feed too slow to keep up is closed by the
// server: reconnect after the last event read.
func (c *Client) WatchEvents(ctx context.Context, after string) (*Feed[Event], error) {
	var q url.Values
	if after != "" {
		q = url.Values{"after": {after}}
	}
	return dial[Event](ctx, c, "/ws/events", q)
}

func dial[T any](ctx context.Context, c *Client, path string, q url.Values) (*Feed[T], error) {
	if c.nsErr != nil {
		return nil, c.nsErr
	}
	u := *c.base
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	// path is escaped (segment): the URL keeps it as it is, not escaped
	// again
	raw := strings.TrimRight(u.EscapedPath(), "/") + path
	p, err := url.PathUnescape(raw)
	if err != nil {
		return nil, fmt.Errorf("smsim: websocket %s: %w", path, err)
	}
	u.Path, u.RawPath = p, raw
	u.RawQuery = q.Encode()
	h := http.Header{}
	for k, v := range c.header {
		h[k] = v
	}
	// The dialer ends the handshake at its timeout, not when ctx ends: the
	// connection it dialed is closed then.
	var (
		mu    sync.Mutex
		stops []func() bool
	)
	dialNet := func(dctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		stops = append(stops, context.AfterFunc(ctx, func() { nc.Close() }))
		return nc, nil
	}
	d := websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: HandshakeTimeout, NetDialContext: dialNet}
	conn, resp, err := d.DialContext(ctx, u.String(), h)
	mu.Lock()
	for _, stop := range stops {
		stop()
	}
	mu.Unlock()
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			return nil, problemOf(request{method: "GET", path: path, query: q}, resp, b)
		}
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("smsim: websocket %s: %w", path, err)
	}
	f := &Feed[T]{conn: conn, ctx: ctx}
	f.stop = context.AfterFunc(ctx, func() { conn.Close() })
	return f, nil
}

// Next answers the next item of the feed, blocking until one comes. After
// the feed ended it answers ErrFeedClosed when Close ended it, the
// context's error when the context did, or an error saying why the server
// closed it.
func (f *Feed[T]) Next() (T, error) {
	var v, zero T
	err := f.conn.ReadJSON(&v)
	if err == nil {
		return v, nil
	}
	if f.closed.Load() {
		return zero, ErrFeedClosed
	}
	if f.ctx.Err() != nil {
		return zero, f.ctx.Err()
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return zero, fmt.Errorf("smsim: the server closed the feed: %s (%d)", ce.Text, ce.Code)
	}
	return zero, fmt.Errorf("smsim: feed: %w", err)
}

// Close ends the feed.
func (f *Feed[T]) Close() error {
	var err error
	f.once.Do(func() {
		f.closed.Store(true)
		f.stop()
		f.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
			time.Now().Add(time.Second))
		err = f.conn.Close()
		if errors.Is(err, net.ErrClosed) { // its context ended first
			err = nil
		}
	})
	return err
}
