package miit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/gateway"
	"smsim/simulator/core"
)

var idPattern = regexp.MustCompile(`^f_[0-9a-f]{16}$`)

// codeCandidates is how many codes a script is offered for each code it
// issues: it takes the first that is no live code.
const codeCandidates = 4

var syncScript = redis.NewScript(luaLib + `
local F = KEYS[4]
if redis.call('HGET', F, 'status') ~= 'unknown' then return {} end
local now, deadline, autoresend, review_due, result_due, window = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
due_limit = tonumber(now)
local id = redis.call('HGET', F, 'id')
local n = nsubj(F)
if n == 0 then
  count_status(F, 'under_review')
  redis.call('HSET', F, 'status', 'under_review', 'validated_at', now)
  bump(F, result_due, 'under_review')
  schedule(KEYS[1], KEYS[2], review_due, 'miit.review', {id})
  return with_due_now({})
end
local v = redis.call('HINCRBY', F, 'version', 1)
count_status(F, 'pending_validation')
redis.call('HSET', F, 'status', 'pending_validation', 'prov_status', 'pending_validation', 'prov_version', v,
  'codes_sent_at', now, 'deadline', deadline)
emit_status(F, 'miit', 'pending_validation')
emit_status(F, 'provider', 'pending_validation')
for i = 1, n do
  local c, base = {}, 6 + (i - 1) * (` + strconv.Itoa(codeCandidates) + ` + 1)
  for j = 1, ` + strconv.Itoa(codeCandidates) + ` do c[j] = ARGV[base + j] end
  local code = new_code(c)
  if not code then return redis.error_reply('no free code among the candidates') end
  redis.call('HSET', F, 's' .. i .. '.code', code)
  schedule(KEYS[1], KEYS[2], ARGV[base + ` + strconv.Itoa(codeCandidates) + ` + 1], 'miit.code', {id, tostring(i), subj(F, i, 'phone'), code, window})
end
schedule(KEYS[1], KEYS[2], deadline, 'miit.expire', {id})
if autoresend ~= '' then schedule(KEYS[1], KEYS[2], autoresend, 'miit.autoresend', {id}) end
return with_due_now({})
`)

// onSync: the order reaches MIIT's validation database. MIIT texts each
// required person a code and the validation window starts; an order that
// needs no one goes straight to review.
func (s *Service) onSync(ctx context.Context, job core.Job) error {
	if err := job.Arity(1); err != nil {
		return err
	}
	id := job.Args[0]
	f, err := s.load(ctx, id)
	if err != nil {
		return ignoreNotFound(err)
	}
	if f.v["status"] != StatusUnknown {
		return nil
	}
	prof, err := s.faults.Get(ctx)
	if err != nil {
		return err
	}
	now := job.Due
	deadline := now.Add(prof.ValidationWindow)
	autoresend := ""
	if prof.AutoResendNoon {
		autoresend = strconv.FormatInt(NoonNextDay(now).UnixMilli(), 10)
	}
	review := now.Add(prof.Review.Time.Draw(s.rand, "review", id))
	result := now.Add(prof.ResultSyncLag.Draw(s.rand, "result_sync_lag", id, StatusUnderReview))
	argv := []any{now.UnixMilli(), deadline.UnixMilli(), autoresend, review.UnixMilli(), result.UnixMilli(), prof.ValidationWindow.Milliseconds()}
	for i := 1; i <= f.int("nsubj"); i++ {
		for j := 0; j < codeCandidates; j++ {
			argv = append(argv, s.rand.Code("code", id, strconv.Itoa(i), "0", strconv.Itoa(j)))
		}
		// MIIT takes its own time to hand the first code message over.
		argv = append(argv, now.Add(prof.MIITSendDelay.Draw(s.rand, "miit_send_delay", id, strconv.Itoa(i))).UnixMilli())
	}
	codes, err := syncScript.Run(ctx, s.rdb, s.schedKeys(s.filingKey(id)), argv...).StringSlice()
	if err != nil {
		return fmt.Errorf("sync %s: %w", id, err)
	}
	return s.sched.RunNow(ctx, codes...)
}

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
	current, err := s.rdb.HGet(ctx, s.filingKey(job.Args[0]), "s"+job.Args[1]+".phone").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("read filing %s: %w", job.Args[0], err)
	}
	if current != job.Args[2] {
		return nil // the number changed (or the order is gone): the code went to the new number then
	}
	if s.rand.Chance(f.LostCodeRate, "lost_code", s.ks.Namespace, job.Seq) {
		s.log.Debug("code message lost inside MIIT", "filing", job.Args[0], "phone", job.Args[2])
		return nil // MIIT counts it as sent; the network never sees it
	}
	window, _ := strconv.ParseInt(job.Args[4], 10, 64)
	_, err = s.gw.Send(ctx, gateway.SendRequest{
		ID:   s.rand.DerivedID("m", s.ks.Namespace, "event", job.Seq),
		From: s.miitSender, To: job.Args[2],
		Body: CodeText(job.Args[3], time.Duration(window)*time.Millisecond),
		At:   job.Due,
	})
	return err
}

// onNotice: the provider texts a person that the order was submitted.
// Args: filing, phone, window (ms).
func (s *Service) onNotice(ctx context.Context, job core.Job) error {
	if err := job.Arity(3); err != nil {
		return err
	}
	window, _ := strconv.ParseInt(job.Args[2], 10, 64)
	_, err := s.gw.Send(ctx, gateway.SendRequest{
		ID:   s.rand.DerivedID("m", s.ks.Namespace, "event", job.Seq),
		From: s.providerSender, To: job.Args[1],
		Body: NoticeText(job.Args[0], s.miitSender, time.Duration(window)*time.Millisecond),
		At:   job.Due,
	})
	return err
}

var expireScript = redis.NewScript(luaLib + `
local F = KEYS[4]
due_limit = tonumber(ARGV[1])
if redis.call('HGET', F, 'status') ~= 'pending_validation' then return {} end
kill_codes(F)
count_status(F, 'canceled')
redis.call('HSET', F, 'status', 'canceled', 'canceled_by', 'expiry', 'canceled_at', ARGV[1])
bump(F, ARGV[2], 'canceled')
return with_due_now({})
`)

// onExpire: the validation window ends; an order not fully validated is
// canceled.
func (s *Service) onExpire(ctx context.Context, job core.Job) error {
	if err := job.Arity(1); err != nil {
		return err
	}
	id := job.Args[0]
	lag, err := s.resultLag(ctx, id, "expired")
	if err != nil {
		return err
	}
	due, err := expireScript.Run(ctx, s.rdb, s.schedKeys(s.filingKey(id)), job.Due.UnixMilli(), job.Due.Add(lag).UnixMilli()).StringSlice()
	if err != nil {
		return fmt.Errorf("expire %s: %w", id, err)
	}
	return s.sched.RunNow(ctx, due...)
}

func (s *Service) resultLag(ctx context.Context, id string, parts ...string) (time.Duration, error) {
	f, err := s.faults.Get(ctx)
	if err != nil {
		return 0, err
	}
	return f.ResultSyncLag.Draw(s.rand, append([]string{"result_sync_lag", id}, parts...)...), nil
}

// resultScript brings MIIT's state of version ARGV[1] to the provider: its
// status unless the provider shows a newer one (a customer's cancel is
// known at once), its validated flags unless newer ones arrived.
var resultScript = redis.NewScript(`
local F = KEYS[1]
if not redis.call('HGET', F, 'id') then return 0 end
local v = tonumber(ARGV[1])
local changed = false
if v > tonumber(redis.call('HGET', F, 'prov_version')) then
  redis.call('HSET', F, 'prov_version', ARGV[1], 'prov_status', ARGV[2])
  changed = true
end
if v > tonumber(redis.call('HGET', F, 'prov_flags_version') or '0') then
  redis.call('HSET', F, 'prov_flags_version', ARGV[1], 'prov_validated', ARGV[3])
  changed = true
end
if changed then
  local st = redis.call('HMGET', F, 'id', 'prov_status', 'prov_validated')
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', '` + strconv.Itoa(core.DefaultEventLogLen) + `', '*', 'at', ARGV[4], 'kind', 'filing.status',
    'data', cjson.encode({id = st[1], view = 'provider', status = st[2], validated = st[3]}))
end
return 1
`)

// onResult: MIIT's state of a version reaches the provider. Args: filing,
// version, status, validated roles.
func (s *Service) onResult(ctx context.Context, job core.Job) error {
	if err := job.Arity(4); err != nil {
		return err
	}
	return resultScript.Run(ctx, s.rdb, []string{s.filingKey(job.Args[0]), s.ks.Key("events")},
		job.Args[1], job.Args[2], job.Args[3], job.Due.UnixMilli()).Err()
}

var reviewScript = redis.NewScript(luaLib + `
local F = KEYS[4]
due_limit = tonumber(ARGV[3])
if redis.call('HGET', F, 'status') ~= 'under_review' then return {} end
count_status(F, ARGV[1])
redis.call('HSET', F, 'status', ARGV[1], 'reviewed_at', ARGV[3])
bump(F, ARGV[2], ARGV[1])
return with_due_now({})
`)

// onReview: the communications administration approves or returns an order
// under review.
func (s *Service) onReview(ctx context.Context, job core.Job) error {
	if err := job.Arity(1); err != nil {
		return err
	}
	id := job.Args[0]
	f, err := s.faults.Get(ctx)
	if err != nil {
		return err
	}
	outcome := StatusReturned
	if s.rand.Chance(f.Review.ApproveRatio, "approve", id) {
		outcome = StatusApproved
	}
	lag := f.ResultSyncLag.Draw(s.rand, "result_sync_lag", id, outcome)
	due, err := reviewScript.Run(ctx, s.rdb, s.schedKeys(s.filingKey(id)), outcome, job.Due.Add(lag).UnixMilli(), job.Due.UnixMilli()).StringSlice()
	if err != nil {
		return fmt.Errorf("review %s: %w", id, err)
	}
	return s.sched.RunNow(ctx, due...)
}

var autoResendScript = redis.NewScript(luaLib + `
local F = KEYS[4]
local now = tonumber(ARGV[1])
due_limit = now
if not live(F, now) then return {} end
local id = redis.call('HGET', F, 'id')
local window = tonumber(redis.call('HGET', F, 'deadline')) - tonumber(redis.call('HGET', F, 'codes_sent_at'))
for i = 1, nsubj(F) do
  if subj(F, i, 'validated') ~= '1' then
    schedule(KEYS[1], KEYS[2], now, 'miit.code', {id, tostring(i), subj(F, i, 'phone'), subj(F, i, 'code'), tostring(window)})
  end
end
return with_due_now({})
`)

// onAutoResend: MIIT sends the current codes once more, at noon the day
// after, to whoever has not validated yet. It changes no code and counts no
// resend.
func (s *Service) onAutoResend(ctx context.Context, job core.Job) error {
	if err := job.Arity(1); err != nil {
		return err
	}
	codes, err := autoResendScript.Run(ctx, s.rdb, s.schedKeys(s.filingKey(job.Args[0])), job.Due.UnixMilli()).StringSlice()
	if err != nil {
		return fmt.Errorf("auto resend %s: %w", job.Args[0], err)
	}
	return s.sched.RunNow(ctx, codes...)
}
