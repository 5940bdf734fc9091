// Package openapitest checks HTTP exchanges with smsim against its OpenAPI
// document, for tests: any test that talks to smsim can be a conformance
// test of the document too.
package openapitest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"smsim/simulator/server"
)

var doc struct {
	once   sync.Once
	router routers.Router
	err    error
}

// Router answers the router of the document served at /openapi.json, with
// its servers dropped so that it matches any host.
func Router() (routers.Router, error) {
	doc.once.Do(func() {
		d, err := openapi3.NewLoader().LoadFromData(server.OpenAPI())
		if err != nil {
			doc.err = err
			return
		}
		d.Servers = nil
		doc.router, doc.err = legacy.NewRouter(d)
	})
	return doc.router, doc.err
}

// Response checks that an answer is one the document describes for the
// request's operation: its status, media type and body. Requests the
// document has no operation for (unknown paths, wrong methods) and
// websocket upgrades are left alone.
func Response(t testing.TB, method, url string, status int, header http.Header, body []byte) {
	t.Helper()
	if status == http.StatusSwitchingProtocols {
		return
	}
	router, err := Router()
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status, Header: header, Body: io.NopCloser(bytes.NewReader(body)), Options: responseOptions(header),
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s: the answer (%d %s) does not conform to the OpenAPI document: %v", method, url, status, body, err)
	}
}

func responseOptions(header http.Header) *openapi3filter.Options {
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	mt := strings.TrimSpace(strings.Split(header.Get("Content-Type"), ";")[0])
	if mt != "" && mt != "application/json" && mt != "application/problem+json" {
		opts.ExcludeResponseBody = true // HTML, metrics: only the status and media type
	}
	return opts
}

// Transport wraps base (nil: http.DefaultTransport) so that every exchange
// through it is checked: the answer must conform to the document, and a
// request the document refuses must be refused (a 4xx), never carried out.
func Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{t: t, base: base}
}

type transport struct {
	t    testing.TB
	base http.RoundTripper
}

func (c *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	c.check(req, reqBody, resp, body)
	return resp, nil
}

func (c *transport) check(req *http.Request, reqBody []byte, resp *http.Response, body []byte) {
	c.t.Helper()
	Exchange(c.t, req, reqBody, resp.StatusCode, resp.Header, body)
}

// Exchange checks a request and its answer: the answer must conform to the
// document, and a request the document refuses must have been refused (a
// 4xx), never carried out. Requests the document has no operation for
// (unknown paths, wrong methods) are left alone, as are the frames of a
// websocket.
func Exchange(t testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, body []byte) {
	t.Helper()
	router, err := Router()
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	check := req.Clone(context.Background())
	check.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := router.FindRoute(check)
	if err != nil {
		return
	}
	reqIn := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true}}
	if err := openapi3filter.ValidateRequest(context.Background(), reqIn); err != nil && (status < 400 || status >= 500) {
		t.Errorf("%s %s %s: the document refuses this request, but the server answered %d: %v", req.Method, req.URL, reqBody, status, err)
	}
	if status == http.StatusSwitchingProtocols {
		return
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqIn, Status: status, Header: header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: responseOptions(header),
	})
	if err != nil {
		t.Errorf("%s %s: the answer (%d %s) does not conform to the OpenAPI document: %v", req.Method, req.URL, status, body, err)
	}
}
