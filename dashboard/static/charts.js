// Numbers at a glance: messages per second, delivery delay percentiles,
// validation and resend results, orders by status; small charts drawn by
// hand on canvases, once a second.

import { setText } from './dom.js';
import { fmtCount, fmtDuration } from './format.js';

const span = 60; // seconds of history shown
const keepDelays = 500;

// realTime answers when an event happened in real time: event ids begin
// with the Unix milliseconds of the server that logged them; an id of
// another form, or far from the page's clock, counts as now.
export function realTime(rec) {
  const t = Number(String(rec.id).split('-')[0]);
  const now = Date.now();
  return Number.isFinite(t) && Math.abs(t - now) < 3600e3 ? t : now;
}

// percentile answers the p-th percentile (0–100) of sorted values.
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export class Stats {
  constructor() { this.clear(); }

  clear() {
    this.seconds = new Map(); // real second → {sent, delivered, blocked, failed}
    this.delays = []; // simulated ms from sent to delivered, the last keepDelays
    this.delayHist = []; // {p50, p90, p99} per second
    this.validations = { complete: 0, partial: 0, failed: 0, not_found: 0 };
    this.resends = { resent: 0, no_pending: 0, limit_reached: 0, not_found: 0 };
    this.delaysChanged = false;
  }

  record(rec) {
    const d = rec.data || {};
    if (rec.kind.startsWith('sms.')) {
      const what = rec.kind.slice(4);
      const s = Math.floor(realTime(rec) / 1000);
      let b = this.seconds.get(s);
      if (!b) this.seconds.set(s, (b = { sent: 0, delivered: 0, blocked: 0, failed: 0 }));
      if (what in b) b[what]++;
      if (what === 'delivered' || what === 'blocked') {
        const delay = Number(d.delivered_at_ms) - Number(d.sent_at_ms);
        if (Number.isFinite(delay) && delay >= 0 && d.sent_at_ms !== '' && d.delivered_at_ms !== '') {
          this.delays.push(delay);
          if (this.delays.length > keepDelays) this.delays.splice(0, this.delays.length - keepDelays);
          this.delaysChanged = true;
        }
      }
    } else if (rec.kind === 'validation') {
      this.validations[d.result] = (this.validations[d.result] || 0) + 1;
    } else if (rec.kind === 'resend') {
      this.resends[d.result] = (this.resends[d.result] || 0) + 1;
    }
  }

  // tick closes a second: it drops old buckets and adds a point to the
  // delay history.
  tick() {
    const oldest = Math.floor(Date.now() / 1000) - span;
    for (const s of this.seconds.keys()) if (s < oldest) this.seconds.delete(s);
    const sorted = [...this.delays].sort((a, b) => a - b);
    this.delayHist.push({ p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99) });
    if (this.delayHist.length > span) this.delayHist.shift();
  }

  // rate answers messages per second over the last n whole seconds.
  rate(what, n = 5) {
    const now = Math.floor(Date.now() / 1000);
    let sum = 0;
    for (let s = now - n; s < now; s++) {
      const b = this.seconds.get(s);
      if (b) sum += what === 'outcomes' ? b.delivered + b.blocked + b.failed : b[what];
    }
    return sum / n;
  }
}

function colors() {
  const css = getComputedStyle(document.documentElement);
  const v = (n) => css.getPropertyValue(n).trim();
  return { delivered: v('--delivered'), blocked: v('--blocked'), failed: v('--failed'), sent: v('--sent'),
    pending: v('--pending'), muted: v('--muted'), line: v('--line'), ink: v('--ink') };
}

// prep sizes a canvas to its box at the screen's pixel ratio.
function prep(canvas) {
  const r = devicePixelRatio || 1;
  const w = canvas.clientWidth, hgt = canvas.clientHeight;
  if (canvas.width !== Math.round(w * r) || canvas.height !== Math.round(hgt * r)) {
    canvas.width = Math.round(w * r);
    canvas.height = Math.round(hgt * r);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(r, 0, 0, r, 0, 0);
  ctx.clearRect(0, 0, w, hgt);
  ctx.font = '10px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  return { ctx, w, h: hgt };
}

function axis(ctx, w, h, label, c) {
  ctx.strokeStyle = c.line;
  ctx.beginPath();
  ctx.moveTo(0, h - 0.5);
  ctx.lineTo(w, h - 0.5);
  ctx.stroke();
  ctx.fillStyle = c.muted;
  ctx.textAlign = 'left';
  ctx.fillText(label, 2, 6);
}

export class Charts {
  constructor(stats, model, el) {
    this.stats = stats; // the stats and the model shown: the page points the charts at others for another namespace
    this.model = model;
    this.el = el; // {rate, rateNow, delay, delayNow, valid, validNow, orders, ordersNow}
  }

  draw() {
    const c = colors();
    this.drawRate(c);
    this.drawDelay(c);
    this.drawValid(c);
    this.drawOrders(c);
  }

  drawRate(c) {
    const st = this.stats;
    setText(this.el.rateNow, `${st.rate('sent').toFixed(1)}/s sent · ${st.rate('outcomes').toFixed(1)}/s arrived`);
    const { ctx, w, h } = prep(this.el.rate);
    const now = Math.floor(Date.now() / 1000);
    const bars = [];
    let max = 1;
    for (let s = now - span + 1; s <= now; s++) {
      const b = st.seconds.get(s) || { sent: 0, delivered: 0, blocked: 0, failed: 0 };
      bars.push(b);
      max = Math.max(max, b.delivered + b.blocked + b.failed, b.sent);
    }
    const bw = w / span;
    const y = (v) => h - 1 - (v / max) * (h - 14);
    bars.forEach((b, i) => {
      let base = 0;
      for (const k of ['delivered', 'blocked', 'failed']) {
        if (!b[k]) continue;
        ctx.fillStyle = c[k];
        ctx.fillRect(i * bw + 1, y(base + b[k]), Math.max(1, bw - 2), y(base) - y(base + b[k]));
        base += b[k];
      }
    });
    ctx.strokeStyle = c.sent;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    bars.forEach((b, i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, i * bw + bw / 2, y(b.sent)));
    ctx.stroke();
    ctx.lineWidth = 1;
    axis(ctx, w, h, `max ${fmtCount(max)}/s · last ${span} s`, c);
  }

  drawDelay(c) {
    const hist = this.stats.delayHist;
    const last = hist[hist.length - 1];
    setText(this.el.delayNow, last && Number.isFinite(last.p50)
      ? `p50 ${fmtDuration(last.p50)} · p90 ${fmtDuration(last.p90)} · p99 ${fmtDuration(last.p99)}` : 'no deliveries yet');
    const { ctx, w, h } = prep(this.el.delay);
    let max = 1;
    for (const p of hist) if (Number.isFinite(p.p99)) max = Math.max(max, p.p99);
    const x = (i) => w - (hist.length - 1 - i) * (w / (span - 1)) - 1;
    const y = (v) => h - 1 - (v / max) * (h - 14);
    for (const [k, col] of [['p50', c.delivered], ['p90', c.blocked], ['p99', c.failed]]) {
      ctx.strokeStyle = col;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      let on = false;
      hist.forEach((p, i) => {
        if (!Number.isFinite(p[k])) { on = false; return; }
        (on ? ctx.lineTo : ctx.moveTo).call(ctx, x(i), y(p[k]));
        on = true;
      });
      ctx.stroke();
    }
    ctx.lineWidth = 1;
    axis(ctx, w, h, `max ${fmtDuration(max)}`, c);
  }

  drawValid(c) {
    const v = this.stats.validations, r = this.stats.resends;
    const total = Object.values(v).reduce((a, b) => a + b, 0);
    setText(this.el.validNow, `${fmtCount(total)} answered`);
    const rows = [
      ['complete', v.complete, c.delivered], ['partial', v.partial, c.sent], ['failed', v.failed, c.failed],
      ['not found', v.not_found, c.blocked], ['resent', r.resent, c.pending],
      ['resend refused', (r.limit_reached || 0) + (r.no_pending || 0) + (r.not_found || 0), c.muted],
    ];
    this.bars(c, this.el.valid, rows);
  }

  drawOrders(c) {
    const counts = {};
    for (const o of this.model.orders.values()) counts[o.status] = (counts[o.status] || 0) + 1;
    setText(this.el.ordersNow, `${fmtCount(this.model.orders.size)} known`);
    const rows = [
      ['submitted', counts.submitted, c.muted], ['pending', counts.pending_validation, c.sent],
      ['under review', counts.under_review, c.pending], ['approved', counts.approved, c.delivered],
      ['returned / rejected', (counts.returned || 0) + (counts.rejected || 0), c.failed], ['canceled', counts.canceled, c.blocked],
    ];
    this.bars(c, this.el.orders, rows);
  }

  // bars draws labelled horizontal bars, one a row.
  bars(c, canvas, rows) {
    const { ctx, w, h } = prep(canvas);
    const max = Math.max(1, ...rows.map((r) => r[1] || 0));
    const rh = h / rows.length;
    const lw = 96, nw = 40;
    rows.forEach(([label, n, col], i) => {
      const yc = i * rh + rh / 2;
      ctx.fillStyle = c.muted;
      ctx.textAlign = 'left';
      ctx.fillText(label, 0, yc);
      ctx.fillStyle = col;
      const bw = ((n || 0) / max) * (w - lw - nw);
      ctx.fillRect(lw, yc - rh * 0.32, Math.max(n ? 2 : 0, bw), rh * 0.64);
      ctx.fillStyle = c.ink;
      ctx.fillText(fmtCount(n || 0), lw + bw + 4, yc);
    });
  }
}
