package main

// The soak measure runs an open loop of complete flows for a long while on
// the smsim binary in a process of its own, started with a short
// --retention, and reads the process's resident memory and the Redis
// server's used memory as it goes: with every key of a finished flow
// expiring, both must level off. It reports the growth of the second half
// of the run — the mean of the last three readings against the mean of the
// three around the middle — and how the flows ended: every one approved,
// none lost in flight.

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"smsim/simulator/core"
	"smsim/simulator/load"
	"smsim/simulator/people"
)

// soakConfig is what --soak asks for.
type soakConfig struct {
	d         time.Duration // how long flows start
	rate      float64       // flows a second
	retention time.Duration // smsim's --retention
	every     time.Duration // how often memory is read
}

// soakSample is one reading of memory during a soak.
type soakSample struct {
	at      time.Duration // since the run began
	rssMB   float64       // the smsim process's
	redisMB float64       // the Redis server's used_memory (0 on the embedded store)
}

// soakMeasure runs c.rate single-person flows a second for c.d against
// the binary on the store of storeArgs (the Redis server at url, when
// there is one), and reads memory every c.every.
func soakMeasure(ctx context.Context, bin string, storeArgs []string, url string, c soakConfig, progress io.Writer) (scaleResult, error) {
	res := scaleResult{Measure: "soak", Store: storeName(storeArgs), N: int(c.rate * c.d.Seconds())}
	p, err := startSmsim(ctx, bin, append(storeArgs, "--retention", c.retention.String())...)
	if err != nil {
		return res, err
	}
	defer p.stop()
	redisMB := func() float64 { return 0 }
	if url != "" && storeName(storeArgs) == "redis" {
		rdb, err := core.OpenStore(url, 0)
		if err != nil {
			return res, err
		}
		defer rdb.Close()
		redisMB = func() float64 {
			info, err := rdb.Info(ctx, "memory").Result()
			if err != nil {
				return 0
			}
			for line := range strings.SplitSeq(info, "\r\n") {
				if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
					n, _ := strconv.ParseFloat(v, 64)
					return n / (1 << 20)
				}
			}
			return 0
		}
	}

	type outcome struct {
		rep *load.Report
		err error
	}
	done := make(chan outcome, 1)
	start := time.Now()
	go func() {
		rep, err := load.Run(ctx, load.Config{Target: p.base, Rate: c.rate, Ramp: min(10*time.Second, c.d), Duration: c.d,
			Types: []people.Kind{{Type: "first_filing", Variant: "app", Weight: 1}},
			Mix:   map[people.Personality]int{people.Prompt: 1}, Listen: load.ListenPoll})
		done <- outcome{rep, err}
	}()
	var samples []soakSample
	read := func() {
		rss, _ := p.rss()
		s := soakSample{at: time.Since(start).Round(time.Second), rssMB: float64(rss) / (1 << 20), redisMB: redisMB()}
		samples = append(samples, s)
		fmt.Fprintf(progress, "soak %-6s rss %7.1f MB  redis %7.1f MB\n", s.at, s.rssMB, s.redisMB)
	}
	t := time.NewTicker(c.every)
	defer t.Stop()
	var out outcome
wait:
	for {
		select {
		case out = <-done:
			break wait
		case <-t.C:
			if time.Since(start) <= c.d {
				read()
			}
		}
	}
	if out.err != nil {
		return res, out.err
	}
	rep := out.rep
	res.set("flows", float64(rep.Flows.Started))
	res.set("flows_per_s", float64(rep.Flows.Completed)/c.d.Seconds())
	res.set("approved", float64(rep.Outcomes.Approved))
	res.set("canceled", float64(rep.Outcomes.Canceled))
	res.set("errors", float64(rep.Outcomes.Error))
	res.set("unfinished", float64(rep.Outcomes.Unfinished))
	for _, e := range rep.Errors {
		fmt.Fprintf(progress, "soak: %d flows failed: %s (%s)\n", e.Count, e.Kind, e.Example)
	}
	res.set("flow_p99_ms", rep.Latency[load.LatFlow].P99)
	if len(samples) < 6 {
		return res, fmt.Errorf("%d readings of memory: run longer than 6 × %s", len(samples), c.every)
	}
	mid, end := meanAround(samples, len(samples)/2), meanAround(samples, len(samples)-2)
	res.set("rss_mb_mid", mid.rssMB)
	res.set("rss_mb_end", end.rssMB)
	res.set("rss_growth_pct", 100*(end.rssMB-mid.rssMB)/mid.rssMB)
	if mid.redisMB > 0 {
		res.set("redis_mb_mid", mid.redisMB)
		res.set("redis_mb_end", end.redisMB)
		res.set("redis_growth_pct", 100*(end.redisMB-mid.redisMB)/mid.redisMB)
	}
	return res, nil
}

// meanAround answers the mean of the readings i-1, i and i+1.
func meanAround(s []soakSample, i int) soakSample {
	var m soakSample
	for _, x := range s[i-1 : i+2] {
		m.rssMB += x.rssMB / 3
		m.redisMB += x.redisMB / 3
	}
	return m
}
