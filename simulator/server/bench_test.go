package server_test

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkRoundTrip is the baseline of this machine and this Redis: one
// PING. The benchmarks below are best read as ratios against it.
func BenchmarkRoundTrip(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	for b.Loop() {
		if err := e.rdb.Ping(ctx).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAdvanceDayPerEvent advances the clock 24 hours over pending
// deliveries spread across the day; it reports the time per event.
func BenchmarkAdvanceDayPerEvent(b *testing.B) {
	const pending = 2000
	for b.Loop() {
		b.StopTimer()
		e := newBenchEnv(b)
		e.patchFaults(`{"sms_delay":{"min":"1s","max":"23h"}}`)
		for i := range pending {
			e.call("POST", "/gateway/v1/messages", map[string]string{
				"from": "95187", "to": fmt.Sprintf("137%08d", i), "body": "hello"}, 202, nil)
		}
		b.StartTimer()
		e.advance("24h")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pending), "ns/event")
}

// BenchmarkValidate is one validation with a wrong code (until the
// rejection, then not_found answers).
func BenchmarkValidate(b *testing.B) {
	e := newBenchEnv(b)
	e.fixedLags("30m", "1m")
	e.submit(firstFilingWebsite("13800000001", "13800000002"))
	e.advance("30m")
	for b.Loop() {
		e.validate("000000", "13800000001", "999999")
	}
}

// BenchmarkValidateBeside100Namespaces is BenchmarkValidate while a hundred
// other namespaces are in use, their clocks paused as a test's usually
// are: read against BenchmarkValidate, it is the cost of namespaces nobody
// drives.
func BenchmarkValidateBeside100Namespaces(b *testing.B) {
	benchValidateBeside(b, 100, false)
}

// BenchmarkValidateBeside100RunningNamespaces is the same with the hundred
// clocks running: their background loops look every 50ms.
func BenchmarkValidateBeside100RunningNamespaces(b *testing.B) {
	benchValidateBeside(b, 100, true)
}

func benchValidateBeside(b *testing.B, n int, running bool) {
	e := newBenchEnv(b)
	for i := range n {
		in := e.in(fmt.Sprintf("idle-%d", i))
		in.call("PUT", "/admin/v1/clock", map[string]bool{"paused": !running}, 200, nil)
	}
	e.fixedLags("30m", "1m")
	e.submit(firstFilingWebsite("13800000001", "13800000002"))
	e.advance("30m")
	for b.Loop() {
		e.validate("000000", "13800000001", "999999")
	}
}
