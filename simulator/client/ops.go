package client

import "context"

// Healthz checks that the server answers (GET /healthz).
func (c *Client) Healthz(ctx context.Context) error {
	_, err := c.do(ctx, request{method: "GET", path: "/healthz"}, nil)
	return err
}

// Readyz checks that the server can reach its store (GET /readyz): an
// *Error with status 503 when it cannot.
func (c *Client) Readyz(ctx context.Context) error {
	_, err := c.do(ctx, request{method: "GET", path: "/readyz"}, nil)
	return err
}
