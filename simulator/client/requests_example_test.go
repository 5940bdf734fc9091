package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/simtest"
)

// Make MIIT's validation answer 503 once, as a site under strain does,
// retry, and assert from the request journal what the client sent: two
// validations with the code, the first one failed by the injected fault.
func ExampleClient_Requests() {
	sim, err := simtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()

	f, _ := sim.Faults(ctx)
	f.APIFaults = []client.APIFault{{Route: client.RouteValidate,
		Next: []client.APIStep{{Calls: 1, Status: 503, RetryAfter: time.Second}}}}
	if _, err := sim.PutFaults(ctx, f); err != nil {
		log.Fatal(err)
	}
	leader := client.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}
	sim.Submit(ctx, client.SubmitRequest{Type: client.TypeModify, Variant: "entity", EntityLeader: &leader})
	sim.Advance(ctx, time.Hour)
	code, err := sim.WaitForCode(ctx, leader.Phone)
	if err != nil {
		log.Fatal(err)
	}
	_, err = sim.ValidatePerson(ctx, leader, code)
	fmt.Println(client.IsStatus(err, 503))
	v, _ := sim.ValidatePerson(ctx, leader, code)
	fmt.Println(v.Result)

	reqs, err := sim.Requests(ctx, client.RequestFilter{Route: client.RouteValidate})
	if err != nil {
		log.Fatal(err)
	}
	sent := client.RequestMatcher{Phone: leader.Phone, Body: map[string]any{"code": code}}
	faulted := true
	fmt.Println(reqs.Count(sent), reqs.Count(client.RequestMatcher{Status: 503, Faulted: &faulted}))
	fmt.Println(reqs[0].Fault.Status, reqs[1].Status)
	// Output:
	// true
	// complete
	// 2 1
	// 503 200
}
