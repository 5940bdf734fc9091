package client

import (
	"context"
	"net/url"
	"strconv"
)

// WebhookRequest registers a webhook: where to post, which kinds of events
// (none: DefaultWebhookEvents()) and the signing secret (empty: one is
// generated and answered).
type WebhookRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events,omitempty"`
	Secret string   `json:"secret,omitempty"`
}

// RegisterWebhook registers a webhook of the namespace (POST
// /admin/v1/webhooks); it receives the events from then on. Check its posts
// with VerifyWebhook and the answer's Secret.
func (c *Client) RegisterWebhook(ctx context.Context, r WebhookRequest) (Webhook, error) {
	var h Webhook
	_, err := c.do(ctx, request{method: "POST", path: "/admin/v1/webhooks", body: r}, &h)
	return h, err
}

// Webhooks lists the namespace's webhooks in the order they were
// registered (GET /admin/v1/webhooks).
func (c *Client) Webhooks(ctx context.Context) ([]Webhook, error) {
	var out struct {
		Webhooks []Webhook `json:"webhooks"`
	}
	_, err := c.do(ctx, request{method: "GET", path: "/admin/v1/webhooks"}, &out)
	return out.Webhooks, err
}

// Webhook reads a webhook (GET /admin/v1/webhooks/{id}).
func (c *Client) Webhook(ctx context.Context, id string) (Webhook, error) {
	var h Webhook
	_, err := c.do(ctx, request{method: "GET", path: "/admin/v1/webhooks/" + segment(id)}, &h)
	return h, err
}

// DeleteWebhook deletes a webhook, its delivery log and its pending retries
// (DELETE /admin/v1/webhooks/{id}).
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	_, err := c.do(ctx, request{method: "DELETE", path: "/admin/v1/webhooks/" + segment(id)}, nil)
	return err
}

// WebhookDeliveries reads the newest limit attempts of a webhook's
// delivery log, newest first (GET /admin/v1/webhooks/{id}/deliveries);
// limit 0 asks for the server's default (100).
func (c *Client) WebhookDeliveries(ctx context.Context, id string, limit int) ([]WebhookDelivery, error) {
	var q url.Values
	if limit != 0 {
		q = url.Values{"limit": {strconv.Itoa(limit)}}
	}
	var out struct {
		Deliveries []WebhookDelivery `json:"deliveries"`
	}
	_, err := c.do(ctx, request{method: "GET", path: "/admin/v1/webhooks/" + segment(id) + "/deliveries", query: q}, &out)
	return out.Deliveries, err
}
