package main

// The scale measures run the smsim binary as a process of its own, so that
// what it holds — resident memory, goroutines, CPU time — is read from it
// alone, not mixed with the clients the bench runs:
//
//   - namespaces: N namespaces each used once (an order submitted, nothing
//     due for half an hour), then the process at rest: its goroutines, the
//     CPU it burns in ten seconds, its RSS, and the p50 of a GET against the
//     same process fresh; with --idle, the same once the namespaces are
//     idle, and the CPU and the most RSS of thirty seconds then;
//   - phones: N phone sockets open at once (the RSS each costs), then
//     messages sent to them at a fixed rate through the gateway's API, each
//     timed from the send to its frame on the phone's socket, after a
//     warm-up of two seconds at that rate, which is not measured.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"
)

// proc is an smsim process the scale measures run.
type proc struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:port
	out  bytes.Buffer
}

// startSmsim starts the binary at path with args on a free loopback port
// and waits until it is ready.
func startSmsim(ctx context.Context, path string, args ...string) (*proc, error) {
	return startProc(ctx, path, nil, args...)
}

// startProc is startSmsim with env added to the process's environment.
func startProc(ctx context.Context, path string, env []string, args ...string) (*proc, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	p := &proc{base: "http://" + addr}
	p.cmd = exec.Command(path, append([]string{"--addr", addr, "--log-level", "warn"}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := httpClient.Get(p.base + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			p.stop()
			return nil, fmt.Errorf("smsim did not become ready: %v\n%s", err, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *proc) stop() {
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// rss answers the process's resident memory, in bytes.
func (p *proc) rss() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// cpu answers the CPU time the process has used.
func (p *proc) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// the fields after the command's name, which is in parentheses
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100, nil // USER_HZ
}

// metric answers the value of an unlabelled metric of /metrics.
func (p *proc) metric(name string) (float64, error) {
	m, err := p.metrics(name)
	return m[name], err
}

// metrics answers the values of unlabelled metrics of /metrics, read at
// once (uncompressed: the measure costs the process little).
func (p *proc) metrics(names ...string) (map[string]float64, error) {
	req, err := http.NewRequest(http.MethodGet, p.base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := make(map[string]float64, len(names))
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if ok && slices.Contains(names, name) {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, err
			}
			out[name] = f
		}
	}
	for _, name := range names {
		if _, ok := out[name]; !ok {
			return nil, fmt.Errorf("no %s in /metrics", name)
		}
	}
	return out, sc.Err()
}

// do sends a request with a JSON body (nil: none) in a namespace ("": the
// default) and checks its status.
func (p *proc) do(ctx context.Context, method, path, namespace string, body any, want int) ([]byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, r)
	if err != nil {
		return nil, err
	}
	if body != nil || method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	if namespace != "" {
		req.Header.Set("X-Smsim-Namespace", namespace)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}

// getP50 answers the median of n GETs of the clock, one after another.
func (p *proc) getP50(ctx context.Context, n int) (time.Duration, error) {
	lats := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		if _, err := p.do(ctx, http.MethodGet, "/admin/v1/clock", "", nil, http.StatusOK); err != nil {
			return 0, err
		}
		lats = append(lats, time.Since(t0))
	}
	slices.Sort(lats)
	return lats[len(lats)/2], nil
}

// buildSmsim builds cmd/smsim into dir, unless path names a binary.
func buildSmsim(ctx context.Context, path, dir string) (string, error) {
	if path != "" {
		return path, nil
	}
	out := filepath.Join(dir, "smsim")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/smsim")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building cmd/smsim (run from the repository's root, or give --smsim): %v\n%s", err, b)
	}
	return out, nil
}

// scaleResult is what a scale measure found.
type scaleResult struct {
	Measure string             `json:"measure"`
	Store   string             `json:"store"`
	N       int                `json:"n"`
	Values  map[string]float64 `json:"values"`
	order   []string
}

func (r *scaleResult) set(name string, v float64) {
	if r.Values == nil {
		r.Values = map[string]float64{}
	}
	r.Values[name] = v
	r.order = append(r.order, name)
}

// idleWindow is how long namespacesMeasure watches an idle process.
const idleWindow = 30 * time.Second

// namespacesMeasure uses n namespaces once each and reads the process at
// rest, then again once they are idle (after --namespace-idle, 1m, and
// the embedded store's packing of their keys).
func namespacesMeasure(ctx context.Context, bin string, storeArgs []string, n, workers int, waitIdle bool) (scaleResult, error) {
	res := scaleResult{Measure: "namespaces", Store: storeName(storeArgs), N: n}
	p, err := startSmsim(ctx, bin, append(storeArgs, "--max-namespaces", strconv.Itoa(n+10), "--namespace-idle", "1m")...)
	if err != nil {
		return res, err
	}
	defer p.stop()
	fresh, err := p.getP50(ctx, 2000)
	if err != nil {
		return res, err
	}
	rss0, _ := p.rss()
	res.set("fresh_rss_mb", float64(rss0)/(1<<20))
	res.set("fresh_get_p50_ms", float64(fresh.Microseconds())/1000)

	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				order := map[string]any{"type": "first_filing", "variant": "app", "entity_leader": map[string]string{
					"name": "Li Lei", "phone": "13800000001", "certificate_number": "110101199003071234"}}
				if _, err := p.do(ctx, http.MethodPost, "/provider/v1/filings", fmt.Sprintf("bench-%d", i), order, http.StatusCreated); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return res, err
	}
	time.Sleep(5 * time.Second) // what the requests started settles
	gor, err := p.metric("go_goroutines")
	if err != nil {
		return res, err
	}
	c0, _ := p.cpu()
	const window = 10 * time.Second
	time.Sleep(window)
	c1, _ := p.cpu()
	rss1, _ := p.rss()
	res.set("goroutines", gor)
	res.set("cpu_percent", 100*float64(c1-c0)/float64(window))
	res.set("rss_mb", float64(rss1)/(1<<20))
	if waitIdle {
		// Past --namespace-idle the process drops the namespaces, writing
		// their keys' lifetimes once more; past another, the embedded store
		// packs their keys (redisstore.Memory.Hibernate, every 10s).
		time.Sleep(3 * time.Minute)
		rss2, _ := p.rss()
		// then what it does with nothing to do: its CPU, and the most
		// memory it holds between collections
		c2, _ := p.cpu()
		rssMax := rss2
		for range idleWindow / time.Second {
			time.Sleep(time.Second)
			if r, err := p.rss(); err == nil {
				rssMax = max(rssMax, r)
			}
		}
		c3, _ := p.cpu()
		got, err := p.getP50(ctx, 2000)
		if err != nil {
			return res, err
		}
		gor2, _ := p.metric("go_goroutines")
		res.set("idle_goroutines", gor2)
		res.set("idle_rss_mb", float64(rss2)/(1<<20))
		res.set("idle_cpu_percent", 100*float64(c3-c2)/float64(idleWindow))
		res.set("idle_rss_max_mb", float64(rssMax)/(1<<20))
		res.set("idle_get_p50_ms", float64(got.Microseconds())/1000)
		res.set("idle_get_p50_vs_fresh", float64(got)/float64(fresh))
	}
	return res, nil
}

// phoneSenders is how many sends phonesMeasure has on their way at most:
// a send due while all are busy is counted as not sent.
const phoneSenders = 512

// phonesWarmup is how long phonesMeasure sends before it measures: the
// clients' connections and smsim's connections to its store are opened
// as the first sends need them, and what those sends wait is the start's
// cost, not the rate's.
const phonesWarmup = 2 * time.Second

// phonesMeasure opens n phone sockets, then sends rate messages a second
// to them through POST /gateway/v1/messages: for phonesWarmup, then for d,
// the sends measured, each timed from the send to its frame.
func phonesMeasure(ctx context.Context, bin string, storeArgs []string, rdb redis.UniversalClient, n, rate int, d time.Duration, trace string) (scaleResult, error) {
	p, err := startSmsim(ctx, bin, storeArgs...)
	if err != nil {
		return scaleResult{Measure: "phones", Store: storeName(storeArgs), N: n}, err
	}
	return phonesOn(ctx, p, scaleResult{Measure: "phones", Store: storeName(storeArgs), N: n}, rdb, n, rate, d, trace)
}

// phonesBareMeasure is the phones measure on the bare phone server
// (bareServe) in smsim's place, this program run again as it, on the
// Redis of storeArgs, with gcHeadroom MiB of headroom, each delivery
// weighed by work calls of cjson.encode in its script.
func phonesBareMeasure(ctx context.Context, storeArgs []string, rdb redis.UniversalClient, n, rate, gcHeadroom, work int, d time.Duration, trace string) (scaleResult, error) {
	res := scaleResult{Measure: "phones (bare server)", Store: storeName(storeArgs), N: n}
	self, err := os.Executable()
	if err != nil {
		return res, err
	}
	p, err := startProc(ctx, self, []string{bareServerEnv + "=1"}, append(storeArgs, "--gc-headroom", strconv.Itoa(gcHeadroom), "--lua-work", strconv.Itoa(work))...)
	if err != nil {
		return res, err
	}
	return phonesOn(ctx, p, res, rdb, n, rate, d, trace)
}

// besideBare adds to the bare server's phones measure (bare, in which the
// smsim_… values are the bare server's) how smsim's (sm) read against it:
// smsim's p99, and its process's and Redis's CPU a delivery, each over the
// bare server's.
func besideBare(bare *scaleResult, sm scaleResult) {
	for _, v := range []struct{ name, of string }{
		{"smsim_p99_ratio", "delivery_p99_ms"},
		{"smsim_cpu_ratio", "smsim_cpu_us_per_delivery"},
		{"smsim_redis_ratio", "redis_cpu_us_per_delivery"},
	} {
		if b := bare.Values[v.of]; b > 0 && sm.Values[v.of] > 0 {
			bare.set(v.name, sm.Values[v.of]/b)
		}
	}
}

// phonesOn runs the phones measure on the server p, which it stops.
func phonesOn(ctx context.Context, p *proc, res scaleResult, rdb redis.UniversalClient, n, rate int, d time.Duration, trace string) (scaleResult, error) {
	defer p.stop()
	if _, err := p.do(ctx, http.MethodPatch, "/admin/v1/faults", "", map[string]any{
		"sms_delay": map[string]string{"min": "0s", "max": "0s"}}, http.StatusOK); err != nil {
		return res, err
	}
	// settle the process's own start before reading its memory
	time.Sleep(time.Second)
	rss0, _ := p.rss()
	stack0, _ := p.metric("go_memstats_stack_inuse_bytes")
	heap0, _ := p.metric("go_memstats_heap_inuse_bytes")
	phone := func(i int) string { return fmt.Sprintf("139%08d", i) }
	sent := make([]atomic.Int64, n) // the UnixNano at which the latest message to phone i was sent
	var measureFrom atomic.Int64    // the UnixNano from which sends are measured: none before the warm-up
	var (
		lmu    sync.Mutex
		lats   []time.Duration
		sentAt []time.Duration // of each of lats, from the measure's start
	)
	dialer := websocket.Dialer{ReadBufferSize: 512, WriteBufferSize: 512}
	ws := strings.Replace(p.base, "http://", "ws://", 1)
	conns := make([]*websocket.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range n {
		c, _, err := dialer.DialContext(ctx, ws+"/phones/v1/"+phone(i)+"/ws", nil)
		if err != nil {
			return res, fmt.Errorf("socket %d: %w", i, err)
		}
		conns = append(conns, c)
		go func() {
			for {
				// read, and let go: nothing a frame allocates
				if _, r, err := c.NextReader(); err != nil {
					return
				} else if _, err := io.Copy(io.Discard, r); err != nil {
					return
				}
				if t := sent[i].Load(); t != 0 && t >= measureFrom.Load() {
					lmu.Lock()
					lats = append(lats, time.Since(time.Unix(0, t)))
					sentAt = append(sentAt, time.Duration(t-measureFrom.Load()))
					lmu.Unlock()
				}
			}
		}()
	}
	time.Sleep(2 * time.Second)
	rss1, _ := p.rss()
	gor, _ := p.metric("go_goroutines")
	res.set("rss_mb", float64(rss1)/(1<<20))
	stack1, _ := p.metric("go_memstats_stack_inuse_bytes")
	heap1, _ := p.metric("go_memstats_heap_inuse_bytes")
	res.set("kib_per_socket", float64(rss1-rss0)/float64(n)/1024)
	res.set("stack_kib_per_socket", (stack1-stack0)/float64(n)/1024)
	res.set("heap_kib_per_socket", (heap1-heap0)/float64(n)/1024)
	res.set("goroutines", gor)

	// open loop: send i is due at start + i/rate, each on its own goroutine;
	// the driver wakes every millisecond and sends what has fallen due (a
	// ticker of 1/rate would drop the ticks it missed)
	measureFrom.Store(math.MaxInt64)
	ctx, cancel := context.WithTimeout(ctx, phonesWarmup+d)
	defer cancel()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	var (
		sends, failed atomic.Int64
		wg            sync.WaitGroup
		due           = make(chan int) // the phone of a send due; taken only by an idle sender
	)
	start := time.Now()
	from := start.Add(phonesWarmup)
	measureFrom.Store(from.UnixNano())
	// the senders: long-lived, so that none grows its stack anew for each
	// request (a goroutine a send cost this process a tenth of its CPU in
	// stack growth)
	for range phoneSenders {
		wg.Go(func() {
			for k := range due {
				t := time.Now()
				sent[k].Store(t.UnixNano())
				measured := !t.Before(from)
				if _, err := p.do(context.Background(), http.MethodPost, "/gateway/v1/messages", "",
					map[string]string{"from": "95187", "to": phone(k), "body": "bench"}, http.StatusAccepted); err != nil {
					if measured {
						failed.Add(1)
					}
					continue
				}
				if measured {
					sends.Add(1)
				}
			}
		})
	}
	// the collections of smsim and of this process during the measure: a
	// collection's mark, with 10,000 sockets, sets the tail of the measure
	// it falls in
	gcs0 := make(chan [2]float64, 1)
	cpu0 := make(chan cpuShares, 1)
	go func() {
		time.Sleep(time.Until(from))
		smsimGCs, _ := p.metric("go_gc_duration_seconds_count")
		gcs0 <- [2]float64{smsimGCs, float64(driverGCs())}
		cpu0 <- readCPUShares(p, rdb)
	}()
	for i := 0; ctx.Err() == nil; {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		for upTo := int(time.Since(start).Seconds() * float64(rate)); i < upTo && ctx.Err() == nil; i++ {
			select {
			case due <- i % n:
			default:
				if !time.Now().Before(from) {
					failed.Add(1) // the driver itself cannot keep up: count it
				}
			}
		}
	}
	cpu1 := readCPUShares(p, rdb) // as the last sends are due, before the stragglers
	close(due)
	wg.Wait()
	elapsed := time.Since(from)
	smsimGCs, _ := p.metric("go_gc_duration_seconds_count")
	driverGCs1 := float64(driverGCs())
	time.Sleep(time.Second) // the last frames
	lmu.Lock()
	got := slices.Clone(lats)
	if trace != "" {
		if err := writeTrace(trace, from, sentAt, lats); err != nil {
			lmu.Unlock()
			return res, err
		}
	}
	lmu.Unlock()
	slices.Sort(got)
	pct := func(q float64) float64 {
		if len(got) == 0 {
			return 0
		}
		return float64(got[min(len(got)-1, int(q*float64(len(got))))].Microseconds()) / 1000
	}
	res.set("sent_per_s", float64(sends.Load())/elapsed.Seconds())
	res.set("delivered_per_s", float64(len(got))/elapsed.Seconds())
	res.set("not_sent", float64(failed.Load()))
	res.set("delivery_p50_ms", pct(0.5))
	res.set("delivery_p99_ms", pct(0.99))
	if g := <-gcs0; g[0] > 0 {
		res.set("smsim_gcs_in_measure", smsimGCs-g[0])
		res.set("driver_gcs_in_measure", driverGCs1-g[1])
	}
	if c0 := <-cpu0; len(got) > 0 {
		c0.report(&res, cpu1, float64(sends.Load()))
	}
	return res, nil
}

// cpuShares is the CPU time smsim, this process (the driver), a real Redis
// and the machine's cores had used at a moment, to tell, over a measure,
// what each of them took of the cores and what a delivery cost each.
type cpuShares struct {
	at                          time.Time
	smsim, driver, redis        time.Duration
	machineBusy, machineAll     time.Duration // every CPU's, from /proc/stat; 0 where there is none
	haveSmsim, haveRedis, haveM bool
}

// readCPUShares reads them now; rdb is the real Redis smsim runs on, nil
// for the embedded store (in smsim's process).
func readCPUShares(p *proc, rdb redis.UniversalClient) cpuShares {
	c := cpuShares{at: time.Now(), driver: processCPU()}
	var err error
	c.smsim, err = p.cpu()
	c.haveSmsim = err == nil
	if rdb != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c.redis = storeCPU(ctx, rdb)
		cancel()
		c.haveRedis = c.redis > 0
	}
	c.machineBusy, c.machineAll, c.haveM = machineCPU()
	return c
}

// report sets what each took of a core over the measure from c to end,
// and what each delivery (of n sent) cost it, in µs: smsim_cpu_share and
// smsim_cpu_us_per_delivery, and the same for the driver and Redis; and
// how busy the machine's cores were (machine_busy, 0 to 1).
func (c cpuShares) report(res *scaleResult, end cpuShares, n float64) {
	wall := end.at.Sub(c.at).Seconds()
	if wall <= 0 || n <= 0 {
		return
	}
	each := func(name string, d time.Duration) {
		res.set(name+"_cpu_share", d.Seconds()/wall)
		res.set(name+"_cpu_us_per_delivery", float64(d.Microseconds())/n)
	}
	if c.haveSmsim {
		each("smsim", end.smsim-c.smsim)
	}
	each("driver", end.driver-c.driver)
	if c.haveRedis {
		each("redis", end.redis-c.redis)
	}
	if c.haveM && end.machineAll > c.machineAll {
		res.set("machine_busy", float64(end.machineBusy-c.machineBusy)/float64(end.machineAll-c.machineAll))
	}
}

// machineCPU answers the time the machine's CPUs have spent busy and in
// all since it started, from /proc/stat (Linux); false elsewhere.
func machineCPU() (busy, all time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, false
	}
	var total, idle int64
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		if i == 8 || i == 9 { // guest and guest_nice are counted in user and nice already
			continue
		}
		total += n
		if i == 3 || i == 4 { // idle, iowait
			idle += n
		}
	}
	tick := time.Second / 100 // USER_HZ
	return time.Duration(total-idle) * tick, time.Duration(total) * tick, true
}

// driverGCs answers how many collections this process has finished.
func driverGCs() uint32 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.NumGC
}

// writeTrace writes to file a line for each delivery: when it was sent,
// in ms from the measure's start (from, whose Unix time in ms the first
// line gives, to set the trace beside what else was recorded meanwhile),
// and its latency in µs.
func writeTrace(file string, from time.Time, sentAt, lats []time.Duration) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# start_unix_ms %d\n", from.UnixMilli())
	b.WriteString("# sent_ms latency_us\n")
	for i, l := range lats {
		fmt.Fprintf(&b, "%d %d\n", sentAt[i].Milliseconds(), l.Microseconds())
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("--phones-trace: %w", err)
	}
	return nil
}

// storeName names the store of an smsim started with storeArgs.
func storeName(storeArgs []string) string {
	if len(storeArgs) == 0 {
		return "embedded"
	}
	return "redis"
}

// scaleStoreArgs answers the flags that start smsim on a store, with the
// key prefix of a real Redis, whose keys dropKeys deletes after.
func scaleStoreArgs(store, url, prefix string) []string {
	if store == "embedded" {
		return nil
	}
	return []string{"--redis-url", url, "--key-prefix", prefix}
}

// printScale prints the scale measures.
func printScale(w io.Writer, rs []scaleResult) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintln(w)
	for _, r := range rs {
		fmt.Fprintf(w, "%s ×%d (%s):", r.Measure, r.N, r.Store)
		for _, name := range r.order {
			fmt.Fprintf(w, " %s=%.4g", name, r.Values[name])
		}
		fmt.Fprintln(w)
	}
}
