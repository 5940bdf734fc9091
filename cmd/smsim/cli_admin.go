package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"smsim/simulator/client"
	"smsim/simulator/core"
)

// runReset is `smsim reset`: it forgets every order, message, phone profile
// and event of the namespace, and sets its clock and fault profile back to
// their start values; it prints the clock.
func runReset(ctx context.Context, c *cli, args []string) int {
	asJSON := c.fs.Bool("json", false, "print the clock as JSON")
	sc, code := c.connect(args, "[flags]", 0)
	if sc == nil {
		return code
	}
	st, err := sc.Reset(ctx)
	if err != nil {
		return c.fail(err)
	}
	if !*asJSON {
		fmt.Fprint(c.stdout, "reset: ")
	}
	return printClock(c.stdout, st, *asJSON)
}

// runCancel is `smsim cancel ID`: the customer cancels the order; it prints
// the order as the provider sees it.
func runCancel(ctx context.Context, c *cli, args []string) int {
	asJSON := c.fs.Bool("json", false, "print the API's answer as JSON")
	sc, code := c.connect(args, "[flags] ID", 1)
	if sc == nil {
		return code
	}
	v, err := sc.Cancel(ctx, c.args[0])
	if err != nil {
		return c.fail(err)
	}
	if *asJSON {
		return printJSON(c.stdout, v)
	}
	printOrder(c.stdout, v)
	return exitOK
}

// runProfile is `smsim profile PHONE`: the phone's own faults, after
// changing those the flags give.
func runProfile(ctx context.Context, c *cli, args []string) int {
	spam := c.fs.Bool("spam-filter", false, "file MIIT's messages as spam (--spam-filter=false: don't)")
	service := c.fs.String("service", "", "the line's service: active, or suspended (messages to it fail)")
	reachable := c.fs.Bool("reachable", false, "the number is reachable (--reachable=false: unavailable, messages to it fail)")
	inboxLimit := c.fs.Int("inbox-limit", 0, "the inbox holds at most this many messages, more are refused; 0: no limit")
	reset := c.fs.Bool("reset", false, "back to the profile of a phone nobody has set, before the other flags")
	asJSON := c.fs.Bool("json", false, "print the profile as JSON")
	c.fields = map[string]string{"phone": "PHONE"}
	if code := c.parse(args, "[flags] PHONE", 1); code >= 0 {
		return code
	}
	if c.set("service") && *service != client.ServiceActive && *service != client.ServiceSuspended {
		return c.usageErr("--service: %q is not active or suspended", *service)
	}
	if *inboxLimit < 0 {
		return c.usageErr("--inbox-limit: must be 0 (no limit) or more, got %d", *inboxLimit)
	}
	sc, err := c.client()
	if err != nil {
		return c.usageErr("%v", err)
	}
	phone := c.args[0]
	var p client.PhoneProfile
	if *reset {
		p = client.DefaultPhoneProfile()
	} else if p, err = sc.Profile(ctx, phone); err != nil {
		return c.fail(err)
	}
	change := *reset
	c.fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "spam-filter":
			p.SpamFilter = *spam
		case "service":
			p.Service = *service
		case "reachable":
			p.Reachable = *reachable
		case "inbox-limit":
			p.InboxLimit = *inboxLimit
		default:
			return
		}
		change = true
	})
	if change {
		if p, err = sc.SetProfile(ctx, phone, p); err != nil {
			return c.fail(err)
		}
	}
	if *asJSON {
		return printJSON(c.stdout, p)
	}
	line := []string{phone, "service " + p.Service, onOff("reachable", p.Reachable), onOff("spam filter", p.SpamFilter)}
	if p.InboxLimit > 0 {
		line = append(line, fmt.Sprintf("inbox limit %d", p.InboxLimit))
	}
	if len(p.BlockSenders) > 0 {
		line = append(line, "blocks senders "+strings.Join(p.BlockSenders, ","))
	}
	if len(p.BlockKeywords) > 0 {
		line = append(line, "blocks words "+strings.Join(p.BlockKeywords, ","))
	}
	if p.DuplicateRate > 0 {
		line = append(line, fmt.Sprintf("duplicate rate %v", p.DuplicateRate))
	}
	fmt.Fprintln(c.stdout, strings.Join(line, "  "))
	return exitOK
}

func onOff(what string, on bool) string {
	if on {
		return what + " on"
	}
	return what + " off"
}

// runFaults is `smsim faults [PATCH]`: it prints the fault profile as JSON,
// after merging PATCH into it (a JSON merge patch), or with --replace
// after replacing it by PATCH (what it omits takes its start value).
func runFaults(ctx context.Context, c *cli, args []string) int {
	replace := c.fs.Bool("replace", false, `PATCH is the whole profile: what it omits takes its start value ('{}': the start profile)`)
	c.fs.Bool("json", false, "print the profile as JSON, as the API answers it (it always is)")
	if code := c.parse(args, `[flags] [PATCH]   (such as '{"drop_rate": 0.1}')`, -1); code >= 0 {
		return code
	}
	if len(c.args) > 1 {
		return c.usageErr("PATCH: give one JSON object, in quotes, got %d arguments", len(c.args))
	}
	if *replace && len(c.args) == 0 {
		return c.usageErr("--replace: give the profile to replace the current one with, such as '{}'")
	}
	var patch json.RawMessage
	if len(c.args) == 1 {
		patch = json.RawMessage(c.args[0])
		if !json.Valid(patch) || !bytes.HasPrefix(bytes.TrimSpace(patch), []byte("{")) {
			return c.usageErr("PATCH: %q is not a JSON object such as '{\"drop_rate\": 0.1}'", c.args[0])
		}
	}
	sc, err := c.client()
	if err != nil {
		return c.usageErr("%v", err)
	}
	var f client.Faults
	switch {
	case *replace:
		// Sent as given: the server fills what it omits with start values
		// and names what it does not know.
		f, err = sc.ReplaceFaults(ctx, patch)
	case patch != nil:
		f, err = sc.PatchFaults(ctx, patch)
	default:
		f, err = sc.Faults(ctx)
	}
	if err != nil {
		return c.fail(err)
	}
	return printJSON(c.stdout, f)
}

// runScenario is `smsim scenario [NAME | FILE]`: without an argument, the
// scenarios shipped with smsim; with one, it applies the shipped scenario
// of that name, or the scenario file.
func runScenario(ctx context.Context, c *cli, args []string) int {
	asJSON := c.fs.Bool("json", false, "print the API's answer as JSON")
	c.fields = map[string]string{"name": "NAME"}
	if code := c.parse(args, "[flags] [NAME | FILE]", -1); code >= 0 {
		return code
	}
	if len(c.args) > 1 {
		return c.usageErr("NAME: give one scenario, got %d arguments", len(c.args))
	}
	var sc client.Scenario
	if len(c.args) == 1 {
		arg := c.args[0]
		b, err := os.ReadFile(arg)
		switch {
		case err == nil:
			if sc, err = decodeScenarioFile(b); err != nil {
				return c.usageErr("FILE: %s is not a scenario: %v", arg, err)
			}
		case strings.ContainsAny(arg, "/.") || !os.IsNotExist(err):
			return c.usageErr("FILE: %v", err)
		default:
			sc.Name = arg
		}
	}
	cl, err := c.client()
	if err != nil {
		return c.usageErr("%v", err)
	}
	if len(c.args) == 0 {
		list, err := cl.Scenarios(ctx)
		if err != nil {
			return c.fail(err)
		}
		if *asJSON {
			return printJSON(c.stdout, map[string]any{"scenarios": list})
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
		for _, s := range list {
			fmt.Fprintf(tw, "%s\t%s\n", s.Name, s.Description)
		}
		tw.Flush()
		return exitOK
	}
	res, err := cl.ApplyScenario(ctx, sc)
	if err != nil {
		return c.fail(err)
	}
	if *asJSON {
		return printJSON(c.stdout, res)
	}
	name := res.Name
	if name == "" {
		name = c.args[0]
	}
	fmt.Fprintf(c.stdout, "applied %s: %d phone profiles, %d outages, %d throttles\n", name, len(res.Phones), len(res.Faults.Outages), len(res.Faults.Throttles))
	return exitOK
}

// decodeScenarioFile reads a scenario file as the server reads a scenario
// (core.ParseScenario): one JSON object and nothing after it, each key a
// field's name exactly, a null the field left out. The error says what is
// wrong, naming a key by its path (outages[0].After).
func decodeScenarioFile(b []byte) (client.Scenario, error) {
	var sc client.Scenario
	if err := core.DecodeProfileBytes(b, new(core.Scenario)); err != nil {
		return sc, ofFile(err)
	}
	if err := json.Unmarshal(b, &sc); err != nil {
		return sc, err
	}
	return sc, nil
}

// ofFile is an error of decoding a file as the server decodes a request's
// body, without the word "body" the decoder begins it with.
func ofFile(err error) error {
	return errors.New(strings.TrimPrefix(err.Error(), "body: "))
}
