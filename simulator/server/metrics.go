package server

import (
	"smsim/simulator/core"

	"github.com/prometheus/client_golang/prometheus"
)

// serverMetrics are the metrics of the HTTP layer besides requests and
// their durations (httpMetrics).
type serverMetrics struct {
	websockets prometheus.Gauge
	refused    *prometheus.CounterVec
	dropped    prometheus.Counter
}

func newServerMetrics(reg prometheus.Registerer) *serverMetrics {
	m := &serverMetrics{
		websockets: core.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "smsim_websocket_connections",
			Help: "Websocket connections open on this instance: to phones (GET /phones/v1/{phone}/ws) and to the event log (GET /ws/events).",
		})),
		refused: core.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smsim_http_refused_total",
			Help: "Requests the guard refused, by reason: host (421), origin (403), token (401), content_type (415).",
		}, []string{"reason"})),
		dropped: core.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "smsim_websocket_slow_drops_total",
			Help: "Websockets closed because their client did not keep up with what was sent (close code 1008).",
		})),
	}
	for _, reason := range []string{"host", "origin", "token", "content_type"} {
		m.refused.WithLabelValues(reason)
	}
	return m
}
