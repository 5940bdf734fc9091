package redisstore

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/alicebob/miniredis/v2/fpconv"
	"github.com/alicebob/miniredis/v2/server"
	lua "github.com/yuin/gopher-lua"
)

// A sorted set in miniredis is a map of members to scores, and every range
// of one — ZRANGEBYSCORE, ZREMRANGEBYSCORE — sorts the whole set first. A
// script that looks at the few earliest members of a large set then costs
// as much as sorting it: the namespace's numbers (know_phone prunes them),
// its orders (a submission sweeps them), the scheduler's due set. At 500
// flows a second those sorts, of tens of thousands of members dozens of
// times a second, were a third of the process's CPU, and the store stopped
// answering in time.
//
// The ranges scripts call are answered here in one pass over the set
// instead: ZRANGEBYSCORE keeps only the members in range, and only as many
// as its LIMIT can answer, in order; ZREMRANGEBYSCORE finds the members in
// range and has miniredis remove them with ZREM (removal), which sorts
// nothing, so that what a write does to the data stays miniredis's. So is a
// client's ZRANGE of the first few members by rank (rangeByRank). Their
// answers are miniredis's (FuzzScriptRangesMatchMiniredis); a form they do
// not read — a bound or a LIMIT that does not parse, a key of another
// type — goes to miniredis, which answers it as it does.

// member is a member of a sorted set with its score.
type member struct {
	name  string
	score float64
}

// byScore orders members as miniredis does: by score, then by name.
func byScore(a, b member) int {
	if c := cmp.Compare(a.score, b.score); c != 0 {
		return c
	}
	return strings.Compare(a.name, b.name)
}

// scoreRange is a range of scores as ZRANGEBYSCORE reads its min and max.
type scoreRange struct {
	min, max         float64
	minIncl, maxIncl bool
}

// parseScoreRange reads min and max as miniredis does; false when either
// does not parse (miniredis answers the error).
func parseScoreRange(min, max string) (scoreRange, bool) {
	var r scoreRange
	var ok1, ok2 bool
	r.min, r.minIncl, ok1 = parseScoreBound(min)
	r.max, r.maxIncl, ok2 = parseScoreBound(max)
	// miniredis reads NaN as a bound, and ranges over its sorted members
	// with it as no predicate can: leave it to miniredis.
	return r, ok1 && ok2 && !math.IsNaN(r.min) && !math.IsNaN(r.max)
}

func parseScoreBound(s string) (float64, bool, bool) {
	if s == "" {
		return 0, false, true
	}
	incl := true
	if s[0] == '(' {
		s, incl = s[1:], false
	}
	switch strings.ToLower(s) {
	case "+inf":
		return math.Inf(1), true, true
	case "-inf":
		return math.Inf(-1), true, true
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, incl, err == nil
}

func (r scoreRange) holds(score float64) bool {
	above := score > r.min || r.minIncl && score == r.min
	below := score < r.max || r.maxIncl && score == r.max
	return above && below
}

// rangeByScore answers ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT
// offset count] (a, the arguments after the command) from the data; false
// leaves it to miniredis.
func (s *scripting) rangeByScore(l *lua.LState, a []string) (lua.LValue, bool) {
	if len(a) < 3 {
		return nil, false
	}
	r, ok := parseScoreRange(a[1], a[2])
	if !ok {
		return nil, false
	}
	withScores, limited := false, false
	offset, count := 0, -1
	for opts := a[3:]; len(opts) > 0; {
		switch {
		case strings.EqualFold(opts[0], "WITHSCORES"):
			withScores, opts = true, opts[1:]
		case strings.EqualFold(opts[0], "LIMIT") && len(opts) >= 3:
			o, err1 := strconv.Atoi(opts[1])
			c, err2 := strconv.Atoi(opts[2])
			if err1 != nil || err2 != nil {
				return nil, false
			}
			limited, offset, count, opts = true, o, c, opts[3:]
		default:
			return nil, false
		}
	}
	set, ok := s.sortedSet(a[0])
	if !ok {
		return nil, false
	}
	var in []member
	switch {
	case limited && offset < 0:
		// miniredis answers nothing for a negative offset
	case limited && offset >= len(set):
		// past the end
	case limited && count >= 0:
		in = firstInRange(set, r, offset+min(count, len(set)))
		in = in[min(offset, len(in)):]
	default:
		for name, score := range set {
			if r.holds(score) {
				in = append(in, member{name, score})
			}
		}
		slices.SortFunc(in, byScore)
		if limited {
			in = in[min(offset, len(in)):]
		}
	}
	n := len(in)
	if withScores {
		n *= 2
	}
	out := l.CreateTable(n, 0)
	i := 1
	for _, m := range in {
		out.RawSetInt(i, lua.LString(m.name))
		i++
		if withScores {
			out.RawSetInt(i, lua.LString(fpconv.Dtoa(m.score)))
			i++
		}
	}
	return out, true
}

// firstInRange answers, in order, the first k members of set in r: one
// pass, each member compared with the last of those kept so far.
func firstInRange(set map[string]float64, r scoreRange, k int) []member {
	if k <= 0 {
		return nil
	}
	kept := make([]member, 0, min(k, len(set)))
	for name, score := range set {
		if !r.holds(score) {
			continue
		}
		m := member{name, score}
		if len(kept) == k && byScore(m, kept[k-1]) >= 0 {
			continue
		}
		at, _ := slices.BinarySearchFunc(kept, m, byScore)
		if len(kept) == k {
			kept = kept[:k-1]
		}
		kept = slices.Insert(kept, at, m)
	}
	return kept
}

// removal answers the ZREM that does what ZREMRANGEBYSCORE key min max
// (a, the arguments after the command) would: the members in range,
// found in one pass; a nil command when none is, and nothing is to do.
// False leaves the command to miniredis.
func (s *scripting) removal(a []string) ([]string, bool) {
	if len(a) != 3 {
		return nil, false
	}
	r, ok := parseScoreRange(a[1], a[2])
	if !ok {
		return nil, false
	}
	set, ok := s.sortedSet(a[0])
	if !ok {
		return nil, false
	}
	var zrem []string
	for name, score := range set {
		if r.holds(score) {
			if zrem == nil {
				zrem = []string{"ZREM", a[0]}
			}
			zrem = append(zrem, name)
		}
	}
	return zrem, true
}

// sortedSet is the sorted set key of the running script's database, nil
// when there is no such key; false when the key is of another type or the
// data cannot be read.
func (s *scripting) sortedSet(key string) (map[string]float64, bool) {
	return sortedSetIn(s.db, key)
}

// sortedSetIn is the sorted set key of the database db (database).
func sortedSetIn(db unsafe.Pointer, key string) (map[string]float64, bool) {
	if db == nil {
		return nil, false
	}
	if t, ok := mapAt[map[string]string](db, layout.keys)[key]; ok && t != "zset" {
		return nil, false
	}
	return mapAt[zsetMaps](db, layout.zsets)[key], true
}

// maxRankRange is the longest ZRANGE by rank rangeByRank answers: it keeps
// the members it answers in order as it goes, which pays for a few, not
// for a whole set.
const maxRankRange = 256

// rangeByRank answers a client's ZRANGE key start stop [WITHSCORES] (args,
// after the command) with 0 ≤ start ≤ stop < maxRankRange from the data,
// in one pass, and answers true; false leaves it to miniredis. The
// scheduler asks for the earliest job of its due set so, every few jobs it
// carries out (ZRANGE due 0 0 WITHSCORES), and miniredis sorted the whole
// set for each: 6% of an advance over 10,000 orders.
func (s *scripting) rangeByRank(c *server.Peer, args []string) bool {
	if len(args) < 3 || len(args) > 4 || len(args) == 4 && !strings.EqualFold(args[3], "WITHSCORES") {
		return false
	}
	start, err1 := strconv.Atoi(args[1])
	stop, err2 := strconv.Atoi(args[2])
	if err1 != nil || err2 != nil || start < 0 || stop < start || stop >= maxRankRange {
		return false
	}
	n, ok := s.plainClient(c)
	if !ok {
		return false
	}
	s.m.Lock()
	defer s.m.Unlock()
	db := s.database(n)
	if db == nil {
		return false
	}
	set, ok := sortedSetIn(db, args[0])
	if !ok {
		return false
	}
	in := firstInRange(set, scoreRange{min: math.Inf(-1), max: math.Inf(1), minIncl: true, maxIncl: true}, stop+1)
	in = in[min(start, len(in)):]
	withScores := len(args) == 4
	if withScores {
		c.WriteLen(2 * len(in))
	} else {
		c.WriteLen(len(in))
	}
	s.reads.Add(1)
	for _, m := range in {
		c.WriteBulk(m.name)
		if withScores {
			c.WriteFloat(m.score)
		}
	}
	return true
}
