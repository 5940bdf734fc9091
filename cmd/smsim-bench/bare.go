package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"smsim/cmd/internal/gcheadroom"
	"smsim/simulator/core"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
)

// bareServerEnv, set in the environment of this program, makes it the bare
// phone server (bareServe) rather than the bench.
const bareServerEnv = "SMSIM_BENCH_BARE_SERVER"

// bareServe runs the bare phone server: the least a gateway that keeps its
// messages in Redis and pushes them to phones' websockets does, and
// nothing more, for the phones measure to drive in smsim's place
// (--phones-bare): its deliveries' tail is the ceiling of smsim's on this
// machine. POST /gateway/v1/messages stores the message in a hash and
// publishes its frame, both in one script call (through the client's
// autopipeliner when another call is on its way, as smsim's); one
// subscriber hands each frame to its phone's socket, which a writer of
// its own sends (the gorilla chat example's shape: a reader and a writer a
// socket). No event log, no inbox, no faults, no journal. It serves what
// the measure reads besides: /readyz, /metrics (the Go runtime's), and a
// PATCH of /admin/v1/faults that it takes and ignores. Its flags are those
// the measure gives smsim.
func bareServe(args []string) int {
	fs := flag.NewFlagSet("smsim-bench bare server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "")
	fs.String("log-level", "", "")
	url := fs.String("redis-url", "", "")
	prefix := fs.String("key-prefix", "smsimbare", "")
	headroom := fs.Int("gc-headroom", gcheadroom.DefaultMiB, "")
	work := fs.Int("lua-work", 0, "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *url == "" {
		fmt.Fprintln(os.Stderr, "smsim-bench bare server: --redis-url: give one (the bare server has no embedded store)")
		return 2
	}
	defer gcheadroom.Start(uint64(max(*headroom, 0)) << 20)()
	rdb, err := core.OpenStore(*url, 5*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, "smsim-bench bare server:", err)
		return 1
	}
	defer rdb.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	b := newBarePhones(rdb, *prefix)
	b.work = strconv.Itoa(max(*work, 0))
	go b.subscribe(ctx)
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "smsim-bench bare server:", err)
		return 1
	}
	hs := &http.Server{Handler: b.routes()}
	go func() { <-ctx.Done(); hs.Close() }()
	if err := hs.Serve(l); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "smsim-bench bare server:", err)
		return 1
	}
	return 0
}

// barePhones is the bare server's state: the sockets by number.
type barePhones struct {
	rdb      redis.UniversalClient
	ap       *redis.AutoPipeliner // nil: every call as it is
	prefix   string
	channel  string
	work     string // the script's cjson.encode calls a delivery
	seq      atomic.Int64
	inFlight atomic.Int64
	upgrader websocket.Upgrader
	ready    atomic.Bool // subscribed

	mu      sync.RWMutex
	sockets map[string]*bareSocket
}

// bareSend stores a message and publishes its frame: KEYS[1] the
// message's hash, KEYS[2] the channel; ARGV from, to, body, the frame
// (published as "<to>\n<frame>"), and a count of cjson.encode calls to
// weigh each delivery by.
var bareSend = redis.NewScript(`
redis.call('HSET', KEYS[1], 'from', ARGV[1], 'to', ARGV[2], 'body', ARGV[3], 'status', 'delivered')
redis.call('PUBLISH', KEYS[2], ARGV[2] .. '\n' .. ARGV[4])
for i = 1, tonumber(ARGV[5]) do cjson.encode({n = i}) end -- work of Lua to weigh a delivery by (--phones-bare-work)
return 1`)

func newBarePhones(rdb redis.UniversalClient, prefix string) *barePhones {
	b := &barePhones{rdb: rdb, prefix: prefix, channel: prefix + ":live", sockets: map[string]*bareSocket{},
		upgrader: websocket.Upgrader{ReadBufferSize: 128, WriteBufferSize: 4096, WriteBufferPool: &sync.Pool{}}}
	if rc, ok := rdb.(*redis.Client); ok && rc.Options().AutoPipelineOptions != nil {
		b.ap, _ = rc.AutoPipeline()
	}
	return b
}

func (b *barePhones) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !b.ready.Load() {
			http.Error(w, "not subscribed yet", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.Handle("GET /metrics", promhttp.Handler())
	mux.HandleFunc("PATCH /admin/v1/faults", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{}\n")
	})
	mux.HandleFunc("POST /gateway/v1/messages", b.send)
	mux.HandleFunc("GET /phones/v1/{phone}/ws", b.socket)
	return mux
}

// send is POST /gateway/v1/messages: {from, to, body}, answered 202 with
// the message's id.
func (b *barePhones) send(w http.ResponseWriter, r *http.Request) {
	var in struct{ From, To, Body string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.To == "" {
		http.Error(w, fmt.Sprintf("a message: %v", err), http.StatusBadRequest)
		return
	}
	id := "m" + strconv.FormatInt(b.seq.Add(1), 10)
	frame, _ := json.Marshal(map[string]any{"id": id, "from": in.From, "to": in.To, "body": in.Body,
		"delivered_at": time.Now().UTC().Format(time.RFC3339Nano)})
	var c redis.Scripter = b.rdb
	if b.inFlight.Add(1) > 1 && b.ap != nil {
		c = b.ap
	}
	err := bareSend.Run(r.Context(), c, []string{b.prefix + ":msg:" + id, b.channel}, in.From, in.To, in.Body, frame, b.work).Err()
	b.inFlight.Add(-1)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, "{\"id\":%q}\n", id)
}

// subscribe hands each frame published to the socket of its number, until
// ctx ends.
func (b *barePhones) subscribe(ctx context.Context) {
	ps := b.rdb.Subscribe(ctx, b.channel)
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "smsim-bench bare server: subscribe:", err)
		return
	}
	b.ready.Store(true)
	for {
		msg, err := ps.ReceiveMessage(ctx)
		if err != nil {
			if ctx.Err() == nil {
				fmt.Fprintln(os.Stderr, "smsim-bench bare server: receive:", err)
			}
			return
		}
		to, frame, ok := bytes.Cut([]byte(msg.Payload), []byte{'\n'})
		if !ok {
			continue
		}
		b.mu.RLock()
		k := b.sockets[string(to)]
		b.mu.RUnlock()
		if k == nil {
			continue
		}
		select {
		case k.out <- frame:
		default: // a phone too slow, or gone: its frame is dropped
		}
	}
}

// bareSocket is a phone's socket: frames to send, and its end.
type bareSocket struct {
	conn *websocket.Conn
	out  chan []byte
	done chan struct{} // closed by the reader as the socket ends
}

// socket is GET /phones/v1/{phone}/ws: the phone's frames, each as it is
// published.
func (b *barePhones) socket(w http.ResponseWriter, r *http.Request) {
	phone := r.PathValue("phone")
	conn, err := b.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	k := &bareSocket{conn: conn, out: make(chan []byte, 16), done: make(chan struct{})}
	b.mu.Lock()
	b.sockets[phone] = k
	b.mu.Unlock()
	go func() { // the writer
		for {
			select {
			case frame := <-k.out:
				conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
				if err := conn.WriteMessage(websocket.TextMessage, frame); err != nil {
					conn.Close() // the reader ends the socket
					return
				}
			case <-k.done:
				return
			}
		}
	}()
	go func() { // the reader: control frames, and the end
		for {
			if _, _, err := conn.NextReader(); err != nil {
				break
			}
		}
		b.mu.Lock()
		if b.sockets[phone] == k {
			delete(b.sockets, phone)
		}
		b.mu.Unlock()
		close(k.done)
		conn.Close()
	}()
}

// has tells whether the phone has a socket.
func (b *barePhones) has(phone string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.sockets[phone] != nil
}
