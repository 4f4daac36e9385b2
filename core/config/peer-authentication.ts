// A workload's mTLS mode, and its port-level modes, from PeerAuthentication.ambient.dev/v1
// (Istio's security.istio.io/v1 PeerAuthentication, same fields and semantics:
// https://istio.io/latest/docs/reference/config/security/peer_authentication/ and
// https://istio.io/latest/docs/concepts/security/#peer-authentication). Shared by the
// controller's translation and the node agent, which decides alone for a pod its CNI
// plugin announces before the controller's config speaks of it:
//   - three scopes, most specific first: a policy with a workload selector in the pod's
//     namespace, a namespace-wide one (no selector, or empty matchLabels) in the pod's
//     namespace, a mesh-wide one (no selector) in the root namespace. A policy with a
//     selector in the root namespace is ignored and reported, as Istio ignores it (istiod's
//     ComposePeerAuthentication: "Workload-level policy, aka the one with selector and not in
//     root namespace");
//   - at each scope the oldest policy wins (creationTimestamp, then name), as Istio picks
//     one among conflicting policies;
//   - UNSET (or no mtls at all) inherits from the next scope; nothing set: PERMISSIVE
//     ("Inherit from parent, if has one. Otherwise treated as PERMISSIVE");
//   - portLevelMtls (keyed by the workload's own port, the container port traffic arrives
//     on) takes effect only in a policy with a workload selector ("These only apply when a
//     workload selector is specified"); in a namespace-wide or mesh-wide policy it is
//     ignored and reported. A port's UNSET inherits the policy's own resolved mode (which
//     may itself be inherited), as ComposePeerAuthentication does ("Inherit from workload
//     level");
//   - DISABLE is not supported in ambient mode (Istio's ztunnel has no plaintext-only
//     inbound either): it counts as PERMISSIVE, at the top level and per port, and is
//     reported.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { MtlsMode } from './model.js';

type Labels = Readonly<Record<string, string>>;
type Mode = MtlsMode | 'UNSET';

/** PeerAuthentication.ambient.dev/v1 as read from the API (untrusted: any field may be off). */
export interface PeerAuthenticationObject {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  spec?: {
    selector?: { matchLabels?: Record<string, string> };
    mtls?: { mode?: string };
    portLevelMtls?: Record<string, { mode?: string }>;
  };
}

/** A policy that cannot be applied; the message says why (the policy is ignored). */
export class PeerAuthenticationRejected extends Error {}

/** Where a PeerAuthentication's problems are reported: its `namespace/name` key and the message. */
export type MtlsReport = (key: string, message: string) => void;

export interface MtlsIndex {
  modeFor(namespace: string, podLabels: Labels): MtlsMode;
  /** The port-level modes of the workload policy selecting the pod, resolved, keeping only
   * the ports whose mode differs from modeFor's (key: the port as a decimal string);
   * undefined when there is none (the Workload's mtlsPorts). */
  portModesFor(namespace: string, podLabels: Labels): Record<string, MtlsMode> | undefined;
}

interface Compiled {
  name: string;
  created: number;
  /** Undefined: namespace-wide (mesh-wide in the root namespace). */
  selector?: Labels;
  mode: Mode;
  /** portLevelMtls, kept only for a policy with a selector: port -> mode. */
  ports?: Map<number, Mode>;
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
  throw new PeerAuthenticationRejected(`${path}: ${JSON.stringify(v)} is not one of UNSET, STRICT, PERMISSIVE, DISABLE${hint}; the policy is ignored`);
}

/** Highest port number (a TCP port). */
const MAX_PORT = 65535;

/** spec.portLevelMtls: `{"<port>": {mode}}`; a key that is not a port, or a mode that is not
 * one of the four, rejects the policy (Istio's schema: map<uint32, MutualTLS>, port > 0). */
function readPortLevel(v: unknown, report: (m: string) => void): Map<number, Mode> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new PeerAuthenticationRejected('spec.portLevelMtls is not a map of port to {mode}; the policy is ignored');
  const out = new Map<number, Mode>();
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    const path = `spec.portLevelMtls[${JSON.stringify(k)}]`;
    const port = /^[0-9]{1,5}$/.test(k) ? Number(k) : NaN;
    if (!(port >= 1 && port <= MAX_PORT)) throw new PeerAuthenticationRejected(`${path}: ${JSON.stringify(k)} is not a port number (1-${MAX_PORT}); the policy is ignored`);
    if (val !== undefined && val !== null && (typeof val !== 'object' || Array.isArray(val))) {
      throw new PeerAuthenticationRejected(`${path} is not an object {mode}; the policy is ignored`);
    }
    if (out.has(port)) throw new PeerAuthenticationRejected(`${path}: port ${port} is given twice; the policy is ignored`);
    out.set(port, readMode((val as { mode?: unknown } | null | undefined)?.mode, `${path}.mode`, report));
  }
  return out;
}

function readLabels(v: unknown, path: string): Labels {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new PeerAuthenticationRejected(`${path} is not a map of strings`);
  const entries = Object.entries(v as Record<string, unknown>);
  for (const [k, val] of entries) {
    if (typeof val !== 'string') throw new PeerAuthenticationRejected(`${path}[${JSON.stringify(k)}] is not a string`);
  }
  return Object.fromEntries(entries) as Labels;
}

function creationMs(meta: PeerAuthenticationObject['metadata']): number {
  const t: unknown = meta?.creationTimestamp;
  const ms = t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

function compile(pa: PeerAuthenticationObject, report: (m: string) => void): { namespace: string; policy: Compiled } {
  const meta = pa?.metadata;
  if (meta === null || typeof meta !== 'object') throw new PeerAuthenticationRejected('metadata is missing');
  if (typeof meta.name !== 'string' || meta.name === '') throw new PeerAuthenticationRejected('metadata.name is missing');
  if (typeof meta.namespace !== 'string' || meta.namespace === '') throw new PeerAuthenticationRejected('metadata.namespace is missing');
  const { name, namespace } = meta;
  const spec: unknown = pa.spec ?? {};
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new PeerAuthenticationRejected('spec is not an object; the policy is ignored');
  const s = spec as NonNullable<PeerAuthenticationObject['spec']>;
  let selector: Labels | undefined;
  if (s.selector !== undefined && s.selector !== null) {
    if (typeof s.selector !== 'object') throw new PeerAuthenticationRejected('spec.selector is not an object; the policy is ignored');
    let labels: Labels;
    try {
      labels = readLabels(s.selector.matchLabels, 'spec.selector.matchLabels');
    } catch (err) {
      throw new PeerAuthenticationRejected(`${(err as Error).message}; the policy is ignored`);
    }
    if (Object.keys(labels).length > 0) selector = labels;
  }
  const mtls: unknown = s.mtls;
  if (mtls !== undefined && mtls !== null && (typeof mtls !== 'object' || Array.isArray(mtls))) {
    throw new PeerAuthenticationRejected('spec.mtls is not an object; the policy is ignored');
  }
  const mode = readMode((mtls as { mode?: unknown } | undefined)?.mode, 'spec.mtls.mode', report);
  const policy: Compiled = { name, created: creationMs(meta), mode };
  if (selector) {
    policy.selector = selector;
    const ports = readPortLevel(s.portLevelMtls, report);
    if (ports && ports.size > 0) policy.ports = ports;
  } else if (s.portLevelMtls !== undefined && s.portLevelMtls !== null && !(typeof s.portLevelMtls === 'object' && Object.keys(s.portLevelMtls).length === 0)) {
    // Not read at all: a mistake in a field that takes no effect must not cost the
    // namespace (or the mesh) its mode.
    report(
      `spec.portLevelMtls is ignored: port-level modes only take effect in a policy with a workload selector (spec.selector.matchLabels); the policy's mode ${mode} applies to every port`,
    );
  }
  return { namespace, policy };
}

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const oldestFirst = (a: Compiled, b: Compiled): number => a.created - b.created || compareStrings(a.name, b.name);

function selects(selector: Labels, labels: Labels): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function keyOf(pa: PeerAuthenticationObject): string {
  const m = pa?.metadata;
  const name = typeof m?.name === 'string' && m.name !== '' ? m.name : '<unnamed>';
  return typeof m?.namespace === 'string' && m.namespace !== '' ? `${m.namespace}/${name}` : name;
}

/**
 * The mode index over a set of PeerAuthentications. A policy that cannot be read is
 * reported (as `report(key, message)`) and ignored alone.
 */
export function indexPeerAuthentications(policies: readonly PeerAuthenticationObject[], rootNamespace: string, report: MtlsReport): MtlsIndex {
  const byNamespace = new Map<string, { wide: Compiled[]; selected: Compiled[] }>();
  for (const pa of policies) {
    const key = keyOf(pa);
    let compiled: { namespace: string; policy: Compiled };
    try {
      compiled = compile(pa, (m) => report(key, m));
    } catch (err) {
      const message = err instanceof PeerAuthenticationRejected ? err.message : `internal error while translating: ${(err as Error)?.message ?? String(err)}`;
      report(key, message);
      continue;
    }
    if (compiled.namespace === rootNamespace && compiled.policy.selector) {
      report(key, `a policy with a workload selector in the root namespace ${rootNamespace} is ignored, as Istio ignores it; put it in the workload's namespace, or remove the selector to make it mesh-wide`);
      continue;
    }
    let level = byNamespace.get(compiled.namespace);
    if (!level) byNamespace.set(compiled.namespace, (level = { wide: [], selected: [] }));
    (compiled.policy.selector ? level.selected : level.wide).push(compiled.policy);
  }
  for (const level of byNamespace.values()) {
    level.wide.sort(oldestFirst);
    level.selected.sort(oldestFirst);
  }
  const mesh = byNamespace.get(rootNamespace)?.wide[0];
  /** The workload policy selecting the pod (oldest first) and the pod's resolved mode. */
  const resolve = (namespace: string, podLabels: Labels): { workload?: Compiled; mode: MtlsMode } => {
    const level = byNamespace.get(namespace);
    const workload = level?.selected.find((p) => selects(p.selector!, podLabels));
    const chain = [workload, level?.wide[0], mesh];
    for (const p of chain) if (p && p.mode !== 'UNSET') return { workload, mode: p.mode };
    return { workload, mode: 'PERMISSIVE' };
  };
  return {
    modeFor(namespace, podLabels) {
      return resolve(namespace, podLabels).mode;
    },
    portModesFor(namespace, podLabels) {
      const { workload, mode } = resolve(namespace, podLabels);
      if (!workload?.ports) return undefined;
      const out: Record<string, MtlsMode> = {};
      for (const port of [...workload.ports.keys()].sort((a, b) => a - b)) {
        const m = workload.ports.get(port)!;
        const resolved = m === 'UNSET' ? mode : m;
        if (resolved !== mode) out[String(port)] = resolved;
      }
      return Object.keys(out).length > 0 ? out : undefined;
    },
  };
}

/** When the policies could not be read (the API failed, the agent has no access): the
 * mode is not known, and the mesh fails closed (DESIGN.md section 9). */
export const UNKNOWN_MTLS_MODE: MtlsMode = 'STRICT';
