package webhook_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"smsim/simulator/webhook"
)

const notAllowed = "only loopback hosts and hosts given with --webhook-host may receive webhooks"

func TestRegisterRefusesBadHooks(t *testing.T) {
	e := newEnv(t)
	d := e.dispatcher(t, webhook.Config{AllowHosts: []string{"hooks.example.net"}})
	for _, c := range []struct {
		name string
		hook webhook.Hook
		want string
	}{
		{"no url", webhook.Hook{}, "url: required"},
		{"too long", webhook.Hook{URL: "http://127.0.0.1/" + strings.Repeat("a", 2032)}, "url: 2049 characters; at most 2048"},
		{"not a URL", webhook.Hook{URL: "http://127.0.0.1/%zz"}, `url: not a valid URL: invalid URL escape "%zz"`},
		{"space", webhook.Hook{URL: "http://127.0.0.1:18809/x y"}, `url: "http://127.0.0.1:18809/x y" is not a valid URI: it holds ' ' at byte 24; percent-encode it (%20 for a space)`},
		{"space in the host", webhook.Hook{URL: "http://hooks.example.net /x"}, `url: "http://hooks.example.net /x" is not a valid URI: it holds ' ' at byte 24; percent-encode it (%20 for a space)`},
		{"tab", webhook.Hook{URL: "http://127.0.0.1/x\ty"}, `url: "http://127.0.0.1/x\ty" is not a valid URI: it holds '\t' at byte 18; percent-encode it (%20 for a space)`},
		{"not ASCII", webhook.Hook{URL: "http://127.0.0.1/钩子"}, `url: "http://127.0.0.1/钩子" is not a valid URI: it holds '钩' at byte 17; percent-encode it (%20 for a space)`},
		{"angle bracket", webhook.Hook{URL: "http://127.0.0.1/<x>"}, `url: "http://127.0.0.1/<x>" is not a valid URI: it holds '<' at byte 17; percent-encode it (%20 for a space)`},
		{"relative", webhook.Hook{URL: "/hook"}, `url: "/hook" is not absolute; give an http or https URL such as http://127.0.0.1:8080/hook`},
		{"scheme", webhook.Hook{URL: "ftp://127.0.0.1/hook"}, `url: scheme "ftp" is not allowed: use http or https`},
		{"no host", webhook.Hook{URL: "http:///hook"}, `url: "http:///hook" has no host`},
		{"public host", webhook.Hook{URL: "https://example.com/hook"}, `url: host "example.com" is not allowed: ` + notAllowed},
		{"localhost lookalike", webhook.Hook{URL: "http://localhost.example.com/"}, `url: host "localhost.example.com" is not allowed: ` + notAllowed},
		{"subdomain of an allowed host", webhook.Hook{URL: "http://a.hooks.example.net/"}, `url: host "a.hooks.example.net" is not allowed: ` + notAllowed},
		{"private address", webhook.Hook{URL: "http://10.1.2.3:9000/in"}, `url: host "10.1.2.3" is not allowed: ` + notAllowed},
		{"unspecified address", webhook.Hook{URL: "http://0.0.0.0:9000/in"}, `url: host "0.0.0.0" is not allowed: ` + notAllowed},
		{"IPv6 link-local", webhook.Hook{URL: "http://[fe80::1]/in"}, `url: host "fe80::1" is not allowed: ` + notAllowed},
		{"unknown kind", webhook.Hook{URL: "http://127.0.0.1/", Events: []string{"sms.delivered", "sms.bogus"}},
			`events: unknown kind "sms.bogus"; known kinds: filing.submitted, filing.status, sms.sent, sms.delivered, sms.blocked, sms.failed, validation, resend, clock, faults, phone.profile, phone.cleared`},
		{"empty kind", webhook.Hook{URL: "http://127.0.0.1/", Events: []string{""}},
			`events: unknown kind ""; known kinds: filing.submitted, filing.status, sms.sent, sms.delivered, sms.blocked, sms.failed, validation, resend, clock, faults, phone.profile, phone.cleared`},
		{"reset", webhook.Hook{URL: "http://127.0.0.1/", Events: []string{"clock", "reset"}},
			`events: "reset" is never posted: a reset deletes the namespace's webhooks first; kinds: filing.submitted, filing.status, sms.sent, sms.delivered, sms.blocked, sms.failed, validation, resend, clock, faults, phone.profile, phone.cleared`},
		{"long secret", webhook.Hook{URL: "http://127.0.0.1/", Secret: strings.Repeat("s", 257)}, "secret: 257 characters; at most 256"},
		{"long secret of CJK", webhook.Hook{URL: "http://127.0.0.1/", Secret: strings.Repeat("密", 257)}, "secret: 257 characters; at most 256"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := d.Register(context.Background(), c.hook)
			wantError(t, err, 400, c.want)
		})
	}
	hooks, err := d.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(hooks) != 0 {
		t.Fatalf("%d hooks registered, want none", len(hooks))
	}
}

// The bounds of a secret and a url count characters, as the document's
// maxLength does: 256 characters of three bytes each are a secret.
func TestRegisterCountsCharacters(t *testing.T) {
	e := newEnv(t)
	d := e.dispatcher(t, webhook.Config{})
	e.register(t, d, webhook.Hook{URL: "http://127.0.0.1/", Secret: strings.Repeat("密", 256)})
}

// TestRegisterClosedPorts: loopback ports not given with --webhook-host
// (StrictLoopback), smsim's own address and its Redis's are refused at
// registration, with what to do.
func TestRegisterClosedPorts(t *testing.T) {
	e := newEnv(t)
	d := e.dispatcher(t, webhook.Config{AllowHosts: []string{"127.0.0.1:9000", "hooks.example.net:8443", "localhost:6379"},
		StrictLoopback: true, Deny: []string{"127.0.0.1:8080", "127.0.0.1:6379", "10.0.0.5:6380"}})
	for _, u := range []string{"http://127.0.0.1:9000/in", "http://localhost:9000/in", "https://hooks.example.net:8443/in"} {
		e.register(t, d, webhook.Hook{URL: u})
	}
	for _, c := range []struct{ url, want string }{
		{"http://127.0.0.1:9001/in", "url: port 9001 of loopback is not open to webhooks: give it with --webhook-host, such as --webhook-host 127.0.0.1:9001"},
		{"http://[::1]/in", "url: port 80 of loopback is not open to webhooks: give it with --webhook-host, such as --webhook-host 127.0.0.1:80"},
		{"http://127.0.0.1:8080/admin/v1/reset", "url: port 8080 of loopback is smsim's own or its Redis's: webhooks may not be posted there"},
		{"http://localhost:6379/", "url: port 6379 of loopback is smsim's own or its Redis's: webhooks may not be posted there"},
		{"https://hooks.example.net/in", `url: port 443 of host "hooks.example.net" is not allowed: --webhook-host gives it with other ports`},
		{"http://10.0.0.5:6380/", "url: 10.0.0.5:6380 is smsim's own address or its Redis's: webhooks may not be posted there"},
	} {
		t.Run(c.url, func(t *testing.T) {
			_, err := d.Register(context.Background(), webhook.Hook{URL: c.url})
			wantError(t, err, 400, c.want)
		})
	}
}

func TestRegisterAcceptsLoopbackAndAllowedHosts(t *testing.T) {
	e := newEnv(t)
	d := e.dispatcher(t, webhook.Config{AllowHosts: []string{"Hooks.Example.net", "[fd00::7]", "192.168.1.20"}})
	for _, u := range []string{
		"http://localhost:8080/hook",
		"http://LOCALHOST/hook",
		"http://127.0.0.1:9/hook",
		"http://127.10.20.30/hook",
		"http://[::1]:8080/hook",
		"https://hooks.example.net/in?x=1",
		"https://HOOKS.EXAMPLE.NET:8443/in",
		"http://[fd00::7]:80/in",
		"http://192.168.1.20/in",
		"http://user:pass@127.0.0.1/hook",
	} {
		t.Run(u, func(t *testing.T) {
			h := e.register(t, d, webhook.Hook{URL: u})
			if h.URL != u {
				t.Fatalf("url %q, want %q", h.URL, u)
			}
		})
	}
}

func TestRegisterFillsInDefaults(t *testing.T) {
	e := newEnv(t)
	d := e.dispatcher(t, webhook.Config{})
	h := e.register(t, d, webhook.Hook{URL: "http://127.0.0.1:8080/hook", ID: "wh_mine", CreatedAt: t0.AddDate(-1, 0, 0)})
	if !regexp.MustCompile(`^wh_[0-9a-f]{16}$`).MatchString(h.ID) {
		t.Fatalf("id %q, want wh_ and 16 hex digits", h.ID)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(h.Secret) {
		t.Fatalf("secret %q, want 64 hex digits", h.Secret)
	}
	if !slices.Equal(h.Events, webhook.DefaultEvents) {
		t.Fatalf("events %v, want %v", h.Events, webhook.DefaultEvents)
	}
	if !h.CreatedAt.Equal(t0) {
		t.Fatalf("created at %s, want %s", h.CreatedAt, t0)
	}
	got, err := d.Get(context.Background(), h.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "stored hook", got, h)

	h2 := e.register(t, d, webhook.Hook{URL: "http://127.0.0.1:8080/hook", Secret: "s3cret",
		Events: []string{"sms.failed", "validation", "sms.failed", "clock", "validation"}})
	if want := []string{"sms.failed", "validation", "clock"}; !slices.Equal(h2.Events, want) {
		t.Fatalf("events %v, want %v (deduplicated, in order)", h2.Events, want)
	}
	if h2.Secret != "s3cret" || h2.ID == h.ID {
		t.Fatalf("second hook %+v", h2)
	}
}

func TestListGetDelete(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	d := e.dispatcher(t, webhook.Config{})
	var hooks []webhook.Hook
	for i := range 3 {
		hooks = append(hooks, e.register(t, d, webhook.Hook{URL: fmt.Sprintf("http://127.0.0.1:%d/", 9000+i)}))
	}
	if err := d.Delete(ctx, hooks[1].ID); err != nil {
		t.Fatal(err)
	}
	hooks = append(hooks, e.register(t, d, webhook.Hook{URL: "http://127.0.0.1:9003/"}))
	got, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// another process sees the same
	other, err := e.dispatcher(t, webhook.Config{}).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []webhook.Hook{hooks[0], hooks[2], hooks[3]}
	sameJSON(t, "list", got, want)
	sameJSON(t, "list of another dispatcher", other, want)

	_, err = d.Get(ctx, hooks[1].ID)
	wantError(t, err, 404, fmt.Sprintf("no webhook %q", hooks[1].ID))
	wantError(t, d.Delete(ctx, hooks[1].ID), 404, fmt.Sprintf("no webhook %q", hooks[1].ID))
	_, err = d.Deliveries(ctx, "wh_nope", 10)
	wantError(t, err, 404, `no webhook "wh_nope"`)
}

func TestRegisterAtMostMaxHooks(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	d := e.dispatcher(t, webhook.Config{})
	var first webhook.Hook
	for i := range webhook.MaxHooks {
		h := e.register(t, d, webhook.Hook{URL: fmt.Sprintf("http://127.0.0.1:%d/", 9000+i)})
		if i == 0 {
			first = h
		}
	}
	_, err := d.Register(ctx, webhook.Hook{URL: "http://127.0.0.1:9999/"})
	wantError(t, err, 409, "too many webhooks: a namespace holds at most 20; delete one first")
	if err := d.Delete(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	e.register(t, d, webhook.Hook{URL: "http://127.0.0.1:9999/"})
	hooks, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(hooks) != webhook.MaxHooks || hooks[len(hooks)-1].URL != "http://127.0.0.1:9999/" {
		t.Fatalf("%d hooks, the last %s; want %d, the last the new one", len(hooks), hooks[len(hooks)-1].URL, webhook.MaxHooks)
	}
}
