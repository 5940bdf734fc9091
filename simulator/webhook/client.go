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
// proxy, no redirects, and connections to the addresses t opens only.
func newClient(t targets) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = dialer(t)
	return &http.Client{Timeout: DefaultTimeout, Transport: tr, CheckRedirect: noRedirect}
}

// dialer dials addresses of hosts given in AllowHosts as they resolve, and
// those of any other host only when they resolve to loopback addresses;
// on loopback, only the ports t opens, never smsim's own or its Redis's.
// The check is made on the address connected to, after name resolution.
func dialer(t targets) func(ctx context.Context, network, addr string) (net.Conn, error) {
	control := func(open bool) func(network, address string, _ syscall.RawConn) error {
		return func(network, address string, _ syscall.RawConn) error {
			if err := t.checkDial(address, open); err != nil {
				return fmt.Errorf("address %s: %w", address, err)
			}
			return nil
		}
	}
	open := &net.Dialer{Timeout: DefaultTimeout, KeepAlive: 30 * time.Second, Control: control(true)}
	guarded := &net.Dialer{Timeout: DefaultTimeout, KeepAlive: 30 * time.Second, Control: control(false)}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err == nil && t.allowedHost(host) {
			return open.DialContext(ctx, network, addr)
		}
		return guarded.DialContext(ctx, network, addr)
	}
}

// errNotLoopback is the error of a connection to an address the dialer
// does not open.
var errNotLoopback = errors.New("not a loopback address, and its host was not given with --webhook-host")

// errClosedPort is the error of a connection to an address closed to
// webhooks: a loopback port not opened, smsim's own address, its Redis's.
var errClosedPort = errors.New("closed to webhooks")

// noRedirect keeps a client from following redirects: the redirect is the
// answer, and a failed attempt.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
