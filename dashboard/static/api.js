// Calls to smsim's HTTP API, on the page's own origin, in the namespace
// the page shows.

import { defaultNamespace } from './namespace.js';

// APIError is an answer other than 2xx: its status and the problem
// detail the server gave.
export class APIError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

// Stale is thrown in place of the answer to a request of a namespace the
// page has left since: that answer must not show.
export class Stale extends Error {
  constructor(namespace) {
    super(`the page left namespace ${namespace}`);
    this.namespace = namespace;
  }
}

// tokenKey is where the page keeps the server's admin token (smsim
// --admin-token) for the tab's life: sessionStorage, never a cookie, so
// that no other site's page can make the browser send it.
const tokenKey = 'smsim-admin-token';

// token answers the admin token the page was given, or ''.
function token() {
  try { return globalThis.sessionStorage?.getItem(tokenKey) || ''; } catch { return ''; }
}

// declined is the token ('' for none) for which the person declined to
// give another: requests that fail with it do not ask again, until the
// page is loaded again.
let declined = null;

// askToken asks for the admin token once a route wanted it, keeps it, and
// tells whether to send the request again: a token was given, or another
// request asked for one since this one was sent with sent. Requests that
// failed together ask once.
function askToken(sent) {
  if (token() !== sent) return true;
  if (declined === sent || typeof globalThis.prompt !== 'function') return false;
  const t = globalThis.prompt(sent
    ? 'This smsim did not take that admin token (--admin-token). Give it again:'
    : 'This smsim wants its admin token (--admin-token):', '');
  if (!t || !t.trim()) {
    declined = sent;
    return false;
  }
  try { globalThis.sessionStorage?.setItem(tokenKey, t.trim()); } catch { return false; }
  return true;
}

// headers answers the headers of a request: what it names, and the admin
// token when the page has one.
function headers(extra) {
  const h = { Accept: 'application/json', ...extra };
  const t = token();
  if (t) h.Authorization = `Bearer ${t}`;
  return h;
}

// Session is the requests of one namespace. Every request names the
// namespace in the X-Smsim-Namespace header; once the page leaves the
// namespace (enter), the requests still on their way are aborted and
// their answers, and any later request of the session, throw Stale.
export class Session {
  constructor(namespace) {
    this.namespace = namespace;
    this.aborter = new AbortController();
  }

  get current() { return this === session; }

  // api sends a request (with a JSON body when body is given: an object,
  // or a string sent as it is) and answers the decoded JSON answer.
  // A request that changes state says it is JSON even without a body (the
  // server refuses it otherwise, as it refuses a form of another site). A
  // 401 asks for the admin token and sends the request again with it.
  async api(method, path, body, retried = false) {
    if (!this.current) throw new Stale(this.namespace);
    const init = {
      method,
      headers: headers({ 'X-Smsim-Namespace': this.namespace }),
      signal: this.aborter.signal,
    };
    if (method !== 'GET') init.headers['Content-Type'] = 'application/json';
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const sent = token();
    let resp, text;
    try {
      resp = await fetch(path, init);
      text = await resp.text();
    } catch (e) {
      if (!this.current) throw new Stale(this.namespace);
      throw e;
    }
    if (!this.current) throw new Stale(this.namespace);
    if (resp.status === 401 && !retried && askToken(sent)) return this.api(method, path, body, true);
    return decode(resp, text);
  }

  // pages reads every item of a listing (GET path?limit=…&offset=…), page
  // by page, up to max items.
  async pages(path, key, max = Infinity, size = 1000) {
    const out = [];
    const sep = path.includes('?') ? '&' : '?';
    for (;;) {
      const limit = Math.min(size, max - out.length);
      if (limit <= 0) break;
      const page = await this.api('GET', `${path}${sep}limit=${limit}&offset=${out.length}`);
      const items = page[key] || [];
      out.push(...items);
      if (items.length === 0 || out.length >= page.total) break;
    }
    return out;
  }
}

// logSize is how many events the server's event log keeps, about: the
// newest.
export const logSize = 10000;

// log reads the events the log of session s holds, oldest first, a page of
// 1000 at a time, up to max of them.
export async function log(s, max = logSize) {
  const out = [];
  let after = '0';
  while (out.length < max) {
    const page = await s.api('GET', `/admin/v1/events?after=${encodeURIComponent(after)}&limit=1000`);
    const events = page.events || [];
    out.push(...events.slice(0, max - out.length));
    if (events.length < 1000) break;
    after = events[events.length - 1].id;
  }
  return out;
}

// decode answers the JSON of an answer's text, or throws APIError for an
// answer other than 2xx.
function decode(resp, text) {
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!resp.ok) throw new APIError(resp.status, (data && data.detail) || text);
  return data;
}

// shared reads a route that belongs to no namespace (GET path): no
// namespace header, and leaving a namespace does not abort it.
export async function shared(path, retried = false) {
  const sent = token();
  const resp = await fetch(path, { headers: headers() });
  const text = await resp.text();
  if (resp.status === 401 && !retried && askToken(sent)) return shared(path, true);
  return decode(resp, text);
}

let session = new Session(defaultNamespace);

// enter leaves the namespace the page showed for namespace name, and
// answers the session of name.
export function enter(name) {
  session.aborter.abort();
  session = new Session(name);
  return session;
}

// api sends a request in the namespace the page shows (Session.api).
export function api(method, path, body) {
  return session.api(method, path, body);
}

// isStale tells whether an error is a Stale one: the answer of a
// namespace left, to be dropped without a word.
export function isStale(e) {
  return e instanceof Stale;
}
