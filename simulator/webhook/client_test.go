package webhook

import (
	"context"
	"errors"
	"net"
	"testing"
)

func TestDialerConnectsToLoopbackOnly(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	dial := dialer(newTargets(Config{AllowHosts: []string{"hooks.example.net"}}))
	ctx := context.Background()

	for _, addr := range []string{"127.0.0.1:" + port, "localhost:" + port} {
		c, err := dial(ctx, "tcp", addr)
		if err != nil {
			t.Fatalf("dial %s: %v", addr, err)
		}
		c.Close()
	}
	// refused before any packet leaves: the check runs before connect
	for _, addr := range []string{"10.255.255.1:80", "0.0.0.0:" + port} {
		_, err := dial(ctx, "tcp", addr)
		if !errors.Is(err, errNotLoopback) {
			t.Fatalf("dial %s: %v, want %v", addr, err, errNotLoopback)
		}
	}
	_, err = dial(ctx, "tcp", "10.255.255.1:80")
	if want := "dial tcp 10.255.255.1:80: address 10.255.255.1:80: not a loopback address, and its host was not given with --webhook-host"; err.Error() != want {
		t.Fatalf("error %q\nwant  %q", err, want)
	}
}

// TestDialerClosesLoopbackPorts: with StrictLoopback only the loopback
// ports given in AllowHosts are dialed, and smsim's own address and its
// Redis's never are, whatever name leads there.
func TestDialerClosesLoopbackPorts(t *testing.T) {
	var ports []string
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		_, port, _ := net.SplitHostPort(l.Addr().String())
		ports = append(ports, port)
	}
	open, own, redis := ports[0], ports[1], ports[2]
	ctx := context.Background()
	for _, c := range []struct {
		name string
		cfg  Config
		addr string
		ok   bool
	}{
		{"a port given", Config{AllowHosts: []string{"127.0.0.1:" + open}, StrictLoopback: true}, "localhost:" + open, true},
		{"a port not given", Config{AllowHosts: []string{"127.0.0.1:" + open}, StrictLoopback: true}, "127.0.0.1:" + own, false},
		{"no port given", Config{StrictLoopback: true}, "127.0.0.1:" + open, false},
		{"smsim's own, not strict", Config{Deny: []string{"0.0.0.0:" + own}}, "127.0.0.1:" + own, false},
		{"Redis's, given", Config{AllowHosts: []string{"localhost:" + redis}, StrictLoopback: true, Deny: []string{"127.0.0.1:" + redis}}, "127.0.0.1:" + redis, false},
		{"Redis's, by an allowed name", Config{AllowHosts: []string{"localhost"}, Deny: []string{"127.0.0.1:" + redis}}, "localhost:" + redis, false},
		{"another, not strict", Config{Deny: []string{"127.0.0.1:" + redis}}, "127.0.0.1:" + open, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := dialer(newTargets(c.cfg))(ctx, "tcp", c.addr)
			if c.ok {
				if err != nil {
					t.Fatalf("dial %s: %v", c.addr, err)
				}
				conn.Close()
				return
			}
			if !errors.Is(err, errClosedPort) {
				t.Fatalf("dial %s: %v, want %v", c.addr, err, errClosedPort)
			}
		})
	}
}

func TestDefaultBackoff(t *testing.T) {
	for n, want := range map[int]string{1: "1s", 2: "2s", 3: "4s", 8: "2m8s", 9: "4m16s", 10: "5m0s", 11: "5m0s", 1000: "5m0s"} {
		if got := DefaultBackoff(n).String(); got != want {
			t.Errorf("DefaultBackoff(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestIDAfter(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"5-0", "0-0", true},
		{"5-0", "5-0", false},
		{"5-1", "5-0", true},
		{"10-0", "9-99", true},
		{"9-99", "10-0", false},
		{"1-0", "", true},
	} {
		if got := idAfter(c.a, c.b); got != c.want {
			t.Errorf("idAfter(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
