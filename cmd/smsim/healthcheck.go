package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"time"
)

// defaultAddr is the listen address when neither --addr nor SMSIM_ADDR
// gives one.
const defaultAddr = "127.0.0.1:8080"

// healthcheck is the mode `smsim healthcheck [--url URL] [--timeout D]`: it
// GETs the URL (by default /readyz of the server SMSIM_ADDR names) and
// exits 0 when the answer is 2xx, 1 otherwise — a container healthcheck
// for an image with no shell and no curl. Docker reserves exit status 2,
// so a bad flag exits 1 too.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("smsim healthcheck", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the errors are reported, the help printed below
	fs.Usage = func() {}
	url := fs.String("url", healthURL(getenv("SMSIM_ADDR")), "the URL to GET; default: /readyz of the server SMSIM_ADDR names")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, healthUsage+"\nflags:\n")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "smsim healthcheck: %s\n%s", flagError(err), healthUsage)
		return 1
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "smsim healthcheck: unexpected argument %q: give the URL as --url\n%s", fs.Arg(0), healthUsage)
		return 1
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "smsim healthcheck: --timeout: must be more than 0, got %s\n%s", *timeout, healthUsage)
		return 1
	}
	if u, err := neturl.Parse(*url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(stderr, "smsim healthcheck: --url: %q is not an http:// or https:// URL\n%s", *url, healthUsage)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		fmt.Fprintln(stderr, "smsim healthcheck:", err)
		return 1
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil}} // the server is local: no proxy
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "smsim healthcheck:", err)
		return 1
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(stderr, "smsim healthcheck: %s answered %s\n", *url, resp.Status)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %s\n", *url, resp.Status)
	return 0
}

// healthUsage is the usage of smsim healthcheck.
const healthUsage = `usage: smsim healthcheck [--url URL] [--timeout D]

GETs the URL (by default /readyz of the server SMSIM_ADDR names) and exits 0
when the answer is 2xx, 1 otherwise (a bad flag too: Docker keeps exit
status 2 for itself). For container images with no shell and no curl.
`

// healthURL is the readiness URL of a server listening on addr; a server
// listening on every interface (0.0.0.0, ::, no host) is reached on
// loopback.
func healthURL(addr string) string {
	if addr == "" {
		addr = defaultAddr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/readyz"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz"
}
