package server_test

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

// Every answer any test of this package gets through instance.do is
// checked against the OpenAPI document: the whole suite is a conformance
// test, not only the dedicated one.
var suiteDoc struct {
	once   sync.Once
	router routers.Router
	err    error
}

func suiteRouter() (routers.Router, error) {
	suiteDoc.once.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(server.OpenAPI())
		if err != nil {
			suiteDoc.err = err
			return
		}
		doc.Servers = nil
		suiteDoc.router, suiteDoc.err = legacy.NewRouter(doc)
	})
	return suiteDoc.router, suiteDoc.err
}

// conforms checks that an answer is one the document describes for the
// request's operation: its status, media type and body. Requests the
// document has no operation for (unknown paths, wrong methods) are left
// to the tests that send them.
func conforms(t testing.TB, method, url string, status int, header http.Header, body []byte) {
	t.Helper()
	if status == http.StatusSwitchingProtocols {
		return
	}
	router, err := suiteRouter()
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
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	mt := strings.TrimSpace(strings.Split(header.Get("Content-Type"), ";")[0])
	if mt != "" && mt != "application/json" && mt != "application/problem+json" {
		opts.ExcludeResponseBody = true
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status, Header: header, Body: io.NopCloser(bytes.NewReader(body)), Options: opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s: the answer (%d %s) does not conform to the OpenAPI document: %v", method, url, status, body, err)
	}
}
