package main

// docker compose cannot run where the tests run: these tests check the
// stack's files instead — docker-compose.yml at the top of the repository,
// the Dockerfile, the Prometheus configuration and the Grafana provisioning
// and dashboard under deploy/ — against each other and against the metrics
// the binary really serves.

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v4"

	"smsim/simulator"
	"smsim/simulator/core"
	"smsim/simulator/server"
)

// repo is the top of the repository, seen from this package's directory.
const repo = "../.."

type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test     []string `yaml:"test"`
		Interval string   `yaml:"interval"`
		Timeout  string   `yaml:"timeout"`
		Retries  int      `yaml:"retries"`
	} `yaml:"healthcheck"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	readYAML(t, filepath.Join(repo, "docker-compose.yml"), &c)
	return c
}

// mount is one entry of a service's volumes: a named volume or a path of
// the repository (bind), its target in the container.
type mount struct {
	source, target string
	bind, readOnly bool
}

func mountOf(t *testing.T, v string) mount {
	t.Helper()
	f := strings.Split(v, ":")
	if len(f) < 2 || len(f) > 3 {
		t.Fatalf("volume %q: want source:target[:mode]", v)
	}
	m := mount{source: f[0], target: f[1], bind: strings.HasPrefix(f[0], "."), readOnly: len(f) == 3 && f[2] == "ro"}
	return m
}

// mountAt finds the mount of a service at target.
func mountAt(t *testing.T, s composeService, target string) mount {
	t.Helper()
	for _, v := range s.Volumes {
		if m := mountOf(t, v); m.target == target {
			return m
		}
	}
	t.Fatalf("nothing is mounted at %s: %v", target, s.Volumes)
	return mount{}
}

// portMap reads "host:container" port mappings.
func portMap(t *testing.T, s composeService) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range s.Ports {
		f := strings.Split(p, ":")
		if len(f) == 3 { // address:host:container
			f = f[1:]
		}
		if len(f) != 2 {
			t.Fatalf("port %q: want host:container or address:host:container", p)
		}
		out[f[0]] = f[1]
	}
	return out
}

// instances are the smsim services: those built from the Dockerfile.
func instances(c composeFile) []string {
	var out []string
	for name, s := range c.Services {
		if s.Build != nil && s.Build.Dockerfile == "cmd/smsim/Dockerfile" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// containerPort is the port an smsim service listens on (its SMSIM_ADDR).
func containerPort(t *testing.T, s composeService) string {
	t.Helper()
	host, port, err := net.SplitHostPort(s.Environment["SMSIM_ADDR"])
	if err != nil || host != "0.0.0.0" {
		t.Fatalf("SMSIM_ADDR %q: want 0.0.0.0:<port>, so that other containers and the host reach it", s.Environment["SMSIM_ADDR"])
	}
	return port
}

func TestComposeStack(t *testing.T) {
	c := readCompose(t)
	var names []string
	for name := range c.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	if want := []string{"grafana", "prometheus", "redis", "smsim-1", "smsim-2"}; !slices.Equal(names, want) {
		t.Fatalf("services %v, want %v", names, want)
	}
	for name, s := range c.Services {
		if s.Healthcheck == nil || len(s.Healthcheck.Test) < 2 || s.Healthcheck.Test[0] != "CMD" {
			t.Errorf("%s: healthcheck %+v, want a test [CMD, …]", name, s.Healthcheck)
		}
		if s.Image == "" && s.Build == nil {
			t.Errorf("%s: neither an image nor a build", name)
		}
	}
	// every named volume is declared, every declared one used
	used := map[string]bool{}
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			m := mountOf(t, v)
			if m.bind {
				if _, err := os.Stat(filepath.Join(repo, m.source)); err != nil {
					t.Errorf("%s mounts %s, which is not in the repository: %v", name, m.source, err)
				}
				continue
			}
			used[m.source] = true
			if _, ok := c.Volumes[m.source]; !ok {
				t.Errorf("%s uses the volume %s, not declared under volumes", name, m.source)
			}
		}
	}
	for v := range c.Volumes {
		if !used[v] {
			t.Errorf("volume %s is declared and not used", v)
		}
	}

	t.Run("redis", func(t *testing.T) {
		r := c.Services["redis"]
		if i := slices.Index(r.Command, "--appendonly"); i < 0 || i+1 >= len(r.Command) || r.Command[i+1] != "yes" {
			t.Errorf("redis command %v, want --appendonly yes", r.Command)
		}
		if m := mountAt(t, r, "/data"); m.bind {
			t.Errorf("redis /data is %s, want a named volume that outlives the container", m.source)
		}
		if !slices.Contains(r.Healthcheck.Test, "redis-cli") {
			t.Errorf("redis healthcheck %v, want redis-cli ping", r.Healthcheck.Test)
		}
	})

	t.Run("smsim", func(t *testing.T) {
		in := instances(c)
		if !slices.Equal(in, []string{"smsim-1", "smsim-2"}) {
			t.Fatalf("smsim instances %v, want smsim-1 and smsim-2 built from cmd/smsim/Dockerfile", in)
		}
		hostPorts := map[string]bool{}
		for _, name := range in {
			s := c.Services[name]
			if _, err := os.Stat(filepath.Join(repo, s.Build.Context, s.Build.Dockerfile)); err != nil || s.Build.Context != "." {
				t.Errorf("%s builds %s in context %q: want the Dockerfile from the top of the repository (%v)", name, s.Build.Dockerfile, s.Build.Context, err)
			}
			port := containerPort(t, s)
			if u := s.Environment["SMSIM_REDIS_URL"]; !strings.HasPrefix(u, "redis://redis:6379/") {
				t.Errorf("%s: SMSIM_REDIS_URL %q, want the redis service", name, u)
			}
			// it runs without a token (--insecure), so only the host's
			// loopback may reach it
			if s.Environment["SMSIM_INSECURE"] == "true" {
				for _, p := range s.Ports {
					if !strings.HasPrefix(p, "127.0.0.1:") {
						t.Errorf("%s runs --insecure and publishes %q: want it on 127.0.0.1 only", name, p)
					}
				}
			}
			for host, cport := range portMap(t, s) {
				if cport != port {
					t.Errorf("%s publishes container port %s; it listens on %s", name, cport, port)
				}
				hostPorts[host] = true
			}
			if h := s.Environment["SMSIM_ALLOWED_HOST"]; h != name {
				t.Errorf("%s: SMSIM_ALLOWED_HOST %q, want %q: a container of the stack's network calls it by that name", name, h, name)
			}
			want := []string{"CMD", "/smsim", "healthcheck", "--url", "http://127.0.0.1:" + port + "/readyz"}
			if !slices.Equal(s.Healthcheck.Test, want) {
				t.Errorf("%s healthcheck %v, want %v", name, s.Healthcheck.Test, want)
			}
			if s.DependsOn["redis"].Condition != "service_healthy" {
				t.Errorf("%s does not wait for a healthy redis: %+v", name, s.DependsOn)
			}
		}
		if len(hostPorts) != 2 || !hostPorts["8080"] || !hostPorts["8081"] {
			t.Errorf("host ports %v, want 8080 and 8081", hostPorts)
		}
	})

	// Prometheus and Grafana (admin / admin) as much as smsim: nothing of
	// the stack is reachable beyond the host
	t.Run("loopback", func(t *testing.T) {
		for name, s := range c.Services {
			for _, p := range s.Ports {
				if !strings.HasPrefix(p, "127.0.0.1:") {
					t.Errorf("%s publishes %q: want it on 127.0.0.1 only", name, p)
				}
			}
		}
	})

	t.Run("prometheus", func(t *testing.T) {
		p := c.Services["prometheus"]
		if portMap(t, p)["9090"] != "9090" {
			t.Errorf("prometheus ports %v, want 9090:9090", p.Ports)
		}
		var config string
		for _, a := range p.Command {
			if v, ok := strings.CutPrefix(a, "--config.file="); ok {
				config = v
			}
		}
		m := mountAt(t, p, config)
		if !m.bind || !m.readOnly || m.source != "./cmd/smsim/deploy/prometheus.yml" {
			t.Fatalf("prometheus reads its configuration %s from %+v, want ./cmd/smsim/deploy/prometheus.yml mounted read-only", config, m)
		}
		var prom struct {
			ScrapeConfigs []struct {
				JobName       string `yaml:"job_name"`
				MetricsPath   string `yaml:"metrics_path"`
				StaticConfigs []struct {
					Targets []string `yaml:"targets"`
				} `yaml:"static_configs"`
			} `yaml:"scrape_configs"`
		}
		readYAML(t, filepath.Join(repo, m.source), &prom)
		var targets []string
		for _, sc := range prom.ScrapeConfigs {
			if sc.JobName != "smsim" || (sc.MetricsPath != "" && sc.MetricsPath != "/metrics") {
				t.Errorf("scrape config %s of %s, want job smsim on /metrics", sc.JobName, sc.MetricsPath)
			}
			for _, s := range sc.StaticConfigs {
				targets = append(targets, s.Targets...)
			}
		}
		var want []string
		for _, name := range instances(c) {
			want = append(want, name+":"+containerPort(t, c.Services[name]))
		}
		slices.Sort(targets)
		if !slices.Equal(targets, want) {
			t.Errorf("prometheus scrapes %v, want the instances %v", targets, want)
		}
	})

	t.Run("grafana", func(t *testing.T) {
		g := c.Services["grafana"]
		if portMap(t, g)["3000"] != "3000" {
			t.Errorf("grafana ports %v, want 3000:3000", g.Ports)
		}
		if g.Environment["GF_SECURITY_ADMIN_USER"] == "" || g.Environment["GF_SECURITY_ADMIN_PASSWORD"] == "" {
			t.Errorf("grafana's admin login is not set: %v", g.Environment)
		}
		prov := mountAt(t, g, "/etc/grafana/provisioning")
		var ds struct {
			Datasources []struct {
				UID, Type, URL string
				IsDefault      bool `yaml:"isDefault"`
			} `yaml:"datasources"`
		}
		readYAML(t, filepath.Join(repo, prov.source, "datasources", "prometheus.yml"), &ds)
		promPort := portMap(t, c.Services["prometheus"])["9090"]
		if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || !ds.Datasources[0].IsDefault ||
			ds.Datasources[0].URL != "http://prometheus:"+promPort || ds.Datasources[0].UID != "prometheus" {
			t.Errorf("data sources %+v, want the default prometheus at http://prometheus:%s with uid prometheus", ds.Datasources, promPort)
		}
		var dp struct {
			Providers []struct {
				Type    string
				Options struct{ Path string }
			} `yaml:"providers"`
		}
		readYAML(t, filepath.Join(repo, prov.source, "dashboards", "smsim.yml"), &dp)
		if len(dp.Providers) != 1 || dp.Providers[0].Type != "file" {
			t.Fatalf("dashboard providers %+v, want one of type file", dp.Providers)
		}
		dash := mountAt(t, g, dp.Providers[0].Options.Path)
		if _, err := os.Stat(filepath.Join(repo, dash.source, "smsim.json")); err != nil {
			t.Errorf("the provider reads %s, mounted from %s, which has no smsim.json: %v", dash.target, dash.source, err)
		}
		if home := g.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]; home != dash.target+"/smsim.json" {
			t.Errorf("home dashboard %q, want %s/smsim.json", home, dash.target)
		}
	})
}

// dockerfileStage is one stage of a Dockerfile: its FROM line and its
// instructions, continuation lines joined.
type dockerfileStage struct {
	from, name string
	lines      []string
}

func readDockerfile(t *testing.T, path string) []dockerfileStage {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	var stages []dockerfileStage
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if f := strings.Fields(line); strings.EqualFold(f[0], "FROM") {
			st := dockerfileStage{from: f[1]}
			if len(f) == 4 && strings.EqualFold(f[2], "AS") {
				st.name = f[3]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("%s: %q before any FROM", path, line)
		}
		stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
	}
	return stages
}

// instruction answers the stage's lines of an instruction (without it).
func (s dockerfileStage) instruction(name string) []string {
	var out []string
	for _, l := range s.lines {
		if f := strings.Fields(l); strings.EqualFold(f[0], name) {
			out = append(out, strings.TrimSpace(l[len(f[0]):]))
		}
	}
	return out
}

func TestDockerfileIsMultiStageStaticAndNonRoot(t *testing.T) {
	path := filepath.Join(repo, "cmd/smsim/Dockerfile")
	stages := readDockerfile(t, path)
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a final one", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	if build.name == "" || !strings.HasPrefix(build.from, "golang:") {
		t.Errorf("build stage FROM %s AS %q, want a named golang stage", build.from, build.name)
	}
	var built bool
	for _, run := range build.instruction("RUN") {
		if strings.Contains(run, "go build") {
			built = strings.Contains(run, "CGO_ENABLED=0") && strings.Contains(run, "./cmd/smsim") && strings.Contains(run, "-o /out/smsim")
		}
	}
	if !built {
		t.Errorf("no static build (CGO_ENABLED=0 go build -o /out/smsim ./cmd/smsim) in %v", build.instruction("RUN"))
	}
	for _, cp := range build.instruction("COPY") {
		for _, src := range strings.Fields(cp)[:len(strings.Fields(cp))-1] {
			if _, err := os.Stat(filepath.Join(repo, src)); err != nil {
				t.Errorf("COPY %s: not in the repository: %v", src, err)
			}
		}
	}
	if !strings.Contains(final.from, "distroless/static") && final.from != "scratch" {
		t.Errorf("final stage FROM %s, want a small static base (distroless/static or scratch)", final.from)
	}
	if cp := final.instruction("COPY"); len(cp) != 1 || cp[0] != "--from="+build.name+" /out/smsim /smsim" {
		t.Errorf("final COPY %v, want only the binary from the build stage", cp)
	}
	users := final.instruction("USER")
	if len(users) == 0 {
		t.Fatal("no USER in the final stage: it would run as root")
	}
	if u := strings.Split(users[len(users)-1], ":")[0]; u == "root" || u == "0" {
		t.Errorf("final USER %s, want a non-root user", users[len(users)-1])
	}
	if env := final.instruction("ENV"); !slices.Contains(env, "SMSIM_ADDR=0.0.0.0:8080") {
		t.Errorf("final ENV %v, want SMSIM_ADDR=0.0.0.0:8080", env)
	}
	if ep := final.instruction("ENTRYPOINT"); len(ep) != 1 || ep[0] != `["/smsim"]` {
		t.Errorf("ENTRYPOINT %v, want [\"/smsim\"]", ep)
	}
	if hc := final.instruction("HEALTHCHECK"); len(hc) != 1 || !strings.Contains(hc[0], `CMD ["/smsim", "healthcheck"]`) {
		t.Errorf("HEALTHCHECK %v, want the binary's healthcheck mode", hc)
	}
	if _, err := os.Stat(path + ".dockerignore"); err != nil {
		t.Errorf("no %s.dockerignore: the build would send the whole repository: %v", path, err)
	}
}

// promqlKeywords are words of PromQL that are not metric names.
var promqlKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "and": true, "or": true, "unless": true, "offset": true, "inf": true, "nan": true,
}

var (
	promqlDrop   = regexp.MustCompile(`"[^"]*"|\{[^}]*\}|\[[^\]]*\]`)
	promqlLabels = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlWord   = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	labelValues  = regexp.MustCompile(`^label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)
)

// metricsIn answers the metric names a PromQL expression (or a Grafana
// label_values(selector, label) query) reads.
func metricsIn(expr string) []string {
	if m := labelValues.FindStringSubmatch(strings.TrimSpace(expr)); m != nil {
		expr = m[1]
	}
	expr = promqlDrop.ReplaceAllString(expr, " ")
	expr = promqlLabels.ReplaceAllString(expr, " ")
	var out []string
	for _, w := range promqlWord.FindAllString(expr, -1) {
		if strings.HasSuffix(w, "(") || promqlKeywords[w] {
			continue // a function, an aggregation, a keyword
		}
		out = append(out, w)
	}
	return out
}

func TestMetricsInReadsPromQL(t *testing.T) {
	for expr, want := range map[string][]string{
		`sum by (le, trigger) (rate(smsim_x_bucket{instance=~"$instance"}[$__rate_interval]))`: {"smsim_x_bucket"},
		`histogram_quantile(0.95, sum(rate(a_bucket[5m])) by (le))`:                            {"a_bucket"},
		`sum(rate(a_sum[1m])) / sum(rate(a_count[1m]))`:                                        {"a_sum", "a_count"},
		`up{job="smsim"} == bool 1 or on(instance) b`:                                          {"up", "b"},
		`label_values(up{job="smsim"}, instance)`:                                              {"up"},
	} {
		if got := metricsIn(expr); !slices.Equal(got, want) {
			t.Errorf("metricsIn(%s) = %v, want %v", expr, got, want)
		}
	}
}

// dashboardQueries answers every query of a Grafana dashboard: the
// targets of its panels (rows included) and its templating queries.
func dashboardQueries(t *testing.T, path string) (queries []string, datasources []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		Expr       string `json:"expr"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
	}
	type panel struct {
		Title      string   `json:"title"`
		Type       string   `json:"type"`
		Targets    []target `json:"targets"`
		Panels     []panel  `json:"panels"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
	}
	var d struct {
		UID        string  `json:"uid"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Query struct {
					Query string `json:"query"`
				} `json:"query"`
				Datasource struct {
					UID string `json:"uid"`
				} `json:"datasource"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type != "row" {
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no query", p.Title)
				}
				datasources = append(datasources, p.Datasource.UID)
			}
			for _, tg := range p.Targets {
				queries = append(queries, tg.Expr)
				datasources = append(datasources, tg.Datasource.UID)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		queries = append(queries, v.Query.Query)
		datasources = append(datasources, v.Datasource.UID)
	}
	return queries, datasources
}

// servedMetrics builds the server as run does, with its registry, on a
// miniredis, sends it some traffic — a filing, a wrong code, a resend, a
// failed Redis command — and answers the names of the metric families it
// then serves.
func servedMetrics(t *testing.T) map[string]string {
	t.Helper()
	c, err := parse(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := worldConfig(c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	m := miniredis.RunT(t)
	rdb := redis.NewClient(core.StoreOptions(&redis.Options{Addr: m.Addr()}, 0))
	t.Cleanup(func() { rdb.Close() })
	sc.Redis = rdb
	ctx := context.Background()
	world, err := simulator.New(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	if err := world.Start(ctx); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(server.New(world, server.Config{}).Routes())
	hs.Listener = server.LimitListener(hs.Listener, 64, sc.Registry, nil)
	hs.Start()
	t.Cleanup(func() { hs.Close(); world.Stop() })
	call := func(method, path, body string, want int) {
		t.Helper()
		req, _ := http.NewRequest(method, hs.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
		}
	}
	call("POST", "/provider/v1/filings", `{"type":"first_filing","variant":"app",
		"entity_leader":{"name":"Li Lei","phone":"13800000001","certificate_number":"110101199003071234"}}`, 201)
	call("POST", "/admin/v1/clock/advance", `{"by":"1h"}`, 200)
	call("POST", "/miit/v1/validations", `{"code":"000000","phone":"13800000001","certificate_last6":"071234"}`, 200)
	call("POST", "/miit/v1/resends", `{"phone":"13800000001","certificate_last6":"071234"}`, 200)
	if err := rdb.Set(ctx, core.Keyspace{Prefix: "smsim", Namespace: core.DefaultNamespace}.PhoneInbox("13800000009"), "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	call("GET", "/phones/v1/13800000009/messages", "", 500)

	mfs, err := sc.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf.GetType().String()
	}
	return out
}

// Every query of the dashboard reads metrics the binary serves (or up,
// which Prometheus writes), and every smsim metric has a panel.
func TestGrafanaDashboardQueriesNameServedMetrics(t *testing.T) {
	served := servedMetrics(t)
	exists := func(name string) bool {
		if _, ok := served[name]; ok || name == "up" {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && served[base] == "HISTOGRAM" {
				return true
			}
		}
		return false
	}
	queries, datasources := dashboardQueries(t, filepath.Join(repo, "cmd/smsim/deploy/grafana/dashboards/smsim.json"))
	used := map[string]bool{}
	for _, q := range queries {
		names := metricsIn(q)
		if len(names) == 0 {
			t.Errorf("query %q reads no metric", q)
		}
		for _, n := range names {
			if !exists(n) {
				t.Errorf("query %q reads %s, which the binary does not serve", q, n)
			}
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				n = strings.TrimSuffix(n, suffix)
			}
			used[n] = true
		}
	}
	for name := range served {
		if strings.HasPrefix(name, "smsim_") && !used[name] {
			t.Errorf("no panel shows %s", name)
		}
	}
	for _, uid := range datasources {
		if uid != "prometheus" {
			t.Errorf("a panel or query uses data source %q, want the provisioned prometheus", uid)
		}
	}
}
