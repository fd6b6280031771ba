// The cluster page: the members as the node that served the page sees
// them (state, addresses, ring partitions and services owned) and how
// ownership is spread over them. Membership has no change index, so the
// page reads GET /v1/cluster/members again every 5 s while it is visible.

import { get, sleep } from './api.js';
import { el, showError } from './ui.js';

const EVERY = 5000;

export function renderCluster(main, params, signal) {
  const err = el('p', { class: 'error', role: 'alert', hidden: true });
  const summary = el('p', { id: 'cluster-summary' });
  const body = el('tbody');
  const spread = el('div', { class: 'spread', id: 'spread', role: 'img' });
  const table = el('table', { class: 'grid', id: 'members' },
    el('caption', { class: 'visually-hidden' }, 'Cluster members'),
    el('thead', {}, el('tr', {}, ...['Member', 'State', 'HTTP address', 'Gossip address', 'Partitions', 'Services']
      .map((h) => el('th', { scope: 'col' }, h)))),
    body);
  main.append(el('h1', {}, 'Cluster'), err, summary, el('div', { class: 'scroll' }, table),
    el('h2', {}, 'Ownership spread'), spread);

  // fill is a bar's filled part; its width is set through the CSSOM, which
  // the console's Content-Security-Policy allows (style attributes not).
  function fill(share) {
    const f = el('span', { class: 'bar-fill' });
    f.style.width = `${(100 * share).toFixed(1)}%`;
    return f;
  }

  function draw(m) {
    const parts = m.ring.partitions;
    const members = [...m.members].sort((a, b) => a.name.localeCompare(b.name));
    const ready = members.filter((x) => x.state === 'alive').length;
    body.replaceChildren(...members.map((x) => el('tr', { 'data-member': x.name },
      el('th', { scope: 'row', 'data-label': 'Member' }, x.name, x.self ? el('small', { class: 'muted' }, ' (this node)') : ''),
      el('td', { 'data-label': 'State', class: 'state' },
        el('span', { class: x.state === 'alive' ? 'ok' : 'warn' }, x.state === 'alive' ? 'alive, ready' : x.state)),
      el('td', { 'data-label': 'HTTP address' }, x.httpAddr || ''),
      el('td', { 'data-label': 'Gossip address' }, x.gossipAddr || ''),
      el('td', { 'data-label': 'Partitions', class: 'partitions' }, `${x.partitions} (${(100 * x.partitions / parts).toFixed(1)}%)`),
      el('td', { 'data-label': 'Services', class: 'services' }, String(x.services)))));
    summary.textContent = `${members.length} members, ${ready} ready · ring of ${parts} partitions (${m.ring.hash}), version ${m.ring.version}`;
    const owning = members.filter((x) => x.partitions > 0);
    const ideal = owning.length ? parts / owning.length : 0;
    const most = Math.max(0, ...owning.map((x) => x.partitions));
    spread.setAttribute('aria-label', owning.length
      ? `Partitions per member: ${owning.map((x) => `${x.name} ${x.partitions}`).join(', ')}`
      : 'No member owns partitions yet');
    spread.replaceChildren(
      ...owning.map((x) => el('div', { class: 'bar-row' },
        el('span', { class: 'bar-name' }, x.name),
        el('span', { class: 'bar' }, fill(x.partitions / Math.max(most, 1))),
        el('span', { class: 'bar-value' }, String(x.partitions)))),
      el('p', { class: 'muted' }, owning.length
        ? `Largest share ${(most / Math.max(ideal, 1)).toFixed(2)}× an even share (${Math.round(ideal)} partitions each).`
        : 'This node runs alone (no gossip) and owns every service.'));
  }

  (async () => {
    while (!signal.aborted) {
      if (!document.hidden) {
        try {
          draw(await get('/v1/cluster/members', {}, signal));
          showError(err, null);
        } catch (e) {
          if (e.name !== 'AbortError') showError(err, e);
        }
      }
      await sleep(EVERY, signal);
    }
  })();
}
