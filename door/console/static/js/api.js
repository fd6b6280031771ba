// The console's one door to the node: every call goes to the node that
// served the page, with the token of this tab (sessionStorage only) as
// Authorization: Bearer. Errors become ApiError with the server's message.

const TOKEN_KEY = 'roster.token';

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
  window.dispatchEvent(new Event('roster-token'));
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// errorText extracts the message of a native ({"error":...}) or Nacos
// (caused: ...;) error answer.
function errorText(status, text) {
  try {
    const j = JSON.parse(text);
    if (j && j.error) return j.error;
  } catch (e) { /* not JSON */ }
  const m = /caused: (.*?);?\s*$/s.exec(text);
  if (m) return m[1];
  return text.trim() || `HTTP ${status}`;
}

// request sends one call. opts: query (object), json (body), form
// (object, sent urlencoded), signal.
export async function request(method, path, opts = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(opts.query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  const headers = {};
  const t = token();
  if (t) headers.Authorization = 'Bearer ' + t;
  let body;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.form).toString();
  }
  let res;
  try {
    res = await fetch(url, { method, headers, body, signal: opts.signal, cache: 'no-store' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'the node did not answer: ' + e.message);
  }
  const text = await res.text();
  if (!res.ok) {
    let msg = errorText(res.status, text);
    if (res.status === 401 && method !== 'GET') msg += ' (log in, top right, and try again)';
    const err = new ApiError(res.status, msg);
    // A page that cannot read without a token goes to the login form; a
    // refused change is shown where it was made.
    if (res.status === 401 && method === 'GET') window.dispatchEvent(new CustomEvent('roster-unauthorized', { detail: err }));
    throw err;
  }
  const ctype = res.headers.get('Content-Type') || '';
  return ctype.includes('json') ? JSON.parse(text) : text;
}

export const get = (path, query, signal) => request('GET', path, { query, signal });

// canWrite asks the node whether this tab's token may change service k
// (GET /nacos/v1/auth/self, the node's own decision): false only for a
// valid token without the permission (a read-only user sees no actions).
// Without a token, with an expired one or when the node does not answer,
// the actions stay: the change itself then asks for a login or reports
// the error.
export async function canWrite(k, signal) {
  const url = new URL('/nacos/v1/auth/self', location.origin);
  url.searchParams.set('namespaceId', k.namespace);
  url.searchParams.set('groupName', k.group);
  url.searchParams.set('serviceName', k.service);
  const headers = {};
  const t = token();
  if (t) headers.Authorization = 'Bearer ' + t;
  try {
    const res = await fetch(url, { headers, signal, cache: 'no-store' });
    if (!res.ok) return true;
    return !!(await res.json()).canWrite;
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    return true;
  }
}

// watch follows a blocking query: it calls fetchAt(index, signal) with the
// last index seen (0 first), hands each answer to onData, and asks again.
// One request is outstanding at a time; after an error it backs off
// (1 s doubling to 30 s), and it never asks more often than every
// minGapMs. It stops when signal aborts.
export async function watch(fetchAt, onData, onError, signal, minGapMs = 250) {
  let index = 0;
  let backoff = 1000;
  while (!signal.aborted) {
    const started = Date.now();
    try {
      const data = await fetchAt(index, signal);
      backoff = 1000;
      if (signal.aborted) return;
      const next = data.index || 0;
      // An index that went backwards (another node, a restart) starts over.
      index = next < index ? 0 : next;
      onData(data);
    } catch (e) {
      if (signal.aborted || e.name === 'AbortError') return;
      onError(e);
      await sleep(backoff, signal);
      backoff = Math.min(backoff * 2, 30000);
      continue;
    }
    const gap = minGapMs - (Date.now() - started);
    if (gap > 0) await sleep(gap, signal);
  }
}

export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}
