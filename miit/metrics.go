package miit

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// orderStatuses are MIIT's statuses of an order, the status label of
// smsim_orders.
var orderStatuses = []string{
	StatusUnknown, StatusPendingValidation, StatusUnderReview,
	StatusApproved, StatusReturned, StatusRejected, StatusCanceled,
}

// luaOrders is part of luaLib: the count of orders in each MIIT status,
// kept in the fields orders:<status> of KEYS[2] (the namespace's hash of
// counters) by every script that sets an order's status, in the same
// atomic step. A reset deletes the hash with the orders.
const luaOrders = `
-- count_status records that order F moves to status st; call it before
-- setting the status.
local function count_status(F, st)
  local old = redis.call('HGET', F, 'status')
  if old == st then return end
  if old then redis.call('HINCRBY', KEYS[2], 'orders:' .. old, -1) end
  redis.call('HINCRBY', KEYS[2], 'orders:' .. st, 1)
end
`

// ordersCollector reports the orders by status from the counts in the store
// at each scrape, so that every process on one Redis reports the same
// numbers.
type ordersCollector struct {
	rdb  redis.UniversalClient
	key  string
	log  *slog.Logger
	desc *prometheus.Desc
}

func newOrdersCollector(rdb redis.UniversalClient, key string, log *slog.Logger) *ordersCollector {
	return &ordersCollector{rdb: rdb, key: key, log: log, desc: prometheus.NewDesc("smsim_orders",
		"Filing orders by MIIT's status (unknown: not yet synced to MIIT), read from the store at each scrape: "+
			"every instance on one Redis reports the same numbers.",
		[]string{"status"}, nil)}
}

func (c *ordersCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect reads the counts. With the store unreachable it reports nothing
// (smsim_redis_errors_total counts the failure) rather than failing the
// whole scrape.
func (c *ordersCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // the client's own timeouts come first
	defer cancel()
	fields := make([]string, len(orderStatuses))
	for i, st := range orderStatuses {
		fields[i] = "orders:" + st
	}
	v, err := c.rdb.HMGet(ctx, c.key, fields...).Result()
	if err != nil {
		c.log.Warn("reading the count of orders by status", "err", err)
		return
	}
	for i, st := range orderStatuses {
		var n float64
		if s, ok := v[i].(string); ok {
			n, _ = strconv.ParseFloat(s, 64)
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, n, st)
	}
}
