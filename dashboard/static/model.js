// What the page knows: phones and their messages, orders in both views,
// the clock and the fault profile. Snapshots from the API and events from
// the feed both land here, and applying either twice changes nothing: a
// page that reconnects reloads the snapshots and replays the events it
// missed on top of them.

// How many messages of each phone the page keeps (the newest); the counts
// stay exact beyond it.
const keepMessages = 100;

export const finalStatuses = new Set(['approved', 'returned', 'rejected', 'canceled']);

// ms turns an API time (RFC 3339, Unix milliseconds as a string or a
// number, null or "") into Unix milliseconds, or 0.
export function ms(t) {
  if (t === null || t === undefined || t === '') return 0;
  if (typeof t === 'number') return t;
  if (/^\d+$/.test(t)) return Number(t);
  const v = Date.parse(t);
  return Number.isNaN(v) ? 0 : v;
}

// normalizeMessage turns a phone's message or an sms.* event's data into
// one shape.
export function normalizeMessage(m) {
  return {
    id: String(m.id || ''),
    phone: String(m.phone || ''),
    sender: String(m.sender || ''),
    body: String(m.body || ''),
    code: String(m.code || ''),
    status: String(m.status || (m.folder ? (m.folder === 'blocked' ? 'blocked' : 'delivered') : 'queued')),
    folder: String(m.folder || ''),
    reason: String(m.reason || ''),
    sentAt: ms(m.sent_at_ms ?? m.sent_at),
    deliveredAt: ms(m.delivered_at_ms ?? m.delivered_at),
  };
}

export class Phone {
  constructor(number) {
    this.number = number;
    this.profile = null; // unknown until read
    this.snapInbox = 0; // counts of the last listing, until the folders are loaded
    this.snapBlocked = 0;
    this.inboxIds = new Set();
    this.blockedIds = new Set();
    this.pendingIds = new Set(); // sent, not yet delivered, blocked or failed
    this.failedIds = new Set();
    this.lastReason = '';
    this.messages = new Map(); // id → message, the newest keepMessages
    this.loaded = 'no'; // "no", "loading", "yes": both folders read
    this.tab = 'inbox';
    this.version = 0; // bumped on every change: a card rebuilds when it differs
    this.clears = 0; // bumped when its folders are emptied: a listing asked for before does not land
  }

  get inbox() { return this.loaded === 'yes' ? this.inboxIds.size : this.snapInbox + this.inboxIds.size; }
  get blocked() { return this.loaded === 'yes' ? this.blockedIds.size : this.snapBlocked + this.blockedIds.size; }

  // add records a message (from a folder listing or an event).
  add(m, prune = true) {
    if (!m.id) return;
    const old = this.messages.get(m.id);
    // a listing may come back after a newer event: keep the furthest state
    if (old && old.status !== 'queued' && m.status === 'queued') return;
    this.messages.set(m.id, old ? { ...old, ...m } : { ...m, seq: ++learned });
    this.pendingIds.delete(m.id);
    switch (m.status) {
      case 'queued': this.pendingIds.add(m.id); break;
      case 'failed': this.failedIds.add(m.id); this.lastReason = m.reason; break;
      default:
        if (m.folder === 'blocked') this.blockedIds.add(m.id);
        else if (m.folder === 'inbox') this.inboxIds.add(m.id);
    }
    if (prune) this.prune();
    this.version++;
  }

  // clear empties both folders and forgets the failed messages, as the
  // server did (phone.cleared); those on their way still come.
  clear() {
    for (const [id, m] of this.messages) {
      if (m.status !== 'queued') this.messages.delete(id);
    }
    this.inboxIds.clear();
    this.blockedIds.clear();
    this.failedIds.clear();
    this.snapInbox = 0;
    this.snapBlocked = 0;
    this.lastReason = '';
    this.clears++;
    this.version++;
  }

  prune() {
    if (this.messages.size > keepMessages) {
      const sorted = [...this.messages.values()].sort(byTime);
      for (const old of sorted.slice(0, sorted.length - keepMessages)) this.messages.delete(old.id);
    }
  }

  // folder answers the kept messages of a folder, oldest first.
  folder(name) {
    return [...this.messages.values()].filter((m) => m.folder === name && m.status !== 'failed').sort(byTime);
  }
}

// learned numbers messages in the order the page learned of them: the
// order of delivery, for messages delivered at the same simulated time.
let learned = 0;

function byTime(a, b) {
  return (a.deliveredAt || a.sentAt) - (b.deliveredAt || b.sentAt) || a.seq - b.seq;
}

// Order is one filing order in both views.
export class Order {
  constructor(id) {
    this.id = id;
    this.type = '';
    this.variant = '';
    this.submittedAt = 0;
    this.provStatus = '';
    this.miitStatus = 'unknown';
    this.canceledBy = '';
    this.deadline = 0;
    this.codesSentAt = 0;
    this.people = []; // {role, name, phone, validated, provValidated, failures, resends}
    this.hasProvider = false;
    this.hasMIIT = false;
  }

  // status is MIIT's once the order reached MIIT, the provider's before.
  get status() {
    return this.miitStatus && this.miitStatus !== 'unknown' ? this.miitStatus : (this.provStatus || 'submitted');
  }

  person(role) {
    let p = this.people.find((x) => x.role === role);
    if (!p) {
      p = { role, name: '', phone: '', validated: false, provValidated: false, failures: 0, resends: 0 };
      this.people.push(p);
      this.people.sort((a, b) => (a.role < b.role ? -1 : 1));
    }
    return p;
  }
}

const statusRank = { '': 0, unknown: 0, submitted: 0, pending_validation: 1, under_review: 2, approved: 3, returned: 3, rejected: 3, canceled: 3 };

export class Model {
  constructor() { this.clear(); }

  clear() {
    this.phones = new Map();
    this.sorted = []; // phone numbers, in order
    this.orders = new Map();
    this.ordersByPhone = new Map(); // phone → Set of order ids
    this.names = new Map(); // phone → "name · role"
    this.ordersTotal = 0;
    this.clock = null; // {now, scale, paused, at: performance.now()}
    this.faults = null;
    this.changed = { phones: true, orders: true, clock: true, faults: true };
  }

  phone(number) {
    let p = this.phones.get(number);
    if (!p) {
      p = new Phone(number);
      this.phones.set(number, p);
      // keep this.sorted sorted: insert where it belongs
      let lo = 0, hi = this.sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.sorted[mid] < number) lo = mid + 1; else hi = mid;
      }
      this.sorted.splice(lo, 0, number);
      this.changed.phones = true;
    }
    return p;
  }

  // setPhones applies a listing of GET /phones/v1.
  setPhones(list) {
    for (const s of list) {
      const p = this.phone(s.phone);
      if (s.profile) p.profile = s.profile;
      p.snapInbox = Number(s.inbox) || 0;
      p.snapBlocked = Number(s.blocked) || 0;
      if (p.loaded === 'no') {
        // counts so far came from events: the listing includes them
        p.inboxIds.clear();
        p.blockedIds.clear();
      }
      p.version++;
    }
    this.changed.phones = true;
  }

  // setFolder applies a phone's folder listing.
  setFolder(number, folder, messages) {
    const p = this.phone(number);
    const ids = folder === 'blocked' ? p.blockedIds : p.inboxIds;
    ids.clear();
    for (const m of messages) p.add(normalizeMessage(m), false);
    for (const m of p.messages.values()) { // delivered while the listing was on its way
      if (m.folder === folder && m.status !== 'failed') ids.add(m.id);
    }
    p.prune();
    p.version++;
    this.changed.phones = true;
  }

  // pastMessages applies what events of the log (oldest first) tell of
  // messages that reached no folder: those that failed and those still on
  // their way, which no folder listing shows, so that a page opened after a
  // failure shows it. What was delivered or blocked is left to the folder
  // listings, which count it.
  pastMessages(events) {
    const last = new Map(); // id → the message as the log leaves it
    for (const rec of events || []) {
      if (!rec || !String(rec.kind).startsWith('sms.') || !rec.data) continue;
      const m = normalizeMessage(rec.data);
      if (!m.id || !m.phone) continue;
      const old = last.get(m.id);
      if (old && old.status !== 'queued' && m.status === 'queued') continue;
      last.set(m.id, old ? { ...old, ...m } : m);
    }
    for (const m of last.values()) {
      if (m.status === 'failed' || m.status === 'queued') this.phone(m.phone).add(m);
    }
    this.changed.phones = true;
  }

  message(data) {
    const m = normalizeMessage(data);
    if (!m.phone) return;
    this.phone(m.phone).add(m);
    this.changed.phones = true;
  }

  // clearPhone empties a phone's folders (a phone.cleared event).
  clearPhone(number) {
    const p = this.phones.get(number);
    if (!p) return;
    p.clear();
    this.changed.phones = true;
  }

  setProfile(number, profile) {
    if (!number || !profile) return;
    const p = this.phone(number);
    p.profile = profile;
    p.version++;
    this.changed.phones = true;
  }

  order(id) {
    let o = this.orders.get(id);
    if (!o) {
      o = new Order(id);
      this.orders.set(id, o);
    }
    return o;
  }

  index(o, phone) {
    if (!phone) return;
    let s = this.ordersByPhone.get(phone);
    if (!s) this.ordersByPhone.set(phone, (s = new Set()));
    s.add(o.id);
  }

  // setProvider applies the provider's view of an order.
  setProvider(v) {
    if (!v || !v.id) return;
    const o = this.order(v.id);
    o.hasProvider = true;
    o.type = v.type || o.type;
    o.variant = v.variant || o.variant;
    o.submittedAt = ms(v.submitted_at) || o.submittedAt;
    if (statusRank[v.status] >= statusRank[o.provStatus] || !o.provStatus) o.provStatus = v.status;
    for (const x of v.personnel || []) {
      const p = o.person(x.role);
      p.name = x.name || p.name;
      p.phone = x.phone || p.phone;
      p.provValidated = p.provValidated || !!x.validated;
      this.index(o, p.phone);
      if (p.phone) {
        this.names.set(p.phone, `${p.name} · ${roleName(p.role)}`);
        const ph = this.phones.get(p.phone);
        if (ph) ph.version++;
      }
    }
    this.changed.orders = true;
    this.changed.phones = true;
  }

  // setMIIT applies MIIT's view of an order.
  setMIIT(v) {
    if (!v || !v.id) return;
    const o = this.order(v.id);
    o.hasMIIT = true;
    o.type = v.type || o.type;
    o.variant = v.variant || o.variant;
    if (statusRank[v.status] >= statusRank[o.miitStatus]) o.miitStatus = v.status;
    o.canceledBy = v.canceled_by || o.canceledBy;
    o.codesSentAt = ms(v.codes_sent_at) || o.codesSentAt;
    o.deadline = ms(v.deadline) || o.deadline;
    for (const x of v.personnel || []) {
      const p = o.person(x.role);
      p.phone = x.phone || p.phone;
      p.validated = p.validated || !!x.validated;
      p.failures = Math.max(p.failures, Number(x.failures) || 0);
      p.resends = Math.max(p.resends, Number(x.resends) || 0);
      this.index(o, p.phone);
    }
    this.changed.orders = true;
  }

  // status applies a filing.status event; it answers whether MIIT's view
  // should be read again for what the event does not carry (the deadline,
  // failures and resends).
  status(d) {
    if (!d || !d.id) return false;
    const o = this.order(d.id);
    const roles = String(d.validated || '').split(',').filter(Boolean);
    if (d.view === 'provider') {
      if (statusRank[d.status] >= statusRank[o.provStatus] || !o.provStatus) o.provStatus = d.status;
      for (const r of roles) o.person(r).provValidated = true;
    } else {
      if (statusRank[d.status] >= statusRank[o.miitStatus]) o.miitStatus = d.status;
      for (const r of roles) o.person(r).validated = true;
    }
    this.changed.orders = true;
    return d.view === 'miit' || !o.hasMIIT;
  }

  // openOrdersOf answers the ids of the orders of a phone that still take
  // validations and resends.
  openOrdersOf(phone) {
    const out = [];
    for (const id of this.ordersByPhone.get(phone) || []) {
      const o = this.orders.get(id);
      if (o && !finalStatuses.has(o.status)) out.push(id);
    }
    return out;
  }

  setClock(st) {
    if (!st || !st.now) return;
    this.clock = { now: ms(st.now), scale: Number(st.scale) || 1, paused: !!st.paused, at: performance.now() };
    this.changed.clock = true;
  }

  // now is the simulated time, in Unix milliseconds, ticking between the
  // clock's events at its scale.
  now() {
    const c = this.clock;
    if (!c) return 0;
    return c.paused ? c.now : c.now + (performance.now() - c.at) * c.scale;
  }

  setFaults(f) {
    if (!f) return;
    this.faults = f;
    this.changed.faults = true;
  }
}

export function roleName(role) {
  return { entity_leader: 'entity leader', website_admin: 'website admin' }[role] || role;
}
