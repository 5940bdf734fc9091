package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// validationScript measures the bare handler with the validation's own
// script call inside: the very call smsim's validation endpoint sends
// Redis for the validation the validation endpoint's measure makes
// (captured from the store's client), sent again as it is, through the
// client's autopipeliner when it has one, as smsim sends its calls under
// load. It is the validation endpoint without smsim's Go: its ceiling,
// however little that Go cost. It runs in turns with the bare handler,
// after the validation endpoint's measure (whose order it finds).
func validationScript(ctx context.Context, c config, s *store) (result, error) {
	const measure = "bare + validation script"
	call, err := captureValidation(ctx, s)
	if err != nil {
		return result{Measure: measure, Store: s.name}, err
	}
	var send redis.Cmdable = s.rdb
	if rc, ok := s.rdb.(*redis.Client); ok && rc.Options().AutoPipelineOptions != nil {
		if ap, err := rc.AutoPipeline(); err == nil {
			send = ap
		}
	}
	return bareWithScript(ctx, c, measure, s, func(ctx context.Context, _ string) ([]string, error) {
		res, err := call.send(ctx, send).StringSlice()
		if err == nil && (len(res) == 0 || res[0] != "not_found") {
			err = fmt.Errorf("the validation's script answered %q, not not_found", res)
		}
		return res, err
	})
}

// scriptCall is one script call as a client sent it: EVALSHA, or FCALL
// on a Redis that has functions (smsim's scripts go as libraries there).
type scriptCall struct {
	fcall bool
	sha   string // the script's SHA-1, or the function's name
	keys  []string
	args  []any
}

// send sends the call again, through c.
func (call scriptCall) send(ctx context.Context, c redis.Cmdable) *redis.Cmd {
	if call.fcall {
		return c.FCall(ctx, call.sha, call.keys, call.args...)
	}
	return c.EvalSha(ctx, call.sha, call.keys, call.args...)
}

// captureValidation makes one validation through smsim's validation
// endpoint and answers the script call it sent Redis: the one that names
// the number's index (who:<phone>).
func captureValidation(ctx context.Context, s *store) (scriptCall, error) {
	h := &scriptCapture{}
	h.on.Store(true)
	s.rdb.AddHook(h) // on as long as the client: off once the validation is made
	err := post(ctx, s.hs.URL+"/miit/v1/validations", validationBody)
	h.on.Store(false)
	if err != nil {
		return scriptCall{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, call := range h.calls {
		if slices.ContainsFunc(call.keys, func(k string) bool { return strings.HasSuffix(k, ":who:"+validationPhone) }) {
			return call, nil
		}
	}
	return scriptCall{}, errors.New("the validation sent Redis no script call that names its number's index")
}

// scriptCapture is a hook of a store's client that keeps the script
// calls (EVALSHA, FCALL) made while it is on, their arguments copied (a script's are in a
// buffer it reuses once answered).
type scriptCapture struct {
	on    atomic.Bool
	mu    sync.Mutex
	calls []scriptCall
}

func (h *scriptCapture) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *scriptCapture) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.keep(cmd)
		return next(ctx, cmd)
	}
}

func (h *scriptCapture) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			h.keep(cmd)
		}
		return next(ctx, cmds)
	}
}

func (h *scriptCapture) keep(cmd redis.Cmder) {
	fcall := strings.EqualFold(cmd.Name(), "fcall")
	if !h.on.Load() || !fcall && !strings.EqualFold(cmd.Name(), "evalsha") {
		return
	}
	a := cmd.Args()
	if len(a) < 3 {
		return
	}
	n, err := strconv.Atoi(fmt.Sprint(a[2]))
	if err != nil || len(a) < 3+n {
		return
	}
	call := scriptCall{fcall: fcall, sha: fmt.Sprint(a[1])}
	for _, k := range a[3 : 3+n] {
		call.keys = append(call.keys, fmt.Sprint(k))
	}
	for _, v := range a[3+n:] {
		if b, ok := v.([]byte); ok {
			v = string(b)
		}
		call.args = append(call.args, v)
	}
	h.mu.Lock()
	h.calls = append(h.calls, call)
	h.mu.Unlock()
}
