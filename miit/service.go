package miit

import (
	"log/slog"
	"regexp"

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
	MIITSender     string // 12381 or 106…12381; default 12381
	ProviderSender string // default 95187
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
	validations    *prometheus.CounterVec
	resends        *prometheus.CounterVec
	numbers        numberIndex // the orders of the numbers validated lately
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
		return nil, core.Invalid("miit sender: must be 12381 or 106 followed by ten digits and 12381, got %q", c.MIITSender)
	}
	if err := gateway.ValidateSender("provider sender", c.ProviderSender); err != nil {
		return nil, err
	}
	s := &Service{
		rdb: c.Redis, ks: c.Keyspace, clock: c.Clock, sched: c.Scheduler, faults: c.Faults, state: c.State,
		rand: c.Rand, gw: c.Gateway, events: c.Events, log: c.Log.With("component", "miit"),
		miitSender: c.MIITSender, providerSender: c.ProviderSender,
		validations: core.Register(c.Metrics, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smsim_validations_total", Help: "MIIT validations by result.",
		}, []string{"result"})),
		resends: core.Register(c.Metrics, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smsim_resends_total", Help: "MIIT resend requests by result.",
		}, []string{"result"})),
	}
	// every result is served from the start, at 0, so that a panel that
	// queries one has data before the first validation
	for _, r := range []string{ResultComplete, ResultPartial, ResultFailed, ResultNotFound} {
		s.validations.WithLabelValues(r)
	}
	for _, r := range []string{ResultResent, ResultNoPending, ResultLimitReached, ResultNotFound} {
		s.resends.WithLabelValues(r)
	}
	s.sched.Handle(JobSync, s.onSync)
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
	return append([]string{s.ks.SchedDue(), s.ks.Seq(), s.ks.FilingsByStatus(), s.ks.Events(),
		s.ks.Phones(), s.ks.Clock(), s.ks.Faults()}, own...)
}

var last6Pattern = regexp.MustCompile(`^[0-9A-Za-z]{6}$`)
var certPattern = regexp.MustCompile(`^[0-9A-Za-z]{6,32}$`)
var codePattern = regexp.MustCompile(`^[0-9]{6}$`)
