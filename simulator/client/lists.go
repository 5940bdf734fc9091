package client

import (
	"context"
	"net/url"
	"strconv"
)

// ListOptions select and page a listing of orders.
type ListOptions struct {
	Status string // only the orders with this status (in the listing's view); empty: all
	Limit  int    // at most this many, 1 to 1000; 0: the server's default, 100
	Offset int    // skip this many first
}

func (o ListOptions) query() url.Values {
	q := page(o.Limit, o.Offset)
	if o.Status != "" {
		q.Set("status", o.Status)
	}
	return q
}

func page(limit, offset int) url.Values {
	q := url.Values{}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if offset != 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	return q
}

// FilingList is a page of orders, newest first, and how many orders the
// listing has in all.
type FilingList[V any] struct {
	Filings []V `json:"filings"`
	Total   int `json:"total"`
}

// Filings lists the orders as the provider sees them (GET
// /provider/v1/filings).
func (c *Client) Filings(ctx context.Context, o ListOptions) (FilingList[ProviderView], error) {
	var out FilingList[ProviderView]
	_, err := c.do(ctx, request{method: "GET", path: "/provider/v1/filings", query: o.query()}, &out)
	return out, err
}

// MIITFilings lists the orders as MIIT sees them (GET /miit/v1/filings),
// status unknown for those not synced yet.
func (c *Client) MIITFilings(ctx context.Context, o ListOptions) (FilingList[MIITView], error) {
	var out FilingList[MIITView]
	_, err := c.do(ctx, request{method: "GET", path: "/miit/v1/filings", query: o.query()}, &out)
	return out, err
}

// PhoneListOptions select and page the listing of phones.
type PhoneListOptions struct {
	Q      string // only the numbers holding these digits; empty: all
	Limit  int    // at most this many, 1 to 1000; 0: the server's default, 100
	Offset int    // skip this many first
}

// PhoneList is a page of phones, by number, and how many the listing has
// in all.
type PhoneList struct {
	Phones []PhoneSummary `json:"phones"`
	Total  int            `json:"total"`
}

// Phones lists the phones the simulator knows — sent a message or given a
// profile — with their profiles and how many messages each folder holds
// (GET /phones/v1).
func (c *Client) Phones(ctx context.Context, o PhoneListOptions) (PhoneList, error) {
	q := page(o.Limit, o.Offset)
	if o.Q != "" {
		q.Set("q", o.Q)
	}
	var out PhoneList
	_, err := c.do(ctx, request{method: "GET", path: "/phones/v1", query: q}, &out)
	return out, err
}

// EventOptions page the event log.
type EventOptions struct {
	After string // only the events after the one with this id; empty: from the oldest kept
	Limit int    // at most this many, 1 to 10000; 0: the server's default, 1000
}

// EventPage is a page of the event log, oldest first, and the id of the
// newest event of the log: when the page's last event is not it, more are
// waiting.
type EventPage struct {
	Events []Event `json:"events"`
	Last   string  `json:"last"`
}

// Events reads the event log (GET /admin/v1/events): every submission and
// status change, message, validation, resend, clock and fault change.
func (c *Client) Events(ctx context.Context, o EventOptions) (EventPage, error) {
	q := page(o.Limit, 0)
	if o.After != "" {
		q.Set("after", o.After)
	}
	var out EventPage
	_, err := c.do(ctx, request{method: "GET", path: "/admin/v1/events", query: q}, &out)
	return out, err
}
