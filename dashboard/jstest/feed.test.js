// Following the event log (static/feed.js): events in the order of their
// ids, a socket that catches up from the last event seen when it opens
// again, and none handed on from a socket the feed has left.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { Feed, eventsURL, lostTrack, newer, retryDelay, upTo } from '../static/feed.js';
import { FakeSocket, Timers } from './fakes.js';

describe('newer', () => {
  for (const [a, b, want] of [
    ['1777593600001-0', '1777593600000-0', true],
    ['1777593600000-0', '1777593600001-0', false],
    ['1777593600000-2', '1777593600000-1', true],
    ['1777593600000-10', '1777593600000-9', true], // numbers, not strings
    ['1777593600000-1', '1777593600000-1', false],
    ['1777593600000-1', '1777593600000', true], // no sequence is 0
    ['1777593600000', '1777593600000-0', false],
    ['1777593600000-0', '0', true], // the id of an empty log
    ['0', '0', false],
  ]) {
    it(`${a} after ${b}: ${want}`, () => assert.equal(newer(a, b), want));
  }
});

describe('upTo', () => {
  const log = [{ id: '100-0' }, { id: '100-1' }, { id: '101-0' }, { id: '102-0' }];
  for (const [last, want] of [
    ['101-0', ['100-0', '100-1', '101-0']],
    ['100-5', ['100-0', '100-1']],
    ['102-0', ['100-0', '100-1', '101-0', '102-0']],
    ['999-0', ['100-0', '100-1', '101-0', '102-0']],
    ['99-9', []],
  ]) {
    it(`up to ${last}`, () => assert.deepEqual(upTo(log, last).map((r) => r.id), want));
  }
  it('of no events', () => assert.deepEqual(upTo([], '100-0'), []));
});

describe('lostTrack', () => {
  for (const [name, log, after, want] of [
    ['the log holds the event seen and more', { events: [{ id: '100-0' }] }, '105-0', false],
    ['the oldest event is the one seen', { events: [{ id: '105-0' }] }, '105-0', false],
    ['the log begins after the event seen: trimmed, or a new store', { events: [{ id: '106-0' }] }, '105-0', true],
    ['the log is empty', { events: [] }, '105-0', true],
    ['an answer without events', {}, '105-0', true],
    ['no event seen: nothing to catch up on', { events: [] }, '', false],
    ['an empty log seen, events since', { events: [{ id: '100-0' }] }, '0', true],
  ]) {
    it(name, () => assert.equal(lostTrack(log, after), want));
  }
});

describe('eventsURL', () => {
  for (const [name, loc, ns, after, want] of [
    ['live only', { protocol: 'http:', host: '127.0.0.1:8080' }, 'default', '', 'ws://127.0.0.1:8080/ws/events?namespace=default'],
    ['catching up', { protocol: 'http:', host: 'smsim.test' }, 'team-a', '1777593600000-3', 'ws://smsim.test/ws/events?namespace=team-a&after=1777593600000-3'],
    ['over TLS', { protocol: 'https:', host: 'smsim.test' }, 'a.b_c', '', 'wss://smsim.test/ws/events?namespace=a.b_c'],
  ]) {
    it(name, () => assert.equal(eventsURL(loc, ns, after), want));
  }
});

describe('retryDelay', () => {
  it('doubles from 0.25 s up to 3 s', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 10].map((n) => retryDelay(n, 0.5)), [250, 500, 1000, 2000, 3000, 3000, 3000]);
  });
  it('jitters by 20% either way', () => {
    assert.equal(retryDelay(0, 0), 200);
    assert.equal(retryDelay(4, 0), 2400);
    assert.equal(Math.round(retryDelay(0, 1)), 300); // 1.2 is no binary fraction: to the millisecond
    assert.equal(Math.round(retryDelay(4, 1)), 3600);
  });
});

describe('Feed', () => {
  let timers, restore, log, feed;
  beforeEach(() => {
    timers = new Timers();
    const realRandom = Math.random;
    Math.random = () => 0.5;
    const undo = [timers.install(), FakeSocket.install(), () => { Math.random = realRandom; }];
    const realLocation = globalThis.location;
    globalThis.location = { protocol: 'http:', host: 'smsim.test' };
    undo.push(() => { globalThis.location = realLocation; });
    restore = () => undo.forEach((f) => f());
    log = [];
    feed = new Feed({
      onRecord: (rec) => log.push(['record', rec.id]),
      onState: (s) => log.push(['state', s]),
      onOpen: (again, after) => log.push(['open', again, after]),
    });
  });
  afterEach(() => restore());

  const sockets = () => FakeSocket.made;

  it('hands on the events of its socket in the order they come, skipping frames that are no event', () => {
    feed.start('team-a', '100-0');
    assert.equal(sockets()[0].url, 'ws://smsim.test/ws/events?namespace=team-a&after=100-0');
    sockets()[0].open();
    for (const frame of ['{"id": "101-0", "kind": "clock"}', 'not JSON', 'null', '{"kind": "clock"}', '{"id": 7}', '{"id": "101-1", "kind": "faults"}']) {
      sockets()[0].receive(frame);
    }
    assert.deepEqual(log, [['state', 'connecting'], ['state', 'live'], ['open', false, '100-0'], ['record', '101-0'], ['record', '101-1']]);
    assert.equal(feed.after, '101-1');
  });

  it('connects again after a drop, catching up from the last event seen, waiting longer each failed try', () => {
    feed.start('team-a', '100-0');
    sockets()[0].open();
    sockets()[0].receive('{"id": "101-0"}');
    sockets()[0].drop();
    assert.deepEqual(timers.delays(), [250]);
    timers.run();
    assert.equal(sockets()[1].url, 'ws://smsim.test/ws/events?namespace=team-a&after=101-0');
    sockets()[1].drop(); // the server is still away
    assert.deepEqual(timers.delays(), [500]);
    timers.run();
    sockets()[2].drop();
    assert.deepEqual(timers.delays(), [1000]);
    timers.run();
    sockets()[3].open();
    sockets()[3].receive('{"id": "102-0"}');
    sockets()[3].drop(); // open once: the tries count from nought again
    assert.deepEqual(timers.delays(), [250]);
    timers.run();
    assert.equal(sockets()[4].url, 'ws://smsim.test/ws/events?namespace=team-a&after=102-0');
    assert.deepEqual(log, [
      ['state', 'connecting'], ['state', 'live'], ['open', false, '100-0'], ['record', '101-0'],
      ['state', 'reconnecting'], ['state', 'reconnecting'], ['state', 'reconnecting'], ['state', 'reconnecting'],
      ['state', 'reconnecting'], ['state', 'reconnecting'], ['state', 'live'], ['open', true, '101-0'], ['record', '102-0'],
      ['state', 'reconnecting'], ['state', 'reconnecting'],
    ]);
  });

  it('a socket that never opened is tried again as connecting, not reconnecting', () => {
    feed.start('team-a', '');
    sockets()[0].drop();
    timers.run();
    sockets()[1].open();
    assert.equal(sockets()[1].url, 'ws://smsim.test/ws/events?namespace=team-a');
    assert.deepEqual(log, [['state', 'connecting'], ['state', 'connecting'], ['state', 'connecting'], ['state', 'live'], ['open', false, '']]);
  });

  it('started on another namespace, hands on nothing more of the one before', () => {
    feed.start('team-a', '100-0');
    sockets()[0].open();
    sockets()[0].receive('{"id": "101-0"}');
    feed.start('team-b', '5-0');
    assert.equal(sockets()[0].closed, true);
    sockets()[0].receive('{"id": "102-0"}');
    sockets()[0].drop();
    assert.deepEqual(timers.delays(), []);
    assert.equal(sockets()[1].url, 'ws://smsim.test/ws/events?namespace=team-b&after=5-0');
    sockets()[1].open();
    sockets()[1].receive('{"id": "6-0"}');
    assert.deepEqual(log, [
      ['state', 'connecting'], ['state', 'live'], ['open', false, '100-0'], ['record', '101-0'],
      ['state', 'connecting'], ['state', 'live'], ['open', false, '5-0'], ['record', '6-0'],
    ]);
  });

  it('stopped while waiting to connect again, connects no more', () => {
    feed.start('team-a', '100-0');
    sockets()[0].open();
    sockets()[0].drop();
    assert.deepEqual(timers.delays(), [250]);
    feed.stop();
    assert.deepEqual(timers.delays(), []);
    assert.equal(sockets().length, 1);
  });

  it('stopped while its socket connects, closes the socket once open and hands on nothing', () => {
    feed.start('team-a', '100-0');
    feed.stop();
    assert.equal(sockets()[0].closed, false); // closing a socket still connecting says so on the console
    sockets()[0].open();
    assert.equal(sockets()[0].closed, true);
    sockets()[0].receive('{"id": "101-0"}');
    assert.deepEqual(log, [['state', 'connecting']]);
  });
});
