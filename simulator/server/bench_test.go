package server_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"smsim/miit"
	"smsim/simulator/core/testkit"
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

// processCPU is the CPU time this process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// storeCPU is the CPU time a real Redis has used, user and system (INFO
// cpu); zero on the embedded store, whose time is the process's.
func storeCPU(b *testing.B, e *env) time.Duration {
	if !testkit.RealRedis() {
		return 0
	}
	info, err := e.rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for line := range strings.Lines(info) {
		for _, field := range []string{"used_cpu_user:", "used_cpu_sys:"} {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), field); ok {
				s, err := strconv.ParseFloat(v, 64)
				if err != nil {
					b.Fatalf("INFO cpu: %q: %v", line, err)
				}
				total += s
			}
		}
	}
	return time.Duration(total * float64(time.Second))
}

// BenchmarkAdvance advances the clock 24 hours over n pending orders of
// two people each, whose syncs are spread over the day: each order's sync
// sends its two codes and delivers them in its own script (no lag) and
// schedules the end of the window a day later, after the rest of its batch
// — which RunDue carries on with, without claiming again. It reports the time per event carried out, which stays level
// as n grows when an advance is linear in its events, and the commands the
// process sends to Redis per event (the calls a script makes inside Redis
// are free), which does not hang on the machine's load. Ten thousand
// orders is the size of the README's target (a 24 h advance over 10,000
// orders' syncs); their submissions take longer than the advance. It reports too the
// CPU time an event costs this process (cpu-ns/event; on the embedded
// store, the store's too) and a real Redis (redis-cpu-ns/event): on a
// shared machine they vary less than the time. On the embedded
// store, or on the real Redis of SMSIM_TEST_REDIS_URL.
func BenchmarkAdvance(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("orders=%d", n), func(b *testing.B) {
			var events float64
			var cpu, store time.Duration // of this process (the store too, when embedded), of a real Redis
			commands, trips := 0, 0
			for b.Loop() {
				b.StopTimer()
				e := newBenchEnv(b)
				var count commandCounter
				e.rdb.AddHook(&count)
				e.patchFaults(`{"sync_lag":{"min":"1m","max":"23h"}}`)
				for i := range n {
					e.submit(firstFilingWebsite(fmt.Sprintf("137%08d", 2*i), fmt.Sprintf("137%08d", 2*i+1)))
				}
				before := activity(families(b, e.reg)["smsim_scheduler_events_total"])
				count.take()
				count.takeBackground()
				count.takeTrips()
				cpu0, store0 := processCPU(b), storeCPU(b, e)
				b.StartTimer()
				e.advance("24h")
				b.StopTimer()
				cpu += processCPU(b) - cpu0
				store += storeCPU(b, e) - store0
				events += activity(families(b, e.reg)["smsim_scheduler_events_total"]) - before
				fg, _ := count.take()
				bg, _ := count.takeBackground()
				commands += fg + bg
				trips += count.takeTrips()
				b.StartTimer()
			}
			b.ReportMetric(events/float64(b.N), "events/op")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
			b.ReportMetric(float64(cpu.Nanoseconds())/events, "cpu-ns/event")
			if testkit.RealRedis() {
				b.ReportMetric(float64(store.Nanoseconds())/events, "redis-cpu-ns/event")
			}
			b.ReportMetric(float64(commands)/events, "commands/event")
			b.ReportMetric(float64(trips)/events, "round-trips/event")
		})
	}
}

// BenchmarkValidate is one validation with a wrong code (until the
// rejection, then not_found answers), with the CPU it costs this process
// (the client's too) and a real Redis.
func BenchmarkValidate(b *testing.B) {
	e := newBenchEnv(b)
	e.fixedLags("30m", "1m")
	e.submit(firstFilingWebsite("13800000001", "13800000002"))
	e.advance("30m")
	cpu0, store0 := processCPU(b), storeCPU(b, e)
	for b.Loop() {
		e.validate("000000", "13800000001", "999999")
	}
	reportCPU(b, e, cpu0, store0, float64(b.N), "op")
}

// BenchmarkValidateBeside100Namespaces is BenchmarkValidate while a hundred
// other namespaces are in use, their clocks paused as a test's usually
// are: read against BenchmarkValidate, it is the cost of namespaces nobody
// drives.
func BenchmarkValidateBeside100Namespaces(b *testing.B) {
	benchValidateBeside(b, 100, false)
}

// BenchmarkValidateBeside100RunningNamespaces is the same with the hundred
// clocks running: the one loop looks at each when something of it falls
// due, nothing between.
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

// BenchmarkScript is one call of a small script (EVALSHA): the unit of
// cost of the simulator's writes; read against BenchmarkRoundTrip.
func BenchmarkScript(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	script := redis.NewScript(`return redis.call('INCR', KEYS[1])`)
	key := e.redis.Prefix + ":bench"
	for b.Loop() {
		if err := script.Run(ctx, e.rdb, []string{key}).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFlow is a complete single-person flow with every lag zero, over
// HTTP: submit, the code on the phone through the long poll, validate.
func BenchmarkFlow(b *testing.B) {
	e := newBenchEnv(b)
	e.patchFaults(`{"sync_lag":{"min":"0s","max":"0s"},"result_sync_lag":{"min":"0s","max":"0s"},"review":{"min":"1h","max":"1h"}}`)
	i := 0
	cpu0, store0 := processCPU(b), storeCPU(b, e)
	for b.Loop() {
		i++
		phone := fmt.Sprintf("1390%07d", i)
		e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(phone)})
		m := polledMessage(b, e.next(phone, "after=start&has_code=true&timeout=10s"))
		if r := e.validate(m.Code, phone, leaderCert); r.Result != miit.ResultComplete {
			b.Fatalf("validation %+v", r)
		}
	}
	reportCPU(b, e, cpu0, store0, float64(b.N), "flow")
}

// BenchmarkPhoneDelivery is a message sent through the gateway's API (no
// delay) and its frame read from its phone's socket, with sockets open to
// 200 phones: what a delivery costs the process (the client's part too),
// in CPU and in bytes allocated, which set how often the collector runs
// under thousands of deliveries a second.
func BenchmarkPhoneDelivery(b *testing.B) {
	e := newBenchEnv(b)
	e.patchFaults(`{"sms_delay":{"min":"0s","max":"0s"}}`)
	const phones = 200
	got := make(chan struct{}, phones)
	for i := range phones {
		c, _, err := websocket.DefaultDialer.Dial(e.wsURL(fmt.Sprintf("139%08d", i)), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
				got <- struct{}{}
			}
		}()
	}
	i := 0
	cpu0, store0 := processCPU(b), storeCPU(b, e)
	b.ReportAllocs()
	for b.Loop() {
		i++
		e.call("POST", "/gateway/v1/messages", map[string]string{"from": "95187", "to": fmt.Sprintf("139%08d", i%phones), "body": "bench"}, 202, nil)
		<-got
	}
	reportCPU(b, e, cpu0, store0, float64(b.N), "delivery")
}

// reportCPU reports the CPU time this process and a real Redis used since
// cpu0 and store0 (processCPU, storeCPU), per unit of n.
func reportCPU(b *testing.B, e *env, cpu0, store0 time.Duration, n float64, unit string) {
	b.ReportMetric(float64((processCPU(b)-cpu0).Nanoseconds())/n, "cpu-ns/"+unit)
	if testkit.RealRedis() {
		b.ReportMetric(float64((storeCPU(b, e)-store0).Nanoseconds())/n, "redis-cpu-ns/"+unit)
	}
}
