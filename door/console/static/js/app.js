// The console's router: the URL fragment names the page (#/services,
// #/service?..., #/cluster, #/login). Each page is a module whose render
// function fills <main> and returns nothing; it stops its live updates
// when the AbortSignal it was given aborts (on the next navigation).

import { token, setToken, get } from './api.js';
import { renderServices } from './services.js';
import { renderService } from './service.js';
import { renderCluster } from './cluster.js';
import { renderLogin } from './login.js';

const pages = {
  services: renderServices,
  service: renderService,
  cluster: renderCluster,
  login: renderLogin,
};

let current = null; // AbortController of the page shown

function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [name, qs] = hash.split('?');
  const page = pages[name] ? name : 'services';
  const params = new URLSearchParams(qs || '');
  if (current) current.abort();
  current = new AbortController();
  for (const a of document.querySelectorAll('[data-nav]')) {
    const on = a.dataset.nav === page || (page === 'service' && a.dataset.nav === 'services');
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const main = document.getElementById('main');
  main.replaceChildren();
  pages[page](main, params, current.signal);
  const h1 = main.querySelector('h1');
  if (h1) {
    document.title = `${h1.textContent} · roster`;
  }
  // Move focus to the page for keyboard and screen reader users, but not
  // on the first load.
  if (route.seen) main.focus({ preventScroll: false });
  route.seen = true;
}

function showLoginState() {
  const has = !!token();
  document.getElementById('login-link').hidden = has;
  document.getElementById('logout').hidden = !has;
}

document.getElementById('logout').addEventListener('click', () => {
  setToken('');
  location.hash = '#/login';
});

window.addEventListener('roster-token', showLoginState);
window.addEventListener('roster-unauthorized', () => {
  const hash = location.hash || '#/services';
  if (!hash.startsWith('#/login')) {
    location.hash = '#/login?next=' + encodeURIComponent(hash);
  }
});
// A fault of the console itself is shown, not swallowed: reload the page.
function fatal(msg) {
  const n = (Number(document.body.dataset.errors) || 0) + 1;
  document.body.dataset.errors = String(n);
  const p = document.getElementById('fatal');
  p.textContent = `The console hit an error (${msg}); reload the page.`;
  p.hidden = false;
}
window.addEventListener('error', (ev) => fatal(ev.message));
window.addEventListener('unhandledrejection', (ev) => {
  if (ev.reason && ev.reason.name === 'AbortError') return; // a page left
  fatal(ev.reason && ev.reason.message ? ev.reason.message : String(ev.reason));
});
window.addEventListener('hashchange', route);
// The skip link moves the focus without touching the fragment, which
// names the page.
document.querySelector('.skip').addEventListener('click', (ev) => {
  ev.preventDefault();
  document.getElementById('main').focus();
});

showLoginState();
route();

// The node's name in the header (again after a login: with --acl-read
// the first try needs the token).
function showNode() {
  get('/v1/cluster/members').then((m) => {
    document.getElementById('node').textContent = `node ${m.self}`;
  }).catch(() => {});
}
window.addEventListener('roster-token', showNode);
showNode();
