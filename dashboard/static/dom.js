// Building the page's elements. Every text, and above all every text from
// the network (SMS bodies, names, numbers), goes in as a text node or
// through textContent: nothing here parses HTML.

// h builds an element: props are set as properties (className, type,
// title, disabled…), "data-…", "aria-…" and "role" as attributes, "on…"
// as event listeners; children are nodes or strings, strings becoming
// text nodes.
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role') el.setAttribute(k, String(v));
    else if (k === 'innerHTML' || k === 'outerHTML') throw new Error('h: ' + k + ' is not allowed');
    else el[k] = v;
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// $ finds one element of the page.
export const $ = (sel, root = document) => root.querySelector(sel);

// setText sets an element's text only when it changed.
export function setText(el, text) {
  text = String(text);
  if (el.textContent !== text) el.textContent = text;
}

// withCode splits a message body around its code: the text before, the
// code in a <mark>, the text after. Without a code the body is one text
// node.
export function withCode(body, code) {
  const at = code ? body.indexOf(code) : -1;
  if (at < 0) return [body];
  return [body.slice(0, at), h('mark', { className: 'code' }, code), body.slice(at + code.length)];
}
