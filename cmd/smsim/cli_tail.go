package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"smsim/simulator/client"
)

// runTail is `smsim tail PHONE`: it prints the phone's last messages, then
// follows its websocket and prints each message delivered to it (either
// folder) as it comes, until interrupted.
func runTail(ctx context.Context, c *cli, args []string) int {
	n := c.fs.Int("n", 10, "print this many of the messages already there first")
	color := c.fs.String("color", "auto", "highlight codes: auto (when writing to a terminal, unless NO_COLOR is set), always or never")
	asJSON := c.fs.Bool("json", false, "print each message as one line of JSON")
	c.fields = map[string]string{"phone": "PHONE"}
	if code := c.parse(args, "[flags] PHONE", 1); code >= 0 {
		return code
	}
	var hl bool
	switch *color {
	case "always":
		hl = true
	case "never":
	case "auto":
		hl = isTerminal(c.stdout) && c.getenv("NO_COLOR") == ""
	default:
		return c.usageErr("--color: %q is not auto, always or never", *color)
	}
	sc, err := c.client()
	if err != nil {
		return c.usageErr("%v", err)
	}
	phone := c.args[0]
	w, err := sc.Watch(ctx, phone) // first, so that nothing falls between the history and the feed
	if err != nil {
		return c.fail(err)
	}
	defer w.Close()
	history, err := lastMessages(ctx, sc, phone, *n)
	if err != nil {
		return c.fail(err)
	}
	p := messagePrinter{w: c.stdout, color: hl, json: *asJSON}
	seen := map[string]bool{}
	for _, m := range history {
		seen[m.ID] = true
		p.print(m)
	}
	for {
		m, err := w.Next()
		if err != nil {
			if ctx.Err() != nil {
				return exitOK // interrupted
			}
			return c.fail(err)
		}
		if !seen[m.ID] {
			p.print(m)
		}
	}
}

// lastMessages answers the last n messages of both folders of phone, in
// the order of their delivery.
func lastMessages(ctx context.Context, sc *client.Client, phone string, n int) ([]client.Message, error) {
	if n <= 0 {
		return nil, nil
	}
	inbox, err := sc.Messages(ctx, phone, client.FolderInbox)
	if err != nil {
		return nil, err
	}
	blocked, err := sc.Messages(ctx, phone, client.FolderBlocked)
	if err != nil {
		return nil, err
	}
	all := append(inbox, blocked...)
	sort.SliceStable(all, func(i, j int) bool { return deliveredAt(all[i]) < deliveredAt(all[j]) })
	if len(all) > n {
		all = all[len(all)-n:]
	}
	return all, nil
}

func deliveredAt(m client.Message) int64 {
	if m.DeliveredAt == nil {
		return m.SentAt.UnixMilli()
	}
	return m.DeliveredAt.UnixMilli()
}

// messagePrinter writes a phone's messages one a line: when it was
// delivered (simulated time), the folder, the sender, the code, the body.
type messagePrinter struct {
	w     io.Writer
	color bool
	json  bool
}

const (
	bold  = "\x1b[1;33m" // bold yellow
	reset = "\x1b[0m"
)

func (p messagePrinter) print(m client.Message) {
	if p.json {
		b, _ := json.Marshal(phoneView(m))
		fmt.Fprintf(p.w, "%s\n", b)
		return
	}
	at := m.SentAt
	if m.DeliveredAt != nil {
		at = *m.DeliveredAt
	}
	code, body := strings.Repeat(" ", len("code 000000")), m.Body
	if m.Code != "" {
		code = "code " + m.Code
		if p.color {
			code = bold + code + reset
			body = strings.Replace(body, m.Code, bold+m.Code+reset, 1)
		}
	}
	fmt.Fprintf(p.w, "%s  %-7s  %-5s  %s  %s\n", listStamp(at), m.Folder, m.Sender, code, body)
}

// listStamp writes a time of a list of messages, each as wide as the
// next, milliseconds and all, so that the columns after it line up.
func listStamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// phoneView is a message as the phone's endpoints show it.
func phoneView(m client.Message) any {
	return struct {
		ID          string  `json:"id"`
		Phone       string  `json:"phone"`
		Sender      string  `json:"sender"`
		Body        string  `json:"body"`
		Code        string  `json:"code,omitempty"`
		Folder      string  `json:"folder"`
		SentAt      string  `json:"sent_at"`
		DeliveredAt *string `json:"delivered_at"`
	}{m.ID, m.Phone, m.Sender, m.Body, m.Code, m.Folder, stamp(m.SentAt), deliveredStamp(m)}
}

func deliveredStamp(m client.Message) *string {
	if m.DeliveredAt == nil {
		return nil
	}
	s := stamp(*m.DeliveredAt)
	return &s
}

// isTerminal tells whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
