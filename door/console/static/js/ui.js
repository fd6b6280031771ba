// Small helpers of the pages: building elements (text only, never HTML
// from data), the confirmation dialog, announcements for screen readers,
// durations, and the ring lookup of a service's owner.

// el builds an element: el('td', {class: 'x', 'aria-label': 'y'}, child, ...).
// Children are nodes or strings (set as text).
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// keepFocus redraws part of a page with draw and, if the focus was on an
// element inside container, puts it back on the element that replaces it
// (the same aria-label, link or id), so a live update does not throw a
// keyboard user back to the top of the page.
export function keepFocus(container, draw) {
  const a = document.activeElement;
  const inside = a && a !== document.body && container.contains(a);
  const key = inside && (a.getAttribute('aria-label') || a.getAttribute('href') || a.id);
  draw();
  if (!key) return;
  for (const e of container.querySelectorAll('a, button, input, select, textarea')) {
    if (e.getAttribute('aria-label') === key || e.getAttribute('href') === key || e.id === key) {
      e.focus({ preventScroll: true });
      return;
    }
  }
}

// announce tells screen readers what changed.
export function announce(text) {
  const live = document.getElementById('live');
  live.textContent = '';
  setTimeout(() => { live.textContent = text; }, 50);
}

// ago renders a duration in ms as "12 s", "3 min", "2 h".
export function ago(ms) {
  if (ms < 0) ms = 0;
  if (ms < 120000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7200000) return `${Math.round(ms / 60000)} min`;
  return `${Math.round(ms / 3600000)} h`;
}

// duration renders milliseconds compactly: 5000 → "5s".
export function duration(ms) {
  if (ms % 3600000 === 0) return `${ms / 3600000}h`;
  if (ms % 60000 === 0) return `${ms / 60000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

// confirmAction opens the confirmation dialog. opts: title, text, fields
// (elements put in the form), ok (button label), run (async, gets the
// form; a thrown error is shown in the dialog, which stays open). Resolves
// true when run succeeded, false when cancelled.
export function confirmAction(opts) {
  const dlg = document.getElementById('confirm');
  const form = document.getElementById('confirm-form');
  const err = document.getElementById('confirm-error');
  const ok = document.getElementById('confirm-ok');
  const cancel = document.getElementById('confirm-cancel');
  document.getElementById('confirm-title').textContent = opts.title;
  document.getElementById('confirm-text').textContent = opts.text || '';
  document.getElementById('confirm-fields').replaceChildren(...(opts.fields || []));
  ok.textContent = opts.ok || 'Confirm';
  ok.classList.toggle('danger', !!opts.danger);
  err.hidden = true;
  err.textContent = '';
  const opener = document.activeElement;
  return new Promise((resolve) => {
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      form.removeEventListener('submit', onSubmit);
      cancel.removeEventListener('click', onCancel);
      dlg.removeEventListener('close', onClose);
      if (dlg.open) dlg.close();
      const back = opener && (opener.isConnected ? opener : likeOf(opener));
      if (back) back.focus();
      resolve(result);
    };
    const onSubmit = async (ev) => {
      ev.preventDefault();
      ok.disabled = true;
      err.hidden = true;
      try {
        await opts.run(form);
        finish(true);
      } catch (e) {
        err.textContent = e.message || String(e);
        err.hidden = false;
        ok.disabled = false;
      }
    };
    const onCancel = () => finish(false);
    const onClose = () => finish(false);
    form.addEventListener('submit', onSubmit);
    cancel.addEventListener('click', onCancel);
    dlg.addEventListener('close', onClose);
    ok.disabled = false;
    dlg.showModal();
    const first = dlg.querySelector('#confirm-fields input, #confirm-fields textarea');
    (first || ok).focus();
  });
}

// likeOf finds the element that replaced e in a redraw: the one with its
// id or its aria-label.
function likeOf(e) {
  if (e.id) return document.getElementById(e.id);
  const label = e.getAttribute && e.getAttribute('aria-label');
  return label ? document.querySelector(`[aria-label="${CSS.escape(label)}"]`) : null;
}

// showError shows an error (or nothing) in a page's status element.
export function showError(node, e) {
  node.hidden = !e;
  node.textContent = e ? (e.message || String(e)) : '';
}

// xxhash64 (XXH64, seed 0) of the UTF-8 bytes of s, as a BigInt: the hash
// of the ring's service keys (api.Partition).
const M = (1n << 64n) - 1n;
const P1 = 0x9E3779B185EBCA87n, P2 = 0xC2B2AE3D27D4EB4Fn, P3 = 0x165667B19E3779F9n;
const P4 = 0x85EBCA77C2B2AE63n, P5 = 0x27D4EB2F165667C5n;
const rotl = (x, r) => ((x << r) | (x >> (64n - r))) & M;
const round = (acc, input) => (rotl((acc + input * P2) & M, 31n) * P1) & M;
const merge = (acc, v) => ((acc ^ round(0n, v)) * P1 + P4) & M;

export function xxhash64(s) {
  const b = new TextEncoder().encode(s);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u64 = (i) => dv.getBigUint64(i, true);
  let i = 0;
  let h;
  if (b.length >= 32) {
    let v1 = (P1 + P2) & M, v2 = P2, v3 = 0n, v4 = (M + 1n - P1) & M;
    for (; i + 32 <= b.length; i += 32) {
      v1 = round(v1, u64(i)); v2 = round(v2, u64(i + 8));
      v3 = round(v3, u64(i + 16)); v4 = round(v4, u64(i + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    h = merge(merge(merge(merge(h, v1), v2), v3), v4);
  } else {
    h = P5;
  }
  h = (h + BigInt(b.length)) & M;
  for (; i + 8 <= b.length; i += 8) {
    h = (rotl(h ^ round(0n, u64(i)), 27n) * P1 + P4) & M;
  }
  if (i + 4 <= b.length) {
    h = (rotl(h ^ ((BigInt(dv.getUint32(i, true)) * P1) & M), 23n) * P2 + P3) & M;
    i += 4;
  }
  for (; i < b.length; i++) {
    h = (rotl(h ^ ((BigInt(b[i]) * P5) & M), 11n) * P1) & M;
  }
  h ^= h >> 33n; h = (h * P2) & M;
  h ^= h >> 29n; h = (h * P3) & M;
  h ^= h >> 32n;
  return h;
}

// serviceKey is the ring key of a service (api.ServiceKey).
export const serviceKey = (ns, group, service) => `${ns}##${group}@@${service}`;

// ownerOf looks a service's owner up in a ring table (GET
// /v1/cluster/ring); null when the table names no owner.
export function ownerOf(ring, ns, group, service) {
  if (!ring || !ring.members || ring.members.length === 0 || !ring.partitions) return null;
  const p = Number(xxhash64(serviceKey(ns, group, service)) % BigInt(ring.partitions));
  const m = ring.members[ring.owners[p]];
  return m || null;
}
