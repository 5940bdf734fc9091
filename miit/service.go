package miit

import (
	"fmt"
	"hash/fnv"
	"log/slog"
	"regexp"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/gateway"
	"smsim/simulator/core"
)

// Scheduler jobs of the filing flow.
const (
	JobSync       = "miit.sync"       // the order reaches MIIT
	JobCode       = "miit.code"       // MIIT texts a code
	JobNotice     = "provider.notice" // the provider texts that the order was submitted
	JobExpire     = "miit.expire"     // the validation window ends
	JobResult     = "miit.result"     // MIIT's outcome reaches the provider
	JobReview     = "miit.review"     // the communications administration decides
	JobAutoResend = "miit.autoresend" // MIIT re-sends the current codes at noon
)

// Default sender numbers.
const (
	DefaultMIITSender     = "12381"
	DefaultProviderSender = "95187"
)

// Limits.
const (
	MaxFailures = 5 // consecutive failures of a person that reject the order
	MaxResends  = 2 // resends per person per order
)

// Config is what a Service is built from.
type Config struct {
	Redis          redis.UniversalClient
	Keyspace       core.Keyspace
	Clock          *core.Clock
	Scheduler      *core.Scheduler
	Faults         *core.FaultStore
	State          *core.State // the namespace's clock and fault profile as this process holds them
	Rand           *core.Source
	Gateway        *gateway.Gateway
	Events         *core.EventLog
	Log            *slog.Logger
	Metrics        prometheus.Registerer
	MIITSender     string // 12381, 106…12381 or a carrier's (core.CarrierSenders); default 12381
	ProviderSender string // default 95187
	Language       string // of a namespace whose fault profile names none; default core.LanguageEnglish
}

// Service plays the provider's filing system and MIIT.
type Service struct {
	rdb            redis.UniversalClient
	ks             core.Keyspace
	clock          *core.Clock
	sched          *core.Scheduler
	faults         *core.FaultStore
	state          *core.State
	rand           *core.Source
	gw             *gateway.Gateway
	events         *core.EventLog
	log            *slog.Logger
	miitSender     string
	providerSender string
	language       string
	validations    *prometheus.CounterVec
	resends        *prometheus.CounterVec
	numbers        numberIndex // the orders of the numbers validated lately
	lib            []string    // the library's keys (libKeys), made once
	// resending serializes, within the process, the resends for one
	// number: of two at once, the code issued second is texted second, so
	// that the newest message holds the live code. A number takes one of
	// the locks (resendLock).
	resending [64]sync.Mutex
	// scriptTexts: the scripts encode the texts of the messages they send
	// themselves, rather than take them made in Go (gateway.WithTexts); a
	// test compares the two.
	scriptTexts bool
}

// resendLock holds the lock of phone's resends until the answer's release.
func (s *Service) resendLock(phone string) (release func()) {
	h := fnv.New32a()
	h.Write([]byte(phone))
	m := &s.resending[h.Sum32()%uint32(len(s.resending))]
	m.Lock()
	return m.Unlock
}

// New returns the service and registers its scheduler events.
func New(c Config) (*Service, error) {
	if c.MIITSender == "" {
		c.MIITSender = DefaultMIITSender
	}
	if c.ProviderSender == "" {
		c.ProviderSender = DefaultProviderSender
	}
	if !gateway.IsMIITSender(c.MIITSender) {
		return nil, core.Invalid("miit sender: must be 12381, 106 followed by ten digits and 12381, or a carrier's sender (106598051001, 10655113, 106575000130), got %q", c.MIITSender)
	}
	if err := gateway.ValidateSender("provider sender", c.ProviderSender); err != nil {
		return nil, err
	}
	if c.Language == "" {
		c.Language = core.LanguageEnglish
	}
	if !slices.Contains(core.Languages(), c.Language) {
		return nil, core.Invalid("language: must be %q or %q, got %q", core.LanguageEnglish, core.LanguageChinese, c.Language)
	}
	s := &Service{
		rdb: c.Redis, ks: c.Keyspace, clock: c.Clock, sched: c.Scheduler, faults: c.Faults, state: c.State,
		rand: c.Rand, gw: c.Gateway, events: c.Events, log: c.Log.With("component", "miit"),
		miitSender: c.MIITSender, providerSender: c.ProviderSender, language: c.Language,
		validations: core.Register(c.Metrics, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smsim_validations_total", Help: "MIIT validations by result.",
		}, []string{"result"})),
		resends: core.Register(c.Metrics, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smsim_resends_total", Help: "MIIT resend requests by result.",
		}, []string{"result"})),
	}
	s.lib = []string{s.ks.SchedDue(), s.ks.Seq(), s.ks.FilingsByStatus(), s.ks.Events(),
		s.ks.Phones(), s.ks.Clock(), s.ks.Faults(), s.ks.CodesByDeadline()}
	// every result is served from the start, at 0, so that a panel that
	// queries one has data before the first validation
	for _, r := range []string{ResultComplete, ResultPartial, ResultFailed, ResultNotFound} {
		s.validations.WithLabelValues(r)
	}
	for _, r := range []string{ResultResent, ResultNoPending, ResultLimitReached, ResultNotFound} {
		s.resends.WithLabelValues(r)
	}
	s.sched.Handle(JobSync, s.onSync)
	s.sched.HandleSteps(JobSync, s.syncStep)
	s.sched.Handle(JobCode, s.onCode)
	s.sched.Handle(JobNotice, s.onNotice)
	s.sched.Handle(JobExpire, s.onExpire)
	s.sched.Handle(JobResult, s.onResult)
	s.sched.Handle(JobReview, s.onReview)
	s.sched.Handle(JobAutoResend, s.onAutoResend)
	return s, nil
}

// libKeys are the keys of a script that uses the library (miit.lua): the
// scheduler's due set and sequence hash, the count of orders by status, the
// event log, the set of phones, the clock and the fault profile, then the
// script's own.
func (s *Service) libKeys(own ...string) []string {
	keys := make([]string, 0, len(s.lib)+len(own))
	return append(append(keys, s.lib...), own...)
}

var last6Pattern = regexp.MustCompile(`^[0-9A-Za-z]{6}$`)
var certPattern = regexp.MustCompile(`^[0-9A-Za-z]{6,32}$`)
var codePattern = regexp.MustCompile(`^[0-9]{6}$`)

// wording answers the texts of a namespace whose fault profile is f.
func (s *Service) wording(f core.Faults) Wording { return WordingOf(f, s.language) }

// codeSender answers the number MIIT's message to phone comes from under
// the fault profile f: the profile's sender, else the service's; with
// core.CodeSenderCarrier, the sender of the phone's carrier
// (core.CarrierSenders), a virtual operator's changing number (106, ten
// digits drawn from parts, 12381), or the service's for a number of no
// known carrier.
func (s *Service) codeSender(f core.Faults, phone string, parts ...string) string {
	switch f.CodeSender {
	case "":
		return s.miitSender
	case core.CodeSenderCarrier:
		c := core.CarrierOf(phone)
		if c == core.VirtualOperator {
			return "106" + fmt.Sprintf("%010d", s.rand.Uint64(append([]string{"virtual_sender"}, parts...)...)%10_000_000_000) + "12381"
		}
		if n, ok := core.CarrierSenders[c]; ok {
			return n
		}
		return s.miitSender
	}
	return f.CodeSender
}

// noticeSender is the sender a notice to phone names: its codeSender, or
// the service's for a virtual operator's number, which changes.
func (s *Service) noticeSender(f core.Faults, phone string) string {
	if f.CodeSender == core.CodeSenderCarrier && core.CarrierOf(phone) == core.VirtualOperator {
		return s.miitSender
	}
	return s.codeSender(f, phone)
}
