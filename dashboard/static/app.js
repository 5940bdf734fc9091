// smsim's dashboard: wires the model, the feed and the views together.
// Snapshots come from the API once (and again after a reconnect); from
// then on every change arrives as an event on /ws/events, and the page
// redraws what changed in the next animation frame. The page shows one
// namespace at a time, the one its URL names: all it knows of it is in
// one Shown (shown.js), which a switch leaves for a new one, read afresh.

import { enter, isStale, log as readLog, shared } from './api.js';
import { Charts } from './charts.js';
import { $, setText } from './dom.js';
import { Feed, lostTrack, upTo } from './feed.js';
import { NamespaceView, fromURL, namesInUse, urlFor } from './namespace.js';
import { ClockView, FaultsView } from './controls.js';
import { OrdersTable } from './orders.js';
import { PhoneGrid, toggled } from './phones.js';
import { Shown } from './shown.js';

const maxOrders = 2000; // orders read at start, newest first
const parallel = 6; // requests at once for the details of phones and orders

// shown is the state of the namespace the page shows (show makes it); the
// views below are pointed at its model.
let shown = null;

const grid = new PhoneGrid($('#phones'), $('#phones-count'), null, { onToggle: toggle, onVisible: loadPhones });
const orders = new OrdersTable($('#orders'), {
  count: $('#orders-count'), prev: $('#orders-prev'), next: $('#orders-next'), page: $('#orders-page'),
  empty: $('.orders-pane .empty'),
}, null);
const clock = new ClockView(null, {
  now: $('#clock-now'), cst: $('#clock-cst'), rate: $('#clock-rate'), pause: $('#clock-pause'),
  scale: $('#clock-scale'), scaleSet: $('#clock-scale-set'), adv1h: $('#advance-1h'), adv24h: $('#advance-24h'),
  error: $('#clock-error'),
});
const faults = new FaultsView(null, {
  text: $('#faults-text'), apply: $('#faults-apply'), reload: $('#faults-reload'), note: $('#faults-note'),
  error: $('#faults-error'),
});
const charts = new Charts(null, null, {
  rate: $('#chart-rate'), rateNow: $('#rate-now'), delay: $('#chart-delay'), delayNow: $('#delay-now'),
  valid: $('#chart-valid'), validNow: $('#valid-now'), orders: $('#chart-orders'), ordersNow: $('#orders-now'),
});

// --- drawing: at most once a frame, only what changed

let frame = 0;
function redraw() {
  if (!frame) frame = requestAnimationFrame(flush);
}

function flush() {
  frame = 0;
  const ch = shown.model.changed;
  if (ch.phones) {
    ch.phones = false;
    grid.render();
  }
  if (ch.orders) {
    ch.orders = false;
    orders.render();
    loadOrderDetails(shown);
  }
  if (ch.clock) {
    ch.clock = false;
    clock.render();
  }
  if (ch.faults) {
    ch.faults = false;
    faults.render();
  }
}

// --- events

// apply applies an event of namespace ns's feed.
function apply(ns, rec) {
  const { model, stats } = ns;
  stats.record(rec);
  const d = rec.data || {};
  switch (rec.kind) {
    case 'filing.submitted':
      model.setProvider(d);
      break;
    case 'filing.status':
      if (model.status(d)) refreshMIIT(ns, d.id);
      break;
    case 'sms.sent':
    case 'sms.delivered':
    case 'sms.blocked':
    case 'sms.failed':
      model.message(d);
      break;
    case 'validation':
    case 'resend':
      // failures and resends are counted by MIIT: read its view again
      for (const id of model.openOrdersOf(String(d.phone || ''))) refreshMIIT(ns, id);
      break;
    case 'clock':
      model.setClock(d);
      break;
    case 'faults':
      model.setFaults(d);
      break;
    case 'phone.profile':
      model.setProfile(String(d.phone || ''), d.profile);
      break;
    case 'phone.cleared':
      model.clearPhone(String(d.phone || ''));
      break;
    case 'reset':
      startOver(ns);
      stats.clear();
      break;
    default:
  }
  redraw();
}

// --- snapshots

// loadAll reads the clock, the fault profile, every phone and the newest
// orders (and those of the status the table is filtered by); it answers
// whether it could.
async function loadAll(ns) {
  const mark = ns.mark();
  const s = ns.session;
  try {
    const [c, f, phones, prov, miit, events] = await Promise.all([
      s.api('GET', '/admin/v1/clock'),
      s.api('GET', '/admin/v1/faults'),
      s.pages('/phones/v1', 'phones'),
      s.pages('/provider/v1/filings', 'filings', maxOrders),
      s.pages('/miit/v1/filings', 'filings', maxOrders),
      readLog(s), // the messages that failed, or are on their way, before the page opened
    ]);
    if (!ns.holds(mark)) return true; // started over meanwhile: that load is the one that counts
    const { model } = ns;
    model.setClock(c);
    model.setFaults(f);
    model.setPhones(phones);
    model.pastMessages(events);
    prov.forEach((v) => model.setProvider(v));
    miit.forEach((v) => model.setMIIT(v));
    setText($('#state-error'), '');
    redraw();
  } catch (e) {
    if (isStale(e) || !ns.holds(mark)) return true;
    // said on the page, and tried again: the page shows nothing it could
    // not read
    const hint = e.status === 401 ? ' (this smsim wants its admin token: reload the page to give it)' : '';
    setText($('#state-error'), `Could not read the namespace's state: ${e.message}${hint}. Trying again every 5 s.`);
    if (!ns.retrying) {
      ns.retrying = true;
      ns.later(() => {
        ns.retrying = false;
        if (ns.holds(mark)) startOver(ns);
      }, 5000);
    }
    return false;
  }
  loadStatus(ns, orders.status);
  return true;
}

// startOver reads the state of namespace ns afresh, from nothing.
function startOver(ns) {
  ns.startOver();
  grid.clear();
  loadAll(ns);
}

// --- details read on demand (parallel at a time): the folders of phones
// in view, MIIT's view of orders that changed

// loadPhones reads the folders of the phones in view that are not read yet.
function loadPhones(numbers) {
  const ns = shown;
  const { model } = ns;
  for (const n of numbers) {
    const p = model.phones.get(n);
    if (!p || p.loaded !== 'no') continue;
    p.loaded = 'loading';
    const mark = ns.mark();
    const clears = p.clears;
    const s = ns.session;
    ns.queue(async () => {
      const path = `/phones/v1/${encodeURIComponent(n)}`;
      try {
        const [inbox, blocked, profile] = await Promise.all([
          s.api('GET', `${path}/messages`),
          s.api('GET', `${path}/messages?folder=blocked`),
          p.profile ? null : s.api('GET', `${path}/profile`),
        ]);
        if (!ns.holds(mark)) return;
        if (p.clears !== clears) { // emptied meanwhile: read again
          p.loaded = 'no';
          p.version++;
          return;
        }
        model.setFolder(n, 'inbox', inbox.messages || []);
        model.setFolder(n, 'blocked', blocked.messages || []);
        if (profile) model.setProfile(n, profile);
        p.loaded = 'yes';
        p.version++;
      } catch {
        ns.later(() => { if (p.loaded === 'loading') p.loaded = 'no'; }, 3000); // try again when in view
      }
      redraw();
    });
  }
}

// refreshMIIT reads MIIT's view of order id again, with the others asked
// for within 100 ms: the orders wanted are those of the timer pending.
function refreshMIIT(ns, id) {
  if (!id) return;
  if (ns.miitWanted.size === 0) ns.later(() => flushMIIT(ns), 100);
  ns.miitWanted.add(id);
}
function flushMIIT(ns) {
  const mark = ns.mark();
  const s = ns.session;
  for (const id of ns.miitWanted) {
    ns.queue(async () => {
      try {
        const v = await s.api('GET', `/miit/v1/filings/${encodeURIComponent(id)}`);
        if (ns.holds(mark)) ns.model.setMIIT(v);
      } catch { /* the next event of the order reads it again */ }
      redraw();
    });
  }
  ns.miitWanted.clear();
}

// loadOrderDetails reads the provider's view of orders shown that came
// from MIIT's listing only (names are the provider's).
function loadOrderDetails(ns) {
  const mark = ns.mark();
  const s = ns.session;
  for (const o of orders.visible()) {
    if (o.hasProvider || ns.provAsked.has(o.id)) continue;
    ns.provAsked.add(o.id);
    ns.queue(async () => {
      try {
        const v = await s.api('GET', `/provider/v1/filings/${encodeURIComponent(o.id)}`);
        if (ns.holds(mark)) ns.model.setProvider(v);
      } catch { if (ns.holds(mark)) ns.provAsked.delete(o.id); }
      redraw();
    });
  }
}

// --- actions

async function toggle(number, fault, button) {
  button.disabled = true;
  const ns = shown; // both requests in the namespace of the click
  const s = ns.session;
  try {
    const path = `/phones/v1/${encodeURIComponent(number)}/profile`;
    const p = ns.model.phone(number);
    const profile = p.profile || await s.api('GET', path);
    // The phone.profile event of the change sets the model, in the order
    // of the log: an answer applied here could land after the event of a
    // later change and undo it.
    await s.api('PUT', path, toggled(profile, fault));
  } catch (e) {
    if (!isStale(e)) setText($('#clock-error'), `phone ${number}: ${e.message}`);
  } finally {
    button.disabled = false;
  }
  redraw();
}

$('#phone-search').addEventListener('input', (e) => grid.search(e.target.value));
$('#order-status').addEventListener('change', (e) => {
  orders.filter(e.target.value);
  loadStatus(shown, e.target.value);
});

// loadStatus reads the orders of a status, older ones too than those read
// at start.
async function loadStatus(ns, status) {
  if (!status) return;
  const mark = ns.mark();
  const s = ns.session;
  try {
    const list = status === 'submitted'
      ? await s.pages(`/provider/v1/filings?status=${status}`, 'filings', maxOrders)
      : await s.pages(`/miit/v1/filings?status=${status}`, 'filings', maxOrders);
    if (!ns.holds(mark)) return;
    list.forEach((v) => (status === 'submitted' ? ns.model.setProvider(v) : ns.model.setMIIT(v)));
    redraw();
  } catch { /* the table shows what the page has */ }
}

// --- ticking: the simulated clock and the time left, locally

setInterval(() => clock.tick(), 100);
setInterval(() => {
  shown.stats.tick();
  charts.draw();
  orders.render();
}, 1000);

// --- start: read where the log stands, the state, then follow the log

// showFeed shows the state of the feed: "connecting", "live" or
// "reconnecting".
function showFeed(state) {
  const el = $('#feed-state');
  el.dataset.state = state;
  setText(el, state);
}

// opened is called each time the feed of namespace ns opens: again when
// it had been open before, after the event id it catches up from.
async function opened(ns, again, after) {
  const mark = ns.mark();
  if (again && !ns.reload) {
    // The feed catches up from the last event seen, unless the log no
    // longer holds it: a store that started afresh, or more missed than
    // the log keeps. Then the page starts over from the API's state.
    let lost;
    try {
      lost = lostTrack(await ns.session.api('GET', '/admin/v1/events?limit=1'), after);
    } catch {
      lost = true;
    }
    if (!ns.holds(mark)) return; // another namespace, or started over, meanwhile
    ns.reload = lost;
    // a new store, or more missed than the log keeps: what the charts
    // counted is not of the log the page follows now
    if (lost) ns.stats.clear();
  }
  if (ns.reload) {
    ns.reload = false;
    startOver(ns);
  }
}

// seedStats feeds the charts with the events of the last minutes before
// the page opened, up to event id last (the feed goes on from there): event
// ids begin with the server's Unix milliseconds.
async function seedStats(ns, last) {
  let after = `${Date.now() - 10 * 60e3}-0`;
  for (let n = 0; n < 20 && last && last !== '0'; n++) {
    const log = await ns.session.api('GET', `/admin/v1/events?after=${after}&limit=1000`);
    const events = log.events || [];
    const seen = upTo(events, last);
    for (const rec of seen) ns.stats.record(rec);
    if (seen.length < events.length || events.length < 1000) return;
    after = events[events.length - 1].id;
  }
}

// boot reads where the log of namespace ns stands, the charts' last minutes
// and the state, then follows the log.
async function boot(ns) {
  const mark = ns.mark();
  const s = ns.session;
  let after = '';
  try {
    after = (await s.api('GET', '/admin/v1/events?limit=1')).last || '';
    await seedStats(ns, after);
  } catch { /* the server is away (the feed waits for it), or the page left the namespace */ }
  if (!ns.holds(mark)) return;
  const loaded = await loadAll(ns);
  if (!ns.holds(mark)) return;
  ns.reload = !loaded;
  ns.stats.tick();
  ns.feed.start(s.namespace, after);
  redraw();
  charts.draw();
  loadNamespaces(); // the namespace shown is among them now: the page's requests used it
}

// --- the namespace: the one the URL names; switching drops everything of
// the one before, including what is still on its way

const nsView = new NamespaceView({
  form: $('#ns-form'), input: $('#ns-input'), list: $('#ns-list'), current: $('#ns-current'), error: $('#ns-error'),
}, {
  onSwitch: (name) => {
    history.pushState(null, '', urlFor(location.href, name));
    show(name);
  },
  onFocus: loadNamespaces, // so that a namespace another client began since shows
});

// loadNamespaces reads the namespaces in use and offers them in the
// control. When the list cannot be read, the suggestions stay as they
// were; of two reads at once, an older answer does not undo a newer one.
// Every answer is counted (NamespaceView.answered).
let nsAsked = 0;
let nsShown = 0;
async function loadNamespaces() {
  const n = ++nsAsked;
  try {
    const names = namesInUse(await shared('/admin/v1/namespaces'));
    if (n < nsShown) return;
    nsShown = n;
    nsView.suggest(names);
  } catch {
    // the suggestions stay as they were
  } finally {
    nsView.answered();
  }
}

// show makes the page show namespace name, from nothing: the state of the
// one before is left behind, with what is still on its way for it.
function show(name) {
  if (shown) shown.leave();
  const ns = new Shown(enter(name), parallel); // requests of the namespace before are aborted, their answers dropped
  ns.feed = new Feed({
    onRecord: (rec) => apply(ns, rec),
    onState: showFeed,
    onOpen: (again, after) => opened(ns, again, after),
  });
  shown = ns;
  for (const view of [grid, orders, clock, faults, charts]) view.model = ns.model;
  charts.stats = ns.stats;
  grid.clear();
  $('#phones').scrollTop = 0;
  orders.filter(orders.status);
  clock.clear();
  faults.clear();
  setText($('#clock-error'), '');
  setText($('#state-error'), '');
  nsView.show(name);
  redraw();
  charts.draw();
  boot(ns);
}

window.addEventListener('popstate', () => {
  const ns = fromURL(location.href);
  nsView.showError(ns.error);
  if (ns.name !== nsView.name) show(ns.name);
});

{
  const ns = fromURL(location.href);
  nsView.showError(ns.error);
  const canonical = urlFor(location.href, ns.name); // ?namespace=default, or one that cannot be, is dropped
  if (canonical !== location.href) history.replaceState(null, '', canonical);
  show(ns.name);
}
