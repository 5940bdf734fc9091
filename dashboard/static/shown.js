// The state of the namespace the page shows, in one object: its session of
// requests, its model and the charts' numbers, its feed, whether the state
// must be read again, and the work still to do for it (jobs queued, timers,
// orders whose details were asked for). The page makes one for each
// namespace it shows and leaves it on a switch, for a new one: a job, a
// timer, an answer or an event of the namespace before can reach only the
// object made for it, never the one shown after.

import { Stats } from './charts.js';
import { Model } from './model.js';

export class Shown {
  // session is the requests of the namespace (api.js: enter); parallel is
  // how many of its jobs run at once.
  constructor(session, parallel) {
    this.session = session;
    this.model = new Model();
    this.stats = new Stats();
    this.feed = null; // the namespace's Feed, once there is one: leave stops it
    this.reload = false; // whether the next open of the feed must read the state again
    this.retrying = false; // whether a read of the state that failed is to be tried again
    this.miitWanted = new Set(); // orders whose MIIT view is to be read again, soon
    this.provAsked = new Set(); // orders whose provider view was asked for
    this.generation = 0; // bumped when the model starts over
    this.left = false;
    this.parallel = parallel;
    this.running = 0;
    this.waiting = []; // jobs not yet started
    this.timers = new Set();
  }

  get namespace() { return this.session.namespace; }

  // mark answers a mark of the model as it is now; holds(mark) tells
  // whether an answer asked for then may still land: not once the model
  // started over, nor once the page left the namespace.
  mark() { return this.generation; }
  holds(mark) { return !this.left && mark === this.generation; }

  // startOver empties the model, to read the state afresh; answers asked
  // for before do not land.
  startOver() {
    this.generation++;
    this.model.clear();
  }

  // queue runs job (an async function) when fewer than parallel jobs run;
  // jobs not yet started when the page leaves the namespace never run.
  queue(job) {
    if (this.left) return;
    this.waiting.push(job);
    this.pump();
  }

  pump() {
    while (this.running < this.parallel && this.waiting.length) {
      const job = this.waiting.shift();
      this.running++;
      job().finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  // later calls fn after ms milliseconds, unless the page left the
  // namespace by then.
  later(fn, ms) {
    if (this.left) return;
    const id = setTimeout(() => {
      this.timers.delete(id);
      fn();
    }, ms);
    this.timers.add(id);
  }

  // leave drops what is left to do: the jobs not yet started, the timers,
  // the feed. The session's requests are aborted by api.js's enter.
  leave() {
    this.left = true;
    this.waiting.length = 0;
    for (const id of this.timers) clearTimeout(id);
    this.timers.clear();
    if (this.feed) this.feed.stop();
  }
}
