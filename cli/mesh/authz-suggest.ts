// `ambientctl authz suggest -n NS`: ALLOW policies that would admit exactly the traffic the
// node agents observed into NS (their /authz/edges tables): one policy per destination
// workload group (the pods of one canonical name), a selector that selects exactly those
// pods, one rule per port with the principals seen on it. Pure: edges and workloads in,
// AuthorizationPolicy objects and notes out, rendered as YAML ready for `ambientctl apply -f`.
import { Document } from 'yaml';
import type { Workload } from '../../core/config/model.js';
import type { DurationOptions } from '../../core/duration.js';
import { flagError } from '../errors.js';
import type { AgentEdges, ObservedEdge } from './types.js';

/** The longest --since: an agent's table is bounded; a longer window would only look complete. */
export const MAX_SINCE_MS = 30 * 86_400_000;

/** How `--since` is read (core/duration.ts): `30s`, `10m`, `2h`, `1h30m`, `500ms`, `1d`; more than zero, at most 30d. */
export const SINCE_DURATION: DurationOptions = { units: ['ms', 's', 'm', 'h', 'd'], trim: true, min: 1, max: MAX_SINCE_MS, error: flagError };

/** Labels that differ pod by pod, never part of a suggested selector. */
const POD_SPECIFIC_LABELS = ['pod-template-hash', 'controller-revision-hash', 'pod-template-generation', 'statefulset.kubernetes.io/pod-name', 'apps.kubernetes.io/pod-index'];

export interface SuggestedPolicy {
  apiVersion: 'ambient.dev/v1';
  kind: 'AuthorizationPolicy';
  metadata: { name: string; namespace: string };
  spec: {
    selector: { matchLabels: Record<string, string> };
    action: 'ALLOW';
    rules: Array<{ from: Array<{ source: { principals: string[] } }>; to: Array<{ operation: { ports: string[] } }> }>;
  };
}

export interface Suggestion {
  canonicalName: string;
  policy?: SuggestedPolicy;
  /** The selector selects exactly the group's pods among the namespace's workloads. */
  exact: boolean;
  /** Other workloads of the namespace the selector also selects (when not exact). */
  alsoSelects: string[];
  /** Sources seen without an identity: they cannot be allowed by principal. */
  plaintext: Array<{ source: string; port: number; connections: number }>;
  /** One sentence each, written as comments above the policy. */
  comments: string[];
}

export interface SuggestInput {
  namespace: string;
  edges: AgentEdges[];
  /** The namespace's workloads as the mesh holds them now, for the exactness check. */
  workloads: Workload[];
  sinceMs: number;
}

/** Istio's principal form: the SPIFFE id without `spiffe://`. */
export function principalOf(spiffeId: string): string {
  return spiffeId.startsWith('spiffe://') ? spiffeId.slice('spiffe://'.length) : spiffeId;
}

/** The edges into `namespace` each agent saw within `sinceMs` of its own clock, merged
 * across agents by (source, destination pod, port). */
export function recentEdges(input: Pick<SuggestInput, 'namespace' | 'edges' | 'sinceMs'>): ObservedEdge[] {
  const merged = new Map<string, ObservedEdge>();
  for (const a of input.edges) {
    const now = Date.parse(a.now);
    const cutoff = (Number.isNaN(now) ? Date.now() : now) - input.sinceMs;
    for (const e of a.edges) {
      if (e.destination.namespace !== input.namespace) continue;
      const last = Date.parse(e.lastSeen);
      if (Number.isNaN(last) || last < cutoff) continue;
      const id = JSON.stringify([e.sourcePrincipal, e.sourcePrincipal === null ? (e.sourceIp ?? '') : '', e.destination.uid, e.port]);
      const had = merged.get(id);
      if (!had) merged.set(id, { ...e });
      else {
        had.connections += e.connections;
        had.denied += e.denied;
        if (e.lastSeen > had.lastSeen) had.lastSeen = e.lastSeen;
        if (e.firstSeen < had.firstSeen) had.firstSeen = e.firstSeen;
      }
    }
  }
  return [...merged.values()];
}

/**
 * A label set that selects exactly `group` among `all` (the namespace's workloads): `app`,
 * then `app` + `version`, then every label the group's pods share (pod-specific ones left
 * out). The narrowest exact one; else the common labels, with what they select too.
 */
export function selectorFor(group: ReadonlyArray<{ uid: string; labels: Record<string, string> }>, all: readonly Workload[]): { matchLabels: Record<string, string>; exact: boolean; alsoSelects: string[] } {
  const uids = new Set(group.map((g) => g.uid));
  const common: Record<string, string> = {};
  const first = group[0]?.labels ?? {};
  for (const [k, v] of Object.entries(first)) {
    if (POD_SPECIFIC_LABELS.includes(k)) continue;
    if (group.every((g) => g.labels[k] === v)) common[k] = v;
  }
  const others = (sel: Record<string, string>) =>
    all.filter((w) => !uids.has(w.uid) && Object.entries(sel).every(([k, v]) => w.labels[k] === v)).map((w) => `${w.namespace}/${w.name}`).sort(cmp);
  const candidates: Array<Record<string, string>> = [];
  if (common['app'] !== undefined) {
    candidates.push({ app: common['app'] });
    if (common['version'] !== undefined) candidates.push({ app: common['app'], version: common['version'] });
  }
  candidates.push(sortedLabels(common));
  for (const c of candidates) {
    if (Object.keys(c).length === 0) continue;
    if (others(c).length === 0) return { matchLabels: c, exact: true, alsoSelects: [] };
  }
  const best = sortedLabels(common);
  return { matchLabels: best, exact: false, alsoSelects: Object.keys(best).length > 0 ? others(best) : [] };
}

function sortedLabels(l: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(l).sort(([a], [b]) => cmp(a, b)));
}

/** `allow-observed-<canonicalName>`, kept a valid object name. */
export function suggestedName(canonicalName: string): string {
  const base = canonicalName.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '') || 'workload';
  return `allow-observed-${base}`.slice(0, 253).replace(/[-.]+$/, '');
}

export function suggest(input: SuggestInput): Suggestion[] {
  const edges = recentEdges(input);
  const nsWorkloads = input.workloads.filter((w) => w.namespace === input.namespace);
  const groups = new Map<string, ObservedEdge[]>();
  for (const e of edges) groups.set(e.destination.canonicalName, [...(groups.get(e.destination.canonicalName) ?? []), e]);
  const out: Suggestion[] = [];
  for (const canonicalName of [...groups.keys()].sort(cmp)) {
    const group = groups.get(canonicalName)!;
    // The group's pods: those the mesh holds now, and those seen that are gone since.
    const pods = new Map<string, { uid: string; labels: Record<string, string> }>();
    for (const w of nsWorkloads) if (w.canonicalName === canonicalName) pods.set(w.uid, w);
    for (const e of group) if (!pods.has(e.destination.uid)) pods.set(e.destination.uid, { uid: e.destination.uid, labels: e.destination.labels });
    const sel = selectorFor([...pods.values()], nsWorkloads);

    const principalsByPort = new Map<number, Set<string>>();
    const plaintext: Suggestion['plaintext'] = [];
    const refused: string[] = [];
    for (const e of group) {
      // Traffic the mesh refused every time is not traffic to allow: a probe, or a source a
      // DENY policy blocks, would otherwise be written into the ALLOW policy.
      if (e.connections <= e.denied) {
        refused.push(`  ${e.sourcePrincipal === null ? (e.sourceIp ?? 'unknown address') : principalOf(e.sourcePrincipal)} -> port ${e.port} (${e.denied} refused)`);
        continue;
      }
      if (e.sourcePrincipal === null) {
        const source = e.sourceWorkload ? `${e.sourceWorkload.namespace}/${e.sourceWorkload.name}${e.sourceIp ? ` (${e.sourceIp})` : ''}` : (e.sourceIp ?? 'unknown address');
        plaintext.push({ source, port: e.port, connections: e.connections });
        continue;
      }
      const set = principalsByPort.get(e.port) ?? new Set<string>();
      set.add(principalOf(e.sourcePrincipal));
      principalsByPort.set(e.port, set);
    }
    plaintext.sort((a, b) => a.port - b.port || cmp(a.source, b.source));
    const rules = [...principalsByPort.keys()]
      .sort((a, b) => a - b)
      .map((port) => ({ from: [{ source: { principals: [...principalsByPort.get(port)!].sort(cmp) } }], to: [{ operation: { ports: [String(port)] } }] }));

    const comments: string[] = [];
    const s: Suggestion = { canonicalName, exact: sel.exact, alsoSelects: sel.alsoSelects, plaintext, comments };
    const connections = group.reduce((n, e) => n + e.connections, 0);
    comments.push(`${canonicalName}: ${connections} connection${connections === 1 ? '' : 's'} observed to ${pods.size} pod${pods.size === 1 ? '' : 's'}`);
    if (plaintext.length > 0) {
      comments.push('plaintext sources (no mesh identity) cannot be allowed by principal: once this policy is applied they will be DENIED:');
      for (const p of plaintext) comments.push(`  ${p.source} -> port ${p.port} (${p.connections} connection${p.connections === 1 ? '' : 's'})`);
    }
    if (refused.length > 0) {
      comments.push('sources whose every connection was refused are left out (they stay denied):');
      comments.push(...refused.sort(cmp));
    }
    if (Object.keys(sel.matchLabels).length === 0) {
      comments.push(`no policy suggested: the pods of ${canonicalName} share no label, so no selector can name them alone (a policy without one would apply to the whole namespace)`);
      out.push(s);
      continue;
    }
    if (rules.length === 0) {
      comments.push(`no policy suggested: only plaintext traffic was observed, and an ALLOW policy without rules would deny everything to ${canonicalName}`);
      out.push(s);
      continue;
    }
    if (!sel.exact) comments.push(`WARNING: no label set selects exactly the pods of ${canonicalName}: this selector also selects ${sel.alsoSelects.join(', ')}, which would then accept only this traffic`);
    s.policy = {
      apiVersion: 'ambient.dev/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: suggestedName(canonicalName), namespace: input.namespace },
      spec: { selector: { matchLabels: sel.matchLabels }, action: 'ALLOW', rules },
    };
    out.push(s);
  }
  return out;
}

/** Multi-document YAML: each policy with its comments above it; suggestions without a policy as comments only. */
export function renderSuggestYaml(suggestions: readonly Suggestion[], header: string): string {
  const docs: string[] = [];
  suggestions.forEach((s, i) => {
    const comment = [...(i === 0 ? [header] : []), ...s.comments].map((c) => ` ${c}`).join('\n');
    if (!s.policy) {
      docs.push(`${comment.split('\n').map((l) => `#${l}`).join('\n')}\n`);
      return;
    }
    const doc = new Document(s.policy);
    doc.commentBefore = comment;
    docs.push(doc.toString({ lineWidth: 0 }));
  });
  return docs.join('---\n');
}

/** `-o json`: a List of the policies (`ambientctl apply -f` takes it), with the notes beside. */
export function suggestList(suggestions: readonly Suggestion[]): { apiVersion: 'v1'; kind: 'List'; items: SuggestedPolicy[] } {
  return { apiVersion: 'v1', kind: 'List', items: suggestions.flatMap((s) => (s.policy ? [s.policy] : [])) };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
