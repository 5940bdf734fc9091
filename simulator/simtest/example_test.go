package simtest_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/simtest"
)

// A whole text message validation: submit a first filing, let the order
// reach MIIT, read each person's code and validate it. In a test,
// simtest.RunT(t) starts the simulator and stops it at the test's end.
func Example() {
	sim, err := simtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()

	leader := client.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}
	admin := client.Person{Name: "Han Meimei", Phone: "13800000002", CertificateNumber: "11010119920101567X"}
	order, err := sim.SubmitFirstFiling(ctx, leader, admin)
	if err != nil {
		log.Fatal(err)
	}
	sim.Advance(ctx, time.Hour) // past the sync lag: MIIT texts the codes
	for _, p := range []client.Person{leader, admin} {
		code, err := sim.WaitForCode(ctx, p.Phone)
		if err != nil {
			log.Fatal(err)
		}
		res, err := sim.ValidatePerson(ctx, p, code)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(p.Name, res.Result)
	}
	view, _ := sim.MIITFiling(ctx, order.ID)
	fmt.Println(view.Status)
	// Output:
	// Li Lei partial
	// Han Meimei complete
	// under_review
}

// Nobody validates within MIIT's 24 hours: MIIT cancels the order, and the
// provider learns of it after the result sync lag.
func Example_expiry() {
	sim, err := simtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()

	leader := client.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}
	order, err := sim.Submit(ctx, client.SubmitRequest{Type: client.TypeModify, Variant: "entity", EntityLeader: &leader})
	if err != nil {
		log.Fatal(err)
	}
	sim.Advance(ctx, time.Hour)
	m, _ := sim.MIITFiling(ctx, order.ID)
	fmt.Println("MIIT:", m.Status)
	sim.Advance(ctx, 24*time.Hour+5*time.Minute)
	m, _ = sim.MIITFiling(ctx, order.ID)
	p, _ := sim.Filing(ctx, order.ID)
	fmt.Println("MIIT:", m.Status, "provider:", p.Status)
	// Output:
	// MIIT: pending_validation
	// MIIT: canceled provider: canceled
}

// With a seed, the same requests get the same ids and codes.
func Example_seed() {
	var codes []string
	for range 2 {
		sim, err := simtest.Start(simtest.WithSeed(42))
		if err != nil {
			log.Fatal(err)
		}
		ctx := context.Background()
		leader := client.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}
		sim.Submit(ctx, client.SubmitRequest{Type: client.TypeModify, Variant: "entity", EntityLeader: &leader})
		sim.Advance(ctx, time.Hour)
		code, _ := sim.WaitForCode(ctx, leader.Phone)
		codes = append(codes, code)
		sim.Close()
	}
	fmt.Println(len(codes[0]), codes[0] == codes[1])
	// Output: 6 true
}

// One simulator, two namespaces: each has its own clock, phones and
// orders, so that one test drives two worlds side by side.
func Example_namespaces() {
	sim, err := simtest.Start(simtest.WithNamespace("team-a"))
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()
	a, b := sim.Client, sim.Namespace("team-b")

	leader := client.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}
	for _, c := range []*client.Client{a, b} {
		c.Submit(ctx, client.SubmitRequest{Type: client.TypeModify, Variant: "entity", EntityLeader: &leader})
	}
	a.Advance(ctx, time.Hour) // team-a's clock alone
	code, _ := a.WaitForCode(ctx, leader.Phone)
	res, _ := a.ValidatePerson(ctx, leader, code)
	fmt.Println("team-a:", res.Result)
	_, err = b.LatestCode(ctx, leader.Phone)
	st, _ := b.Clock(ctx)
	fmt.Println("team-b:", st.Now.Format(time.RFC3339), "has a code:", err == nil)
	// Output:
	// team-a: complete
	// team-b: 2026-05-01T00:00:00Z has a code: false
}
