package simtest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"smsim/simulator"
	"smsim/simulator/client"
	"smsim/simulator/core/redisstore"
	"smsim/simulator/core/testkit"
	"smsim/simulator/simtest"
)

// The test of simulator/client/README.md: a client team's first test against smsim.
func TestFilingValidation(t *testing.T) {
	sim := simtest.RunT(t) // a whole smsim, its clock paused; stopped when the test ends
	ctx := t.Context()

	leader := client.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}
	admin := client.Person{Name: "Han Meimei", Phone: "13800000002", CertificateNumber: "11010119920101567X"}
	order, err := sim.SubmitFirstFiling(ctx, leader, admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Advance(ctx, time.Hour); err != nil { // past the sync lag: MIIT texts the codes
		t.Fatal(err)
	}
	var res client.ValidationResult
	for _, p := range []client.Person{leader, admin} {
		code, err := sim.WaitForCode(ctx, p.Phone) // at once if it is there, else when it arrives
		if err != nil {
			t.Fatal(err)
		}
		if res, err = sim.ValidatePerson(ctx, p, code); err != nil {
			t.Fatal(err)
		}
	}
	if res.Result != client.ResultComplete {
		t.Fatalf("last validation: %s (%s), want complete", res.Result, res.Message)
	}
	if v, _ := sim.MIITFiling(ctx, order.ID); v.Status != client.FilingUnderReview {
		t.Fatalf("MIIT has the order %s, want under_review", v.Status)
	}
}

func TestOptions(t *testing.T) {
	start := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	sim := simtest.RunT(t, simtest.WithStart(start), simtest.Running(3600),
		simtest.WithClientOptions(client.WithHeader("X-Request-Id", "simtest-1")))
	time.Sleep(10 * time.Millisecond)
	st, err := sim.Clock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Paused || st.Scale != 3600 || !st.Now.After(start.Add(30*time.Second)) {
		t.Fatalf("clock %+v: want it running an hour a second from %s", st, start)
	}
	_, err = sim.Filing(t.Context(), "f_0")
	if e, ok := err.(*client.Error); !ok || e.RequestID != "simtest-1" {
		t.Fatalf("error %v: want the request id of the client's option", err)
	}
}

func TestSeedMakesRunsMatch(t *testing.T) {
	ids := func() (string, string) {
		sim := simtest.RunT(t, simtest.WithSeed(7))
		ctx := t.Context()
		leader := client.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}
		v, err := sim.Submit(ctx, client.SubmitRequest{Type: client.TypeModify, Variant: "entity", EntityLeader: &leader})
		if err != nil {
			t.Fatal(err)
		}
		sim.Advance(ctx, time.Hour)
		code, err := sim.WaitForCode(ctx, leader.Phone)
		if err != nil {
			t.Fatal(err)
		}
		return v.ID, code
	}
	id1, code1 := ids()
	id2, code2 := ids()
	if id1 != id2 || code1 != code2 {
		t.Fatalf("seed 7 gave %s %s, then %s %s", id1, code1, id2, code2)
	}
}

func TestSimsAreApartAndStopWithTheirTest(t *testing.T) {
	var url string
	t.Run("a", func(t *testing.T) {
		a, b := simtest.RunT(t), simtest.RunT(t)
		url = a.URL
		ctx := t.Context()
		if _, err := a.Advance(ctx, time.Hour); err != nil {
			t.Fatal(err)
		}
		if st, err := b.Clock(ctx); err != nil || !st.Now.Equal(simtest.DefaultStart()) {
			t.Fatalf("the other simulator's clock %+v, %v", st, err)
		}
	})
	c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := c.Healthz(ctx); err == nil {
		t.Fatal("the simulator still answers after its test ended")
	}
}

// simulator/client/README.md shows TestFilingValidation as it is.
func TestReadmeShowsTheTest(t *testing.T) {
	readme, err := os.ReadFile("../client/README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("simtest_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fn := func(b []byte, from string) string {
		s := string(b)
		i := strings.Index(s, from)
		if i < 0 {
			return ""
		}
		j := strings.Index(s[i:], "\n}\n")
		if j < 0 {
			return ""
		}
		return s[i : i+j+3]
	}
	want := fn(src, "func TestFilingValidation(")
	if want == "" {
		t.Fatal("no TestFilingValidation in simtest_test.go")
	}
	if got := fn(readme, "```go\nfunc TestFilingValidation("); got != "```go\n"+want {
		t.Fatalf("the test of simulator/client/README.md differs from TestFilingValidation:\n%s", got)
	}
}

// Simulators of tests that run at once share nothing: not their clock,
// orders or phones — nor, on a real Redis, their keys.
func TestParallelSimsAreApart(t *testing.T) {
	ids := map[string]string{}
	var mu sync.Mutex
	t.Run("group", func(t *testing.T) {
		for i, name := range []string{"one", "two", "three"} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				sim := simtest.RunT(t)
				ctx := t.Context()
				leader := client.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}
				v, err := sim.Submit(ctx, client.SubmitRequest{Type: client.TypeModify, Variant: "entity", EntityLeader: &leader})
				if err != nil {
					t.Fatal(err)
				}
				d := time.Duration(i+1) * time.Hour
				if _, err := sim.Advance(ctx, d); err != nil {
					t.Fatal(err)
				}
				code, err := sim.WaitForCode(ctx, leader.Phone)
				if err != nil {
					t.Fatal(err)
				}
				if r, err := sim.ValidatePerson(ctx, leader, code); err != nil || r.Result != client.ResultComplete {
					t.Fatalf("validate: %+v, %v", r, err)
				}
				list, err := sim.Filings(ctx, client.ListOptions{})
				if err != nil || list.Total != 1 || list.Filings[0].ID != v.ID {
					t.Fatalf("filings %+v, %v; want %s alone", list, err, v.ID)
				}
				inbox, err := sim.Messages(ctx, leader.Phone, "inbox")
				if err != nil || len(inbox) != 2 {
					t.Fatalf("inbox %+v, %v; want its own notice and code", inbox, err)
				}
				if st, err := sim.Clock(ctx); err != nil || !st.Now.Equal(simtest.DefaultStart().Add(d)) {
					t.Fatalf("clock %+v, %v; want it advanced by its own %v alone", st, err, d)
				}
				mu.Lock()
				ids[sim.KeyPrefix+" "+sim.RedisURL] = v.ID
				mu.Unlock()
			})
		}
	})
	if !t.Failed() && len(ids) != 3 {
		t.Fatalf("the simulators shared a store and a prefix: %v", ids)
	}
}

func TestWithNamespace(t *testing.T) {
	sim := simtest.RunT(t, simtest.WithNamespace("team-a"))
	ctx := t.Context()
	leader := client.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}
	v, err := sim.Submit(ctx, client.SubmitRequest{Type: client.TypeModify, Variant: "entity", EntityLeader: &leader})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Advance(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Namespace("team-a").Filing(ctx, v.ID); err != nil {
		t.Fatalf("the order in team-a: %v", err)
	}
	def := sim.Namespace("default")
	if _, err := def.Filing(ctx, v.ID); !client.IsStatus(err, 404) {
		t.Fatalf("the order in the default namespace: %v, want a 404", err)
	}
	if st, err := def.Clock(ctx); err != nil || !st.Now.Equal(simtest.DefaultStart()) {
		t.Fatalf("the default namespace's clock %+v, %v", st, err)
	}

	_, err = simtest.Start(simtest.WithNamespace("team a"))
	if want := `smsim client: namespace: must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit, got "team a"`; err == nil || err.Error() != want {
		t.Fatalf("Start in namespace \"team a\": %v, want %s", err, want)
	}
}

// On the real Redis of SMSIM_TEST_REDIS_URL a Sim keeps its keys under a
// prefix of its own and deletes them when it closes; else it runs on a
// miniredis of its own.
func TestStore(t *testing.T) {
	u := os.Getenv("SMSIM_TEST_REDIS_URL")
	sim := simtest.RunT(t, simtest.WithConfig(func(c *simulator.Config) { c.KeyPrefix = "mine" }))
	if _, err := sim.Advance(t.Context(), time.Minute); err != nil {
		t.Fatal(err)
	}
	if u == "" {
		if sim.Redis == nil || sim.RedisURL != "redis://"+sim.Redis.Addr() || sim.KeyPrefix != "mine" {
			t.Fatalf("store %v %q %q: want a miniredis under the prefix mine", sim.Redis, sim.RedisURL, sim.KeyPrefix)
		}
		if keys := sim.Redis.Keys(); len(keys) == 0 || !strings.HasPrefix(keys[0], "mine:") {
			t.Fatalf("keys %q", keys)
		}
		return
	}
	if sim.Redis != nil || sim.RedisURL != u || !regexp.MustCompile(`^mine-[0-9a-f]{12}$`).MatchString(sim.KeyPrefix) {
		t.Fatalf("store %v %q %q: want %s under a prefix of its own", sim.Redis, sim.RedisURL, sim.KeyPrefix, u)
	}
	rdb, err := redisstore.Open(u)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx := t.Context()
	keys, err := testkit.Keys(ctx, rdb, sim.KeyPrefix+":*")
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys under %s while it runs: %q, %v", sim.KeyPrefix, keys, err)
	}
	sim.Close()
	if keys, err = testkit.Keys(ctx, rdb, sim.KeyPrefix+":*"); err != nil || len(keys) != 0 {
		t.Fatalf("keys under %s once closed: %q, %v", sim.KeyPrefix, keys, err)
	}
}

// A Sim's own client, used after the Sim's test ended, answers ErrStopped,
// not a refused connection (or another test's server on the same port).
func TestAStoppedSimSaysSo(t *testing.T) {
	var sim *simtest.Sim
	t.Run("a", func(t *testing.T) { sim = simtest.RunT(t) })
	if _, err := sim.Clock(t.Context()); !errors.Is(err, simtest.ErrStopped) {
		t.Fatalf("the client of a stopped Sim: %v, want ErrStopped", err)
	}
}

// ForTest gives each test a namespace of its own on a shared Sim, named
// after it, and resets it when the test ends: tests that share a Sim, and
// a test run again, never meet.
func TestForTestGivesEachTestANamespace(t *testing.T) {
	shared, err := simtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	var names []string
	for _, name := range []string{"first one", "first one"} {
		t.Run(name, func(t *testing.T) {
			c := shared.ForTest(t)
			names = append(names, c.NamespaceName())
			if _, err := c.Advance(t.Context(), time.Hour); err != nil {
				t.Fatal(err)
			}
		})
	}
	if len(names) != 2 || names[0] == names[1] || !regexp.MustCompile(`^TestForTestGivesEachTestANamespace-first_one[^/]*-[0-9a-z]+$`).MatchString(names[0]) {
		t.Fatalf("namespaces %q, want two of their own, named after the tests", names)
	}
	for _, name := range names {
		if st, err := shared.Namespace(name).Clock(t.Context()); err != nil || !st.Now.Equal(simtest.DefaultStart()) {
			t.Fatalf("namespace %s after its test: %+v (%v), want reset", name, st, err)
		}
	}
}

// A Sim holds far more namespaces in use than a server does by default
// (1,000): a suite with a namespace a test, run with -count, makes more.
func TestASimHoldsManyNamespaces(t *testing.T) {
	sim := simtest.RunT(t)
	paused := true
	for i := range simulator.DefaultMaxNamespaces + 1 {
		if _, err := sim.Namespace(fmt.Sprintf("n%d", i)).SetClock(t.Context(), client.ClockSettings{Paused: &paused}); err != nil {
			t.Fatalf("namespace %d: %v", i, err)
		}
	}
}
