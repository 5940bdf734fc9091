package webhook

import (
	"fmt"
	"net"
	"strings"
)

// targets are the addresses webhooks may be posted to (Config.AllowHosts,
// Config.StrictLoopback, Config.Deny).
type targets struct {
	// hosts are the hosts besides loopback, each with the ports open on
	// it (empty: any).
	hosts map[string]map[string]bool
	// loopback are the loopback ports given in AllowHosts; with strict,
	// the only ones open.
	loopback map[string]bool
	strict   bool
	// denyPort are ports closed on every loopback address; denyAddr
	// host:port addresses closed wherever they are.
	denyPort map[string]bool
	denyAddr map[string]bool
}

// splitTarget reads a host, or host:port, as AllowHosts and Deny give them.
func splitTarget(s string) (host, port string) {
	s = strings.TrimSpace(s)
	if h, p, err := net.SplitHostPort(s); err == nil {
		return normalHost(h), p
	}
	return normalHost(s), ""
}

func newTargets(c Config) targets {
	t := targets{hosts: map[string]map[string]bool{}, loopback: map[string]bool{}, strict: c.StrictLoopback,
		denyPort: map[string]bool{}, denyAddr: map[string]bool{}}
	for _, e := range c.AllowHosts {
		h, p := splitTarget(e)
		switch {
		case h == "":
		case isLoopback(h):
			if p != "" {
				t.loopback[p] = true
			}
		default:
			if t.hosts[h] == nil {
				t.hosts[h] = map[string]bool{}
			}
			if p != "" {
				t.hosts[h][p] = true
			}
		}
	}
	for _, e := range c.Deny {
		h, p := splitTarget(e)
		if p == "" {
			continue
		}
		if ip := net.ParseIP(h); h == "" || isLoopback(h) || (ip != nil && ip.IsUnspecified()) {
			t.denyPort[p] = true
		} else {
			t.denyAddr[net.JoinHostPort(h, p)] = true
		}
	}
	return t
}

// isLoopback tells whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	h := normalHost(host)
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// allowedHost tells whether host (no port) is given in AllowHosts.
func (t targets) allowedHost(host string) bool {
	_, ok := t.hosts[normalHost(host)]
	return ok
}

// check tells why a webhook may not go to host:port (its URL's), or nil.
func (t targets) check(host, port string) error {
	h := normalHost(host)
	if t.denyAddr[net.JoinHostPort(h, port)] {
		return fmt.Errorf("%s is smsim's own address or its Redis's: webhooks may not be posted there", net.JoinHostPort(h, port))
	}
	if isLoopback(h) {
		return t.checkLoopback(port)
	}
	ports, ok := t.hosts[h]
	switch {
	case !ok:
		return fmt.Errorf("host %q is not allowed: only loopback hosts and hosts given with --webhook-host may receive webhooks", host)
	case len(ports) > 0 && !ports[port]:
		return fmt.Errorf("port %s of host %q is not allowed: --webhook-host gives it with other ports", port, host)
	}
	return nil
}

// checkLoopback tells why a webhook may not go to port of loopback, or nil.
func (t targets) checkLoopback(port string) error {
	if t.denyPort[port] {
		return fmt.Errorf("port %s of loopback is smsim's own or its Redis's: webhooks may not be posted there", port)
	}
	if t.strict && !t.loopback[port] {
		return fmt.Errorf("port %s of loopback is not open to webhooks: give it with --webhook-host, such as --webhook-host 127.0.0.1:%s", port, port)
	}
	return nil
}

// checkDial tells why a connection to address (ip:port, resolved) may not
// be made, or nil; open tells whether its host was given in AllowHosts.
func (t targets) checkDial(address string, open bool) error {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	switch {
	case t.denyAddr[net.JoinHostPort(normalHost(host), port)]:
		return fmt.Errorf("%w: smsim's own address or its Redis's", errClosedPort)
	case ip != nil && ip.IsLoopback():
		if err := t.checkLoopback(port); err != nil {
			return fmt.Errorf("%w: %v", errClosedPort, err)
		}
		return nil
	case !open:
		return errNotLoopback
	}
	return nil
}

// defaultPort is the port of a URL of scheme that gives none.
func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}
