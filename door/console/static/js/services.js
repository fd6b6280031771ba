// The services page: a namespace and a group picker, a search box, a sort,
// and the services of the namespace with their healthy and total instance
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

class ServicesPage {
  constructor(main, params, signal) {
    this.ns = params.get('namespace') || 'public';
    this.group = params.get('group') || '';
    this.signal = signal;
    this.services = [];
    this.ring = null;
    this.ringVersion = -1;
    this.self = '';
    this.groupsShown = null;
    this.build(main, params.get('q') || '', params.get('sort') || 'name');
  }

  build(main, search, order) {
    this.nsSel = el('select', { id: 'f-namespace', name: 'namespace' }, el('option', { value: this.ns }, this.ns));
    this.groupSel = el('select', { id: 'f-group', name: 'group' }, el('option', { value: '' }, 'All groups'));
    this.q = el('input', { id: 'f-search', name: 'q', type: 'search', value: search, placeholder: 'name contains…', autocomplete: 'off' });
    this.sortSel = el('select', { id: 'f-sort', name: 'sort' },
      ...Object.entries(SORTS).map(([v, s]) => el('option', { value: v, selected: v === order }, s.label)));
    this.err = el('p', { class: 'error', role: 'alert', hidden: true });
    this.summary = el('p', { class: 'muted', id: 'services-summary' });
    this.body = el('tbody');
    const field = (id, label, input, cls) => el('div', { class: cls }, el('label', { for: id }, label), input);
    const filters = el('form', { class: 'filters', role: 'search', 'aria-label': 'Filter services', onsubmit: (ev) => ev.preventDefault() },
      field('f-namespace', 'Namespace', this.nsSel), field('f-group', 'Group', this.groupSel),
      field('f-search', 'Search', this.q, 'grow'), field('f-sort', 'Sort', this.sortSel));
    const table = el('table', { class: 'grid', id: 'services' },
      el('caption', { class: 'visually-hidden' }, 'Services, with healthy and total instances and owner node'),
      el('thead', {}, el('tr', {}, ...['Service', 'Group', 'Healthy / total', 'Owner'].map((h) => el('th', { scope: 'col' }, h)))),
      this.body);
    main.append(el('h1', {}, 'Services'), filters, this.err, this.summary, el('div', { class: 'scroll' }, table));
    // Group, search and sort act on what is loaded; a namespace loads anew.
    const setHash = () => history.replaceState(null, '', this.hash());
    this.nsSel.addEventListener('change', () => { location.hash = this.hash(); });
    for (const [e, ev] of [[this.groupSel, 'change'], [this.q, 'input'], [this.sortSel, 'change']]) {
      e.addEventListener(ev, () => { setHash(); this.draw(); });
    }
  }

  // hash is the address of the page as the pickers set it.
  hash() {
    const p = new URLSearchParams();
    if (this.nsSel.value !== 'public') p.set('namespace', this.nsSel.value);
    if (this.groupSel.value) p.set('group', this.groupSel.value);
    if (this.q.value) p.set('q', this.q.value);
    if (this.sortSel.value !== 'name') p.set('sort', this.sortSel.value);
    return '#/services' + (p.toString() ? '?' + p : '');
  }

  owner(s) {
    const m = ownerOf(this.ring, this.ns, s.group, s.service);
    return m ? m.name : (this.ring && this.ring.members.length === 0 ? this.self : '');
  }

  // drawGroups rebuilds the group picker only when the groups change, so
  // an open picker stays open.
  drawGroups() {
    const groups = [...new Set(this.services.map((s) => s.group))].sort();
    if (this.groupsShown === groups.join('\n')) return;
    this.groupsShown = groups.join('\n');
    const want = this.groupSel.value || this.group;
    this.groupSel.replaceChildren(el('option', { value: '' }, 'All groups'),
      ...groups.map((g) => el('option', { value: g, selected: g === want }, g)));
    if (want && !groups.includes(want)) this.groupSel.append(el('option', { value: want, selected: true }, want));
  }

  row(s) {
    const href = '#/service?' + new URLSearchParams({ namespace: this.ns, group: s.group, service: s.service });
    return el('tr', { 'data-service': s.service, 'data-group': s.group },
      el('td', { 'data-label': 'Service' }, el('a', { href }, s.service)),
      el('td', { 'data-label': 'Group' }, s.group),
      el('td', { 'data-label': 'Healthy / total', class: s.healthy < s.instances ? 'warn counts' : 'counts' },
        el('span', { class: 'healthy' }, String(s.healthy)), ' / ', el('span', { class: 'total' }, String(s.instances)),
        el('meter', { min: 0, max: Math.max(s.instances, 1), value: s.healthy, 'aria-hidden': 'true' })),
      el('td', { 'data-label': 'Owner', class: 'owner' }, this.owner(s)));
  }

  draw() {
    this.drawGroups();
    const all = this.services;
    const needle = this.q.value.trim().toLowerCase();
    const shown = all.filter((s) => (!this.groupSel.value || s.group === this.groupSel.value) &&
      (!needle || s.service.toLowerCase().includes(needle)));
    shown.sort((SORTS[this.sortSel.value] || SORTS.name).cmp);
    keepFocus(this.body, () => {
      this.body.replaceChildren(...shown.slice(0, MAX_ROWS).map((s) => this.row(s)));
      if (shown.length === 0) {
        this.body.append(el('tr', {}, el('td', { colspan: 4, class: 'empty' },
          all.length ? 'No service matches.' : `No services in namespace ${this.ns}.`)));
      }
    });
    const total = all.reduce((a, s) => a + s.instances, 0);
    const healthy = all.reduce((a, s) => a + s.healthy, 0);
    this.summary.textContent = `${shown.length} of ${all.length} services · ${healthy} of ${total} instances healthy` +
      (shown.length > MAX_ROWS ? ` · showing the first ${MAX_ROWS}; narrow the search` : '');
  }

  async refreshRing() {
    const m = await get('/v1/cluster/members', {}, this.signal);
    this.self = m.self;
    if (m.ring.version !== this.ringVersion) {
      this.ring = await get('/v1/cluster/ring', {}, this.signal);
      this.ringVersion = m.ring.version;
    }
  }

  // follow loads the namespaces once and keeps the list live until the
  // page's signal aborts.
  follow() {
    get('/v1/namespaces', {}, this.signal).then((r) => {
      const names = r.namespaces.map((n) => n.namespace);
      if (!names.includes(this.ns)) names.push(this.ns);
      this.nsSel.replaceChildren(...names.sort().map((n) => el('option', { value: n, selected: n === this.ns }, n)));
    }).catch((e) => showError(this.err, e));
    let first = true;
    watch(async (index, sig) => {
      await this.refreshRing();
      return get('/v1/services', { namespace: this.ns, index, wait: '60s' }, sig);
    }, (r) => {
      showError(this.err, null);
      this.services = r.services;
      this.draw();
      if (!first) announce(`Services updated: ${this.services.length} services`);
      first = false;
    }, (e) => showError(this.err, e), this.signal);
  }
}

export function renderServices(main, params, signal) {
  new ServicesPage(main, params, signal).follow();
}
