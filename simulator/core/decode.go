package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"reflect"
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

// DecodeStrictBytes is DecodeStrict of a body already read. A null where
// v has a field of a type of its own is an *Error too (checkNulls): Go
// would read it as the field left out.
func DecodeStrictBytes(b []byte, v any) error { return decodeStrict(b, v, false) }

// DecodeProfileBytes is DecodeStrictBytes for a profile — a namespace's
// fault profile, a phone's, a scenario's — where a null reads as the field
// left out, its start value, as it does in a merge patch of one.
func DecodeProfileBytes(b []byte, v any) error { return decodeStrict(b, v, true) }

func decodeStrict(b []byte, v any, takeNulls bool) error {
	switch rest := bytes.TrimLeft(b, " \t\r\n"); {
	case len(rest) == 0:
		return Invalid("body: empty; expected a JSON object")
	case rest[0] != '{':
		return Invalid("body: expected a JSON object")
	}
	if err := CheckUTF8(b); err != nil {
		return err
	}
	b = wholeIntegers(b, v) // 5.0 and 1e3 where a whole number is due
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber() // a number read into an any is kept as written (unmarshalExact)
	if err := dec.Decode(v); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field != "" {
			// encoding/json names the field without the index of an array
			// on its way (throttles.limit): the body says it
			if p := pathAt(b, typ.Offset); p != "" {
				typ.Field = p
			}
		}
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
	// and it reads a null as the field left out
	if !takeNulls && bytes.Contains(b, []byte("null")) {
		if err, ok := checkNulls(b, v).(*Error); ok {
			return err
		}
	}
	return nil
}

// unmarshalExact decodes the JSON b into v, keeping each number it reads
// into an any as written (json.Number): a document that is decoded,
// changed and written again (a merge patch, a delay given its model) has
// its whole numbers past 2^53 as they came, not rounded as a float64.
func unmarshalExact(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("more than one JSON value")
	}
	return nil
}

// wholeIntegers answers the JSON document b with each number that v reads
// into an integer field written as a plain whole number, when it is one by
// its digits and the field holds it (wholeInteger): 5.0, 5e0, 50e-1 and
// 1e3 become 5, 5, 5 and 1000, as JSON Schema counts them whole, where
// encoding/json refuses them. Every other byte stays as written: a number
// that is not whole (5.5) or out of the field's range, for its refusal to
// name it as given, and a number read into a float, a string, an any or a
// type that decodes itself — an injected answer's body, json.RawMessage,
// goes out as it came. b itself is answered when nothing changes, and when
// it is no JSON value, so that an error's byte offset is b's.
func wholeIntegers(b []byte, v any) []byte {
	if !mayHaveFractionOrExponent(b) {
		return b
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out []byte
	last := 0 // b up to here is in out
	w := keyWalker{dec: dec, number: func(t reflect.Type, n json.Number) {
		plain, ok := wholeInteger(t, string(n))
		if !ok {
			return
		}
		end := int(dec.InputOffset()) // just past the number, as written
		out = append(append(out, b[last:end-len(n)]...), plain...)
		last = end
	}}
	w.value(reflect.TypeOf(v))
	if w.err != nil || out == nil {
		return b
	}
	return append(out, b[last:]...)
}

// wholeInteger answers the JSON number s written as a plain whole number
// (wholeOf) when t is an integer type that holds it.
func wholeInteger(t reflect.Type, s string) (string, bool) {
	if t == nil {
		return "", false
	}
	var fits func(n int64) bool
	switch zero := reflect.New(t).Elem(); t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		fits = func(n int64) bool { return !zero.OverflowInt(n) }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		fits = func(n int64) bool { return n >= 0 && !zero.OverflowUint(uint64(n)) }
	default:
		return "", false
	}
	plain, ok := wholeOf(s)
	if !ok {
		return "", false
	}
	n, err := strconv.ParseInt(plain, 10, 64)
	if err != nil || !fits(n) {
		return "", false
	}
	return plain, true
}

// mayHaveFractionOrExponent tells whether the JSON document b may hold a
// number written with a fraction or an exponent: a '.', 'e' or 'E' right
// after a digit outside its strings, in its first value (decoding refuses
// anything after it). Only then is there one to rewrite. A document nested
// deeper than the decoder reads (maxDecodeDepth) has none to rewrite
// either: decoding refuses it, and no walk goes deeper first.
func mayHaveFractionOrExponent(b []byte) bool {
	depth, found := 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '[' || c == '{':
			if depth++; depth > maxDecodeDepth {
				return false
			}
		case c == ']' || c == '}':
			if depth--; depth == 0 {
				return found // the first value ends: what follows is refused as more than one
			}
		case c == '"': // past the string, to its closing quote
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case (c == '.' || c == 'e' || c == 'E') && i > 0 && '0' <= b[i-1] && b[i-1] <= '9':
			found = true
		}
	}
	return found
}

// maxDecodeDepth is how deep encoding/json reads nested values: deeper, it
// refuses the document.
const maxDecodeDepth = 10_000

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
		if lo, hi, ok := outOfRange(typ); ok {
			return Invalid("%s: %s is out of range; expected a whole number from %s to %s", field, strings.TrimPrefix(typ.Value, "number "), lo, hi)
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

// pathAt answers the path of the value of the JSON document b that ends
// at byte offset (or holds it), with the index of each array on its way:
// throttles[0].limit. It answers "" when it cannot tell.
func pathAt(b []byte, offset int64) string {
	type frame struct {
		array bool
		index int
		key   string
		isKey bool // an object's next token is a key
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var stack []frame
	path := func() string {
		var sb strings.Builder
		for _, f := range stack {
			if f.array {
				sb.WriteString("[" + strconv.Itoa(f.index) + "]")
				continue
			}
			if sb.Len() > 0 {
				sb.WriteByte('.')
			}
			sb.WriteString(f.key)
		}
		return sb.String()
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			if len(stack) == 0 {
				return ""
			}
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && !stack[len(stack)-1].array {
				stack[len(stack)-1].isKey = true
			}
			continue
		}
		if n := len(stack); n > 0 {
			top := &stack[n-1]
			if !top.array && top.isKey {
				top.key, _ = tok.(string)
				top.isKey = false
				continue
			}
			if top.array {
				top.index++
			}
		}
		if dec.InputOffset() >= offset && len(stack) > 0 {
			return path()
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{isKey: true})
		case json.Delim('['):
			stack = append(stack, frame{array: true, index: -1})
		default:
			if n := len(stack); n > 0 && !stack[n-1].array {
				stack[n-1].isKey = true
			}
		}
	}
}

// outOfRange tells whether typ is a whole number too large (or too
// small) for the field it was given for, and answers the field's bounds
// then.
func outOfRange(typ *json.UnmarshalTypeError) (lo, hi string, ok bool) {
	num, isNum := strings.CutPrefix(typ.Value, "number ")
	if !isNum {
		return "", "", false
	}
	f, _, err := big.ParseFloat(num, 10, 256, big.ToNearestEven)
	if err != nil || !f.IsInt() {
		return "", "", false
	}
	bits := typ.Type.Bits()
	var min, max *big.Int
	switch typ.Type.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		max = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(bits-1)), big.NewInt(1))
		min = new(big.Int).Neg(new(big.Int).Add(max, big.NewInt(1)))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		max = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(bits)), big.NewInt(1))
		min = new(big.Int)
	default:
		return "", "", false
	}
	// compared as floats: a number such as 1e600000000 is never made a
	// whole big.Int, hundreds of megabytes
	if f.Cmp(new(big.Float).SetInt(min)) >= 0 && f.Cmp(new(big.Float).SetInt(max)) <= 0 {
		return "", "", false // a whole number in range, written with an exponent or a fraction of zeros
	}
	return min.String(), max.String(), true
}

// wholeOf answers the JSON number s written as a plain int64 when it is
// exactly one, deciding on its digits (never a rounded value): 5.0, 1E+3,
// 0.1e1 and -0.0 are 5, 1000, 1 and 0; 5.5, 5.000…01, 1e-700000000 and
// 9.3e18 are none.
func wholeOf(s string) (string, bool) {
	if !strings.ContainsAny(s, ".eE") {
		return "", false // plain already, or no number
	}
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil {
			return "", false
		}
		mant, exp = s[:i], e
	}
	ip, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(ip+frac, "0")
	if digits == "" {
		return "0", true
	}
	sig := strings.TrimRight(digits, "0")
	exp += len(digits) - len(sig) - len(frac)
	if exp < 0 || len(sig)+exp > 19 {
		return "", false
	}
	n, err := strconv.ParseInt(sign+sig+strings.Repeat("0", exp), 10, 64)
	if err != nil {
		return "", false
	}
	return strconv.FormatInt(n, 10), true
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
