// `ambientctl authz check`: the decision (core/policy/explain/check.ts, shared with the
// controller's API) and its table text; the command fetches.
import { render, renderOne, type Column, type OutputFormat } from '../output.js';
import { headline, type CheckedPolicy, type CheckResult, type EndpointOutcome } from '../../core/policy/explain/check.js';

export * from '../../core/policy/explain/check.js';

const CONSIDERED_COLUMNS: Column<CheckedPolicy>[] = [
  { header: 'policy', value: (c) => c.policy },
  { header: 'action', value: (c) => c.action },
  { header: 'dry-run', value: (c) => (c.dryRun ? 'yes' : 'no') },
  { header: 'at', value: (c) => c.enforcedAt },
  { header: 'matched', value: (c) => (c.matched ? `rule ${c.rule ?? '?'}` : 'no') },
  { header: 'why', value: (c) => c.reasons.join('; ') || '-' },
];

const ENDPOINT_COLUMNS: Column<EndpointOutcome>[] = [
  { header: 'endpoint', value: (e) => e.workload },
  { header: 'address', value: (e) => (e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`) },
  { header: 'node', value: (e) => e.node },
  { header: 'decision', value: (e) => e.decision },
  { header: 'decided by', value: (e) => e.message },
];

function addr(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The check's answer as the user reads it (table), or its JSON/YAML. */
export function renderCheck(r: CheckResult, format: OutputFormat): string {
  if (format !== 'table') return renderOne(r, format);
  const lines: string[] = [];
  lines.push(`${r.decision}: ${headline(r)}`);
  lines.push('');
  const src = r.from.sourceIp ? ` from ${r.from.sourceIp}${r.from.sourceIpFrom ? ` (${r.from.sourceIpFrom})` : ''}` : ' (no source address)';
  lines.push(`from:         ${r.from.identity}${src}`);
  const dests = r.to.destinations.map((d) => `${d.workload} ${addr(d.ip, d.port)} on ${d.node}`);
  const what = r.to.kind === 'Service' ? `Service ${r.to.namespace}/${r.to.name} port ${r.to.port}` : `pod ${r.to.namespace}/${r.to.name} port ${r.to.port}`;
  lines.push(`to:           ${what}${r.to.kind === 'Service' ? ` -> ${dests.length === 1 ? dests[0] : `${dests.length} endpoints:`}` : ` (${dests[0]?.split(' ').slice(1).join(' ') ?? ''})`}`);
  if (r.to.kind === 'Service' && dests.length > 1) for (const d of dests) lines.push(`                ${d}`);
  if (r.http) {
    const h = Object.entries(r.http.headers ?? {}).map(([k, v]) => `${k}=${v}`);
    lines.push(`http:         ${[r.http.method, r.http.path, ...h].filter((x) => x !== undefined).join(' ')}`);
  }
  for (const s of r.enforcement) {
    const nodes = [...new Set(r.to.destinations.map((d) => d.node))].sort();
    const where = s.at === 'node-agent' && r.to.destinations.length > 1 ? `the node agent of each endpoint (${nodes.join(', ')})` : s.where;
    if (s.enforced) lines.push(`enforced at:  ${where}: ${s.decision} (${s.message})`);
    else lines.push(`not enforced: ${s.where} (waypoints do not enforce authorization yet) would ${s.decision === 'ALLOW' ? 'allow' : 'deny'}: ${s.message}`);
  }
  if (r.dryRun) lines.push(`dry run:      with the dry-run policies enforced: ${r.dryRun.decision} (${r.dryRun.message})`);
  for (const a of r.audits) lines.push(`audit:        ${a.policy} rule ${a.rule} matched (recorded)`);
  lines.push('');
  if (r.considered.length === 0) lines.push('considered:   no policy applies');
  else lines.push(`considered:\n${render(r.considered, CONSIDERED_COLUMNS, 'table').trimEnd()}`);
  if (r.endpoints) lines.push('', `endpoints (they do not all agree):\n${render(r.endpoints, ENDPOINT_COLUMNS, 'table').trimEnd()}`);
  if (r.notes.length > 0) lines.push('', ...r.notes.map((n) => `note: ${n}`));
  return `${lines.join('\n')}\n`;
}
