package webhook

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
)

// Hook is a registered webhook: where to post, which kinds of events, and
// the key that signs the posts.
type Hook struct {
	ID        string    `json:"id"`         // "wh_" and 16 hex digits
	URL       string    `json:"url"`        // absolute http or https URL on an allowed host
	Events    []string  `json:"events"`     // the kinds of events it receives; empty: DefaultEvents
	Secret    string    `json:"secret"`     // the HMAC key of the signatures; empty: 32 random bytes in hex
	CreatedAt time.Time `json:"created_at"` // real time of the registration
}

// DefaultEvents are the kinds a hook registered without events receives:
// what a sender of verification codes acts on.
var DefaultEvents = []string{
	core.KindSMSDelivered,
	core.KindSMSBlocked,
	core.KindSMSFailed,
	core.KindValidation,
	core.KindFilingStatus,
}

// Kinds are the kinds of events a hook may ask for: every kind of the event
// log (core.EventKinds) but reset, which deletes the namespace's hooks
// before it is written.
var Kinds = slices.DeleteFunc(core.EventKinds(), func(k string) bool { return k == core.KindReset })

// Limits and defaults.
const (
	MaxHooks           = 20               // hooks per namespace
	MaxSecretLen       = 256              // characters, as the document's maxLength counts them
	MaxURLLen          = 2048             // characters
	LogLen             = 500              // log entries kept per hook, the newest
	DefaultMaxAttempts = 8                // attempts per event and hook
	DefaultTimeout     = 5 * time.Second  // of one post, with the default client
	DefaultReclaim     = 30 * time.Second // see Config.ReclaimAfter
	MaxBackoff         = 5 * time.Minute  // the longest wait of DefaultBackoff
)

// Group is the name of the consumer group of the dispatchers on a
// namespace's event log.
const Group = "webhooks"

// Header names of a post.
const (
	HeaderEvent     = "X-Smsim-Event"     // the event's kind
	HeaderDelivery  = "X-Smsim-Delivery"  // the delivery id, the same in every attempt
	HeaderTimestamp = "X-Smsim-Timestamp" // unix seconds of the attempt
	HeaderSignature = "X-Smsim-Signature" // "sha256=" and the hex HMAC-SHA256 of "<timestamp>.<body>"
)

// Config is what a Dispatcher needs.
type Config struct {
	Redis    redis.UniversalClient
	Keyspace core.Keyspace
	// AllowHosts are the host names (or IP addresses) that may receive
	// webhooks besides loopback ones (localhost, 127.0.0.0/8, ::1), each
	// on any port, or host:port for that port only. A loopback one with a
	// port (127.0.0.1:9000) opens that port of loopback.
	AllowHosts []string
	// StrictLoopback opens on loopback only the ports of AllowHosts'
	// loopback entries (smsim --webhook-host); false: any port but Deny's.
	StrictLoopback bool
	// Deny are host:port addresses never posted to: smsim's own listen
	// address and its Redis's. A loopback or unspecified host closes its
	// port on every loopback address.
	Deny []string
	// Client posts the webhooks. nil: a client with a DefaultTimeout
	// timeout that does not follow redirects, uses no proxy and connects to
	// loopback addresses only, unless the URL's host is in AllowHosts, so
	// that a name resolving elsewhere later (DNS rebinding) gets nothing.
	// A client given here is used as it is, except that redirects are never
	// followed.
	Client *http.Client
	// Network is the hosts, ports and client that the dispatchers of a
	// process share (NewNetwork), so that a thousand namespaces hold one
	// client and one pool of connections, not one each. nil: New builds
	// one of its own from AllowHosts, StrictLoopback, Deny and Client.
	Network *Network
	// Now is the real time (nil: time.Now): of log entries, signatures and
	// the due times of retries. Tests set it to drive retries.
	Now func() time.Time
	// Backoff is the wait after failed attempt n (1-based) before the next
	// one. nil: DefaultBackoff.
	Backoff func(attempt int) time.Duration
	// MaxAttempts bounds the attempts per event and hook (0:
	// DefaultMaxAttempts).
	MaxAttempts int
	// ReclaimAfter is how long an event read by one dispatcher may stay
	// unacknowledged before another takes it over, its reader being taken
	// for dead (0: DefaultReclaim).
	ReclaimAfter time.Duration
	// KeyTTL is how long a hook and its log live after they were last
	// written (the namespace's TTL, core.Limits.NamespaceTTL); 0: forever.
	KeyTTL time.Duration
	// FirstWait is how long Step waits for the first attempts of an event
	// before it goes on to the next without those still under way, which
	// finish on their own (0: DefaultFirstWait): a slow target holds the
	// other hooks' posts back that long an event, not its own timeout.
	FirstWait time.Duration
	Log       *slog.Logger // nil: discard
}

// DefaultFirstWait is how long Step waits for an event's first attempts
// unless Config.FirstWait says otherwise.
const DefaultFirstWait = time.Second

// DefaultBackoff waits 1 s after the first failed attempt, then twice as
// long after each next one, up to MaxBackoff.
func DefaultBackoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	if attempt > 10 {
		return MaxBackoff
	}
	return min(time.Second<<(attempt-1), MaxBackoff)
}

// Dispatcher posts the events of one namespace to its hooks. Every process
// of the namespace may run one: they share the work through a consumer
// group and a retry set in Redis. Its methods may be called concurrently.
type Dispatcher struct {
	rdb      redis.UniversalClient
	ks       core.Keyspace
	network  *Network
	targets  targets
	client   *http.Client
	now      func() time.Time
	backoff  func(int) time.Duration
	max      int
	reclaim  time.Duration
	keyTTL   time.Duration
	log      *slog.Logger
	consumer string

	firstWait time.Duration
	slow      sync.WaitGroup // the attempts Step and RetryDue went on without (and RetryDue's others)
	retrying  atomic.Int64   // retries under way (RetryDue)

	deleted sync.Map // hook ids deleted through this dispatcher: posted to no more

	hooksKey  string // sorted set: hook ids by order of registration
	retryKey  string // sorted set: retries by due time (real ms)
	flightKey string // sorted set: claimed retries by end of lease (real ms)
	eventsKey string // the event log's stream
}

// bounds are the bounds of the keys of a hook (the prelude's keep).
func (d *Dispatcher) bounds() core.Bounds {
	return core.Limits{NamespaceTTL: d.keyTTL}.BoundsOf(core.DefaultFaults())
}

// New returns the dispatcher of c.Keyspace.
func New(c Config) *Dispatcher {
	if c.Network == nil {
		c.Network = NewNetwork(c)
	}
	d := &Dispatcher{
		rdb: c.Redis, ks: c.Keyspace, network: c.Network, targets: c.Network.targets, client: c.Network.client,
		now: c.Now, backoff: c.Backoff, max: c.MaxAttempts, reclaim: c.ReclaimAfter, keyTTL: c.KeyTTL, log: c.Log,
		firstWait: c.FirstWait,
		consumer:  "c-" + randomHex(8),
		hooksKey:  c.Keyspace.Webhooks(),
		retryKey:  c.Keyspace.WebhookRetries(),
		flightKey: c.Keyspace.WebhookInflight(),
		eventsKey: c.Keyspace.Events(),
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.backoff == nil {
		d.backoff = DefaultBackoff
	}
	if d.max <= 0 {
		d.max = DefaultMaxAttempts
	}
	if d.reclaim <= 0 {
		d.reclaim = DefaultReclaim
	}
	if d.firstWait <= 0 {
		d.firstWait = DefaultFirstWait
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.log = d.log.With("component", "webhook")
	return d
}

// Network answers the network d posts through (Config.Network).
func (d *Dispatcher) Network() *Network { return d.network }

// Network is where the webhooks of a process may be posted — the hosts
// and ports open to them — and the client that posts them.
type Network struct {
	targets targets
	client  *http.Client
}

// NewNetwork answers the network of c's AllowHosts, StrictLoopback, Deny
// and Client; it reads nothing else of c.
func NewNetwork(c Config) *Network {
	n := &Network{targets: newTargets(c)}
	if c.Client == nil {
		n.client = newClient(n.targets)
	} else {
		cl := *c.Client
		cl.CheckRedirect = noRedirect
		n.client = &cl
	}
	return n
}

// normalHost is a host name as hosts are compared: lower case, an IPv6
// address without brackets.
func normalHost(h string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(h), "["), "]"))
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on supported platforms
	}
	return hex.EncodeToString(b)
}
