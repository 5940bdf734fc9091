package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// DecodeStrict decodes one JSON object from r into v: unknown fields, a
// value of the wrong type, a string that is not valid UTF-8 (CheckUTF8), an
// empty body and trailing data are *Errors naming what is wrong.
func DecodeStrict(r io.Reader, v any) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return Invalid("body: cannot be read: %v", err)
	}
	return DecodeStrictBytes(b, v)
}

// DecodeStrictBytes is DecodeStrict of a body already read.
func DecodeStrictBytes(b []byte, v any) error {
	switch rest := bytes.TrimLeft(b, " \t\r\n"); {
	case len(rest) == 0:
		return Invalid("body: empty; expected a JSON object")
	case rest[0] != '{':
		return Invalid("body: expected a JSON object")
	}
	if err := CheckUTF8(b); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		err = jsonError(err)
		if e, ok := err.(*Error); ok && strings.HasSuffix(e.Detail, ": unknown field") {
			if named, ok := checkKeys(b, v).(*Error); ok {
				return named // by its path: website_admin.phon
			}
		}
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Invalid("body: holds more than one JSON value")
	}
	// encoding/json takes a key that names a field but for its case ("To"
	// for "to", the last of them winning): a field's name is exact here.
	if mayHaveCasedKey(b) {
		if err, ok := checkKeys(b, v).(*Error); ok {
			return err
		}
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return Invalid("body: empty; expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Invalid("body: ends before the JSON object does")
	case errors.As(err, &syn):
		return Invalid("body: not valid JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return Invalid("body: expected a JSON object, got a JSON %s", typ.Value)
		}
		return Invalid("%s: expected %s, got a JSON %s", field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		if n, err := strconv.Unquote(name); err == nil {
			name = n
		}
		if !plainName.MatchString(name) { // "": unknown field would name nothing
			name = strconv.Quote(name)
		}
		return Invalid("%s: unknown field", name)
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Invalid("body: %v", err)
}

// plainName is a field name written as it is in a detail; others are
// quoted.
var plainName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "float64", "float32":
		return "a number"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "a whole number"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	}
	return k
}
