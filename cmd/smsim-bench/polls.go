package main

// The polls measure: what long polls that wait (GET
// /phones/v1/{phone}/messages/next, nothing on its way to the phone on a
// running clock) cost the process — its RSS and goroutines each, the CPU it
// burns while they wait — and other clients: the p50 of a GET beside them
// against the same process before they came.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// pollsWindow is how long pollsMeasure reads the CPU of the process while
// the polls wait.
const pollsWindow = 10 * time.Second

// pollsMeasure opens n long polls, each on a connection of its own and to a
// phone of its own, that wait for 5 minutes, and reads the process while
// they wait.
func pollsMeasure(ctx context.Context, bin string, storeArgs []string, n int) (scaleResult, error) {
	res := scaleResult{Measure: "polls", Store: storeName(storeArgs), N: n}
	p, err := startSmsim(ctx, bin, storeArgs...)
	if err != nil {
		return res, err
	}
	defer p.stop()
	// a running clock: a poll on a paused one with nothing on its way
	// answers at once
	if _, err := p.do(ctx, http.MethodPut, "/admin/v1/clock", "", map[string]any{"paused": false, "scale": 1}, http.StatusOK); err != nil {
		return res, err
	}
	fresh, err := p.getP50(ctx, 2000)
	if err != nil {
		return res, err
	}
	time.Sleep(time.Second)
	before, err := readAtRest(p)
	if err != nil {
		return res, err
	}

	pctx, cancel := context.WithCancel(ctx)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		client.CloseIdleConnections()
	}()
	answered := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(pctx, http.MethodGet, fmt.Sprintf("%s/phones/v1/137%08d/messages/next?timeout=5m", p.base, i), nil)
			if err != nil {
				answered <- err
				return
			}
			resp, err := client.Do(req)
			if err != nil {
				if pctx.Err() == nil {
					answered <- err
				}
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			answered <- fmt.Errorf("a poll answered %s before the measure ended", resp.Status)
		})
	}
	if err := waitMetric(ctx, p, "smsim_long_polls", float64(n), time.Minute); err != nil {
		return res, err
	}
	time.Sleep(2 * time.Second) // what the requests started settles
	waiting, err := readAtRest(p)
	if err != nil {
		return res, err
	}
	beside, err := p.getP50(ctx, 2000)
	if err != nil {
		return res, err
	}
	select {
	case err := <-answered:
		return res, err
	default:
	}
	perPoll := func(a, b float64) float64 { return (b - a) / float64(n) }
	res.set("rss_mb", waiting.rss/(1<<20))
	res.set("kib_per_poll", perPoll(before.rss, waiting.rss)/1024)
	res.set("stack_kib_per_poll", perPoll(before.mem[memMetrics[0]], waiting.mem[memMetrics[0]])/1024)
	res.set("heap_kib_per_poll", perPoll(before.mem[memMetrics[1]], waiting.mem[memMetrics[1]])/1024)
	res.set("goroutines_per_poll", perPoll(before.goroutines, waiting.goroutines))
	res.set("cpu_percent_before", before.cpuPercent)
	res.set("cpu_percent_waiting", waiting.cpuPercent)
	res.set("fresh_get_p50_ms", float64(fresh.Microseconds())/1000)
	res.set("get_p50_ms", float64(beside.Microseconds())/1000)
	res.set("get_p50_vs_fresh", float64(beside)/float64(fresh))
	return res, nil
}

// atRest is what pollsMeasure reads of the process at a moment: its RSS,
// goroutines, heap and stacks, and the CPU it burns over pollsWindow after.
type atRest struct {
	rss, goroutines, cpuPercent float64
	mem                         map[string]float64 // memMetrics
}

func readAtRest(p *proc) (atRest, error) {
	var r atRest
	rss, _ := p.rss()
	r.rss = float64(rss)
	var err error
	if r.goroutines, err = p.metric("go_goroutines"); err != nil {
		return r, err
	}
	if r.mem, err = p.metrics(memMetrics...); err != nil {
		return r, err
	}
	c0, _ := p.cpu()
	time.Sleep(pollsWindow)
	c1, _ := p.cpu()
	r.cpuPercent = 100 * float64(c1-c0) / float64(pollsWindow)
	return r, nil
}
