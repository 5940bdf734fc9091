package redisstore

import (
	"slices"
	"strconv"
	"strings"

	"github.com/alicebob/miniredis/v2/server"
)

// A client's SCAN of the keys that start with a name — SCAN 0 MATCH
// smsim:{ns}:*, with or without a COUNT, as a namespace's reset and the
// key sweeps make it — is answered from the data as miniredis answers it:
// every key that matches, in order of name, in one reply whose cursor is
// 0 (miniredis ignores COUNT). miniredis sorts every key of the database
// and matches each against a regular expression at every SCAN, under the
// lock that every command of the store waits for: 74 ms over 200,000 keys,
// and a reset of one namespace held the whole store that long. Here the
// keys are looked through once, by their first characters, and only those
// that match are sorted.
//
// A name that is not valid UTF-8 is matched byte by byte, as Redis does
// (miniredis makes a regular expression of it, and panics). Any other
// SCAN — a pattern with another wildcard, a TYPE, a cursor other than 0 —
// goes to miniredis, and so does one in a transaction, a subscription or a
// script.

// scanPrefix answers SCAN args when it is one of those; false for any
// other, which miniredis runs.
func (s *scripting) scanPrefix(c *server.Peer, args []string) bool {
	prefix, ok := scanPrefixOf(args)
	if !ok {
		return false
	}
	n, ok := s.plainClient(c)
	if !ok {
		return false
	}
	s.m.Lock()
	defer s.m.Unlock()
	var keys []string
	if db := s.database(n); db != nil {
		for k := range mapAt[map[string]string](db, layout.keys) {
			if strings.HasPrefix(k, prefix) {
				keys = append(keys, k)
			}
		}
	} else if !layoutOK {
		return false
	}
	slices.Sort(keys)
	s.reads.Add(1)
	c.WriteLen(2)
	c.WriteBulk("0")
	c.WriteLen(len(keys))
	for _, k := range keys {
		c.WriteBulk(k)
	}
	return true
}

// scanPrefixOf answers the first characters that SCAN args matches keys
// by: its cursor 0, a MATCH of those characters and one * after them,
// nothing but a COUNT besides.
func scanPrefixOf(args []string) (string, bool) {
	if len(args) < 3 || args[0] != "0" {
		return "", false
	}
	match := ""
	for i := 1; i < len(args); i += 2 {
		if i+1 >= len(args) {
			return "", false
		}
		switch strings.ToUpper(args[i]) {
		case "MATCH":
			if match != "" {
				return "", false
			}
			match = args[i+1]
		case "COUNT":
			if n, err := strconv.Atoi(args[i+1]); err != nil || n < 1 {
				return "", false // miniredis answers its error
			}
		default:
			return "", false
		}
	}
	prefix, ok := strings.CutSuffix(match, "*")
	if !ok || prefix == "" || strings.ContainsAny(prefix, `*?[]\`) {
		return "", false
	}
	return prefix, true
}
