package gateway

import (
	"slices"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"smsim/simulator/core"
)

// A phone's frame is made once for every delivery, on the one goroutine
// that hands the live events to every watcher: what it costs, each delivery
// waits for. So the event's data is read, and the frame written, without
// encoding/json's reflection, by the code below, which gives what
// encoding/json gives, byte for byte, and leaves to it whatever it is not
// sure of.

// The fields of outcomeEvent, as scanOutcome numbers them.
const (
	fieldID = iota
	fieldPhone
	fieldSender
	fieldBody
	fieldCode
	fieldStatus
	fieldFolder
	fieldReason
	fieldSentAt
	fieldDeliveredAt
	fieldSeq
	fieldTrail
	fieldCount
)

// outcomeField answers the field of outcomeEvent named exactly name, or -1.
// encoding/json also reads a name that differs in case: that is left to it.
func outcomeField(name []byte) int {
	switch string(name) {
	case "id":
		return fieldID
	case "phone":
		return fieldPhone
	case "sender":
		return fieldSender
	case "body":
		return fieldBody
	case "code":
		return fieldCode
	case "status":
		return fieldStatus
	case "folder":
		return fieldFolder
	case "reason":
		return fieldReason
	case "sent_at_ms":
		return fieldSentAt
	case "delivered_at_ms":
		return fieldDeliveredAt
	case "seq":
		return fieldSeq
	case "trail":
		return fieldTrail
	}
	return -1
}

// scanOutcome reads data into an outcomeEvent as json.Unmarshal does, or
// answers false when it cannot tell what json.Unmarshal would make of it:
// data that is not JSON, a name that is not exactly one of the fields, a
// field other than the trail that is not a string, nesting deeper than the
// scripts write. The strings share one allocation; the trail is a part of
// data, not a copy of it, so data must not change while the event lives.
func scanOutcome(data []byte) (outcomeEvent, bool) {
	var at [fieldCount]struct { // each field's value in data, quotes included
		from, to int  // to is 0 for none
		plain    bool // scanString's: its text is its inside
	}
	i := skipSpace(data, 0)
	if i == len(data) || data[i] != '{' {
		return outcomeEvent{}, false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		i++
	} else {
		for {
			end, plain := scanString(data, i)
			if end < 0 || !plain {
				return outcomeEvent{}, false
			}
			f := outcomeField(data[i+1 : end-1])
			if f < 0 {
				return outcomeEvent{}, false
			}
			i = skipSpace(data, end)
			if i == len(data) || data[i] != ':' {
				return outcomeEvent{}, false
			}
			i = skipSpace(data, i+1)
			if f == fieldTrail {
				end, plain = skipValue(data, i, 0), false
			} else {
				end, plain = scanString(data, i)
			}
			if end < 0 {
				return outcomeEvent{}, false
			}
			at[f].from, at[f].to, at[f].plain = i, end, plain // a name given twice: the last value counts, as for encoding/json
			i = skipSpace(data, end)
			if i == len(data) {
				return outcomeEvent{}, false
			}
			if data[i] == '}' {
				i++
				break
			}
			if data[i] != ',' {
				return outcomeEvent{}, false
			}
			i = skipSpace(data, i+1)
		}
	}
	if skipSpace(data, i) != len(data) {
		return outcomeEvent{}, false
	}

	n := 0
	for _, v := range at[:fieldTrail] {
		n += v.to - v.from
	}
	var sb strings.Builder
	sb.Grow(n)
	var ends [fieldTrail]int
	for f, v := range at[:fieldTrail] {
		switch {
		case v.plain:
			sb.Write(data[v.from+1 : v.to-1])
		case v.to > 0:
			appendUnquoted(&sb, data[v.from+1:v.to-1])
		}
		ends[f] = sb.Len()
	}
	s := sb.String()
	str := func(f int) string {
		if f == 0 {
			return s[:ends[0]]
		}
		return s[ends[f-1]:ends[f]]
	}
	d := outcomeEvent{ID: str(fieldID), Phone: str(fieldPhone), Sender: str(fieldSender), Body: str(fieldBody),
		Code: str(fieldCode), Status: str(fieldStatus), Folder: str(fieldFolder), Reason: str(fieldReason),
		SentAt: str(fieldSentAt), DeliveredAt: str(fieldDeliveredAt), Seq: str(fieldSeq)}
	if t := at[fieldTrail]; t.to > 0 {
		d.Trail = data[t.from:t.to:t.to]
	}
	return d, true
}

// skipSpace answers the index of the first byte of data from i on that is
// not JSON's white space.
func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString answers the index just after the JSON string that starts at
// data[i], or -1 when none does, and whether the string holds only
// printable ASCII and no escape: its text is then what it holds.
func scanString(data []byte, i int) (end int, plain bool) {
	if i == len(data) || data[i] != '"' {
		return -1, false
	}
	plain = true
	for i++; i < len(data); {
		for i < len(data) && asIs[data[i]] {
			i++
		}
		if i == len(data) {
			break
		}
		c := data[i]
		switch {
		case c == '"':
			return i + 1, plain
		case c < 0x20:
			return -1, false
		case c == '\\':
			plain = false
			if i+1 == len(data) {
				return -1, false
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(data) || !isHex(data[i+2]) || !isHex(data[i+3]) || !isHex(data[i+4]) || !isHex(data[i+5]) {
					return -1, false
				}
				i += 6
			default:
				return -1, false
			}
		default:
			if c >= utf8.RuneSelf {
				plain = false
			}
			i++
		}
	}
	return -1, false
}

// asIs tells the bytes that stand for themselves in a JSON string: the
// printable ASCII but the quote and the backslash.
var asIs = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// maxDepth is how deep skipValue follows arrays and objects: a trail is an
// array of objects; deeper data is left to encoding/json.
const maxDepth = 16

// skipValue answers the index just after the JSON value that starts at
// data[i], or -1 when none does (or it nests deeper than maxDepth).
func skipValue(data []byte, i, depth int) int {
	if i == len(data) {
		return -1
	}
	switch c := data[i]; {
	case c == '"':
		end, _ := scanString(data, i)
		return end
	case c == '[' || c == '{':
		if depth == maxDepth {
			return -1
		}
		closing := byte(']')
		if c == '{' {
			closing = '}'
		}
		i = skipSpace(data, i+1)
		if i < len(data) && data[i] == closing {
			return i + 1
		}
		for {
			if c == '{' { // a name, then its value
				end, _ := scanString(data, i)
				if end < 0 {
					return -1
				}
				if i = skipSpace(data, end); i == len(data) || data[i] != ':' {
					return -1
				}
				i = skipSpace(data, i+1)
			}
			if i = skipValue(data, i, depth+1); i < 0 {
				return -1
			}
			if i = skipSpace(data, i); i == len(data) {
				return -1
			}
			if data[i] == closing {
				return i + 1
			}
			if data[i] != ',' {
				return -1
			}
			i = skipSpace(data, i+1)
		}
	case c == '-' || '0' <= c && c <= '9':
		return skipNumber(data, i)
	case c == 't':
		return skipWord(data, i, "true")
	case c == 'f':
		return skipWord(data, i, "false")
	case c == 'n':
		return skipWord(data, i, "null")
	}
	return -1
}

// skipNumber answers the index just after the JSON number that starts at
// data[i], or -1 when none does.
func skipNumber(data []byte, i int) int {
	digits := func(i int) int { // the index after the digits from i, -1 for none
		j := i
		for j < len(data) && isDigit(data[j]) {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
	if data[i] == '-' {
		i++
	}
	switch {
	case i == len(data):
		return -1
	case data[i] == '0':
		i++
	default:
		if i = digits(i); i < 0 {
			return -1
		}
	}
	if i < len(data) && data[i] == '.' {
		if i = digits(i + 1); i < 0 {
			return -1
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i = digits(i); i < 0 {
			return -1
		}
	}
	return i
}

// skipWord answers the index just after word at data[i], or -1 when it is
// not there.
func skipWord(data []byte, i int, word string) int {
	if len(data)-i < len(word) || string(data[i:i+len(word)]) != word {
		return -1
	}
	return i + len(word)
}

// appendUnquoted writes the text of the JSON string whose inside (between
// its quotes) is q, which scanString found, as encoding/json reads it:
// invalid UTF-8 and lone surrogates become U+FFFD.
func appendUnquoted(sb *strings.Builder, q []byte) {
	for len(q) > 0 {
		i := 0
		for i < len(q) && q[i] != '\\' && q[i] < utf8.RuneSelf {
			i++
		}
		sb.Write(q[:i])
		q = q[i:]
		if len(q) == 0 {
			return
		}
		if q[0] != '\\' {
			r, size := utf8.DecodeRune(q)
			if r == utf8.RuneError && size == 1 {
				sb.WriteRune(utf8.RuneError)
			} else {
				sb.Write(q[:size])
			}
			q = q[size:]
			continue
		}
		switch q[1] {
		case 'b':
			sb.WriteByte('\b')
		case 'f':
			sb.WriteByte('\f')
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 't':
			sb.WriteByte('\t')
		case 'u':
			r := hex4(q[2:6])
			q = q[6:]
			if utf16.IsSurrogate(r) {
				if len(q) >= 6 && q[0] == '\\' && q[1] == 'u' {
					if pair := utf16.DecodeRune(r, hex4(q[2:6])); pair != utf8.RuneError {
						sb.WriteRune(pair)
						q = q[6:]
						continue
					}
				}
				r = utf8.RuneError
			}
			sb.WriteRune(r)
			continue
		default: // " \ /
			sb.WriteByte(q[1])
		}
		q = q[2:]
	}
}

// hex4 reads four hexadecimal digits, which scanString checked.
func hex4(h []byte) rune {
	var r rune
	for _, c := range h[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// frameShape is a frame's JSON without its strings and times, and msLen
// the length of a time of UTC to the millisecond: with them, appendJSON
// sizes a frame once, but for escapes.
const (
	frameShape = `{"id":"","phone":"","sender":"","body":"","code":"","folder":"","sent_at":"","delivered_at":""}`
	msLen      = len("2006-01-02T15:04:05.000Z")
)

// appendJSON appends the message as encoding/json writes it, or answers
// false when it cannot: a time of another zone than UTC, or outside the
// years 0–9999, which encoding/json refuses.
func (m PhoneMessage) appendJSON(b []byte) ([]byte, bool) {
	if !utcJSONTime(m.SentAt) || m.DeliveredAt != nil && !utcJSONTime(*m.DeliveredAt) {
		return b, false
	}
	b = slices.Grow(b, len(frameShape)+2*msLen+len(m.ID)+len(m.Phone)+len(m.Sender)+len(m.Body)+len(m.Code)+len(m.Folder))
	b = append(b, `{"id":`...)
	b = core.AppendJSONString(b, m.ID)
	b = append(b, `,"phone":`...)
	b = core.AppendJSONString(b, m.Phone)
	b = append(b, `,"sender":`...)
	b = core.AppendJSONString(b, m.Sender)
	b = append(b, `,"body":`...)
	b = core.AppendJSONString(b, m.Body)
	if m.Code != "" {
		b = append(b, `,"code":`...)
		b = core.AppendJSONString(b, m.Code)
	}
	b = append(b, `,"folder":`...)
	b = core.AppendJSONString(b, m.Folder)
	b = append(b, `,"sent_at":"`...)
	b = m.SentAt.AppendFormat(b, time.RFC3339Nano)
	if m.DeliveredAt == nil {
		b = append(b, `","delivered_at":null}`...)
		return b, true
	}
	b = append(b, `","delivered_at":"`...)
	b = m.DeliveredAt.AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...), true
}

// utcJSONTime tells whether t is a time of UTC that encoding/json writes:
// its year is within 0–9999.
func utcJSONTime(t time.Time) bool {
	y := t.Year()
	return t.Location() == time.UTC && y >= 0 && y <= 9999
}
