package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"smsim/miit"
)

// Fifty wrong codes for one person at once, through two server instances
// on one Redis: exactly five count, the fifth rejects, the rest find
// nothing.
func TestConcurrentWrongCodesCountExactlyFive(t *testing.T) {
	e := newEnv(t)
	b := e.newInstance()
	v := single(e, "13900000001")
	code := e.code("13900000001")

	const n = 50
	results := make([]miit.ValidationResult, n)
	alternately(n, e.instance, b, func(i int, in *instance) {
		results[i] = in.validate(wrong(code), "13900000001", leaderCert)
	})
	count := map[string]int{}
	rejected := 0
	for _, r := range results {
		count[r.Result]++
		if r.Rejected {
			rejected++
			if r.Result != "failed" || r.Message != miit.TextFailed {
				t.Errorf("the rejecting answer is %+v, want failed", r)
			}
		}
	}
	if count["failed"] != 5 || count["not_found"] != n-5 || rejected != 1 {
		t.Fatalf("answers %v with %d rejecting; want 5 failed (1 rejecting) and %d not_found", count, rejected, n-5)
	}
	if mv := b.miitView(v.ID); mv.Status != "rejected" || mv.Personnel[0].Failures != 5 {
		t.Fatalf("MIIT view %+v, want rejected with exactly 5 failures", mv)
	}
}

// Twenty resends at once through two instances: exactly two succeed, each
// with a new code.
func TestConcurrentResendsSucceedExactlyTwice(t *testing.T) {
	e := newEnv(t)
	b := e.newInstance()
	v := single(e, "13900000002")

	const n = 20
	results := make([]miit.ResendResult, n)
	alternately(n, e.instance, b, func(i int, in *instance) {
		results[i] = in.resend("13900000002", leaderCert)
	})
	count := map[string]int{}
	for _, r := range results {
		count[r.Result]++
	}
	if count["resent"] != 2 || count["limit_reached"] != n-2 {
		t.Fatalf("answers %v, want 2 resent and %d limit_reached", count, n-2)
	}
	codes := e.codes("13900000002")
	if len(codes) != 3 || codes[0] == codes[1] || codes[1] == codes[2] || codes[0] == codes[2] {
		t.Fatalf("codes %v, want the first and two new ones", codes)
	}
	if mv := e.miitView(v.ID); mv.Personnel[0].Resends != 2 {
		t.Fatalf("resends %d, want 2", mv.Personnel[0].Resends)
	}
	// The two resends raced: whichever code was issued last is the live one;
	// the other is dead (a wrong code).
	if r := e.validate(codes[1], "13900000002", leaderCert); r.Result != "complete" {
		wantValidation(t, r, "failed", false)
		wantValidation(t, e.validate(codes[2], "13900000002", leaderCert), "complete", false)
	}
}

// Resends at once through one instance text their codes in the order the
// codes were issued: the newest message always holds the live code.
func TestConcurrentResendsTextTheLiveCodeLast(t *testing.T) {
	e := newEnv(t)
	for round := range 8 {
		phone := fmt.Sprintf("139000001%02d", round)
		single(e, phone)
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() { e.resend(phone, leaderCert) })
		}
		wg.Wait()
		codes := e.codes(phone)
		if len(codes) != 3 {
			t.Fatalf("round %d: codes %v, want the first and two resent", round, codes)
		}
		if r := e.validate(codes[2], phone, leaderCert); r.Result != "complete" {
			t.Fatalf("round %d: the newest code %s of %v answered %s, want complete: the live code came before it", round, codes[2], codes, r.Result)
		}
	}
}

// With two instances running, each advancing the shared clock and each
// running its scheduler loop, every scheduled event is carried out once:
// every person gets one notice and one code.
func TestEachEventOnceWithTwoInstances(t *testing.T) {
	e := newEnv(t)
	b := e.newInstance()
	e.patchFaults(`{"sync_lag":{"min":"10m","max":"50m"},"sms_delay":{"min":"0s","max":"20m"}}`)
	const orders = 40
	alternately(orders, e.instance, b, func(i int, in *instance) {
		in.submit(firstFilingWebsite(fmt.Sprintf("136%08d", 2*i), fmt.Sprintf("136%08d", 2*i+1)))
	})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); e.advance("35m") }()
	go func() { defer wg.Done(); b.advance("35m") }()
	wg.Wait()
	if now := e.now(); !now.Equal(t0.Add(70 * 60e9)) {
		t.Fatalf("clock %s after two advances of 35m, want %s", now, t0.Add(70*60e9))
	}
	for i := range 2 * orders {
		phone := fmt.Sprintf("136%08d", i)
		msgs := e.inbox(phone)
		senders := map[string]int{}
		for _, m := range msgs {
			senders[m.Sender]++
		}
		if len(msgs) != 2 || senders["95187"] != 1 || senders["12381"] != 1 {
			due, _ := e.rdb.ZRangeWithScores(context.Background(), e.keys().SchedDue(), 0, 5).Result()
			fly, _ := e.rdb.ZRange(context.Background(), e.keys().SchedInflight(), 0, -1).Result()
			t.Fatalf("%s got %d messages %+v, want one notice and one code; next due %v; in flight %v", phone, len(msgs), msgs, due, fly)
		}
	}
}

// alternately runs f n times at once, the calls taking turns between
// instances a and b, and waits for them all.
func alternately(n int, a, b *instance, f func(i int, in *instance)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := a
			if i%2 == 1 {
				in = b
			}
			f(i, in)
		}()
	}
	wg.Wait()
}
