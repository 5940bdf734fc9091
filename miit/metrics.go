package miit

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
)

// orderStatuses are MIIT's statuses of an order, the status label of
// smsim_orders.
var orderStatuses = []string{
	StatusUnknown, StatusPendingValidation, StatusUnderReview,
	StatusApproved, StatusReturned, StatusRejected, StatusCanceled,
}

// OrdersCollector reports the orders by namespace and status from the
// counts in the store at each scrape, so that every process on one Redis
// reports the same numbers. Register one per process: it reads the
// namespaces that namespaces answers.
type OrdersCollector struct {
	rdb        redis.UniversalClient
	prefix     string
	namespaces func(context.Context) ([]string, error)
	log        *slog.Logger
	desc       *prometheus.Desc
}

// NewOrdersCollector returns the collector of smsim_orders for the keys
// under prefix.
func NewOrdersCollector(rdb redis.UniversalClient, prefix string, namespaces func(context.Context) ([]string, error), log *slog.Logger) *OrdersCollector {
	return &OrdersCollector{rdb: rdb, prefix: prefix, namespaces: namespaces, log: log, desc: prometheus.NewDesc("smsim_orders",
		"Filing orders by namespace and MIIT's status (unknown: not yet synced to MIIT), read from the store at each scrape: "+
			"every instance on one Redis reports the same numbers.",
		[]string{"namespace", "status"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *OrdersCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect reads the counts. With the store unreachable it reports nothing
// (smsim_redis_errors_total counts the failure) rather than failing the
// whole scrape.
func (c *OrdersCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // the client's own timeouts come first
	defer cancel()
	nss, err := c.namespaces(ctx)
	if err != nil {
		c.log.Warn("reading the namespaces", "err", err)
		return
	}
	p := c.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(nss))
	for i, ns := range nss {
		cmds[i] = p.HMGet(ctx, core.Keyspace{Prefix: c.prefix, Namespace: ns}.FilingsByStatus(), orderStatuses...)
	}
	if _, err := p.Exec(ctx); err != nil {
		c.log.Warn("reading the count of orders by status", "err", err)
		return
	}
	for i, ns := range nss {
		for j, st := range orderStatuses {
			var n float64
			if s, ok := cmds[i].Val()[j].(string); ok {
				n, _ = strconv.ParseFloat(s, 64)
			}
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, n, ns, st)
		}
	}
}
