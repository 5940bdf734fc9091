package server

import (
	"smsim/simulator/core"

	"github.com/prometheus/client_golang/prometheus"
)

// serverMetrics are the metrics of the HTTP layer besides requests and
// their durations (httpMetrics).
type serverMetrics struct {
	websockets prometheus.Gauge
}

func newServerMetrics(reg prometheus.Registerer) *serverMetrics {
	m := &serverMetrics{
		websockets: core.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "smsim_websocket_connections",
			Help: "Websocket connections open on this instance: to phones (GET /phones/v1/{phone}/ws) and to the event log (GET /ws/events).",
		})),
	}
	return m
}
