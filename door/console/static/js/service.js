// The service page: the service's protect threshold, metadata and owner,
// and its instances with their health, weight, metadata and last beat, and
// the actions on them (actions.js). The instance list follows changes with
// a blocking query on GET /v1/instances; beat times, which change without
// moving the index, are read again every 5 s while the page is visible.

import { get, watch, sleep, canWrite } from './api.js';
import { el, announce, ago, duration, showError, keepFocus } from './ui.js';
import * as act from './actions.js';

const BEATS_EVERY = 5000;
const MAX_ROWS = 1000;
const COLUMNS = ['Instance', 'Cluster', 'Health', 'Enabled', 'Weight', 'Metadata', 'Kind', 'Last beat', 'Actions'];

const ikey = (i) => `${i.cluster}|${i.ip}|${i.port}`;
const chips = (md) => md.map(([k, v]) => el('code', { class: 'chip' }, `${k}=${v}`));

// matches reports whether every word of the filter starts one of instance
// i's terms: its address, cluster, key=value pairs and state (healthy or
// unhealthy, enabled or disabled, ephemeral or persistent).
function matches(i, words) {
  const terms = [`${i.ip}:${i.port}`, i.cluster, i.healthy ? 'healthy' : 'unhealthy',
    i.enabled ? 'enabled' : 'disabled', i.ephemeral ? 'ephemeral' : 'persistent',
    ...Object.entries(i.metadata || {}).map(([k, v]) => `${k}=${v}`)].map((t) => t.toLowerCase());
  return words.every((w) => terms.some((t) => t.startsWith(w)));
}

// ServicePage holds what the page shows. Redraws only replace what
// changed: a redraw under the pointer would swallow a click that has
// begun (the button pressed is not the one released), so an unchanged
// part is left alone.
class ServicePage {
  constructor(main, params, signal) {
    this.key = {
      namespace: params.get('namespace') || 'public',
      group: params.get('group') || 'DEFAULT_GROUP',
      service: params.get('service') || '',
    };
    this.params = params;
    this.signal = signal;
    this.list = { instances: [] };
    this.detail = null;
    this.beats = null; // {owner, ownerName, ownerAddr, skew, byKey}
    this.writable = false; // may this tab's token change the service (actions shown)
    this.infoShown = '';
    this.rowsShown = '';
    this.build(main);
  }

  build(main) {
    const k = this.key;
    this.err = el('p', { class: 'error', role: 'alert', hidden: true, id: 'service-error' });
    this.info = el('dl', { class: 'facts', id: 'service-info' });
    this.body = el('tbody');
    this.filter = el('input', { id: 'f-instances', type: 'search', autocomplete: 'off', value: this.params.get('q') || '',
      placeholder: 'ip, cluster, key=value, disabled…' });
    this.shown = el('p', { class: 'muted', id: 'instances-summary' });
    this.filter.addEventListener('input', () => {
      const p = new URLSearchParams(this.params);
      if (this.filter.value) p.set('q', this.filter.value); else p.delete('q');
      history.replaceState(null, '', '#/service?' + p);
      this.draw();
    });
    const back = '#/services' + (k.namespace !== 'public' ? '?namespace=' + encodeURIComponent(k.namespace) : '');
    main.append(
      el('p', { class: 'crumbs' }, el('a', { href: back }, 'Services'), ` / ${k.namespace} / ${k.group}`),
      el('h1', {}, k.service), this.err, this.info,
      el('h2', { id: 'instances-title' }, 'Instances'),
      el('form', { class: 'filters', role: 'search', 'aria-label': 'Filter instances', onsubmit: (ev) => ev.preventDefault() },
        el('div', { class: 'grow' }, el('label', { for: 'f-instances' }, 'Filter'), this.filter)),
      this.shown,
      el('div', { class: 'scroll' }, el('table', { class: 'grid', id: 'instances' },
        el('caption', { class: 'visually-hidden' }, `Instances of ${k.service}`),
        el('thead', {}, el('tr', {}, ...COLUMNS.map((h) => el('th', { scope: 'col' }, h)))),
        this.body)));
  }

  beatsSig() {
    const b = this.beats;
    return b && [b.owner, b.ownerName, b.ownerAddr];
  }

  drawInfo() {
    const { list, detail, beats, key } = this;
    const total = list.instances.length;
    const healthy = list.instances.filter((i) => i.healthy && i.enabled).length;
    const sig = JSON.stringify([total, healthy, detail, this.beatsSig(), this.writable]);
    if (sig === this.infoShown) return;
    this.infoShown = sig;
    const pt = detail ? detail.protectThreshold : 0;
    const md = detail ? Object.entries(detail.metadata || {}) : [];
    const change = (id, label, fn) => (this.writable ? el('button', { type: 'button', id, onclick: () => fn(this), disabled: !detail,
      'aria-label': `Change the ${label} of ${key.service}` }, 'Change') : '');
    const fact = (dt, dd) => el('div', {}, el('dt', {}, dt), dd);
    this.info.replaceChildren(
      fact('Instances', el('dd', { id: 'svc-counts' }, `${healthy} healthy and enabled of ${total}`)),
      fact('Protect threshold', el('dd', {}, el('span', { id: 'svc-threshold' }, String(pt)), ' ',
        change('edit-threshold', 'protect threshold', act.editThreshold),
        pt > 0 && total > 0 && healthy / total <= pt ? el('span', { class: 'warn' }, ' reached: Nacos clients get every instance') : '')),
      fact('Owner node', el('dd', { id: 'svc-owner' }, beats ? (beats.ownerName || '(no owner known)') : '', this.ownerLink())),
      fact('Service metadata', el('dd', { id: 'svc-metadata' }, md.length ? chips(md) : 'none', ' ',
        change('edit-svc-metadata', 'metadata', act.editServiceMetadata))),
      fact('Health checks', el('dd', {}, 'client beats (ephemeral instances); persistent instances are not checked')));
  }

  // ownerLink points at the owner's own console, which shows beat times,
  // when this node could not ask the owner for them.
  ownerLink() {
    const b = this.beats;
    if (!b || b.owner || !b.ownerAddr) return '';
    const href = `${location.protocol}//${b.ownerAddr}/ui/` + location.hash;
    return el('span', {}, ' · ', el('a', { href }, 'open its console for beat times'));
  }

  lastBeat(i) {
    const b = this.beats;
    if (!i.ephemeral) return el('span', { class: 'muted' }, 'no beats');
    if (!b) return '';
    if (!b.owner) {
      const why = b.ownerError ? ` (it could not be asked: ${b.ownerError})` : '';
      return el('span', { class: 'muted', title: `Beats are tracked by the owner node ${b.ownerName}${why}` }, `on ${b.ownerName || 'owner'}`);
    }
    const t = b.byKey.get(ikey(i));
    if (t === undefined) return '';
    return el('time', { 'data-key': ikey(i) }, ago(Date.now() + b.skew - t) + ' ago');
  }

  row(i) {
    const addr = `${i.ip}:${i.port}`;
    const md = Object.entries(i.metadata || {});
    const kind = i.ephemeral
      ? el('span', { title: 'beat interval / unhealthy after / removed after' }, 'ephemeral',
        el('small', { class: 'muted' }, ` ${duration(i.beatIntervalMs)}/${duration(i.beatTimeoutMs)}/${duration(i.deleteTimeoutMs)}`))
      : 'persistent';
    const button = (label, fn, cls) => el('button', { type: 'button', class: cls, onclick: () => fn(this, i), 'aria-label': `${label} ${addr}` }, label);
    const cell = (label, cls, ...content) => el('td', { 'data-label': label, class: cls }, ...content);
    return el('tr', { 'data-instance': addr, 'data-cluster': i.cluster },
      el('th', { scope: 'row', 'data-label': 'Instance' }, addr),
      cell('Cluster', null, i.cluster),
      cell('Health', 'health', i.healthy ? el('span', { class: 'ok' }, 'healthy') : el('span', { class: 'bad' }, 'unhealthy')),
      cell('Enabled', 'enabled', i.enabled ? 'enabled' : el('span', { class: 'warn' }, 'disabled')),
      cell('Weight', 'weight', String(i.weight)),
      cell('Metadata', 'metadata', md.length ? chips(md) : el('span', { class: 'muted' }, 'none')),
      cell('Kind', null, kind),
      cell('Last beat', 'beat', this.lastBeat(i)),
      cell('Actions', 'actions', ...(this.writable ? [button(i.enabled ? 'Disable' : 'Enable', act.toggle), button('Weight', act.editWeight),
        button('Metadata', act.editMetadata), button('Deregister', act.deregister, 'danger')] : [el('span', { class: 'muted' }, 'read only')])));
  }

  draw() {
    keepFocus(this.info, () => this.drawInfo());
    const all = this.list.instances;
    const words = this.filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const hits = all.filter((i) => matches(i, words));
    this.shown.textContent = `${hits.length} of ${all.length} instances` +
      (hits.length > MAX_ROWS ? ` · showing the first ${MAX_ROWS}; narrow the filter` : '');
    const sig = JSON.stringify([hits, all.length, this.beatsSig(), this.writable]);
    if (sig === this.rowsShown) return;
    this.rowsShown = sig;
    keepFocus(this.body, () => {
      this.body.replaceChildren(...hits.slice(0, MAX_ROWS).map((i) => this.row(i)));
      if (hits.length === 0) {
        this.body.append(el('tr', {}, el('td', { colspan: COLUMNS.length, class: 'empty' }, all.length ? 'No instance matches.' : 'No instances.')));
      }
    });
  }

  // ageBeats rewrites the shown beat times from the latest beat table.
  ageBeats() {
    const b = this.beats;
    if (!b) return;
    for (const t of this.body.querySelectorAll('time[data-key]')) {
      const at = b.byKey.get(t.dataset.key);
      if (at !== undefined) t.textContent = ago(Date.now() + b.skew - at) + ' ago';
    }
  }

  loadDetail() {
    const k = this.key;
    return get('/nacos/v1/ns/service', { namespaceId: k.namespace, groupName: k.group, serviceName: k.service }, this.signal)
      .catch((e) => (e.status === 404 || e.status === 400 ? null : Promise.reject(e)));
  }

  async loadBeats() {
    const before = Date.now();
    const b = await get('/v1/instances/beats', this.key, this.signal);
    const byKey = new Map(b.instances.map((x) => [ikey(x), x.lastBeat]));
    this.beats = { owner: b.owner, ownerName: b.ownerName, ownerAddr: b.ownerAddr, ownerError: b.ownerError,
      skew: b.now - (before + Date.now()) / 2, byKey };
  }

  // follow keeps the page live until its signal aborts.
  follow() {
    const signal = this.signal;
    watch(async (index, sig) => {
      const l = await get('/v1/instances', { ...this.key, index, wait: '60s' }, sig);
      [this.detail, , this.writable] = await Promise.all([this.loadDetail(), this.loadBeats(), canWrite(this.key, sig)]);
      return l;
    }, (l) => {
      const changed = this.list.index !== undefined;
      this.list = l;
      showError(this.err, null);
      this.draw();
      if (changed) announce(`Instances updated: ${l.instances.length}`);
    }, (e) => showError(this.err, e), signal);
    // Beat times move without the index: read them again while visible,
    // and age the shown times every second without asking the node.
    (async () => {
      while (!signal.aborted) {
        await sleep(BEATS_EVERY, signal);
        if (signal.aborted || document.hidden || !this.beats || !this.beats.owner) continue;
        try {
          await this.loadBeats();
          this.ageBeats();
        } catch (e) { /* the list's watch shows errors */ }
      }
    })();
    const tick = setInterval(() => this.ageBeats(), 1000);
    signal.addEventListener('abort', () => clearInterval(tick), { once: true });
  }
}

export function renderService(main, params, signal) {
  const page = new ServicePage(main, params, signal);
  if (!page.key.service) {
    showError(page.err, new Error('no service named: open one from the services page'));
    return;
  }
  page.follow();
}
