// The service page: the service's protect threshold, metadata and owner,
// and its instances with their health, weight, metadata and last beat, and
// the actions on them (enable or disable, weight, metadata, deregister,
// protect threshold), each confirmed in a dialog that shows any error in
// place. The instance list follows changes with a blocking query on
// GET /v1/instances; beat times, which change without moving the index,
// are read again every 5 s while the page is visible.

import { get, request, watch, sleep } from './api.js';
import { el, announce, ago, duration, confirmAction, showError, keepFocus } from './ui.js';

const BEATS_EVERY = 5000;
const MAX_ROWS = 1000;

export function renderService(main, params, signal) {
  const key = {
    namespace: params.get('namespace') || 'public',
    group: params.get('group') || 'DEFAULT_GROUP',
    service: params.get('service') || '',
  };
  const err = el('p', { class: 'error', role: 'alert', hidden: true, id: 'service-error' });
  const info = el('dl', { class: 'facts', id: 'service-info' });
  const body = el('tbody');
  const table = el('table', { class: 'grid', id: 'instances' },
    el('caption', { class: 'visually-hidden' }, `Instances of ${key.service}`),
    el('thead', {}, el('tr', {}, ...['Instance', 'Cluster', 'Health', 'Enabled', 'Weight', 'Metadata', 'Kind', 'Last beat', 'Actions']
      .map((h) => el('th', { scope: 'col' }, h)))),
    body);
  const back = '#/services' + (key.namespace !== 'public' ? '?namespace=' + encodeURIComponent(key.namespace) : '');
  const filter = el('input', { id: 'f-instances', type: 'search', autocomplete: 'off', value: params.get('q') || '',
    placeholder: 'ip, cluster, key=value, disabled…' });
  const shown = el('p', { class: 'muted', id: 'instances-summary' });
  filter.addEventListener('input', () => {
    const p = new URLSearchParams(params);
    if (filter.value) p.set('q', filter.value); else p.delete('q');
    history.replaceState(null, '', '#/service?' + p);
    draw();
  });
  main.append(
    el('p', { class: 'crumbs' }, el('a', { href: back }, 'Services'), ` / ${key.namespace} / ${key.group}`),
    el('h1', {}, key.service), err, info,
    el('h2', { id: 'instances-title' }, 'Instances'),
    el('form', { class: 'filters', role: 'search', 'aria-label': 'Filter instances', onsubmit: (ev) => ev.preventDefault() },
      el('div', { class: 'grow' }, el('label', { for: 'f-instances' }, 'Filter'), filter)),
    shown,
    el('div', { class: 'scroll' }, table));

  let list = { instances: [] };
  let detail = null;
  let beats = null; // {owner, ownerName, skew, byKey}
  const ikey = (i) => `${i.cluster}|${i.ip}|${i.port}`;

  // Redraws only replace what changed: a redraw under the pointer would
  // swallow a click that has begun (the button pressed is not the one
  // released), so an unchanged part is left alone.
  let infoShown = '';
  let rowsShown = '';
  const beatsSig = () => beats && [beats.owner, beats.ownerName, beats.ownerAddr];

  function drawInfo() {
    const total = list.instances.length;
    const healthy = list.instances.filter((i) => i.healthy && i.enabled).length;
    const pt = detail ? detail.protectThreshold : 0;
    const md = detail ? Object.entries(detail.metadata || {}) : [];
    const ownerText = beats ? (beats.ownerName || '(no owner known)') : '';
    const sig = JSON.stringify([total, healthy, detail, beatsSig()]);
    if (sig === infoShown) return;
    infoShown = sig;
    info.replaceChildren(
      el('div', {}, el('dt', {}, 'Instances'), el('dd', { id: 'svc-counts' }, `${healthy} healthy and enabled of ${total}`)),
      el('div', {}, el('dt', {}, 'Protect threshold'), el('dd', {},
        el('span', { id: 'svc-threshold' }, String(pt)), ' ',
        el('button', { type: 'button', id: 'edit-threshold', onclick: editThreshold, disabled: !detail,
          'aria-label': `Change the protect threshold of ${key.service}` }, 'Change'),
        pt > 0 && total > 0 && healthy / total <= pt ? el('span', { class: 'warn' }, ' reached: Nacos clients get every instance') : '')),
      el('div', {}, el('dt', {}, 'Owner node'), el('dd', { id: 'svc-owner' }, ownerText, ownerLink())),
      el('div', {}, el('dt', {}, 'Service metadata'), el('dd', { id: 'svc-metadata' },
        md.length ? md.map(([k, v]) => el('code', { class: 'chip' }, `${k}=${v}`)) : 'none', ' ',
        el('button', { type: 'button', id: 'edit-svc-metadata', onclick: editServiceMetadata, disabled: !detail,
          'aria-label': `Change the metadata of ${key.service}` }, 'Change'))),
      el('div', {}, el('dt', {}, 'Health checks'), el('dd', {}, 'client beats (ephemeral instances); persistent instances are not checked')));
  }

  // ownerLink points at the owner's own console, which shows beat times,
  // when this node does not own the service.
  function ownerLink() {
    if (!beats || beats.owner || !beats.ownerAddr) return '';
    const href = `${location.protocol}//${beats.ownerAddr}/ui/` + location.hash;
    return el('span', {}, ' · ', el('a', { href }, 'open its console for beat times'));
  }

  function lastBeat(i) {
    if (!i.ephemeral) return el('span', { class: 'muted' }, 'no beats');
    if (!beats) return '';
    if (!beats.owner) {
      return el('span', { class: 'muted', title: `Beats are tracked by the owner node ${beats.ownerName}` }, `on ${beats.ownerName || 'owner'}`);
    }
    const t = beats.byKey.get(ikey(i));
    if (t === undefined) return '';
    return el('time', { 'data-key': ikey(i) }, ago(Date.now() + beats.skew - t) + ' ago');
  }

  function row(i) {
    const addr = `${i.ip}:${i.port}`;
    const md = Object.entries(i.metadata || {});
    const health = i.healthy ? el('span', { class: 'ok' }, 'healthy') : el('span', { class: 'bad' }, 'unhealthy');
    const enabled = i.enabled ? 'enabled' : el('span', { class: 'warn' }, 'disabled');
    const kind = i.ephemeral
      ? el('span', { title: 'beat interval / unhealthy after / removed after' }, 'ephemeral',
        el('small', { class: 'muted' }, ` ${duration(i.beatIntervalMs)}/${duration(i.beatTimeoutMs)}/${duration(i.deleteTimeoutMs)}`))
      : 'persistent';
    const act = (label, fn, cls) => el('button', { type: 'button', class: cls, onclick: () => fn(i), 'aria-label': `${label} ${addr}` }, label);
    return el('tr', { 'data-instance': addr, 'data-cluster': i.cluster },
      el('th', { scope: 'row', 'data-label': 'Instance' }, addr),
      el('td', { 'data-label': 'Cluster' }, i.cluster),
      el('td', { 'data-label': 'Health', class: 'health' }, health),
      el('td', { 'data-label': 'Enabled', class: 'enabled' }, enabled),
      el('td', { 'data-label': 'Weight', class: 'weight' }, String(i.weight)),
      el('td', { 'data-label': 'Metadata', class: 'metadata' }, md.length ? md.map(([k, v]) => el('code', { class: 'chip' }, `${k}=${v}`)) : el('span', { class: 'muted' }, 'none')),
      el('td', { 'data-label': 'Kind' }, kind),
      el('td', { 'data-label': 'Last beat', class: 'beat' }, lastBeat(i)),
      el('td', { 'data-label': 'Actions', class: 'actions' },
        act(i.enabled ? 'Disable' : 'Enable', toggle), act('Weight', editWeight), act('Metadata', editMetadata),
        act('Deregister', deregister, 'danger')));
  }

  // matches reports whether every word of the filter starts one of
  // instance i's terms: its address, cluster, key=value pairs and state
  // (healthy or unhealthy, enabled or disabled, ephemeral or persistent).
  function matches(i, words) {
    const terms = [`${i.ip}:${i.port}`, i.cluster, i.healthy ? 'healthy' : 'unhealthy',
      i.enabled ? 'enabled' : 'disabled', i.ephemeral ? 'ephemeral' : 'persistent',
      ...Object.entries(i.metadata || {}).map(([k, v]) => `${k}=${v}`)].map((t) => t.toLowerCase());
    return words.every((w) => terms.some((t) => t.startsWith(w)));
  }

  function draw() {
    keepFocus(info, drawInfo);
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const hits = list.instances.filter((i) => matches(i, words));
    const sig = JSON.stringify([hits, list.instances.length, beatsSig()]);
    if (sig === rowsShown) return;
    rowsShown = sig;
    keepFocus(body, () => {
      body.replaceChildren(...hits.slice(0, MAX_ROWS).map(row));
      if (hits.length === 0) {
        body.append(el('tr', {}, el('td', { colspan: 9, class: 'empty' }, list.instances.length ? 'No instance matches.' : 'No instances.')));
      }
    });
    shown.textContent = `${hits.length} of ${list.instances.length} instances` +
      (hits.length > MAX_ROWS ? ` · showing the first ${MAX_ROWS}; narrow the filter` : '');
  }

  // ageBeats rewrites the shown beat times from the latest beat table.
  function ageBeats() {
    if (!beats) return;
    for (const t of body.querySelectorAll('time[data-key]')) {
      const at = beats.byKey.get(t.dataset.key);
      if (at !== undefined) t.textContent = ago(Date.now() + beats.skew - at) + ' ago';
    }
  }

  const target = (i) => ({ namespace: key.namespace, group: key.group, service: key.service, cluster: i.cluster, ip: i.ip, port: i.port });

  async function patch(i, change, what) {
    await request('PATCH', '/v1/instance', { json: { ...target(i), ...change } });
    announce(`${i.ip}:${i.port}: ${what}`);
  }

  function toggle(i) {
    const verb = i.enabled ? 'Disable' : 'Enable';
    return confirmAction({
      title: `${verb} ${i.ip}:${i.port}?`,
      text: i.enabled ? 'Clients stop receiving this instance; it stays registered and keeps beating.' : 'Clients receive this instance again.',
      ok: verb, danger: i.enabled,
      run: () => patch(i, { enabled: !i.enabled }, i.enabled ? 'disabled' : 'enabled'),
    });
  }

  function editWeight(i) {
    const input = el('input', { id: 'f-weight', name: 'weight', type: 'number', min: 0, max: 10000, step: 'any', value: i.weight, required: true });
    return confirmAction({
      title: `Weight of ${i.ip}:${i.port}`,
      text: 'Clients send traffic in proportion to weight (0 to 10000; 0 sends none).',
      fields: [el('label', { for: 'f-weight' }, 'Weight'), input],
      ok: 'Set weight',
      run: () => {
        const w = Number(input.value);
        if (input.value === '' || !Number.isFinite(w)) throw new Error('weight: enter a number between 0 and 10000');
        return patch(i, { weight: w }, `weight ${w}`);
      },
    });
  }

  // metadataField is a textarea of key=value lines for md, and parse
  // reads it back.
  function metadataField(md) {
    const area = el('textarea', { id: 'f-metadata', name: 'metadata', rows: 6, spellcheck: 'false' });
    area.value = Object.entries(md || {}).map(([k, v]) => `${k}=${v}`).join('\n');
    const parse = () => {
      const out = {};
      for (const [n, line] of area.value.split('\n').entries()) {
        if (!line.trim()) continue;
        const at = line.indexOf('=');
        if (at <= 0) throw new Error(`metadata line ${n + 1}: "${line}" is not key=value`);
        out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
      }
      return out;
    };
    return { fields: [el('label', { for: 'f-metadata' }, 'Metadata'), area], parse };
  }

  function editMetadata(i) {
    const f = metadataField(i.metadata);
    return confirmAction({
      title: `Metadata of ${i.ip}:${i.port}`,
      text: 'One key=value per line. The lines replace all of the instance\'s metadata.',
      fields: f.fields, ok: 'Save metadata',
      run: () => patch(i, { metadata: f.parse() }, 'metadata saved'),
    });
  }

  function editServiceMetadata() {
    const f = metadataField(detail.metadata);
    return confirmAction({
      title: `Metadata of ${key.service}`,
      text: 'One key=value per line. The lines replace all of the service\'s metadata.',
      fields: f.fields, ok: 'Save metadata',
      run: async () => {
        const md = f.parse();
        await request('PUT', '/nacos/v1/ns/service', { form: {
          namespaceId: key.namespace, groupName: key.group, serviceName: key.service, metadata: JSON.stringify(md) } });
        detail = await loadDetail();
        drawInfo();
        announce('service metadata saved');
      },
    });
  }

  function deregister(i) {
    return confirmAction({
      title: `Deregister ${i.ip}:${i.port}?`,
      text: i.ephemeral
        ? 'The instance is removed. An ephemeral instance whose client still beats registers again at its next beat: to take it out of traffic, disable it instead.'
        : 'The persistent instance is removed until it is registered again.',
      ok: 'Deregister', danger: true,
      run: async () => {
        await request('DELETE', '/v1/instance', { query: target(i) });
        announce(`${i.ip}:${i.port} deregistered`);
      },
    });
  }

  function editThreshold() {
    const input = el('input', { id: 'f-threshold', name: 'protectThreshold', type: 'number', min: 0, max: 1, step: 'any', value: detail.protectThreshold, required: true });
    return confirmAction({
      title: `Protect threshold of ${key.service}`,
      text: 'When the healthy share of the instances is at or below it, Nacos clients get every instance (0 to 1).',
      fields: [el('label', { for: 'f-threshold' }, 'Protect threshold'), input],
      ok: 'Set threshold',
      run: async () => {
        await request('PUT', '/nacos/v1/ns/service', { form: {
          namespaceId: key.namespace, groupName: key.group, serviceName: key.service, protectThreshold: input.value } });
        detail = await loadDetail();
        drawInfo();
        announce(`protect threshold ${input.value}`);
      },
    });
  }

  const loadDetail = () => get('/nacos/v1/ns/service', { namespaceId: key.namespace, groupName: key.group, serviceName: key.service }, signal)
    .catch((e) => (e.status === 404 || e.status === 400 ? null : Promise.reject(e)));

  async function loadBeats() {
    const before = Date.now();
    const b = await get('/v1/instances/beats', key, signal);
    const byKey = new Map(b.instances.map((x) => [ikey(x), x.lastBeat]));
    beats = { owner: b.owner, ownerName: b.ownerName, ownerAddr: b.ownerAddr, skew: b.now - (before + Date.now()) / 2, byKey };
  }

  if (!key.service) {
    showError(err, new Error('no service named: open one from the services page'));
    return;
  }
  watch(async (index, sig) => {
    const l = await get('/v1/instances', { ...key, index, wait: '60s' }, sig);
    [detail] = await Promise.all([loadDetail(), loadBeats()]);
    return l;
  }, (l) => {
    const changed = list.index !== undefined;
    list = l;
    showError(err, null);
    draw();
    if (changed) announce(`Instances updated: ${l.instances.length}`);
  }, (e) => showError(err, e), signal);

  // Beat times move without the index: read them again while visible, and
  // age the shown times every second without asking the node.
  (async () => {
    while (!signal.aborted) {
      await sleep(BEATS_EVERY, signal);
      if (signal.aborted || document.hidden || !beats || !beats.owner) continue;
      try {
        await loadBeats();
        ageBeats();
      } catch (e) { /* the list's watch shows errors */ }
    }
  })();
  const tick = setInterval(ageBeats, 1000);
  signal.addEventListener('abort', () => clearInterval(tick), { once: true });
}
