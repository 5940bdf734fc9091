// The namespace the page shows. It lives in the page's URL
// (?namespace=NAME, absent for the default one), so that a link or a
// reload keeps it and the browser's back and forward move between them.

import { h, setText } from './dom.js';

export const defaultNamespace = 'default';

// The server's rule: 1 to 64 letters, digits, '.', '_' or '-', starting
// with a letter or a digit.
const rule = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

// namespaceError answers why name cannot name a namespace, or '' when it
// can.
export function namespaceError(name) {
  if (rule.test(name)) return '';
  return `namespace: must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit, got ${JSON.stringify(name)}`;
}

// fromURL answers the namespace a page URL names and, when it names one
// that cannot be, why (the page then shows the default one).
export function fromURL(href) {
  const name = new URL(href).searchParams.get('namespace');
  if (name === null || name === '') return { name: defaultNamespace, error: '' };
  const error = namespaceError(name);
  return { name: error ? defaultNamespace : name, error };
}

// urlFor answers the page URL href with namespace name in it, the other
// parts of href kept.
export function urlFor(href, name) {
  const u = new URL(href);
  if (name === defaultNamespace) u.searchParams.delete('namespace');
  else u.searchParams.set('namespace', name);
  return u.href;
}

// namesInUse answers the names of the namespaces in use from the answer
// of GET /admin/v1/namespaces, leaving out any that cannot be; it throws
// when the answer holds no list.
export function namesInUse(answer) {
  const list = answer && answer.namespaces;
  if (!Array.isArray(list)) throw new TypeError('namespaces: the answer holds no list');
  return list.map((u) => u && u.name).filter((n) => typeof n === 'string' && !namespaceError(n));
}

// NamespaceView is the control in the page's header: the namespace shown,
// a field to name another, with the namespaces in use as its suggestions,
// and a button to switch to it. A name that cannot be is refused with why,
// and the page stays where it is.
export class NamespaceView {
  // onSwitch(name) is called with a valid name other than the one shown,
  // onFocus() when the field gets the focus.
  constructor(el, { onSwitch, onFocus }) {
    this.el = el; // {form, input, list, current, error}
    this.name = defaultNamespace;
    this.names = []; // the namespaces in use, as last read
    this.drawn = ''; // what the suggestions hold: the names and the one marked
    this.answers = 0; // answers of the list handled, read or not
    el.input.addEventListener('focus', onFocus);
    el.form.addEventListener('submit', (e) => {
      e.preventDefault();
      const name = el.input.value.trim();
      const error = namespaceError(name);
      this.showError(error);
      if (!error && name !== this.name) onSwitch(name);
    });
  }

  // show says the page shows namespace name.
  show(name) {
    this.name = name;
    setText(this.el.current, name);
    this.el.input.value = name;
    document.title = name === defaultNamespace ? 'smsim' : `smsim · ${name}`;
    this.drawSuggestions();
  }

  // suggest offers names, the namespaces in use, in the field's list.
  suggest(names) {
    this.names = names;
    this.drawSuggestions();
  }

  // drawSuggestions fills the field's list with the namespaces in use, the
  // one shown marked, when that changed.
  drawSuggestions() {
    const key = JSON.stringify([this.name, this.names]);
    if (key === this.drawn) return;
    this.drawn = key;
    this.el.list.replaceChildren(...this.names.map((n) => h('option', { value: n, label: n === this.name ? `${n} (shown)` : undefined })));
  }

  // answered counts an answer of the list of namespaces in use that the
  // page handled, whether it could read it or not, in the list's
  // data-answers: a test waits on it to know that an answer arrived.
  answered() {
    this.answers++;
    this.el.list.dataset.answers = String(this.answers);
  }

  // showError says why a name was refused, or nothing when text is ''.
  showError(text) {
    setText(this.el.error, text);
    this.el.input.setAttribute('aria-invalid', String(text !== ''));
  }
}
