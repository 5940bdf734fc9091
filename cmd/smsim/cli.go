package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"syscall"

	"smsim/simulator/client"
)

// Exit statuses of the subcommands that drive a running server.
const (
	exitOK      = 0
	exitFailed  = 1 // the request failed: no server, or an error answer
	exitUsage   = 2 // a bad flag or argument
	exitRefused = 3 // MIIT answered no: a failed validation, a refused resend
)

// cliUsage lists the subcommands for the binary's usage text.
const cliUsage = `       smsim submit [--type T] [--variant V] [--leader-phone P] [--admin-phone P] …
       smsim filing ID
       smsim tail PHONE
       smsim code PHONE
       smsim validate PHONE CERT6 CODE
       smsim resend PHONE CERT6
       smsim advance DURATION
       smsim clock [--pause | --resume] [--scale N]
       smsim load ` + loadUsage + `

The subcommands drive a running server: --url URL, else SMSIM_URL, else ` + client.DefaultURL + `,
with its admin token: --token, else SMSIM_ADMIN_TOKEN; in a namespace of it: --namespace NAME, else SMSIM_NAMESPACE, else the default one.
smsim load drives --target, else an smsim of its own, in --namespace, else a new one (README-load.md).`

// command is one subcommand: it parses its args and runs against a server.
type command func(ctx context.Context, cl *cli, args []string) int

// cliCommand answers the subcommand called name.
func cliCommand(name string) (command, bool) {
	switch name {
	case "submit":
		return runSubmit, true
	case "filing":
		return runFiling, true
	case "tail":
		return runTail, true
	case "code":
		return runCode, true
	case "validate":
		return runValidate, true
	case "resend":
		return runResend, true
	case "advance":
		return runAdvance, true
	case "clock":
		return runClock, true
	case "load":
		return runLoad, true
	}
	return nil, false
}

// runCLI runs the subcommand args[0] when there is one by that name.
func runCLI(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (int, bool) {
	if len(args) == 0 {
		return 0, false
	}
	cmd, ok := cliCommand(args[0])
	if !ok {
		return 0, false
	}
	cl := &cli{name: "smsim " + args[0], getenv: getenv, stdout: stdout, stderr: stderr}
	cl.fs = flag.NewFlagSet(cl.name, flag.ContinueOnError)
	cl.fs.SetOutput(stderr)
	def := client.DefaultURL
	if u := getenv("SMSIM_URL"); u != "" {
		def = u
	}
	cl.fs.StringVar(&cl.url, "url", def, "the smsim server (default from SMSIM_URL)")
	cl.fs.StringVar(&cl.token, "token", getenv("SMSIM_ADMIN_TOKEN"), "the server's admin token (its --admin-token), sent as Authorization: Bearer (default from SMSIM_ADMIN_TOKEN)")
	cl.fs.StringVar(&cl.namespace, "namespace", getenv("SMSIM_NAMESPACE"),
		"the namespace to act in, a world of its own: clock, faults, phones, orders (default from SMSIM_NAMESPACE, else the server's default one)")
	return cmd(ctx, cl, args[1:]), true
}

// cli is what every subcommand shares: its flags, the server, the output.
type cli struct {
	name      string
	fs        *flag.FlagSet
	url       string
	namespace string // empty: the server's default
	token     string // the server's admin token; empty: none
	getenv    func(string) string
	stdout    io.Writer
	stderr    io.Writer
	args      []string // the positional arguments, once parsed
}

// parse reads the flags, which may come before, between or after the
// positional arguments, and checks that there are want of those.
// It answers -1 to go on, else the exit status.
func (c *cli) parse(args []string, usage string, want int) int {
	c.fs.Usage = func() {
		fmt.Fprintf(c.stderr, "usage: %s %s\n", c.name, usage)
		c.fs.PrintDefaults()
	}
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			return exitUsage
		}
		if c.fs.NArg() == 0 {
			break
		}
		c.args = append(c.args, c.fs.Arg(0))
		args = c.fs.Args()[1:]
	}
	if len(c.args) != want {
		fmt.Fprintf(c.stderr, "usage: %s %s\n", c.name, usage)
		return exitUsage
	}
	return -1
}

// client is a client of the server of --url, speaking for the namespace
// of --namespace.
func (c *cli) client() (*client.Client, error) {
	var opts []client.Option
	if c.token != "" {
		opts = append(opts, client.WithToken(c.token))
	}
	sc, err := client.New(c.url, opts...)
	if err != nil {
		return nil, fmt.Errorf("--url: %q is not an http:// or https:// URL of a server", c.url)
	}
	if c.namespace == "" {
		return sc, nil
	}
	if !client.ValidNamespace(c.namespace) {
		from := "--namespace"
		if !c.set("namespace") {
			from = "SMSIM_NAMESPACE"
		}
		return nil, fmt.Errorf("%s: %q is not a namespace: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit", from, c.namespace)
	}
	return sc.Namespace(c.namespace), nil
}

// set tells whether the flag called name was given.
func (c *cli) set(name string) bool {
	found := false
	c.fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// fail reports err and answers the exit status for it.
func (c *cli) fail(err error) int {
	var e *client.Error
	switch {
	case errors.As(err, &e):
		fmt.Fprintf(c.stderr, "%s: %d %s: %s\n", c.name, e.Status, e.Title, e.Detail)
	case errors.Is(err, syscall.ECONNREFUSED):
		fmt.Fprintf(c.stderr, "%s: nothing answers at %s: is smsim running? (start it with `smsim`, or give --url or SMSIM_URL)\n", c.name, c.url)
	default:
		fmt.Fprintf(c.stderr, "%s: %s\n", c.name, strings.TrimPrefix(err.Error(), "smsim: "))
	}
	return exitFailed
}

// usageErr reports a bad argument.
func (c *cli) usageErr(format string, args ...any) int {
	fmt.Fprintf(c.stderr, "%s: %s\n", c.name, fmt.Sprintf(format, args...))
	return exitUsage
}
