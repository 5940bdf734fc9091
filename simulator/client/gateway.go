package client

import "context"

// Send hands a message to the SMS gateway (POST /gateway/v1/messages) and
// answers its id; it is queued, and reaches the phone after its delays and
// faults. from is a sender number (1 to 21 digits), to a mainland mobile
// number.
func (c *Client) Send(ctx context.Context, from, to, body string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	_, err := c.do(ctx, request{method: "POST", path: "/gateway/v1/messages",
		body: map[string]string{"from": from, "to": to, "body": body}}, &out)
	return out.ID, err
}

// Message reads a message of the gateway with its status and its trail,
// each decision taken on its way (GET /gateway/v1/messages/{id}).
func (c *Client) Message(ctx context.Context, id string) (Message, error) {
	var m Message
	_, err := c.do(ctx, request{method: "GET", path: "/gateway/v1/messages/" + segment(id)}, &m)
	return m, err
}
