// Calls to smsim's HTTP API, on the page's own origin.

// APIError is an answer other than 2xx: its status and the problem
// detail the server gave.
export class APIError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

// api sends a request (with a JSON body when body is given: an object, or
// a string sent as it is) and answers the decoded JSON answer.
export async function api(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  const text = await resp.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!resp.ok) throw new APIError(resp.status, (data && data.detail) || text);
  return data;
}

// pages reads every item of a listing (GET path?limit=…&offset=…), page
// by page, up to max items.
export async function pages(path, key, max = Infinity, size = 1000) {
  const out = [];
  const sep = path.includes('?') ? '&' : '?';
  for (;;) {
    const limit = Math.min(size, max - out.length);
    if (limit <= 0) break;
    const page = await api('GET', `${path}${sep}limit=${limit}&offset=${out.length}`);
    const items = page[key] || [];
    out.push(...items);
    if (items.length === 0 || out.length >= page.total) break;
  }
  return out;
}
