package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"smsim/gateway"
)

// Watch is a live feed of the messages delivered to one phone, in either
// folder, over the phone's websocket (GET /phones/v1/{phone}/ws).
type Watch struct {
	conn *websocket.Conn
	ctx  context.Context
	stop func() bool
	once sync.Once
}

// Watch connects to phone's websocket. Every message delivered to the
// phone once Watch has answered is in the feed; one delivered a moment
// before may be too, and older ones are not (Messages lists them). The
// feed ends when ctx ends or Close is called.
func (c *Client) Watch(ctx context.Context, phone string) (*Watch, error) {
	u := *c.base
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	u.Path = strings.TrimRight(u.Path, "/") + phonePath(phone, "/ws")
	u.RawPath = ""
	h := http.Header{}
	for k, v := range c.header {
		h[k] = v
	}
	d := websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.DialContext(ctx, u.String(), h)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			return nil, problemOf(request{method: "GET", path: phonePath(phone, "/ws")}, resp, b)
		}
		return nil, fmt.Errorf("smsim: watch %s: %w", phone, err)
	}
	w := &Watch{conn: conn, ctx: ctx}
	w.stop = context.AfterFunc(ctx, func() { conn.Close() })
	return w, nil
}

// Next answers the next message delivered to the phone, blocking until one
// comes. After the feed ended it answers the context's error, or an error
// saying why the server closed it.
func (w *Watch) Next() (gateway.Message, error) {
	var m gateway.Message
	err := w.conn.ReadJSON(&m)
	if err == nil {
		return m, nil
	}
	if w.ctx.Err() != nil {
		return gateway.Message{}, w.ctx.Err()
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return gateway.Message{}, fmt.Errorf("smsim: the server closed the feed: %s (%d)", ce.Text, ce.Code)
	}
	return gateway.Message{}, fmt.Errorf("smsim: watch: %w", err)
}

// Close ends the feed.
func (w *Watch) Close() error {
	var err error
	w.once.Do(func() {
		w.stop()
		w.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
			time.Now().Add(time.Second))
		err = w.conn.Close()
		if errors.Is(err, net.ErrClosed) { // its context ended first
			err = nil
		}
	})
	return err
}
