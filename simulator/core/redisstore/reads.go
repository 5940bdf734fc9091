package redisstore

import (
	"maps"
	"reflect"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"github.com/alicebob/miniredis/v2"
	lua "github.com/yuin/gopher-lua"
)

// The reads smsim's scripts make most — GET, GETRANGE (from a first
// character, as the stale check reads the fault profile's SHA-1), HGET,
// HMGET, HGETALL, EXISTS, SMEMBERS, ZCARD, LLEN and ZRANGEBYSCORE
// (ranges.go) — are answered from
// miniredis's data, as miniredis answers them, instead of miniredis
// writing its reply for the call to read back. A validation's HGETALL of its order was a tenth of
// what the embedded store spent on it: miniredis writes each field of a
// reply through fmt and a lock of its own, and the call parses it again.
//
// A read is answered so only where miniredis's answer is a value: a key of
// another type (WRONGTYPE), a wrong number of arguments or a database not
// made yet go to miniredis, which answers as it does. The call runs under
// the miniredis's lock, as miniredis's own commands do. One thing differs:
// miniredis notes when a key was last read (OBJECT IDLETIME), which
// smsim never asks; these reads do not.
//
// miniredis does not export its data: its databases' maps are found by
// name once (dataLayoutOf); should miniredis rename or retype one,
// every read goes to miniredis again (TestReadsFindMiniredisData fails).

// dataLayout is where a database's maps are in miniredis's RedisDB, and
// its databases in a Miniredis.
type dataLayout struct {
	keys, strings, hashes, sets, lists, zsets uintptr // field offsets in a RedisDB
	ttls, fieldTTLs                           uintptr // its keys' TTLs, its hashes' fields' (expireTTLs)
	dbs                                       uintptr // in a Miniredis
}

var (
	layout   dataLayout
	layoutOK bool
)

func init() {
	layout, layoutOK = dataLayoutOf(reflect.TypeFor[miniredis.RedisDB]())
	f, ok := reflect.TypeFor[miniredis.Miniredis]().FieldByName("dbs")
	layout.dbs = f.Offset
	layoutOK = layoutOK && ok && len(f.Index) == 1 && f.Type == reflect.TypeFor[map[int]*miniredis.RedisDB]()
}

// dataLayoutOf finds the maps of a database in type t: the type of each key
// (map[string]string), strings (map[string]string), hashes (map[string]
// of a map[string]string), sets (of a map[string]struct{}), lists (of a
// []string), sorted sets (of a map[string]float64), the keys' TTLs
// (map[string]time.Duration) and the hashes' fields' (map[string] of a
// map[string]time.Duration).
func dataLayoutOf(t reflect.Type) (dataLayout, bool) {
	str := reflect.TypeFor[string]()
	field := func(name string, elem func(reflect.Type) bool) (uintptr, bool) {
		f, ok := t.FieldByName(name)
		if !ok || len(f.Index) != 1 || f.Type.Kind() != reflect.Map || f.Type.Key() != str || !elem(f.Type.Elem()) {
			return 0, false
		}
		return f.Offset, true
	}
	isString := func(e reflect.Type) bool { return e == str }
	mapOf := func(v reflect.Type) func(reflect.Type) bool {
		return func(e reflect.Type) bool {
			return e.Kind() == reflect.Map && e.Key() == str && e.Elem() == v
		}
	}
	isList := func(e reflect.Type) bool { return e.Kind() == reflect.Slice && e.Elem() == str }
	var l dataLayout
	var ok [8]bool
	l.keys, ok[0] = field("keys", isString)
	l.strings, ok[1] = field("stringKeys", isString)
	l.hashes, ok[2] = field("hashKeys", mapOf(str))
	l.sets, ok[3] = field("setKeys", mapOf(reflect.TypeFor[struct{}]()))
	l.lists, ok[4] = field("listKeys", isList)
	l.zsets, ok[5] = field("sortedsetKeys", mapOf(reflect.TypeFor[float64]()))
	l.ttls, ok[6] = field("ttl", func(e reflect.Type) bool { return e == reflect.TypeFor[time.Duration]() })
	l.fieldTTLs, ok[7] = field("hashTTLs", mapOf(reflect.TypeFor[time.Duration]()))
	for _, o := range ok {
		if !o {
			return dataLayout{}, false
		}
	}
	return l, true
}

// The maps of a database, as dataLayoutOf checked their types: a named map
// or slice type of miniredis is read as its underlying type.
type (
	hashMaps = map[string]map[string]string
	setMaps  = map[string]map[string]struct{}
	listMaps = map[string][]string
	zsetMaps = map[string]map[string]float64
	ttlMaps  = map[string]map[string]time.Duration
)

// database is the database n of the miniredis as reads see it; nil when
// miniredis made none yet or its data cannot be read.
func (s *scripting) database(n int) unsafe.Pointer {
	if !layoutOK {
		return nil
	}
	db := mapAt[map[int]*miniredis.RedisDB](unsafe.Pointer(s.m), layout.dbs)[n]
	if db == nil {
		return nil
	}
	return unsafe.Pointer(db)
}

// mapAt is the map at offset off of database db, read as type M.
func mapAt[M any](db unsafe.Pointer, off uintptr) M {
	return *(*M)(unsafe.Add(db, off))
}

// read answers the command args of the running script from the data of its
// database, as miniredis would; false leaves it to miniredis.
func (s *scripting) read(l *lua.LState, args []string) (lua.LValue, bool) {
	if s.db == nil {
		return nil, false
	}
	types := mapAt[map[string]string](s.db, layout.keys)
	typed := func(key, want string) bool {
		t, ok := types[key]
		return !ok || t == want
	}
	switch cmd, a := args[0], args[1:]; {
	case cmd == "GET" && len(a) == 1 && typed(a[0], "string"):
		v, ok := mapAt[map[string]string](s.db, layout.strings)[a[0]]
		if !ok {
			return lua.LFalse, true
		}
		return lua.LString(v), true
	case cmd == "GETRANGE" && len(a) == 3 && typed(a[0], "string"):
		start, err1 := strconv.Atoi(a[1])
		end, err2 := strconv.Atoi(a[2])
		if err1 != nil || err2 != nil || start < 0 || end < 0 {
			return nil, false // an error, or counted from the end: as miniredis counts
		}
		v := mapAt[map[string]string](s.db, layout.strings)[a[0]] // "" for none
		from, to := min(start, len(v)), min(end, len(v)-1)+1
		if to < from {
			return lua.LString(""), true
		}
		return lua.LString(v[from:to]), true
	case cmd == "HGET" && len(a) == 2 && typed(a[0], "hash"):
		v, ok := mapAt[hashMaps](s.db, layout.hashes)[a[0]][a[1]]
		if !ok {
			return lua.LFalse, true
		}
		return lua.LString(v), true
	case cmd == "HMGET" && len(a) >= 2 && typed(a[0], "hash"):
		h := mapAt[hashMaps](s.db, layout.hashes)[a[0]]
		out := l.CreateTable(len(a)-1, 0)
		for i, f := range a[1:] {
			v, ok := h[f]
			if !ok {
				out.RawSetInt(i+1, lua.LFalse)
				continue
			}
			out.RawSetInt(i+1, lua.LString(v))
		}
		return out, true
	case cmd == "HGETALL" && len(a) == 1 && typed(a[0], "hash"):
		h := mapAt[hashMaps](s.db, layout.hashes)[a[0]]
		fields := slices.Sorted(maps.Keys(h)) // miniredis's order
		out := l.CreateTable(2*len(fields), 0)
		for i, f := range fields {
			out.RawSetInt(2*i+1, lua.LString(f))
			out.RawSetInt(2*i+2, lua.LString(h[f]))
		}
		return out, true
	case cmd == "EXISTS" && len(a) >= 1:
		n := 0
		for _, k := range a {
			if _, ok := types[k]; ok {
				n++
			}
		}
		return lua.LNumber(n), true
	case cmd == "SMEMBERS" && len(a) == 1 && typed(a[0], "set"):
		members := slices.Sorted(maps.Keys(mapAt[setMaps](s.db, layout.sets)[a[0]])) // miniredis's order
		out := l.CreateTable(len(members), 0)
		for i, m := range members {
			out.RawSetInt(i+1, lua.LString(m))
		}
		return out, true
	case cmd == "ZCARD" && len(a) == 1 && typed(a[0], "zset"):
		return lua.LNumber(len(mapAt[zsetMaps](s.db, layout.zsets)[a[0]])), true
	case cmd == "LLEN" && len(a) == 1 && typed(a[0], "list"):
		return lua.LNumber(len(mapAt[listMaps](s.db, layout.lists)[a[0]])), true
	case cmd == "ZRANGEBYSCORE":
		return s.rangeByScore(l, a) // ranges.go
	}
	return nil, false
}
