package miit_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"smsim/gateway"
	"smsim/miit"
	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

// dumpKeys answers every key of w's namespace but the runs' marks and the
// event log, as type, lifetime (forever, or alive) and value, its prefix
// taken off, sorted.
func dumpKeys(t *testing.T, w *world) []string {
	t.Helper()
	keys, err := testkit.Keys(w.ctx, w.rdb, w.ks.Pattern())
	if err != nil {
		t.Fatal(err)
	}
	head := w.ks.Prefix + ":{" + w.ks.Namespace + "}:"
	var out []string
	for _, k := range keys {
		name := strings.TrimPrefix(k, head)
		if strings.HasPrefix(name, "sched:run:") || name == "events" || name == "clock" {
			continue
		}
		typ := w.rdb.Type(w.ctx, k).Val()
		ttl := w.rdb.PTTL(w.ctx, k).Val()
		life := "forever"
		if ttl > 0 {
			life = "ttl " + ttl.Round(time.Minute).String()
		}
		var val string
		switch typ {
		case "string":
			val = w.rdb.Get(w.ctx, k).Val()
		case "hash":
			h := w.rdb.HGetAll(w.ctx, k).Val()
			var f []string
			for k, v := range h {
				if strings.HasSuffix(k, ".kept") {
					v = "(real ms)"
				}
				f = append(f, k+"="+v)
			}
			sort.Strings(f)
			val = strings.Join(f, " ")
		case "zset":
			m := w.rdb.ZRange(w.ctx, k, 0, -1).Val()
			for i := range m {
				m[i] = canonicalJSON(m[i])
			}
			if name == "phones" { // scored by the real time
				slices.Sort(m)
			}
			val = strings.Join(m, " ")
		case "set":
			m := w.rdb.SMembers(w.ctx, k).Val()
			slices.Sort(m)
			val = strings.Join(m, " ")
		case "list":
			val = strings.Join(w.rdb.LRange(w.ctx, k, 0, -1).Val(), " ")
		}
		out = append(out, fmt.Sprintf("%s %s %s: %s", name, typ, life, val))
	}
	return out
}

// buildWorldLimits is buildWorldLimited, failing the test on an error.
func buildWorldLimits(t *testing.T, so core.SchedulerOptions, limits core.Limits) *world {
	t.Helper()
	w, err := buildWorldLimited(t, so, limits)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// Syncs in runs, with retention, a namespace TTL and a cap of the folders,
// leave the store as one at a time does: the same keys, values and
// lifetimes. Orders share numbers, so that a run's syncs text the same
// phones.
func TestSyncsInRunsLeaveTheStoreAsOneAtATime(t *testing.T) {
	limits := core.Limits{Retention: time.Hour, NamespaceTTL: 3 * time.Hour, InboxMax: 3, Unheard: true}
	story := func(run int) (keys, events []string) {
		w := buildWorldLimits(t, core.SchedulerOptions{Run: run}, limits)
		w.set(func(f *core.Faults) {
			f.SyncLag = core.Fixed(time.Hour)
			f.SMSDelay = core.Fixed(0)
		})
		phone := func(i int) string { return fmt.Sprintf("1370%07d", i%5) }
		for i := range 24 {
			if i%2 == 0 {
				w.submit(appFiling(phone(i)))
			} else {
				w.submit(websiteFiling(phone(i), phone(i+2)))
			}
		}
		w.advance(2 * time.Hour)
		return dumpKeys(t, w), loggedEvents(t, w)
	}
	sameStories(t, story)
}

// The same with numbers of every kind of profile, lags of zero and not,
// codes lost, and numbers changed while the sync waited.
func TestSyncsInRunsLeaveTheStoreAsOneAtATimeMixed(t *testing.T) {
	limits := core.Limits{Retention: time.Hour, NamespaceTTL: 3 * time.Hour, InboxMax: 3, Unheard: true}
	story := func(run int) (keys, events []string) {
		w := buildWorldLimits(t, core.SchedulerOptions{Run: run}, limits)
		phone := func(i int) string { return fmt.Sprintf("1370%07d", i%7) }
		profiles := []func(p *gateway.Profile){
			func(p *gateway.Profile) { p.SpamFilter = true },
			func(p *gateway.Profile) { p.InboxLimit = 2 },
			func(p *gateway.Profile) { p.Reachable = false },
			func(p *gateway.Profile) { p.DuplicateRate = 0.5 },
			func(p *gateway.Profile) { p.Delay = core.Uniform(0, 10*time.Minute) },
			func(p *gateway.Profile) { p.BlockSenders = []string{"12381"} },
		}
		setProfiles(t, w, phone, profiles)
		w.set(func(f *core.Faults) {
			f.SyncLag = core.Uniform(time.Hour, 90*time.Minute)
			f.ResultSyncLag = core.Fixed(0)
			f.SMSDelay = core.Uniform(0, 5*time.Minute)
			f.LostCodeRate = 0.1
		})
		for i := range 48 {
			switch i % 4 {
			case 0:
				w.submit(appFiling(phone(i)))
			case 1:
				w.submit(websiteFiling(phone(i), phone(i+3)))
			case 2:
				w.set(func(f *core.Faults) { f.MIITSendDelay = core.Uniform(0, 10*time.Minute) })
				w.submit(websiteFiling(phone(i), phone(i+1)))
				w.set(func(f *core.Faults) { f.MIITSendDelay = core.Fixed(0) })
			default:
				v := w.submit(miit.SubmitRequest{Type: "cancel", Variant: "website", WebsiteAdmin: admin(phone(i))})
				if _, err := w.svc.ChangeNumbers(w.ctx, v.ID, adminTo(phone(i+2))); err != nil {
					t.Fatal(err)
				}
			}
		}
		count := &runCount{}
		w.rdb.AddHook(count)
		w.advance(3 * time.Hour)
		t.Logf("run=%d: %d runs", run, count.n)
		return dumpKeys(t, w), loggedEvents(t, w)
	}
	sameStories(t, story)
}

// setProfiles gives phone(i) the default profile changed by profiles[i].
func setProfiles(t *testing.T, w *world, phone func(int) string, profiles []func(*gateway.Profile)) {
	t.Helper()
	for i, f := range profiles {
		p := gateway.DefaultProfile()
		f(&p)
		if err := w.gw.SetProfile(w.ctx, phone(i), p); err != nil {
			t.Fatal(err)
		}
	}
}

// loggedEvents answers w's event log, an event a line: when (from t0),
// kind, data.
func loggedEvents(t *testing.T, w *world) []string {
	t.Helper()
	records, err := w.events.After(w.ctx, "", 10000)
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, r := range records {
		events = append(events, fmt.Sprintf("%s %s %s", r.At.Sub(t0), r.Kind, canonicalJSON(string(r.Data))))
	}
	return events
}

// canonicalJSON answers the JSON text s with its objects' fields in order,
// or s when it is no JSON: two texts of the same values read the same.
func canonicalJSON(s string) string {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return s
	}
	return string(b)
}

// sameStories fails unless story in runs of 16 leaves the store's keys
// and the event log as one at a time does.
func sameStories(t *testing.T, story func(run int) (keys, events []string)) {
	t.Helper()
	oneKeys, oneEvents := story(1)
	runKeys, runEvents := story(16)
	if got, want := strings.Join(runEvents, "\n"), strings.Join(oneEvents, "\n"); got != want {
		t.Errorf("the event log in runs\n%s\nwant, as one at a time\n%s", got, want)
	}
	if got, want := strings.Join(runKeys, "\n"), strings.Join(oneKeys, "\n"); got != want {
		t.Errorf("the store in runs\n%s\nwant, as one at a time\n%s", got, want)
	}
	t.Logf("%d keys, %d events", len(oneKeys), len(oneEvents))
}

// The texts of the messages that a submission and a sync send, made in Go
// (gateway.WithTexts), leave the store and the event log as the scripts'
// own encoding of them does: notices and codes, in runs and alone, lags of
// zero and not, to numbers of every kind of profile, and codes whose first
// candidates are live (another candidate's messages take the first's
// trail alone; the candidates after the first come as a text, decoded
// then), with and without a message sent at once.
func TestTextsMadeInGoAreWhatTheScriptsEncode(t *testing.T) {
	limits := core.Limits{Retention: time.Hour, NamespaceTTL: 3 * time.Hour, InboxMax: 3, Unheard: true}
	for _, run := range []int{16, 1} {
		t.Run(fmt.Sprintf("run=%d", run), func(t *testing.T) {
			story := func(scriptTexts bool) (keys, events, seconds []string) {
				w := buildWorldLimits(t, core.SchedulerOptions{Run: run}, limits)
				if scriptTexts {
					miit.EncodeTextsInScripts(w.svc)
				}
				phone := func(i int) string { return fmt.Sprintf("1370%07d", i%8) }
				profiles := []func(p *gateway.Profile){
					func(p *gateway.Profile) {},
					func(p *gateway.Profile) { p.SpamFilter = true },
					func(p *gateway.Profile) { p.InboxLimit = 2 },
					func(p *gateway.Profile) { p.Reachable = false },
					func(p *gateway.Profile) { p.DuplicateRate = 1 },
					func(p *gateway.Profile) { p.Delay = core.Uniform(0, 10*time.Minute) },
					func(p *gateway.Profile) { p.BlockKeywords = []string{"ICP"} },
					func(p *gateway.Profile) { p.BlockKeywords = []string{"no such word"} },
				}
				setProfiles(t, w, phone, profiles)
				for i := range 48 {
					w.set(func(f *core.Faults) {
						f.SyncLag = core.Fixed(time.Hour)
						if i%3 == 0 {
							f.SyncLag = core.Fixed(0) // the submission's script syncs it
						}
						f.SMSDelay = core.Fixed(0)
						if i%5 == 0 {
							f.SMSDelay = core.Uniform(0, 5*time.Minute)
						}
						f.MIITSendDelay = core.Fixed(0)
						if i%7 == 0 { // the code goes by a job: the sync sends no message
							f.MIITSendDelay = core.Fixed(10 * time.Minute)
						}
						f.LostCodeRate = 0.1
					})
					var v miit.ProviderView
					if i%2 == 0 {
						v = w.submit(appFiling(phone(i)))
					} else {
						v = w.submit(websiteFiling(phone(i), phone(i+3)))
					}
					if i%3 == 1 { // its first code is another order's, live, and every other time its second too
						c := miit.CodeCandidates(w.svc, v.ID, 1)
						taken := 1 + i%2
						for _, code := range c[:taken] {
							if err := w.rdb.Set(w.ctx, w.ks.Code(code), "9999999999999|f_another", 0).Err(); err != nil {
								t.Fatal(err)
							}
						}
						seconds = append(seconds, c[taken])
					}
				}
				w.advance(3 * time.Hour)
				return dumpKeys(t, w), loggedEvents(t, w), seconds
			}
			encodedKeys, encodedEvents, seconds := story(true)
			textKeys, textEvents, _ := story(false)
			if got, want := strings.Join(textEvents, "\n"), strings.Join(encodedEvents, "\n"); got != want {
				t.Errorf("the event log with texts made in Go\n%s\nwant, as the scripts encode them\n%s", got, want)
			}
			if got, want := strings.Join(textKeys, "\n"), strings.Join(encodedKeys, "\n"); got != want {
				t.Errorf("the store with texts made in Go\n%s\nwant, as the scripts encode them\n%s", got, want)
			}
			// what was compared holds what each case is for
			log := strings.Join(textEvents, "\n")
			for _, want := range []string{" sms.delivered ", " sms.blocked ", " sms.failed ", `"reason":"inbox_full"`, " filing.submitted "} {
				if !strings.Contains(log, want) {
					t.Errorf("no %q in the event log", want)
				}
			}
			picked := 0
			for _, c := range seconds {
				if strings.Contains(log, `"code":"`+c+`"`) {
					picked++
				}
			}
			if picked < len(seconds)/2 {
				t.Errorf("%d of %d syncs whose first codes were live sent the next, want most", picked, len(seconds))
			}
			t.Logf("%d keys, %d events, %d next codes sent", len(textKeys), len(textEvents), picked)
		})
	}
}
