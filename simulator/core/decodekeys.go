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
	w.value(reflect.TypeOf(v), "")
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
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// value reads one value of type t (nil: any) at path.
func (w *keyWalker) value(t reflect.Type, path string) {
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
	if tok == nil && w.nulls && t != nil && path != "" {
		w.err = Invalid("%s: null; give a value, or leave the field out", path)
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
			at := keyPath(path, key)
			if fields != nil {
				f, ok := fields[key]
				if !ok && w.number == nil {
					if name, folds := foldedField(fields, key); folds {
						w.err = Invalid("%s: unknown field; the field is %s", at, name)
					} else {
						w.err = Invalid("%s: unknown field", at)
					}
					return
				}
				elem = f.typ // nil for an unknown key: any
			}
			w.value(elem, at)
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
			w.value(elem, path+"["+strconv.Itoa(i)+"]")
		}
		if w.err == nil {
			_, w.err = w.dec.Token() // ]
		}
	}
}

// keyPath is the path of key in the object at path.
func keyPath(path, key string) string {
	if !plainName.MatchString(key) {
		key = strconv.Quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
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
