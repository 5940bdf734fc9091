// The live feed: one websocket on /ws/events?namespace=NAME. It
// reconnects by itself (after a restart of the server, a network hiccup,
// or when the server dropped it for falling behind) and asks for the
// events after the last one it saw, so that nothing is missed. Started
// again on another namespace, it leaves the socket of the one before: no
// event of that one is handed on after.

export class Feed {
  // onRecord(record) is called for every event; onState(state) with
  // "connecting", "live" or "reconnecting"; onOpen(again, after) each time
  // the socket opens, again telling whether it had been open before and
  // after the id it catches up from.
  constructor({ onRecord, onState, onOpen }) {
    this.onRecord = onRecord;
    this.onState = onState;
    this.onOpen = onOpen;
    this.namespace = '';
    this.after = '';
    this.tries = 0;
    this.opened = false;
    this.ws = null;
    this.timer = 0;
  }

  // start connects to the events of namespace, catching up from event id
  // after ("" for live only); a socket of before is closed.
  start(namespace, after) {
    this.stop();
    this.namespace = namespace;
    this.after = after || '';
    this.tries = 0;
    this.opened = false;
    this.connect();
  }

  // stop closes the socket and hands on nothing more.
  stop() {
    clearTimeout(this.timer);
    this.timer = 0;
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    ws.onmessage = null;
    ws.onclose = null;
    if (ws.readyState === WebSocket.CONNECTING) {
      // closing it now would say so on the console: close it once open
      ws.onopen = () => ws.close();
      ws.onerror = null;
    } else {
      ws.onopen = null;
      ws.close();
    }
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = new URLSearchParams({ namespace: this.namespace });
    if (this.after) q.set('after', this.after);
    return `${proto}//${location.host}/ws/events?${q}`;
  }

  connect() {
    this.timer = 0;
    this.onState(this.opened ? 'reconnecting' : 'connecting');
    const ws = new WebSocket(this.url());
    const after = this.after;
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.tries = 0;
      const again = this.opened;
      this.opened = true;
      this.onState('live');
      this.onOpen(again, after);
    };
    ws.onmessage = (e) => {
      if (this.ws !== ws) return;
      let rec;
      try { rec = JSON.parse(e.data); } catch { return; }
      if (!rec || typeof rec.id !== 'string') return;
      this.after = rec.id;
      this.onRecord(rec);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onState(this.opened ? 'reconnecting' : 'connecting');
      // 0.25 s, 0.5 s, 1 s, 2 s, then every 3 s, a little jittered
      const wait = Math.min(3000, 250 * 2 ** this.tries++) * (0.8 + 0.4 * Math.random());
      this.timer = setTimeout(() => this.connect(), wait);
    };
  }
}

// newer tells whether event id a comes after event id b ("ms-seq").
export function newer(a, b) {
  const [am, as] = String(a).split('-').map(Number);
  const [bm, bs] = String(b).split('-').map(Number);
  return am > bm || (am === bm && (as || 0) > (bs || 0));
}
