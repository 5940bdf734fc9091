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
	rss0, _ := p.rss()
	gor0, err := p.metric("go_goroutines")
	if err != nil {
		return res, err
	}
	m0, err := p.metrics(memMetrics...)
	if err != nil {
		return res, err
	}
	c0, _ := p.cpu()
	time.Sleep(pollsWindow)
	c1, _ := p.cpu()

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
	rss1, _ := p.rss()
	gor1, err := p.metric("go_goroutines")
	if err != nil {
		return res, err
	}
	m1, err := p.metrics(memMetrics...)
	if err != nil {
		return res, err
	}
	c2, _ := p.cpu()
	time.Sleep(pollsWindow)
	c3, _ := p.cpu()
	beside, err := p.getP50(ctx, 2000)
	if err != nil {
		return res, err
	}
	select {
	case err := <-answered:
		return res, err
	default:
	}
	res.set("rss_mb", float64(rss1)/(1<<20))
	res.set("kib_per_poll", float64(rss1-rss0)/float64(n)/1024)
	res.set("stack_kib_per_poll", (m1[memMetrics[0]]-m0[memMetrics[0]])/float64(n)/1024)
	res.set("heap_kib_per_poll", (m1[memMetrics[1]]-m0[memMetrics[1]])/float64(n)/1024)
	res.set("goroutines_per_poll", (gor1-gor0)/float64(n))
	res.set("cpu_percent_before", 100*float64(c1-c0)/float64(pollsWindow))
	res.set("cpu_percent_waiting", 100*float64(c3-c2)/float64(pollsWindow))
	res.set("fresh_get_p50_ms", float64(fresh.Microseconds())/1000)
	res.set("get_p50_ms", float64(beside.Microseconds())/1000)
	res.set("get_p50_vs_fresh", float64(beside)/float64(fresh))
	return res, nil
}
