package main

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"time"

	"smsim/simulator/client"
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
	var opts []client.Option
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
