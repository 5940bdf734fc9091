// Package openapitest checks HTTP exchanges with smsim against its OpenAPI
// document, for tests: any test that talks to smsim can be a conformance
// test of the document too.
//
// kin-openapi routes a request and checks its parameters, headers, status
// and media types. The bodies are checked here, against JSON Schemas
// compiled once each (santhosh-tekuri/jsonschema, which kin-openapi uses
// for OpenAPI 3.1 too, compiling the schema again at every check). The
// parameters' and headers' schemas are of the plain kind that OpenAPI 3.0
// and 3.1 read alike (a type, a pattern, bounds, an enum): kin-openapi
// checks them as 3.0 (the version its copy of the document says), with its
// own validator, which compiles nothing.
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"smsim/simulator/server"
)

// docURL names the document among the compiler's resources.
const docURL = "mem:///openapi.json"

// bodiesKey is where the body schemas are put in the compiler's copy of
// the document, each under its number: /x-openapitest-bodies/3.
const bodiesKey = "x-openapitest-bodies"

// document is the OpenAPI document as the checks use it: kin-openapi's
// model and router, with the schema of every body taken out of the model
// (bodies) and compiled on first use (compiled).
type document struct {
	router   routers.Router
	bodies   map[*openapi3.MediaType]string // the location of each body's schema in the compiler's document
	compiler *jsonschema.Compiler

	mu       sync.Mutex
	compiled map[string]*jsonschema.Schema // by location
}

var doc struct {
	once sync.Once
	d    *document
	err  error
}

func load() (*document, error) {
	doc.once.Do(func() { doc.d, doc.err = newDocument(server.OpenAPI()) })
	return doc.d, doc.err
}

func newDocument(src []byte) (*document, error) {
	t, err := openapi3.NewLoader().LoadFromData(src)
	if err != nil {
		return nil, err
	}
	t.Servers = nil // route by path alone, whatever the host
	d := &document{bodies: map[*openapi3.MediaType]string{}, compiled: map[string]*jsonschema.Schema{}}
	var schemas []any
	take := func(content openapi3.Content) error {
		for _, mt := range content {
			if mt == nil || mt.Schema == nil {
				continue
			}
			if _, ok := d.bodies[mt]; ok { // a response or body shared by reference
				continue
			}
			b, err := json.Marshal(mt.Schema)
			if err != nil {
				return err
			}
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				return err
			}
			d.bodies[mt] = "/" + bodiesKey + "/" + strconv.Itoa(len(schemas))
			schemas = append(schemas, v)
			mt.Schema = nil // kin-openapi checks the media type, and leaves the body
		}
		return nil
	}
	for _, item := range t.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				if err := take(op.RequestBody.Value.Content); err != nil {
					return nil, err
				}
			}
			if op.Responses == nil {
				continue
			}
			for _, r := range op.Responses.Map() {
				if r.Value != nil {
					if err := take(r.Value.Content); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	if d.router, err = legacy.NewRouter(t); err != nil {
		return nil, err
	}
	// Once routed (the router checks the document as it is), the checks
	// read it as 3.0: parameters and headers without compiling (the
	// package's doc).
	t.OpenAPI = "3.0.3"
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	root, ok := raw.(map[string]any)
	if !ok {
		return nil, errors.New("the document is not a JSON object")
	}
	root[bodiesKey] = schemas
	d.compiler = jsonschema.NewCompiler()
	d.compiler.DefaultDraft(jsonschema.Draft2020)
	// Formats are asserted as kin-openapi does: those it knows
	// (openapi3.SchemaStringFormats, date-time among them); others pass.
	formats := map[string]bool{}
	collectFormats(root, formats)
	for name := range formats {
		d.compiler.RegisterFormat(&jsonschema.Format{Name: name, Validate: func(v any) error {
			s, ok := v.(string)
			f, known := openapi3.SchemaStringFormats[name]
			if !ok || !known {
				return nil
			}
			return f.Validate(s)
		}})
	}
	d.compiler.AssertFormat()
	if err := d.compiler.AddResource(docURL, root); err != nil {
		return nil, err
	}
	return d, nil
}

func collectFormats(node any, formats map[string]bool) {
	switch n := node.(type) {
	case map[string]any:
		if f, ok := n["format"].(string); ok && f != "" {
			formats[f] = true
		}
		for _, v := range n {
			collectFormats(v, formats)
		}
	case []any:
		for _, v := range n {
			collectFormats(v, formats)
		}
	}
}

// schema answers the schema at location (a JSON pointer) of the
// compiler's document, compiled once.
func (d *document) schema(location string) (*jsonschema.Schema, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.compiled[location]; ok {
		return s, nil
	}
	s, err := d.compiler.Compile(docURL + "#" + location)
	if err != nil {
		return nil, err
	}
	d.compiled[location] = s
	return s, nil
}

// validate checks a JSON body against the schema at location.
func (d *document) validate(location string, body []byte) error {
	s, err := d.schema(location)
	if err != nil {
		return fmt.Errorf("compile the schema: %w", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("the body is not JSON: %w", err)
	}
	return s.Validate(v)
}

// body checks a body of media type contentType against the schema content
// gives it, when it is JSON and has one.
func (d *document) body(content openapi3.Content, contentType string, body []byte) error {
	mt := content.Get(contentType)
	if mt == nil || !isJSON(contentType) {
		return nil // kin-openapi refuses an undocumented media type
	}
	location, ok := d.bodies[mt]
	if !ok {
		return nil
	}
	return d.validate(location, body)
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// Verdict is what the document says of one exchange.
type Verdict struct {
	Route    *routers.Route // the operation; nil when the document has none for the request
	Request  error          // why the document refuses the request; nil: it allows it
	Response error          // why the answer does not conform to it; nil: it does
}

// Check checks a request and its answer against the document: the
// request's parameters, headers and body, and the answer's status, headers,
// media type and body. An error is the document's own: it did not load.
func Check(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) (Verdict, error) {
	d, err := load()
	if err != nil {
		return Verdict{}, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	check := req.Clone(context.Background())
	check.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := d.router.FindRoute(check)
	if err != nil {
		return Verdict{}, nil
	}
	v := Verdict{Route: route}
	reqIn := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: authenticate}}
	v.Request = openapi3filter.ValidateRequest(context.Background(), reqIn)
	if rb := route.Operation.RequestBody; v.Request == nil && rb != nil && rb.Value != nil && len(reqBody) > 0 {
		if err := d.body(rb.Value.Content, req.Header.Get("Content-Type"), reqBody); err != nil {
			v.Request = fmt.Errorf("request body: %w", err)
		}
	}
	if status == http.StatusSwitchingProtocols {
		return v, nil
	}
	v.Response = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqIn, Status: status, Header: header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	if v.Response == nil && answersWithBody(req.Method, status) {
		r := route.Operation.Responses.Status(status)
		if r == nil {
			r = route.Operation.Responses.Default()
		}
		if r != nil && r.Value != nil {
			if err := d.body(r.Value.Content, header.Get("Content-Type"), body); err != nil {
				v.Response = fmt.Errorf("response body: %w", err)
			}
		}
	}
	return v, nil
}

// authenticate checks a request against one security scheme of an
// operation's security requirement: an HTTP bearer scheme (adminToken)
// wants "Authorization: Bearer <token>". Whether it is the server's token
// the document cannot tell: the server answers 401 when it is not. An
// operation that asks the token only of a server that has one lists the
// empty requirement too (security: [{"adminToken": []}, {}]), which any
// request meets.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	s := in.SecurityScheme
	if s.Type != "http" || !strings.EqualFold(s.Scheme, "bearer") {
		return in.NewError(fmt.Errorf("security scheme %q: only HTTP bearer schemes are checked", in.SecuritySchemeName))
	}
	scheme, token, _ := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return in.NewError(errors.New("no Authorization: Bearer <token>"))
	}
	return nil
}

// answersWithBody tells whether kin-openapi would check the body of an
// answer to method with status: not for HEAD, nor for the redirections it
// leaves alone.
func answersWithBody(method string, status int) bool {
	switch status {
	case http.StatusNotModified, http.StatusPermanentRedirect, http.StatusTemporaryRedirect, http.StatusMovedPermanently:
		return false
	}
	return method != http.MethodHead
}

// Component checks a JSON value against the document's schema of that
// name (components/schemas).
func Component(name string, value []byte) error {
	d, err := load()
	if err != nil {
		return fmt.Errorf("load the OpenAPI document: %w", err)
	}
	return d.validate("/components/schemas/"+name, value)
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
	c.t.Helper()
	Exchange(c.t, req, reqBody, resp.StatusCode, resp.Header, body)
	return resp, nil
}

// Exchange checks a request and its answer: the answer must conform to the
// document, and a request the document refuses must have been refused (a
// 4xx), never carried out. Requests the document has no operation for
// (unknown paths, wrong methods) are left alone, as are the frames of a
// websocket.
func Exchange(t testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, body []byte) {
	t.Helper()
	v, err := Check(req, reqBody, status, header, body)
	if err != nil {
		t.Fatal(err)
	}
	if v.Request != nil && (status < 400 || status >= 500) {
		t.Errorf("%s %s %s: the document refuses this request, but the server answered %d: %v", req.Method, req.URL, reqBody, status, v.Request)
	}
	if v.Response != nil {
		t.Errorf("%s %s: the answer (%d %s) does not conform to the OpenAPI document: %v", req.Method, req.URL, status, body, v.Response)
	}
}
