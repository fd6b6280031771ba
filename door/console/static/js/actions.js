// The service page's actions. Each opens the confirmation dialog and, on
// Confirm, sends one change to the node; a refusal stays in the dialog.
// page is the ServicePage (service.js): its key, detail and reload.

import { request } from './api.js';
import { el, announce, confirmAction } from './ui.js';

const target = (page, i) => ({ ...page.key, cluster: i.cluster, ip: i.ip, port: i.port });

async function patch(page, i, change, what) {
  await request('PATCH', '/v1/instance', { json: { ...target(page, i), ...change } });
  announce(`${i.ip}:${i.port}: ${what}`);
}

export function toggle(page, i) {
  const verb = i.enabled ? 'Disable' : 'Enable';
  return confirmAction({
    title: `${verb} ${i.ip}:${i.port}?`,
    text: i.enabled ? 'Clients stop receiving this instance; it stays registered and keeps beating.' : 'Clients receive this instance again.',
    ok: verb, danger: i.enabled,
    run: () => patch(page, i, { enabled: !i.enabled }, i.enabled ? 'disabled' : 'enabled'),
  });
}

export function editWeight(page, i) {
  const input = el('input', { id: 'f-weight', name: 'weight', type: 'number', min: 0, max: 10000, step: 'any', value: i.weight, required: true });
  return confirmAction({
    title: `Weight of ${i.ip}:${i.port}`,
    text: 'Clients send traffic in proportion to weight (0 to 10000; 0 sends none).',
    fields: [el('label', { for: 'f-weight' }, 'Weight'), input],
    ok: 'Set weight',
    run: () => {
      const w = Number(input.value);
      if (input.value === '' || !Number.isFinite(w)) throw new Error('weight: enter a number between 0 and 10000');
      return patch(page, i, { weight: w }, `weight ${w}`);
    },
  });
}

// metadataField is a textarea of key=value lines for md, and parse reads
// it back.
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

export function editMetadata(page, i) {
  const f = metadataField(i.metadata);
  return confirmAction({
    title: `Metadata of ${i.ip}:${i.port}`,
    text: 'One key=value per line. The lines replace all of the instance\'s metadata.',
    fields: f.fields, ok: 'Save metadata',
    run: () => patch(page, i, { metadata: f.parse() }, 'metadata saved'),
  });
}

export function deregister(page, i) {
  return confirmAction({
    title: `Deregister ${i.ip}:${i.port}?`,
    text: i.ephemeral
      ? 'The instance is removed. An ephemeral instance whose client still beats registers again at its next beat: to take it out of traffic, disable it instead.'
      : 'The persistent instance is removed until it is registered again.',
    ok: 'Deregister', danger: true,
    run: async () => {
      await request('DELETE', '/v1/instance', { query: target(page, i) });
      announce(`${i.ip}:${i.port} deregistered`);
    },
  });
}

// updateService sends PUT /nacos/v1/ns/service with fields and shows the
// service as changed.
async function updateService(page, fields, what) {
  const k = page.key;
  await request('PUT', '/nacos/v1/ns/service', { form: {
    namespaceId: k.namespace, groupName: k.group, serviceName: k.service, ...fields } });
  page.detail = await page.loadDetail();
  page.drawInfo();
  announce(what);
}

export function editServiceMetadata(page) {
  const f = metadataField(page.detail.metadata);
  return confirmAction({
    title: `Metadata of ${page.key.service}`,
    text: 'One key=value per line. The lines replace all of the service\'s metadata.',
    fields: f.fields, ok: 'Save metadata',
    run: () => updateService(page, { metadata: JSON.stringify(f.parse()) }, 'service metadata saved'),
  });
}

export function editThreshold(page) {
  const input = el('input', { id: 'f-threshold', name: 'protectThreshold', type: 'number', min: 0, max: 1, step: 'any',
    value: page.detail.protectThreshold, required: true });
  return confirmAction({
    title: `Protect threshold of ${page.key.service}`,
    text: 'When the healthy share of the instances is at or below it, Nacos clients get every instance (0 to 1).',
    fields: [el('label', { for: 'f-threshold' }, 'Protect threshold'), input],
    ok: 'Set threshold',
    run: () => updateService(page, { protectThreshold: input.value }, `protect threshold ${input.value}`),
  });
}
