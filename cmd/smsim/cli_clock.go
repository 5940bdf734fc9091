package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"smsim/simulator/client"
)

// runAdvance is `smsim advance DURATION`: it moves the simulated clock
// ahead, carrying out everything that falls due on the way, and prints the
// clock.
func runAdvance(ctx context.Context, c *cli, args []string) int {
	asJSON := c.fs.Bool("json", false, "print the clock as JSON")
	if code := c.parse(args, "[flags] DURATION (such as 45m, 1h, 24h)", 1); code >= 0 {
		return code
	}
	d, err := time.ParseDuration(c.args[0])
	if err != nil || d < 0 {
		return c.usageErr("%q is not a duration such as 45m, 1h or 24h", c.args[0])
	}
	sc, err := c.client()
	if err != nil {
		return c.usageErr("%v", err)
	}
	st, err := sc.Advance(ctx, d)
	if err != nil {
		return c.fail(err)
	}
	return printClock(c.stdout, st, *asJSON)
}

// runClock is `smsim clock`: it prints the simulated clock, after pausing,
// resuming or rescaling it when asked to.
func runClock(ctx context.Context, c *cli, args []string) int {
	pause := c.fs.Bool("pause", false, "stop simulated time")
	resume := c.fs.Bool("resume", false, "run simulated time")
	scale := c.fs.Float64("scale", 0, "simulated seconds per real second")
	asJSON := c.fs.Bool("json", false, "print the clock as JSON")
	if code := c.parse(args, "[flags]", 0); code >= 0 {
		return code
	}
	if *pause && *resume {
		return c.usageErr("give --pause or --resume, not both")
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
	if *scale != 0 {
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
