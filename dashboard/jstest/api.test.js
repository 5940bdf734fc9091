// Requests of the namespace shown (static/api.js): each names its
// namespace, and once the page leaves it, the answers still on their way
// and any later request of it are Stale.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { APIError, Stale, api, enter, isStale, log, shared } from '../static/api.js';

// server stands in for fetch: it holds each request until the test answers
// it.
const server = {
  requests: [],
  fetch(path, init = {}) {
    return new Promise((resolve, reject) => {
      const req = { path, init, answer: (status, body) => resolve(response(status, body)) };
      init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      server.requests.push(req);
    });
  },
};

function response(status, body) {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  return { ok: status >= 200 && status < 300, status, text: async () => text };
}

describe('api', () => {
  let realFetch;
  before(() => {
    realFetch = globalThis.fetch;
    globalThis.fetch = server.fetch;
  });
  after(() => { globalThis.fetch = realFetch; });
  beforeEach(() => { server.requests = []; });

  it('names the namespace shown in every request, and sends a body as JSON', async () => {
    const s = enter('team-a');
    const answer = s.api('PUT', '/admin/v1/clock', { paused: true });
    const [req] = server.requests;
    assert.equal(req.path, '/admin/v1/clock');
    assert.equal(req.init.method, 'PUT');
    assert.deepEqual(req.init.headers, { Accept: 'application/json', 'X-Smsim-Namespace': 'team-a', 'Content-Type': 'application/json' });
    assert.equal(req.init.body, '{"paused":true}');
    req.answer(200, { paused: true });
    assert.deepEqual(await answer, { paused: true });
  });

  it('api speaks for the namespace entered last', async () => {
    enter('team-b');
    const answer = api('GET', '/admin/v1/faults');
    assert.equal(server.requests[0].init.headers['X-Smsim-Namespace'], 'team-b');
    assert.equal(server.requests[0].init.body, undefined);
    server.requests[0].answer(200, { sms_loss: 0 });
    assert.deepEqual(await answer, { sms_loss: 0 });
  });

  it('an answer other than 2xx throws the problem\'s detail and status', async () => {
    const s = enter('team-a');
    const answer = s.api('GET', '/phones/v1/1');
    server.requests[0].answer(400, { title: 'Bad Request', status: 400, detail: 'phone: must be 11 digits, got "1"' });
    await assert.rejects(answer, (e) => e instanceof APIError && e.status === 400 && e.message === 'phone: must be 11 digits, got "1"');
    const bare = s.api('GET', '/admin/v1/clock');
    server.requests[1].answer(503, '');
    await assert.rejects(bare, (e) => e instanceof APIError && e.status === 503 && e.message === 'HTTP 503');
  });

  it('once the page leaves a namespace, its requests on their way are aborted and throw Stale', async () => {
    const a = enter('team-a');
    const held = a.api('GET', '/phones/v1');
    const signal = server.requests[0].init.signal;
    const b = enter('team-b');
    assert.equal(signal.aborted, true);
    await assert.rejects(held, (e) => e instanceof Stale && e.namespace === 'team-a' && isStale(e));
    await assert.rejects(a.api('GET', '/phones/v1'), (e) => isStale(e) && e.message === 'the page left namespace team-a');
    assert.equal(server.requests.length, 1); // the later request was not sent
    assert.equal(b.current, true);
    assert.equal(a.current, false);
  });

  it('an answer that arrives as the page leaves is Stale', async () => {
    const a = enter('team-a');
    const held = a.api('GET', '/admin/v1/clock');
    const req = server.requests[0];
    const realAbort = a.aborter.abort.bind(a.aborter);
    a.aborter.abort = () => {}; // the answer is in already: the abort comes too late
    enter('team-b');
    req.answer(200, { now: '2026-05-01T00:00:00Z' });
    await assert.rejects(held, (e) => isStale(e) && e.namespace === 'team-a');
    realAbort();
  });

  it('reads a listing page by page, up to max', async () => {
    const s = enter('team-a');
    const all = s.pages('/phones/v1?q=1', 'phones', 5, 2);
    const pages = [];
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      const req = server.requests[i];
      pages.push(req.path);
      req.answer(200, { phones: [`p${2 * i}`, `p${2 * i + 1}`].slice(0, i === 2 ? 1 : 2), total: 9 });
    }
    assert.deepEqual(await all, ['p0', 'p1', 'p2', 'p3', 'p4']);
    assert.deepEqual(pages, ['/phones/v1?q=1&limit=2&offset=0', '/phones/v1?q=1&limit=2&offset=2', '/phones/v1?q=1&limit=1&offset=4']);
  });

  it('log reads the event log from its oldest event, a page after the last id read, up to max', async () => {
    const s = enter('team-a');
    const page = (from, n) => Array.from({ length: n }, (_, i) => ({ id: `1777593600000-${from + i}`, kind: 'clock' }));
    const all = log(s, 2500);
    const paths = [];
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      const req = server.requests[i];
      paths.push(req.path);
      req.answer(200, { events: page(1000 * i, 1000), last: '1777593600000-9999' });
    }
    const events = await all;
    assert.equal(events.length, 2500);
    assert.equal(events[2499].id, '1777593600000-2499');
    assert.deepEqual(paths, ['/admin/v1/events?after=0&limit=1000', '/admin/v1/events?after=1777593600000-999&limit=1000',
      '/admin/v1/events?after=1777593600000-1999&limit=1000']);

    const short = log(s);
    await new Promise((resolve) => setImmediate(resolve));
    server.requests[3].answer(200, { events: page(0, 3), last: '1777593600000-2' });
    assert.equal((await short).length, 3); // a page short of 1000 is the last
    assert.equal(server.requests.length, 4);
  });

  it('shared reads a route of no namespace, and leaving one does not abort it', async () => {
    enter('team-a');
    const list = shared('/admin/v1/namespaces');
    const [req] = server.requests;
    assert.deepEqual(req.init, { headers: { Accept: 'application/json' } });
    enter('team-b');
    req.answer(200, { namespaces: [] });
    assert.deepEqual(await list, { namespaces: [] });
  });

  it('a bodiless request that changes state says it is JSON', async () => {
    const s = enter('team-a');
    const answer = s.api('POST', '/admin/v1/reset');
    const [req] = server.requests;
    assert.equal(req.init.headers['Content-Type'], 'application/json');
    assert.equal(req.init.body, undefined);
    req.answer(200, {});
    await answer;
  });

  it('a 401 asks for the admin token once, keeps it for the tab and sends it again', async () => {
    const store = new Map();
    const prompts = [];
    globalThis.sessionStorage = { getItem: k => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) };
    globalThis.prompt = (text) => { prompts.push(text); return ' s3cret '; };
    try {
      const s = enter('team-a');
      const answer = s.api('GET', '/admin/v1/clock');
      await Promise.resolve();
      server.requests[0].answer(401, { detail: 'Authorization: this route wants the admin token' });
      for (let i = 0; i < 10 && server.requests.length < 2; i++) await new Promise(r => setImmediate(r));
      assert.equal(server.requests[0].init.headers.Authorization, undefined);
      assert.equal(server.requests[1].init.headers.Authorization, 'Bearer s3cret');
      server.requests[1].answer(200, { paused: true });
      assert.deepEqual(await answer, { paused: true });
      assert.equal(prompts.length, 1);

      // a second 401 (a wrong token) is not asked again for the same request
      const again = s.api('GET', '/admin/v1/faults');
      assert.equal(server.requests[2].init.headers.Authorization, 'Bearer s3cret');
      server.requests[2].answer(401, { detail: 'Authorization: not the admin token' });
      for (let i = 0; i < 10 && server.requests.length < 4; i++) await new Promise(r => setImmediate(r));
      server.requests[3].answer(401, { detail: 'Authorization: not the admin token' });
      await assert.rejects(again, e => e instanceof APIError && e.status === 401);
      assert.equal(prompts.length, 2);
    } finally {
      delete globalThis.sessionStorage;
      delete globalThis.prompt;
    }
  });

  it('requests that fail together ask for the token once; declined, it is not asked again', async () => {
    const store = new Map();
    const prompts = [];
    let give = 'right';
    globalThis.sessionStorage = { getItem: k => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) };
    globalThis.prompt = (text) => { prompts.push(text); return give; };
    const settle = async (n) => { for (let i = 0; i < 20 && server.requests.length < n; i++) await new Promise(r => setImmediate(r)); };
    try {
      const s = enter('team-a');
      const answers = [s.api('GET', '/admin/v1/clock'), s.api('GET', '/admin/v1/faults'), s.api('GET', '/phones/v1')];
      for (const req of server.requests.slice(0, 3)) req.answer(401, { detail: 'Authorization: this route wants the admin token' });
      await settle(6);
      assert.equal(prompts.length, 1);
      for (const req of server.requests.slice(3, 6)) {
        assert.equal(req.init.headers.Authorization, 'Bearer right');
        req.answer(200, {});
      }
      await Promise.all(answers);

      // the token stops working (the server restarted with another);
      // the person declines to give one: no request asks again
      give = '';
      const more = [s.api('GET', '/admin/v1/clock'), s.api('GET', '/admin/v1/faults')];
      for (const req of server.requests.slice(6, 8)) req.answer(401, { detail: 'Authorization: not the admin token' });
      for (const a of more) await assert.rejects(a, e => e instanceof APIError && e.status === 401);
      assert.equal(prompts.length, 2);
      assert.match(prompts[1], /did not take that admin token/);
      const last = s.api('GET', '/admin/v1/clock');
      server.requests[8].answer(401, { detail: 'Authorization: not the admin token' });
      await assert.rejects(last, e => e instanceof APIError && e.status === 401);
      assert.equal(prompts.length, 2);
    } finally {
      delete globalThis.sessionStorage;
      delete globalThis.prompt;
    }
  });
});
