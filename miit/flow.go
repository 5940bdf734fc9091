package miit

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/gateway"
	"smsim/simulator/core"
)

var idPattern = regexp.MustCompile(`^f_[0-9a-f]{16}$`)

// IsFilingID tells whether id is the id of a filing order: f_ and 16
// lower-case hex digits.
func IsFilingID(id string) bool { return idPattern.MatchString(id) }

// codeCandidates is how many codes a script is offered for each code it
// issues: it takes the first that is no live code.
const codeCandidates = 4

var (
	//go:embed sync.lua
	syncLua    string
	syncScript = core.NewScript[syncArgs](luaLib, syncLua)
)

// syncArgs are the arguments of sync.lua, and of submit.lua's sync when an
// order reaches MIIT at once: the plan of a sync, computed with the clock
// and fault profile of Expect; times in ms.
type syncArgs struct {
	// Expect and Bounds are the clock and fault profile the plan was made
	// with, and the lifetimes: sync.lua's; nil within submit.lua's
	// arguments, which hold them once.
	Expect     *core.Expect  `json:"expect,omitempty"`
	Bounds     *core.Bounds  `json:"bounds,omitempty"`
	Now        int64         `json:"now"`
	Deadline   int64         `json:"deadline"`             // the end of the validation window
	Window     int64         `json:"window"`               // its length
	AutoResend int64         `json:"autoresend,omitempty"` // the noon re-send; 0: none
	ReviewDue  int64         `json:"review_due"`           // of an order that needs no one
	ResultDue  int64         `json:"result_due"`           // … and when the provider learns it is under review
	Subjects   []syncSubject `json:"subjects"`             // in the order of the order's subjects
	// Phones are the numbers of the subjects the plan was made with when
	// they came with the sync job, not read from the order: sync.lua checks
	// them. Empty: read from the order (or submit.lua's sync, which has
	// them).
	Phones []string `json:"phones,omitempty"`
	// Who are the positions in KEYS of the indexes of the subjects'
	// numbers (sync.lua's: submit.lua has them), kept as long as the order
	// they list, now under way at MIIT.
	Who []int `json:"who,omitempty"`
}

// syncSubject is what the sync gives a subject: a code, the first of the
// candidates that is no live code (their keys at the positions CodeKeys),
// texted at CodeDue. When that is at once,
// Texts holds the code message of each candidate, planned (the script
// sends the one of the candidate it picks); when a plan cannot be made, a
// job texts it. Lost: MIIT says it sent the first code but the network
// never sees it (lost_code_rate).
//
// The script is given Texts as Sent: a candidate's messages planned as the
// first candidate's but for their body and code, as they usually are, go
// as that body and code alone, or as the code alone where the script can
// write the body (sameAsFirst, sameBut; the library's candidate_texts),
// which keeps the script's arguments small.
type syncSubject struct {
	Candidates []string             `json:"candidates"`
	CodeKeys   []int                `json:"code_keys"`
	CodeDue    int64                `json:"code_due"`
	Texts      [][]gateway.Outgoing `json:"-"`
	Sent       []any                `json:"texts,omitempty"` // each []gateway.Outgoing or a sameAsFirst
	Lost       bool                 `json:"lost,omitempty"`
	// More is where in TEXTS the candidates after the first are
	// (withTexts), 0 for none: their codes, keys and messages as the JSON
	// object more (moreCandidates), which the script decodes only when the
	// first code is live (the library's new_code). Candidates, CodeKeys and
	// Sent then hold the first's alone.
	More int `json:"more,omitempty"`
	more []byte
}

// moreCandidates are the candidates after the first of a subject
// (syncSubject.More).
type moreCandidates struct {
	Candidates []string `json:"candidates"`
	CodeKeys   []int    `json:"code_keys"`
	Sent       []any    `json:"texts,omitempty"`
}

// sameAsFirst stands for a candidate's messages that are the first
// candidate's with another body and code. The body is left out when it is
// the first candidate's with the code written in place of the first's,
// which that body holds once (sameBut): the script writes it so.
type sameAsFirst struct {
	Body string `json:"body,omitempty"`
	Code string `json:"code"`
}

// sameBut answers the messages outs as a sameAsFirst of the first
// candidate's, first: their body and code alone, the body left out when
// the script can write it from first's.
func sameBut(first, outs []gateway.Outgoing) sameAsFirst {
	same := sameAsFirst{Body: outs[0].Body, Code: outs[0].Code}
	f := first[0]
	if f.Code != "" && strings.Count(f.Body, f.Code) == 1 && strings.Replace(f.Body, f.Code, same.Code, 1) == same.Body {
		same.Body = ""
	}
	return same
}

// compact sets Sent from Texts; alike: the candidates' messages after the
// first's are known to be the first's but for their body and code
// (gateway.PlanCandidates).
func (sj *syncSubject) compact(alike bool) {
	sj.Sent = nil
	for j, outs := range sj.Texts {
		if j > 0 && alike && len(outs) > 0 && len(sj.Texts[0]) > 0 {
			sj.Sent = append(sj.Sent, sameBut(sj.Texts[0], outs))
			continue
		}
		if j > 0 && len(outs) == len(sj.Texts[0]) && len(outs) > 0 {
			same := sameAsFirst{Body: outs[0].Body, Code: outs[0].Code}
			alike := true
			for k, o := range outs {
				first := sj.Texts[0][k]
				o.Body, o.Code = first.Body, first.Code
				alike = alike && same.Body == outs[k].Body && same.Code == outs[k].Code && reflect.DeepEqual(o, first)
			}
			if alike {
				sj.Sent = append(sj.Sent, sameBut(sj.Texts[0], outs))
				continue
			}
		}
		sj.Sent = append(sj.Sent, outs)
	}
}

// withTexts has the script send the code messages of a with their texts
// made in Go (gateway.WithTexts), from TEXTS[from] on: each subject's
// first candidate's, which the script sends unless that code is live —
// another's messages, given as the first's (sameAsFirst), take the
// first's trail alone (the library's candidate_texts). The candidates
// after the first go as a text too (syncSubject.More), which the script
// decodes only when it needs them: usually it does not, and Redis's Lua
// decodes JSON by the token. It answers the position after the last. Call
// it once the plan is made (compact).
func (a *syncArgs) withTexts(from int) int {
	for i := range a.Subjects {
		sj := &a.Subjects[i]
		if len(sj.Texts) > 0 && len(sj.Sent) > 0 {
			from = gateway.WithTexts(sj.Texts[0], from)
			sj.Sent[0] = sj.Texts[0]
		}
		if len(sj.Candidates) > 1 {
			more := moreCandidates{Candidates: sj.Candidates[1:], CodeKeys: sj.CodeKeys[1:]}
			if len(sj.Sent) > 1 {
				more.Sent = sj.Sent[1:]
			}
			sj.more, _ = json.Marshal(more) // strings, numbers and the messages' plans: it cannot fail
			sj.More, from = from, from+1
			sj.Candidates, sj.CodeKeys = sj.Candidates[:1], sj.CodeKeys[:1]
			if len(sj.Sent) > 1 {
				sj.Sent = sj.Sent[:1]
			}
		}
	}
	return from
}

// appendTexts appends the texts of a (withTexts) to b, and where each ends
// to ends.
func (a *syncArgs) appendTexts(b []byte, ends []int) ([]byte, []int) {
	for _, sj := range a.Subjects {
		if len(sj.Texts) > 0 && len(sj.Sent) > 0 {
			b, ends = gateway.AppendTexts(sj.Texts[0], b, ends)
		}
		if sj.More != 0 {
			b = append(b, sj.more...)
			ends = append(ends, len(b))
		}
	}
	return b, ends
}

// AppendTexts appends the texts of a's messages (core.TextsAppender).
func (a syncArgs) AppendTexts(b []byte, ends []int) ([]byte, []int) { return a.appendTexts(b, ends) }

// codeSent is what a sync answers of a code it texted: the subject (from 1),
// the candidate it picked (from 1), and the statuses of its messages
// delivered at once.
type codeSent struct {
	Subject  int      `json:"subject"`
	Pick     int      `json:"pick"`
	Statuses []string `json:"statuses"`
}

// planSync plans how order id, whose subjects have the numbers phones,
// reaches MIIT at now under the fault profile of snap: its window, and for
// each subject its code candidates and the code message, planned to be
// sent by the script itself when MIIT sends it at once. The messages' keys
// go on keys.
func (s *Service) planSync(id string, phones []string, now time.Time, snap core.Snapshot, keys *core.KeyList) syncArgs {
	f := snap.Faults
	deadline := now.Add(f.ValidationWindow)
	var autoresend int64
	if f.AutoResendNoon {
		autoresend = NoonNextDay(now).UnixMilli()
	}
	review := now.Add(f.Review.Time.Draw(s.rand, "review", id))
	result := now.Add(f.ResultSyncLag.Draw(s.rand, "result_sync_lag", id, StatusUnderReview))
	a := syncArgs{Now: now.UnixMilli(), Deadline: deadline.UnixMilli(), Window: f.ValidationWindow.Milliseconds(),
		AutoResend: autoresend, ReviewDue: review.UnixMilli(), ResultDue: result.UnixMilli(), Subjects: []syncSubject{}}
	for i, phone := range phones {
		si := strconv.Itoa(i + 1)
		sj := syncSubject{Candidates: make([]string, codeCandidates), CodeKeys: make([]int, codeCandidates)}
		for j := range sj.Candidates {
			sj.Candidates[j] = s.rand.Code("code", id, si, "0", strconv.Itoa(j))
			sj.CodeKeys[j] = keys.Add(s.ks.Code(sj.Candidates[j]))
		}
		// MIIT takes its own time to hand the first code message over.
		due := now.Add(f.MIITSendDelay.Draw(s.rand, "miit_send_delay", id, si))
		sj.CodeDue = due.UnixMilli()
		if due.After(now) {
			a.Subjects = append(a.Subjects, sj)
			continue
		}
		if s.rand.Chance(f.LostCodeRate, "lost_code", s.ks.Namespace, id, si, "first") {
			sj.Lost = true
			a.Subjects = append(a.Subjects, sj)
			continue
		}
		msgID := s.rand.DerivedID("m", s.ks.Namespace, id, "code", si, "first")
		bodies := make([]string, len(sj.Candidates))
		for j, code := range sj.Candidates {
			bodies[j] = s.wording(f).Code(code, f.ValidationWindow)
		}
		texts, alike, ok := s.gw.PlanCandidates(f, gateway.SendRequest{ID: msgID, From: s.codeSender(f, phone, msgID), To: phone, At: now},
			bodies, keys)
		if ok { // else a job texts it
			sj.Texts = texts
			sj.compact(alike)
		}
		a.Subjects = append(a.Subjects, sj)
	}
	return a
}

// codesSent counts the code messages a sync texted (codeSent), as the
// gateway counts what it sends.
func (s *Service) codesSent(a syncArgs, sent []codeSent) {
	for _, c := range sent {
		if c.Subject < 1 || c.Subject > len(a.Subjects) {
			continue
		}
		texts := a.Subjects[c.Subject-1].Texts
		if c.Pick < 1 || c.Pick > len(texts) {
			continue
		}
		s.gw.Sent(texts[c.Pick-1], c.Statuses)
	}
}

// onSync: the order reaches MIIT's validation database. MIIT texts each
// required person a code and the validation window starts; an order that
// needs no one goes straight to review.
//
// Args: filing, then the numbers of its subjects, in order, as the order
// was submitted: the sync is planned with them, and its script checks they
// are still the order's. A job written before it took the numbers, or of
// an order that needs no one, has the filing alone: the order is read
// first.
func (s *Service) onSync(ctx context.Context, job core.Job) error {
	id, phones, err := syncJob(job)
	if err != nil {
		return err
	}
	given := len(phones) > 0
	if !given {
		if phones, err = s.syncPhones(ctx, id); err != nil || phones == nil {
			return err
		}
	}
	for range maxStale {
		snap, err := s.state.Snapshot(ctx)
		if err != nil {
			return err
		}
		keys, args := s.syncCall(id, phones, given, job.Due, snap)
		out, err := syncScript.Run(ctx, s.rdb, keys, args).StringSlice()
		if retry, err := s.gw.Retry(ctx, err); retry {
			continue
		} else if err != nil {
			return fmt.Errorf("sync %s: %w", id, err)
		}
		if out[0] == "phones" { // the order's numbers changed since it was submitted
			if phones, err = s.syncPhones(ctx, id); err != nil || phones == nil {
				return err
			}
			given = false
			continue
		}
		return s.synced(ctx, id, args, out)
	}
	return fmt.Errorf("sync %s: %w", id, gateway.ErrKeptChanging)
}

// syncStep makes a sync job ready to go in a run (core.Scheduler's
// HandleSteps), planned as onSync plans it. A job without the numbers
// goes alone (onSync reads them first); so does, again, one whose script
// refused its plan (the clock, the fault profile, a phone or the order's
// numbers changed since).
func (s *Service) syncStep(ctx context.Context, job core.Job) (core.Step, error) {
	id, phones, err := syncJob(job)
	if err != nil {
		return core.Step{}, err
	}
	if len(phones) == 0 {
		return core.Step{}, core.ErrAlone
	}
	snap, err := s.state.Snapshot(ctx)
	if err != nil {
		return core.Step{}, err
	}
	keys, args := s.syncCall(id, phones, true, job.Due, snap)
	call, err := syncScript.Call(keys, args)
	if err != nil {
		return core.Step{}, err
	}
	return core.Step{Call: call, Finish: func(ctx context.Context, res *redis.Cmd) error {
		out, err := res.StringSlice()
		if err != nil {
			if retry, rerr := s.gw.Retry(ctx, err); !retry {
				return fmt.Errorf("sync %s: %w", id, rerr)
			}
			return s.onSync(ctx, job)
		}
		if out[0] == "phones" {
			return s.onSync(ctx, job)
		}
		return s.synced(ctx, id, args, out)
	}}, nil
}

// syncJob reads a sync job's arguments: the filing, then the numbers of its
// subjects, in order, as the order was submitted (none in a job written
// before the numbers went with it, or of an order that needs no one).
func syncJob(job core.Job) (id string, phones []string, err error) {
	if len(job.Args) == 0 {
		return "", nil, job.Arity(1)
	}
	id, phones = job.Args[0], job.Args[1:]
	for i, p := range phones {
		if n, err := gateway.NormalizePhone("phone", p); err != nil || n != p {
			return "", nil, core.Permanent(fmt.Errorf("malformed job %s: argument %d, %q, is not a mobile number", job, i+2, p))
		}
	}
	return id, phones, nil
}

// syncCall is the keys and arguments of sync.lua for order id, planned at
// now with snap (planSync); given: phones came with the job, for the
// script to check.
func (s *Service) syncCall(id string, phones []string, given bool, now time.Time, snap core.Snapshot) ([]string, syncArgs) {
	keys := core.NewKeyList(s.libKeys(s.ks.Filing(id))...)
	args := s.planSync(id, phones, now, snap, keys)
	bounds := snap.Bounds()
	args.Expect, args.Bounds = &snap.Expect, &bounds
	if given {
		args.Phones = phones
	}
	for _, p := range phones {
		args.Who = append(args.Who, keys.Add(s.ks.Who(p)))
	}
	if !s.scriptTexts {
		args.withTexts(2)
	}
	return keys.Keys(), args
}

// synced does what is left of a sync once its script ran (out, its answer):
// it counts the code messages texted, and carries out the jobs due at
// once.
func (s *Service) synced(ctx context.Context, id string, args syncArgs, out []string) error {
	var sent []codeSent
	if err := json.Unmarshal([]byte(out[0]), &sent); err != nil {
		return fmt.Errorf("sync %s: answer %q: %w", id, out[0], err)
	}
	s.codesSent(args, sent)
	return s.carryOn(ctx, out[1:])
}

// syncPhones reads the numbers of order id's subjects, in order, for its
// sync; none (nil) when the order is gone or has reached MIIT already.
func (s *Service) syncPhones(ctx context.Context, id string) ([]string, error) {
	f, err := s.load(ctx, id)
	if err != nil {
		return nil, ignoreNotFound(err)
	}
	if f.v["status"] != StatusUnknown {
		return nil, nil
	}
	phones := make([]string, f.int("nsubj"))
	for i := range phones {
		phones[i] = f.v[fmt.Sprintf("s%d.phone", i+1)]
	}
	return phones, nil
}

// maxStale bounds how often a script is planned again because what it was
// planned with changed under it.
const maxStale = 10

// China Standard Time, where MIIT's noon is.
var cst = time.FixedZone("CST", 8*3600)

// NoonNextDay is 12:00 China Standard Time on the day after t (there).
func NoonNextDay(t time.Time) time.Time {
	c := t.In(cst)
	return time.Date(c.Year(), c.Month(), c.Day()+1, 12, 0, 0, 0, cst).UTC()
}

// ignoreNotFound drops the error that says the order is gone.
func ignoreNotFound(err error) error {
	if e := (*core.Error)(nil); errors.As(err, &e) && e.Code == http.StatusNotFound {
		return nil // the order is gone: a reset
	}
	return err
}

// onCode: MIIT texts a person their code. Args: filing, subject, phone,
// code, window (ms).
func (s *Service) onCode(ctx context.Context, job core.Job) error {
	if err := job.Arity(5); err != nil {
		return err
	}
	f, err := s.faults.Get(ctx)
	if err != nil {
		return err
	}
	v, err := s.rdb.HMGet(ctx, s.ks.Filing(job.Args[0]), "s"+job.Args[1]+".phone", "status", "deadline").Result()
	if err != nil {
		return fmt.Errorf("read filing %s: %w", job.Args[0], err)
	}
	current, status, deadline := str(v[0]), str(v[1]), str(v[2])
	if current != job.Args[2] {
		return nil // the number changed (or the order is gone): the code went to the new number then
	}
	if !held(status) || !job.Due.Before(msTime(deadline)) {
		// The order ended (canceled, rejected, past its window) before
		// MIIT sent the code: it sends nothing. A code a resend has
		// replaced since, or one of an order validated meanwhile, is still
		// sent, as MIIT sends it: a late, dead code.
		return nil
	}
	if s.rand.Chance(f.LostCodeRate, "lost_code", s.ks.Namespace, job.Seq) {
		s.log.Debug("code message lost inside MIIT", "filing", job.Args[0], "phone", job.Args[2])
		return nil // MIIT counts it as sent; the network never sees it
	}
	window, _ := strconv.ParseInt(job.Args[4], 10, 64)
	id := s.jobMessageID(job)
	_, err = s.gw.Send(ctx, gateway.SendRequest{
		ID: id, From: s.codeSender(f, job.Args[2], id), To: job.Args[2],
		Body: s.wording(f).Code(job.Args[3], time.Duration(window)*time.Millisecond),
		At:   job.Due,
	})
	return err
}

// jobMessageID names the message a job texts: the same each time the job
// is carried out (a retried job sends it once). The job's number starts
// again after a reset, so without a seed the id also derives from the
// job's order, whose id is drawn at random: a new message never takes the
// id of one before the reset. With a seed, a run after a reset names its
// messages as the first run did.
func (s *Service) jobMessageID(job core.Job) string {
	if s.rand.Seeded() {
		return s.rand.DerivedID("m", s.ks.Namespace, "event", job.Seq)
	}
	return s.rand.DerivedID("m", s.ks.Namespace, "event", job.Seq, job.Args[0])
}

// onNotice: the provider texts a person that the order was submitted.
// Args: filing, phone, window (ms).
func (s *Service) onNotice(ctx context.Context, job core.Job) error {
	if err := job.Arity(3); err != nil {
		return err
	}
	window, _ := strconv.ParseInt(job.Args[2], 10, 64)
	snap, err := s.state.Snapshot(ctx)
	if err != nil {
		return err
	}
	f := snap.Faults
	_, err = s.gw.Send(ctx, gateway.SendRequest{
		ID:   s.jobMessageID(job),
		From: s.providerSender, To: job.Args[1],
		Body: s.wording(f).Notice(job.Args[0], s.noticeSender(f, job.Args[1]), time.Duration(window)*time.Millisecond),
		At:   job.Due,
	})
	return err
}

var (
	//go:embed expire.lua
	expireLua    string
	expireScript = core.NewScript[expireArgs](luaLib, expireLua)
)

type expireArgs struct {
	Expect    core.Expect `json:"expect"`
	Bounds    core.Bounds `json:"bounds"`
	Now       int64       `json:"now"`        // ms
	ResultDue int64       `json:"result_due"` // when the provider learns of it, ms
}

// onExpire: the validation window ends; an order not fully validated is
// canceled.
func (s *Service) onExpire(ctx context.Context, job core.Job) error {
	if err := job.Arity(1); err != nil {
		return err
	}
	id := job.Args[0]
	var out []string
	err := s.withSnapshot(ctx, func(snap core.Snapshot) (err error) {
		lag := snap.Faults.ResultSyncLag.Draw(s.rand, "result_sync_lag", id, "expired")
		out, err = expireScript.Run(ctx, s.rdb, s.libKeys(s.ks.Filing(id)), expireArgs{Expect: snap.Expect, Bounds: snap.Bounds(),
			Now: job.Due.UnixMilli(), ResultDue: job.Due.Add(lag).UnixMilli()}).StringSlice()
		return err
	})
	if err != nil {
		return fmt.Errorf("expire %s: %w", id, err)
	}
	return s.carryOn(ctx, out)
}

var (
	//go:embed result.lua
	resultLua    string
	resultScript = core.NewScript[resultArgs](luaLib, resultLua)
)

// resultArgs are MIIT's state of a version of an order, as a miit.result
// job carries it to the provider at At (ms).
type resultArgs struct {
	Expect    core.Expect `json:"expect"`
	Bounds    core.Bounds `json:"bounds"`
	Version   string      `json:"version"`
	Status    string      `json:"status"`
	Validated string      `json:"validated"` // the roles validated, comma-separated
	At        int64       `json:"at"`
}

// onResult: MIIT's state of a version reaches the provider. Args: filing,
// version, status, validated roles.
func (s *Service) onResult(ctx context.Context, job core.Job) error {
	if err := job.Arity(4); err != nil {
		return err
	}
	err := s.withSnapshot(ctx, func(snap core.Snapshot) error {
		return resultScript.Run(ctx, s.rdb, s.libKeys(s.ks.Filing(job.Args[0])), resultArgs{Expect: snap.Expect, Bounds: snap.Bounds(),
			Version: job.Args[1], Status: job.Args[2], Validated: job.Args[3], At: job.Due.UnixMilli()}).Err()
	})
	if err != nil {
		return fmt.Errorf("result of %s: %w", job.Args[0], err)
	}
	return nil
}

var (
	//go:embed review.lua
	reviewLua    string
	reviewScript = core.NewScript[reviewArgs](luaLib, reviewLua)
)

type reviewArgs struct {
	Expect    core.Expect `json:"expect"`
	Bounds    core.Bounds `json:"bounds"`
	Outcome   string      `json:"outcome"`    // approved or returned
	Now       int64       `json:"now"`        // ms
	ResultDue int64       `json:"result_due"` // when the provider learns of it, ms
}

// onReview: the communications administration approves or returns an order
// under review.
func (s *Service) onReview(ctx context.Context, job core.Job) error {
	if err := job.Arity(1); err != nil {
		return err
	}
	id := job.Args[0]
	var out []string
	err := s.withSnapshot(ctx, func(snap core.Snapshot) (err error) {
		f := snap.Faults
		outcome := StatusReturned
		if s.rand.Chance(f.Review.ApproveRatio, "approve", id) {
			outcome = StatusApproved
		}
		lag := f.ResultSyncLag.Draw(s.rand, "result_sync_lag", id, outcome)
		out, err = reviewScript.Run(ctx, s.rdb, s.libKeys(s.ks.Filing(id)), reviewArgs{Expect: snap.Expect, Bounds: snap.Bounds(),
			Outcome: outcome, Now: job.Due.UnixMilli(), ResultDue: job.Due.Add(lag).UnixMilli()}).StringSlice()
		return err
	})
	if err != nil {
		return fmt.Errorf("review %s: %w", id, err)
	}
	return s.carryOn(ctx, out)
}

var (
	//go:embed auto_resend.lua
	autoResendLua    string
	autoResendScript = core.NewScript[autoResendArgs](luaLib, autoResendLua)
)

type autoResendArgs struct {
	Now int64 `json:"now"` // ms
}

// onAutoResend: MIIT sends the current codes once more, at noon the day
// after, to whoever has not validated yet. It changes no code and counts no
// resend.
func (s *Service) onAutoResend(ctx context.Context, job core.Job) error {
	if err := job.Arity(1); err != nil {
		return err
	}
	codes, err := autoResendScript.Run(ctx, s.rdb, s.libKeys(s.ks.Filing(job.Args[0])), autoResendArgs{Now: job.Due.UnixMilli()}).StringSlice()
	if err != nil {
		return fmt.Errorf("auto resend %s: %w", job.Args[0], err)
	}
	return s.sched.RunNow(ctx, codes...)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func msTime(s string) time.Time {
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.UnixMilli(n).UTC()
}
