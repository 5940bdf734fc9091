// The grid of handsets. Only the cards in view (and a row either side)
// are in the document, so that thousands of phones scroll smoothly; each
// card is rebuilt only when its phone changed.

import { h, setText, withCode } from './dom.js';
import { fmtCount, fmtPhone, fmtTime } from './format.js';

const faults = [
  ['spam_filter', 'spam filter', (p) => !!p.spam_filter],
  ['suspended', 'suspended', (p) => p.service === 'suspended'],
  ['unreachable', 'unreachable', (p) => p.reachable === false],
];

// faultOn tells whether a profile has one of the faults the badges show.
export function faultOn(profile, fault) {
  const f = faults.find((x) => x[0] === fault);
  return !!(profile && f && f[2](profile));
}

// toggled answers a copy of profile with fault switched.
export function toggled(profile, fault) {
  const p = { ...profile };
  if (fault === 'spam_filter') p.spam_filter = !p.spam_filter;
  if (fault === 'suspended') p.service = p.service === 'suspended' ? 'active' : 'suspended';
  if (fault === 'unreachable') p.reachable = p.reachable === false;
  return p;
}

// searchDigits answers the digits a search by number looks for: those of
// q, without the country code +86 that the phones' numbers leave out.
export function searchDigits(q) {
  const s = String(q).trim();
  const d = s.replace(/\D/g, '');
  if (/^\+\s*86/.test(s) || (d.length === 13 && d.startsWith('86'))) return d.slice(2);
  return d;
}

export class PhoneGrid {
  // onToggle(number, fault) is called when a badge is clicked; onVisible
  // (numbers) after each render with the phones in view.
  constructor(scroller, count, model, { onToggle, onVisible }) {
    this.scroller = scroller;
    this.canvas = scroller.querySelector('.phone-canvas');
    this.empty = scroller.querySelector('.empty');
    this.count = count;
    this.model = model; // the model shown: the page points the view at another for another namespace
    this.onToggle = onToggle;
    this.onVisible = onVisible;
    this.q = '';
    this.list = [];
    this.listOf = null; // the model.sorted length and query the list was made from
    this.cards = new Map(); // number → {el, version, names}
    this.raf = 0;
    const css = getComputedStyle(document.documentElement);
    this.cardH = parseFloat(css.getPropertyValue('--card-h')) || 252;
    this.minW = parseFloat(css.getPropertyValue('--card-min-w')) || 250;
    this.gap = parseFloat(css.getPropertyValue('--gap')) || 10;
    scroller.addEventListener('scroll', () => this.request(), { passive: true });
    new ResizeObserver(() => this.request()).observe(scroller);
    this.canvas.addEventListener('click', (e) => this.click(e));
  }

  // clear forgets every card, for a model that starts over.
  clear() {
    for (const card of this.cards.values()) card.el.remove();
    this.cards.clear();
    this.listOf = null;
  }

  // search shows the numbers that hold the digits of q, which may be
  // written as people write one: with +86 (or 86 before eleven digits),
  // spaces or dashes, which the search drops.
  search(q) {
    this.q = searchDigits(q);
    this.scroller.scrollTop = 0;
    this.request();
  }

  request() {
    if (!this.raf) this.raf = requestAnimationFrame(() => { this.raf = 0; this.render(); });
  }

  click(e) {
    const card = e.target.closest('.phone');
    if (!card) return;
    const number = card.dataset.phone;
    const badge = e.target.closest('button[data-fault]');
    if (badge) {
      this.onToggle(number, badge.dataset.fault, badge);
      return;
    }
    const tab = e.target.closest('button[data-tab]');
    if (tab) {
      const p = this.model.phones.get(number);
      if (p && p.tab !== tab.dataset.tab) {
        p.tab = tab.dataset.tab;
        p.version++;
        this.request();
      }
    }
  }

  render() {
    const m = this.model;
    const key = `${m.sorted.length}|${this.q}`;
    if (this.listOf !== key || m.sorted !== this.sortedRef) {
      this.list = this.q ? m.sorted.filter((n) => n.includes(this.q)) : m.sorted;
      this.listOf = key;
      this.sortedRef = m.sorted;
    }
    const n = this.list.length;
    setText(this.count, this.q ? `${fmtCount(n)} of ${fmtCount(m.sorted.length)}` : fmtCount(n));
    this.empty.hidden = n > 0;
    if (n === 0 && this.q) setText(this.empty, `No phone number contains ${this.q}.`);
    else if (n === 0) setText(this.empty, 'No phones yet: a phone appears when it gets a message or a profile.');

    const W = this.scroller.clientWidth;
    const gap = this.gap;
    const cols = Math.max(1, Math.floor((W + gap) / (this.minW + gap)));
    const cw = Math.floor((W - gap * (cols - 1)) / cols);
    const rowH = this.cardH + gap;
    const rows = Math.ceil(n / cols);
    this.canvas.style.height = `${Math.max(0, rows * rowH - gap)}px`;
    const top = this.scroller.scrollTop;
    const r0 = Math.max(0, Math.floor(top / rowH) - 1);
    const r1 = Math.min(rows, Math.ceil((top + this.scroller.clientHeight) / rowH) + 1);

    const want = new Set();
    const now = m.now();
    for (let i = r0 * cols; i < Math.min(n, r1 * cols); i++) {
      const number = this.list[i];
      const p = m.phones.get(number);
      want.add(number);
      let card = this.cards.get(number);
      const names = m.names.get(number) || '';
      if (!card) {
        card = { el: h('article', { className: 'phone', 'data-phone': number }), version: -1, names: null };
        this.cards.set(number, card);
        this.canvas.append(card.el);
      }
      // its width and place first: fill scrolls its messages to the
      // newest, which it measures at the width the card will have
      const x = (i % cols) * (cw + gap);
      const y = Math.floor(i / cols) * rowH;
      const tf = `translate(${x}px, ${y}px)`;
      if (card.el.style.transform !== tf) card.el.style.transform = tf;
      if (card.el.style.width !== `${cw}px`) card.el.style.width = `${cw}px`;
      if (card.version !== p.version || card.names !== names) {
        this.fill(card.el, p, names, now);
        card.version = p.version;
        card.names = names;
      }
    }
    for (const [number, card] of this.cards) {
      if (!want.has(number)) {
        card.el.remove();
        this.cards.delete(number);
      }
    }
    this.onVisible([...want]);
  }

  // fill rebuilds a card's contents.
  fill(el, p, names, now) {
    const prof = p.profile;
    const down = faultOn(prof, 'suspended') || faultOn(prof, 'unreachable');
    el.dataset.down = String(down);
    const old = el.querySelector('.msgs');
    const stick = !old || old.scrollTop + old.clientHeight >= old.scrollHeight - 4;
    const keep = old ? old.scrollTop : 0;

    const shown = p.folder(p.tab);
    const total = p.tab === 'blocked' ? p.blocked : p.inbox;
    const msgs = h('div', { className: 'msgs', 'data-folder': p.tab, role: 'log' },
      total > shown.length ? h('p', { className: 'sub' }, `${fmtCount(total - shown.length)} older not shown`) : null,
      shown.map((msg) => h('div', { className: 'bubble', 'data-folder': msg.folder, 'data-id': msg.id },
        h('div', { className: 'meta' },
          h('span', { className: 'sender' }, msg.sender),
          h('time', {}, fmtTime(msg.deliveredAt || msg.sentAt, now))),
        h('div', { className: 'body' }, withCode(msg.body, msg.code)))),
      shown.length === 0 ? h('p', { className: 'sub' }, p.loaded === 'yes' || total === 0 ? (p.tab === 'blocked' ? 'Nothing blocked.' : 'No messages.') : 'Loading…') : null);

    el.replaceChildren(
      h('div', { className: 'phone-head' },
        h('span', { className: 'number', title: p.number }, fmtPhone(p.number)),
        h('span', { className: 'who', title: names }, names)),
      h('div', { className: 'badges' }, faults.map(([key, label]) =>
        h('button', { type: 'button', className: 'badge', 'data-fault': key, 'aria-pressed': String(faultOn(prof, key)),
          title: `toggle ${label} (PUT /phones/v1/${p.number}/profile)` }, label))),
      h('div', { className: 'tabs', role: 'tablist' },
        h('button', { type: 'button', className: 'tab', role: 'tab', 'data-tab': 'inbox', 'aria-selected': String(p.tab === 'inbox') }, `Inbox ${fmtCount(p.inbox)}`),
        h('button', { type: 'button', className: 'tab', role: 'tab', 'data-tab': 'blocked', 'aria-selected': String(p.tab === 'blocked') }, `Blocked ${fmtCount(p.blocked)}`)),
      msgs,
      h('div', { className: 'phone-foot' },
        p.pendingIds.size ? h('span', { className: 'pending' }, `${p.pendingIds.size} on the way`) : null,
        p.failedIds.size ? h('span', { className: 'failed' }, `${p.failedIds.size} failed${p.lastReason ? ': ' + p.lastReason : ''}`) : null));
    msgs.scrollTop = stick ? msgs.scrollHeight : keep;
  }
}
