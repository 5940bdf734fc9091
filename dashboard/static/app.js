// smsim's dashboard: wires the model, the feed and the views together.
// Snapshots come from the API once (and again after a reconnect); from
// then on every change arrives as an event on /ws/events, and the page
// redraws what changed in the next animation frame. The page shows one
// namespace at a time, the one its URL names: switching drops everything
// of the one before and reads the new one afresh.

import { current, enter, isStale, shared } from './api.js';
import { Charts, Stats } from './charts.js';
import { $, setText } from './dom.js';
import { Feed, newer } from './feed.js';
import { Model } from './model.js';
import { NamespaceView, fromURL, namesInUse, urlFor } from './namespace.js';
import { ClockView, FaultsView } from './controls.js';
import { OrdersTable } from './orders.js';
import { PhoneGrid, toggled } from './phones.js';

const maxOrders = 2000; // orders read at start, newest first
const parallel = 6; // requests at once for the details of phones and orders

const model = new Model();
const stats = new Stats();
let generation = 0; // bumped when the model starts over: answers and jobs of an older one are dropped

const grid = new PhoneGrid($('#phones'), $('#phones-count'), model, { onToggle: toggle, onVisible: loadPhones });
const orders = new OrdersTable($('#orders'), {
  count: $('#orders-count'), prev: $('#orders-prev'), next: $('#orders-next'), page: $('#orders-page'),
  empty: $('.orders-pane .empty'),
}, model);
const clock = new ClockView(model, {
  now: $('#clock-now'), cst: $('#clock-cst'), rate: $('#clock-rate'), pause: $('#clock-pause'),
  scale: $('#clock-scale'), scaleSet: $('#clock-scale-set'), adv1h: $('#advance-1h'), adv24h: $('#advance-24h'),
  error: $('#clock-error'),
});
const faults = new FaultsView(model, {
  text: $('#faults-text'), apply: $('#faults-apply'), reload: $('#faults-reload'), note: $('#faults-note'),
  error: $('#faults-error'),
});
const charts = new Charts(stats, model, {
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
  const ch = model.changed;
  if (ch.phones) {
    ch.phones = false;
    grid.render();
  }
  if (ch.orders) {
    ch.orders = false;
    orders.render();
    loadOrderDetails();
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

function apply(rec) {
  stats.record(rec);
  const d = rec.data || {};
  switch (rec.kind) {
    case 'filing.submitted':
      model.setProvider(d);
      break;
    case 'filing.status':
      if (model.status(d)) refreshMIIT(d.id);
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
      for (const id of model.openOrdersOf(String(d.phone || ''))) refreshMIIT(id);
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
    case 'reset':
      startOver();
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
async function loadAll() {
  const gen = generation;
  const s = current();
  try {
    const [c, f, phones, prov, miit] = await Promise.all([
      s.api('GET', '/admin/v1/clock'),
      s.api('GET', '/admin/v1/faults'),
      s.pages('/phones/v1', 'phones'),
      s.pages('/provider/v1/filings', 'filings', maxOrders),
      s.pages('/miit/v1/filings', 'filings', maxOrders),
    ]);
    if (gen !== generation) return true; // started over meanwhile: that load is the one that counts
    model.setClock(c);
    model.setFaults(f);
    model.setPhones(phones);
    prov.forEach((v) => model.setProvider(v));
    miit.forEach((v) => model.setMIIT(v));
    redraw();
  } catch (e) {
    if (isStale(e) || gen !== generation) return true;
    console.warn('smsim dashboard: reading the state failed:', e.message);
    return false;
  }
  loadStatus(orders.status);
  return true;
}

function startOver() {
  generation++;
  model.clear();
  grid.clear();
  loadAll();
}

// --- details read on demand: the folders of phones in view, MIIT's view
// of orders that changed

let running = 0;
const waiting = [];
function queue(job) {
  waiting.push(job);
  pump();
}
function pump() {
  while (running < parallel && waiting.length) {
    const job = waiting.shift();
    running++;
    job().finally(() => {
      running--;
      pump();
    });
  }
}

function loadPhones(numbers) {
  for (const n of numbers) {
    const p = model.phones.get(n);
    if (!p || p.loaded !== 'no') continue;
    p.loaded = 'loading';
    const gen = generation;
    const s = current();
    queue(async () => {
      const path = `/phones/v1/${encodeURIComponent(n)}`;
      try {
        const [inbox, blocked, profile] = await Promise.all([
          s.api('GET', `${path}/messages`),
          s.api('GET', `${path}/messages?folder=blocked`),
          p.profile ? null : s.api('GET', `${path}/profile`),
        ]);
        if (gen !== generation) return;
        model.setFolder(n, 'inbox', inbox.messages || []);
        model.setFolder(n, 'blocked', blocked.messages || []);
        if (profile) model.setProfile(n, profile);
        p.loaded = 'yes';
        p.version++;
      } catch {
        setTimeout(() => { if (p.loaded === 'loading') p.loaded = 'no'; }, 3000); // try again when in view
      }
      redraw();
    });
  }
}

const miitWanted = new Set();
let miitTimer = 0;
function refreshMIIT(id) {
  if (!id) return;
  miitWanted.add(id);
  if (!miitTimer) miitTimer = setTimeout(flushMIIT, 100);
}
function flushMIIT() {
  miitTimer = 0;
  const gen = generation;
  const s = current();
  for (const id of miitWanted) {
    queue(async () => {
      try {
        const v = await s.api('GET', `/miit/v1/filings/${encodeURIComponent(id)}`);
        if (gen === generation) model.setMIIT(v);
      } catch { /* the next event of the order reads it again */ }
      redraw();
    });
  }
  miitWanted.clear();
}

// loadOrderDetails reads the provider's view of orders shown that came
// from MIIT's listing only (names are the provider's).
const provAsked = new Set();
function loadOrderDetails() {
  const gen = generation;
  const s = current();
  for (const o of orders.visible()) {
    if (o.hasProvider || provAsked.has(o.id)) continue;
    provAsked.add(o.id);
    queue(async () => {
      try {
        const v = await s.api('GET', `/provider/v1/filings/${encodeURIComponent(o.id)}`);
        if (gen === generation) model.setProvider(v);
      } catch { if (gen === generation) provAsked.delete(o.id); }
      redraw();
    });
  }
}

// --- actions

async function toggle(number, fault, button) {
  button.disabled = true;
  const s = current(); // both requests in the namespace of the click
  try {
    const path = `/phones/v1/${encodeURIComponent(number)}/profile`;
    const p = model.phone(number);
    const profile = p.profile || await s.api('GET', path);
    model.setProfile(number, await s.api('PUT', path, toggled(profile, fault)));
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
  loadStatus(e.target.value);
});

// loadStatus reads the orders of a status, older ones too than those read
// at start.
async function loadStatus(status) {
  if (!status) return;
  const gen = generation;
  const s = current();
  try {
    const list = status === 'submitted'
      ? await s.pages(`/provider/v1/filings?status=${status}`, 'filings', maxOrders)
      : await s.pages(`/miit/v1/filings?status=${status}`, 'filings', maxOrders);
    if (gen !== generation) return;
    list.forEach((v) => (status === 'submitted' ? model.setProvider(v) : model.setMIIT(v)));
    redraw();
  } catch { /* the table shows what the page has */ }
}

// --- ticking: the simulated clock and the time left, locally

setInterval(() => clock.tick(), 100);
setInterval(() => {
  stats.tick();
  charts.draw();
  orders.render();
}, 1000);

// --- start: read where the log stands, the state, then follow the log

let reload = false; // whether the next open of the feed must read the state again
const feed = new Feed({
  onRecord: apply,
  onState: (s) => {
    const el = $('#feed-state');
    el.dataset.state = s;
    setText(el, s);
  },
  onOpen: async (again, after) => {
    const gen = generation;
    if (again && !reload) {
      // The feed catches up from the last event seen, unless the log no
      // longer holds it: a store that started afresh, or more missed than
      // the log keeps. Then the page starts over from the API's state.
      let gone;
      try {
        const log = await current().api('GET', '/admin/v1/events?limit=1');
        const oldest = log.events && log.events[0];
        gone = after !== '' && (!oldest || newer(oldest.id, after));
      } catch {
        gone = true;
      }
      if (gen !== generation) return; // another namespace, or started over, meanwhile
      reload = gone;
    }
    if (reload) {
      reload = false;
      startOver();
    }
  },
});

// seedStats feeds the charts with the events of the last minutes before
// the page opened, up to event id last (the feed goes on from there): event
// ids begin with the server's Unix milliseconds.
async function seedStats(s, last) {
  let after = `${Date.now() - 10 * 60e3}-0`;
  for (let n = 0; n < 20 && last && last !== '0'; n++) {
    const log = await s.api('GET', `/admin/v1/events?after=${after}&limit=1000`);
    for (const rec of log.events || []) {
      if (newer(rec.id, last)) return;
      stats.record(rec);
      after = rec.id;
    }
    if (!log.events || log.events.length < 1000) return;
  }
}

// boot reads where the namespace's log stands, the charts' last minutes
// and the state, then follows the log.
async function boot() {
  const gen = generation;
  const s = current();
  let after = '';
  try {
    after = (await s.api('GET', '/admin/v1/events?limit=1')).last || '';
    await seedStats(s, after);
  } catch { /* the server is away (the feed waits for it), or the page left the namespace */ }
  if (gen !== generation) return;
  const loaded = await loadAll();
  if (gen !== generation) return;
  reload = !loaded;
  stats.tick();
  feed.start(s.namespace, after);
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
let nsAsked = 0;
let nsShown = 0;
async function loadNamespaces() {
  const n = ++nsAsked;
  try {
    const names = namesInUse(await shared('/admin/v1/namespaces'));
    if (n < nsShown) return;
    nsShown = n;
    nsView.suggest(names);
  } catch { /* the suggestions stay as they were */ }
}

// show makes the page show namespace name, from nothing.
function show(name) {
  enter(name); // requests of the namespace before are aborted, their answers dropped
  generation++;
  feed.stop();
  waiting.length = 0;
  clearTimeout(miitTimer);
  miitTimer = 0;
  miitWanted.clear();
  provAsked.clear();
  reload = false;
  model.clear();
  grid.clear();
  $('#phones').scrollTop = 0;
  stats.clear();
  orders.filter(orders.status);
  clock.clear();
  faults.clear();
  setText($('#clock-error'), '');
  nsView.show(name);
  redraw();
  charts.draw();
  boot();
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
