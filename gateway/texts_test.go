package gateway

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

// The texts made in Go (WithTexts) are what the script would encode itself:
// the same messages, sent once with their texts and once without, in two
// namespaces of one store, leave the same events, folders, messages and
// jobs there, read as JSON — a message delivered to the inbox, blocked,
// failed at once, refused by a full inbox (where the script encodes its
// texts after all), delayed, sent twice, with a body of every kind of
// character.
func TestTextsAreWhatTheScriptEncodes(t *testing.T) {
	ctx := context.Background()
	r := testkit.StartRedis(t)
	rdb := r.Client(t)
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	odd := `<&> "quoted" \ / 中文 ` + "\u2028 \t\n\x01 [MIIT]"
	type send struct {
		to, profile, body string
		delay             time.Duration
		duplicates        bool
	}
	sends := []send{
		{to: "13800000001", body: "Your code is 123456. " + odd},
		{to: "13800000002", profile: `{"reachable":true,"block_keywords":["spam"]}`, body: "spam " + odd},
		{to: "13800000003", profile: `{"reachable":false}`, body: "to no one"},
		{to: "13800000004", profile: `{"reachable":true,"inbox_limit":1}`, body: "the first fits"},
		{to: "13800000004", profile: `{"reachable":true,"inbox_limit":1}`, body: "the second does not"},
		{to: "13800000005", body: "later", delay: 5 * time.Second},
		{to: "13800000006", body: "twice, code 654321", duplicates: true},
	}
	read := func(ks core.Keyspace) map[string]any {
		got := map[string]any{}
		entries, err := rdb.XRange(ctx, ks.Events(), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		var events []any
		for _, e := range entries {
			var data any
			if err := json.Unmarshal([]byte(e.Values["data"].(string)), &data); err != nil {
				t.Fatalf("event %s: %v", e.Values["kind"], err)
			}
			events = append(events, []any{e.Values["at"], e.Values["kind"], data})
		}
		got["events"] = events
		for _, s := range sends {
			for folder, key := range map[string]string{FolderInbox: ks.PhoneInbox(s.to), FolderBlocked: ks.PhoneBlocked(s.to)} {
				zs, err := rdb.ZRangeWithScores(ctx, key, 0, -1).Result()
				if err != nil {
					t.Fatal(err)
				}
				var records []any
				for _, z := range zs {
					var rec any
					if err := json.Unmarshal([]byte(z.Member.(string)), &rec); err != nil {
						t.Fatalf("%s of %s: %v", folder, s.to, err)
					}
					records = append(records, []any{z.Score, rec})
				}
				got[s.to+" "+folder] = records
			}
			for name, set := range map[string]string{"travelling": ks.PhoneTravelling(s.to), "failed": ks.PhoneFailed(s.to)} {
				got[s.to+" "+name] = rdb.ZRangeWithScores(ctx, set, 0, -1).Val()
			}
		}
		ids, err := rdb.ZRange(ctx, ks.SchedDue(), 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		got["jobs"] = ids
		return got
	}
	run := func(ns string, texts bool) (map[string]any, map[string]map[string]string) {
		ks := core.Keyspace{Prefix: r.Prefix, Namespace: ns}
		g := &Gateway{ks: ks, rand: core.NewSeededSource(7)}
		msgs := map[string]map[string]string{}
		for i, s := range sends {
			if s.profile != "" {
				if err := rdb.Set(ctx, ks.PhoneProfile(s.to), s.profile, 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
			g.phones.set(s.to, phoneState{raw: s.profile})
			f := core.DefaultFaults()
			f.SMSDelay = core.Fixed(s.delay)
			if s.duplicates {
				f.DuplicateRate = 1
			}
			keys := core.NewKeyList(sendNowKeys(ks)...)
			id := "m_" + string(rune('a'+i))
			outs, ok := g.Plan(f, SendRequest{ID: id, From: "12381", To: s.to, Body: s.body, At: at}, keys)
			if !ok {
				t.Fatalf("send %d: not planned", i+1)
			}
			if texts {
				WithTexts(outs, 2)
			}
			statuses, err := sendNowScript.Run(ctx, rdb, keys.Keys(), sendNowArgs{Messages: outs}).StringSlice()
			if err != nil {
				t.Fatalf("send %d: %v", i+1, err)
			}
			for k, o := range outs {
				msgs[o.ID] = rdb.HGetAll(ctx, ks.Message(o.ID)).Val()
				msgs[o.ID]["(status answered)"] = statuses[k]
			}
		}
		return read(ks), msgs
	}
	live := rdb.Subscribe(ctx, core.Keyspace{Prefix: r.Prefix, Namespace: "texts"}.Live())
	defer live.Close()
	if _, err := live.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	texted, msgsWithTexts := run("texts", true)
	encoded, msgsEncoded := run("encoded", false)
	// a message delivered at once tells its two events in one message
	var told []string
	for range 8 {
		m, err := live.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, ev := range strings.Split(m.Payload, "\x1e") {
			kinds = append(kinds, strings.Split(ev, "\n")[2])
		}
		told = append(told, strings.Join(kinds, "+"))
	}
	wantTold := []string{"sms.sent+sms.delivered", "sms.sent+sms.blocked", "sms.sent+sms.failed", "sms.sent+sms.delivered",
		"sms.sent+sms.failed", "sms.sent", "sms.sent+sms.delivered", "sms.sent+sms.delivered"}
	if !slices.Equal(told, wantTold) {
		t.Errorf("the live channel told\n%q\nwant\n%q", told, wantTold)
	}
	if !reflect.DeepEqual(texted, encoded) {
		for k := range encoded {
			if !reflect.DeepEqual(texted[k], encoded[k]) {
				t.Errorf("%s with texts:\n%v\nencoded by the script:\n%v", k, texted[k], encoded[k])
			}
		}
	}
	if !reflect.DeepEqual(msgsWithTexts, msgsEncoded) {
		t.Errorf("the messages with texts:\n%v\nencoded by the script:\n%v", msgsWithTexts, msgsEncoded)
	}
	// what was compared holds what each case is for
	want := map[string]string{"m_a": StatusDelivered, "m_b": StatusBlocked, "m_c": StatusFailed, "m_d": StatusDelivered,
		"m_e": StatusFailed, "m_f": "", "m_g": StatusDelivered}
	for id, status := range want {
		if got := msgsWithTexts[id]["(status answered)"]; got != status {
			t.Errorf("%s answered %q, want %q", id, got, status)
		}
	}
	if msgsWithTexts["m_e"]["reason"] != ReasonInboxFull {
		t.Errorf("the second message to a full inbox: reason %q, want %q", msgsWithTexts["m_e"]["reason"], ReasonInboxFull)
	}
	if len(msgsWithTexts) != len(want)+1 {
		t.Errorf("%d messages, want %d (the last sent twice)", len(msgsWithTexts), len(want)+1)
	}
	if n := len(texted["events"].([]any)); n != 15 {
		t.Errorf("%d events, want 15 (8 sent, 7 outcomes)", n)
	}
}
