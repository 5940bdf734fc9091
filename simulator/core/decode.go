package core

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// DecodeStrict decodes one JSON object from r into v: unknown fields, a
// value of the wrong type, an empty body and trailing data are *Errors
// naming what is wrong.
func DecodeStrict(r io.Reader, v any) error {
	br := bufio.NewReader(r)
	for {
		c, err := br.ReadByte()
		if err != nil {
			return Invalid("body: empty; expected a JSON object")
		}
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			continue
		}
		br.UnreadByte()
		if c != '{' {
			return Invalid("body: expected a JSON object")
		}
		break
	}
	dec := json.NewDecoder(br)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Invalid("body: holds more than one JSON value")
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
		return Invalid("%s: unknown field", strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`))
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Invalid("body: %v", err)
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "float64", "float32", "int", "int64", "uint64":
		return "a number"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	}
	return k
}
