// The namespace the page shows (static/namespace.js): the server's rule for
// a name, the page URL that holds it, the list of those in use, and the
// control in the header.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { NamespaceView, defaultNamespace, fromURL, namesInUse, namespaceError, urlFor } from '../static/namespace.js';
import { FakeElement, installDocument } from './fakes.js';

const refused = (name) =>
  `namespace: must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit, got ${JSON.stringify(name)}`;

describe('namespaceError', () => {
  for (const name of ['default', 'a', 'team-a', 'ci.run_42', '7up', 'n'.repeat(64)]) {
    it(`takes ${name.length > 20 ? '64 characters' : name}`, () => assert.equal(namespaceError(name), ''));
  }
  for (const [what, name] of [
    ['nothing', ''],
    ['a space and a !', 'bad name!'],
    ['a leading dash', '-ns'],
    ['a leading dot', '.ns'],
    ['65 characters', 'n'.repeat(65)],
    ['a slash', 'a/b'],
    ['a letter outside ASCII', '命名'],
  ]) {
    it(`refuses ${what}`, () => assert.equal(namespaceError(name), refused(name)));
  }
});

describe('fromURL', () => {
  for (const [href, want] of [
    ['http://127.0.0.1:8080/', { name: 'default', error: '' }],
    ['http://127.0.0.1:8080/?namespace=', { name: 'default', error: '' }],
    ['http://127.0.0.1:8080/?namespace=team-a', { name: 'team-a', error: '' }],
    ['http://127.0.0.1:8080/?x=1&namespace=ci.run_42#phones', { name: 'ci.run_42', error: '' }],
    ['http://127.0.0.1:8080/?namespace=bad%20name!', { name: 'default', error: refused('bad name!') }],
  ]) {
    it(href, () => assert.deepEqual(fromURL(href), want));
  }
});

describe('urlFor', () => {
  for (const [href, name, want] of [
    ['http://127.0.0.1:8080/', 'team-a', 'http://127.0.0.1:8080/?namespace=team-a'],
    ['http://127.0.0.1:8080/?namespace=team-a', 'team-b', 'http://127.0.0.1:8080/?namespace=team-b'],
    ['http://127.0.0.1:8080/?namespace=team-a', 'default', 'http://127.0.0.1:8080/'],
    ['http://127.0.0.1:8080/?x=1&namespace=team-a#phones', 'default', 'http://127.0.0.1:8080/?x=1#phones'],
    ['http://127.0.0.1:8080/?x=1#phones', 'team-b', 'http://127.0.0.1:8080/?x=1&namespace=team-b#phones'],
  ]) {
    it(`${href} to ${name}`, () => assert.equal(urlFor(href, name), want));
  }
  it('a URL made for a name reads back as that name', () => {
    for (const name of ['default', 'team-a', 'ci.run_42']) {
      assert.deepEqual(fromURL(urlFor('http://127.0.0.1:8080/?namespace=other', name)), { name, error: '' });
    }
  });
});

describe('namesInUse', () => {
  it('answers the names of the list, in its order', () => {
    const answer = { namespaces: [{ name: 'alpha', last_used: '2026-05-01T00:00:00Z' }, { name: 'default' }, { name: 'beta' }] };
    assert.deepEqual(namesInUse(answer), ['alpha', 'default', 'beta']);
  });
  it('leaves out any that cannot be a namespace', () => {
    const answer = { namespaces: [{ name: 'alpha' }, { name: 'bad name' }, null, { name: 7 }, {}, { name: '' }, { name: 'gamma' }] };
    assert.deepEqual(namesInUse(answer), ['alpha', 'gamma']);
  });
  it('answers none of an empty list', () => assert.deepEqual(namesInUse({ namespaces: [] }), []));
  for (const [what, answer] of [['no list', { namespaces: 'alpha' }], ['no answer', null], ['an answer without it', {}]]) {
    it(`throws on ${what}`, () => {
      assert.throws(() => namesInUse(answer), { name: 'TypeError', message: 'namespaces: the answer holds no list' });
    });
  }
});

describe('NamespaceView', () => {
  let restore;
  before(() => { restore = installDocument(); });
  after(() => restore());

  // view answers a view of fake elements, and the names it was asked to
  // switch to and how often the field got the focus.
  function view() {
    const el = {};
    for (const k of ['form', 'input', 'list', 'current', 'error']) el[k] = new FakeElement(k === 'form' ? 'form' : 'span');
    const switched = [];
    const focus = { count: 0 };
    const v = new NamespaceView(el, { onSwitch: (name) => switched.push(name), onFocus: () => focus.count++ });
    return { v, el, switched, focus };
  }

  // submit types name in the field and submits the form, and answers
  // whether the page stayed (the browser's own submit prevented).
  function submit(el, name) {
    el.input.value = name;
    return el.form.dispatch('submit').defaultPrevented;
  }

  it('shows the namespace in the header, the field and the title', () => {
    const { v, el } = view();
    assert.equal(v.name, defaultNamespace);
    v.show('team-a');
    assert.equal(v.name, 'team-a');
    assert.equal(el.current.textContent, 'team-a');
    assert.equal(el.input.value, 'team-a');
    assert.equal(document.title, 'smsim · team-a');
    v.show('default');
    assert.equal(document.title, 'smsim');
  });

  it('switches to a name typed, trimmed, but not to the one shown', () => {
    const { v, el, switched } = view();
    v.show('team-a');
    assert.equal(submit(el, '  team-b '), true);
    assert.equal(submit(el, 'team-a'), true);
    assert.deepEqual(switched, ['team-b']);
    assert.equal(el.error.textContent, '');
    assert.equal(el.input.getAttribute('aria-invalid'), 'false');
  });

  it('refuses a name that cannot be, saying why, and stays', () => {
    const { v, el, switched } = view();
    v.show('team-a');
    assert.equal(submit(el, 'bad name!'), true);
    assert.deepEqual(switched, []);
    assert.equal(el.error.textContent, refused('bad name!'));
    assert.equal(el.input.getAttribute('aria-invalid'), 'true');
    assert.equal(v.name, 'team-a');
    submit(el, 'team-b'); // a good name clears the error
    assert.equal(el.error.textContent, '');
    assert.equal(el.input.getAttribute('aria-invalid'), 'false');
    assert.deepEqual(switched, ['team-b']);
  });

  it('reads the namespaces in use again when the field gets the focus', () => {
    const { el, focus } = view();
    el.input.dispatch('focus');
    el.input.dispatch('focus');
    assert.equal(focus.count, 2);
  });

  it('counts the answers of the list it handled, in the list\'s data-answers', () => {
    const { v, el } = view();
    assert.equal(el.list.dataset.answers, undefined);
    v.answered();
    v.suggest(['alpha']);
    v.answered();
    assert.equal(el.list.dataset.answers, '2');
  });

  it('suggests the namespaces in use, the one shown marked', () => {
    const { v, el } = view();
    v.show('beta');
    v.suggest(['alpha', 'beta', 'default']);
    const options = () => el.list.children.map((o) => [o.tagName, o.value, o.label ?? null]);
    assert.deepEqual(options(), [['OPTION', 'alpha', null], ['OPTION', 'beta', 'beta (shown)'], ['OPTION', 'default', null]]);
    const drawn = el.list.children;
    v.suggest(['alpha', 'beta', 'default']); // the same: not drawn again
    assert.equal(el.list.children, drawn);
    v.show('alpha');
    assert.deepEqual(options(), [['OPTION', 'alpha', 'alpha (shown)'], ['OPTION', 'beta', null], ['OPTION', 'default', null]]);
  });
});
