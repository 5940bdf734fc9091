// Package client is a typed Go client of smsim's HTTP API: the provider's
// filing system, MIIT, the phones, the gateway, the control endpoints and
// the health checks, with the helpers a test wants — wait for a code,
// advance the clock, submit a first filing.
//
// It has types of its own for what it sends and receives (SubmitRequest,
// ProviderView, Message, Faults, ClockState, …), in the wire form the
// server speaks, and the constants a test compares with: statuses, MIIT's
// result words and texts, folders, event kinds. It imports none of the
// server's packages: a module that imports it gets the standard library
// and a websocket library, not Redis or Prometheus. A request the
// simulator refuses is an *Error carrying its problem details:
//
//	var e *client.Error
//	if errors.As(err, &e) && e.Status == http.StatusConflict { … }
//
// Domain outcomes — a wrong code, a used-up resend — are not errors: they
// are results with MIIT's words (ValidationResult, ResendResult).
//
// A client speaks for one namespace of the server — a world of its own,
// with its own clock, faults, phones and orders — the default one unless
// WithNamespace names another. Namespace answers a copy for another one,
// so that one test drives two worlds:
//
//	a, err := client.New(url, client.WithNamespace("team-a"))
//	b := a.Namespace("team-b")
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// DefaultURL is where `go run ./cmd/smsim` serves.
const DefaultURL = "http://127.0.0.1:8080"

// DefaultWait is how long a Wait helper waits, in real time, when its
// context has no deadline.
const DefaultWait = 30 * time.Second

// Client talks to one smsim server. It is safe for concurrent use.
type Client struct {
	base   *url.URL
	hc     *http.Client
	header http.Header
	wait   time.Duration
	// nsErr is why the namespace of the last WithNamespace cannot be
	// one; every request answers it.
	nsErr error
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sends the requests through hc instead of a client of the
// package's own. Give it no Timeout shorter than the long polls (up to five
// minutes): the helpers bound their waits with their contexts.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithHeader sets a header on every request the client sends, such as an
// X-Request-Id to find the requests of one test in the server's log.
func WithHeader(key, value string) Option {
	return func(c *Client) { c.header.Set(key, value) }
}

// NamespaceHeader is the header that names the namespace of a request.
const NamespaceHeader = "X-Smsim-Namespace"

var namespaceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidNamespace reports whether the server takes name as a namespace: 1 to
// 64 letters, digits, '.', '_' or '-', starting with a letter or a digit.
func ValidNamespace(name string) bool { return namespaceName.MatchString(name) }

// WithToken sends the server's admin token (smsim --admin-token) as
// Authorization: Bearer on every request and websocket: the admin and
// phone-control routes of a server started with one want it.
func WithToken(token string) Option {
	return func(c *Client) { c.header.Set("Authorization", "Bearer "+token) }
}

// WithNamespace makes the client speak for namespace name: every request
// and websocket carries it in the X-Smsim-Namespace header. A name is 1 to
// 64 letters, digits, '.', '_' or '-', starting with a letter or a digit
// (ValidNamespace). New refuses another; With, which answers no error,
// gives a client whose every request answers it.
func WithNamespace(name string) Option {
	return func(c *Client) {
		c.header.Set(NamespaceHeader, name)
		c.nsErr = nil
		if !ValidNamespace(name) {
			c.nsErr = fmt.Errorf("smsim client: namespace: must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit, got %q", name)
		}
	}
}

// WithWait sets how long the Wait helpers wait when their context has no
// deadline (DefaultWait unless set; 0 or less is DefaultWait too: a wait
// with no end is a context without a deadline's, given a cancel).
func WithWait(d time.Duration) Option {
	return func(c *Client) {
		if d <= 0 {
			d = DefaultWait
		}
		c.wait = d
	}
}

// New returns a client of the server at baseURL ("http://127.0.0.1:8080").
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("smsim client: %q is not an http:// or https:// URL of a server", baseURL)
	}
	c := &Client{base: u, hc: &http.Client{}, header: http.Header{}, wait: DefaultWait}
	for _, o := range opts {
		o(c)
	}
	if c.nsErr != nil {
		return nil, c.nsErr
	}
	return c, nil
}

// With returns a copy of the client with more options: the same server,
// its own headers.
func (c *Client) With(opts ...Option) *Client {
	d := *c
	d.header = c.header.Clone()
	for _, o := range opts {
		o(&d)
	}
	return &d
}

// NamespaceName is the namespace the client speaks for: "default" unless
// WithNamespace named another.
func (c *Client) NamespaceName() string {
	if name := c.header.Get(NamespaceHeader); name != "" {
		return name
	}
	return "default"
}

// Namespace returns a copy of the client speaking for namespace name: the
// same server, the same HTTP client and headers, another world. A name
// WithNamespace refuses makes every request of the copy answer why.
func (c *Client) Namespace(name string) *Client { return c.With(WithNamespace(name)) }

// URL is the server's base URL.
func (c *Client) URL() string { return c.base.String() }

// Error is an answer of the server other than a success: the problem
// details (RFC 9457) it sent, or what could be made of another body.
type Error struct {
	Method string // of the request
	Path   string // of the request, with its query
	Status int    // the HTTP status code
	Type   string // the problem type, such as urn:smsim:problem:invalid-input
	Title  string // the status text
	Detail string // what is wrong, naming the field
	// RequestID is the answer's X-Request-Id: the server's log lines of
	// the request carry it.
	RequestID string
}

func (e *Error) Error() string {
	return fmt.Sprintf("smsim: %s %s: %d %s: %s", e.Method, e.Path, e.Status, e.Title, e.Detail)
}

// IsStatus tells whether err is an *Error with HTTP status code status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

type idempotencyKey struct{}

// WithIdempotencyKey answers a context whose POSTs carry the
// Idempotency-Key key (up to 255 visible ASCII characters): a POST sent
// again with the same key, after its answer was lost, does nothing again
// and is answered as the first was — an advance (Advance, AdvanceTo,
// AdvanceNext) moves the clock once, a submission makes one order. A key
// is for one request and its retries: every POST made with the context
// carries it, and any other POST under it is a 422, so keep the context
// for that request alone, and give each request a key no other request of
// the namespace has had (a random one, not a name a later run reuses).
//
//	key := "advance-" + strconv.FormatUint(rand.Uint64(), 36)
//	st, err := sim.Advance(client.WithIdempotencyKey(ctx, key), 24*time.Hour)
//	if err != nil { // the connection broke: did it advance?
//		// once, whatever the first did; a context of its own, should the
//		// first have run out of time
//		retry, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
//		defer cancel()
//		st, err = sim.Advance(client.WithIdempotencyKey(retry, key), 24*time.Hour)
//	}
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, key)
}

// request is one call to the API.
type request struct {
	method string
	path   string       // escaped, from the base URL
	query  url.Values   // may be nil
	body   any          // sent as JSON when not nil; json.RawMessage as it is
	answer *http.Header // when not nil, gets the answer's header
}

// do sends r, and decodes a 2xx answer into out (when not nil and the
// answer has a body). It answers the status code.
func (c *Client) do(ctx context.Context, r request, out any) (int, error) {
	if c.nsErr != nil {
		return 0, c.nsErr
	}
	u := c.base.String() + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return 0, fmt.Errorf("smsim: %s %s: encode the body: %w", r.method, r.path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return 0, fmt.Errorf("smsim: %w", err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if key, ok := ctx.Value(idempotencyKey{}).(string); ok && r.method == http.MethodPost {
		req.Header.Set("Idempotency-Key", key)
	}
	if body != nil || r.method != http.MethodGet {
		// bodiless POSTs and DELETEs too: the server refuses a request
		// that changes state without it, as a form of another site would
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("smsim: %s %s: %w", r.method, r.path, err)
	}
	defer resp.Body.Close()
	if r.answer != nil {
		*r.answer = resp.Header
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("smsim: %s %s: read the answer: %w", r.method, r.path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, problemOf(r, resp, b)
	}
	if out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("smsim: %s %s: decode the answer: %w", r.method, r.path, err)
		}
	}
	return resp.StatusCode, nil
}

func problemOf(r request, resp *http.Response, b []byte) *Error {
	e := &Error{Method: r.method, Path: r.path, Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode),
		RequestID: resp.Header.Get("X-Request-Id")}
	if len(r.query) > 0 {
		e.Path += "?" + r.query.Encode()
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var p struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if (mt == "application/problem+json" || mt == "application/json") && json.Unmarshal(b, &p) == nil && p.Detail != "" {
		e.Type, e.Detail = p.Type, p.Detail
		if p.Title != "" {
			e.Title = p.Title
		}
		return e
	}
	e.Type = "about:blank"
	e.Detail = strings.TrimSpace(string(b))
	if len(e.Detail) > 200 {
		e.Detail = e.Detail[:200] + "…"
	}
	if e.Detail == "" {
		e.Detail = "(no body)"
	}
	return e
}

// segment escapes one path segment (a phone such as +8613800000001, an
// id).
func segment(s string) string { return url.PathEscape(s) }
