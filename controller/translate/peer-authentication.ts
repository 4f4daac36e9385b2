// A workload's mTLS mode from PeerAuthentication.ambient.dev/v1 (Istio's
// security.istio.io/v1 PeerAuthentication, same fields and semantics):
//   - three levels, most specific first: a policy with a workload selector in the pod's
//     namespace, a namespace-wide one (no selector, or empty matchLabels) in the pod's
//     namespace, a mesh-wide one (no selector) in the root namespace;
//   - at each level the oldest policy wins (creationTimestamp, then name), as Istio picks
//     one among conflicting policies;
//   - UNSET (or no mtls at all) inherits from the next level; nothing set: PERMISSIVE.
//   - DISABLE is not supported in ambient mode (Istio's ztunnel has no plaintext-only
//     inbound either): it counts as PERMISSIVE and is reported.
// Left out for now: portLevelMtls (per-port modes). A policy that has it is applied with
// its top-level mode and reported, so that nobody believes a port is STRICT when it is not.
import type { MtlsMode } from '../../core/config/model.js';
import type { PeerAuthentication } from './input.js';
import { compareStrings, creationMs, isolated, objectKey, readLabels, readMeta, Rejected, type Labels, type Problems } from './objects.js';

const KIND = 'PeerAuthentication';
type Mode = MtlsMode | 'UNSET';

interface Compiled {
  name: string;
  created: number;
  /** Undefined: namespace-wide (mesh-wide in the root namespace). */
  selector?: Labels;
  mode: Mode;
}

export interface MtlsIndex {
  modeFor(namespace: string, podLabels: Labels): MtlsMode;
}

function readMode(v: unknown, path: string, report: (m: string) => void): Mode {
  if (v === undefined || v === null || v === 'UNSET') return 'UNSET';
  if (v === 'STRICT' || v === 'PERMISSIVE') return v;
  if (v === 'DISABLE') {
    report(`${path}: DISABLE is not supported in ambient mode; treated as PERMISSIVE`);
    return 'PERMISSIVE';
  }
  const upper = typeof v === 'string' ? v.toUpperCase() : '';
  const hint = ['UNSET', 'STRICT', 'PERMISSIVE', 'DISABLE'].includes(upper) ? ` (modes are upper case: did you mean ${upper}?)` : '';
  throw new Rejected(`${path}: ${JSON.stringify(v)} is not one of UNSET, STRICT, PERMISSIVE, DISABLE${hint}; the policy is ignored`);
}

function compile(pa: PeerAuthentication, report: (m: string) => void): { namespace: string; policy: Compiled } {
  const { name, namespace } = readMeta(pa.metadata);
  const spec: unknown = pa.spec ?? {};
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new Rejected('spec is not an object; the policy is ignored');
  const s = spec as NonNullable<PeerAuthentication['spec']>;
  let selector: Labels | undefined;
  if (s.selector !== undefined && s.selector !== null) {
    if (typeof s.selector !== 'object') throw new Rejected('spec.selector is not an object; the policy is ignored');
    let labels: Labels;
    try {
      labels = readLabels(s.selector.matchLabels, 'spec.selector.matchLabels');
    } catch (err) {
      throw new Rejected(`${(err as Error).message}; the policy is ignored`);
    }
    if (Object.keys(labels).length > 0) selector = labels;
  }
  const mtls: unknown = s.mtls;
  if (mtls !== undefined && mtls !== null && (typeof mtls !== 'object' || Array.isArray(mtls))) {
    throw new Rejected('spec.mtls is not an object; the policy is ignored');
  }
  const mode = readMode((mtls as { mode?: unknown } | undefined)?.mode, 'spec.mtls.mode', report);
  if (s.portLevelMtls && typeof s.portLevelMtls === 'object' && Object.keys(s.portLevelMtls).length > 0) {
    report(`spec.portLevelMtls is not supported yet and is ignored; the policy's mode ${mode} applies to every port`);
  }
  const policy: Compiled = { name, created: creationMs(pa.metadata), mode };
  if (selector) policy.selector = selector;
  return { namespace, policy };
}

const oldestFirst = (a: Compiled, b: Compiled): number => a.created - b.created || compareStrings(a.name, b.name);

function selects(selector: Labels, labels: Labels): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export function indexPeerAuthentications(policies: readonly PeerAuthentication[], rootNamespace: string, problems: Problems): MtlsIndex {
  const byNamespace = new Map<string, { wide: Compiled[]; selected: Compiled[] }>();
  for (const pa of policies) {
    const key = objectKey(pa?.metadata);
    const report = (m: string): void => problems.report(KIND, key, m);
    const compiled = isolated(problems, KIND, key, () => compile(pa, report));
    if (!compiled) continue;
    let level = byNamespace.get(compiled.namespace);
    if (!level) byNamespace.set(compiled.namespace, (level = { wide: [], selected: [] }));
    (compiled.policy.selector ? level.selected : level.wide).push(compiled.policy);
  }
  for (const level of byNamespace.values()) {
    level.wide.sort(oldestFirst);
    level.selected.sort(oldestFirst);
  }
  const mesh = byNamespace.get(rootNamespace)?.wide[0];
  return {
    modeFor(namespace, podLabels) {
      const level = byNamespace.get(namespace);
      const chain = [level?.selected.find((p) => selects(p.selector!, podLabels)), level?.wide[0], mesh];
      for (const p of chain) if (p && p.mode !== 'UNSET') return p.mode;
      return 'PERMISSIVE';
    },
  };
}
