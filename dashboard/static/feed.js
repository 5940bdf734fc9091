// The live feed: one websocket on /ws/events. It reconnects by itself
// (after a restart of the server, a network hiccup, or when the server
// dropped it for falling behind) and asks for the events after the last
// one it saw, so that nothing is missed.

export class Feed {
  // onRecord(record) is called for every event; onState(state) with
  // "connecting", "live" or "reconnecting"; onOpen(again, after) each time
  // the socket opens, again telling whether it had been open before and
  // after the id it catches up from.
  constructor({ onRecord, onState, onOpen }) {
    this.onRecord = onRecord;
    this.onState = onState;
    this.onOpen = onOpen;
    this.after = '';
    this.tries = 0;
    this.opened = false;
    this.ws = null;
  }

  // start connects, catching up from event id after ("" for live only).
  start(after) {
    this.after = after || '';
    this.connect();
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = this.after ? '?after=' + encodeURIComponent(this.after) : '';
    return `${proto}//${location.host}/ws/events${q}`;
  }

  connect() {
    this.onState(this.opened ? 'reconnecting' : 'connecting');
    const ws = new WebSocket(this.url());
    const after = this.after;
    this.ws = ws;
    ws.onopen = () => {
      this.tries = 0;
      const again = this.opened;
      this.opened = true;
      this.onState('live');
      this.onOpen(again, after);
    };
    ws.onmessage = (e) => {
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
      setTimeout(() => this.connect(), wait);
    };
  }
}

// newer tells whether event id a comes after event id b ("ms-seq").
export function newer(a, b) {
  const [am, as] = String(a).split('-').map(Number);
  const [bm, bs] = String(b).split('-').map(Number);
  return am > bm || (am === bm && (as || 0) > (bs || 0));
}
