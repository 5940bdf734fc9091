// Command smsim-bench measures, in one run on one machine, what smsim's
// speed is best read against, and smsim itself, and prints each as a ratio:
//
//   - a bare net/http handler that answers JSON (the ceiling of any HTTP API
//     here);
//   - a bare Redis round trip (PING) on each store;
//   - the validation endpoint (POST /miit/v1/validations), on each store;
//   - the bare handler with the validation's own script call inside, as
//     smsim sends it (ceiling.go): the validation endpoint without smsim's
//     Go, its ceiling;
//   - complete single-person flows with every lag zero — submit, the code on
//     the phone through the long poll, validate — on each store.
//
// With --namespaces and --phones it also runs the scale measures, on the
// smsim binary in a process of its own (scale.go): namespaces used once
// (goroutines, CPU at rest, RSS, a GET's p50 against a fresh process), and
// phone sockets (RSS, stack and heap each) with deliveries to them at
// --phone-rate (each timed from the send to its frame on the socket, after a
// warm-up at that rate). With
// --stalled, sockets of /ws/events that never read (stalled.go): what each
// costs, how soon the server drops them, and the p50 of other clients
// beside them against the same clients alone. With --polls, long polls
// that wait (polls.go): what each costs, the CPU while they wait, and a
// GET's p50 beside them.
//
// The stores are the embedded one (miniredis, in process, as `smsim` runs by
// default) and, with --redis-url, a real Redis (under a key prefix of the
// run's own, deleted at the end). Each measure runs closed loops of
// --workers clients for --duration; the validation endpoint runs in turns
// with the bare handler (interleaved), and its ratio is to the bare
// handler's rate in those turns. Each measure also gives the CPU time a
// call took, this process's and a real Redis's (INFO cpu). Machines are
// shared and noisy: read the ratios, which are measured in the same run,
// rather than the rates.
//
//	go run ./cmd/smsim-bench --redis-url redis://127.0.0.1:6379/0
//	go run ./cmd/smsim-bench --namespaces 2000,10000 --idle --phones 10000
//	go run ./cmd/smsim-bench --stalled 5000
//
// With SMSIM_BENCH_CPUPROFILE set to a file, it writes a CPU profile of the
// whole run there (go tool pprof).
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"smsim/cmd/internal/gcheadroom"
	"smsim/simulator"
	"smsim/simulator/client"
	"smsim/simulator/core"
	"smsim/simulator/core/redisstore"
	"smsim/simulator/server"
)

func main() {
	if os.Getenv(bareServerEnv) != "" {
		os.Exit(bareServe(os.Args[1:]))
	}
	if p := os.Getenv("SMSIM_BENCH_CPUPROFILE"); p != "" {
		f, _ := os.Create(p)
		pprof.StartCPUProfile(f)
		code := run(os.Args[1:], os.Stdout, os.Stderr)
		pprof.StopCPUProfile()
		os.Exit(code)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// config is what a run is told.
type config struct {
	redisURL string
	duration time.Duration
	workers  int
	jsonOut  bool
	stores   string

	namespaces []int // the scale measures: counts of namespaces, phones
	phones     int
	phoneRate  int
	stalled    int
	polls      int
	idle       bool
	soak       soakConfig
	smsim      string
	gcHeadroom int

	scaleOnly   bool   // only the scale measures
	phonesTrace string // with phones: a file for each delivery's time and latency
	phonesBare  bool   // with phones: the bare phone server measured too
	bareWork    int    // with phonesBare: cjson.encode calls added to each of its deliveries
}

func run(args []string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("smsim-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.redisURL, "redis-url", os.Getenv("SMSIM_REDIS_URL"), "a real Redis to measure beside the embedded store (redis://host:port/db, or redis+cluster://host:port for a Redis Cluster); empty: the embedded store only")
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "how long each measure runs")
	fs.IntVar(&c.workers, "workers", 32, "clients in each closed loop")
	fs.BoolVar(&c.jsonOut, "json", false, "print the results as JSON")
	fs.StringVar(&c.stores, "stores", "", "the stores to measure, of embedded and redis (default: embedded, and redis with --redis-url)")
	fs.Func("namespaces", "also measure, for each count of this comma-separated list, that many namespaces used once (the smsim binary in a process of its own)", func(v string) error {
		for f := range strings.SplitSeq(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				return fmt.Errorf("%q is not a count of namespaces", f)
			}
			c.namespaces = append(c.namespaces, n)
		}
		return nil
	})
	fs.BoolVar(&c.idle, "idle", false, "with --namespaces, also wait until the namespaces are idle (past --namespace-idle, 1m) and measure again")
	fs.IntVar(&c.phones, "phones", 0, "also measure that many phone sockets open at once, and deliveries to them (the smsim binary in a process of its own)")
	fs.IntVar(&c.phoneRate, "phone-rate", 5000, "with --phones, messages sent a second")
	fs.DurationVar(&c.soak.d, "soak", 0, "also run complete flows at --soak-rate for this long (10m, say) on the smsim binary started with --retention --soak-retention, and read its memory and Redis's as it goes")
	fs.Float64Var(&c.soak.rate, "soak-rate", 500, "with --soak, flows started a second")
	fs.DurationVar(&c.soak.retention, "soak-retention", time.Minute, "with --soak, smsim's --retention")
	fs.IntVar(&c.stalled, "stalled", 0, "also measure that many sockets of /ws/events that never read: what each costs, how soon they are dropped, and other clients' p50 beside them (the smsim binary in a process of its own)")
	fs.IntVar(&c.polls, "polls", 0, "also measure that many long polls waiting at once: what each costs, the CPU while they wait, and a GET's p50 beside them (the smsim binary in a process of its own)")
	fs.BoolVar(&c.scaleOnly, "scale-only", false, "run only the scale measures asked for (--namespaces, --phones, --stalled, --polls, --soak), not the bare handler's and each store's")
	fs.BoolVar(&c.phonesBare, "phones-bare", false, "with --phones on a real Redis, measure the bare phone server too, after smsim: the least a gateway that keeps its messages in Redis and pushes them to websockets does (a script call that stores and publishes, a subscriber, a writer a socket), the ceiling of smsim's deliveries on the machine")
	fs.IntVar(&c.bareWork, "phones-bare-work", 0, "with --phones-bare, this many calls of cjson.encode added to the bare server's script, to weigh each delivery on Redis: what a delivery may cost Redis before the tail grows past a bound")
	fs.StringVar(&c.phonesTrace, "phones-trace", "", "with --phones, write to this file a line for each delivery measured: when it was sent (ms from the measure's start) and its latency (µs), to see when the slow ones came")
	fs.StringVar(&c.smsim, "smsim", "", "the smsim binary the scale measures run (default: built from ./cmd/smsim)")
	fs.IntVar(&c.gcHeadroom, "gc-headroom", gcheadroom.DefaultMiB, "MiB this process's heap may grow by between two garbage collections, at least, as smsim's does by default (its smsim runs in it, and it drives the others): 0, as GOGC says")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if c.gcHeadroom < 0 {
		fmt.Fprintln(stderr, "smsim-bench: --gc-headroom must be 0 or more MiB")
		return 2
	}
	defer gcheadroom.Start(uint64(c.gcHeadroom) << 20)()
	if c.duration <= 0 || c.workers < 1 {
		fmt.Fprintln(stderr, "smsim-bench: --duration must be more than 0 and --workers at least 1")
		return 2
	}
	if c.scaleOnly && len(c.namespaces) == 0 && c.phones == 0 && c.stalled == 0 && c.polls == 0 && c.soak.d == 0 {
		fmt.Fprintln(stderr, "smsim-bench: --scale-only: ask for a scale measure (--namespaces, --phones, --stalled, --polls or --soak)")
		return 2
	}
	if c.phonesTrace != "" && c.phones == 0 {
		fmt.Fprintln(stderr, "smsim-bench: --phones-trace needs --phones")
		return 2
	}
	if c.bareWork < 0 || c.bareWork > 0 && !c.phonesBare {
		fmt.Fprintln(stderr, "smsim-bench: --phones-bare-work: at least 0, and with --phones-bare")
		return 2
	}
	if c.phonesBare && (c.phones == 0 || c.redisURL == "") {
		fmt.Fprintln(stderr, "smsim-bench: --phones-bare needs --phones and --redis-url")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var results []result
	add := func(r result, err error) bool {
		if err != nil {
			fmt.Fprintf(stderr, "smsim-bench: %s on %s: %v\n", r.Measure, r.Store, err)
			return false
		}
		results = append(results, r)
		fmt.Fprintf(stderr, "%-22s %-9s %10.0f/s  p50 %8.3fms  p99 %8.3fms\n", r.Measure, r.Store, r.PerSecond, r.P50ms, r.P99ms)
		return true
	}
	if !c.scaleOnly && !add(bareHTTP(ctx, c)) {
		return 1
	}
	stores := []string{"embedded"}
	if c.redisURL != "" {
		stores = append(stores, "redis")
	}
	if c.stores != "" {
		stores = strings.Split(c.stores, ",")
		for _, st := range stores {
			if st != "embedded" && (st != "redis" || c.redisURL == "") {
				fmt.Fprintf(stderr, "smsim-bench: --stores: %q is not embedded, or redis with --redis-url\n", st)
				return 2
			}
		}
		if c.phonesBare && !slices.Contains(stores, "redis") {
			fmt.Fprintln(stderr, "smsim-bench: --phones-bare: the bare phone server runs on a real Redis; give --stores with redis")
			return 2
		}
	}
	var lua []redisLua
	for _, store := range stores {
		if c.scaleOnly {
			break
		}
		st, err := openStore(ctx, store, c.redisURL)
		if err != nil {
			fmt.Fprintf(stderr, "smsim-bench: %s: %v\n", store, err)
			return 1
		}
		ok := add(bareRedis(ctx, c, st)) && add(bareScript(ctx, c, st)) && add(validation(ctx, c, st)) && add(validationScript(ctx, c, st)) && add(flows(ctx, c, st))
		if st.mini == nil {
			if held, err := luaHeld(ctx, st); err == nil {
				lua = append(lua, held)
			}
		}
		st.close()
		if !ok {
			return 1
		}
	}
	scale, err := scaleMeasures(ctx, c, stores, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "smsim-bench: %v\n", err)
		return 1
	}
	report(stdout, c, results, scale, lua)
	return 0
}

// redisLua is what a real Redis's Lua holds after the measures: the
// scripts it caches for EVALSHA and the libraries of functions FCALL calls
// (INFO memory: used_memory_vm_eval, used_memory_vm_functions). Redis steps
// each Lua's collector every 50 calls, through all it holds, so a call
// costs more on a Redis that holds more: compare builds on a Redis emptied
// of both first (SCRIPT FLUSH, FUNCTION FLUSH; cmd/smsim-bench/README.md).
type redisLua struct {
	Store       string `json:"store"`
	ScriptsKB   int64  `json:"scripts_kb"`
	FunctionsKB int64  `json:"functions_kb"`
}

// luaHeld reads what st's Redis's Lua holds.
func luaHeld(ctx context.Context, st *store) (redisLua, error) {
	held := redisLua{Store: st.name}
	info, err := st.rdb.Info(ctx, "memory").Result()
	if err != nil {
		return held, err
	}
	for line := range strings.Lines(info) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil:
		case k == "used_memory_vm_eval":
			held.ScriptsKB = n >> 10
		case k == "used_memory_vm_functions":
			held.FunctionsKB = n >> 10
		}
	}
	return held, nil
}

// scaleMeasures runs the scale measures asked for on each store.
func scaleMeasures(ctx context.Context, c config, stores []string, stderr io.Writer) ([]scaleResult, error) {
	if len(c.namespaces) == 0 && c.phones == 0 && c.stalled == 0 && c.polls == 0 && c.soak.d == 0 {
		return nil, nil
	}
	dir, err := os.MkdirTemp("", "smsim-bench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin, err := buildSmsim(ctx, c.smsim, dir)
	if err != nil {
		return nil, err
	}
	var out []scaleResult
	add := func(r scaleResult, err error) error {
		if err != nil {
			return fmt.Errorf("%s ×%d on %s: %w", r.Measure, r.N, r.Store, err)
		}
		out = append(out, r)
		printScale(stderr, []scaleResult{r})
		return nil
	}
	for _, store := range stores {
		var b [6]byte
		rand.Read(b[:])
		prefix := "smsimbench-" + hex.EncodeToString(b[:])
		args := scaleStoreArgs(store, c.redisURL, prefix)
		for _, n := range c.namespaces {
			err := add(namespacesMeasure(ctx, bin, args, n, c.workers, c.idle))
			dropKeys(c.redisURL, store, prefix)
			if err != nil {
				return out, err
			}
		}
		if c.phones > 0 {
			var rdb redis.UniversalClient // Redis's CPU, read over the measure
			if store == "redis" {
				r, err := core.OpenStore(c.redisURL, 0)
				if err != nil {
					return out, err
				}
				rdb = r
			}
			err := add(phonesMeasure(ctx, bin, args, rdb, c.phones, c.phoneRate, c.duration, c.phonesTrace))
			dropKeys(c.redisURL, store, prefix)
			if err == nil && c.phonesBare && rdb != nil {
				trace := c.phonesTrace
				if trace != "" {
					trace += ".bare"
				}
				r, berr := phonesBareMeasure(ctx, args, rdb, c.phones, c.phoneRate, c.gcHeadroom, c.bareWork, c.duration, trace)
				if berr == nil {
					besideBare(&r, out[len(out)-1])
				}
				err = add(r, berr)
				dropKeys(c.redisURL, store, prefix)
			}
			if rdb != nil {
				rdb.Close()
			}
			if err != nil {
				return out, err
			}
		}
		if c.stalled > 0 {
			err := add(stalledMeasure(ctx, bin, args, c.stalled, c.duration))
			dropKeys(c.redisURL, store, prefix)
			if err != nil {
				return out, err
			}
		}
		if c.polls > 0 {
			err := add(pollsMeasure(ctx, bin, args, c.polls))
			dropKeys(c.redisURL, store, prefix)
			if err != nil {
				return out, err
			}
		}
		if c.soak.d > 0 {
			c.soak.every = max(c.soak.d/20, time.Second)
			err := add(soakMeasure(ctx, bin, args, c.redisURL, c.soak, stderr))
			dropKeys(c.redisURL, store, prefix)
			if err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// dropKeys deletes the keys a scale measure left in a real Redis.
func dropKeys(url, store, prefix string) {
	if store != "redis" {
		return
	}
	rdb, err := core.OpenStore(url, 0)
	if err != nil {
		return
	}
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	core.ScanKeys(ctx, rdb, prefix+":*", 1, func(ctx context.Context, c redis.Cmdable, keys []string) error {
		return c.Del(ctx, keys...).Err()
	})
}

// result is one measure on one store.
type result struct {
	Measure   string  `json:"measure"`
	Store     string  `json:"store"` // "", embedded or redis
	Count     int64   `json:"count"`
	PerSecond float64 `json:"per_second"`
	P50ms     float64 `json:"p50_ms"`
	P99ms     float64 `json:"p99_ms"`
	// BarePerSecond is the bare handler's rate, measured in turns with this
	// measure (interleaved); 0: measured once, at the start.
	BarePerSecond float64 `json:"bare_per_second,omitempty"`
	// CPUus is the CPU time this process spent a call, in µs: the driver's
	// and the server's, the embedded store's too. RedisCPUus is a real
	// Redis's (INFO cpu), on that store only.
	CPUus      float64 `json:"cpu_us_per_call"`
	RedisCPUus float64 `json:"redis_cpu_us_per_call,omitempty"`
}

// loop runs op in a closed loop of c.workers for c.duration and answers its
// rate and latencies; worker i calls op(i, n) with n counting its calls.
func loop(ctx context.Context, c config, measure, store string, op func(ctx context.Context, worker, n int) error) (result, error) {
	return loopOn(ctx, c, measure, store, nil, op)
}

// loopOn is loop on a real Redis (rdb; nil for none), whose CPU it reads
// too.
func loopOn(ctx context.Context, c config, measure, store string, rdb redis.UniversalClient, op func(ctx context.Context, worker, n int) error) (result, error) {
	smp := sample{redis: rdb}
	if err := smp.run(ctx, c, c.duration, op); err != nil {
		return result{Measure: measure, Store: store}, err
	}
	return smp.result(measure, store), nil
}

// interleaved measures op and the bare handler (bare) in turns, each for
// c.duration in all, in slices of interleaveSlice: both see the machine as
// it is at the same moments, so the one's rate over the other's is not
// the noise of a shared machine between two moments. It answers op's
// result, with the bare handler's rate.
func interleaved(ctx context.Context, c config, measure, store string, rdb redis.UniversalClient, bare, op func(ctx context.Context, worker, n int) error) (result, error) {
	a, b := sample{redis: rdb}, sample{}
	for left := c.duration; left > 0; left -= interleaveSlice {
		d := min(left, interleaveSlice)
		if err := b.run(ctx, c, d, bare); err != nil {
			return result{Measure: measure, Store: store}, fmt.Errorf("the bare handler beside it: %w", err)
		}
		if err := a.run(ctx, c, d, op); err != nil {
			return result{Measure: measure, Store: store}, err
		}
	}
	r := a.result(measure, store)
	r.BarePerSecond = b.result("", "").PerSecond
	return r, nil
}

// interleaveSlice is how long each turn of an interleaved measure runs.
const interleaveSlice = time.Second

// sample holds the calls of a measure, over one or more runs.
type sample struct {
	lats     []time.Duration
	elapsed  time.Duration
	cpu      time.Duration         // this process's in the runs
	redisCPU time.Duration         // redis's in the runs
	redis    redis.UniversalClient // a real Redis whose CPU to read, or nil
}

// run adds to smp the calls of op in a closed loop of c.workers for d.
func (smp *sample) run(ctx context.Context, c config, d time.Duration, op func(ctx context.Context, worker, n int) error) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu      sync.Mutex
		firstEr atomic.Value
		wg      sync.WaitGroup
	)
	cpu0, redis0 := processCPU(), storeCPU(ctx, smp.redis)
	start := time.Now()
	for w := range c.workers {
		wg.Go(func() {
			var mine []time.Duration
			for n := 0; ctx.Err() == nil; n++ {
				t0 := time.Now()
				if err := op(ctx, w, n); err != nil {
					if !cutOff(ctx, err) {
						firstEr.CompareAndSwap(nil, err)
						cancel()
					}
					break
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			smp.lats = append(smp.lats, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	smp.elapsed += time.Since(start)
	smp.cpu += processCPU() - cpu0
	smp.redisCPU += storeCPU(context.WithoutCancel(ctx), smp.redis) - redis0
	if err, ok := firstEr.Load().(error); ok {
		return err
	}
	return nil
}

// cutOff reports whether a call's error err is the measure's end (ctx's)
// cutting the call short rather than a failure: a connection's deadline,
// the context's, can fail a read or a write once the deadline has passed
// but before the context's timer says it is done.
func cutOff(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, errCutOff) {
		return true
	}
	end, ok := ctx.Deadline()
	return ok && !time.Now().Before(end)
}

// result answers the rate and latencies of the calls in smp.
func (smp *sample) result(measure, store string) result {
	lats := slices.Clone(smp.lats)
	slices.Sort(lats)
	pct := func(p float64) float64 {
		if len(lats) == 0 {
			return 0
		}
		return float64(lats[min(len(lats)-1, int(p*float64(len(lats))))].Microseconds()) / 1000
	}
	n := int64(len(lats))
	r := result{Measure: measure, Store: store, Count: n, PerSecond: float64(n) / smp.elapsed.Seconds(),
		P50ms: pct(0.50), P99ms: pct(0.99)}
	if n > 0 {
		r.CPUus = float64(smp.cpu.Microseconds()) / float64(n)
		if smp.redis != nil {
			r.RedisCPUus = float64(smp.redisCPU.Microseconds()) / float64(n)
		}
	}
	return r
}

// processCPU answers the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// storeCPU answers the CPU time a real Redis has used, user and system
// (INFO cpu), its masters' together on a cluster; 0 for none, or when it
// cannot be read.
func storeCPU(ctx context.Context, rdb redis.UniversalClient) time.Duration {
	if rdb == nil {
		return 0
	}
	var mu sync.Mutex
	var total float64
	read := func(ctx context.Context, c *redis.Client) error {
		info, err := c.Info(ctx, "cpu").Result()
		if err != nil {
			return err
		}
		for line := range strings.Lines(info) {
			for _, field := range []string{"used_cpu_user:", "used_cpu_sys:"} {
				if v, ok := strings.CutPrefix(strings.TrimSpace(line), field); ok {
					if f, err := strconv.ParseFloat(v, 64); err == nil {
						mu.Lock()
						total += f
						mu.Unlock()
					}
				}
			}
		}
		return nil
	}
	switch c := rdb.(type) {
	case *redis.Client:
		read(ctx, c)
	case *redis.ClusterClient:
		c.ForEachMaster(ctx, read)
	}
	return time.Duration(total * float64(time.Second))
}

// httpClient is the client every measure's loops share.
var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 0}}

// bareHTTP measures a handler that decodes a small JSON body and answers
// one: the ceiling of an HTTP API on this machine.
func bareHTTP(ctx context.Context, c config) (result, error) {
	op, stop := bareOp()
	defer stop()
	return loop(ctx, c, "bare net/http JSON", "", op)
}

// bareOp starts the bare handler and answers a call of it, and how to stop
// it.
func bareOp() (op func(ctx context.Context, _, _ int) error, stop func()) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in map[string]string
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"result": "not_found", "message": "…", "rejected": false})
	}))
	return func(ctx context.Context, _, _ int) error { return post(ctx, hs.URL, validationBody) }, hs.Close
}

func post(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// store is a Redis to measure and an smsim on it.
type store struct {
	name   string
	rdb    redis.UniversalClient
	prefix string
	mini   *miniredis.Miniredis
	mem    *redisstore.Memory // the embedded store, as smsim reaches it
	world  *simulator.World
	hs     *httptest.Server
	api    *client.Client
}

func openStore(ctx context.Context, name, url string) (*store, error) {
	s := &store{name: name, prefix: "smsim"}
	if name == "embedded" {
		s.mini = miniredis.NewMiniRedis()
		mem, err := redisstore.NewMemory(s.mini)
		if err != nil {
			return nil, err
		}
		s.mem = mem
		s.rdb = redis.NewClient(core.StoreOptions(&redis.Options{Addr: "embedded", Dialer: mem.Dial, PoolSize: 256}, 0))
	} else {
		rdb, err := redisstore.OpenWith(url,
			func(o *redis.Options) {
				o.PoolSize = 256
				core.StoreOptions(o, 0).AutoPipelineOptions = core.ScriptBatches()
			},
			func(o *redis.ClusterOptions) {
				o.PoolSize = 256
				core.StoreClusterOptions(o, 0).AutoPipelineOptions = core.ScriptBatches()
			}) // a node's pool
		if err != nil {
			return nil, fmt.Errorf("redis-url: %w", err)
		}
		s.rdb = rdb
		var b [6]byte
		rand.Read(b[:])
		s.prefix = "smsimbench-" + hex.EncodeToString(b[:])
	}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		s.close()
		return nil, err
	}
	w, err := simulator.New(ctx, simulator.Config{Redis: s.rdb, KeyPrefix: s.prefix, ClockStart: core.ClockStart{Scale: 1}, PrivateStore: s.mini != nil})
	if err != nil {
		s.close()
		return nil, err
	}
	if err := w.Start(ctx); err != nil {
		s.close()
		return nil, err
	}
	s.world = w
	s.hs = httptest.NewServer(server.New(w, server.Config{}).Routes())
	if s.api, err = client.New(s.hs.URL, client.WithHTTPClient(httpClient)); err != nil {
		s.close()
		return nil, err
	}
	if _, err := s.api.PatchFaults(ctx, map[string]any{
		"sync_lag": map[string]string{"min": "0s", "max": "0s"}, "result_sync_lag": map[string]string{"min": "0s", "max": "0s"},
		"sms_delay": map[string]string{"min": "0s", "max": "0s"}, "review": map[string]string{"min": "24h", "max": "24h"},
	}); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// real answers the client of a real Redis, nil for the embedded store
// (whose CPU is this process's).
func (s *store) real() redis.UniversalClient {
	if s.mini != nil {
		return nil
	}
	return s.rdb
}

func (s *store) close() {
	if s.world != nil {
		s.world.Stop()
	}
	if s.hs != nil {
		s.hs.Close()
	}
	if s.mini == nil && s.rdb != nil && s.prefix != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		core.ScanKeys(ctx, s.rdb, s.prefix+":*", 1, func(ctx context.Context, c redis.Cmdable, keys []string) error {
			return c.Del(ctx, keys...).Err()
		})
		cancel()
	}
	if s.rdb != nil {
		s.rdb.Close()
	}
	if s.mem != nil {
		s.mem.Close()
	}
}

// bareRedis measures a PING: the round trip to the store.
func bareRedis(ctx context.Context, c config, s *store) (result, error) {
	return loopOn(ctx, c, "bare Redis round trip", s.name, s.real(), func(ctx context.Context, _, _ int) error {
		return s.rdb.Ping(ctx).Err()
	})
}

// bareScript measures the bare handler with one Redis script call inside
// (a key read and an answer, the least a Redis-backed endpoint does), in
// turns with the bare handler: the ceiling of the validation endpoint,
// which is one such call and smsim's own work.
func bareScript(ctx context.Context, c config, s *store) (result, error) {
	key := s.prefix + ":bench:script"
	script := redis.NewScript(`return {redis.call('GET', KEYS[1]) or 'not_found', ARGV[1]}`)
	if err := script.Load(ctx, s.rdb).Err(); err != nil {
		return result{Measure: "bare + Redis script", Store: s.name}, err
	}
	return bareWithScript(ctx, c, "bare + Redis script", s, func(ctx context.Context, code string) ([]string, error) {
		return script.EvalSha(ctx, s.rdb, []string{key}, code).StringSlice()
	})
}

// bareWithScript measures, in turns with the bare handler, the bare
// handler with one script call inside (call, given the code the request
// names), answering the call's first word as its result.
func bareWithScript(ctx context.Context, c config, measure string, s *store, call func(ctx context.Context, code string) ([]string, error)) (result, error) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in map[string]string
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		res, err := call(r.Context(), in["code"])
		if err == nil && len(res) == 0 {
			err = errors.New("the script answered nothing")
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"result": res[0], "message": "…", "rejected": false})
	}))
	defer hs.Close()
	bare, stop := bareOp()
	defer stop()
	return interleaved(ctx, c, measure, s.name, s.real(), bare, func(ctx context.Context, _, _ int) error {
		return post(ctx, hs.URL, validationBody)
	})
}

// validation measures the validation endpoint: a person whose number holds
// an order, with certificate characters that match no one (not_found, the
// order untouched: every call does the same work).
func validation(ctx context.Context, c config, s *store) (result, error) {
	if err := submitValidationOrder(ctx, s); err != nil {
		return result{Measure: "validation endpoint", Store: s.name}, err
	}
	bare, stop := bareOp()
	defer stop()
	return interleaved(ctx, c, "validation endpoint", s.name, s.real(), bare, func(ctx context.Context, _, _ int) error {
		return post(ctx, s.hs.URL+"/miit/v1/validations", validationBody)
	})
}

// submitValidationOrder submits the order of validationPhone that the
// validation endpoint's measure validates against.
func submitValidationOrder(ctx context.Context, s *store) error {
	_, err := s.api.Submit(ctx, client.SubmitRequest{Type: "first_filing", Variant: "app",
		EntityLeader: &client.Person{Name: "Li Lei", Phone: validationPhone, CertificateNumber: "110101199003071234"}})
	return err
}

// validationPhone is the number of the validation endpoint's measure, and
// validationBody its validation: a certificate of no one, so that every
// call does the same work (not_found, the order untouched).
const validationPhone = "13700000001"

var validationBody = []byte(`{"code":"000000","phone":"` + validationPhone + `","certificate_last6":"999999"}`)

// errCutOff is what a measure's call answers when the measure's end cut
// it short: not an error of the server.
var errCutOff = errors.New("cut off by the measure's end")

// flows measures complete single-person flows with every lag zero.
func flows(ctx context.Context, c config, s *store) (result, error) {
	return loopOn(ctx, c, "complete flow", s.name, s.real(), func(ctx context.Context, w, n int) error {
		phone := fmt.Sprintf("13%03d%06d", w%1000, n%1000000)
		person := client.Person{Name: "Li Lei", Phone: phone, CertificateNumber: "110101199003071234"}
		if _, err := s.api.Submit(ctx, client.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: &person}); err != nil {
			return err
		}
		m, ok, err := s.api.Next(ctx, phone, client.NextOptions{After: client.AfterStart, HasCode: true, Timeout: 10 * time.Second})
		if err == nil && !ok {
			if d, has := ctx.Deadline(); has && time.Until(d) < time.Second {
				return errCutOff // the long poll's wait was what was left of the measure
			}
		}
		if err != nil || !ok {
			return fmt.Errorf("the code of %s: %v (arrived %v)", phone, err, ok)
		}
		r, err := s.api.ValidatePerson(ctx, person, m.Code)
		if err != nil {
			return err
		}
		if r.Result != client.ResultComplete {
			return fmt.Errorf("validation of %s: %s", phone, r.Result)
		}
		return nil
	})
}

// report prints the results and their ratios.
func report(w io.Writer, c config, rs []result, scale []scaleResult, lua []redisLua) {
	var ratio func(measure, store, base, baseStore string) float64
	ratio = func(measure, store, base, baseStore string) float64 {
		if base == "bare + Redis script" || base == "bare + validation script" {
			// both measured in turns with the bare handler: the ratio of
			// their ratios to it
			if d := ratio(base, baseStore, "bare net/http JSON", ""); d > 0 {
				return ratio(measure, store, "bare net/http JSON", "") / d
			}
			return 0
		}
		var a, b, beside float64
		for _, r := range rs {
			if r.Measure == measure && r.Store == store {
				a, beside = r.PerSecond, r.BarePerSecond
			}
			if r.Measure == base && r.Store == baseStore {
				b = r.PerSecond
			}
		}
		if base == "bare net/http JSON" && beside > 0 {
			b = beside // measured in turns with it
		}
		if b == 0 {
			return 0
		}
		return a / b
	}
	if c.jsonOut {
		type ratioJSON struct {
			Of, Against string
			Ratio       float64
		}
		out := struct {
			Machine  string        `json:"machine"`
			Workers  int           `json:"workers"`
			Duration string        `json:"duration"`
			Results  []result      `json:"results"`
			Ratios   []ratioJSON   `json:"ratios"`
			Scale    []scaleResult `json:"scale,omitempty"`
			Lua      []redisLua    `json:"redis_lua,omitempty"`
		}{Machine: machine(), Workers: c.workers, Duration: c.duration.String(), Results: rs, Scale: scale, Lua: lua}
		for _, r := range rs {
			switch r.Measure {
			case "validation endpoint":
				out.Ratios = append(out.Ratios, ratioJSON{r.Measure + " (" + r.Store + ")", "bare net/http JSON",
					ratio(r.Measure, r.Store, "bare net/http JSON", "")})
				out.Ratios = append(out.Ratios, ratioJSON{r.Measure + " (" + r.Store + ")", "bare + Redis script (" + r.Store + ")",
					ratio(r.Measure, r.Store, "bare + Redis script", r.Store)})
				out.Ratios = append(out.Ratios, ratioJSON{r.Measure + " (" + r.Store + ")", "bare + validation script (" + r.Store + ")",
					ratio(r.Measure, r.Store, "bare + validation script", r.Store)})
			case "bare + Redis script", "bare + validation script":
				out.Ratios = append(out.Ratios, ratioJSON{r.Measure + " (" + r.Store + ")", "bare net/http JSON",
					ratio(r.Measure, r.Store, "bare net/http JSON", "")})
			}
		}
		json.NewEncoder(w).Encode(out)
		return
	}
	fmt.Fprintf(w, "smsim-bench on %s: %d workers a measure, %s each\n\n", machine(), c.workers, c.duration)
	if len(rs) == 0 {
		printScale(w, scale)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tstore\tper second\tp50\tp99\tCPU a call\tratio")
	for _, r := range rs {
		note := ""
		switch r.Measure {
		case "validation endpoint":
			note = fmt.Sprintf("%.3f× bare net/http JSON", ratio(r.Measure, r.Store, "bare net/http JSON", ""))
			if r.BarePerSecond > 0 {
				note += fmt.Sprintf(" (%.0f/s, in turns with it)", r.BarePerSecond)
			}
			if q := ratio(r.Measure, r.Store, "bare + Redis script", r.Store); q > 0 {
				note += fmt.Sprintf("; %.2f× bare + Redis script", q)
			}
			if q := ratio(r.Measure, r.Store, "bare + validation script", r.Store); q > 0 {
				note += fmt.Sprintf("; %.2f× bare + validation script", q)
			}
		case "bare + Redis script", "bare + validation script":
			note = fmt.Sprintf("%.3f× bare net/http JSON (%.0f/s, in turns with it)", ratio(r.Measure, r.Store, "bare net/http JSON", ""), r.BarePerSecond)
		case "complete flow":
			note = fmt.Sprintf("%.3f× the store's round trips", ratio(r.Measure, r.Store, "bare Redis round trip", r.Store))
		case "bare Redis round trip":
			note = fmt.Sprintf("%.2f× bare net/http JSON", ratio(r.Measure, r.Store, "bare net/http JSON", ""))
		}
		store := r.Store
		if store == "" {
			store = "–"
		}
		cpu := fmt.Sprintf("%.0fµs", r.CPUus)
		if r.RedisCPUus > 0 {
			cpu += fmt.Sprintf(" + Redis %.0fµs", r.RedisCPUus)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.2fms\t%.2fms\t%s\t%s\n", r.Measure, store, r.PerSecond, r.P50ms, r.P99ms, cpu, note)
	}
	tw.Flush()
	for _, l := range lua {
		fmt.Fprintf(w, "\nRedis's Lua after the measures (%s): %d KB of scripts, %d KB of functions; a call costs more "+
			"on a Redis whose Lua holds more: compare builds on one emptied of both (SCRIPT FLUSH, FUNCTION FLUSH)\n",
			l.Store, l.ScriptsKB, l.FunctionsKB)
	}
	printScale(w, scale)
}

// machine describes where the run ran.
func machine() string {
	return fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
}
