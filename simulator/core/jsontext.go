package core

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// AppendJSONString appends s as a JSON string as encoding/json escapes it:
// quotes, backslashes and control characters; <, > and & for HTML; U+2028
// and U+2029; invalid UTF-8 as U+FFFD.
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSON appends the entry as the journal stores it, without
// encoding/json's reflection, or answers false when it cannot: a time
// outside the years 0–9999, which encoding/json refuses too, or of
// another zone than UTC, or a fault applied (rare: encoding/json writes that entry). The entries of every
// request are written so, on the hot path of every flow.
//
// Body and Answer are appended as they are: they must be compact JSON, as
// the request journal makes them. encoding/json would write the same
// value, with <, > and & escaped inside them: both read back alike.
func (e JournalEntry) appendJSON(b []byte) ([]byte, bool) {
	if e.Fault != nil || !jsonYear(e.At) || !jsonYear(e.RealAt) {
		return b, false
	}
	b = append(b, `{"id":`...)
	b = AppendJSONString(b, e.ID)
	b = append(b, `,"method":`...)
	b = AppendJSONString(b, e.Method)
	b = append(b, `,"route":`...)
	b = AppendJSONString(b, e.Route)
	b = append(b, `,"path":`...)
	b = AppendJSONString(b, e.Path)
	if e.Query != "" {
		b = append(b, `,"query":`...)
		b = AppendJSONString(b, e.Query)
	}
	if len(e.Body) > 0 {
		b = append(b, `,"body":`...)
		b = append(b, e.Body...)
	}
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	if len(e.Answer) > 0 {
		b = append(b, `,"answer":`...)
		b = append(b, e.Answer...)
	}
	b = append(b, `,"at":"`...)
	b = e.At.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","real_at":"`...)
	b = e.RealAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","took":`...)
	b = AppendJSONString(b, e.Took)
	if len(e.Phones) > 0 {
		b = append(b, `,"phones":[`...)
		for i, p := range e.Phones {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, p)
		}
		b = append(b, ']')
	}
	if e.Order != "" {
		b = append(b, `,"order":`...)
		b = AppendJSONString(b, e.Order)
	}
	if e.Truncated {
		b = append(b, `,"truncated":true`...)
	}
	return append(b, '}'), true
}

// jsonYear tells whether t is a time of UTC that encoding/json writes: its
// year is within 0–9999.
func jsonYear(t time.Time) bool {
	y := t.Year()
	return t.Location() == time.UTC && y >= 0 && y <= 9999
}

// AppendJSONFloat appends f as encoding/json writes a float64: the
// shortest decimal that reads back as f, in exponent form below 1e-6 and
// from 1e21. f is neither NaN nor infinite (encoding/json refuses those).
func AppendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 to e-9, as encoding/json does
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// AppendJSONArray appends s as encoding/json writes a slice: null when it
// is nil, else its elements, each appended by elem, in brackets.
func AppendJSONArray[T any](b []byte, s []T, elem func(b []byte, e T) []byte) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, e := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, e)
	}
	return append(b, ']')
}

// An Appender writes its own JSON, byte for byte as encoding/json writes
// the same value: a script's arguments of such a type are encoded without
// encoding/json's reflection (Script.RunWith, Script.Call), for the calls
// made for each message (each delivery's, at thousands a second).
type Appender interface {
	AppendJSON(b []byte) []byte
}

// A TextsAppender's arguments come with texts of their own, which a script
// reads in TEXTS (the prelude's), each a string as it is, never decoded:
// AppendTexts appends them to b, in order, and answers where each ends in
// b. Script.RunWith sends them after the arguments' JSON, from the same
// buffer (TEXTS[2] first), before any more arguments it is given.
type TextsAppender interface {
	AppendTexts(b []byte, ends []int) ([]byte, []int)
}

// AppendJSON appends e as encoding/json writes it (MarshalJSON's one
// string, after a '=' when Mirrored).
func (e Expect) AppendJSON(b []byte) []byte {
	b = append(b, '"')
	if e.Mirrored {
		b = append(b, '=')
	}
	for i, part := range e.parts() {
		if i > 0 {
			b = append(b, '|')
		}
		n := len(b)
		b = AppendJSONString(b, part)         // "part", escaped
		b = append(b[:n], b[n+1:len(b)-1]...) // its quotes taken off
	}
	return append(b, '"')
}

// text answers e's five parts joined by '|', as the clock's mirror holds
// them after its '='.
func (e Expect) text() string {
	p := e.parts()
	return strings.Join(p[:], "|")
}

func (e Expect) parts() [5]string { return [...]string{e.Sim, e.Real, e.Scale, e.Paused, e.Faults} }

// AppendJSON appends bd as encoding/json writes it.
func (bd Bounds) AppendJSON(b []byte) []byte {
	b = append(b, `{"retain":`...)
	b = strconv.AppendInt(b, bd.Retain, 10)
	b = append(b, `,"live":`...)
	b = strconv.AppendInt(b, bd.Live, 10)
	b = append(b, `,"inbox_max":`...)
	b = strconv.AppendInt(b, int64(bd.InboxMax), 10)
	b = append(b, `,"scale":`...)
	b = AppendJSONFloat(b, bd.Scale)
	if bd.Unheard {
		b = append(b, `,"unheard":true`...)
	}
	return append(b, '}')
}
