package gateway

import (
	"strconv"

	"smsim/simulator/core"
)

// WithTexts has the script that sends outs (gw_send) take their texts
// made in Go rather than encode them with cjson — each message's trail,
// its sms.sent event's data and, delivered at once, its record in the
// folder and its outcome event's data up to their seq: each of outs is
// told where its texts will be in TEXTS (Texts), from the position from
// (2 for a script with no other texts), and its trails go there rather
// than inside the script's JSON. It answers the position after the last.
// AppendTexts writes the texts, in the same order. Redis's Lua decodes
// JSON at about 80 instructions a byte, and takes a string handed over as
// it is at a few (cmd/smsim-bench/README.md).
//
// The texts hold what the script's own encoding holds, the same fields
// with the same values (times and numbers as strings of digits), in
// another order; a test holds the two together.
func WithTexts(outs []Outgoing, from int) int {
	for i := range outs {
		o := &outs[i]
		o.Texts, o.textTrail = from, trail(o.Trail)
		if o.Deliver != nil {
			d := *o.Deliver
			o.textTrail, d.Trail = trail(d.Trail), nil
			o.Deliver = &d
		}
		o.Trail = nil
		from += 2
		if o.Deliver != nil {
			from += 2
		}
	}
	return from
}

// AppendTexts appends the texts of outs (WithTexts) to b, and where each
// ends to ends (core.TextsAppender). A message's time sent, id, phone,
// sender, body and code, which three of its texts hold, are escaped once
// and copied.
func AppendTexts(outs []Outgoing, b []byte, ends []int) ([]byte, []int) {
	for _, o := range outs {
		if o.Texts == 0 {
			continue
		}
		start := len(b)
		b = o.textTrail.appendJSON(b)
		trailEnd := len(b)
		ends = append(ends, len(b))
		// the data of its sms.sent event
		head := len(b)
		b = append(b, sentAtMs...)
		b = appendMillis(b, o.SentAt)
		b = o.appendWho(append(b, ','))
		headEnd := len(b)
		b = append(b, `,"status":"queued","due_ms":`...)
		b = appendMillis(b, o.Due)
		b = append(b, `,"duplicate_of":`...)
		b = core.AppendJSONString(b, o.DuplicateOf)
		b = append(b, '}')
		ends = append(ends, len(b))
		d := o.Deliver
		if d == nil {
			continue
		}
		if d.Folder != "" {
			// its record in the folder
			b = append(b, `{"sent_at":`...)
			b = append(b, b[head+len(sentAtMs):headEnd]...)
			b = append(b, `,"delivered_at":`...)
			b = appendMillis(b, d.At)
			b = append(b, `,"seq":"`...)
		}
		ends = append(ends, len(b))
		// the data of its outcome's event
		b = append(b, b[head:headEnd]...)
		b = d.appendWhere(append(b, ','))
		b = append(b, `,"delivered_at_ms":`...)
		if d.Folder != "" {
			b = appendMillis(b, d.At)
		} else {
			b = append(b, `""`...)
		}
		b = append(b, `,"trail":`...)
		b = append(b, b[start:trailEnd]...)
		b = append(b, `,"seq":"`...)
		ends = append(ends, len(b))
	}
	return b, ends
}

// sentAtMs opens the data of a message's events.
const sentAtMs = `{"sent_at_ms":`

// AppendTexts appends the texts of the messages (core.TextsAppender).
func (a sendNowArgs) AppendTexts(b []byte, ends []int) ([]byte, []int) {
	return AppendTexts(a.Messages, b, ends)
}

// appendMillis appends ms as the scripts write a time: a JSON string of its
// digits.
func appendMillis(b []byte, ms int64) []byte {
	b = append(b, '"')
	b = strconv.AppendInt(b, ms, 10)
	return append(b, '"')
}
