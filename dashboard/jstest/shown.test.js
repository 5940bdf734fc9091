// The state of the namespace shown (static/shown.js): one object for each
// namespace, nothing of it shared with the next, and nothing of it left to
// run once the page leaves it.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { Shown } from '../static/shown.js';
import { Timers } from './fakes.js';

const session = (namespace) => ({ namespace });

// settled answers once the jobs' promises that could settle have.
const settled = () => new Promise((resolve) => setImmediate(resolve));

// jobs answers jobs that note when they start and end when the test says.
function jobs(n) {
  const started = [];
  const finish = [];
  const list = Array.from({ length: n }, (_, i) => () => {
    started.push(i);
    return new Promise((resolve) => { finish[i] = resolve; });
  });
  return { list, started, finish };
}

describe('Shown', () => {
  it('begins from nothing', () => {
    const ns = new Shown(session('team-a'), 6);
    assert.equal(ns.namespace, 'team-a');
    assert.equal(ns.model.phones.size, 0);
    assert.equal(ns.model.orders.size, 0);
    assert.equal(ns.model.clock, null);
    assert.equal(ns.model.faults, null);
    assert.deepEqual(ns.stats.validations, { complete: 0, partial: 0, failed: 0, not_found: 0 });
    assert.equal(ns.reload, false);
    assert.equal(ns.feed, null);
    assert.equal(ns.miitWanted.size, 0);
    assert.equal(ns.provAsked.size, 0);
  });

  it('shares nothing with the one shown before it', () => {
    const a = new Shown(session('team-a'), 6);
    a.model.message({ id: 'm_1', phone: '13000000001', status: 'delivered', folder: 'inbox' });
    a.stats.record({ id: '1-0', kind: 'validation', data: { result: 'complete' } });
    a.miitWanted.add('f_1');
    a.provAsked.add('f_2');
    a.reload = true;
    a.leave();
    const b = new Shown(session('team-b'), 6);
    assert.notEqual(b.model, a.model);
    assert.notEqual(b.stats, a.stats);
    assert.deepEqual(b.model.sorted, []);
    assert.equal(b.stats.validations.complete, 0);
    assert.equal(b.miitWanted.size, 0);
    assert.equal(b.provAsked.size, 0);
    assert.equal(b.reload, false);
    assert.deepEqual(a.model.sorted, ['13000000001']); // what the old one knew stays with it
  });

  it('an answer asked for lands unless the model started over or the page left', () => {
    const ns = new Shown(session('team-a'), 6);
    const first = ns.mark();
    assert.equal(ns.holds(first), true);
    ns.model.message({ id: 'm_1', phone: '13000000001', status: 'delivered', folder: 'inbox' });
    ns.startOver();
    assert.equal(ns.holds(first), false);
    assert.deepEqual(ns.model.sorted, []);
    const second = ns.mark();
    assert.equal(ns.holds(second), true);
    ns.leave();
    assert.equal(ns.holds(second), false);
  });

  it('runs at most parallel jobs at once, the others in turn', async () => {
    const ns = new Shown(session('team-a'), 2);
    const { list, started, finish } = jobs(5);
    list.forEach((job) => ns.queue(job));
    assert.deepEqual(started, [0, 1]);
    assert.equal(ns.running, 2);
    finish[1]();
    await settled();
    assert.deepEqual(started, [0, 1, 2]);
    finish[0]();
    finish[2]();
    await settled();
    assert.deepEqual(started, [0, 1, 2, 3, 4]);
    finish[3]();
    finish[4]();
    await settled();
    assert.equal(ns.running, 0);
    assert.equal(ns.waiting.length, 0);
  });

  it('a job that fails frees its place', async () => {
    const ns = new Shown(session('team-a'), 1);
    const ran = [];
    ns.queue(() => Promise.reject(new Error('the server is away')).catch(() => ran.push('failed')));
    ns.queue(async () => { ran.push('next'); });
    await settled();
    assert.deepEqual(ran, ['failed', 'next']);
    assert.equal(ns.running, 0);
  });

  describe('left', () => {
    let timers, restore;
    beforeEach(() => {
      timers = new Timers();
      restore = timers.install();
    });
    afterEach(() => restore());

    it('starts none of its jobs still waiting, nor any queued after', async () => {
      const ns = new Shown(session('team-a'), 1);
      const { list, started, finish } = jobs(3);
      list.slice(0, 2).forEach((job) => ns.queue(job));
      assert.deepEqual(started, [0]);
      ns.leave();
      assert.equal(ns.waiting.length, 0);
      ns.queue(list[2]);
      finish[0]();
      await settled();
      assert.deepEqual(started, [0]);
      assert.equal(ns.running, 0);
    });

    it('clears its timers, and sets no more', () => {
      const ns = new Shown(session('team-a'), 6);
      const ran = [];
      ns.later(() => ran.push('due'), 100);
      ns.later(() => ran.push('cleared'), 3000);
      assert.deepEqual(timers.delays(), [100, 3000]);
      const [[id, due]] = timers.pending;
      timers.pending.delete(id);
      due.fn(); // the first runs before the page leaves
      assert.equal(ns.timers.size, 1);
      ns.leave();
      assert.equal(ns.timers.size, 0);
      ns.later(() => ran.push('after'), 100);
      assert.deepEqual(timers.delays(), []);
      assert.deepEqual(ran, ['due']);
    });

    it('stops its feed', () => {
      const ns = new Shown(session('team-a'), 6);
      let stopped = 0;
      ns.feed = { stop: () => stopped++ };
      ns.leave();
      assert.equal(stopped, 1);
    });
  });
});
