package core

import "testing"

// A pattern is looked up in one slot of a cluster only when every key it
// matches starts with a plain prefix that holds a hash tag: a cluster
// hashes such a key by the tag alone.
func TestTaggedPrefix(t *testing.T) {
	for _, c := range []struct{ pattern, prefix, tag string }{
		{"smsim:{default}:*", "smsim:{default}:", "{default}"},
		{"smsim:{load-1}:code:*", "smsim:{load-1}:code:", "{load-1}"},
		{"a{b}{c}:*", "a{b}{c}:", "{b}"},   // the first { and the first } after it
		{"smsim:{}:{ns}:*", "", ""},        // an empty tag hashes the whole key
		{"smsim:{ns:*", "", ""},            // no } after the {
		{"smsim:*", "", ""},                // no tag
		{"smsim:{ns}:code:?23456", "", ""}, // not a prefix and a *
		{"smsim:{ns}:code:[0-9]*", "", ""}, // a wildcard in the prefix
		{"smsim:{n*}:*", "", ""},           // in the tag
		{"smsim:{ns}:key", "", ""},         // no * at all
		{`smsim:{ns}:\*`, "", ""},          // an escaped *
	} {
		prefix, tag, ok := taggedPrefix(c.pattern)
		if ok != (c.tag != "") || prefix != c.prefix || tag != c.tag {
			t.Errorf("taggedPrefix(%q) = %q, %q, %v; want %q, %q, %v", c.pattern, prefix, tag, ok, c.prefix, c.tag, c.tag != "")
		}
	}
}
