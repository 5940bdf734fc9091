package main

import (
	"context"
	"encoding/json"
	"fmt"

	"smsim/simulator/client"
)

// runMessages is `smsim messages PHONE`: it prints a phone's messages —
// its inbox, its blocked folder, those that failed with their reason, or
// those still on their way — each with its trail when it never reached a
// folder.
func runMessages(ctx context.Context, c *cli, args []string) int {
	folder := c.fs.String("folder", client.FolderInbox, "inbox, blocked, failed (with the reason and the trail) or travelling (still on their way, with the trail so far)")
	asJSON := c.fs.Bool("json", false, "print each message as one line of JSON")
	c.fields = map[string]string{"phone": "PHONE", "folder": "--folder"}
	if code := c.parse(args, "[flags] PHONE", 1); code >= 0 {
		return code
	}
	switch *folder {
	case client.FolderInbox, client.FolderBlocked, client.FolderFailed, client.FolderTravelling:
	default:
		return c.usageErr("--folder: %q is not inbox, blocked, failed or travelling", *folder)
	}
	sc, err := c.client()
	if err != nil {
		return c.usageErr("%v", err)
	}
	ms, err := sc.Messages(ctx, c.args[0], *folder)
	if err != nil {
		return c.fail(err)
	}
	if *folder == client.FolderInbox || *folder == client.FolderBlocked {
		p := messagePrinter{w: c.stdout, json: *asJSON}
		for _, m := range ms {
			p.print(m)
		}
		return exitOK
	}
	for _, m := range ms {
		if *asJSON {
			b, _ := json.Marshal(m)
			fmt.Fprintf(c.stdout, "%s\n", b)
			continue
		}
		what := m.Status
		if m.Reason != "" {
			what += " (" + m.Reason + ")"
		}
		code := "           "
		if m.Code != "" {
			code = "code " + m.Code
		}
		fmt.Fprintf(c.stdout, "%s  %s  %s  %s  %s  %s\n", listStamp(m.SentAt), m.ID, what, m.Sender, code, m.Body)
		for _, d := range m.Trail {
			fmt.Fprintf(c.stdout, "    %s  %-11s  %s\n", listStamp(d.At), d.Step, d.Detail)
		}
	}
	return exitOK
}
