// What the page knows (static/model.js): snapshots and events land in one
// model, in any order, and applying either twice changes nothing.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Model, finalStatuses, ms, normalizeMessage, roleName } from '../static/model.js';

const t0 = Date.UTC(2026, 4, 1); // 2026-05-01 00:00:00 UTC, 1777593600000

// sms answers the data of an sms.* event for phone.
function sms(id, phone, status, extra = {}) {
  return { id, phone, sender: '95187', body: `code ${id}`, status, sent_at_ms: String(t0), ...extra };
}

const delivered = (id, phone, at) => sms(id, phone, 'delivered', { folder: 'inbox', delivered_at_ms: String(at) });

describe('ms', () => {
  for (const [name, input, want] of [
    ['null', null, 0],
    ['undefined', undefined, 0],
    ['empty', '', 0],
    ['a number', 1234, 1234],
    ['milliseconds as a string', '1777593600000', 1777593600000],
    ['RFC 3339 in UTC', '2026-05-01T00:00:00Z', 1777593600000],
    ['RFC 3339 with an offset', '2026-05-01T08:00:00.250+08:00', 1777593600250],
    ['not a time', 'soon', 0],
  ]) {
    it(name, () => assert.equal(ms(input), want));
  }
});

describe('normalizeMessage', () => {
  it('an sms.delivered event', () => {
    assert.deepEqual(normalizeMessage({
      id: 'm_1', phone: '13000000001', sender: '95187', body: 'Your code is 424242', code: '424242',
      status: 'delivered', folder: 'inbox', sent_at_ms: '1777593600000', delivered_at_ms: '1777593602500',
    }), {
      id: 'm_1', phone: '13000000001', sender: '95187', body: 'Your code is 424242', code: '424242',
      status: 'delivered', folder: 'inbox', reason: '', sentAt: 1777593600000, deliveredAt: 1777593602500,
    });
  });

  it('a message of a folder listing, which has no status', () => {
    const listed = { id: 'm_2', sender: '12381', body: 'b', folder: 'blocked', sent_at: '2026-05-01T00:00:00Z', delivered_at: '2026-05-01T00:00:01Z' };
    assert.deepEqual(normalizeMessage(listed), {
      id: 'm_2', phone: '', sender: '12381', body: 'b', code: '', status: 'blocked', folder: 'blocked',
      reason: '', sentAt: 1777593600000, deliveredAt: 1777593601000,
    });
    assert.equal(normalizeMessage({ ...listed, folder: 'inbox' }).status, 'delivered');
  });

  it('an sms.sent event: queued, not delivered yet', () => {
    const m = normalizeMessage({ id: 'm_3', phone: '13000000001' });
    assert.equal(m.status, 'queued');
    assert.equal(m.sentAt, 0);
    assert.equal(m.deliveredAt, 0);
  });
});

describe('Phone', () => {
  it('follows a message from sent to delivered', () => {
    const model = new Model();
    model.message(sms('m_1', '13000000001', 'queued'));
    const p = model.phone('13000000001');
    assert.deepEqual([...p.pendingIds], ['m_1']);
    assert.equal(p.inbox, 0);
    model.message(delivered('m_1', '13000000001', t0 + 2000));
    assert.deepEqual([...p.pendingIds], []);
    assert.deepEqual([...p.inboxIds], ['m_1']);
    assert.equal(p.inbox, 1);
    assert.deepEqual(p.folder('inbox').map((m) => [m.id, m.status, m.deliveredAt]), [['m_1', 'delivered', t0 + 2000]]);
  });

  it('keeps the furthest state: a listing of a queued message after its delivery changes nothing', () => {
    const model = new Model();
    model.message(delivered('m_1', '13000000001', t0 + 2000));
    model.message(sms('m_1', '13000000001', 'queued'));
    const p = model.phone('13000000001');
    assert.equal(p.messages.get('m_1').status, 'delivered');
    assert.deepEqual([...p.pendingIds], []);
    assert.equal(p.inbox, 1);
  });

  it('counts a failure and says why', () => {
    const model = new Model();
    model.message(sms('m_1', '13000000001', 'queued'));
    model.message(sms('m_1', '13000000001', 'failed', { reason: 'unreachable' }));
    const p = model.phone('13000000001');
    assert.deepEqual([...p.failedIds], ['m_1']);
    assert.deepEqual([...p.pendingIds], []);
    assert.equal(p.lastReason, 'unreachable');
    assert.deepEqual(p.folder('inbox'), []);
  });

  it('empties both folders and forgets the failures when the phone is cleared; what is on its way stays', () => {
    const model = new Model();
    const n = '13000000001';
    model.message(delivered('m_1', n, t0 + 1000));
    model.message(sms('m_2', n, 'blocked', { folder: 'blocked', delivered_at_ms: String(t0 + 2000) }));
    model.message(sms('m_3', n, 'failed', { reason: 'unreachable' }));
    model.message(sms('m_4', n, 'queued'));
    const p = model.phone(n);
    const clears = p.clears;
    model.changed.phones = false;
    model.clearPhone(n);
    assert.ok(model.changed.phones);
    assert.equal(p.inbox, 0);
    assert.equal(p.blocked, 0);
    assert.deepEqual([...p.failedIds], []);
    assert.equal(p.lastReason, '');
    assert.deepEqual([...p.pendingIds], ['m_4']);
    assert.deepEqual(p.folder('inbox'), []);
    assert.notEqual(p.clears, clears);
    // a message delivered after, in the event's order, is the folder's only one
    model.message(delivered('m_4', n, t0 + 3000));
    assert.deepEqual(p.folder('inbox').map((m) => m.id), ['m_4']);
    assert.equal(p.inbox, 1);
    model.clearPhone('13000000999'); // a phone the page does not know: nothing to do
    assert.equal(model.phones.has('13000000999'), false);
  });

  it('files a blocked message in the blocked folder', () => {
    const model = new Model();
    model.message(sms('m_1', '13000000001', 'blocked', { folder: 'blocked', delivered_at_ms: String(t0 + 1000) }));
    const p = model.phone('13000000001');
    assert.equal(p.blocked, 1);
    assert.equal(p.inbox, 0);
    assert.deepEqual(p.folder('blocked').map((m) => m.id), ['m_1']);
  });

  it('keeps the newest 100 messages, the counts exact beyond them', () => {
    const model = new Model();
    for (let i = 0; i < 105; i++) model.message(delivered(`m_${i}`, '13000000001', t0 + i * 1000));
    const p = model.phone('13000000001');
    assert.equal(p.messages.size, 100);
    assert.equal(p.inbox, 105);
    const kept = p.folder('inbox').map((m) => m.id);
    assert.equal(kept[0], 'm_5');
    assert.equal(kept[99], 'm_104');
  });

  it('orders a folder by time, and messages of the same time in the order learned', () => {
    const model = new Model();
    model.message(delivered('m_b', '13000000001', t0 + 5000));
    model.message(delivered('m_c', '13000000001', t0 + 1000));
    model.message(delivered('m_a', '13000000001', t0 + 5000));
    assert.deepEqual(model.phone('13000000001').folder('inbox').map((m) => m.id), ['m_c', 'm_b', 'm_a']);
  });

  it('bumps its version on every change', () => {
    const model = new Model();
    const p = model.phone('13000000001');
    const v = p.version;
    model.message(sms('m_1', '13000000001', 'queued'));
    model.setProfile('13000000001', { spam_filter: true });
    assert.equal(p.version, v + 2);
  });
});

describe('Model', () => {
  it('keeps the phone numbers sorted, each once', () => {
    const model = new Model();
    for (const n of ['13900000000', '13000000002', '13500000000', '13000000002', '13000000001']) model.phone(n);
    assert.deepEqual(model.sorted, ['13000000001', '13000000002', '13500000000', '13900000000']);
    assert.equal(model.phones.size, 4);
  });

  it('a listing of phones counts the events seen before it once', () => {
    const model = new Model();
    model.message(delivered('m_1', '13000000001', t0 + 1000));
    model.setPhones([{ phone: '13000000001', inbox: 1, blocked: 2, profile: { spam_filter: true } }]);
    const p = model.phone('13000000001');
    assert.equal(p.inbox, 1);
    assert.equal(p.blocked, 2);
    assert.deepEqual(p.profile, { spam_filter: true });
    // a delivery after the listing adds to it
    model.message(delivered('m_2', '13000000001', t0 + 2000));
    assert.equal(p.inbox, 2);
  });

  it('a folder listing keeps what was delivered while it was on its way', () => {
    const model = new Model();
    model.setPhones([{ phone: '13000000001', inbox: 1, blocked: 0 }]);
    model.message(delivered('m_2', '13000000001', t0 + 2000));
    model.setFolder('13000000001', 'inbox', [{ id: 'm_1', sender: '95187', body: 'first', folder: 'inbox', delivered_at: '2026-05-01T00:00:01Z' }]);
    const p = model.phone('13000000001');
    p.loaded = 'yes';
    assert.deepEqual([...p.inboxIds].sort(), ['m_1', 'm_2']);
    assert.equal(p.inbox, 2);
    assert.deepEqual(p.folder('inbox').map((m) => m.id), ['m_1', 'm_2']);
  });

  it('the snapshots and events applied twice change nothing', () => {
    const apply = (model) => {
      model.setPhones([{ phone: '13000000001', inbox: 0, blocked: 0 }]);
      model.message(delivered('m_1', '13000000001', t0 + 1000));
      model.setFolder('13000000001', 'inbox', [{ id: 'm_1', folder: 'inbox', delivered_at_ms: t0 + 1000 }]);
      model.setProvider({ id: 'f_1', type: 'first_filing', status: 'submitted', personnel: [{ role: 'entity_leader', name: 'Li Lei', phone: '13800000001' }] });
      model.setMIIT({ id: 'f_1', status: 'pending_validation', personnel: [{ role: 'entity_leader', phone: '13800000001', failures: 1 }] });
      model.status({ id: 'f_1', view: 'miit', status: 'pending_validation' });
    };
    const state = (model) => {
      const p = model.phone('13000000001');
      const o = model.orders.get('f_1');
      return { phones: [...model.sorted], inbox: p.inbox, messages: p.messages.size, status: o.status, people: o.people };
    };
    const model = new Model();
    apply(model);
    const once = structuredClone(state(model));
    apply(model);
    assert.deepEqual(state(model), once);
    assert.deepEqual(once, {
      phones: ['13000000001'], inbox: 1, messages: 1, status: 'pending_validation',
      people: [{ role: 'entity_leader', name: 'Li Lei', phone: '13800000001', validated: false, provValidated: false, failures: 1, resends: 0 }],
    });
  });

  it('an order is the provider\'s until it reaches MIIT, then MIIT\'s, and never goes back', () => {
    const model = new Model();
    model.setProvider({ id: 'f_1', type: 'modify', variant: 'entity', status: 'submitted', submitted_at: '2026-05-01T00:00:00Z' });
    const o = model.orders.get('f_1');
    assert.equal(o.status, 'submitted');
    assert.equal(o.submittedAt, t0);
    model.status({ id: 'f_1', view: 'miit', status: 'under_review' });
    assert.equal(o.status, 'under_review');
    model.setMIIT({ id: 'f_1', status: 'pending_validation' }); // a listing older than the event
    assert.equal(o.status, 'under_review');
    model.status({ id: 'f_1', view: 'miit', status: 'canceled' });
    assert.equal(o.status, 'canceled');
    assert.equal(o.type, 'modify');
    assert.equal(o.variant, 'entity');
  });

  it('MIIT\'s view brings the deadline, failures and resends, never fewer', () => {
    const model = new Model();
    model.setMIIT({
      id: 'f_1', status: 'pending_validation', deadline: '2026-05-02T00:00:00Z', codes_sent_at: '2026-05-01T00:00:00Z',
      personnel: [{ role: 'website_admin', phone: '13800000002', failures: 2, resends: 1 }, { role: 'entity_leader', phone: '13800000001', validated: true }],
    });
    model.setMIIT({ id: 'f_1', status: 'pending_validation', personnel: [{ role: 'website_admin', phone: '13800000002', failures: '1', resends: 0 }] });
    const o = model.orders.get('f_1');
    assert.equal(o.deadline, t0 + 24 * 3600e3);
    assert.equal(o.codesSentAt, t0);
    assert.deepEqual(o.people, [
      { role: 'entity_leader', name: '', phone: '13800000001', validated: true, provValidated: false, failures: 0, resends: 0 },
      { role: 'website_admin', name: '', phone: '13800000002', validated: false, provValidated: false, failures: 2, resends: 1 },
    ]);
  });

  it('a status event says when MIIT\'s view must be read again', () => {
    const model = new Model();
    assert.equal(model.status({ id: 'f_1', view: 'provider', status: 'pending_validation' }), true); // not at MIIT yet
    model.setMIIT({ id: 'f_1', status: 'pending_validation' });
    assert.equal(model.status({ id: 'f_1', view: 'provider', status: 'pending_validation', validated: 'entity_leader' }), false);
    assert.equal(model.status({ id: 'f_1', view: 'miit', status: 'pending_validation', validated: 'entity_leader,website_admin' }), true);
    assert.equal(model.status({ view: 'miit', status: 'approved' }), false);
    assert.equal(model.status(null), false);
    const o = model.orders.get('f_1');
    assert.deepEqual(o.people.map((p) => [p.role, p.validated, p.provValidated]), [['entity_leader', true, true], ['website_admin', true, false]]);
  });

  it('names a phone after the person the provider has on it', () => {
    const model = new Model();
    model.setProvider({ id: 'f_1', status: 'submitted', personnel: [
      { role: 'website_admin', name: 'Han Meimei', phone: '13800000002' },
      { role: 'entity_leader', name: 'Li Lei', phone: '13800000001' },
    ] });
    assert.equal(model.names.get('13800000001'), 'Li Lei · entity leader');
    assert.equal(model.names.get('13800000002'), 'Han Meimei · website admin');
    assert.deepEqual(model.orders.get('f_1').people.map((p) => p.role), ['entity_leader', 'website_admin']);
  });

  it('the open orders of a phone leave out those that take no more validations', () => {
    const model = new Model();
    for (const [id, status] of [['f_1', 'pending_validation'], ['f_2', 'approved'], ['f_3', 'submitted'], ['f_4', 'canceled']]) {
      model.setMIIT({ id, status, personnel: [{ role: 'entity_leader', phone: '13800000001' }] });
    }
    model.setMIIT({ id: 'f_5', status: 'pending_validation', personnel: [{ role: 'entity_leader', phone: '13800000009' }] });
    assert.deepEqual(model.openOrdersOf('13800000001'), ['f_1', 'f_3']);
    assert.deepEqual(model.openOrdersOf('13000000000'), []);
    assert.deepEqual([...finalStatuses].sort(), ['approved', 'canceled', 'rejected', 'returned']);
  });

  it('the clock ticks at its scale between events, and stands while paused', () => {
    const real = performance.now;
    let at = 1000;
    performance.now = () => at;
    try {
      const model = new Model();
      assert.equal(model.now(), 0);
      model.setClock({ now: '2026-05-01T00:00:00Z', scale: 60, paused: false });
      at += 1500;
      assert.equal(model.now(), t0 + 90e3);
      model.setClock({ now: '2026-05-01T01:00:00Z', scale: 60, paused: true });
      at += 1500;
      assert.equal(model.now(), t0 + 3600e3);
      assert.deepEqual(model.clock, { now: t0 + 3600e3, scale: 60, paused: true, at: 2500 });
      model.setClock({ scale: 2 }); // no time: ignored
      assert.equal(model.clock.scale, 60);
    } finally {
      performance.now = real;
    }
  });

  it('the log shows the messages that failed or are on their way before the page opened, and no others', () => {
    const model = new Model();
    const ev = (kind, data) => ({ id: '1-0', kind, data });
    model.setPhones([{ phone: '13000000001', inbox: 1, blocked: 0 }]);
    model.pastMessages([
      ev('sms.sent', sms('m_1', '13000000001', 'queued')),
      ev('sms.delivered', delivered('m_1', '13000000001', t0 + 1000)),
      ev('sms.sent', sms('m_2', '19900000001', 'queued')),
      ev('sms.failed', sms('m_2', '19900000001', 'failed', { reason: 'suspended' })),
      ev('sms.sent', sms('m_3', '19900000001', 'queued')),
      ev('sms.failed', sms('m_3', '19900000001', 'failed', { reason: 'suspended' })),
      ev('sms.sent', sms('m_4', '13000000001', 'queued')),
      ev('filing.status', { id: 'f_1', status: 'approved' }),
      ev('sms.failed', { id: 'm_5' }), // no phone: nothing to show it on
    ]);
    const suspended = model.phones.get('19900000001');
    assert.deepEqual([...suspended.failedIds], ['m_2', 'm_3']);
    assert.equal(suspended.lastReason, 'suspended');
    assert.equal(suspended.messages.get('m_2').body, 'code m_2');
    const p = model.phones.get('13000000001');
    assert.deepEqual([...p.pendingIds], ['m_4']);
    assert.equal(p.inbox, 1); // the delivered one is the listing's to count, once
    assert.equal(p.messages.has('m_1'), false);
    assert.deepEqual(model.sorted, ['13000000001', '19900000001']);
    // applied again, and the live events after it: nothing changes twice
    model.pastMessages([ev('sms.failed', sms('m_2', '19900000001', 'failed', { reason: 'suspended' }))]);
    model.message(sms('m_2', '19900000001', 'failed', { reason: 'suspended' }));
    assert.equal(suspended.failedIds.size, 2);
  });

  it('marks what changed, and clear starts from nothing', () => {
    const model = new Model();
    assert.deepEqual(model.changed, { phones: true, orders: true, clock: true, faults: true });
    Object.assign(model.changed, { phones: false, orders: false, clock: false, faults: false });
    model.setFaults({ sms_loss: 0.01 });
    assert.deepEqual(model.changed, { phones: false, orders: false, clock: false, faults: true });
    model.setMIIT({ id: 'f_1', status: 'submitted' });
    assert.deepEqual(model.changed, { phones: false, orders: true, clock: false, faults: true });
    model.message(delivered('m_1', '13000000001', t0));
    model.clear();
    assert.equal(model.phones.size, 0);
    assert.deepEqual(model.sorted, []);
    assert.equal(model.orders.size, 0);
    assert.equal(model.clock, null);
    assert.equal(model.faults, null);
    assert.deepEqual(model.changed, { phones: true, orders: true, clock: true, faults: true });
  });
});

it('roleName', () => {
  assert.equal(roleName('entity_leader'), 'entity leader');
  assert.equal(roleName('website_admin'), 'website admin');
  assert.equal(roleName('other'), 'other');
});
