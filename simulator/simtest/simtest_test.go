package simtest_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"smsim/miit"
	"smsim/simulator/client"
	"smsim/simulator/simtest"
)

// The test of the README: a client team's first test against smsim.
func TestFilingValidation(t *testing.T) {
	sim := simtest.RunT(t) // a whole smsim, its clock paused; stopped when the test ends
	ctx := t.Context()

	leader := miit.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}
	admin := miit.Person{Name: "Han Meimei", Phone: "13800000002", CertificateNumber: "11010119920101567X"}
	order, err := sim.SubmitFirstFiling(ctx, leader, admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Advance(ctx, time.Hour); err != nil { // past the sync lag: MIIT texts the codes
		t.Fatal(err)
	}
	var res miit.ValidationResult
	for _, p := range []miit.Person{leader, admin} {
		code, err := sim.WaitForCode(ctx, p.Phone) // at once if it is there, else when it arrives
		if err != nil {
			t.Fatal(err)
		}
		if res, err = sim.ValidatePerson(ctx, p, code); err != nil {
			t.Fatal(err)
		}
	}
	if res.Result != miit.ResultComplete {
		t.Fatalf("last validation: %s (%s), want complete", res.Result, res.Message)
	}
	if v, _ := sim.MIITFiling(ctx, order.ID); v.Status != miit.StatusUnderReview {
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
		leader := miit.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}
		v, err := sim.Submit(ctx, miit.SubmitRequest{Type: miit.TypeModify, Variant: "entity", EntityLeader: &leader})
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

// The README shows TestFilingValidation as it is.
func TestReadmeShowsTheTest(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
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
		t.Fatalf("the README's test differs from TestFilingValidation:\n%s", got)
	}
}
