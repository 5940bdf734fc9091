// The clock (simulated time ticking at its scale, pause, scale, advance)
// and the fault profile (shown, edited, put back).

import { api, isStale } from './api.js';
import { setText } from './dom.js';
import { fmtDateTime } from './format.js';

export class ClockView {
  constructor(model, el) {
    this.model = model; // the model shown: the page points the view at another for another namespace
    this.el = el; // {now, cst, rate, pause, scale, scaleSet, adv1h, adv24h, error}
    el.pause.addEventListener('click', () => this.act(() => api('PUT', '/admin/v1/clock', { paused: !this.model.clock?.paused })));
    el.scaleSet.addEventListener('click', () => this.setScale());
    el.scale.addEventListener('keydown', (e) => { if (e.key === 'Enter') this.setScale(); });
    el.adv1h.addEventListener('click', () => this.act(() => api('POST', '/admin/v1/clock/advance', { by: '1h' })));
    el.adv24h.addEventListener('click', () => this.act(() => api('POST', '/admin/v1/clock/advance', { by: '24h' })));
  }

  setScale() {
    const v = Number(this.el.scale.value);
    if (!(v > 0) || !Number.isFinite(v)) { // Infinity would go as null
      setText(this.el.error, 'scale: give a number more than 0');
      return;
    }
    this.act(() => api('PUT', '/admin/v1/clock', { scale: v }));
  }

  // act runs a clock request with the buttons held, and shows the clock it
  // answers (its event follows on the feed).
  async act(req) {
    const buttons = [this.el.pause, this.el.scaleSet, this.el.adv1h, this.el.adv24h];
    buttons.forEach((b) => { b.disabled = true; });
    setText(this.el.error, '');
    try {
      this.model.setClock(await req());
      this.render();
    } catch (e) {
      if (!isStale(e)) setText(this.el.error, `clock: ${e.message}`);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  // clear shows no clock, for a model that starts over in another
  // namespace, until its clock is read.
  clear() {
    setText(this.el.now, '—');
    delete this.el.now.dataset.ms;
    setText(this.el.cst, '');
    setText(this.el.rate, '');
    setText(this.el.error, '');
  }

  // tick shows the simulated time now.
  tick() {
    const now = this.model.now();
    if (!now) return;
    setText(this.el.now, fmtDateTime(now));
    this.el.now.dataset.ms = String(Math.floor(now));
    setText(this.el.cst, `Beijing ${fmtDateTime(now, 8).slice(11)}`);
  }

  render() {
    const c = this.model.clock;
    if (!c) return;
    setText(this.el.rate, c.paused ? `paused (scale ×${c.scale})` : `running ×${c.scale}`);
    setText(this.el.pause, c.paused ? 'Resume' : 'Pause');
    if (document.activeElement !== this.el.scale) this.el.scale.value = String(c.scale);
    this.tick();
  }
}

export class FaultsView {
  constructor(model, el) {
    this.model = model; // the model shown: the page points the view at another for another namespace
    this.el = el; // {text, apply, reload, note, error}
    this.dirty = false;
    el.text.addEventListener('input', () => {
      this.dirty = true;
      setText(this.el.note, 'edited: Apply to put it');
    });
    el.apply.addEventListener('click', () => this.apply());
    el.reload.addEventListener('click', () => this.reload());
  }

  async apply() {
    setText(this.el.error, '');
    let body;
    try {
      body = JSON.parse(this.el.text.value);
    } catch (e) {
      setText(this.el.error, `not JSON: ${e.message}`);
      return;
    }
    this.el.apply.disabled = true;
    try {
      const f = await api('PUT', '/admin/v1/faults', body);
      this.dirty = false;
      this.model.setFaults(f);
      this.render();
      setText(this.el.note, 'applied');
    } catch (e) {
      if (!isStale(e)) setText(this.el.error, e.message);
    } finally {
      this.el.apply.disabled = false;
    }
  }

  async reload() {
    setText(this.el.error, '');
    try {
      this.dirty = false;
      this.model.setFaults(await api('GET', '/admin/v1/faults'));
      this.render();
      setText(this.el.note, '');
    } catch (e) {
      if (!isStale(e)) setText(this.el.error, e.message);
    }
  }

  // clear drops the profile shown and any edit of it, for a model that
  // starts over in another namespace: an edit of one namespace's profile
  // must not be applied to another.
  clear() {
    this.dirty = false;
    this.el.text.value = '';
    setText(this.el.note, '');
    setText(this.el.error, '');
  }

  // render shows the profile, unless someone is editing it.
  render() {
    if (!this.model.faults) return;
    if (this.dirty) {
      setText(this.el.note, 'changed on the server since you began editing: Reload to see it');
      return;
    }
    const text = JSON.stringify(this.model.faults, null, 2);
    if (this.el.text.value !== text) this.el.text.value = text;
  }
}
