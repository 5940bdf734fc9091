// Command smsim runs the SMS gateway simulator and mock MIIT backend: one
// HTTP server on an embedded Redis (miniredis) or a real one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"smsim/cmd/internal/gcheadroom"
	"smsim/gateway"
	"smsim/simulator"
	"smsim/simulator/core"
	"smsim/simulator/core/redisstore"
	"smsim/simulator/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// config is every setting of the command, from flags with SMSIM_*
// environment fallbacks.
type config struct {
	addr            string
	redisURL        string
	seed            string
	scale           float64
	paused          bool
	clockStart      string
	miitSender      string
	providerSender  string
	language        string
	keyPrefix       string
	maxBody         int64
	logLevel        string
	logFormat       string
	shutdownTimeout time.Duration
	storeTimeout    time.Duration
	namespaceIdle   time.Duration
	namespaceTTL    time.Duration
	maxNamespaces   int
	retention       time.Duration
	inboxMax        int
	journalMax      int
	gcHeadroom      int
	webhookHosts    []string
	allowedHosts    []string
	adminToken      string
	insecure        bool
	maxConns        int
	scenario        string
	demo            bool

	from map[string]string // each flag's name: --name, or SMSIM_NAME when the environment set it
}

// flag names the flag called name as its value was given: --name, or its
// SMSIM_* variable, for the message of a value refused.
func (c config) flag(name string) string {
	if f, ok := c.from[name]; ok {
		return f
	}
	return "--" + name
}

// ownAddresses are the addresses webhooks may never reach: the one this
// process listens on — on every interface, each local address with its
// port — and its store's, a name given as each address it stands for.
func ownAddresses(listen net.Addr, rdb redis.UniversalClient) []string {
	out := []string{listen.String()}
	if a, ok := listen.(*net.TCPAddr); ok && a.IP.IsUnspecified() {
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, ia := range addrs {
				if n, ok := ia.(*net.IPNet); ok {
					out = append(out, net.JoinHostPort(n.IP.String(), strconv.Itoa(a.Port)))
				}
			}
		}
	}
	var store []string
	switch c := rdb.(type) {
	case *redis.Client:
		store = []string{c.Options().Addr}
	case *redis.ClusterClient:
		store = c.Options().Addrs
	}
	for _, addr := range store {
		out = append(out, addr)
		host, port, err := net.SplitHostPort(addr)
		if err != nil || net.ParseIP(host) != nil {
			continue
		}
		if ips, err := net.LookupHost(host); err == nil {
			for _, ip := range ips {
				out = append(out, net.JoinHostPort(ip, port))
			}
		}
	}
	return out
}

// servingURL is the URL to open for the server listening on addr: on
// every interface ([::]:8080), the loopback's.
func servingURL(addr net.Addr) string {
	if a, ok := addr.(*net.TCPAddr); ok && a.IP.IsUnspecified() {
		return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port))
	}
	return "http://" + addr.String()
}

// valueError says what flag f takes, where the flag package says only
// "parse error".
func valueError(f *flag.Flag, err error) string {
	g, ok := f.Value.(flag.Getter)
	if !ok || !strings.Contains(err.Error(), "parse error") {
		return err.Error()
	}
	switch g.Get().(type) {
	case bool:
		return "give true or false"
	case int, int64, uint, uint64:
		return "give a whole number"
	case float64:
		return "give a number"
	case time.Duration:
		return "give a duration such as 30s, 10m or 24h"
	}
	return err.Error()
}

// The limits of the store's memory unless set (simulator.Config.Limits).
const (
	defaultRetention    = 24 * time.Hour
	defaultInboxMax     = 1000
	defaultNamespaceTTL = 7 * 24 * time.Hour
)

// hostName matches a DNS host name.
var hostName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)

// parse reads the flags and their SMSIM_* variables. -h and --help print the
// usage on help and answer flag.ErrHelp; a bad flag is an error naming it.
func parse(args []string, getenv func(string) string, help io.Writer) (config, error) {
	c := config{from: map[string]string{}}
	fs := flag.NewFlagSet("smsim", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the errors are answered, the help printed below
	fs.StringVar(&c.addr, "addr", defaultAddr, "listen address")
	fs.StringVar(&c.redisURL, "redis-url", "", "Redis server (redis://host:port/db) or Redis Cluster (redis+cluster://host:port?addr=host:port…); empty: an embedded in-process Redis")
	fs.StringVar(&c.seed, "seed", "", "a whole number that makes every random draw (codes, ids, lags, delays) reproducible; empty: crypto/rand")
	fs.Float64Var(&c.scale, "scale", 1, "simulated seconds per real second at start")
	fs.BoolVar(&c.paused, "paused", false, "start with the simulated clock paused")
	fs.StringVar(&c.clockStart, "clock-start", "", "simulated time at start (RFC 3339); empty: the real time")
	fs.StringVar(&c.miitSender, "miit-sender", "12381", "MIIT's sender number: 12381, 106 + ten digits + 12381, or a carrier's (106598051001, 10655113, 106575000130)")
	fs.StringVar(&c.providerSender, "provider-sender", "95187", "the provider's sender number")
	fs.StringVar(&c.language, "language", core.LanguageEnglish, "language of MIIT's answers and of the code and notice messages where a namespace's fault profile names none: en or zh")
	fs.StringVar(&c.keyPrefix, "key-prefix", "smsim", "prefix of every Redis key")
	fs.Int64Var(&c.maxBody, "max-body", server.DefaultMaxBody, "largest request body in bytes")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log-format", "text", "text or json")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long shutdown waits for requests in progress")
	fs.DurationVar(&c.storeTimeout, "store-timeout", core.DefaultStoreTimeout, "how long each call to Redis may take, its wait for a connection included: a request that finds Redis stalled answers 503 by then")
	fs.DurationVar(&c.namespaceIdle, "namespace-idle", simulator.DefaultNamespaceIdle, "how long a namespace no request touches counts as in use")
	fs.DurationVar(&c.namespaceTTL, "namespace-ttl", defaultNamespaceTTL, "how long (real time) the keys of a namespace no request changes outlive its last use; 0: for ever")
	fs.IntVar(&c.maxNamespaces, "max-namespaces", simulator.DefaultMaxNamespaces, "most namespaces in use at once: a write that would make one more is a 429")
	fs.DurationVar(&c.retention, "retention", defaultRetention, "how long (real time) what is finished (orders, messages, phones' folders) stays in the store; a namespace's fault profile may set its own; 0: as long as what is under way, --namespace-ttl after its last write (for ever with --namespace-ttl 0)")
	fs.IntVar(&c.inboxMax, "inbox-max", defaultInboxMax, "messages each folder of a phone keeps, the newest; 0: all")
	fs.IntVar(&c.journalMax, "journal-max", core.DefaultJournalMax, "requests to the provider, MIIT and phone APIs each namespace's journal keeps, the newest (GET /admin/v1/requests); 0: no journal")
	fs.IntVar(&c.gcHeadroom, "gc-headroom", gcheadroom.DefaultMiB, "MiB the heap may grow by between two garbage collections, at least (more when GOGC says so): fewer collections while serving fast, for that much resident memory; 0: as GOGC says")
	fs.Func("webhook-host", "a host that webhooks may be posted to, any port of it, or host:port for that port only; on loopback (127.0.0.1:9000, localhost:9000) the ports given are the only ones open (repeat the flag, or separate entries with commas)", func(v string) error {
		for _, e := range strings.Split(v, ",") {
			e = strings.TrimSpace(e)
			h, port, err := net.SplitHostPort(e)
			if err != nil {
				h, port = strings.Trim(e, "[]"), ""
			}
			p, perr := strconv.Atoi(port)
			if net.ParseIP(h) == nil && !hostName.MatchString(h) || port != "" && perr != nil {
				return fmt.Errorf("%q is not a host name or address", e)
			}
			if port != "" && (p < 1 || p > 65535) {
				return fmt.Errorf("%q: the port must be 1 to 65535", e)
			}
			if port == "" && server.IsLoopbackHost(h) {
				return fmt.Errorf("%q: give the port of loopback webhooks may reach, such as 127.0.0.1:9000", e)
			}
			c.webhookHosts = append(c.webhookHosts, e)
		}
		return nil
	})
	fs.Func("allowed-host", "a name (or address) besides loopback ones that requests' Host may give, such as smsim.internal (repeat the flag, or separate names with commas)", func(v string) error {
		for _, h := range strings.Split(v, ",") {
			h = strings.TrimSpace(h)
			if net.ParseIP(strings.Trim(h, "[]")) == nil && !hostName.MatchString(h) {
				return fmt.Errorf("%q is not a host name or address (give it without a port)", h)
			}
			c.allowedHosts = append(c.allowedHosts, strings.Trim(h, "[]"))
		}
		return nil
	})
	fs.StringVar(&c.adminToken, "admin-token", "", "a secret the admin and phone-control routes want as Authorization: Bearer; needed to listen beyond loopback (unless --insecure)")
	fs.BoolVar(&c.insecure, "insecure", false, "listen beyond loopback without --admin-token (anyone who reaches the port may reset and drive the simulator)")
	fs.IntVar(&c.maxConns, "max-conns", 0, "most HTTP connections open at once: one more is answered 503 and closed; 0: three quarters of the limit of open files")
	fs.StringVar(&c.scenario, "scenario", "", "a scenario to apply at start: a JSON file, or the name of a shipped one ("+strings.Join(core.ScenarioNames(), ", ")+")")
	fs.BoolVar(&c.demo, "demo", false, fmt.Sprintf("demo mode: simulated customers submit orders and simulated people validate them, on a clock at %d× (unless the scale is set) with short lags", demoScale))
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(help, "usage: smsim [flags]\n       smsim healthcheck [--url URL] [--timeout D]\n"+cliUsage+"\n\nEvery flag may also be set as SMSIM_<NAME> (e.g. SMSIM_REDIS_URL); a flag wins.\n\nflags:")
			fs.SetOutput(help)
			fs.PrintDefaults()
			return c, err
		}
		return c, errors.New(flagError(err))
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q: the server takes only flags (smsim -h lists them and the subcommands)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := "SMSIM_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(env); v != "" && !set[f.Name] && err == nil {
			c.from[f.Name] = env
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %q is not a value --%s takes: %v", env, v, f.Name, valueError(f, e))
			}
		}
	})
	if c.demo && !set["scale"] && getenv("SMSIM_SCALE") == "" {
		c.scale = demoScale
	}
	return c, err
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) == 1 && args[0] == "help" { // as -h: the flags and the subcommands
		args = []string{"-h"}
	}
	if code, ok := runCLI(ctx, args, getenv, stdout, stderr); ok {
		return code
	}
	c, err := parse(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "smsim:", err)
		fmt.Fprintln(stderr, "usage: smsim [flags] (smsim -h lists them and the subcommands)")
		return 2
	}
	log, err := newLogger(c, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "smsim:", err)
		return 2
	}
	if c.gcHeadroom < 0 {
		fmt.Fprintf(stderr, "smsim: %s: must be 0 (as GOGC says) or more MiB, got %d\n", c.flag("gc-headroom"), c.gcHeadroom)
		return 2
	}
	defer gcheadroom.Start(uint64(c.gcHeadroom) << 20)()
	if err := checkExposure(c, log); err != nil {
		fmt.Fprintln(stderr, "smsim:", err)
		return 2
	}
	wcfg, err := worldConfig(c, log)
	if err != nil {
		fmt.Fprintln(stderr, "smsim:", err)
		return 2
	}
	scenario, err := readScenario(c.flag("scenario"), c.scenario)
	if err != nil {
		fmt.Fprintln(stderr, "smsim:", err)
		return 2
	}
	redis.SetLogger(redisLog{log.With("component", "redis")}) // its own lines go through ours, at debug level
	rdb, closeStore, err := openStore(ctx, c.redisURL, c.storeTimeout, c.namespaceIdle, log)
	if err != nil {
		log.Error("cannot open the store", "err", err)
		return 1
	}
	defer closeStore()
	wcfg.Redis = rdb

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			log.Error(fmt.Sprintf("%s: another process listens on %s: stop it, or give smsim another address (--addr 127.0.0.1:PORT) and point its clients there (the subcommands' --url, SMSIM_URL)", c.flag("addr"), c.addr))
			return 1
		}
		log.Error("listening", "addr", c.addr, "err", err)
		return 1
	}
	defer ln.Close()
	// webhooks go to no port of loopback but those --webhook-host gives,
	// never to this process's own address nor to its store's
	wcfg.WebhookStrictLoopback = true
	wcfg.WebhookDeny = ownAddresses(ln.Addr(), rdb)

	world, err := simulator.New(ctx, wcfg)
	if err != nil {
		log.Error("starting", "err", err)
		return 1
	}
	if scenario != nil {
		res, err := applyScenario(ctx, world, scenario)
		if err != nil {
			log.Error("applying the scenario", "scenario", c.scenario, "err", err)
			return 2
		}
		log.Info("scenario applied", "scenario", c.scenario, "name", res.Name, "phones", len(res.Phones))
	}
	if err := world.Start(ctx); err != nil {
		log.Error("starting background work", "err", err)
		return 1
	}
	defer world.Stop()
	srvLog := log
	if c.demo {
		srvLog = slog.New(demoQuiet{log.Handler()})
	}
	srv := server.New(world, server.Config{Log: srvLog, MaxBody: c.maxBody,
		AllowedHosts: append(listenHosts(c.addr), c.allowedHosts...), AdminToken: c.adminToken})

	hs := server.HTTPServer(srv.Routes(), log)
	hs.RegisterOnShutdown(world.Stop) // ends long polls and websockets, which Shutdown does not wait out
	serveErr := make(chan error, 1)
	maxConns := c.maxConns
	if maxConns == 0 {
		maxConns = defaultMaxConns()
	}
	go func() { serveErr <- hs.Serve(server.LimitListener(ln, maxConns, wcfg.Registry, hs.Handler)) }()
	log.Info("smsim is serving", "url", servingURL(ln.Addr()), "listen", ln.Addr().String(), "store", storeName(c.redisURL))
	if c.demo {
		stopDemo, err := startDemo(ctx, c, wcfg.Seed, ln.Addr(), log)
		if err != nil {
			log.Error("starting demo mode", "err", err)
			return 1
		}
		defer stopDemo()
		log.Info("demo mode: simulated customers and people are at work; open the url", "scale", c.scale)
	}

	select {
	case err := <-serveErr:
		log.Error("serving", "err", err)
		return 1
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	exit := 0
	if err := hs.Shutdown(sctx); err != nil {
		// what is still in progress is cut as the process ends
		log.Error("shutdown did not finish within --shutdown-timeout: requests still in progress are cut", "shutdown_timeout", c.shutdownTimeout, "err", err)
		exit = 1
	}
	srv.Wait() // the websockets, which the world's stop has ended
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("serving", "err", err)
		return 1
	}
	return exit
}

// checkExposure refuses to listen beyond loopback without an admin token,
// unless --insecure, and then warns.
func checkExposure(c config, log *slog.Logger) error {
	if c.maxConns < 0 {
		return fmt.Errorf("%s: must be 0 (from the limit of open files) or more, got %d", c.flag("max-conns"), c.maxConns)
	}
	host, port, err := net.SplitHostPort(c.addr)
	if err != nil {
		return fmt.Errorf("%s: %q is not host:port: %v", c.flag("addr"), c.addr, err)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("%s: %q: the port must be 0 to 65535 or a service's name, got %q", c.flag("addr"), c.addr, port)
	}
	if host != "" && server.IsLoopbackHost(host) || c.adminToken != "" {
		return nil
	}
	if !c.insecure {
		return fmt.Errorf("%s: %s listens beyond loopback, where anyone who reaches it could reset and drive the simulator: give --admin-token (or SMSIM_ADMIN_TOKEN), or --insecure to run it open", c.flag("addr"), c.addr)
	}
	log.Warn("listening beyond loopback without an admin token (--insecure): anyone who reaches the port may reset and drive the simulator", "addr", c.addr)
	return nil
}

// listenHosts answers the address of addr as a Host the server answers
// to, when it is one address other than loopback.
func listenHosts(addr string) []string {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || ip.IsUnspecified() || ip.IsLoopback() {
		return nil
	}
	return []string{host}
}

// defaultMaxConns is --max-conns unless set: three quarters of the limit of
// open files (the rest for Redis, logs and the like), 4096 when it cannot
// be read.
func defaultMaxConns() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur < 64 {
		return 4096
	}
	return int(min(rl.Cur*3/4, 1<<20))
}

func storeName(url string) string {
	switch {
	case url == "":
		return "embedded"
	case redisstore.Cluster(url):
		return "redis-cluster"
	}
	return "redis"
}

func newLogger(c config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("%s: %q is not debug, info, warn or error", c.flag("log-level"), c.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("%s: %q is not text or json", c.flag("log-format"), c.logFormat)
}

func worldConfig(c config, log *slog.Logger) (simulator.Config, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	sc := simulator.Config{KeyPrefix: c.keyPrefix, MIITSender: c.miitSender, ProviderSender: c.providerSender, Language: c.language,
		Log: log, Registry: reg, NamespaceIdle: c.namespaceIdle, MaxNamespaces: c.maxNamespaces, StoreTimeout: c.storeTimeout,
		WebhookHosts: c.webhookHosts, PrivateStore: c.redisURL == "",
		ClockStart: core.ClockStart{Scale: c.scale, Paused: c.paused},
		Limits:     core.Limits{Retention: c.retention, InboxMax: c.inboxMax, NamespaceTTL: c.namespaceTTL}}
	if !(c.scale > 0 && c.scale <= core.MaxScale) {
		return sc, fmt.Errorf("%s: must be more than 0 and at most %d, got %v", c.flag("scale"), core.MaxScale, c.scale)
	}
	if !gateway.IsMIITSender(c.miitSender) {
		return sc, fmt.Errorf("%s: must be 12381, 106 followed by ten digits and 12381, or a carrier's sender (106598051001, 10655113, 106575000130), got %q", c.flag("miit-sender"), c.miitSender)
	}
	if err := gateway.ValidateSender(c.flag("provider-sender"), c.providerSender); err != nil {
		return sc, err
	}
	if !slices.Contains(core.Languages(), c.language) {
		return sc, fmt.Errorf("%s: must be %s, got %q", c.flag("language"), strings.Join(core.Languages(), " or "), c.language)
	}
	if strings.ContainsAny(c.keyPrefix, "{}") {
		return sc, fmt.Errorf("%s: must hold no { or }, got %q: the namespace in braces is the hash tag that keeps a namespace's keys in one slot of a Redis Cluster",
			c.flag("key-prefix"), c.keyPrefix)
	}
	if strings.ContainsAny(c.keyPrefix, core.GlobChars) {
		return sc, fmt.Errorf("%s: must hold none of %s, got %q: a reset finds a namespace's keys by a pattern of the prefix, which would match other prefixes' keys",
			c.flag("key-prefix"), core.GlobChars, c.keyPrefix)
	}
	if c.maxBody < 1024 {
		return sc, fmt.Errorf("%s: must be at least 1024 bytes, got %d", c.flag("max-body"), c.maxBody)
	}
	if c.storeTimeout < 10*time.Millisecond || c.storeTimeout > time.Minute {
		return sc, fmt.Errorf("%s: must be at least 10ms and at most 1m, got %v", c.flag("store-timeout"), c.storeTimeout)
	}
	if c.maxNamespaces < 1 {
		return sc, fmt.Errorf("%s: must be at least 1, got %d", c.flag("max-namespaces"), c.maxNamespaces)
	}
	if c.namespaceIdle < time.Minute {
		return sc, fmt.Errorf("%s: must be at least 1m, got %v", c.flag("namespace-idle"), c.namespaceIdle)
	}
	if c.namespaceTTL != 0 && c.namespaceTTL < c.namespaceIdle {
		return sc, fmt.Errorf("%s: must be 0 (for ever) or at least the %s (%v), got %v", c.flag("namespace-ttl"), c.flag("namespace-idle"), c.namespaceIdle, c.namespaceTTL)
	}
	if c.retention < 0 {
		return sc, fmt.Errorf("%s: must be 0 (as long as what is under way) or more, got %v", c.flag("retention"), c.retention)
	}
	if c.inboxMax < 0 {
		return sc, fmt.Errorf("%s: must be 0 (all) or more, got %d", c.flag("inbox-max"), c.inboxMax)
	}
	switch {
	case c.journalMax < 0:
		return sc, fmt.Errorf("%s: must be 0 (no journal) or more, got %d", c.flag("journal-max"), c.journalMax)
	case c.journalMax == 0:
		sc.JournalMax = -1
	default:
		sc.JournalMax = c.journalMax
	}
	if c.clockStart != "" {
		t, err := time.Parse(time.RFC3339, c.clockStart)
		if err != nil {
			return sc, fmt.Errorf("%s: %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", c.flag("clock-start"), c.clockStart)
		}
		if t.After(core.MaxTime()) {
			return sc, fmt.Errorf("%s: must be at most %s, the latest simulated time, got %s", c.flag("clock-start"), core.MaxTime().Format(time.RFC3339), c.clockStart)
		}
		sc.ClockStart.At = t
	}
	if c.seed != "" {
		var n int64
		if _, err := fmt.Sscan(c.seed, &n); err != nil || fmt.Sprint(n) != c.seed {
			return sc, fmt.Errorf("%s: %q is not a whole number", c.flag("seed"), c.seed)
		}
		sc.Seed = &n
	}
	return sc, nil
}

// openStore connects to the Redis of url — one server, or a Redis Cluster
// (redisstore.Open) — or starts an embedded miniredis when url is empty,
// reached in memory, on no port (redisstore.Memory), which packs the keys
// of each namespace idle for idle (runDownTTLs); its client never sends a
// command twice, and waits at most timeout for each (core.StoreOptions,
// core.StoreClusterOptions).
func openStore(ctx context.Context, url string, timeout, idle time.Duration, log *slog.Logger) (redis.UniversalClient, func(), error) {
	if url == "" {
		m := miniredis.NewMiniRedis()
		mem, err := redisstore.NewMemory(m)
		if err != nil {
			return nil, nil, fmt.Errorf("start embedded Redis: %w", err)
		}
		stopTTLs := runDownTTLs(mem, ttlTick, idle)
		rdb := redis.NewClient(core.StoreOptions(&redis.Options{Addr: "embedded", Dialer: mem.Dial}, timeout))
		return rdb, func() { rdb.Close(); stopTTLs(); mem.Close() }, nil
	}
	rdb, err := core.OpenStore(url, timeout)
	if err != nil {
		return nil, nil, fmt.Errorf("--redis-url: %w", err)
	}
	addrs := strings.Join(redisstore.Addrs(rdb), ",")
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		rdb.Close()
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			err = op.Err // "connect: connection refused", without the dial's address twice
		}
		return nil, nil, fmt.Errorf("--redis-url: no Redis answers at %s: %v", addrs, err)
	}
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		masters, err := redisstore.Masters(pctx, c)
		if err != nil {
			rdb.Close()
			return nil, nil, fmt.Errorf("--redis-url: cannot reach the masters of %s: %w", addrs, err)
		}
		log.Info("connected to Redis Cluster", "addrs", addrs, "masters", strings.Join(masters, ","))
	case *redis.Client:
		log.Info("connected to Redis", "addr", addrs, "db", c.Options().DB)
	}
	go pruneLibraries(rdb, log)
	return rdb, func() { rdb.Close() }, nil
}

// pruneLibraries deletes from the store the libraries of Redis functions
// that another build of smsim loaded (core.PruneLibraries), in the
// background: the server is ready meanwhile.
func pruneLibraries(rdb redis.UniversalClient, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := core.PruneLibraries(ctx, rdb)
	switch {
	case err != nil && !errors.Is(err, redis.ErrClosed):
		log.Warn("could not delete the libraries of other builds from Redis", "err", err)
	case n > 0:
		log.Info("deleted the libraries of other builds of smsim from Redis", "libraries", n)
	}
}

// redisLog writes go-redis's own lines (a pool that cannot dial, a
// reconnection) to the log at debug level, so that an unreachable Redis is
// the one line that says so, not a line of go-redis's per attempt.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "))
}

// ttlTick is how often the embedded store's TTLs run down: each time,
// miniredis walks all its keys (about 2 ms per thousand), holding the store.
const ttlTick = 10 * time.Second

// runDownTTLs runs the TTLs of the embedded store down as real time passes,
// every tick, so that its keys expire as a real Redis's do (miniredis
// leaves its TTLs as they are unless told), and what miniredis remembers
// of them goes with them (redisstore.Memory.Expire): the embedded store's
// memory stays bounded by the limits (--retention, --namespace-ttl). Each
// tick it also packs the keys of the namespaces no command has named for
// idle (redisstore.Memory.Hibernate), and gives the memory they held back
// to the system once a tick packs none, or every releaseEvery while each
// packs some. It answers the function that stops it and waits.
func runDownTTLs(mem *redisstore.Memory, tick, idle time.Duration) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(tick)
		defer t.Stop()
		last, released, pending := time.Now(), time.Time{}, 0
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				mem.Expire(now.Sub(last))
				last = now
				// Namespaces used together go idle over a few ticks: give
				// the memory back once none is left to pack, or every
				// releaseEvery while they keep coming.
				n := mem.Hibernate(idle)
				pending += n
				if pending > 0 && (n == 0 || time.Since(released) >= releaseEvery) {
					debug.FreeOSMemory()
					released, pending = time.Now(), 0
				}
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// releaseEvery is how often the embedded store's packing gives memory back
// to the system while namespaces keep going idle: each time costs a full
// collection.
const releaseEvery = time.Minute

// applyScenario applies the --scenario to the default namespace.
func applyScenario(ctx context.Context, world *simulator.World, scenario []byte) (simulator.ScenarioResult, error) {
	ns, err := world.Namespace(ctx, core.DefaultNamespace)
	if err != nil {
		return simulator.ScenarioResult{}, err
	}
	return ns.ApplyScenario(ctx, scenario)
}

// readScenario reads the --scenario file, or names a shipped scenario; it
// checks it before anything starts.
func readScenario(name, arg string) ([]byte, error) {
	if arg == "" {
		return nil, nil
	}
	b, err := os.ReadFile(arg)
	if err != nil {
		if _, ok := core.ShippedScenario(arg); !ok {
			return nil, fmt.Errorf("%s: %q is neither a readable file (%v) nor a shipped scenario (%s)", name, arg, err, strings.Join(core.ScenarioNames(), ", "))
		}
		b = []byte(`{"name":"` + arg + `"}`)
	}
	sc, err := core.ParseScenario(b)
	if err == nil {
		_, err = sc.FaultsAt(time.Now())
	}
	for number, raw := range sc.Phones {
		if err != nil {
			break
		}
		if _, err = gateway.NormalizePhone("phones", number); err == nil {
			_, err = gateway.ParseProfile(raw)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: scenario %s: %v", name, arg, ofFile(err))
	}
	return b, nil
}
