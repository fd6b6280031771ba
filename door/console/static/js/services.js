// The services page: a namespace and a group picker, a search box, and
// the services of the namespace with their healthy and total instance
// counts and owner node. It follows changes with a blocking query on
// GET /v1/services (the registry's change index), and looks owners up in
// the ring table (GET /v1/cluster/ring), read again when its version moves.

import { get, watch } from './api.js';
import { el, announce, showError, ownerOf, keepFocus } from './ui.js';

const MAX_ROWS = 500;

const byName = (a, b) => a.group.localeCompare(b.group) || a.service.localeCompare(b.service);
const SORTS = {
  name: { label: 'Group and name', cmp: byName },
  unhealthy: { label: 'Unhealthy first', cmp: (a, b) => (b.instances - b.healthy) - (a.instances - a.healthy) || byName(a, b) },
  instances: { label: 'Most instances', cmp: (a, b) => b.instances - a.instances || byName(a, b) },
};

export function renderServices(main, params, signal) {
  const ns = params.get('namespace') || 'public';
  const group = params.get('group') || '';
  const search = params.get('q') || '';
  const order = params.get('sort') || 'name';

  const nsSel = el('select', { id: 'f-namespace', name: 'namespace' }, el('option', { value: ns }, ns));
  const groupSel = el('select', { id: 'f-group', name: 'group' }, el('option', { value: '' }, 'All groups'));
  const q = el('input', { id: 'f-search', name: 'q', type: 'search', value: search, placeholder: 'name contains…', autocomplete: 'off' });
  const sortSel = el('select', { id: 'f-sort', name: 'sort' },
    ...Object.entries(SORTS).map(([v, s]) => el('option', { value: v, selected: v === order }, s.label)));
  const err = el('p', { class: 'error', role: 'alert', hidden: true });
  const summary = el('p', { class: 'muted', id: 'services-summary' });
  const body = el('tbody');
  const table = el('table', { class: 'grid', id: 'services' },
    el('caption', { class: 'visually-hidden' }, 'Services, with healthy and total instances and owner node'),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col' }, 'Service'), el('th', { scope: 'col' }, 'Group'),
      el('th', { scope: 'col' }, 'Healthy / total'), el('th', { scope: 'col' }, 'Owner'))),
    body);
  const filters = el('form', { class: 'filters', role: 'search', 'aria-label': 'Filter services' },
    el('div', {}, el('label', { for: 'f-namespace' }, 'Namespace'), nsSel),
    el('div', {}, el('label', { for: 'f-group' }, 'Group'), groupSel),
    el('div', { class: 'grow' }, el('label', { for: 'f-search' }, 'Search'), q),
    el('div', {}, el('label', { for: 'f-sort' }, 'Sort'), sortSel));
  filters.addEventListener('submit', (ev) => ev.preventDefault());
  main.append(el('h1', {}, 'Services'), filters, err, summary, el('div', { class: 'scroll' }, table));

  let services = [];
  let ring = null;
  let self = '';
  const hashOf = () => {
    const p = new URLSearchParams();
    if (nsSel.value !== 'public') p.set('namespace', nsSel.value);
    if (groupSel.value) p.set('group', groupSel.value);
    if (q.value) p.set('q', q.value);
    if (sortSel.value !== 'name') p.set('sort', sortSel.value);
    return '#/services' + (p.toString() ? '?' + p : '');
  };
  // Group and search filter what is loaded; a namespace loads anew.
  const setHash = () => history.replaceState(null, '', hashOf());
  nsSel.addEventListener('change', () => { location.hash = hashOf(); });
  groupSel.addEventListener('change', () => { setHash(); draw(); });
  q.addEventListener('input', () => { setHash(); draw(); });
  sortSel.addEventListener('change', () => { setHash(); draw(); });

  function owner(s) {
    const m = ownerOf(ring, ns, s.group, s.service);
    return m ? m.name : (ring && ring.members.length === 0 ? self : '');
  }

  let groupsShown = null;
  function draw() {
    const groups = [...new Set(services.map((s) => s.group))].sort();
    const want = groupSel.value || group;
    // Rebuilt only when the groups change, so an open picker stays open.
    if (groupsShown !== groups.join('\n')) {
      groupsShown = groups.join('\n');
      groupSel.replaceChildren(el('option', { value: '' }, 'All groups'),
        ...groups.map((g) => el('option', { value: g, selected: g === want }, g)));
      if (want && !groups.includes(want)) groupSel.append(el('option', { value: want, selected: true }, want));
    }
    const needle = q.value.trim().toLowerCase();
    const shown = services.filter((s) => (!groupSel.value || s.group === groupSel.value) &&
      (!needle || s.service.toLowerCase().includes(needle)));
    shown.sort((SORTS[sortSel.value] || SORTS.name).cmp);
    const rows = shown.slice(0, MAX_ROWS).map((s) => {
      const href = '#/service?' + new URLSearchParams({ namespace: ns, group: s.group, service: s.service });
      const bad = s.healthy < s.instances;
      return el('tr', { 'data-service': s.service, 'data-group': s.group },
        el('td', { 'data-label': 'Service' }, el('a', { href }, s.service)),
        el('td', { 'data-label': 'Group' }, s.group),
        el('td', { 'data-label': 'Healthy / total', class: bad ? 'warn counts' : 'counts' },
          el('span', { class: 'healthy' }, String(s.healthy)), ' / ', el('span', { class: 'total' }, String(s.instances)),
          el('meter', { min: 0, max: Math.max(s.instances, 1), value: s.healthy, 'aria-hidden': 'true' })),
        el('td', { 'data-label': 'Owner', class: 'owner' }, owner(s)));
    });
    keepFocus(body, () => {
      body.replaceChildren(...rows);
      if (rows.length === 0) {
        body.append(el('tr', {}, el('td', { colspan: 4, class: 'empty' },
          services.length ? 'No service matches.' : `No services in namespace ${ns}.`)));
      }
    });
    const total = services.reduce((a, s) => a + s.instances, 0);
    const healthy = services.reduce((a, s) => a + s.healthy, 0);
    summary.textContent = `${shown.length} of ${services.length} services · ${healthy} of ${total} instances healthy` +
      (shown.length > MAX_ROWS ? ` · showing the first ${MAX_ROWS}; narrow the search` : '');
  }

  get('/v1/namespaces', {}, signal).then((r) => {
    const names = r.namespaces.map((n) => n.namespace);
    if (!names.includes(ns)) names.push(ns);
    nsSel.replaceChildren(...names.sort().map((n) => el('option', { value: n, selected: n === ns }, n)));
  }).catch((e) => showError(err, e));

  let ringVersion = -1;
  async function refreshRing() {
    const m = await get('/v1/cluster/members', {}, signal);
    self = m.self;
    if (m.ring.version !== ringVersion) {
      ring = await get('/v1/cluster/ring', {}, signal);
      ringVersion = m.ring.version;
    }
  }

  let first = true;
  watch(async (index, sig) => {
    await refreshRing();
    return get('/v1/services', { namespace: ns, index, wait: '60s' }, sig);
  }, (r) => {
    showError(err, null);
    services = r.services;
    draw();
    if (!first) announce(`Services updated: ${services.length} services`);
    first = false;
  }, (e) => showError(err, e), signal);
}
