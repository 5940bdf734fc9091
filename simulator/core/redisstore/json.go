package redisstore

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	luajson "github.com/alicebob/miniredis/v2/gopher-json"
	lua "github.com/yuin/gopher-lua"
)

// The cjson of the embedded store's scripts: miniredis's (gopher-json),
// whose every decode goes through encoding/json into Go maps and every
// encode through reflection, was a seventh of a flow's CPU. These read and
// write the text directly, for what smsim's scripts pass (objects,
// arrays, strings and numbers; a string with escapes or beyond ASCII
// through encoding/json, as gopher-json's), and hand anything else to
// gopher-json — numbers out of range, anything malformed, duplicate keys,
// tables it refuses — so that
// the answer is always gopher-json's, value for value and error for error
// (FuzzJSONDecodeMatchesGopherJSON, TestScriptsAnswerAsMiniredis).

// jsonDecode is cjson.decode.
func jsonDecode(l *lua.LState) int {
	if l.GetTop() != 1 {
		l.Error(lua.LString("bad argument #1 to decode"), 1)
		return 0
	}
	s := l.CheckString(1)
	v, err := decodeJSON(l, s)
	if err != nil {
		l.Push(lua.LNil)
		l.Push(lua.LString(err.Error()))
		return 2
	}
	l.Push(v)
	return 1
}

// jsonEncode is cjson.encode.
func jsonEncode(l *lua.LState) int {
	if l.GetTop() != 1 {
		l.Error(lua.LString("bad argument #1 to encode"), 1)
		return 0
	}
	v := l.CheckAny(1)
	b, ok := appendJSON(nil, v, 0)
	if !ok {
		var err error
		b, err = luajson.Encode(v)
		if err != nil {
			l.Push(lua.LNil)
			l.Push(lua.LString(err.Error()))
			return 2
		}
	}
	l.Push(lua.LString(b))
	return 1
}

// decodeJSON answers s decoded as gopher-json decodes it.
func decodeJSON(l *lua.LState, s string) (lua.LValue, error) {
	d := jsonDecoder{l: l, s: s}
	d.space()
	v, ok := d.value(0)
	if ok {
		d.space()
		ok = d.i == len(s)
	}
	if !ok {
		return luajson.Decode(l, []byte(s))
	}
	return v, nil
}

// jsonMaxDepth bounds the nesting the fast path follows; deeper is
// gopher-json's.
const jsonMaxDepth = 64

type jsonDecoder struct {
	l *lua.LState
	s string
	i int
}

func (d *jsonDecoder) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// value reads one value; false when the fast path does not take it.
func (d *jsonDecoder) value(depth int) (lua.LValue, bool) {
	if d.i >= len(d.s) || depth > jsonMaxDepth {
		return nil, false
	}
	switch c := d.s[d.i]; {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '"':
		s, ok := d.str()
		return lua.LString(s), ok
	case c == 't':
		return lua.LTrue, d.word("true")
	case c == 'f':
		return lua.LFalse, d.word("false")
	case c == 'n':
		return lua.LNil, d.word("null")
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	return nil, false
}

func (d *jsonDecoder) word(w string) bool {
	if !strings.HasPrefix(d.s[d.i:], w) {
		return false
	}
	d.i += len(w)
	return true
}

// str reads a string, copied out of the text (which a value kept in the
// store must not hold on to). A string of printable ASCII is taken as it
// is; one with escapes or beyond ASCII is unquoted by encoding/json, as
// gopher-json's is (invalid UTF-8 and lone surrogates become U+FFFD); a
// control character, which encoding/json refuses, is gopher-json's error.
func (d *jsonDecoder) str() (string, bool) {
	start, plain := d.i+1, true
	for j := start; j < len(d.s); j++ {
		switch c := d.s[j]; {
		case c == '"':
			d.i = j + 1
			if plain {
				return strings.Clone(d.s[start:j]), true
			}
			var out string
			if err := json.Unmarshal([]byte(d.s[start-1:j+1]), &out); err != nil {
				return "", false
			}
			return out, true
		case c == '\\':
			plain = false
			j++ // the escaped character, a quote too
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			plain = false
		}
	}
	return "", false
}

// number reads a number as encoding/json reads one into a float64.
func (d *jsonDecoder) number() (lua.LValue, bool) {
	s, start := d.s, d.i
	j := start
	if j < len(s) && s[j] == '-' {
		j++
	}
	switch {
	case j < len(s) && s[j] == '0':
		j++
	case j < len(s) && s[j] >= '1' && s[j] <= '9':
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
	default:
		return nil, false
	}
	if j < len(s) && s[j] == '.' {
		j++
		if j >= len(s) || s[j] < '0' || s[j] > '9' {
			return nil, false
		}
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		j++
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j >= len(s) || s[j] < '0' || s[j] > '9' {
			return nil, false
		}
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
	}
	f, err := strconv.ParseFloat(s[start:j], 64)
	if err != nil {
		return nil, false
	}
	d.i = j
	return lua.LNumber(f), true
}

func (d *jsonDecoder) array(depth int) (lua.LValue, bool) {
	d.i++ // [
	t := d.l.CreateTable(4, 0)
	d.space()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		return t, true
	}
	for {
		d.space()
		v, ok := d.value(depth + 1)
		if !ok {
			return nil, false
		}
		t.Append(v)
		if more, ok := d.more(']'); !ok || !more {
			return t, ok
		}
	}
}

// more reads what follows a member of an array or object: a comma (true),
// or its end, end (false); ok is false when it is neither.
func (d *jsonDecoder) more(end byte) (more, ok bool) {
	d.space()
	if d.i >= len(d.s) {
		return false, false
	}
	switch d.s[d.i] {
	case ',':
		d.i++
		return true, true
	case end:
		d.i++
		return false, true
	}
	return false, false
}

func (d *jsonDecoder) object(depth int) (lua.LValue, bool) {
	d.i++ // {
	t := d.l.CreateTable(0, 4)
	d.space()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		return t, true
	}
	for {
		d.space()
		if d.i >= len(d.s) || d.s[d.i] != '"' {
			return nil, false
		}
		k, ok := d.str()
		if !ok {
			return nil, false
		}
		d.space()
		if d.i >= len(d.s) || d.s[d.i] != ':' {
			return nil, false
		}
		d.i++
		d.space()
		v, ok := d.value(depth + 1)
		if !ok {
			return nil, false
		}
		if v == lua.LNil || t.RawGetString(k) != lua.LNil {
			return nil, false // null, or a key again: how gopher-json's map keeps them is its own
		}
		t.RawSetString(k, v)
		if more, ok := d.more('}'); !ok || !more {
			return t, ok
		}
	}
}

// appendJSON appends v encoded as gopher-json encodes it; false when the
// fast path does not take it.
func appendJSON(b []byte, v lua.LValue, depth int) ([]byte, bool) {
	if depth > jsonMaxDepth {
		return nil, false // deeper, or a table in itself: gopher-json's error
	}
	switch t := v.(type) {
	case lua.LBool:
		return strconv.AppendBool(b, bool(t)), true
	case *lua.LNilType:
		return append(b, "null"...), true
	case lua.LNumber:
		return appendFloat(b, float64(t))
	case lua.LString:
		return appendString(b, string(t))
	case *lua.LTable:
		return appendTable(b, t, depth)
	}
	return nil, false
}

// appendFloat writes f as encoding/json writes a float64.
func appendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 is e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

// appendString writes a string of printable ASCII that encoding/json
// would not escape (no ", \, <, > or &) as it is.
func appendString(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= utf8.RuneSelf, c == '"', c == '\\', c == '<', c == '>', c == '&':
			q, err := json.Marshal(s)
			return append(b, q...), err == nil
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// appendTable writes a table as gopher-json does: empty, [] ; keys 1, 2, …
// in the order next gives them, an array; string keys, an object, its keys
// sorted.
func appendTable(b []byte, t *lua.LTable, depth int) ([]byte, bool) {
	key, value := t.Next(lua.LNil)
	switch key.Type() {
	case lua.LTNil:
		return append(b, "[]"...), true
	case lua.LTNumber:
		b = append(b, '[')
		for want := lua.LNumber(1); key != lua.LNil; want++ {
			if key != want {
				return nil, false
			}
			if want > 1 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendJSON(b, value, depth+1); !ok {
				return nil, false
			}
			key, value = t.Next(key)
		}
		return append(b, ']'), true
	case lua.LTString:
		type member struct {
			k string
			v lua.LValue
		}
		var members []member
		for key != lua.LNil {
			k, ok := key.(lua.LString)
			if !ok {
				return nil, false
			}
			members = append(members, member{string(k), value})
			key, value = t.Next(key)
		}
		slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.k, b.k) })
		b = append(b, '{')
		for i, m := range members {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendString(b, m.k); !ok {
				return nil, false
			}
			b = append(b, ':')
			if b, ok = appendJSON(b, m.v, depth+1); !ok {
				return nil, false
			}
		}
		return append(b, '}'), true
	}
	return nil, false
}
