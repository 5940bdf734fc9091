package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/core"
	"smsim/simulator/people"
)

// In demo mode the clock runs at demoScale unless --scale says otherwise,
// and a customer arrives every demoArrival of simulated time on average:
// about one every one and a half seconds. The people look at the clock and
// the event log every demoTick (a simulated minute at 60×): each look is
// two requests, and every request is a line of the log.
const (
	demoScale   = 60
	demoArrival = 90 * time.Second
	demoTick    = time.Second
)

// startDemo sets the simulated customers and people of --demo to work on
// the server listening at addr, with the demo's fault profile unless a
// scenario set one. The func it answers stops them and waits for them.
func startDemo(ctx context.Context, c config, seed *int64, addr net.Addr, log *slog.Logger) (func(), error) {
	host := addr.String()
	if ta, ok := addr.(*net.TCPAddr); ok && ta.IP.IsUnspecified() {
		host = net.JoinHostPort("127.0.0.1", strconv.Itoa(ta.Port))
	}
	opts := []client.Option{client.WithHTTPClient(&http.Client{Transport: &demoTransport{}})}
	if c.adminToken != "" {
		opts = append(opts, client.WithToken(c.adminToken))
	}
	api, err := client.New("http://"+host, opts...)
	if err != nil {
		return nil, err
	}
	faults := people.DemoFaults
	if c.scenario != "" {
		faults = "" // the scenario's profile stands
	}
	crowd := people.New(people.Config{API: api, Seed: seed, Log: log, Arrival: demoArrival, Tick: demoTick, Faults: faults})
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := crowd.Run(ctx); err != nil {
			log.Error("demo mode", "err", err)
		}
	}()
	return func() {
		cancel()
		<-done
	}, nil
}

// demoRequest is the prefix of the request ids of the demo's own requests
// (demo-1, demo-2, …), whose lines are logged at debug level only.
const demoRequest = "demo-"

// demoTransport numbers the demo's requests with X-Request-Id.
type demoTransport struct{ n atomic.Int64 }

func (t *demoTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("X-Request-Id", fmt.Sprintf("%s%d", demoRequest, t.n.Add(1)))
	return http.DefaultTransport.RoundTrip(req)
}

// demoQuiet wraps the server's log handler in demo mode: the line of each
// request the demo's people make (an id of demoRequest) is logged at debug
// level, so that --demo at info level logs what happens to the server, not
// every look the people take (dozens of lines a second).
type demoQuiet struct{ slog.Handler }

func (h demoQuiet) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo && strings.HasPrefix(core.RequestID(ctx), demoRequest) {
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, r)
}

func (h demoQuiet) WithAttrs(as []slog.Attr) slog.Handler { return demoQuiet{h.Handler.WithAttrs(as)} }
func (h demoQuiet) WithGroup(name string) slog.Handler    { return demoQuiet{h.Handler.WithGroup(name)} }
