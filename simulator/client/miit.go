package client

import (
	"context"
	"strings"
)

// Validate submits a code to MIIT (POST /miit/v1/validations). A wrong code
// or an unknown person is a result (failed, not_found) with MIIT's
// message, not an error.
func (c *Client) Validate(ctx context.Context, req ValidateRequest) (ValidationResult, error) {
	var r ValidationResult
	_, err := c.do(ctx, request{method: "POST", path: "/miit/v1/validations", body: req}, &r)
	return r, err
}

// Resend asks MIIT to text a person's code again (POST /miit/v1/resends).
func (c *Client) Resend(ctx context.Context, req ResendRequest) (ResendResult, error) {
	var r ResendResult
	_, err := c.do(ctx, request{method: "POST", path: "/miit/v1/resends", body: req}, &r)
	return r, err
}

// MIITFiling reads an order as MIIT sees it, without lag (GET
// /miit/v1/filings/{id}); status unknown before the sync. It never shows
// the codes.
func (c *Client) MIITFiling(ctx context.Context, id string) (MIITView, error) {
	var v MIITView
	_, err := c.do(ctx, request{method: "GET", path: "/miit/v1/filings/" + segment(id)}, &v)
	return v, err
}

// ValidatePerson validates code as person p does: with p's mobile number
// and the last six characters of p's certificate number.
func (c *Client) ValidatePerson(ctx context.Context, p Person, code string) (ValidationResult, error) {
	return c.Validate(ctx, ValidateRequest{Code: code, Phone: p.Phone, CertificateLast6: Last6(p.CertificateNumber)})
}

// ResendPerson asks MIIT to text person p's code again.
func (c *Client) ResendPerson(ctx context.Context, p Person) (ResendResult, error) {
	return c.Resend(ctx, ResendRequest{Phone: p.Phone, CertificateLast6: Last6(p.CertificateNumber)})
}

// Last6 is the last six characters of a certificate number, as MIIT asks
// for them (it compares them case-insensitively).
func Last6(certificateNumber string) string {
	s := strings.TrimSpace(certificateNumber)
	if len(s) <= 6 {
		return s
	}
	return s[len(s)-6:]
}
