package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"smsim/simulator/client"
)

// runValidate is `smsim validate PHONE CERT6 CODE`: it submits a code to
// MIIT and prints MIIT's answer; exit status 3 when MIIT did not take it.
func runValidate(ctx context.Context, c *cli, args []string) int {
	asJSON := c.fs.Bool("json", false, "print MIIT's answer as JSON")
	c.fields = map[string]string{"phone": "PHONE", "certificate_last6": "CERT6", "code": "CODE"}
	sc, code := c.connect(args, "[flags] PHONE CERT6 CODE", 3)
	if sc == nil {
		return code
	}
	r, err := sc.Validate(ctx, client.ValidateRequest{Phone: c.args[0], CertificateLast6: c.args[1], Code: c.args[2]})
	if err != nil {
		return c.fail(err)
	}
	if *asJSON {
		printJSON(c.stdout, r)
	} else {
		fmt.Fprintf(c.stdout, "%s: %s\n", r.Result, r.Message)
		if r.Rejected {
			fmt.Fprintln(c.stdout, "the order is rejected: too many wrong codes")
		}
	}
	if r.Result == client.ResultComplete || r.Result == client.ResultPartial {
		return exitOK
	}
	return exitRefused
}

// runResend is `smsim resend PHONE CERT6`: it asks MIIT to text the code
// again and prints MIIT's answer; exit status 3 when MIIT did not.
func runResend(ctx context.Context, c *cli, args []string) int {
	asJSON := c.fs.Bool("json", false, "print MIIT's answer as JSON")
	c.fields = map[string]string{"phone": "PHONE", "certificate_last6": "CERT6"}
	sc, code := c.connect(args, "[flags] PHONE CERT6", 2)
	if sc == nil {
		return code
	}
	r, err := sc.Resend(ctx, client.ResendRequest{Phone: c.args[0], CertificateLast6: c.args[1]})
	if err != nil {
		return c.fail(err)
	}
	if *asJSON {
		printJSON(c.stdout, r)
	} else {
		fmt.Fprintf(c.stdout, "%s: %s\n", r.Result, r.Message)
	}
	if r.Result == client.ResultResent {
		return exitOK
	}
	return exitRefused
}

// runCode is `smsim code PHONE`: it prints the newest code MIIT texted to
// the phone, waiting for a first one when there is none yet.
func runCode(ctx context.Context, c *cli, args []string) int {
	wait := c.fs.Duration("wait", 30*time.Second, "how long to wait, in real time, for a first code")
	c.fields = map[string]string{"phone": "PHONE"}
	sc, code := c.connect(args, "[flags] PHONE", 1)
	if sc == nil {
		return code
	}
	phone := c.args[0]
	m, err := sc.LatestCode(ctx, phone)
	if errors.Is(err, client.ErrNoMessage) {
		wctx, cancel := context.WithTimeout(ctx, *wait)
		defer cancel()
		m, err = sc.WaitForCodeAfter(wctx, phone, client.AfterStart)
		if errors.Is(err, client.ErrNothingOnItsWay) {
			fmt.Fprintf(c.stderr, "%s: no code from MIIT reached %s, and on the paused clock nothing is on its way to it (smsim messages --folder failed %s)\n", c.name, phone, phone)
			return exitFailed
		}
		if errors.Is(err, client.ErrNoMessage) && ctx.Err() == nil {
			fmt.Fprintf(c.stderr, "%s: no code from MIIT reached %s in %s; on a paused clock, advance it past the sync lag (smsim advance 1h)\n", c.name, phone, *wait)
			return exitFailed
		}
	}
	if err != nil {
		return c.fail(err)
	}
	fmt.Fprintln(c.stdout, m.Code)
	return exitOK
}
