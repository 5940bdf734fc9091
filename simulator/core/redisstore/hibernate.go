package redisstore

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/alicebob/miniredis/v2"
	"github.com/alicebob/miniredis/v2/server"
)

// Hibernation: the embedded store keeps the keys of a group that no
// command has named for a while — a namespace's, which share a hash tag —
// packed into one compressed blob, and unpacks them before the next command
// that names any of them runs. A namespace used once and left idle held
// about 14 KB of miniredis's maps and strings; packed, it holds a tenth of
// that.
//
// A group (a unit) is the keys of one database whose names agree up to and
// including their hash tag: smsim:{bench-1}:clock and smsim:{bench-1}:events
// are the unit smsim:{bench-1}. Every command is seen before miniredis runs
// it (the store's pre-hook): a command that names a key of a packed unit
// (any argument, a script's KEYS, a SCAN's pattern) unpacks it first, so
// that what the command reads and writes is the unit as it was. A command
// that reads the whole database (KEYS, SCAN or RANDOMKEY with no unit in
// its pattern, DBSIZE, SWAPDB) unpacks every unit first; FLUSHDB and
// FLUSHALL drop the packed units with the rest. A key a script reaches
// without naming it in KEYS — which Redis Cluster forbids, and smsim never
// does — is not seen. INFO's key counts leave packed keys out.
//
// A unit is packed only once no command has named it for the idle period
// given to Hibernate, so that a command seen by the pre-hook has run before
// its unit can be packed again: the period must be far longer than a
// command takes from being read to being run (smsim's is its
// --namespace-idle, a minute at least). Between commands a unit may be
// packed and unpacked again; each command sees it whole (a WATCH held
// across that sees its keys written, and its EXEC fails: smsim does not
// WATCH). Its keys keep their TTLs: each runs
// down while packed (Expire), and a key whose TTL ran out is not unpacked;
// the blob goes once all of them have. A unit with something a blob cannot
// hold as miniredis does — a stream's consumer groups, a hash field's TTL,
// a HyperLogLog — is left as it is.

// unitKey names a unit: its database and its name.
type unitKey struct {
	db   int
	name string
}

// unit is what the store knows of one.
type unit struct {
	named  time.Time // when a command last named it (or it was first seen)
	packed []byte    // its keys, packed; nil while unpacked
	// While packed: at is how far Expire had run the TTLs down
	// (hibernation.elapsed) when it was packed, and until the longest TTL
	// of its keys then (negative: some key lives for ever); the blob goes
	// once the run-down passes at + until.
	at, until time.Duration
}

// hibernation is the store's packed units, and when each unit was named.
type hibernation struct {
	mu      sync.Mutex
	units   map[unitKey]*unit
	npacked int           // how many units are packed
	known   atomic.Bool   // whether units is not empty, read without mu
	elapsed time.Duration // how far Expire has run the TTLs down
	w       *flate.Writer // packs, under mu
	buf     bytes.Buffer
	now     func() time.Time // the real time (a test's clock)
}

func (h *hibernation) clock() time.Time {
	if h.now != nil {
		return h.now()
	}
	return time.Now()
}

// unitOf answers the unit of a key (or a pattern): its text up to and
// including its hash tag, the first {…} with something between the braces.
func unitOf(s string) (string, bool) {
	i := strings.IndexByte(s, '{')
	if i < 0 {
		return "", false
	}
	j := strings.IndexByte(s[i+1:], '}')
	if j <= 0 {
		return "", false
	}
	return s[:i+1+j+1], true
}

// see is the pre-hook's part: it notes the units the command names and
// unpacks those packed, before miniredis runs it; an error is a blob that
// did not unpack, its keys lost. A command of a script is left alone: its
// script named its keys, and holds the store (hib.mu is never taken while
// the store is held: unpacking takes it the other way round).
func (s *Memory) see(c *server.Peer, cmd string, args []string) error {
	switch cmd {
	case "FLUSHALL", "FLUSHDB", "KEYS", "SCAN", "RANDOMKEY", "DBSIZE", "SWAPDB":
		return s.seeWhole(c, cmd, args)
	}
	h := &s.hib
	if !h.known.Load() || !slices.ContainsFunc(args, func(a string) bool { _, ok := unitOf(a); return ok }) {
		return nil
	}
	cn, ok := readConn(c)
	if !ok || cn.nested {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.clock()
	for _, a := range args {
		name, ok := unitOf(a)
		if !ok {
			continue
		}
		k := unitKey{cn.db, name}
		if u := h.units[k]; u != nil {
			u.named = now
			if u.packed != nil {
				if err := s.unpack(k, u); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// seeWhole handles the commands that read or drop a whole database.
func (s *Memory) seeWhole(c *server.Peer, cmd string, args []string) error {
	h := &s.hib
	cn, ok := readConn(c)
	if !ok || cn.nested {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	whole := func(db int) bool { return cmd == "FLUSHALL" || cmd == "SWAPDB" || db == cn.db }
	switch cmd {
	case "FLUSHALL", "FLUSHDB":
		for k, u := range h.units {
			if whole(k.db) {
				if u.packed != nil {
					h.npacked--
				}
				delete(h.units, k)
			}
		}
		h.known.Store(len(h.units) > 0)
		return nil
	case "KEYS", "SCAN":
		pattern := ""
		if cmd == "KEYS" && len(args) > 0 {
			pattern = args[0]
		}
		for i := 1; cmd == "SCAN" && i+1 < len(args); i++ {
			if strings.EqualFold(args[i], "match") {
				pattern = args[i+1]
			}
		}
		if name, ok := unitOf(pattern); ok && !strings.ContainsAny(name, `*?[\`) {
			k := unitKey{cn.db, name}
			if u := h.units[k]; u != nil {
				u.named = h.clock()
				if u.packed != nil {
					return s.unpack(k, u)
				}
			}
			return nil
		}
	}
	if h.npacked == 0 {
		return nil
	}
	for k, u := range h.units {
		if u.packed != nil && whole(k.db) {
			if err := s.unpack(k, u); err != nil {
				return err
			}
		}
	}
	return nil
}

// Hibernate packs every unit no command has named for idle, and answers
// how many it packed. It looks at all the store's keys once, holding the
// store, then packs each unit on its own.
func (s *Memory) Hibernate(idle time.Duration) int {
	h := &s.hib
	h.mu.Lock()
	now := h.clock()
	if h.units == nil {
		h.units = map[unitKey]*unit{}
	}
	due := map[unitKey]bool{}
	for k, u := range h.units {
		if u.packed == nil && now.Sub(u.named) >= idle {
			due[k] = true
		}
	}
	h.mu.Unlock()

	seen := map[unitKey]bool{}
	keys := map[unitKey][]string{}
	ok := s.eachKey(func(db int, key string) {
		name, ok := unitOf(key)
		if !ok {
			return
		}
		k := unitKey{db, name}
		seen[k] = true
		if due[k] {
			keys[k] = append(keys[k], key)
		}
	})
	if !ok {
		return 0
	}

	h.mu.Lock()
	for k := range seen {
		if h.units[k] == nil {
			h.units[k] = &unit{named: now}
		}
	}
	for k, u := range h.units {
		if u.packed == nil && !seen[k] {
			delete(h.units, k) // its keys are gone
		}
	}
	h.known.Store(len(h.units) > 0)
	h.mu.Unlock()

	packed := 0
	for k, names := range keys {
		h.mu.Lock()
		u := h.units[k]
		if u != nil && u.packed == nil && h.clock().Sub(u.named) >= idle {
			if s.packable(k.db, names) && s.pack(k, u, names) {
				packed++
			} else {
				u.named = h.clock() // not again before another idle period
			}
		}
		h.mu.Unlock()
	}
	if packed > 0 {
		s.compact()
	}
	return packed
}

// eachKey calls f with every key of every database, holding the store; it
// answers false when miniredis's databases do not read as this expects.
func (s *Memory) eachKey(f func(db int, key string)) bool {
	s.m.Lock()
	defer s.m.Unlock()
	dbs := reflect.ValueOf(s.m).Elem().FieldByName("dbs")
	if dbs.Kind() != reflect.Map {
		return false
	}
	for it := dbs.MapRange(); it.Next(); {
		db := it.Value()
		if it.Key().Kind() != reflect.Int || db.Kind() != reflect.Pointer || db.IsNil() || db.Elem().Kind() != reflect.Struct {
			return false
		}
		keys := db.Elem().FieldByName("keys")
		if keys.Type() != reflect.TypeFor[map[string]string]() {
			return false
		}
		m := *(*map[string]string)(unsafe.Pointer(keys.UnsafeAddr()))
		n := int(it.Key().Int())
		for key := range m {
			f(n, key)
		}
	}
	return true
}

// Kinds of packed keys.
const (
	packString byte = iota + 1
	packHash
	packList
	packSet
	packZSet
	packStream
)

// packable tells whether a blob can hold the keys names of database db as
// miniredis holds them, before any is read: not a stream with consumer
// groups, nor a hash with a field's own TTL, nor a type a blob does not
// know.
func (s *Memory) packable(dbn int, names []string) bool {
	db := s.m.DB(dbn)
	for _, key := range names {
		switch db.Type(key) {
		case "", "string", "list", "set", "zset":
		case "hash":
			if s.hashHasTTLs(dbn, key) {
				return false
			}
		case "stream":
			if s.streamHasGroups(dbn, key) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// pack packs the keys of unit k (names) into a blob and deletes them,
// under hib.mu; false, keeping them, when one of them cannot be packed.
// Nothing else names the unit meanwhile: a command that does waits for
// hib.mu in the pre-hook, and unpacks it.
func (s *Memory) pack(k unitKey, u *unit, names []string) bool {
	db := s.m.DB(k.db)
	var b []byte
	until := time.Duration(0)
	n := 0
	for _, key := range names {
		t := db.Type(key)
		if t == "" {
			continue // expired meanwhile
		}
		ttl := db.TTL(key)
		if ttl <= 0 {
			until = -1
		} else if until >= 0 && ttl > until {
			until = ttl
		}
		b = appendPacked(b, key)
		b = binary.AppendVarint(b, int64(ttl))
		var ok bool
		if b, ok = appendValue(b, db, key, t); !ok {
			return false
		}
		n++
	}
	if n == 0 {
		return false
	}
	h := &s.hib
	h.buf.Reset()
	if h.w == nil {
		h.w, _ = flate.NewWriter(&h.buf, flate.BestSpeed)
	} else {
		h.w.Reset(&h.buf)
	}
	if _, err := h.w.Write(b); err != nil || h.w.Close() != nil {
		return false
	}
	for _, key := range names {
		db.Del(key)
	}
	u.packed = bytes.Clone(h.buf.Bytes())
	u.at, u.until = h.elapsed, until
	h.npacked++
	return true
}

// appendValue appends the value of key, of type t, in database db.
func appendValue(b []byte, db *miniredis.RedisDB, key, t string) ([]byte, bool) {
	switch t {
	case "string":
		v, err := db.Get(key)
		if err != nil {
			return nil, false
		}
		return appendPacked(append(b, packString), v), true
	case "hash":
		fields, err := db.HKeys(key)
		if err != nil {
			return nil, false
		}
		b = binary.AppendUvarint(append(b, packHash), uint64(len(fields)))
		for _, f := range fields {
			b = appendPacked(appendPacked(b, f), db.HGet(key, f))
		}
		return b, true
	case "list":
		l, err := db.List(key)
		if err != nil {
			return nil, false
		}
		return appendPackedList(append(b, packList), l), true
	case "set":
		m, err := db.Members(key)
		if err != nil {
			return nil, false
		}
		return appendPackedList(append(b, packSet), m), true
	case "zset":
		z, err := db.SortedSet(key)
		if err != nil {
			return nil, false
		}
		b = binary.AppendUvarint(append(b, packZSet), uint64(len(z)))
		for m, score := range z {
			b = binary.LittleEndian.AppendUint64(appendPacked(b, m), math.Float64bits(score))
		}
		return b, true
	case "stream":
		entries, err := db.Stream(key)
		if err != nil || len(entries) == 0 {
			return nil, false // an empty stream's last ID is more than its entries tell
		}
		b = binary.AppendUvarint(append(b, packStream), uint64(len(entries)))
		for _, e := range entries {
			b = appendPackedList(appendPacked(b, e.ID), e.Values)
		}
		return b, true
	}
	return nil, false
}

// unpack writes unit k's keys back, under hib.mu, as they were packed, but
// for those whose TTL ran out meanwhile. A blob this store wrote reads
// back; one that does not is a mistake of this code: its unit is dropped,
// and the error says so.
func (s *Memory) unpack(k unitKey, u *unit) error {
	h := &s.hib
	err := s.restore(k.db, u.packed, h.elapsed-u.at)
	u.packed = nil
	h.npacked--
	if err != nil {
		return fmt.Errorf("the embedded store lost the keys of %s: unpacking them: %w", k.name, err)
	}
	return nil
}

func (s *Memory) restore(dbn int, packed []byte, passed time.Duration) error {
	r := flate.NewReader(bytes.NewReader(packed))
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	db := s.m.DB(dbn)
	d := packReader{b: b}
	for !d.done() {
		key := d.str()
		ttl := time.Duration(d.varint())
		kind := d.byte()
		gone := ttl > 0 && ttl-passed <= 0
		write := func(f func()) {
			if !gone && d.err == nil {
				f()
			}
		}
		switch kind {
		case packString:
			v := d.str()
			write(func() { db.Set(key, v) })
		case packHash:
			fv := d.strs(2)
			write(func() { db.HSet(key, fv...) })
		case packList:
			l := d.strs(1)
			write(func() { db.Push(key, l...) })
		case packSet:
			m := d.strs(1)
			write(func() { db.SetAdd(key, m...) })
		case packZSet:
			for n := d.uvarint(); n > 0 && d.err == nil; n-- {
				m, score := d.str(), math.Float64frombits(d.uint64())
				write(func() { db.ZAdd(key, score, m) })
			}
		case packStream:
			for n := d.uvarint(); n > 0 && d.err == nil; n-- {
				id, values := d.str(), d.strs(1)
				write(func() {
					if _, err := db.XAdd(key, id, values); err != nil {
						d.err = err
					}
				})
			}
		default:
			d.err = errors.New("unknown kind " + strconv.Itoa(int(kind)))
		}
		if ttl > 0 {
			write(func() { db.SetTTL(key, ttl-passed) })
		}
	}
	return d.err
}

// expirePacked runs the packed units' TTLs down by d and drops the blobs
// whose keys have all expired.
func (s *Memory) expirePacked(d time.Duration) {
	h := &s.hib
	h.mu.Lock()
	defer h.mu.Unlock()
	h.elapsed += d
	for k, u := range h.units {
		if u.packed != nil && u.until >= 0 && h.elapsed-u.at >= u.until {
			delete(h.units, k)
			h.npacked--
		}
	}
	h.known.Store(len(h.units) > 0)
}

// Packed answers how many units are packed, and the bytes their blobs
// hold.
func (s *Memory) Packed() (units, bytes int) {
	h := &s.hib
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range h.units {
		if u.packed != nil {
			units++
			bytes += len(u.packed)
		}
	}
	return units, bytes
}

// streamHasGroups tells whether the stream key of database db has
// consumer groups, which a blob does not hold; true when miniredis's
// streams do not read as this expects.
func (s *Memory) streamHasGroups(db int, key string) bool {
	s.m.Lock()
	defer s.m.Unlock()
	st, ok := s.dbField(db, "streamKeys")
	if !ok || st.Kind() != reflect.Map {
		return true
	}
	v := st.MapIndex(reflect.ValueOf(key))
	if !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() {
		return true
	}
	g := v.Elem().FieldByName("groups")
	return g.Kind() != reflect.Map || g.Len() > 0
}

// hashHasTTLs tells whether a field of the hash key of database db has a
// TTL of its own; true when miniredis's hashes do not read as this
// expects.
func (s *Memory) hashHasTTLs(db int, key string) bool {
	s.m.Lock()
	defer s.m.Unlock()
	t, ok := s.dbField(db, "hashTTLs")
	if !ok || t.Kind() != reflect.Map {
		return true
	}
	v := t.MapIndex(reflect.ValueOf(key))
	return v.IsValid() && v.Len() > 0
}

// dbField answers the field name of miniredis's database db, under its
// lock.
func (s *Memory) dbField(db int, name string) (reflect.Value, bool) {
	dbs := reflect.ValueOf(s.m).Elem().FieldByName("dbs")
	if dbs.Kind() != reflect.Map {
		return reflect.Value{}, false
	}
	v := dbs.MapIndex(reflect.ValueOf(db))
	if !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	f := v.Elem().FieldByName(name)
	return f, f.IsValid()
}

func appendPacked(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendPackedList(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendPacked(b, s)
	}
	return b
}

// packReader reads what pack wrote; the first thing it cannot read is its
// err, and everything after reads as zero.
type packReader struct {
	b   []byte
	err error
}

func (d *packReader) done() bool { return d.err != nil || len(d.b) == 0 }

func (d *packReader) fail() {
	if d.err == nil {
		d.err = errors.New("a blob cut short")
	}
	d.b = nil
}

func (d *packReader) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *packReader) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *packReader) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *packReader) uint64() uint64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *packReader) str() string {
	n := d.uvarint()
	if uint64(len(d.b)) < n {
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// strs reads a count, then that many strings times per.
func (d *packReader) strs(per int) []string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	out := make([]string, 0, int(n)*per)
	for i := 0; i < int(n)*per && d.err == nil; i++ {
		out = append(out, d.str())
	}
	return out
}
