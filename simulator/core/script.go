package core

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

//go:embed prelude.lua
var preludeLua string

// Prelude is the Lua every script of the store starts with: the registry's
// constants — KIND, the kinds of events by their Lua names (LuaKindName),
// and EVENT_LOG_LEN — then prelude.lua, which reads the script's arguments
// into args and holds what scripts share: jobs, their stored form and
// their scheduling, and the event log. NewScript puts it before a script.
var Prelude = LuaTable("KIND", luaKinds()) +
	"local EVENT_LOG_LEN = " + strconv.Itoa(DefaultEventLogLen) + "\n" +
	preludeLua

// Script is a Lua script of the store (a .lua file beside the Go that runs
// it) with the Prelude before it. It takes its keys in KEYS and its
// arguments, a value of type A, as one JSON object in ARGV[1], which the
// prelude decodes into the table args: a script reads them by name.
type Script[A any] struct {
	s *redis.Script
}

// NewScript returns the script of the Prelude followed by src, in order
// (a library of the package, then the script). Scripts are package-level
// values.
func NewScript[A any](src ...string) *Script[A] {
	return &Script[A]{s: redis.NewScript(Prelude + strings.Join(src, ""))}
}

// Run runs the script with keys and args, by EVALSHA, falling back to EVAL
// when Redis does not hold the script yet.
func (s *Script[A]) Run(ctx context.Context, c redis.Scripter, keys []string, args A) *redis.Cmd {
	return s.RunWith(ctx, c, keys, args, nil)
}

// RunWith is Run with more arguments after args, each a string of its own
// in ARGV[2], ARGV[3], …: what a script passes on to Redis as it is, such
// as entries to push, travels and reaches it without being encoded into
// args and decoded by the prelude.
func (s *Script[A]) RunWith(ctx context.Context, c redis.Scripter, keys []string, args A, more []string) *redis.Cmd {
	b, err := json.Marshal(args)
	if err != nil {
		cmd := redis.NewCmd(ctx)
		cmd.SetErr(fmt.Errorf("script arguments: %w", err))
		return cmd
	}
	argv := make([]any, 0, 1+len(more))
	argv = append(argv, string(b))
	for _, m := range more {
		argv = append(argv, m)
	}
	return s.s.Run(ctx, c, keys, argv...)
}

var (
	luaName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	luaWord = regexp.MustCompile(`^[A-Za-z0-9._:-]*$`)
)

// LuaTable writes the Lua source of a local table of string constants,
// local name = {field = 'value', …}, for the head of a script: reading a
// field it lacks is an error, not nil, so that a misspelt constant fails
// the script instead of writing nothing. Names are Lua names and values
// plain words (letters, digits and . _ : -); anything else is a mistake of
// the program, and panics.
func LuaTable(name string, fields map[string]string) string {
	if !luaName.MatchString(name) {
		panic(fmt.Sprintf("core: Lua table name %q", name))
	}
	keys := make([]string, 0, len(fields))
	for k, v := range fields {
		if !luaName.MatchString(k) || !luaWord.MatchString(v) {
			panic(fmt.Sprintf("core: Lua table %s: entry %q = %q", name, k, v))
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString("local " + name + " = setmetatable({")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + " = '" + fields[k] + "'")
	}
	b.WriteString("}, {__index = function(_, k) error('" + name + ".' .. tostring(k) .. ': no such entry', 2) end})\n")
	return b.String()
}

// KeyList collects the KEYS of a script whose keys vary with its
// arguments: each key once, in the order added. The arguments name a key
// by its position (Add's answer), which the script reads as KEYS[n].
type KeyList struct {
	keys []string
	at   map[string]int
}

// NewKeyList starts a list with the script's fixed keys, at positions 1,
// 2, ….
func NewKeyList(fixed ...string) *KeyList {
	k := &KeyList{at: map[string]int{}}
	for _, key := range fixed {
		k.Add(key)
	}
	return k
}

// Add adds key, unless the list holds it, and answers its position (from
// 1).
func (k *KeyList) Add(key string) int {
	if n, ok := k.at[key]; ok {
		return n
	}
	k.keys = append(k.keys, key)
	k.at[key] = len(k.keys)
	return len(k.keys)
}

// Keys answers the list.
func (k *KeyList) Keys() []string { return k.keys }
