package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// CheckUTF8 finds the first string of the JSON document body that is not
// valid UTF-8, or that escapes half a surrogate pair (\ud800), and answers
// an *Error naming its JSON path: "entity_leader.name: not valid UTF-8".
// Go's decoder would read either as U+FFFD, silently. A body that is not
// JSON is left to the decoder: CheckUTF8 answers nil where it cannot read
// on.
func CheckUTF8(body []byte) error {
	if utf8.Valid(body) && !bytes.Contains(body, []byte(`\ud`)) && !bytes.Contains(body, []byte(`\uD`)) {
		return nil
	}
	w := utf8Walker{b: body}
	w.value(0)
	return w.err
}

// maxWalkDepth is where CheckUTF8 stops reading nested values: deeper than
// the decoder goes (10,000).
const maxWalkDepth = 10_001

// utf8Walker reads a JSON document for CheckUTF8, keeping the path to the
// value it is in.
type utf8Walker struct {
	b    []byte
	i    int
	path []step // to the value being read
	err  error
}

// step is a key of an object, or an index of an array.
type step struct {
	key     string
	index   int
	inArray bool
}

func (w *utf8Walker) space() {
	for w.i < len(w.b) && (w.b[w.i] == ' ' || w.b[w.i] == '\t' || w.b[w.i] == '\n' || w.b[w.i] == '\r') {
		w.i++
	}
}

// at reports whether the next byte is c, and steps over it if so.
func (w *utf8Walker) at(c byte) bool {
	w.space()
	if w.i < len(w.b) && w.b[w.i] == c {
		w.i++
		return true
	}
	return false
}

// value reads one JSON value; false: stop, at an error or at what is not
// JSON.
func (w *utf8Walker) value(depth int) bool {
	w.space()
	if w.i >= len(w.b) || depth > maxWalkDepth {
		return false
	}
	switch w.b[w.i] {
	case '{':
		w.i++
		if w.at('}') {
			return true
		}
		for {
			w.space()
			if w.i >= len(w.b) || w.b[w.i] != '"' {
				return false
			}
			start := w.i
			if !w.str(true) {
				return false
			}
			var key string
			if json.Unmarshal(w.b[start:w.i], &key) != nil || !w.at(':') {
				return false
			}
			w.path = append(w.path, step{key: key})
			if !w.value(depth + 1) {
				return false
			}
			w.path = w.path[:len(w.path)-1]
			if w.at(',') {
				continue
			}
			return w.at('}')
		}
	case '[':
		w.i++
		if w.at(']') {
			return true
		}
		for n := 0; ; n++ {
			w.path = append(w.path, step{index: n, inArray: true})
			if !w.value(depth + 1) {
				return false
			}
			w.path = w.path[:len(w.path)-1]
			if w.at(',') {
				continue
			}
			return w.at(']')
		}
	case '"':
		return w.str(false)
	}
	// a number, true, false or null: up to the next delimiter
	for w.i < len(w.b) && !strings.ContainsRune(",]}: \t\r\n", rune(w.b[w.i])) {
		w.i++
	}
	return true
}

// str reads a string from its opening quote to past its closing one;
// false at the first flaw, the error set when it is bad text rather than
// bad JSON. key: the string is an object's key.
func (w *utf8Walker) str(key bool) bool {
	w.i++
	for w.i < len(w.b) {
		c := w.b[w.i]
		switch {
		case c == '"':
			w.i++
			return true
		case c < 0x20:
			return false // not JSON: the decoder says so
		case c == '\\':
			if w.i+1 >= len(w.b) {
				return false
			}
			if w.b[w.i+1] != 'u' {
				w.i += 2
				continue
			}
			r, ok := w.hex(w.i)
			if !ok {
				return false
			}
			switch {
			case utf16.IsSurrogate(r) && r < 0xdc00: // the first half: the second must follow
				if r2, ok := w.hex(w.i + 6); ok && utf16.DecodeRune(r, r2) != utf8.RuneError {
					w.i += 12
					continue
				}
				return w.fail(key, `: \%s is half a surrogate pair`, w.b[w.i+1:w.i+6])
			case utf16.IsSurrogate(r):
				return w.fail(key, `: \%s is half a surrogate pair`, w.b[w.i+1:w.i+6])
			}
			w.i += 6
		case c < utf8.RuneSelf:
			w.i++
		default:
			r, n := utf8.DecodeRune(w.b[w.i:])
			if r == utf8.RuneError && n == 1 {
				return w.fail(key, "")
			}
			w.i += n
		}
	}
	return false
}

// hex reads the escape \uXXXX at i.
func (w *utf8Walker) hex(i int) (rune, bool) {
	if i+6 > len(w.b) || w.b[i] != '\\' || w.b[i+1] != 'u' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(w.b[i+2:i+6]), 16, 16)
	return rune(n), err == nil
}

// fail sets the error for the string being read, what adding to "not
// valid UTF-8"; it answers false, to stop.
func (w *utf8Walker) fail(key bool, what string, args ...any) bool {
	var b strings.Builder
	for i, s := range w.path {
		switch {
		case s.inArray:
			fmt.Fprintf(&b, "[%d]", s.index)
		case i > 0:
			b.WriteString("." + s.key)
		default:
			b.WriteString(s.key)
		}
	}
	field := b.String()
	if field == "" {
		field = "body"
	}
	if key {
		w.err = Invalid("%s: holds a key that is not valid UTF-8"+what, append([]any{field}, args...)...)
	} else {
		w.err = Invalid("%s: not valid UTF-8"+what, append([]any{field}, args...)...)
	}
	return false
}
