package redisstore

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/alicebob/miniredis/v2"
	"github.com/alicebob/miniredis/v2/server"
	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// scripting runs the embedded store's EVALSHA in one Lua state kept from
// call to call. miniredis makes a new Lua state for each call of a
// script, opens its libraries and runs their setup again: on a small
// machine that was a fifth of what a validation cost, and most of the
// garbage a flow left. Here the state is made once; a call sets KEYS and
// ARGV, runs the script's compiled chunk and writes its answer, as
// miniredis would (TestScriptsAnswerAsMiniredis holds the two to the same
// answers).
//
// It is atomic as miniredis's own: a call holds the miniredis's lock, and
// the commands the script calls run as miniredis runs a script's, through
// a nested context, which does not take the lock again. miniredis does
// not export its connections' contexts: a script of its own lends one
// (captureCommand) for each database, and the fields a call needs of its
// connection's are read by name (readConn).
//
// It takes over only EVALSHA of a script it has seen loaded (SCRIPT LOAD,
// EVAL), on a connection outside MULTI and Pub/Sub; anything else, and
// every other command (EVALSHA_RO, which refuses writes, too), is
// miniredis's. Where it cannot
// read a connection, or borrow a context (a store that requires a
// password), miniredis runs the script.
type scripting struct {
	m   *miniredis.Miniredis
	srv *server.Server

	mu      sync.Mutex
	scripts map[string]*lua.FunctionProto // by SHA-1
	nested  map[int]any                   // a nested context of each database, nil where none could be had

	dispatching atomic.Pointer[server.Peer] // the peer of the running script's command, while miniredis runs it
	runs        atomic.Int64                // the calls it ran
	reads       atomic.Int64                // the commands it answered from the data (reads.go, ranges.go)

	// held with the miniredis's lock, while a script runs
	l        *lua.LState
	ctx      any            // the nested context its commands run in
	sha      string         // the script's
	db       unsafe.Pointer // its database's data, which reads read (reads.go); nil: miniredis answers them
	selected bool           // it SELECTed another database
	out      bytes.Buffer
	w        *bufio.Writer
	r        *bufio.Reader
	capture  any // what captureCommand last saw
}

// captureCommand is the command that a script of miniredis's own calls to
// lend its nested context.
const captureCommand = "SMSIM.NESTED"

func newScripting(m *miniredis.Miniredis) (*scripting, error) {
	s := &scripting{
		m: m, srv: m.Server(),
		scripts: map[string]*lua.FunctionProto{},
		nested:  map[int]any{},
	}
	s.w = bufio.NewWriter(&s.out)
	s.r = bufio.NewReader(&s.out)
	if err := s.srv.Register(captureCommand, func(c *server.Peer, _ string, _ []string) {
		s.capture = c.Ctx
		c.WriteOK()
	}); err != nil {
		return nil, err
	}
	s.l = s.newState()
	s.srv.SetPreHook(s.hook)
	return s, nil
}

// conn is what a call needs of its connection.
type conn struct {
	db               int
	nested           bool // a command a script calls
	multi, subscribe bool
}

// readConn reads c's context in miniredis (its connCtx, unexported) by
// the names of its fields; false when it has none of those.
func readConn(c *server.Peer) (conn, bool) {
	if c.Ctx == nil {
		return conn{}, true // no command yet: database 0
	}
	v := reflect.ValueOf(c.Ctx)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return conn{}, false
	}
	v = v.Elem()
	f, ok := connFieldsOf(v.Type())
	if !ok {
		return conn{}, false
	}
	tx, sub := v.Field(f.tx), v.Field(f.sub)
	return conn{db: int(v.Field(f.db).Int()), nested: v.Field(f.nested).Bool(), multi: !tx.IsNil(), subscribe: !sub.IsNil()}, true
}

// plainClient answers the database of client c when a command of it may be
// answered from the data: not one in a transaction, a subscription or a
// script, nor of a store that wants a password (miniredis checks it).
func (s *scripting) plainClient(c *server.Peer) (int, bool) {
	cn, ok := readConn(c)
	if !ok || cn.nested || cn.multi || cn.subscribe {
		return 0, false
	}
	if _, ok := s.nestedContext(cn.db); !ok {
		return 0, false
	}
	return cn.db, true
}

// connFields are the indices of the fields readConn reads in a type of
// connection context, found by name once (connFieldsOf).
type connFields struct {
	db, nested, tx, sub int
}

var connFieldCache sync.Map // reflect.Type → connFields, or false: not such a type

func connFieldsOf(t reflect.Type) (connFields, bool) {
	if f, ok := connFieldCache.Load(t); ok {
		cf, ok := f.(connFields)
		return cf, ok
	}
	db, ok1 := t.FieldByName("selectedDB")
	nested, ok2 := t.FieldByName("nested")
	tx, ok3 := t.FieldByName("transaction")
	sub, ok4 := t.FieldByName("subscriber")
	if !ok1 || !ok2 || !ok3 || !ok4 || len(db.Index) != 1 || len(nested.Index) != 1 || len(tx.Index) != 1 || len(sub.Index) != 1 ||
		db.Type.Kind() != reflect.Int || nested.Type.Kind() != reflect.Bool || tx.Type.Kind() != reflect.Slice || sub.Type.Kind() != reflect.Pointer {
		connFieldCache.Store(t, false)
		return connFields{}, false
	}
	cf := connFields{db: db.Index[0], nested: nested.Index[0], tx: tx.Index[0], sub: sub.Index[0]}
	connFieldCache.Store(t, cf)
	return cf, true
}

// hook sees every command before miniredis; it answers true for those it
// ran itself.
func (s *scripting) hook(c *server.Peer, cmd string, args ...string) bool {
	if c == s.dispatching.Load() { // a command of the running script
		switch cmd {
		case "EVAL", "EVAL_RO", "EVALSHA", "EVALSHA_RO", "SCRIPT":
			c.WriteError("This Redis command is not allowed from script script: " + s.sha + ", &c")
			return true
		}
		return false
	}
	switch cmd {
	case "ZRANGE":
		return s.rangeByRank(c, args) // ranges.go
	case "SCAN":
		return s.scanPrefix(c, args) // scan.go
	case "SCRIPT":
		if len(args) == 2 && strings.EqualFold(args[0], "load") {
			s.load(args[1])
		}
		if len(args) >= 1 && strings.EqualFold(args[0], "flush") {
			s.mu.Lock()
			clear(s.scripts)
			s.mu.Unlock()
		}
	case "EVAL", "EVAL_RO":
		if len(args) >= 1 {
			s.load(args[0])
		}
	case "EVALSHA":
		if len(args) < 2 {
			return false
		}
		cn, ok := readConn(c)
		if !ok || cn.nested || cn.multi || cn.subscribe {
			return false
		}
		s.mu.Lock()
		proto, ok := s.scripts[args[0]]
		s.mu.Unlock()
		if !ok {
			return false // miniredis answers NOSCRIPT
		}
		ctx, ok := s.nestedContext(cn.db)
		if !ok {
			return false
		}
		s.run(c, ctx, cn.db, args[0], proto, args[1:])
		return true
	}
	return false
}

// load keeps script by its SHA-1, compiled; one that does not compile is
// left to miniredis, which refuses it.
func (s *scripting) load(script string) {
	sum := sha1.Sum([]byte(script))
	sha := hex.EncodeToString(sum[:])
	s.mu.Lock()
	_, ok := s.scripts[sha]
	s.mu.Unlock()
	if ok {
		return
	}
	proto, ok := compile(sha, script)
	if !ok {
		return
	}
	s.mu.Lock()
	s.scripts[sha] = proto
	s.mu.Unlock()
}

// compiled holds the scripts compiled in this process, by SHA-1, for every
// store of it: a test suite starts a store for each test, and compiling
// the same scripts again for each cost more than the tests' own work. A
// compiled script is never written to once made, and each state makes its
// own function of it.
var compiled sync.Map

func compile(sha, script string) (*lua.FunctionProto, bool) {
	if p, ok := compiled.Load(sha); ok {
		return p.(*lua.FunctionProto), true
	}
	chunk, err := parse.Parse(strings.NewReader(script), "<string>")
	if err != nil {
		return nil, false
	}
	proto, err := lua.Compile(chunk, "")
	if err != nil {
		return nil, false
	}
	// gopher-lua gives a chunk, which is a vararg function, a table of its
	// arguments (Lua 5.0's arg) at every call, under no name a script can
	// read: a map of 32 slots for nothing. Redis runs a script as a
	// function of no arguments.
	proto.IsVarArg &^= lua.VarArgNeedsArg
	compiled.Store(sha, proto)
	return proto, true
}

// nestedContext answers the nested context of database db, which a
// script of miniredis's own lends the first time; false when it could not
// (a store that requires a password), and miniredis runs the scripts.
func (s *scripting) nestedContext(db int) (any, bool) {
	s.mu.Lock()
	ctx, ok := s.nested[db]
	s.mu.Unlock()
	if ok {
		return ctx, ctx != nil
	}
	w := bufio.NewWriter(io.Discard)
	p := server.NewPeer(w)
	s.srv.Dispatch(p, []string{"SELECT", strconv.Itoa(db)})
	s.m.Lock()
	s.capture = nil
	s.m.Unlock()
	s.srv.Dispatch(p, []string{"EVAL", "return redis.call('" + captureCommand + "')", "0"})
	s.m.Lock()
	ctx = s.capture
	s.m.Unlock()
	s.mu.Lock()
	s.nested[db] = ctx
	s.mu.Unlock()
	return ctx, ctx != nil
}

// run runs a script for c in database db, under the miniredis's lock.
func (s *scripting) run(c *server.Peer, ctx any, db int, sha string, proto *lua.FunctionProto, args []string) {
	n, err := strconv.Atoi(args[0])
	switch {
	case err != nil:
		c.WriteError("ERR value is not an integer or out of range")
		return
	case n < 0:
		c.WriteError("ERR Number of keys can't be negative")
		return
	case n > len(args)-1:
		c.WriteError("ERR Number of keys can't be greater than number of args")
		return
	}
	s.m.Lock()
	defer s.m.Unlock()
	s.runs.Add(1)
	s.ctx, s.sha, s.db = ctx, sha, s.database(db)
	defer func() {
		if s.selected {
			// The nested context is the database's for every script of it: a
			// script's SELECT is its own, as in Redis.
			s.dispatch([]string{"SELECT", strconv.Itoa(db)})
			s.selected = false
		}
		s.ctx, s.sha, s.db = nil, "", nil
	}()
	l := s.l
	keys := l.CreateTable(n, 0)
	for i, k := range args[1 : 1+n] {
		keys.RawSetInt(i+1, lua.LString(k))
	}
	argv := l.CreateTable(len(args)-1-n, 0)
	for i, a := range args[1+n:] {
		argv.RawSetInt(i+1, lua.LString(a))
	}
	g := l.G.Global
	g.RawSetString("KEYS", keys)
	g.RawSetString("ARGV", argv)
	top := l.GetTop()
	l.Push(l.NewFunctionFromProto(proto))
	if err := l.PCall(0, 1, nil); err != nil {
		l.SetTop(top)
		c.WriteError(fmt.Sprintf("ERR Error compiling script (new function): %s", err.Error()))
		return
	}
	s.reply(c, l.Get(-1))
	l.SetTop(top)
}

// reply writes a script's answer as Redis converts it.
func (s *scripting) reply(c *server.Peer, v lua.LValue) {
	switch t := v.(type) {
	case lua.LBool:
		if t {
			c.WriteInt(1)
		} else {
			c.WriteNull()
		}
	case lua.LNumber:
		c.WriteInt(int(t))
	case lua.LString:
		c.WriteBulk(string(t))
	case *lua.LTable:
		if e := t.RawGetString("err"); e.Type() != lua.LTNil {
			c.WriteError(e.String())
			return
		}
		if ok := t.RawGetString("ok"); ok.Type() != lua.LTNil {
			c.WriteInline(ok.String())
			return
		}
		n := 0
		for t.RawGetInt(n+1) != lua.LNil {
			n++
		}
		c.WriteLen(n)
		for i := 1; i <= n; i++ {
			s.reply(c, t.RawGetInt(i))
		}
	default:
		c.WriteNull()
	}
}

// call runs one command of the running script; pcall answers an error as
// a table instead of raising it.
func (s *scripting) call(l *lua.LState, pcall bool) int {
	top := l.GetTop()
	if top == 0 {
		l.RaiseError("Please specify at least one argument for this redis lib call")
		return 0
	}
	args := make([]string, top)
	for i := 1; i <= top; i++ {
		switch a := l.Get(i).(type) {
		case lua.LNumber:
			args[i-1] = a.String()
		case lua.LString:
			args[i-1] = string(a)
		default:
			l.RaiseError("Lua redis lib command arguments must be strings or integers")
			return 0
		}
	}
	if v, ok := s.read(l, args); ok {
		s.reads.Add(1)
		l.Push(v)
		return 1
	}
	if args[0] == "ZREMRANGEBYSCORE" {
		if zrem, ok := s.removal(args[1:]); ok && zrem == nil {
			s.reads.Add(1)
			l.Push(lua.LNumber(0))
			return 1
		} else if ok {
			args = zrem // the same answer: how many it removed (ranges.go)
		}
	}
	if strings.EqualFold(args[0], "SELECT") || strings.EqualFold(args[0], "SWAPDB") {
		s.db = nil // the script's database is another now: miniredis answers its reads
		s.selected = s.selected || strings.EqualFold(args[0], "SELECT")
	}
	s.dispatch(args)
	v, msg, ok := replyToLua(l, s.out.Bytes())
	if !ok { // a reply replyToLua does not know: miniredis's parser reads it
		s.r.Reset(&s.out)
		res, err := server.ParseReply(s.r)
		if err == nil {
			v = toLua(l, res)
		} else {
			msg = err.Error()
		}
	}
	if msg != "" {
		unknown := strings.Contains(msg, "ERR unknown command")
		if unknown {
			msg = "ERR Unknown Redis command called from script"
		}
		if pcall {
			t := l.CreateTable(0, 1)
			t.RawSetString("err", lua.LString(msg))
			l.Push(t)
			return 1
		}
		if unknown {
			msg = "Unknown Redis command called from script script: " + s.sha + ", &c."
		}
		l.RaiseError("%s", msg)
		return 0
	}
	l.Push(v)
	return 1
}

// deleteKeys deletes keys with miniredis's DEL, in the database of the
// nested context ctx, as a script's command: the caller holds the
// miniredis's lock, and no script runs.
func (s *scripting) deleteKeys(ctx any, keys []string) {
	saved := s.ctx
	s.ctx = ctx
	defer func() { s.ctx = saved }()
	s.dispatch(append([]string{"DEL"}, keys...))
}

// dispatch has miniredis run the command args of the running script, its
// reply in s.out.
func (s *scripting) dispatch(args []string) {
	s.out.Reset()
	p := server.NewPeer(s.w)
	p.Ctx = s.ctx
	s.dispatching.Store(p)
	s.srv.Dispatch(p, args)
	s.dispatching.Store(nil)
	s.w.Flush()
}

// replyToLua reads the reply b, as a command's reply to a script, into the
// value a script gets (toLua's), without a value of Go between: the reply
// of every command a script calls goes through here. It answers the
// message of an error reply, or false for a reply it leaves to miniredis's
// parser: one of RESP3's types, an array holding an error.
func replyToLua(l *lua.LState, b []byte) (v lua.LValue, errMsg string, ok bool) {
	v, rest, errMsg, ok := readReply(l, b)
	if !ok || len(rest) != 0 {
		return nil, "", false
	}
	return v, errMsg, true
}

// readReply reads the first reply of b, answering what follows it.
func readReply(l *lua.LState, b []byte) (v lua.LValue, rest []byte, errMsg string, ok bool) {
	eol := bytes.Index(b, []byte("\r\n"))
	if eol < 1 {
		return nil, nil, "", false
	}
	line, rest := b[1:eol], b[eol+2:]
	switch b[0] {
	case '+':
		t := l.CreateTable(0, 1)
		t.RawSetString("ok", lua.LString(line))
		return t, rest, "", true
	case '-':
		if len(line) == 0 {
			return nil, nil, "", false
		}
		return nil, rest, string(line), true
	case ':':
		n, err := strconv.Atoi(string(line))
		if err != nil {
			return nil, nil, "", false
		}
		return lua.LNumber(n), rest, "", true
	case '$':
		n, err := strconv.Atoi(string(line))
		switch {
		case err != nil:
			return nil, nil, "", false
		case n < 0:
			return lua.LFalse, rest, "", true
		case n > len(rest)-2:
			return nil, nil, "", false
		}
		return lua.LString(rest[:n]), rest[n+2:], "", true
	case '*':
		n, err := strconv.Atoi(string(line))
		if err != nil {
			return nil, nil, "", false
		}
		if n < 0 {
			return lua.LFalse, rest, "", true
		}
		t := l.CreateTable(n, 0)
		for i := 1; i <= n; i++ {
			var e lua.LValue
			e, rest, errMsg, ok = readReply(l, rest)
			if !ok || errMsg != "" {
				return nil, nil, "", false
			}
			t.RawSetInt(i, e)
		}
		return t, rest, "", true
	}
	return nil, nil, "", false
}

func toLua(l *lua.LState, v any) lua.LValue {
	switch r := v.(type) {
	case nil:
		return lua.LFalse
	case int:
		return lua.LNumber(r)
	case int64:
		return lua.LNumber(r)
	case string:
		return lua.LString(r)
	case []byte:
		return lua.LString(r)
	case server.Simple:
		t := l.CreateTable(0, 1)
		t.RawSetString("ok", lua.LString(string(r)))
		return t
	case []any:
		t := l.CreateTable(len(r), 0)
		for i, e := range r {
			t.RawSetInt(i+1, toLua(l, e))
		}
		return t
	case error:
		l.RaiseError("%s", r.Error())
		return lua.LNil
	default:
		return lua.LString(fmt.Sprint(r))
	}
}

// newState makes the Lua state the scripts run in: the libraries Redis
// gives a script, cjson, the redis table, and globals a script can
// neither add nor read unset.
func (s *scripting) newState() *lua.LState {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.CoroutineLibName, lua.OpenCoroutine},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
		{lua.DebugLibName, lua.OpenDebug},
	} {
		l.Push(l.NewFunction(lib.open))
		l.Push(lua.LString(lib.name))
		l.Call(1, 0)
	}
	str := l.GetGlobal(lua.StringLibName).(*lua.LTable)
	str.RawSetString("format", l.NewFunction(formatInt(str.RawGetString("format").(*lua.LFunction).GFunction)))
	cjson := l.NewTable()
	cjson.RawSetString("decode", l.NewFunction(jsonDecode))
	cjson.RawSetString("encode", l.NewFunction(jsonEncode))
	l.SetGlobal("cjson", cjson)
	r := l.NewTable()
	r.RawSetString("call", l.NewFunction(func(l *lua.LState) int { return s.call(l, false) }))
	r.RawSetString("pcall", l.NewFunction(func(l *lua.LState) int { return s.call(l, true) }))
	r.RawSetString("error_reply", l.NewFunction(func(l *lua.LState) int {
		msg := l.CheckString(1)
		code, rest, found := strings.Cut(strings.TrimPrefix(msg, "-"), " ")
		if !found {
			code, rest = "ERR", code
		}
		t := l.CreateTable(0, 1)
		t.RawSetString("err", lua.LString(code+" "+rest))
		l.Push(t)
		return 1
	}))
	r.RawSetString("status_reply", l.NewFunction(func(l *lua.LState) int {
		t := l.CreateTable(0, 1)
		t.RawSetString("ok", lua.LString(l.CheckString(1)))
		l.Push(t)
		return 1
	}))
	r.RawSetString("sha1hex", l.NewFunction(func(l *lua.LState) int {
		sum := sha1.Sum([]byte(l.CheckString(1)))
		l.Push(lua.LString(hex.EncodeToString(sum[:])))
		return 1
	}))
	r.RawSetString("log", l.NewFunction(func(*lua.LState) int { return 0 }))
	l.SetGlobal("redis", r)
	l.SetGlobal("server", r)
	osLib := l.NewTable()
	osLib.RawSetString("clock", l.NewFunction(func(l *lua.LState) int {
		l.Push(lua.LNumber(42))
		return 1
	}))
	l.SetGlobal("os", osLib)
	run(l, protectGlobals)
	return l
}

// formatInt is string.format with what the scripts format most — an
// integer, string.format('%d', n) — written without fmt, as gopher-lua's
// format writes it (through int64); anything else is format's.
func formatInt(format lua.LGFunction) lua.LGFunction {
	return func(l *lua.LState) int {
		if l.GetTop() == 2 {
			if f, ok := l.Get(1).(lua.LString); ok && f == "%d" {
				if n, ok := l.Get(2).(lua.LNumber); ok {
					l.Push(lua.LString(strconv.FormatInt(int64(n), 10)))
					return 1
				}
			}
		}
		return format(l)
	}
}

// run runs script in l, as miniredis runs a script: the errors it raises
// read the same.
func run(l *lua.LState, script string) {
	sum := sha1.Sum([]byte(script))
	proto, ok := compile(hex.EncodeToString(sum[:]), script)
	if !ok {
		panic("redisstore: a script of its own does not compile")
	}
	l.Push(l.NewFunctionFromProto(proto))
	l.Call(0, 0)
}

// protectGlobals is miniredis's (cmd_scripting.go), word for word, so
// that a script reading or writing a global it must not is refused in the
// same words.
const protectGlobals = `
local dbg=debug
local mt = {}
setmetatable(_G, mt)
mt.__newindex = function (t, n, v)
  if dbg.getinfo(2) then
    local w = dbg.getinfo(2, "S").what
    if w ~= "C" then
      error("Script attempted to create global variable '"..tostring(n).."'", 2)
    end
  end
  rawset(t, n, v)
end
mt.__index = function (t, n)
  if dbg.getinfo(2) and dbg.getinfo(2, "S").what ~= "C" then
    error("Script attempted to access nonexistent global variable '"..tostring(n).."'", 2)
  end
  return rawget(t, n)
end
debug = nil
`
