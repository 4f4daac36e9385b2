// Defaulting, as kube-apiserver's SetDefaults_* functions do it for the fields the mesh and
// the local cluster read, and Service address allocation. Pure: each takes an object and
// returns the defaulted copy; allocation takes what is already in use.
import { isPlainObject, type JsonObject } from './json-values.js';
import type { KObject } from './kinds.js';
import { CLUSTER_DNS_ADDRESS } from '../network/topology.js';

type Obj = JsonObject;
const obj = (parent: Obj, key: string): Obj => {
  if (!isPlainObject(parent[key])) parent[key] = {};
  return parent[key] as Obj;
};
const def = (o: Obj, key: string, value: unknown): void => {
  if (o[key] === undefined || o[key] === null) o[key] = value;
};

function defaultContainers(list: unknown): void {
  if (!Array.isArray(list)) return;
  for (const c of list) {
    if (!isPlainObject(c)) continue;
    const image = typeof c['image'] === 'string' ? c['image'] : '';
    // Kubernetes: Always for :latest or an untagged image, IfNotPresent otherwise.
    const tag = image.includes('@') ? 'digest' : /:[^/]+$/.exec(image)?.[0].slice(1);
    def(c, 'imagePullPolicy', !tag || tag === 'latest' ? 'Always' : 'IfNotPresent');
    def(c, 'terminationMessagePath', '/dev/termination-log');
    def(c, 'terminationMessagePolicy', 'File');
    def(c, 'resources', {});
    if (Array.isArray(c['ports'])) for (const p of c['ports']) if (isPlainObject(p)) def(p, 'protocol', 'TCP');
  }
}

export function defaultPodSpec(spec: Obj): void {
  def(spec, 'restartPolicy', 'Always');
  def(spec, 'dnsPolicy', 'ClusterFirst');
  def(spec, 'schedulerName', 'default-scheduler');
  def(spec, 'terminationGracePeriodSeconds', 30);
  def(spec, 'securityContext', {});
  def(spec, 'enableServiceLinks', true);
  // serviceAccount is the deprecated alias; Kubernetes keeps both in step.
  if (!spec['serviceAccountName'] && typeof spec['serviceAccount'] === 'string' && spec['serviceAccount']) spec['serviceAccountName'] = spec['serviceAccount'];
  def(spec, 'serviceAccountName', 'default');
  spec['serviceAccount'] = spec['serviceAccountName'];
  defaultContainers(spec['containers']);
  defaultContainers(spec['initContainers']);
}

type Defaulter = (o: Obj) => void;

const DEFAULTERS: Record<string, Defaulter> = {
  Namespace(o) {
    const name = (o['metadata'] as Obj | undefined)?.['name'];
    if (typeof name === 'string') obj(obj(o, 'metadata'), 'labels')['kubernetes.io/metadata.name'] = name;
    def(obj(o, 'status'), 'phase', 'Active');
  },
  Pod(o) {
    defaultPodSpec(obj(o, 'spec'));
    const status = obj(o, 'status');
    def(status, 'phase', 'Pending');
    def(status, 'qosClass', 'BestEffort');
  },
  Deployment(o) {
    const spec = obj(o, 'spec');
    def(spec, 'replicas', 1);
    def(spec, 'revisionHistoryLimit', 10);
    def(spec, 'progressDeadlineSeconds', 600);
    const strategy = obj(spec, 'strategy');
    def(strategy, 'type', 'RollingUpdate');
    if (strategy['type'] === 'RollingUpdate') {
      const ru = obj(strategy, 'rollingUpdate');
      def(ru, 'maxUnavailable', '25%');
      def(ru, 'maxSurge', '25%');
    }
    if (isPlainObject(spec['template'])) defaultPodSpec(obj(spec['template'], 'spec'));
  },
  DaemonSet(o) {
    const spec = obj(o, 'spec');
    def(spec, 'revisionHistoryLimit', 10);
    const strategy = obj(spec, 'updateStrategy');
    def(strategy, 'type', 'RollingUpdate');
    if (strategy['type'] === 'RollingUpdate') def(obj(strategy, 'rollingUpdate'), 'maxUnavailable', 1);
    if (isPlainObject(spec['template'])) defaultPodSpec(obj(spec['template'], 'spec'));
  },
  Service(o) {
    const spec = obj(o, 'spec');
    def(spec, 'type', 'ClusterIP');
    if (spec['type'] === 'ExternalName') return;
    def(spec, 'sessionAffinity', 'None');
    def(spec, 'internalTrafficPolicy', 'Cluster');
    def(spec, 'ipFamilies', ['IPv4']);
    def(spec, 'ipFamilyPolicy', 'SingleStack');
    if (Array.isArray(spec['ports'])) {
      for (const p of spec['ports']) {
        if (!isPlainObject(p)) continue;
        def(p, 'protocol', 'TCP');
        def(p, 'targetPort', p['port']);
      }
    }
  },
  Secret(o) {
    def(o, 'type', 'Opaque');
    // stringData is write-only: merged into data, base64-encoded, never stored.
    if (isPlainObject(o['stringData'])) {
      const data = obj(o, 'data');
      for (const [k, v] of Object.entries(o['stringData'])) if (typeof v === 'string') data[k] = Buffer.from(v).toString('base64');
      delete o['stringData'];
    }
  },
  EndpointSlice(o) {
    if (Array.isArray(o['ports'])) for (const p of o['ports']) if (isPlainObject(p)) def(p, 'protocol', 'TCP');
  },
};

/** The object with its kind's defaults filled in (a copy; the input is untouched). */
export function applyDefaults<T extends KObject>(kind: string, object: T): T {
  const copy = structuredClone(object) as T;
  DEFAULTERS[kind]?.(copy as Obj);
  return copy;
}

/** The Service VIP range of the local cluster and the addresses never handed out unasked. */
export const SERVICE_CIDR = { base: [10, 96, 0, 0] as const, prefix: 16 };
const RESERVED = new Set(['10.96.0.0', '10.96.0.1', CLUSTER_DNS_ADDRESS]);

function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, p) => n * 256 + Number(p), 0);
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

const CIDR_START = ipToInt(SERVICE_CIDR.base.join('.'));
const CIDR_SIZE = 2 ** (32 - SERVICE_CIDR.prefix);

export type Allocation<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * A cluster IP for a new Service: the requested one if it is in range and free, else the
 * lowest free address of 10.96.0.0/16 other than .0.0 (the network) and .0.1 (which a real
 * cluster gives the `kubernetes` Service; asking for either explicitly is allowed).
 */
export function allocateClusterIP(used: ReadonlySet<string>, requested?: string): Allocation<string> {
  if (requested) {
    const n = ipToInt(requested);
    if (n < CIDR_START || n >= CIDR_START + CIDR_SIZE) {
      return { ok: false, reason: `the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${SERVICE_CIDR.base.join('.')}/${SERVICE_CIDR.prefix}` };
    }
    if (used.has(requested)) return { ok: false, reason: `provided IP is already allocated` };
    return { ok: true, value: requested };
  }
  for (let n = CIDR_START; n < CIDR_START + CIDR_SIZE - 1; n++) {
    const ip = intToIp(n);
    if (!RESERVED.has(ip) && !used.has(ip)) return { ok: true, value: ip };
  }
  return { ok: false, reason: 'range is full' };
}

export const NODE_PORT_RANGE = { min: 30000, max: 32767 };

/** The lowest free node port, or the requested one when free. */
export function allocateNodePort(used: ReadonlySet<number>, requested?: number): Allocation<number> {
  if (requested) return used.has(requested) ? { ok: false, reason: 'provided port is already allocated' } : { ok: true, value: requested };
  for (let p = NODE_PORT_RANGE.min; p <= NODE_PORT_RANGE.max; p++) if (!used.has(p)) return { ok: true, value: p };
  return { ok: false, reason: 'range is full' };
}
