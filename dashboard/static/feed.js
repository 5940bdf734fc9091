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
    return eventsURL(location, this.namespace, this.after);
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
      this.timer = setTimeout(() => this.connect(), retryDelay(this.tries++, Math.random()));
    };
  }
}

// eventsURL answers the websocket URL of namespace's events, after event
// id after ("" for live only), on the origin of loc (the page's location).
export function eventsURL(loc, namespace, after) {
  const proto = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = new URLSearchParams({ namespace });
  if (after) q.set('after', after);
  return `${proto}//${loc.host}/ws/events?${q}`;
}

// retryDelay answers the milliseconds to wait before connecting again
// after tries failed tries in a row: 0.25 s, 0.5 s, 1 s, 2 s, then every
// 3 s, jittered by ±20% (jitter is from 0 to 1, as Math.random's).
export function retryDelay(tries, jitter) {
  return Math.min(3000, 250 * 2 ** tries) * (0.8 + 0.4 * jitter);
}

// newer tells whether event id a comes after event id b ("ms-seq").
export function newer(a, b) {
  const [am, as] = String(a).split('-').map(Number);
  const [bm, bs] = String(b).split('-').map(Number);
  return am > bm || (am === bm && (as || 0) > (bs || 0));
}

// lostTrack tells whether a feed that reopens after event id after cannot
// catch up, so that the page must read the state afresh: the log (the
// answer of GET /admin/v1/events?limit=1, its oldest event) no longer holds
// that event, or holds none. A feed that saw no event ("") catches up on
// nothing.
export function lostTrack(log, after) {
  const oldest = log && log.events && log.events[0];
  return after !== '' && (!oldest || newer(oldest.id, after));
}

// upTo answers the events of a page of the log (oldest first) up to event
// id last, that one included: those the page reads before its feed goes
// on after last.
export function upTo(events, last) {
  const i = events.findIndex((rec) => newer(rec.id, last));
  return i < 0 ? events : events.slice(0, i);
}
