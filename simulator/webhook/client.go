package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"
)

// newClient returns the default client: a DefaultTimeout timeout, no
// proxy, no redirects, and connections to loopback addresses only, unless
// the host dialed is in allow.
func newClient(allow map[string]bool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = dialer(allow)
	return &http.Client{Timeout: DefaultTimeout, Transport: tr, CheckRedirect: noRedirect}
}

// dialer dials addresses of hosts in allow as they resolve, and those of
// any other host only when they resolve to loopback addresses: the check is
// made on the address connected to, after name resolution.
func dialer(allow map[string]bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	open := &net.Dialer{Timeout: DefaultTimeout, KeepAlive: 30 * time.Second}
	guarded := &net.Dialer{Timeout: DefaultTimeout, KeepAlive: 30 * time.Second, Control: loopbackOnly}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err == nil && allow[normalHost(host)] {
			return open.DialContext(ctx, network, addr)
		}
		return guarded.DialContext(ctx, network, addr)
	}
}

// errNotLoopback is the error of a connection refused by loopbackOnly.
var errNotLoopback = errors.New("not a loopback address, and its host was not given with --webhook-host")

// loopbackOnly refuses, before connecting, an address that is not a
// loopback one.
func loopbackOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("address %s: %w", address, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %s: %w", address, errNotLoopback)
	}
	return nil
}

// noRedirect keeps a client from following redirects: the redirect is the
// answer, and a failed attempt.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
