package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"smsim/simulator/client"
)

// runRequests is `smsim requests`: it prints the namespace's request
// journal — what clients sent the provider, MIIT and phone APIs and what
// smsim answered, with the fault the profile applied — oldest first,
// chosen by route, phone, order and simulated time.
func runRequests(ctx context.Context, c *cli, args []string) int {
	route := c.fs.String("route", "", `only the requests of this route, as the API's reference names it ("POST /miit/v1/validations")`)
	phone := c.fs.String("phone", "", "only the requests about this phone")
	order := c.fs.String("order", "", "only the requests about this order")
	since := c.fs.String("since", "", "only the requests at or after this simulated time (RFC 3339)")
	until := c.fs.String("until", "", "only the requests before this simulated time (RFC 3339)")
	asJSON := c.fs.Bool("json", false, "print each request as one line of JSON (the journal's JSON lines)")
	c.fields = map[string]string{"route": "--route", "phone": "--phone", "order": "--order", "since": "--since", "until": "--until"}
	if code := c.parse(args, "[flags]", 0); code >= 0 {
		return code
	}
	f := client.RequestFilter{Route: *route, Phone: *phone, Order: *order}
	for _, t := range []struct {
		flag, v string
		to      *time.Time
	}{{"--since", *since, &f.Since}, {"--until", *until, &f.Until}} {
		if t.v == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, t.v)
		if err != nil {
			return c.usageErr("%s: %q is not an RFC 3339 time such as 2026-05-01T12:00:00Z", t.flag, t.v)
		}
		*t.to = at
	}
	sc, err := c.client()
	if err != nil {
		return c.usageErr("%v", err)
	}
	rs, err := sc.Requests(ctx, f)
	if err != nil {
		return c.fail(err)
	}
	for _, r := range rs {
		if *asJSON {
			b, _ := json.Marshal(r)
			fmt.Fprintf(c.stdout, "%s\n", b)
			continue
		}
		status := fmt.Sprint(r.Status)
		if r.Status == 0 {
			status = "dropped"
		}
		fmt.Fprintf(c.stdout, "%s  %s %s  %s  %s", stamp(r.At), r.Method, r.Path, status, r.Took)
		if r.Query != "" {
			fmt.Fprintf(c.stdout, "  ?%s", r.Query)
		}
		if r.Fault != nil {
			fmt.Fprintf(c.stdout, "  fault: %s", describeFault(*r.Fault))
		}
		fmt.Fprintln(c.stdout)
		if len(r.Body) > 0 {
			fmt.Fprintf(c.stdout, "    sent     %s\n", r.Body)
		}
		if len(r.Answer) > 0 {
			fmt.Fprintf(c.stdout, "    answered %s\n", r.Answer)
		}
	}
	return exitOK
}

// describeFault says what the fault profile did to a request.
func describeFault(f client.AppliedFault) string {
	var s string
	switch {
	case f.Dropped:
		s = "connection dropped"
	case f.Status != 0:
		s = fmt.Sprintf("answered %d", f.Status)
	}
	if f.Latency != "" {
		if s != "" {
			s += ", "
		}
		s += "delayed " + f.Latency
	}
	switch {
	case f.Magic != "":
		s += " (magic number " + f.Magic + ")"
	case f.Step != nil:
		s += fmt.Sprintf(" (call %d, step %d of the script)", f.Call, *f.Step+1)
	default:
		s += fmt.Sprintf(" (call %d)", f.Call)
	}
	return s
}
