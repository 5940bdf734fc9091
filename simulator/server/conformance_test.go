package server_test

import (
	"net/http"
	"testing"

	"smsim/simulator/server/openapitest"
)

// Every answer any test of this package gets through instance.do is
// checked against the OpenAPI document: the whole suite is a conformance
// test, not only the dedicated one.
func conforms(t testing.TB, method, url string, status int, header http.Header, body []byte) {
	t.Helper()
	openapitest.Response(t, method, url, status, header, body)
}
