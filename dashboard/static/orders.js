// The table of filing orders: type, personnel with their failures and
// resends, status in both views, and the time left on the validation
// window, newest first, filtered by status, a page at a time.

import { h, setText } from './dom.js';
import { fmtCount, fmtDateTime, fmtDuration, fmtPhone } from './format.js';

const pageSize = 25;
const urgent = 2 * 3600e3; // less than this left is shown in red

const typeNames = {
  first_filing: 'first filing', add_service: 'add service', add_provider: 'add provider',
  remove_provider: 'remove provider', modify: 'modify', cancel: 'cancel',
};
const roleShort = { entity_leader: 'leader', website_admin: 'admin' };

export class OrdersTable {
  constructor(table, parts, model) {
    this.tbody = table.querySelector('tbody');
    this.parts = parts; // {count, select, prev, next, page, empty}
    this.model = model; // the model shown: the page points the view at another for another namespace
    this.status = '';
    this.page = 0;
    this.built = new Map(); // order id → {tr, sig, leftSig}: the rows in the table, rebuilt only when they change
    parts.prev.addEventListener('click', () => { this.page = Math.max(0, this.page - 1); this.render(); });
    parts.next.addEventListener('click', () => { this.page++; this.render(); });
  }

  filter(status) {
    this.status = status;
    this.page = 0;
    this.render();
  }

  // rows answers the orders that pass the filter, newest first.
  rows() {
    const all = [...this.model.orders.values()].filter((o) => !this.status || o.status === this.status);
    return all.sort((a, b) => b.submittedAt - a.submittedAt || (a.id < b.id ? 1 : -1));
  }

  // visible answers the orders on the page shown.
  visible() {
    return this.rows().slice(this.page * pageSize, (this.page + 1) * pageSize);
  }

  render() {
    const rows = this.rows();
    const pages = Math.max(1, Math.ceil(rows.length / pageSize));
    this.page = Math.min(this.page, pages - 1);
    const shown = rows.slice(this.page * pageSize, (this.page + 1) * pageSize);
    const now = this.model.now();
    // Only what changed is rebuilt, and the rows stay in place while their
    // order does: the table is drawn again every second (the time left),
    // and a text selected in it (an order's id) stays selected.
    const built = new Map();
    const trs = shown.map((o) => {
      const sig = rowSig(o);
      let b = this.built.get(o.id);
      if (!b || b.sig !== sig) b = { tr: this.row(o, now), sig, leftSig: leftSig(o, now) };
      const ls = leftSig(o, now);
      if (b.leftSig !== ls) {
        b.tr.lastElementChild.replaceChildren(this.left(o, now));
        b.leftSig = ls;
      }
      built.set(o.id, b);
      return b.tr;
    });
    this.built = built;
    const kids = this.tbody.children;
    if (kids.length !== trs.length || trs.some((tr, i) => kids[i] !== tr)) this.tbody.replaceChildren(...trs);
    const total = this.model.orders.size;
    setText(this.parts.count, this.status ? `${fmtCount(rows.length)} of ${fmtCount(total)}` : fmtCount(total));
    setText(this.parts.page, `page ${this.page + 1} of ${pages}`);
    this.parts.prev.disabled = this.page === 0;
    this.parts.next.disabled = this.page >= pages - 1;
    this.parts.empty.hidden = shown.length > 0;
    setText(this.parts.empty, this.status ? `No ${this.status.replace('_', ' ')} orders.` : 'No orders yet.');
  }

  row(o, now) {
    const type = `${typeNames[o.type] || o.type}${o.variant ? ' · ' + o.variant.replaceAll('_', ' ') : ''}`;
    const people = o.people.length ? o.people.map((p) => h('div', { className: 'person', 'data-role': p.role },
      h('div', {},
        h('span', { className: 'role' }, roleShort[p.role] || p.role),
        h('span', { className: p.validated ? 'ok' : 'no', title: p.validated ? 'validated' : 'not validated' }, p.validated ? '✓' : '○'),
        ' ', h('span', { className: 'name' }, p.name)),
      h('div', { className: 'sub' },
        h('span', { className: 'tel' }, fmtPhone(p.phone)), ' · ',
        h('span', { className: 'n', 'data-hot': String(p.failures >= 3), title: 'failed validations in a row (5 reject the order)' }, `fail ${p.failures}`), ' · ',
        h('span', { className: 'n', title: 'resends used (at most 2)' }, `resend ${p.resends}/2`))))
      : h('span', { className: 'sub' }, 'no one must validate');
    const status = [h('span', { className: 'status', 'data-s': o.status }, o.status.replaceAll('_', ' '))];
    if (o.canceledBy) status.push(h('div', { className: 'sub' }, `by ${o.canceledBy}`));
    if (o.provStatus && o.provStatus !== o.status) status.push(h('div', { className: 'sub' }, `provider: ${o.provStatus.replaceAll('_', ' ')}`));
    return h('tr', { 'data-order': o.id, 'data-status': o.status },
      h('td', { title: `submitted ${fmtDateTime(o.submittedAt)} UTC` }, h('div', {}, type), h('div', { className: 'id' }, o.id)),
      h('td', {}, people),
      h('td', {}, status),
      h('td', {}, this.left(o, now)));
  }

  left(o, now) {
    if (o.status === 'submitted') return h('span', { className: 'sub' }, 'syncing to MIIT');
    if (o.status !== 'pending_validation' || !o.deadline) return h('span', { className: 'sub' }, '—');
    const left = o.deadline - now;
    return h('span', { className: 'left', 'data-urgent': String(left < urgent), title: `deadline ${fmtDateTime(o.deadline)} UTC` },
      left > 0 ? fmtDuration(left) : 'expiring');
  }
}

// rowSig is what a row shows of order o but the time left: a row whose
// signature did not change is kept as it is.
export function rowSig(o) {
  return JSON.stringify([o.id, o.type, o.variant, o.status, o.canceledBy, o.provStatus, o.submittedAt, o.deadline,
    o.people.map((p) => [p.role, p.validated, p.name, p.phone, p.failures, p.resends])]);
}

// leftSig is what the cell of the time left shows of order o at now.
export function leftSig(o, now) {
  if (o.status === 'submitted') return 'syncing';
  if (o.status !== 'pending_validation' || !o.deadline) return '—';
  const left = o.deadline - now;
  return `${left < urgent}|${left > 0 ? fmtDuration(left) : 'expiring'}`;
}
