package core

import (
	"slices"
	"strings"
)

// DefaultNamespace is the namespace of a request that names none.
const DefaultNamespace = "default"

// A KeyDef describes a key of the store, or a family of keys: Name holds a
// <placeholder> for each part its function fills in.
//
// Every key of a namespace is <prefix>:{<namespace>}:<name>: the namespace
// is a Redis Cluster hash tag, so that the keys one script touches live on
// one shard. A few keys belong to the process and are shared by every
// namespace: <prefix>:<name>. KeyDefs lists every key — name, Redis type,
// writer, lifetime — and each has a function here that builds it
// (Keyspace.Filing, NamespacesKey…); no key is spelled anywhere else. The
// schema's documentation, KEYS.md beside this file, is the same list as a
// table, and a test keeps the two in step.
type KeyDef struct {
	Name     string // "filing:<id>"
	Type     string // Redis type: string, hash, list, set, zset or stream
	Writer   string // who writes it, and what it holds
	Lifetime string // how long it lives
	Shared   bool   // the process's, under the prefix alone, shared by every namespace
	// Server: the Redis server's, under no prefix, as what it describes is
	// (its libraries of functions): Name is the whole key.
	Server bool
	// LongLived: a key of the namespace as a whole (no placeholder), whose
	// lifetime a process that uses the namespace writes afresh
	// (Keyspace.LongLived); the other keys get theirs when written.
	LongLived bool
}

// Pattern is the key's full form: <prefix>:{<ns>}:Name, <prefix>:Name for
// a shared key, Name for a server's.
func (d KeyDef) Pattern() string {
	if d.Server {
		return d.Name
	}
	if d.Shared {
		return "<prefix>:" + d.Name
	}
	return "<prefix>:{<ns>}:" + d.Name
}

var (
	keyNamespaces = KeyDef{Name: "namespaces", Type: "zset", Shared: true,
		Writer: "simulator.World: the namespaces requests used, scored by the real Unix ms of the last use (recorded at most every 10 s per process); a write to one not in use is admitted against --max-namespaces in one step (admit.lua), its place given back if the write is refused (admit_release.lua)",
		Lifetime: "forever, across resets; a namespace idle for longer than --namespace-idle is left out of the listing and of the background work, " +
			"and one idle for longer than --namespace-ttl leaves it (its keys have expired)"}
	keyWebhooked = KeyDef{Name: "webhooked", Type: "set", Shared: true,
		Writer:   "simulator.Namespace (RegisterWebhook, DeleteWebhook, Reset): the namespaces that have webhooks; every process runs their dispatchers, and no other",
		Lifetime: "forever; a namespace until its last hook is deleted, it is reset, or it leaves `namespaces` past --namespace-ttl"}
	keyLibraries = KeyDef{Name: "smsim:libraries", Type: "zset", Server: true,
		Writer: "core (luaCode's loadLibrary, ZADD; PruneLibraries, ZREM): the libraries of functions of smsim's scripts loaded into the store (`smsim_<SHA-1>`), " +
			"each scored by when it was last loaded (real ms); a store's libraries are the server's, not a prefix's, and so is this key",
		Lifetime: "forever; a library's note until a process of another build prunes it, 24 h after that load at the soonest"}
	keyChanges = KeyDef{Name: "changes", Type: "channel", Shared: true,
		Writer:   "simulator.Namespace: the name of a namespace whose clock or fault profile a process set, or that it reset; every process listens, and reads that namespace's clock and profile afresh before it serves it again",
		Lifetime: "nothing is stored: a Pub/Sub channel"}
	keyClock = KeyDef{Name: "clock", Type: "hash", LongLived: true,
		Writer: "core.Clock (clock_init.lua, clock_move.lua): the anchor `sim` (simulated ms) read at `real` (real ms), `scale`, `paused`; " +
			"`expect`, `=` and the anchor and the fault profile's SHA-1 joined by `|` (core.Expect), which every writer of the anchor or the profile sets in the same script and the scripts' stale check reads alone; " +
			"core.Scheduler's advances (clock_advance.lua, clock_take.lua, clock_finish.lua): while one is unfinished, its target `advance_to` (simulated ms), " +
			"`advance_key` (its Idempotency-Key), `advance_owner` and `advance_lease` (real ms); `advanced_key` and `advanced`, the key and answer of the latest finished advance that had one; " +
			"`advanced:<key>`, the answers of the latest 64 keyed advances, whose keys `advanced_keys` lists, oldest first",
		Lifetime: "long-lived; a reset sets it again to its start value"}
	keyFaults = KeyDef{Name: "faults", Type: "string", LongLived: true,
		Writer:   "core.FaultStore (faults_store.lua, which mirrors its SHA-1 in the clock's `expect`): the fault profile: the SHA-1 of its JSON (40 hex digits), then the JSON; a store written before holds the JSON alone, which the stale check hashes where the clock has no mirror of it",
		Lifetime: "long-lived (absent: the default profile)"}
	keyEvents = KeyDef{Name: "events", Type: "stream", LongLived: true,
		Writer:   "core.EventLog and every script that emits (the prelude's emit): fields `at` (simulated ms), `kind`, `data` (JSON); the webhooks read it through the consumer group `webhooks`",
		Lifetime: "long-lived; its newest ~10000 entries (XADD MAXLEN ~)"}
	keyLive = KeyDef{Name: "events:live", Type: "channel",
		Writer:   "every event written (the prelude's emit) is published on it: id, at, kind, data, a line each; a message may tell several events, each but the last ended by the ASCII record separator (byte 30): a message sent and delivered at once tells its `sms.sent` with its outcome; core.Subscriber listens to the channels of the namespaces a process's watchers follow. On one Redis (and the embedded store), once an event of a script reached nobody, the script publishes no more: nobody can start listening while it runs; a watcher that starts later reads the log. On a cluster, whose nodes count only their own listeners, every event is published (core.CountsEveryListener)",
		Lifetime: "nothing is stored: a Pub/Sub channel"}
	keySeq = KeyDef{Name: "seq", Type: "hash", LongLived: true,
		Writer:   "sequence numbers, each a field: `job` and `dead` (core.Scheduler), `filing`, `validation`, `resend` and `filings_swept` (the score in `filings` up to which submit.lua last looked for expired orders) (miit), `message`, `delivery`, `travel`, `failure` (gateway); and `codes_indexed`, set once the live codes are listed in `codes:by_deadline` (core.UpgradeStore, as a process opens the namespace; miit.Service.RetimeCodes, for one a process took up without opening it; a reset, which leaves nothing to list)",
		Lifetime: "long-lived"}
	keySchedDue = KeyDef{Name: "sched:due", Type: "zset", LongLived: true,
		Writer:   "core.Scheduler and the scripts that schedule (the prelude's schedule): jobs (`seq|due|kind|arg|…`) scored by their due time (simulated ms)",
		Lifetime: "long-lived; a job until a scheduler claims it (claim.lua, claim_jobs.lua)"}
	keySchedInflight = KeyDef{Name: "sched:inflight", Type: "zset", LongLived: true,
		Writer:   "core.Scheduler (claim.lua, claim_jobs.lua): the claimed jobs, scored by the end of their lease (real ms)",
		Lifetime: "long-lived; a job until it is carried out, or back to `sched:due` when its lease ends (requeue.lua) or its batch is put back (release.lua)"}
	keySchedRun = KeyDef{Name: "sched:run:<token>", Type: "string",
		Writer:   "core.Scheduler, for a run of jobs whose scripts go to Redis in one round trip, as calls of their scripts' run forms (run.lua; the prelude's run_refusal and with_due_now): `<place>:<due>`, the place in the run of the last job that came to its end, and the earliest due time (simulated ms) of the jobs the run scheduled",
		Lifetime: "the scheduler's lease (30 s) from its last write"}
	keySchedDead = KeyDef{Name: "sched:dead", Type: "zset", LongLived: true,
		Writer:   "core.Scheduler (dead.lua): the jobs that failed for good — malformed, of a kind nobody handles, or whose handler answered core.Permanent — as JSON (`job`, its stored form; `error`; `failed_at`, real ms), scored by their order of arrival (the field `dead` of `seq`); GET /admin/v1/dead-jobs lists them",
		Lifetime: "long-lived; its newest 1000 entries"}
	keyFilings = KeyDef{Name: "filings", Type: "zset", LongLived: true,
		Writer:   "miit (submit.lua): the ids of the orders, scored by their order of submission",
		Lifetime: "long-lived; the id of an order whose hash expired leaves it when the orders are next listed, or when the sweep reaches it: each 32nd submission takes the next 64 ids (submit.lua) and drops those whose order is gone (sweep.lua, its caller's next call), so it holds at most about twice the orders kept"}
	keyFilingsByStatus = KeyDef{Name: "filings:by_status", Type: "hash", LongLived: true,
		Writer:   "miit (every script that sets an order's MIIT status, miit.lua's count_status): the number of orders in each MIIT status, a field each; smsim_orders reads it",
		Lifetime: "long-lived; it counts the orders since the namespace was made or reset, expired ones too"}
	keyFiling = KeyDef{Name: "filing:<id>", Type: "hash",
		Writer:   "miit (its scripts): an order — both views, and its subjects, one per distinct number: `s<i>.phone`, `.roles`, `.certs`, `.code`, `.failures`, `.resends`, `.validated`, `.kept` (real ms: when the index of its number was last kept, in an order of two numbers)",
		Lifetime: "kept while the order is under way; retained once it is approved, returned, rejected or canceled (the provider learning of it later writes it again)"}
	keyWho = KeyDef{Name: "who:<phone>", Type: "set",
		Writer:   "miit (submit.lua, change_number.lua; tidy.lua drops the orders that expired): the ids of the orders one of whose subjects has the number",
		Lifetime: "kept while an order of the number is under way (unknown, pending_validation, under_review): by the submission, the sync, each validation with the number that finds an order under way and each resend that resends, a number change to it, and a validation or resend with the other number of an order of it (at most once in half the namespace's TTL, by its caller: miit.lua's keep_others); retained once an order of it ends and none is (miit's tidy.lua)"}
	keyCode = KeyDef{Name: "code:<code>", Type: "string",
		Writer:   "miit (miit.lua's new_code; validate.lua and tidy.lua delete it): a live verification code, so that no two are equal: `<deadline>|<id>`, the deadline (simulated ms) and the id of its order",
		Lifetime: "until the clock reaches the deadline, in real time at the clock's scale (set again when the scale or the pause changes, and after an advance of the running clock: miit.Service.RetimeCodes, which finds the live codes in `codes:by_deadline`), at most --namespace-ttl; kept while the clock is paused, or runs so slowly that no lifetime can say it (more than 2^53 ms away); deleted when the code validates, is replaced, or its order ends"}
	keyCodesByDeadline = KeyDef{Name: "codes:by_deadline", Type: "zset", LongLived: true,
		Writer:   "miit (miit.lua's new_code adds a code as it makes it live, free_code takes it out; miit.Service.RetimeCodes takes out those whose key is gone; core.IndexCodes lists those of a store written before, once: index_codes.lua, and upgrade_codes.lua those it moves): the live codes, each scored by its order's deadline (simulated ms), so that retiming them reads this set, not the whole database; when the code it makes live is a multiple of 64 (one in 64), new_code drops those whose deadline has passed",
		Lifetime: "long-lived; a code until it is freed, its key is found gone by a retiming, or its deadline has passed when a code that is a multiple of 64 is made live"}
	keyMagicSpurious = KeyDef{Name: "magic:spurious:<phone>", Type: "string",
		Writer:   "miit (validate.lua, SET NX): the magic number's first validation happened (answered not_found)",
		Lifetime: "kept"}
	keyMagicAPI = KeyDef{Name: "magic:api:<phone>", Type: "string",
		Writer:   "simulator.Namespace (APIFault, SET NX): the magic number's first call to MIIT's validation or resend happened (and got its fault)",
		Lifetime: "kept, at most --namespace-ttl"}
	keyAPICalls = KeyDef{Name: "api:calls", Type: "hash", LongLived: true,
		Writer:   "simulator.Namespace (APIFault, HINCRBY): the calls of each route that has an entry in the fault profile's api_faults, a field a route, counted since api_faults were last set (which deletes it)",
		Lifetime: "long-lived"}
	keyJournal = KeyDef{Name: "journal", Type: "list",
		Writer:   "simulator's request journal (core.Journal, journal.lua; written in batches by one goroutine per process): the requests to the provider, MIIT and phone APIs, JSON each (core.JournalEntry), oldest first, its newest --journal-max",
		Lifetime: "retained from its last write"}
	keyMessage = KeyDef{Name: "msg:<id>", Type: "hash",
		Writer:   "gateway (send.lua, deliver.lua; the trail when an outage holds it): a message, its status and trail",
		Lifetime: "kept while queued; retained once delivered, blocked or failed"}
	keyPhones = KeyDef{Name: "phones", Type: "zset", LongLived: true,
		Writer:   "gateway (gateway.lua and send.lua through the prelude's know_phone, SetProfile): the numbers sent a message, delivered one or given a profile, scored by when that last happened (real ms); a store written before held a set, which UpgradeStore turns into this",
		Lifetime: "long-lived; with a retention, a number leaves it once it was not written to for the retention (a script that records a new number takes out those older whenever the set reaches a multiple of 64 numbers; a listing shows none of them)"}
	keyPhoneProfile = KeyDef{Name: "phone:<phone>:profile", Type: "string",
		Writer:   "gateway (SetProfile): the phone's profile, JSON",
		Lifetime: "kept (absent: the magic number's profile, or the default)"}
	keyPhoneInbox = KeyDef{Name: "phone:<phone>:inbox", Type: "zset",
		Writer:   "gateway (gateway.lua's gw_deliver): the messages delivered to the inbox as the phone shows them (JSON: id, phone, sender, body, code, sent_at, delivered_at, seq), scored by the delivery sequence number; a store written before holds their ids",
		Lifetime: "retained from its last delivery, its newest --inbox-max messages; until the phone's folders are emptied (DELETE /phones/v1/{phone}/messages)"}
	keyPhoneBlocked = KeyDef{Name: "phone:<phone>:blocked", Type: "zset",
		Writer:   "gateway (gateway.lua's gw_deliver): the messages filed as spam, as the inbox holds them, scored by the delivery sequence number",
		Lifetime: "retained from its last delivery, its newest --inbox-max messages; until the phone's folders are emptied (DELETE /phones/v1/{phone}/messages)"}
	keyPhoneTravelling = KeyDef{Name: "phone:<phone>:travelling", Type: "zset",
		Writer:   "gateway (gateway.lua's gw_send and send.lua add, gw_deliver removes): the ids of the messages to the phone the gateway still holds (queued; one delivered in the script that sends it never joins), scored by the order they were handed to the gateway (`seq`'s `travel`); what `?folder=travelling` lists and the long poll asks before it answers that nothing is on its way",
		Lifetime: "kept from its last write; a message until its outcome"}
	keyPhoneFailed = KeyDef{Name: "phone:<phone>:failed", Type: "zset",
		Writer:   "gateway (gateway.lua's gw_deliver): the ids of the messages to the phone that failed, scored by the order their failures were decided (`seq`'s `failure`); what `?folder=failed` lists",
		Lifetime: "retained from its last failure, its newest --inbox-max messages; until the phone's folders are emptied (DELETE /phones/v1/{phone}/messages)"}
	keyPhoneScript = KeyDef{Name: "phone:<phone>:script", Type: "list",
		Writer:   "gateway (SetScript; send.lua takes one step per message): what is left of the phone's fault script, `action` or `delay:<ms>`",
		Lifetime: "kept; a step until a message takes it; the list until the next script replaces it"}
	keyThrottles = KeyDef{Name: "throttles", Type: "hash", LongLived: true,
		Writer:   "gateway (throttle.lua; ForgetThrottles, HDEL): the theoretical arrival time (simulated ms) of each throttle's bucket, by the throttle's place and definition (`<i>|sender:<s>|<limit>/<per ms>/<burst>/<mode>`, or `carrier:<name>:<prefixes>` in place of the sender); a throttle taken away or changed loses its field",
		Lifetime: "long-lived"}
	keyWebhooks = KeyDef{Name: "webhooks", Type: "zset", LongLived: true,
		Writer:   "webhook (register.lua, delete.lua): the hook ids, scored by their order of registration",
		Lifetime: "long-lived; a hook until it is deleted"}
	keyWebhook = KeyDef{Name: "webhooks:hook:<id>", Type: "hash",
		Writer:   "webhook (register.lua): `hook` (JSON) and `since`, the id of the newest event at its registration",
		Lifetime: "kept, and with the long-lived keys; until the hook is deleted (delete.lua)"}
	keyWebhookLog = KeyDef{Name: "webhooks:log:<id>", Type: "list",
		Writer:   "webhook (finish.lua): the hook's attempts, newest first (Delivery JSON)",
		Lifetime: "kept, and with the long-lived keys; until the hook is deleted (delete.lua); its newest 500 entries"}
	keyWebhookRetries = KeyDef{Name: "webhooks:retry", Type: "zset", LongLived: true,
		Writer:   "webhook (finish.lua, claim_retries.lua; Step's stand-ins of the first attempts it went on without, ZADD): the retries (`hook|delivery|attempt|event JSON`), scored by their due time (real ms)",
		Lifetime: "long-lived; a retry until a dispatcher claims it or its hook is deleted; a stand-in until its attempt records its outcome"}
	keyWebhookInflight = KeyDef{Name: "webhooks:inflight", Type: "zset", LongLived: true,
		Writer:   "webhook (claim_retries.lua): the claimed retries, scored by the end of their lease (real ms)",
		Lifetime: "long-lived; a retry until its attempt is recorded (finish.lua), or back to `webhooks:retry` when its lease ends"}
	keyAnswer = KeyDef{Name: "answer:<key>", Type: "string",
		Writer: "simulator.Namespace (answer_claim.lua, SET; the server's Idempotency-Key layer): a POST with an Idempotency-Key, JSON: " +
			"the request's fingerprint (method, path, query, body), and once answered its status, headers and body, which a retry with the key is answered — " +
			"or `unknown`: it failed with a 5xx after sending Redis a change that Redis did not confirm in time (a retry is a 409)",
		Lifetime: "30 s while its request is in progress (a claim); 24 h once answered or unknown, at most --namespace-ttl; deleted when the request fails with a 5xx " +
			"whose changes are known not to have been sent (or a 413, 415, 429), and by a reset"}

	// keyLegacyCodes is the set of live codes of a store written before
	// the codes had a key each (code:<code>); UpgradeStore moves them.
	keyLegacyCodes = KeyDef{Name: "codes", Type: "set",
		Writer:   "nothing now: a store written before the codes had a key each (`code:<code>`) held the live codes here; core.UpgradeStore moves them to their keys",
		Lifetime: "deleted by the upgrade, when a process first opens such a store"}
)

// keyDefs are the keys of the store, in the order of KEYS.md.
var keyDefs = []KeyDef{
	keyNamespaces, keyWebhooked, keyChanges, keyLibraries,
	keyClock, keyFaults, keyEvents, keyLive, keySeq, keySchedDue, keySchedInflight, keySchedRun, keySchedDead,
	keyFilings, keyFilingsByStatus, keyFiling, keyWho, keyCode, keyCodesByDeadline, keyMagicSpurious, keyMagicAPI, keyAPICalls, keyJournal,
	keyMessage, keyPhones, keyPhoneProfile, keyPhoneInbox, keyPhoneBlocked, keyPhoneTravelling, keyPhoneFailed, keyPhoneScript, keyThrottles,
	keyWebhooks, keyWebhook, keyWebhookLog, keyWebhookRetries, keyWebhookInflight,
	keyAnswer, keyLegacyCodes,
}

// KeyDefs answers every key of the store, as KEYS.md lists them.
func KeyDefs() []KeyDef { return slices.Clone(keyDefs) }

// NamespacesKey is the sorted set of the namespaces in use, shared by
// every namespace under prefix.
func NamespacesKey(prefix string) string { return prefix + ":" + keyNamespaces.Name }

// ChangesChannel is the Pub/Sub channel on which the processes under
// prefix tell each other the namespaces whose clock or fault profile they
// changed.
func ChangesChannel(prefix string) string { return prefix + ":" + keyChanges.Name }

// WebhookedKey is the set of the namespaces under prefix that have
// webhooks.
func WebhookedKey(prefix string) string { return prefix + ":" + keyWebhooked.Name }

// Keyspace names the Redis keys of one namespace.
type Keyspace struct {
	Prefix    string // e.g. "smsim"
	Namespace string // e.g. "default"
}

// key builds the key d of the keyspace, its placeholders filled with
// parts in order. It writes the key in one allocation: smsim builds a dozen keys for a
// request, and Split and Join made three of each.
func (k Keyspace) key(d KeyDef, parts ...string) string {
	n := len(k.Prefix) + len(k.Namespace) + len(d.Name) + 4
	for _, p := range parts {
		n += len(p)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(k.Prefix)
	b.WriteString(":{")
	b.WriteString(k.Namespace)
	b.WriteString("}:")
	for i, name := 0, d.Name; ; i++ {
		seg, rest, more := strings.Cut(name, ":")
		if strings.HasPrefix(seg, "<") {
			seg, parts = parts[0], parts[1:]
		}
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(seg)
		if !more {
			break
		}
		name = rest
	}
	return b.String()
}

// Key joins parts under the keyspace: prefix:{namespace}:part:part, the
// form of every key the functions below build. smsim names its keys with
// those functions only; Key serves a caller that holds the parts of a key
// of the registry, such as a test.
func (k Keyspace) Key(parts ...string) string {
	return k.Prefix + ":{" + k.Namespace + "}:" + strings.Join(parts, ":")
}

// GlobChars are the characters a key prefix may not hold: they would
// make Pattern match keys of other prefixes.
const GlobChars = `*?[]\`

// Pattern matches every key of the keyspace (for SCAN): of its prefix
// alone, which holds none of GlobChars.
func (k Keyspace) Pattern() string {
	return k.Prefix + ":{" + k.Namespace + "}:*"
}

// LongLived answers the keys of the namespace as a whole — its clock,
// fault profile, event log, scheduler's sets… (KeyDef.LongLived) — whose
// lifetime a process writes afresh while it uses the namespace.
func (k Keyspace) LongLived() []string {
	var out []string
	for _, d := range keyDefs {
		if d.LongLived && !d.Shared {
			out = append(out, k.key(d))
		}
	}
	return out
}

// Clock is the hash of the simulated clock.
func (k Keyspace) Clock() string { return k.key(keyClock) }

// Faults is the fault profile.
func (k Keyspace) Faults() string { return k.key(keyFaults) }

// Events is the event log.
func (k Keyspace) Events() string { return k.key(keyEvents) }

// Live is the Pub/Sub channel the events of the log are published on.
func (k Keyspace) Live() string { return k.key(keyLive) }

// Seq is the hash of sequence numbers.
func (k Keyspace) Seq() string { return k.key(keySeq) }

// SchedDue is the sorted set of jobs waiting for their time.
func (k Keyspace) SchedDue() string { return k.key(keySchedDue) }

// SchedInflight is the sorted set of claimed jobs.
func (k Keyspace) SchedInflight() string { return k.key(keySchedInflight) }

// SchedRun is the mark of a run of jobs whose scripts go to the store
// together (Scheduler.HandleSteps).
func (k Keyspace) SchedRun(token string) string { return k.key(keySchedRun, token) }

// SchedDead is the sorted set of the jobs that failed for good.
func (k Keyspace) SchedDead() string { return k.key(keySchedDead) }

// LegacyCodes is the set of live codes of a store written before the codes
// had a key each, which UpgradeStore moves.
func (k Keyspace) LegacyCodes() string { return k.key(keyLegacyCodes) }

// Filings is the sorted set of the ids of the orders.
func (k Keyspace) Filings() string { return k.key(keyFilings) }

// FilingsByStatus is the hash of the number of orders in each MIIT status.
func (k Keyspace) FilingsByStatus() string { return k.key(keyFilingsByStatus) }

// Filing is the hash of order id.
func (k Keyspace) Filing(id string) string { return k.key(keyFiling, id) }

// Who is the set of the orders that name phone.
func (k Keyspace) Who(phone string) string { return k.key(keyWho, phone) }

// Code is the key of the live verification code code.
func (k Keyspace) Code(code string) string { return k.key(keyCode, code) }

// CodesByDeadline is the sorted set of the live codes, by their orders'
// deadlines.
func (k Keyspace) CodesByDeadline() string { return k.key(keyCodesByDeadline) }

// MagicSpurious marks the first validation of a magic number.
func (k Keyspace) MagicSpurious(phone string) string { return k.key(keyMagicSpurious, phone) }

// MagicAPI marks the first call of a magic number of the API's faults.
func (k Keyspace) MagicAPI(phone string) string { return k.key(keyMagicAPI, phone) }

// APICalls is the hash of the calls counted for api_faults, by route.
func (k Keyspace) APICalls() string { return k.key(keyAPICalls) }

// Journal is the request journal.
func (k Keyspace) Journal() string { return k.key(keyJournal) }

// Message is the hash of message id.
func (k Keyspace) Message(id string) string { return k.key(keyMessage, id) }

// Phones is the set of known phone numbers.
func (k Keyspace) Phones() string { return k.key(keyPhones) }

// PhoneProfile is the profile of phone.
func (k Keyspace) PhoneProfile(phone string) string { return k.key(keyPhoneProfile, phone) }

// PhoneInbox is the inbox of phone.
func (k Keyspace) PhoneInbox(phone string) string { return k.key(keyPhoneInbox, phone) }

// PhoneBlocked is the blocked folder of phone.
func (k Keyspace) PhoneBlocked(phone string) string { return k.key(keyPhoneBlocked, phone) }

// PhoneTravelling is the set of the messages to phone still on their way.
func (k Keyspace) PhoneTravelling(phone string) string { return k.key(keyPhoneTravelling, phone) }

// PhoneFailed is the set of the messages to phone that failed.
func (k Keyspace) PhoneFailed(phone string) string { return k.key(keyPhoneFailed, phone) }

// PhoneScript is what is left of the fault script of phone.
func (k Keyspace) PhoneScript(phone string) string { return k.key(keyPhoneScript, phone) }

// Throttles is the hash of the throttles' buckets.
func (k Keyspace) Throttles() string { return k.key(keyThrottles) }

// Webhooks is the sorted set of the hook ids.
func (k Keyspace) Webhooks() string { return k.key(keyWebhooks) }

// Webhook is the hash of hook id.
func (k Keyspace) Webhook(id string) string { return k.key(keyWebhook, id) }

// WebhookLog is the log of hook id.
func (k Keyspace) WebhookLog(id string) string { return k.key(keyWebhookLog, id) }

// WebhookRetries is the sorted set of the retries waiting for their time.
func (k Keyspace) WebhookRetries() string { return k.key(keyWebhookRetries) }

// Answer is the recorded answer of the POST whose Idempotency-Key is key.
func (k Keyspace) Answer(key string) string { return k.key(keyAnswer, key) }

// WebhookInflight is the sorted set of claimed retries.
func (k Keyspace) WebhookInflight() string { return k.key(keyWebhookInflight) }
