package client_test

import (
	"net/http"
	"testing"

	"smsim/simulator/client"
	"smsim/simulator/server/openapitest"
	"smsim/simulator/simtest"
)

// runT is simtest.RunT with every exchange of the Sim's client checked
// against the OpenAPI document: the client's requests must be ones the
// document allows (or be refused), and every answer one it describes. The
// SDK's tests are conformance tests too.
func runT(t *testing.T, opts ...simtest.Option) *simtest.Sim {
	t.Helper()
	hc := &http.Client{Transport: openapitest.Transport(t, nil)}
	return simtest.RunT(t, append([]simtest.Option{simtest.WithClientOptions(client.WithHTTPClient(hc))}, opts...)...)
}
