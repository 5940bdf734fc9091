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
// ends to ends (core.TextsAppender).
func AppendTexts(outs []Outgoing, b []byte, ends []int) ([]byte, []int) {
	for _, o := range outs {
		if o.Texts == 0 {
			continue
		}
		start := len(b)
		b = o.textTrail.appendJSON(b)
		trailEnd := len(b)
		ends = append(ends, len(b))
		b = o.appendSentData(b)
		ends = append(ends, len(b))
		d := o.Deliver
		if d == nil {
			continue
		}
		if d.Folder != "" {
			b = o.appendHead(b, `{"sent_at":`)
			b = append(b, `,"delivered_at":`...)
			b = appendMillis(b, d.At)
			b = append(b, `,"seq":"`...)
		}
		ends = append(ends, len(b))
		b = o.appendHead(b, `{"sent_at_ms":`)
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

// AppendTexts appends the texts of the messages (core.TextsAppender).
func (a sendNowArgs) AppendTexts(b []byte, ends []int) ([]byte, []int) {
	return AppendTexts(a.Messages, b, ends)
}

// appendSentData appends the data of o's sms.sent event.
func (o Outgoing) appendSentData(b []byte) []byte {
	b = o.appendHead(b, `{"sent_at_ms":`)
	b = append(b, `,"status":"queued","due_ms":`...)
	b = appendMillis(b, o.Due)
	b = append(b, `,"duplicate_of":`...)
	b = core.AppendJSONString(b, o.DuplicateOf)
	return append(b, '}')
}

// appendHead appends the start of a JSON object of o: open, its time sent
// as the field open names, then its id, phone, sender, body and code.
func (o Outgoing) appendHead(b []byte, open string) []byte {
	b = append(b, open...)
	b = appendMillis(b, o.SentAt)
	return o.appendWho(append(b, ','))
}

// appendMillis appends ms as the scripts write a time: a JSON string of its
// digits.
func appendMillis(b []byte, ms int64) []byte {
	b = append(b, '"')
	b = strconv.AppendInt(b, ms, 10)
	return append(b, '"')
}
