package redisstore

import (
	"maps"
	"reflect"
	"slices"
	"time"
	"unsafe"

	"github.com/alicebob/miniredis/v2"
)

// Expire runs the store's TTLs down by d, as real time passes (miniredis
// leaves them as they are unless told; expireTTLs), then forgets what
// miniredis remembers of keys that are gone.
//
// For WATCH, miniredis keeps a version of every key it ever wrote, in a map
// it never takes a key out of. On a store whose keys come and go — a
// message, an order, a code each — that map grows without end: four keys
// a flow, 64 bytes each (the key's name with it), 90 MB an hour at 100
// flows a second, long after the keys themselves expired. Expire takes out the versions of the
// keys that no longer exist, once they are as many as the keys that do.
//
// A version forgotten is 0 again: a WATCH of a key that does not exist,
// followed by the key written and the version forgotten before the EXEC,
// would miss that write. smsim does not WATCH.
func (s *Memory) Expire(d time.Duration) {
	if !s.expireTTLs(d) {
		s.m.FastForward(d)
	}
	s.expirePacked(d)
	s.compact()
}

// expireTTLs is miniredis's FastForward without what makes it slow: to run
// the TTLs down, miniredis sorts every key of every database and looks at
// each, under its lock, where only the keys with a TTL need a look. With
// 400,000 keys that held every command back 180 ms every 10 s, and a
// day's retention holds millions. expireTTLs runs each TTL down by d and
// deletes the keys whose TTL ran out with miniredis's DEL, run under the
// same lock as a script's command is: what is left is what FastForward
// leaves (TestExpireAsMiniredis). False, and nothing done, when
// miniredis's data does not read as reads.go expects, a database has no
// nested context, or a hash has fields with a TTL of their own (HEXPIRE,
// which smsim does not use): FastForward does it then.
func (s *Memory) expireTTLs(d time.Duration) bool {
	if !layoutOK {
		return false
	}
	s.m.Lock()
	dbs := mapAt[map[int]*miniredis.RedisDB](unsafe.Pointer(s.m), layout.dbs)
	numbers := slices.Collect(maps.Keys(dbs))
	s.m.Unlock()
	ctxs := map[int]any{}
	for _, n := range numbers {
		ctx, ok := s.scripts.nestedContext(n) // takes the lock itself, the first time
		if !ok {
			return false
		}
		ctxs[n] = ctx
	}
	s.m.Lock()
	defer s.m.Unlock()
	for n, db := range dbs {
		if _, ok := ctxs[n]; !ok || len(mapAt[ttlMaps](unsafe.Pointer(db), layout.fieldTTLs)) > 0 {
			return false
		}
	}
	for n, db := range dbs {
		ttls := mapAt[map[string]time.Duration](unsafe.Pointer(db), layout.ttls)
		var gone []string
		for k, ttl := range ttls {
			ttl -= d
			ttls[k] = ttl
			if ttl <= 0 {
				gone = append(gone, k)
			}
		}
		if len(gone) > 0 {
			s.scripts.deleteKeys(ctxs[n], gone)
		}
	}
	return true
}

// compact forgets the versions of keys gone (forgetVersions), and makes
// miniredis's maps of a database anew once it holds a quarter of the keys
// it held at most since they were last made: a Go map keeps the room of
// the most it held, and 10,000 namespaces packed (Hibernate) or expired
// left 45 MB of empty maps behind.
func (s *Memory) compact() {
	s.m.Lock()
	defer s.m.Unlock()
	dbs := reflect.ValueOf(s.m).Elem().FieldByName("dbs")
	forgetVersions(dbs, 1024)
	if dbs.Kind() != reflect.Map {
		return
	}
	if s.peak == nil {
		s.peak = map[int]int{}
	}
	for it := dbs.MapRange(); it.Next(); {
		db, n := it.Value(), int(it.Key().Int())
		if db.Kind() != reflect.Pointer || db.IsNil() || db.Elem().Kind() != reflect.Struct {
			continue
		}
		keys := db.Elem().FieldByName("keys")
		if keys.Kind() != reflect.Map {
			continue
		}
		s.peak[n] = max(s.peak[n], keys.Len())
		if keys.Len()*4 < s.peak[n] && s.peak[n] >= 1024 {
			remakeMaps(db.Elem())
			s.peak[n] = keys.Len()
		}
	}
}

// remakeMaps makes every map field of the struct db anew, with what it
// holds, at its size.
func remakeMaps(db reflect.Value) {
	for i := range db.NumField() {
		f := db.Field(i)
		if f.Kind() != reflect.Map || f.IsNil() {
			continue
		}
		f = reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem() // writable
		m := reflect.MakeMapWithSize(f.Type(), f.Len())
		for it := f.MapRange(); it.Next(); {
			m.SetMapIndex(it.Key(), it.Value())
		}
		f.Set(m)
	}
}

// forgetVersions takes out of each database of dbs (miniredis's
// map[int]*RedisDB) the versions of the keys it no longer holds, once they
// outnumber its keys by slack; it answers how many it took out. A miniredis
// whose databases read otherwise is left as it is.
func forgetVersions(dbs reflect.Value, slack int) int {
	if dbs.Kind() != reflect.Map {
		return 0
	}
	forgot := 0
	for it := dbs.MapRange(); it.Next(); {
		db := it.Value()
		if db.Kind() != reflect.Pointer || db.IsNil() || db.Elem().Kind() != reflect.Struct {
			continue
		}
		keys, versions := db.Elem().FieldByName("keys"), db.Elem().FieldByName("keyVersion")
		if keys.Kind() != reflect.Map || versions.Kind() != reflect.Map || keys.Type().Key() != versions.Type().Key() {
			continue
		}
		if versions.Len() < 2*keys.Len()+slack {
			continue
		}
		w := reflect.NewAt(versions.Type(), unsafe.Pointer(versions.UnsafeAddr())).Elem()
		for v := w.MapRange(); v.Next(); {
			if !keys.MapIndex(v.Key()).IsValid() {
				w.SetMapIndex(v.Key(), reflect.Value{})
				forgot++
			}
		}
	}
	return forgot
}
