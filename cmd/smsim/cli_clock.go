package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/core"
)

const advanceUsage = "[flags] DURATION | --to TIME | --next [--kind K] [--order ID] [--phone P]"

// negative matches an argument that is a negative number or duration,
// which the flag package would take for a flag (-1h).
var negative = regexp.MustCompile(`^-[0-9.]`)

// runAdvance is `smsim advance`: it moves the simulated clock ahead — by a
// duration, to a moment (--to), or to the next scheduled job (--next) —
// carrying out everything that falls due on the way, and prints the clock.
func runAdvance(ctx context.Context, c *cli, args []string) int {
	to := c.fs.String("to", "", "advance to this simulated time (RFC 3339, such as 2026-05-02T00:51:02.104Z) instead of by a duration")
	next := c.fs.Bool("next", false, "advance to the next scheduled job (smsim schedule lists them)")
	var f client.JobFilter
	c.fs.StringVar(&f.Kind, "kind", "", "with --next: the next job of this kind ("+strings.Join(jobKinds, ", ")+")")
	c.fs.StringVar(&f.Order, "order", "", "with --next: the next job of this order")
	c.fs.StringVar(&f.Phone, "phone", "", "with --next: the next job for this phone")
	asJSON := c.fs.Bool("json", false, "print the clock as JSON")
	c.fields = map[string]string{"to": "--to", "kind": "--kind", "order": "--order", "phone": "--phone", "by": "DURATION"}
	for _, a := range args {
		if negative.MatchString(a) {
			return c.usageErr("DURATION: %s is negative: the clock only moves forward; give a duration such as 1h, or --to a later time", a)
		}
	}
	if code := c.parse(args, advanceUsage, -1); code >= 0 {
		return code
	}
	given := 0
	for _, g := range []bool{len(c.args) > 0, c.set("to"), *next} {
		if g {
			given++
		}
	}
	switch {
	case len(c.args) > 1:
		return c.usageErr("DURATION: give one, got %d arguments (%s)", len(c.args), strings.Join(c.args, " "))
	case given == 0:
		return c.usageErr("give a DURATION (such as 45m), --to TIME or --next\nusage: %s %s", c.name, advanceUsage)
	case given > 1 && *next:
		return c.usageErr("--next: give it alone, not with a DURATION or --to")
	case given > 1:
		return c.usageErr("--to: give a DURATION or --to, not both")
	case !*next && (c.set("kind") || c.set("order") || c.set("phone")):
		for _, name := range []string{"kind", "order", "phone"} {
			if c.set(name) {
				return c.usageErr("--%s: chooses the job of --next; give --next too", name)
			}
		}
	}
	var at time.Time
	var d time.Duration
	if c.set("to") {
		t, err := time.Parse(time.RFC3339Nano, *to)
		if err != nil {
			return c.usageErr("--to: %q is not an RFC 3339 time such as 2026-05-02T00:51:02.104Z", *to)
		}
		at = t
	} else if !*next {
		v, err := time.ParseDuration(c.args[0])
		if err != nil {
			return c.usageErr("DURATION: %q is not a duration such as 45m, 1h or 24h", c.args[0])
		}
		d = v
	}
	sc, err := c.client()
	if err != nil {
		return c.usageErr("%v", err)
	}
	var st client.ClockState
	switch {
	case *next:
		st, err = sc.AdvanceNext(ctx, f)
	case c.set("to"):
		st, err = sc.AdvanceTo(ctx, at)
	default:
		st, err = sc.Advance(ctx, d)
	}
	if err != nil {
		return c.fail(err)
	}
	return printClock(c.stdout, st, *asJSON)
}

// jobKinds are the kinds of scheduled jobs, for the flags' help.
var jobKinds = []string{client.JobSync, client.JobNotice, client.JobCode, client.JobDeliver, client.JobExpire,
	client.JobResult, client.JobReview, client.JobAutoResend}

// runClock is `smsim clock`: it prints the simulated clock, after pausing,
// resuming or rescaling it when asked to. `smsim clock advance …` is
// `smsim advance …`.
func runClock(ctx context.Context, c *cli, args []string) int {
	if len(args) > 0 && args[0] == "advance" {
		c.name += " advance"
		return runAdvance(ctx, c, args[1:])
	}
	pause := c.fs.Bool("pause", false, "stop simulated time")
	resume := c.fs.Bool("resume", false, "run simulated time")
	scale := c.fs.Float64("scale", 0, "simulated seconds per real second: more than 0, at most 1000000")
	asJSON := c.fs.Bool("json", false, "print the clock as JSON")
	if code := c.parse(args, "[flags] | advance …", 0); code >= 0 {
		return code
	}
	if *pause && *resume {
		return c.usageErr("--resume: give --pause or --resume, not both")
	}
	if c.set("scale") && !(*scale > 0 && *scale <= core.MaxScale) {
		return c.usageErr("--scale: must be more than 0 and at most %d simulated seconds per real second, got %v", core.MaxScale, *scale)
	}
	sc, err := c.client()
	if err != nil {
		return c.usageErr("%v", err)
	}
	var set client.ClockSettings
	if *pause || *resume {
		paused := *pause
		set.Paused = &paused
	}
	if c.set("scale") {
		set.Scale = scale
	}
	var st client.ClockState
	if set.Paused != nil || set.Scale != nil {
		st, err = sc.SetClock(ctx, set)
	} else {
		st, err = sc.Clock(ctx)
	}
	if err != nil {
		return c.fail(err)
	}
	return printClock(c.stdout, st, *asJSON)
}

func printClock(w io.Writer, st client.ClockState, asJSON bool) int {
	if asJSON {
		return printJSON(w, st)
	}
	state := "paused"
	if !st.Paused {
		state = "running at " + strconv.FormatFloat(st.Scale, 'f', -1, 64) + "×"
	}
	fmt.Fprintf(w, "%s  %s\n", stamp(st.Now), state)
	return exitOK
}

// runSchedule is `smsim schedule`: what the namespace has scheduled and not
// yet carried out, earliest first.
func runSchedule(ctx context.Context, c *cli, args []string) int {
	var f client.JobFilter
	c.fs.StringVar(&f.Kind, "kind", "", "only jobs of this kind ("+strings.Join(jobKinds, ", ")+")")
	c.fs.StringVar(&f.Order, "order", "", "only the jobs of this order")
	c.fs.StringVar(&f.Phone, "phone", "", "only the jobs for this phone")
	n := c.fs.Int("n", 20, "list at most this many (1 to 1000)")
	asJSON := c.fs.Bool("json", false, "print the API's answer as JSON")
	c.fields = map[string]string{"kind": "--kind", "order": "--order", "phone": "--phone"}
	if code := c.parse(args, "[flags]", 0); code >= 0 {
		return code
	}
	if *n < 1 || *n > 1000 {
		return c.usageErr("-n: must be a whole number from 1 to 1000, got %d", *n)
	}
	sc, err := c.client()
	if err != nil {
		return c.usageErr("%v", err)
	}
	s, err := sc.Schedule(ctx, f, *n)
	if err != nil {
		return c.fail(err)
	}
	if *asJSON {
		return printJSON(c.stdout, s)
	}
	if len(s.Scheduled) == 0 {
		fmt.Fprintf(c.stdout, "nothing scheduled (now %s)\n", stamp(s.Now))
		return exitOK
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DUE\tIN\tKIND\tORDER\tPHONE\tMESSAGE")
	for _, j := range s.Scheduled {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", stamp(j.Due), in(j.Due.Sub(s.Now)), j.Kind, dash(j.Order), dash(j.Phone), dash(j.Message))
	}
	tw.Flush()
	if s.More {
		fmt.Fprintf(c.stdout, "… and more: -n %d lists more\n", min(*n*2, 1000))
	}
	return exitOK
}

// in writes how long until a job is due, in the units a person reads.
func in(d time.Duration) string {
	if d <= 0 {
		return "due"
	}
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
