package core

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/redis/go-redis/v9"
)

// luaCode is the text of a script (or of its run form) as Redis runs it.
// On a Redis that has functions (7.0 on), a script goes as a library of
// them (FUNCTION LOAD, then FCALL), in its library form (libraryForm): its
// top-level functions are made once, as Redis loads the library, where
// Lua made each anew at every EVALSHA (about 1,500 instructions a
// function: a fifth of a validation's, a tenth of a delivery's). On a
// store without them (the embedded store, an older Redis), for a script
// whose library form Redis refused, and for a run form, it goes by
// EVALSHA, falling back to EVAL as go-redis's Script does. A run form
// makes its functions once for the jobs of its call, up to a run's 32:
// as a library it cost Redis 2% more instructions an event of an advance
// (cmd/smsim-bench/README.md), where its functions' Lua holds every
// library it loaded.
type luaCode struct {
	*redis.Script
	text    string      // the script's
	lib     string      // the library form; "" where it has none
	name    string      // the library's name and its one function's: "smsim_" and the text's SHA-1
	refused atomic.Bool // Redis refused the library form: EVALSHA it is
}

// newLuaCode answers the code of a script made of parts (the prelude, a
// library, the script): their text without the functions that nothing
// calls (pruneFunctions), the uses of LuaTables written as their values
// (inlineConstants); with its library form when library is true. A script
// that has no library form (libraryForm's error) is run by EVALSHA
// everywhere.
func newLuaCode(parts []string, library bool) *luaCode {
	text := inlineConstants(pruneFunctions(parts))
	sum := sha1.Sum([]byte(text))
	l := &luaCode{Script: redis.NewScript(text), text: text, name: "smsim_" + hex.EncodeToString(sum[:])}
	if !library {
		return l
	}
	ended := make([]string, 0, 2*len(parts))
	for _, p := range parts {
		if !strings.HasSuffix(p, "\n") {
			p += "\n"
		}
		ended = append(ended, p, partEnd)
	}
	if lib, err := libraryForm(inlineConstants(pruneFunctions(ended)), l.name); err == nil {
		l.lib = lib
	}
	allCode.Store(l.name, l)
	return l
}

// allCode holds the code of every script made (newLuaCode) but run forms,
// by its library's name.
var allCode sync.Map // string → *luaCode

// fcaller is a client, pipeline or autopipeliner that sends FCALL.
type fcaller interface {
	FCall(ctx context.Context, function string, keys []string, args ...any) *redis.Cmd
}

// asFunction tells whether l goes to c's store as a function.
func (l *luaCode) asFunction(ctx context.Context, c redis.Scripter) bool {
	return l.lib != "" && !l.refused.Load() && functionsOf(ctx, c)
}

// run runs the code with keys and args on c's store, sent through via (c
// itself, or its autopipeliner): as a function where c's store has them,
// loading its library first when the store does not hold it yet.
func (l *luaCode) run(ctx context.Context, c, via redis.Scripter, keys []string, args ...any) *redis.Cmd {
	if fc, ok := via.(fcaller); ok && l.asFunction(ctx, c) {
		cmd := fc.FCall(ctx, l.name, keys, args...)
		switch err := cmd.Err(); {
		case redis.HasErrorPrefix(err, "NOPERM"):
			l.refused.Store(true) // a user whose ACL denies FCALL or FUNCTION: EVALSHA it is
		case !NotLoaded(err):
			return cmd
		default:
			if err := l.loadLibrary(ctx, c); err == nil {
				return fc.FCall(ctx, l.name, keys, args...)
			}
		}
	}
	return l.Script.Run(ctx, via, keys, args...)
}

// load has c's store hold the code: its library where the store has
// functions, the script otherwise.
func (l *luaCode) load(ctx context.Context, c redis.Scripter) error {
	if l.asFunction(ctx, c) {
		if err := l.loadLibrary(ctx, c); err == nil || !l.refused.Load() {
			return err
		}
		// refused: EVALSHA it is
	}
	return l.Script.Load(ctx, c).Err()
}

// loadLibrary loads the code's library into c's store, on every master of
// a cluster. One Redis refuses to compile, or that the user's ACL does not
// allow to load, is refused for good (refused), the script called by
// EVALSHA instead: TestEveryScriptLoadsAsALibrary holds that Redis
// compiles every one.
func (l *luaCode) loadLibrary(ctx context.Context, c redis.Scripter) error {
	load := func(ctx context.Context, c redis.Cmdable) error {
		// REPLACE: a library of the name is this one (its name is its
		// text's SHA-1), which another call may have loaded meanwhile
		err := c.FunctionLoadReplace(ctx, l.lib).Err()
		if redis.HasErrorPrefix(err, "Error compiling") || redis.HasErrorPrefix(err, "NOPERM") {
			l.refused.Store(true)
		}
		return err
	}
	if err := onEveryNode(ctx, c, load); err != nil {
		return fmt.Errorf("load the library %s: %w", l.name, err)
	}
	// noted for PruneLibraries; a note that fails leaves the library to be
	// pruned sooner, and loaded again when called
	c.(redis.Cmdable).ZAdd(ctx, LibrariesKey, redis.Z{Score: float64(time.Now().UnixMilli()), Member: l.name})
	return nil
}

// onEveryNode calls f with c, or with each master of a cluster (at once):
// a store's libraries of functions are each server's own.
func onEveryNode(ctx context.Context, c redis.Scripter, f func(context.Context, redis.Cmdable) error) error {
	switch c := c.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return f(ctx, node) })
	case redis.Cmdable:
		return f(ctx, c)
	}
	return fmt.Errorf("a client of type %T, not of a store", c)
}

// LibrariesKey is the key of the sorted set of the libraries of smsim's
// scripts loaded into the store, each scored by when it was last loaded
// (the real time, ms): a store's libraries are the server's, not a key
// prefix's, and so is this key.
var LibrariesKey = keyLibraries.Name

// LibrariesKept is how long PruneLibraries keeps a library of another
// build after it was last loaded.
const LibrariesKept = 24 * time.Hour

// NotLoaded tells whether err is a store's answer that it does not hold a
// script or a library called (NOSCRIPT, or FCALL's "Function not found"):
// it lost them since (a restart, a flush), and they are loaded again.
func NotLoaded(err error) bool {
	return redis.HasErrorPrefix(err, "NOSCRIPT") || redis.HasErrorPrefix(err, "Function not found")
}

// functions is what the process knows of whether a client's store has
// Redis's functions: one probe (FUNCTION LIST of no library) a client,
// made at its first script call.
type functions struct {
	once      sync.Mutex
	tried, on atomic.Bool
}

// functionClients holds each client's functions, by a weak pointer to it
// (a *redis.Client's or a *redis.ClusterClient's).
var functionClients sync.Map // weak.Pointer → *functions

// functionsOf tells whether c's store has Redis's functions, asking it
// the first time (and again after a probe that found no answer: the store
// was down). A client of another type (a pipeline, a transaction) has
// none, nor an embedded store or a Redis older than 7.0, which answer
// FUNCTION as an unknown command.
func functionsOf(ctx context.Context, c redis.Scripter) bool {
	var key any
	var do func(ctx context.Context, args ...any) *redis.Cmd
	switch c := c.(type) {
	case *redis.Client:
		key, do = weak.Make(c), c.Do
	case *redis.ClusterClient:
		key, do = weak.Make(c), c.Do
	default:
		return false
	}
	v, ok := functionClients.Load(key)
	if !ok {
		v, _ = functionClients.LoadOrStore(key, new(functions))
	}
	f := v.(*functions)
	if f.tried.Load() {
		return f.on.Load()
	}
	f.once.Lock()
	defer f.once.Unlock()
	if !f.tried.Load() {
		err := do(ctx, "FUNCTION", "LIST", "LIBRARYNAME", "smsim_probe").Err()
		switch {
		case err == nil:
			f.on.Store(true)
			f.tried.Store(true)
		case isReply(err):
			f.tried.Store(true) // unknown command, or not allowed
		}
	}
	return f.on.Load()
}

// libraryForm answers text, a script's, as a library of Redis's functions
// named name, whose one function, of the same name, runs it: its
// top-level functions are made as Redis loads the library, its top-level
// statements run at each call, in order, as the script's did.
//
// text is the script's parts (the prelude, libraries, the script), each
// ended by a line partEnd. The top-level locals of a part but the last are
// declared in the library, at the place of their declaration, and its
// statements are a function of the library (setup_1, …), which the
// library's function calls first, in order; of the last part, those that
// a function uses are declared in the library, and the others are locals
// of the library's function, which runs its statements. A declaration of
// the library's is written, in the statements, as an assignment. So each
// name means what it meant in the script, the state a script keeps in its
// locals starts afresh at each call, and no function of the library has
// more than Redis's Lua allows (60 upvalues). KEYS and ARGV are the
// function's keys and arguments, declared first; the prelude's
// "local KEYS = KEYS" goes. A script that declares a local of the library
// twice has no library form: its statements would set the second only.
//
// A top-level function is one that starts a line with "local function"
// and ends at a line that is "end" alone (luaPartOf); a top-level local, a
// line that starts with "local ".
func libraryForm(text, name string) (string, error) {
	p := luaPartOf(text)
	inFunction := make([]bool, len(p.lines))
	used := map[string]bool{} // the words of the functions
	for _, f := range p.fns {
		for i := f.from; i <= f.to; i++ {
			inFunction[i] = true
		}
		for _, w := range f.words {
			used[w] = true
		}
	}
	parts := 0
	for _, line := range p.lines {
		if line == partEnd {
			parts++
		}
	}
	var lib, stmts strings.Builder // the library; the statements of the part being read
	lib.WriteString("#!lua name=" + name + "\nlocal KEYS, ARGV\n")
	var setups []string
	declared := map[string]bool{}
	part := 1
	for i, line := range p.lines {
		if inFunction[i] {
			lib.WriteString(line)
			continue
		}
		if line == partEnd {
			if part < parts && stmts.Len() > 0 {
				setup := "setup_" + strconv.Itoa(len(setups)+1)
				lib.WriteString("local function " + setup + "()\n" + stmts.String() + "end\n")
				setups = append(setups, setup)
				stmts.Reset()
			}
			part++
			continue
		}
		rest, ok := strings.CutPrefix(line, "local ")
		if !ok {
			if part < parts && slices.Contains(wordsOf(line), "return") {
				return "", fmt.Errorf("line %d: a return outside the script's own part", i+1)
			}
			stmts.WriteString(line)
			continue
		}
		trimmed := strings.TrimRight(line, "\r\n")
		if trimmed == "local KEYS = KEYS" || trimmed == "local ARGV = ARGV" {
			continue
		}
		names, value, hasValue := strings.Cut(rest, "=")
		if !hasValue {
			names, _, _ = strings.Cut(names, "--")
		}
		var list []string
		hoist := part < parts
		for n := range strings.SplitSeq(names, ",") {
			n = strings.TrimSpace(n)
			if !luaName.MatchString(n) {
				return "", fmt.Errorf("line %d: a local of no name: %q", i+1, trimmed)
			}
			if n == "KEYS" || n == "ARGV" {
				return "", fmt.Errorf("line %d: a local named %s", i+1, n)
			}
			list = append(list, n)
			hoist = hoist || used[n]
		}
		if !hoist {
			stmts.WriteString(line)
			continue
		}
		for _, n := range list {
			if declared[n] {
				return "", fmt.Errorf("line %d: the local %s declared again", i+1, n)
			}
			declared[n] = true
		}
		lib.WriteString("local " + strings.Join(list, ", ") + "\n")
		if hasValue {
			stmts.WriteString(names + "=" + value)
		} else {
			stmts.WriteString(strings.Join(list, ", ") + " = nil\n")
		}
	}
	lib.WriteString("redis.register_function('" + name + "', function(call_keys, call_argv)\nKEYS, ARGV = call_keys, call_argv\n")
	for _, s := range setups {
		lib.WriteString(s + "()\n")
	}
	lib.WriteString(stmts.String() + "end)\n")
	return lib.String(), nil
}

// partEnd is the line that ends each part of a script's text given to
// libraryForm.
const partEnd = "--@end of a part\n"

// libraryNames answers the libraries of every script the program made so
// far, by name.
func libraryNames() map[string]*luaCode {
	names := map[string]*luaCode{}
	allCode.Range(func(k, v any) bool {
		names[k.(string)] = v.(*luaCode)
		return true
	})
	return names
}

// PruneLibraries deletes from c's store the libraries of smsim's scripts
// that are not this program's, loaded last more than LibrariesKept ago
// (LibrariesKey; one it has no note of, at once): another build's, which
// Redis would keep for good (it keeps libraries in its snapshots and its
// replicas, where its scripts' cache starts empty at each start), about 2
// MB of its memory a build. A process of that build that shares the store
// loads its own again as it calls them. It answers how many it deleted; on
// a store without functions, none. The server calls it as it starts.
func PruneLibraries(ctx context.Context, c redis.UniversalClient) (int, error) {
	if !functionsOf(ctx, c) {
		return 0, nil
	}
	ours := libraryNames()
	since := float64(time.Now().Add(-LibrariesKept).UnixMilli())
	var mu sync.Mutex
	deleted := 0
	prune := func(ctx context.Context, node redis.Cmdable) error {
		libs, err := node.FunctionList(ctx, redis.FunctionListQuery{LibraryNamePattern: "smsim_*"}).Result()
		if err != nil {
			return err
		}
		for _, lib := range libs {
			if _, ok := ours[lib.Name]; ok || !strings.HasPrefix(lib.Name, "smsim_") {
				continue
			}
			at, err := c.ZScore(ctx, LibrariesKey, lib.Name).Result()
			switch {
			case err != nil && !errors.Is(err, redis.Nil):
				return err
			case err == nil && at >= since:
				continue // another build's, in use lately
			}
			err = node.FunctionDelete(ctx, lib.Name).Err()
			if err != nil && !redis.HasErrorPrefix(err, "Library not found") {
				return err
			}
			mu.Lock()
			deleted++
			mu.Unlock()
		}
		return nil
	}
	err := onEveryNode(ctx, c, prune)
	if err == nil {
		// the notes of libraries gone, and of those long unused
		err = c.ZRemRangeByScore(ctx, LibrariesKey, "-inf", "("+strconv.FormatFloat(since, 'f', 0, 64)).Err()
	}
	if err != nil {
		return deleted, fmt.Errorf("prune the libraries of other builds: %w", err)
	}
	return deleted, nil
}

// LoadLibraries has c's store hold the library of every script the
// program made so far, where the store has functions, and answers how many
// it loaded, with an error for each script that has no library form or
// whose library Redis refused. Tests hold that there is none.
func LoadLibraries(ctx context.Context, c redis.UniversalClient) (int, error) {
	if !functionsOf(ctx, c) {
		return 0, nil
	}
	n := 0
	var errs []error
	for _, l := range libraryNames() {
		if l.lib == "" {
			errs = append(errs, fmt.Errorf("%s: no library form", l.name))
			continue
		}
		if err := l.loadLibrary(ctx, c); err != nil {
			errs = append(errs, err)
		} else {
			n++
		}
	}
	return n, errors.Join(errs...)
}
