package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/simtest"
)

// A resend replaces the code: walk the codes one by one, each after the
// message of the one before.
func ExampleClient_WaitForCodeAfter() {
	sim, err := simtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()

	leader := client.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}
	sim.Submit(ctx, client.SubmitRequest{Type: client.TypeModify, Variant: "entity", EntityLeader: &leader})
	sim.Advance(ctx, time.Hour)
	first, err := sim.WaitForCodeAfter(ctx, leader.Phone, client.AfterStart)
	if err != nil {
		log.Fatal(err)
	}
	r, _ := sim.ResendPerson(ctx, leader)
	fmt.Println(r.Result)
	second, err := sim.WaitForCodeAfter(ctx, leader.Phone, first.ID)
	if err != nil {
		log.Fatal(err)
	}
	v, _ := sim.ValidatePerson(ctx, leader, second.Code)
	fmt.Println(v.Result)
	// Output:
	// resent
	// complete
}

// A request the simulator refuses is an *Error with its problem details.
func ExampleError() {
	sim, err := simtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()

	_, err = sim.Cancel(context.Background(), "f_0123456789abcdef")
	var e *client.Error
	if errors.As(err, &e) && e.Status == http.StatusNotFound {
		fmt.Println(e.Type)
	}
	// Output: urn:smsim:problem:not-found
}
