// The login page: a user name and password, exchanged for a token at the
// Nacos login endpoint, or a token pasted as is. The token is kept in this
// tab's sessionStorage only.

import { request, setToken, get } from './api.js';
import { el, showError } from './ui.js';

export function renderLogin(main, params) {
  const next = params.get('next') || '#/services';
  const err = el('p', { class: 'error', role: 'alert', hidden: true, id: 'login-error' });
  const user = el('input', { id: 'login-user', name: 'username', autocomplete: 'username', required: true });
  const pass = el('input', { id: 'login-pass', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const tok = el('input', { id: 'login-token', name: 'token', type: 'password', autocomplete: 'off', required: true });
  const userForm = el('form', { id: 'login-form', 'aria-labelledby': 'login-user-title' },
    el('h2', { id: 'login-user-title' }, 'User and password'),
    el('label', { for: 'login-user' }, 'User'), user,
    el('label', { for: 'login-pass' }, 'Password'), pass,
    el('button', { type: 'submit', class: 'primary' }, 'Log in'));
  const tokenForm = el('form', { id: 'token-form', 'aria-labelledby': 'login-token-title' },
    el('h2', { id: 'login-token-title' }, 'Token'),
    el('label', { for: 'login-token' }, 'ACL token'), tok,
    el('button', { type: 'submit' }, 'Use token'));
  const done = () => { location.hash = next; };
  userForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(err, null);
    try {
      const r = await request('POST', '/nacos/v1/auth/users/login', { form: { username: user.value, password: pass.value } });
      setToken(r.accessToken);
      done();
    } catch (e) {
      showError(err, e);
      pass.select();
    }
  });
  tokenForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(err, null);
    setToken(tok.value.trim());
    try {
      // Checks the token where the node checks reads; a node that lets
      // reads pass accepts any token here, and a bad one fails at the
      // first change.
      await get('/v1/cluster/members');
      done();
    } catch (e) {
      setToken('');
      showError(err, e);
    }
  });
  main.append(
    el('h1', {}, 'Log in'),
    el('p', { class: 'muted' }, 'A node with ACLs on needs a token for changes, and for reads too with --acl-read. The token is kept for this tab only and forgotten when the tab closes.'),
    err,
    el('div', { class: 'login-grid' }, userForm, tokenForm));
  user.focus();
}
