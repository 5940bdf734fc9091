package client

import "context"

// Submit submits a filing order at the provider (POST /provider/v1/filings)
// and answers the order as the provider sees it: status submitted, each
// required person not validated yet. MIIT learns of it after the sync lag.
func (c *Client) Submit(ctx context.Context, req SubmitRequest) (ProviderView, error) {
	var v ProviderView
	_, err := c.do(ctx, request{method: "POST", path: "/provider/v1/filings", body: req}, &v)
	return v, err
}

// Filing reads an order as the provider sees it, MIIT's outcomes arriving
// after the result sync lag (GET /provider/v1/filings/{id}).
func (c *Client) Filing(ctx context.Context, id string) (ProviderView, error) {
	var v ProviderView
	_, err := c.do(ctx, request{method: "GET", path: "/provider/v1/filings/" + segment(id)}, &v)
	return v, err
}

// Cancel cancels an order as its customer (POST
// /provider/v1/filings/{id}/cancel): an *Error with status 409 once it is
// past cancelling.
func (c *Client) Cancel(ctx context.Context, id string) (ProviderView, error) {
	var v ProviderView
	_, err := c.do(ctx, request{method: "POST", path: "/provider/v1/filings/" + segment(id) + "/cancel"}, &v)
	return v, err
}

// ChangeNumbers gives people of a cancellation order new mobile numbers, by
// role (EntityLeader, WebsiteAdmin) (PATCH
// /provider/v1/filings/{id}/personnel): an *Error with status 409 for any
// other order or one past validation.
func (c *Client) ChangeNumbers(ctx context.Context, id string, changes map[string]NumberChange) (ProviderView, error) {
	var v ProviderView
	_, err := c.do(ctx, request{method: "PATCH", path: "/provider/v1/filings/" + segment(id) + "/personnel", body: changes}, &v)
	return v, err
}

// SubmitFirstFiling submits the first filing of a website, which both the
// entity leader and the website administrator must validate.
func (c *Client) SubmitFirstFiling(ctx context.Context, leader, admin Person) (ProviderView, error) {
	return c.Submit(ctx, SubmitRequest{Type: TypeFirstFiling, Variant: "website",
		EntityLeader: &leader, WebsiteAdmin: &admin})
}
