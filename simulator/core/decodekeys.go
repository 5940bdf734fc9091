package core

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// checkKeys finds the first key of the JSON document b that names no field
// of v's type exactly where a struct of it decodes an object: a field but
// for its case ("To" where the field is "to"), which encoding/json would
// take, or none at all. It answers an *Error naming the key by its path
// ("entity_leader.Phone: unknown field; the field is phone"), or nil. The
// keys of maps are free, and a type that decodes itself (json.Unmarshaler,
// encoding.TextUnmarshaler) is left to its own rules.
func checkKeys(b []byte, v any) error {
	return walkKeys(b, v, false)
}

// checkNulls refuses, naming its path, a JSON null in b where v has a
// field of a type of its own ("website_admin.phone: null; …"): Go reads it
// as the field left out, where the API's document wants a value. A field
// of any type, or of a type that decodes itself, takes what it is given.
func checkNulls(b []byte, v any) error {
	return walkKeys(b, v, true)
}

func walkKeys(b []byte, v any, nulls bool) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	w := keyWalker{dec: dec, nulls: nulls}
	w.value(reflect.TypeOf(v))
	return w.err
}

type keyWalker struct {
	dec   *json.Decoder
	nulls bool // refuse a null where a type is known (checkNulls)
	// number, when set, is told of each number and the type it is read
	// into (nil: any), and a key that names no field is walked as an any
	// rather than refused (wholeIntegers)
	number func(t reflect.Type, n json.Number)
	err    error
	// path holds the keys ("to", `"a b"`) and indexes ("[0]") down to the
	// value being read, made into one text only for an error (at): a
	// deeply nested document costs no text for each of its levels
	path []string
}

// at answers the path of the value being read: website_admin.phone,
// steps[0].count.
func (w *keyWalker) at() string {
	var b strings.Builder
	for i, seg := range w.path {
		if i > 0 && !strings.HasPrefix(seg, "[") {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	return b.String()
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// value reads one value of type t (nil: any) at w.path.
func (w *keyWalker) value(t reflect.Type) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler)) {
		t = nil
	}
	tok, err := w.dec.Token()
	if err != nil {
		w.err = err
		return
	}
	if tok == nil && w.nulls && t != nil && len(w.path) > 0 {
		w.err = Invalid("%s: null; give a value, or leave the field out", w.at())
		return
	}
	if n, ok := tok.(json.Number); ok && w.number != nil {
		w.number(t, n)
	}
	switch tok {
	case json.Delim('{'):
		var fields map[string]fieldInfo
		var elem reflect.Type
		switch {
		case t != nil && t.Kind() == reflect.Struct:
			fields = fieldsOf(t)
		case t != nil && t.Kind() == reflect.Map:
			elem = t.Elem()
		}
		for w.err == nil && w.dec.More() {
			tok, err := w.dec.Token()
			if err != nil {
				w.err = err
				return
			}
			key, _ := tok.(string)
			w.path = append(w.path, keySegment(key))
			if fields != nil {
				f, ok := fields[key]
				if !ok && w.number == nil {
					if name, folds := foldedField(fields, key); folds {
						w.err = Invalid("%s: unknown field; the field is %s", w.at(), name)
					} else {
						w.err = Invalid("%s: unknown field", w.at())
					}
					return
				}
				elem = f.typ // nil for an unknown key: any
			}
			w.value(elem)
			w.path = w.path[:len(w.path)-1]
		}
		if w.err == nil {
			_, w.err = w.dec.Token() // }
		}
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; w.err == nil && w.dec.More(); i++ {
			w.path = append(w.path, "["+strconv.Itoa(i)+"]")
			w.value(elem)
			w.path = w.path[:len(w.path)-1]
		}
		if w.err == nil {
			_, w.err = w.dec.Token() // ]
		}
	}
}

// keySegment is key as a path names it: quoted unless it is a plain name.
func keySegment(key string) string {
	if !plainName.MatchString(key) {
		return strconv.Quote(key)
	}
	return key
}

// foldedField answers the field that key names but for case.
func foldedField(fields map[string]fieldInfo, key string) (string, bool) {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return name, true
		}
	}
	return "", false
}

type fieldInfo struct{ typ reflect.Type }

var structFields sync.Map // reflect.Type → map[string]fieldInfo

// fieldsOf answers the JSON names of the fields of struct t, as
// encoding/json decodes them: tags, Go names without one, the fields of
// embedded structs promoted; "-" left out.
func fieldsOf(t reflect.Type) map[string]fieldInfo {
	if f, ok := structFields.Load(t); ok {
		return f.(map[string]fieldInfo)
	}
	fields := map[string]fieldInfo{}
	var add func(t reflect.Type)
	add = func(t reflect.Type) {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			ft := sf.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if sf.Anonymous && name == "" && ft.Kind() == reflect.Struct {
				add(ft)
				continue
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			if _, ok := fields[name]; !ok {
				fields[name] = fieldInfo{typ: sf.Type}
			}
		}
	}
	add(t)
	structFields.Store(t, fields)
	return fields
}

// mayHaveCasedKey tells whether a key of the JSON document b may hold a
// capital letter (or an escape that could spell one): only then can a key
// name a field but for its case.
func mayHaveCasedKey(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '"' {
			continue
		}
		j := i + 1
		cased := false
		for ; j < len(b) && b[j] != '"'; j++ {
			switch c := b[j]; {
			case c == '\\':
				cased = true // an escape: \u0041 or the like
				j++
			case 'A' <= c && c <= 'Z':
				cased = true
			}
		}
		if cased {
			k := j + 1
			for k < len(b) && (b[k] == ' ' || b[k] == '\t' || b[k] == '\r' || b[k] == '\n') {
				k++
			}
			if k < len(b) && b[k] == ':' {
				return true
			}
		}
		i = j
	}
	return false
}
