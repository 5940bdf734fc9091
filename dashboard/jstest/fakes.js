// Stand-ins for what the page's modules use of the browser, so that they
// run under node --test: timers run by hand, websockets driven by hand,
// and the few parts of the DOM the views touch. Each install function
// answers a function that puts the real one back.

// Timers replaces setTimeout and clearTimeout: a timer runs only when the
// test calls run.
export class Timers {
  constructor() {
    this.pending = new Map(); // id → {fn, ms}
    this.next = 1;
  }

  install() {
    const saved = [globalThis.setTimeout, globalThis.clearTimeout];
    globalThis.setTimeout = (fn, ms) => {
      const id = this.next++;
      this.pending.set(id, { fn, ms });
      return id;
    };
    globalThis.clearTimeout = (id) => { this.pending.delete(id); };
    return () => { [globalThis.setTimeout, globalThis.clearTimeout] = saved; };
  }

  // delays answers the delays of the timers pending, in the order set.
  delays() { return [...this.pending.values()].map((t) => t.ms); }

  // run runs the timers pending, in the order set.
  run() {
    const due = [...this.pending];
    this.pending.clear();
    for (const [, t] of due) t.fn();
  }
}

// FakeSocket stands in for WebSocket: every one made is in made, and the
// test opens it, hands it messages and drops it.
export class FakeSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  static made = [];

  static install() {
    const saved = globalThis.WebSocket;
    globalThis.WebSocket = FakeSocket;
    FakeSocket.made = [];
    return () => { globalThis.WebSocket = saved; };
  }

  constructor(url) {
    this.url = url;
    this.readyState = FakeSocket.CONNECTING;
    this.closed = false;
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    FakeSocket.made.push(this);
  }

  close() {
    this.closed = true;
    this.readyState = FakeSocket.CLOSED;
  }

  // open, receive and drop are the server's side: the socket opens, a
  // frame arrives, the connection ends.
  open() {
    this.readyState = FakeSocket.OPEN;
    if (this.onopen) this.onopen();
  }

  receive(data) {
    if (this.onmessage) this.onmessage({ data });
  }

  drop() {
    this.readyState = FakeSocket.CLOSED;
    if (this.onclose) this.onclose();
  }
}

// FakeElement is an element: properties, attributes, a dataset, children
// and event listeners.
export class FakeElement {
  constructor(tag) {
    this.tagName = tag.toUpperCase();
    this.textContent = '';
    this.value = '';
    this.dataset = {};
    this.children = [];
    this.attrs = new Map();
    this.listeners = new Map();
  }

  setAttribute(name, value) { this.attrs.set(name, String(value)); }
  getAttribute(name) { return this.attrs.has(name) ? this.attrs.get(name) : null; }

  addEventListener(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(fn);
  }

  // dispatch calls the listeners of type with an event, and answers it.
  dispatch(type) {
    const e = { type, target: this, defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    for (const fn of this.listeners.get(type) || []) fn(e);
    return e;
  }

  append(...nodes) { this.children.push(...nodes); }
  replaceChildren(...nodes) { this.children = nodes; }
}

// installDocument puts a document that makes FakeElements in place, and
// FakeElement as Node.
export function installDocument() {
  const saved = [globalThis.document, globalThis.Node];
  globalThis.document = { title: '', createElement: (tag) => new FakeElement(tag) };
  globalThis.Node = FakeElement;
  return () => { [globalThis.document, globalThis.Node] = saved; };
}
