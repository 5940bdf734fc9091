package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/cmd/internal/gcheadroom"
	"smsim/simulator"
	"smsim/simulator/client"
	"smsim/simulator/core"
	"smsim/simulator/load"
	"smsim/simulator/server"
)

// Exit statuses of `smsim load`, besides exitOK, exitFailed (nothing could
// run: no server, a namespace that could not be set up) and exitUsage.
const (
	exitBreached    = 3   // an objective of --slo was not met
	exitInterrupted = 130 // SIGINT or SIGTERM stopped the run; its report was printed
)

const loadUsage = `[--target URL] [--rate R/s [--ramp D] | --concurrency N] [--duration D] [--flows N] [flags]`

// runLoad is `smsim load`: it drives flows against the smsim of --target,
// or one it starts in its own process, prints live progress to standard
// error and the report to standard output, and judges the run by --slo.
// It changes the clock and faults of its namespace, so it takes the
// namespace and the server from its flags alone, never from SMSIM_URL or
// SMSIM_NAMESPACE.
func runLoad(ctx context.Context, c *cli, args []string) int {
	var cfg load.Config
	var target, scenario, seed string
	var asJSON, quiet bool
	f := c.fs
	// The shared flags --url and --namespace read no variable here: say
	// what they do for load, so that its help tells no other default.
	describe := func(name, usage string) {
		fl := f.Lookup(name)
		fl.Usage, fl.DefValue = usage, ""
	}
	describe("url", "the same as --target")
	describe("namespace", "the namespace to work in, its clock and faults set for the run (default load-<time>-<hex>, a new one)")
	f.StringVar(&target, "target", "", "the smsim to drive (http://host:port); empty: one started in this process on an embedded store (--url is the same flag)")
	f.Func("rate", fmt.Sprintf("an open loop: flows started a second, whatever the server's pace, such as 500/s, 30/m, 100/h (at least 1/h, at most %.0f a second)", float64(load.MaxRate)), func(v string) error {
		r, err := load.ParseRate(v)
		cfg.Rate = r
		return problem(err)
	})
	f.DurationVar(&cfg.Ramp, "ramp", 0, "an open loop reaches --rate from 0 over this long (no longer than --duration)")
	f.IntVar(&cfg.MaxInFlight, "max-in-flight", 0, fmt.Sprintf("an open loop runs at most this many flows at once; those due meanwhile start late, and their lateness counts "+
		"(default %d with --target; without, what the process's open files allow: (the limit − 512) / %d, at most %d)", load.DefaultMaxInFlight, fdsPerFlow, load.DefaultMaxInFlight))
	f.IntVar(&cfg.Concurrency, "concurrency", 0, fmt.Sprintf("a closed loop: this many workers, each running one flow after another (default %d without --rate)", load.DefaultConcurrency))
	f.DurationVar(&cfg.Duration, "duration", 0, fmt.Sprintf("start flows for this long (default %s unless --flows is given)", load.DefaultDuration))
	f.IntVar(&cfg.Flows, "flows", 0, "start this many flows (with --duration: whichever comes first)")
	f.DurationVar(&cfg.Drain, "drain", load.DefaultDrain, "once no more flows start, wait at most this long for those in flight")
	f.Func("types", "the kinds of orders, weighed: TYPE/VARIANT=WEIGHT,… (a weight of 0 to 1000000; missing, 1) such as first_filing/website=3,first_filing/app=1,add_provider=1 (default: the demo's mix)", func(v string) error {
		if cfg.Types != nil {
			return errors.New("given twice: give every kind's weight in one --types")
		}
		t, err := load.ParseTypes(v)
		cfg.Types = t
		return problem(err)
	})
	f.Func("mix", "the personalities of the flows, weighed: NAME=WEIGHT,… of prompt, slow, typo, resender, never (a weight of 0 to 1000000), such as prompt=80,typo=10,resender=5,never=5 (default: the demo's mix)", func(v string) error {
		if cfg.Mix != nil {
			return errors.New("given twice: give every personality's weight in one --mix")
		}
		m, err := load.ParseMix(v)
		cfg.Mix = m
		return problem(err)
	})
	f.StringVar(&cfg.Listen, "listen", load.ListenWS, "how phones listen for their codes: ws (the phone's websocket) or poll (the long poll)")
	f.Float64Var(&cfg.Scale, "scale", load.DefaultScale, fmt.Sprintf("the namespace's clock runs at this many simulated seconds per real second: at least %d (real time), at most %d", load.MinScale, load.MaxScale))
	f.StringVar(&scenario, "scenario", "", "a scenario to apply to the namespace instead of the load profile: the name of a shipped one ("+strings.Join(core.ScenarioNames(), ", ")+") or a JSON file")
	f.StringVar(&seed, "seed", "", "makes the flows' draws (kinds, personalities, delays, typos) reproducible; empty: a random one, given in the report")
	f.Func("slo", "objectives that fail the run (exit 3) when breached, such as 'code_p99<50ms,errors<0.1%,flows_per_s>100' (repeat the flag, or separate objectives with commas; a measure takes at most one bound from above and one from below)", func(v string) error {
		o, err := load.ParseSLO(v)
		cfg.SLO = append(cfg.SLO, o...)
		return problem(err)
	})
	f.BoolVar(&asJSON, "json", false, "print the report as JSON (for CI) instead of tables")
	f.BoolVar(&quiet, "quiet", false, "no live progress on standard error")
	var retention time.Duration
	f.DurationVar(&retention, "retention", defaultLoadRetention, "without --target: how long the smsim started in this process keeps what a flow finished (its order, its messages, its phones' folders) after its last write; 0: all, for the whole run")
	headroom := f.Int("gc-headroom", gcheadroom.DefaultMiB, "MiB this process's heap may grow by between two garbage collections, at least, so that the driver's collections delay its measures less (and, without --target, its smsim's); 0: as GOGC says")
	if code := c.parse(args, loadUsage, 0); code >= 0 {
		return code
	}
	if *headroom < 0 {
		return c.usageErr("--gc-headroom: must be 0 (as GOGC says) or more MiB, got %d", *headroom)
	}
	defer gcheadroom.Start(uint64(*headroom) << 20)()
	if retention < 0 {
		return c.usageErr("--retention: must be 0 (keep all) or more, got %s", retention)
	}
	if c.set("retention") && (c.set("target") || c.set("url")) {
		return c.usageErr("--retention: the smsim started in this process's; the server of --target keeps what its own --retention says")
	}

	// Settings given but impossible; 0 means "the default" to load.Config.
	for _, z := range []struct {
		flag string
		zero bool
	}{
		{"concurrency", cfg.Concurrency <= 0}, {"flows", cfg.Flows <= 0}, {"max-in-flight", cfg.MaxInFlight <= 0},
		{"duration", cfg.Duration <= 0}, {"drain", cfg.Drain <= 0},
	} {
		if c.set(z.flag) && z.zero {
			return c.usageErr("--%s: must be more than 0", z.flag)
		}
	}
	if c.set("scale") {
		if err := load.CheckScale(cfg.Scale); err != nil { // 0 too, which load.Config takes for the default
			return c.loadErr(err)
		}
	}
	if c.set("listen") && cfg.Listen == "" {
		return c.usageErr("--listen: must be %s or %s", load.ListenWS, load.ListenPoll)
	}
	if c.set("url") {
		if c.set("target") {
			return c.usageErr("--url and --target name the same thing: give one")
		}
		target = c.url
	}
	if c.set("namespace") {
		cfg.Namespace = c.namespace
	}
	if seed != "" {
		s, err := strconv.ParseUint(seed, 10, 64)
		if err != nil {
			return c.usageErr("--seed: %q is not a whole number, 0 or more", seed)
		}
		cfg.Seed = &s
	}
	if scenario != "" {
		sc, err := readLoadScenario(scenario)
		if err != nil {
			return c.usageErr("--scenario: %v", err)
		}
		cfg.Scenario = sc
	}
	if err := cfg.Check(); err != nil {
		return c.loadErr(err)
	}
	if target != "" {
		if _, err := client.New(target); err != nil {
			return c.usageErr("--target: %q is not an http:// or https:// URL of a server", target)
		}
	} else {
		url, _, stop, err := startInProcess(ctx, inProcessLimits(retention))
		if err != nil {
			fmt.Fprintf(c.stderr, "%s: starting an smsim in this process: %v\n", c.name, err)
			return exitFailed
		}
		defer stop()
		target, cfg.InProcess = url, true
		if !c.set("max-in-flight") && cfg.Rate > 0 {
			var lim syscall.Rlimit
			if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
				cfg.MaxInFlight = inProcessMaxInFlight(lim.Cur)
			}
		}
	}
	cfg.Target = target
	if cfg.Namespace == "" {
		cfg.Namespace = load.DefaultNamespace(time.Now())
	}
	if !quiet {
		cfg.Progress = c.stderr
	}
	cfg.Ready = func() {
		fmt.Fprintf(c.stderr, "%s: namespace %s at %s; the dashboard shows it at %s/?namespace=%s\n",
			c.name, cfg.Namespace, target, strings.TrimRight(target, "/"), cfg.Namespace)
	}

	cfg.Token = c.token
	rep, err := load.Run(ctx, cfg)
	if err != nil {
		return c.setupErr(ctx, err, target)
	}
	var out bytes.Buffer
	if asJSON {
		enc := json.NewEncoder(&out)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.WriteTable(&out)
	}
	if err == nil {
		_, err = c.stdout.Write(out.Bytes())
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: writing the report: %v\n", c.name, err)
		return exitFailed
	}
	if rep.Interrupted {
		fmt.Fprintf(c.stderr, "%s: interrupted: the flows in flight were abandoned and count as unfinished\n", c.name)
		return exitInterrupted
	}
	if breached := rep.Breached(); len(breached) > 0 {
		var names []string
		for _, v := range breached {
			names = append(names, fmt.Sprintf("%s (%s)", v.Objective, v.Shown()))
		}
		fmt.Fprintf(c.stderr, "%s: objectives breached: %s\n", c.name, strings.Join(names, ", "))
		return exitBreached
	}
	return exitOK
}

// problem is the text of a flag's parse error, which the flag package
// prefixes with the flag's name.
func problem(err error) error {
	var e *load.InvalidError
	if errors.As(err, &e) {
		return errors.New(e.Problem)
	}
	return err
}

// loadErr reports an error of load.Run: a setting that cannot be is a
// usage error naming its flag; anything else, a run that could not be.
func (c *cli) loadErr(err error) int {
	var e *load.InvalidError
	if errors.As(err, &e) {
		return c.usageErr("--%s: %s", e.Field, e.Problem)
	}
	return c.fail(err)
}

// setupErr reports why load.Run could not run against target: a setting
// that cannot be, an interruption before the first flow, or the step of
// the namespace's set-up that failed — the call that did not answer in
// time, or whether target is an smsim at all.
func (c *cli) setupErr(ctx context.Context, err error, target string) int {
	var (
		inv *load.InvalidError
		ce  *client.Error
		te  *load.TimeoutError
	)
	switch {
	case errors.As(err, &inv):
		return c.loadErr(err)
	case ctx.Err() != nil:
		fmt.Fprintf(c.stderr, "%s: interrupted while setting up the namespace: no flow ran\n", c.name)
		return exitInterrupted
	case errors.Is(err, syscall.ECONNREFUSED):
		fmt.Fprintf(c.stderr, "%s: nothing answers at %s: is smsim running there? (without --target, load starts one of its own)\n", c.name, target)
		return exitFailed
	}
	msg := strings.ReplaceAll(strings.TrimPrefix(err.Error(), "load: "), "smsim: ", "")
	fmt.Fprintf(c.stderr, "%s: %s\n", c.name, msg)
	switch {
	case errors.As(err, &te):
		fmt.Fprintf(c.stderr, "%s: %s did not answer %s within %s\n", c.name, target, te.Call, te.Within)
	case errors.As(err, &ce) && ce.RequestID == "":
		fmt.Fprintf(c.stderr, "%s: %s does not answer as smsim does (no X-Request-Id): is it an smsim?\n", c.name, target)
	}
	return exitFailed
}

// readLoadScenario reads --scenario: a JSON file when one is there, else
// the name of a shipped scenario (the server checks it).
func readLoadScenario(arg string) (*client.Scenario, error) {
	b, err := os.ReadFile(arg)
	if errors.Is(err, fs.ErrNotExist) && !strings.ContainsAny(arg, `/\.`) {
		return &client.Scenario{Name: arg}, nil
	}
	if err != nil {
		return nil, err
	}
	sc, err := decodeScenarioFile(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", arg, err)
	}
	if sc.Name == "" {
		sc.Name = arg
	}
	return &sc, nil
}

// fdsPerFlow is about how many file descriptors a flow in flight holds
// when the driver and the smsim it drives share a process: both ends of
// its calls' connections and of its phones' websockets.
const fdsPerFlow = 8

// inProcessMaxInFlight bounds the flows in flight of a run against the
// smsim in this process by the process's limit of open files, less a
// reserve for the rest of it: past that, an open loop's flow waits for one
// to end — it starts late, and its lateness counts — instead of failing
// with "too many open files", as 6,768 flows of 73,750 did at 500 a second
// on 2 CPUs (a limit of 20,000).
func inProcessMaxInFlight(openFiles uint64) int {
	n := (int64(min(openFiles, 1<<40)) - 512) / fdsPerFlow
	return int(max(16, min(n, load.DefaultMaxInFlight)))
}

// defaultLoadRetention is how long the smsim a load run starts keeps what
// a flow finished: a run holds the flows of the last minute, not every
// flow it ran, as smsim's own default of a day would (about 50 KB a flow
// in the process: 1.35 GB after a minute at 500 flows a second).
const defaultLoadRetention = time.Minute

// inProcessLimits are the limits of the smsim a load run starts: what a
// flow finished lives retention (0: for ever), each folder of a phone
// keeps the newest defaultInboxMax messages, and the namespace lives as
// long as the run.
func inProcessLimits(retention time.Duration) core.Limits {
	return core.Limits{Retention: retention, InboxMax: defaultInboxMax}
}

// startInProcess starts an smsim in this process for a load run, with
// limits: an embedded store, the world and its HTTP API on a loopback
// port. It answers the server's URL, its store, and a func that stops it
// and waits for it.
func startInProcess(ctx context.Context, limits core.Limits) (string, redis.UniversalClient, func(), error) {
	quiet := slog.New(slog.DiscardHandler)
	rdb, closeStore, err := openStore(ctx, "", 0, simulator.DefaultNamespaceIdle, quiet)
	if err != nil {
		return "", nil, nil, err
	}
	world, err := simulator.New(ctx, simulator.Config{Redis: rdb, Log: quiet, Registry: prometheus.NewRegistry(), PrivateStore: true, Limits: limits})
	if err == nil {
		err = world.Start(ctx)
	}
	if err != nil {
		closeStore()
		return "", nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		world.Stop()
		closeStore()
		return "", nil, nil, err
	}
	hs := &http.Server{Handler: server.New(world, server.Config{Log: quiet}).Routes(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(quiet.Handler(), slog.LevelWarn)}
	hs.RegisterOnShutdown(world.Stop) // ends long polls and websockets, which Shutdown does not wait out
	served := make(chan struct{})
	go func() {
		defer close(served)
		hs.Serve(ln)
	}()
	return "http://" + ln.Addr().String(), rdb, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
		<-served
		world.Stop()
		closeStore()
	}, nil
}
