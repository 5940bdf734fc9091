package gateway

import (
	"github.com/prometheus/client_golang/prometheus"

	"smsim/simulator/core"
)

// gatewayMetrics are the gateway's metrics besides the outcomes of messages
// (smsim_messages_total).
type gatewayMetrics struct {
	sent  *prometheus.CounterVec
	delay *prometheus.HistogramVec
	polls prometheus.Gauge
}

func newGatewayMetrics(reg prometheus.Registerer) *gatewayMetrics {
	return &gatewayMetrics{
		sent: core.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smsim_messages_sent_total",
			Help: "SMS messages handed to the gateway, by sender kind (miit: 12381 and 106...12381; other). " +
				"A message sent again by a retried event counts once; a copy the network duplicates does not count.",
		}, []string{"sender_kind"})),
		delay: core.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "smsim_message_delivery_delay_seconds",
			Help:    "Simulated seconds from sent_at to delivered_at of messages that reached a folder (inbox or blocked), by sender kind.",
			Buckets: []float64{0, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400},
		}, []string{"sender_kind"})),
		polls: core.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "smsim_long_polls",
			Help: "Long polls (GET /phones/v1/{phone}/messages/next) waiting on this instance for a delivery.",
		})),
	}
}

// reasons are the reasons a delivery fails, the reason label of a failed
// message's smsim_messages_total.
var reasons = []string{ReasonSuspended, ReasonUnreachable, ReasonDropped, ReasonOutage, ReasonThrottled, ReasonInboxFull, ReasonScripted}

// zeroMetrics serves every known series of the gateway's metrics from the
// start, at 0, so that a panel that queries one has data before the first
// message.
func (g *Gateway) zeroMetrics() {
	for _, kind := range []string{"miit", "other"} {
		g.stats.sent.WithLabelValues(kind)
		g.stats.delay.WithLabelValues(kind)
		g.sent.WithLabelValues(StatusDelivered, kind, "")
		g.sent.WithLabelValues(StatusBlocked, kind, "")
		for _, r := range reasons {
			g.sent.WithLabelValues(StatusFailed, kind, r)
		}
	}
}

// senderKind is the sender_kind label of a sender number.
func senderKind(sender string) string {
	if IsMIITSender(sender) {
		return "miit"
	}
	return "other"
}

// countSent counts a message handed to the gateway.
func (g *Gateway) countSent(sender string) {
	g.stats.sent.WithLabelValues(senderKind(sender)).Inc()
}

// observeDelay records how long, in simulated seconds, a message took to
// reach a folder.
func (g *Gateway) observeDelay(sender string, seconds float64) {
	g.stats.delay.WithLabelValues(senderKind(sender)).Observe(max(seconds, 0))
}
