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

// MIIT in Chinese: the result words are the same, the messages are the
// Chinese page's, and the code is read from the Chinese text message.
func ExampleFaults_language() {
	sim, err := simtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()

	if _, err := sim.PatchFaults(ctx, map[string]any{"language": client.LanguageChinese}); err != nil {
		log.Fatal(err)
	}
	leader := client.Person{Name: "李雷", Phone: "13800000001", CertificateNumber: "110101199003071234"}
	sim.Submit(ctx, client.SubmitRequest{Type: client.TypeModify, Variant: "entity", EntityLeader: &leader})
	sim.Advance(ctx, time.Hour)
	m, err := sim.WaitForCodeAfter(ctx, leader.Phone, client.AfterStart)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Body[:len("【工业和信息化部】")], m.Code == client.CodeIn(m.Body))
	v, _ := sim.ValidatePerson(ctx, leader, m.Code)
	fmt.Println(v.Result, v.Message == client.TextZhComplete)
	fmt.Println(v.Message)
	// Output:
	// 【工业和信息化部】 true
	// complete true
	// 您的短信核验已全部完成,该请求将提交管局审核
}

// A suspended phone got nothing, and on the paused clock nothing is on its
// way: the wait says so at once, and the failed message tells why.
func ExampleErrNothingOnItsWay() {
	sim, err := simtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()

	leader := client.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}
	p := client.DefaultPhoneProfile()
	p.Service = client.ServiceSuspended
	sim.SetProfile(ctx, leader.Phone, p)
	sim.Submit(ctx, client.SubmitRequest{Type: client.TypeModify, Variant: "entity", EntityLeader: &leader})
	sim.Advance(ctx, time.Hour)

	start := time.Now()
	_, err = sim.WaitForCode(ctx, leader.Phone)
	fmt.Println(errors.Is(err, client.ErrNothingOnItsWay), time.Since(start) < client.DefaultWait/10) // at once, not after the wait
	failed, _ := sim.Messages(ctx, leader.Phone, client.FolderFailed)
	for _, m := range failed {
		fmt.Println(m.Sender, m.Status, m.Reason, m.Trail[len(m.Trail)-1].Step)
	}
	// Output:
	// true true
	// 95187 failed suspended failed
	// 12381 failed suspended failed
}

// Each event's data, typed by its kind.
func ExampleEvent_Payload() {
	sim, err := simtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()

	p := client.DefaultPhoneProfile()
	p.Reachable = false
	sim.SetProfile(ctx, "13800000001", p)
	sim.Send(ctx, "95187", "13800000001", "hello")
	page, _ := sim.Events(ctx, client.EventOptions{})
	for _, e := range page.Events {
		switch v, _ := e.Payload(); v := v.(type) {
		case client.SMSSentEvent:
			fmt.Println(e.Kind, v.Sender, v.Status)
		case client.SMSOutcomeEvent:
			fmt.Println(e.Kind, v.Status, v.Reason)
		}
	}
	// Output:
	// sms.sent 95187 queued
	// sms.failed failed unreachable
}
