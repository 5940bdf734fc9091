package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"time"

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
       smsim messages [--folder inbox|blocked|failed|travelling] PHONE
       smsim validate PHONE CERT6 CODE
       smsim resend PHONE CERT6
       smsim advance DURATION | --to TIME | --next [--kind K] [--order ID] [--phone P]
       smsim clock [--pause | --resume] [--scale N]   (smsim clock advance … is smsim advance …)
       smsim schedule [--kind K] [--order ID] [--phone P]
       smsim cancel ID
       smsim profile PHONE [--spam-filter[=false]] [--service S] [--reachable=false] …
       smsim faults [--replace] [PATCH]
       smsim scenario [NAME | FILE]
       smsim reset
       smsim requests [--route R] [--phone P] [--order ID] [--since TIME] [--until TIME] [--json]
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
	case "messages":
		return runMessages, true
	case "requests":
		return runRequests, true
	case "validate":
		return runValidate, true
	case "resend":
		return runResend, true
	case "advance":
		return runAdvance, true
	case "clock":
		return runClock, true
	case "schedule":
		return runSchedule, true
	case "cancel":
		return runCancel, true
	case "profile":
		return runProfile, true
	case "faults":
		return runFaults, true
	case "scenario":
		return runScenario, true
	case "reset":
		return runReset, true
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
	def := client.DefaultURL
	if u := getenv("SMSIM_URL"); u != "" {
		def = u
	}
	cl.fs.StringVar(&cl.url, "url", def, "the smsim server (default from SMSIM_URL)")
	cl.fs.StringVar(&cl.token, "token", getenv("SMSIM_ADMIN_TOKEN"), "the server's admin token (its --admin-token), sent as Authorization: Bearer (default from SMSIM_ADMIN_TOKEN)")
	cl.fs.Lookup("token").DefValue = "" // a secret: the help does not print it
	cl.fs.StringVar(&cl.namespace, "namespace", getenv("SMSIM_NAMESPACE"),
		"the namespace to act in, a world of its own: clock, faults, phones, orders (default from SMSIM_NAMESPACE, else the server's default one)")
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if args[0] != "tail" && args[0] != "load" { // they run until told to stop, or for their --duration
		cl.fs.DurationVar(&cl.timeout, "timeout", 0, "give up when the command has not done within this long (a server that stopped answering, in CI); 0: wait")
		cl.ctx, cl.cancel = ctx, cancel
	}
	return cmd(ctx, cl, args[1:]), true
}

// errTimeout is why a command's context ends when --timeout passed.
var errTimeout = errors.New("--timeout passed")

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
	timeout   time.Duration           // --timeout: 0, none
	ctx       context.Context         // the command's, which --timeout ends (nil: it has none)
	cancel    context.CancelCauseFunc // ends ctx
	args      []string                // the positional arguments, once parsed
	usage     string                  // the usage line after the subcommand's name
	// fields names, by the field a 400 of the server names, the flag or
	// argument that gave it (entity_leader.phone: --leader-phone)
	fields map[string]string
}

// parse reads the flags, which may come before, between or after the
// positional arguments, and checks that there are want of those.
// It answers -1 to go on, else the exit status: -h and --help print the
// usage and the flags on standard output (exit 0), a bad flag or argument
// names it on standard error (exit 2).
func (c *cli) parse(args []string, usage string, want int) int {
	c.usage = usage
	c.fs.SetOutput(io.Discard) // parse reports what went wrong itself
	c.fs.Usage = func() {}
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.help()
				return exitOK
			}
			fmt.Fprintf(c.stderr, "%s: %v\nusage: %s %s (%s -h for the flags)\n", c.name, flagError(err), c.name, usage, c.name)
			return exitUsage
		}
		if c.fs.NArg() == 0 {
			break
		}
		c.args = append(c.args, c.fs.Arg(0))
		args = c.fs.Args()[1:]
	}
	if c.timeout < 0 {
		return c.usageErr("--timeout: must be 0 (wait) or more, got %s", c.timeout)
	}
	if c.timeout > 0 && c.cancel != nil {
		time.AfterFunc(c.timeout, func() { c.cancel(errTimeout) })
	}
	if want >= 0 && len(c.args) != want {
		names := argNames(usage)
		switch {
		case len(c.args) > want:
			fmt.Fprintf(c.stderr, "%s: unexpected argument %q\n", c.name, c.args[want])
		case len(names) == want:
			fmt.Fprintf(c.stderr, "%s: %s: missing\n", c.name, strings.Join(names[len(c.args):], ", "))
		}
		fmt.Fprintf(c.stderr, "usage: %s %s\n", c.name, usage)
		return exitUsage
	}
	return -1
}

// argNames answers the names of the positional arguments a usage line
// gives, its words in capitals outside brackets: PHONE, CERT6, CODE.
func argNames(usage string) []string {
	var names []string
	depth := 0
	for _, w := range strings.Fields(usage) {
		if depth == 0 && argName.MatchString(w) {
			names = append(names, w)
		}
		depth += strings.Count(w, "[") - strings.Count(w, "]")
	}
	return names
}

var argName = regexp.MustCompile(`^[A-Z][A-Z0-9]*$`)

// help prints the subcommand's usage and flags on standard output.
func (c *cli) help() {
	fmt.Fprintf(c.stdout, "usage: %s %s\n\nflags:\n", c.name, c.usage)
	c.fs.SetOutput(c.stdout)
	c.fs.PrintDefaults()
	c.fs.SetOutput(io.Discard)
}

// flagError rewrites the flag package's errors to name the flag as it is
// written on the command line (--name).
func flagError(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "--" + name + ": no such flag"
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "--" + name + ": needs a value"
	}
	if m := badValue.FindStringSubmatch(msg); m != nil {
		if why, ok := strings.CutPrefix(m[3], ": "); ok && why != "parse error" && !strings.HasPrefix(why, "strconv.") {
			return "--" + m[2] + ": " + why
		}
		return "--" + m[2] + ": " + m[1] + " is not a value it takes"
	}
	return msg
}

// badValue matches the flag package's error for a value a flag refuses.
var badValue = regexp.MustCompile(`^invalid (?:boolean )?value (".*") for (?:flag )?-([a-z0-9-]+)(.*)$`)

// connect parses args as parse does, then opens the client: nil and the
// exit code when the command ends there (help, a usage error, a bad --url
// or --namespace).
func (c *cli) connect(args []string, usage string, want int) (*client.Client, int) {
	if code := c.parse(args, usage, want); code >= 0 {
		return nil, code
	}
	sc, err := c.client()
	if err != nil {
		return nil, c.usageErr("%v", err)
	}
	return sc, exitOK
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
		from := "--url"
		if !c.set("url") {
			from = "SMSIM_URL"
		}
		return nil, fmt.Errorf("%s: %q is not an http:// or https:// URL of a server", from, c.url)
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
	case c.ctx != nil && errors.Is(context.Cause(c.ctx), errTimeout):
		fmt.Fprintf(c.stderr, "%s: no answer from %s within --timeout %s\n", c.name, c.url, c.timeout)
	case errors.As(err, &e):
		fmt.Fprintf(c.stderr, "%s: %d %s: %s%s\n", c.name, e.Status, e.Title, e.Detail, c.given(e))
	case errors.Is(err, syscall.ECONNREFUSED):
		fmt.Fprintf(c.stderr, "%s: nothing answers at %s: is smsim running? (start it with `smsim`, or give --url or SMSIM_URL)\n", c.name, c.url)
	default:
		fmt.Fprintf(c.stderr, "%s: %s\n", c.name, strings.TrimPrefix(err.Error(), "smsim: "))
	}
	return exitFailed
}

// given names the flag or argument that gave the field a 400 names: "
// (--leader-phone)"; for a 401, where this command takes the token; or "".
func (c *cli) given(e *client.Error) string {
	if e.Status == http.StatusUnauthorized {
		switch {
		case c.token == "":
			return " (give it with --token or SMSIM_ADMIN_TOKEN)"
		case c.set("token"):
			return " (--token is not it)"
		default:
			return " (SMSIM_ADMIN_TOKEN is not it)"
		}
	}
	if e.Status != 400 {
		return ""
	}
	field, _, ok := strings.Cut(e.Detail, ":")
	if name := c.fields[field]; ok && name != "" {
		return " (" + name + ")"
	}
	return ""
}

// usageErr reports a bad argument: format names it.
func (c *cli) usageErr(format string, args ...any) int {
	fmt.Fprintf(c.stderr, "%s: %s\n", c.name, fmt.Sprintf(format, args...))
	return exitUsage
}
