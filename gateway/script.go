package gateway

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
)

// Actions of a phone's fault script: what happens to the next message.
const (
	ActionDeliver   = "deliver"   // as usual
	ActionFail      = "fail"      // the delivery fails (reason "scripted")
	ActionBlock     = "block"     // the phone files it as spam
	ActionDelay     = "delay"     // held By longer than usual
	ActionDuplicate = "duplicate" // delivered twice
)

// Step is one step of a phone's fault script: Count messages in a row get
// Action.
type Step struct {
	Action string `json:"action"`
	Count  int    `json:"count"`
	By     string `json:"by,omitempty"` // with delay: a duration
}

// MaxScriptMessages bounds how many messages a script may cover.
const MaxScriptMessages = 1000

// Script is a phone's fault script: the steps its next messages work
// through, in order; after the last, messages are treated as usual.
type Script struct {
	Steps []Step `json:"steps"`
}

// items checks the script and answers its stored form, one list item per
// message: "fail", "delay:60000". An *Error names what is wrong.
func (sc Script) items() ([]string, error) {
	var items []string
	for i, st := range sc.Steps {
		if st.Count == 0 {
			st.Count = 1
		}
		if st.Count < 0 {
			return nil, core.Invalid("steps[%d].count: must be 1 or more, or 0 for one message, got %d", i, st.Count)
		}
		item, err := st.item()
		if e := (*core.Error)(nil); errors.As(err, &e) {
			return nil, core.Invalid("steps[%d].%s", i, e.Detail)
		}
		if err != nil {
			return nil, err
		}
		if st.Count > MaxScriptMessages-len(items) { // before a step's messages are made
			return nil, core.Invalid("steps: cover at most %d messages in all", MaxScriptMessages)
		}
		for range st.Count {
			items = append(items, item)
		}
	}
	return items, nil
}

// item is the stored form of one message of the step.
func (s Step) item() (string, error) {
	switch s.Action {
	case ActionDeliver, ActionFail, ActionBlock, ActionDuplicate:
		if s.By != "" {
			return "", core.Invalid("by: only a %s step takes it", ActionDelay)
		}
		return s.Action, nil
	case ActionDelay:
		d, err := core.ParseDuration("by", s.By)
		if err != nil {
			return "", err
		}
		return ActionDelay + ":" + strconv.FormatInt(d.Milliseconds(), 10), nil
	}
	return "", core.Invalid("action: must be one of %s, %s, %s, %s or %s, got %q",
		ActionDeliver, ActionFail, ActionBlock, ActionDelay, ActionDuplicate, s.Action)
}

// SetScript replaces a phone's fault script.
func (g *Gateway) SetScript(ctx context.Context, phone string, sc Script) (Script, error) {
	items, err := sc.items()
	if err != nil {
		return Script{}, err
	}
	_, err = g.rdb.TxPipelined(ctx, func(tx redis.Pipeliner) error {
		tx.Del(ctx, g.ks.PhoneScript(phone))
		if len(items) > 0 {
			args := make([]any, len(items))
			for i, x := range items {
				args[i] = x
			}
			tx.RPush(ctx, g.ks.PhoneScript(phone), args...)
			g.keep(ctx, tx, g.ks.PhoneScript(phone))
		}
		return nil
	})
	if err != nil {
		return Script{}, fmt.Errorf("store script of %s: %w", phone, err)
	}
	st := g.phones.get(phone)
	st.scripted = len(items) > 0
	g.phones.set(phone, st)
	return scriptOf(items), nil
}

// Script reads what is left of a phone's fault script.
func (g *Gateway) Script(ctx context.Context, phone string) (Script, error) {
	items, err := g.rdb.LRange(ctx, g.ks.PhoneScript(phone), 0, -1).Result()
	if err != nil {
		return Script{}, fmt.Errorf("read script of %s: %w", phone, err)
	}
	return scriptOf(items), nil
}

// scriptOf folds list items back into steps.
func scriptOf(items []string) Script {
	sc := Script{Steps: []Step{}}
	for _, it := range items {
		st := stepOf(it)
		if n := len(sc.Steps); n > 0 && sc.Steps[n-1].Action == st.Action && sc.Steps[n-1].By == st.By {
			sc.Steps[n-1].Count++
			continue
		}
		st.Count = 1
		sc.Steps = append(sc.Steps, st)
	}
	return sc
}

func stepOf(item string) Step {
	action, ms, ok := strings.Cut(item, ":")
	if !ok {
		return Step{Action: action}
	}
	n, _ := strconv.ParseInt(ms, 10, 64)
	return Step{Action: action, By: core.FormatDuration(time.Duration(n) * time.Millisecond)}
}
