// Strict validation of one resource as received over the wire (DESIGN.md "Configuration
// model": a resource that fails validation is rejected alone and reported). A node agent
// or waypoint runs every received resource through `validateResource` before it touches
// its state, and NACKs the ones that fail with the message, which names the field:
//   Workload 1234: ips[1]: "10.0.0.x" is not an IP address
//
// The result is a fresh copy holding only the model's fields. Unknown fields are dropped,
// not rejected, as protobuf readers do: a controller newer than its agents (mid-upgrade)
// may add a field, and NACKing every resource for it would stop the whole mesh.
import { isIP } from 'node:net';
import { parseSpiffeId } from '../identity/spiffe.js';
import type { Endpoint, MeshService, Policy, PolicyOperation, PolicyRule, PolicySource, PolicyTargetRef, Resource, ResourceKind, ServicePort, WaypointRef, Workload } from './model.js';

export type ValidationResult = { ok: true; resource: Resource } | { ok: false; error: string };

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Keys and identifiers: printable, no whitespace (they appear in logs and dumps). */
const TOKEN = /^[\x21-\x7e]+$/;
const MAX_KEY = 512;

class Invalid extends Error {
  constructor(
    readonly path: string,
    readonly why: string,
  ) {
    super(`${path}: ${why}`);
  }
}

const show = (v: unknown): string => {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = typeof v === 'bigint' ? `${v}n` : Object.prototype.toString.call(v); // BigInt, cycles
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

type Obj = Record<string, unknown>;

function obj(path: string, v: unknown): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Invalid(path, `must be an object, got ${show(v)}`);
  return v as Obj;
}

function arr(path: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new Invalid(path, `must be an array, got ${show(v)}`);
  return v;
}

function str(path: string, v: unknown): string {
  if (typeof v !== 'string') throw new Invalid(path, `must be a string, got ${show(v)}`);
  return v;
}

function nonEmpty(path: string, v: unknown): string {
  const s = str(path, v);
  if (s === '') throw new Invalid(path, 'must not be empty');
  return s;
}

function token(path: string, v: unknown): string {
  const s = nonEmpty(path, v);
  if (s.length > MAX_KEY || !TOKEN.test(s)) throw new Invalid(path, `${show(s)} must be 1-${MAX_KEY} printable characters without spaces`);
  return s;
}

function bool(path: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new Invalid(path, `must be true or false, got ${show(v)}`);
  return v;
}

function oneOf<T extends string>(path: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new Invalid(path, `${show(v)} is not one of ${allowed.join(', ')}`);
  }
  return v as T;
}

function port(path: string, v: unknown, { allowZero = false } = {}): number {
  const min = allowZero ? 0 : 1;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 65535) {
    throw new Invalid(path, `${show(v)} is not a port number (${min}..65535)`);
  }
  return v;
}

function ip(path: string, v: unknown): string {
  // isIP accepts an IPv6 zone ("fe80::1%eth0"); a zone means nothing off the node that
  // wrote it, so it is not a pod or service address.
  if (typeof v !== 'string' || isIP(v) === 0 || v.includes('%')) throw new Invalid(path, `${show(v)} is not an IP address`);
  return v;
}

function cidrOrIp(path: string, v: unknown): string {
  const s = str(path, v);
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const family = addr.includes('%') ? 0 : isIP(addr);
  const bits = slash < 0 ? undefined : s.slice(slash + 1);
  const max = family === 6 ? 128 : 32;
  if (family === 0 || (bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > max))) {
    throw new Invalid(path, `${show(s)} is not an IP address or CIDR block`);
  }
  return s;
}

function dnsLabel(path: string, v: unknown): string {
  const s = str(path, v);
  if (s.length > 63 || !DNS1123_LABEL.test(s)) throw new Invalid(path, `${show(s)} is not a DNS-1123 label`);
  return s;
}

function dnsSubdomain(path: string, v: unknown): string {
  const s = str(path, v);
  if (s.length > 253 || !DNS1123_SUBDOMAIN.test(s)) throw new Invalid(path, `${show(s)} is not a DNS-1123 subdomain`);
  return s;
}

function stringMap(path: string, v: unknown): Record<string, string> {
  const o = obj(path, v);
  // fromEntries defines own properties, so a "__proto__" key stays a key.
  return Object.fromEntries(Object.entries(o).map(([k, val]) => [k, str(`${path}[${show(k)}]`, val)]));
}

function stringList(path: string, v: unknown): string[] {
  return arr(path, v).map((x, i) => str(`${path}[${i}]`, x));
}

function distinct<T>(path: string, items: readonly T[], keyOf: (t: T) => string, what: string): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = keyOf(item);
    const first = seen.get(k);
    if (first !== undefined) throw new Invalid(`${path}[${i}]`, `duplicate ${what} ${show(k)} (also at ${path}[${first}])`);
    seen.set(k, i);
  });
}

/** Copies the optional field when present (undefined counts as absent, as in JSON). */
function optional<T>(o: Obj, field: string, parse: (path: string, v: unknown) => T): T | undefined {
  return o[field] === undefined ? undefined : parse(field, o[field]);
}

function waypointRef(path: string, v: unknown): WaypointRef {
  const o = obj(path, v);
  const service = token(`${path}.service`, o.service);
  if (!service.includes('/')) throw new Invalid(`${path}.service`, `${show(service)} is not a Service key <namespace>/<hostname>`);
  return { service, port: port(`${path}.port`, o.port) };
}

function workload(b: Obj): Workload {
  const uid = token('uid', b.uid);
  const namespace = dnsLabel('namespace', b.namespace);
  const serviceAccount = dnsSubdomain('serviceAccount', b.serviceAccount);
  const identity = str('identity', b.identity);
  let id;
  try {
    id = parseSpiffeId(identity);
  } catch (err) {
    throw new Invalid('identity', (err as Error).message);
  }
  if (id.namespace !== namespace || id.serviceAccount !== serviceAccount) {
    throw new Invalid('identity', `${show(identity)} does not match namespace ${show(namespace)} and serviceAccount ${show(serviceAccount)}`);
  }
  const ips = arr('ips', b.ips).map((x, i) => ip(`ips[${i}]`, x));
  if (ips.length === 0) throw new Invalid('ips', 'must hold at least one address');
  distinct('ips', ips, (x) => x, 'address');
  const protocol = oneOf('protocol', b.protocol, ['HBONE', 'TCP'] as const);
  const hostNetwork = optional(b, 'hostNetwork', bool);
  if (hostNetwork && protocol === 'HBONE') throw new Invalid('protocol', 'a host-network workload is never enrolled, so it cannot be HBONE');
  const w: Workload = {
    uid,
    name: dnsSubdomain('name', b.name),
    namespace,
    serviceAccount,
    identity,
    node: dnsSubdomain('node', b.node),
    ips,
    protocol,
    labels: stringMap('labels', b.labels),
    canonicalName: nonEmpty('canonicalName', b.canonicalName),
    canonicalRevision: nonEmpty('canonicalRevision', b.canonicalRevision),
    mtlsMode: oneOf('mtlsMode', b.mtlsMode, ['STRICT', 'PERMISSIVE'] as const),
    healthy: bool('healthy', b.healthy),
  };
  if (hostNetwork !== undefined) w.hostNetwork = hostNetwork;
  const mtlsPorts = optional(b, 'mtlsPorts', (path, v) => portModes(path, v, w.mtlsMode));
  if (mtlsPorts && Object.keys(mtlsPorts).length > 0) w.mtlsPorts = mtlsPorts;
  const wp = optional(b, 'waypoint', waypointRef);
  if (wp) w.waypoint = wp;
  return w;
}

/** Workload.mtlsPorts: decimal port (1-65535, no leading zero) -> STRICT | PERMISSIVE. An
 * entry equal to the workload's mtlsMode says nothing and is left out of the copy, so that
 * two spellings of one configuration compare equal. */
function portModes(path: string, v: unknown, mode: Workload['mtlsMode']): Record<string, Workload['mtlsMode']> {
  const o = obj(path, v);
  const out: Record<string, Workload['mtlsMode']> = {};
  for (const [k, val] of Object.entries(o)) {
    const at = `${path}[${show(k)}]`;
    if (!/^[1-9][0-9]{0,4}$/.test(k) || Number(k) > 65535) throw new Invalid(at, `${show(k)} is not a port number (1-65535, decimal)`);
    const m = oneOf(at, val, ['STRICT', 'PERMISSIVE'] as const);
    if (m !== mode) out[k] = m;
  }
  return out;
}

function servicePort(path: string, v: unknown): ServicePort {
  const o = obj(path, v);
  const p: ServicePort = {
    port: port(`${path}.port`, o.port),
    targetPort: port(`${path}.targetPort`, o.targetPort, { allowZero: true }),
    protocol: oneOf(`${path}.protocol`, o.protocol, ['TCP', 'UDP'] as const),
  };
  if (o.name !== undefined) p.name = dnsLabel(`${path}.name`, o.name);
  if (o.appProtocol !== undefined) p.appProtocol = nonEmpty(`${path}.appProtocol`, o.appProtocol);
  return p;
}

function endpoint(path: string, v: unknown, namedTcpPorts: ReadonlySet<string>): Endpoint {
  const o = obj(path, v);
  const portsObj = obj(`${path}.ports`, o.ports);
  const ports = Object.fromEntries(
    Object.entries(portsObj).map(([k, val]) => {
      const at = `${path}.ports[${show(k)}]`;
      if (!namedTcpPorts.has(k)) throw new Invalid(at, 'is not a TCP service port with a named targetPort (targetPort 0)');
      return [k, port(at, val)];
    }),
  );
  return { workloadUid: token(`${path}.workloadUid`, o.workloadUid), ports, healthy: bool(`${path}.healthy`, o.healthy) };
}

function service(b: Obj): MeshService {
  const name = dnsLabel('name', b.name);
  const namespace = dnsLabel('namespace', b.namespace);
  const hostname = dnsSubdomain('hostname', b.hostname);
  const prefix = `${name}.${namespace}.svc.`;
  if (!hostname.startsWith(prefix) || hostname.length === prefix.length) {
    throw new Invalid('hostname', `${show(hostname)} is not ${prefix}<cluster domain>`);
  }
  const key = str('key', b.key);
  if (key !== `${namespace}/${hostname}`) throw new Invalid('key', `${show(key)} is not ${show(`${namespace}/${hostname}`)}`);
  const vips = arr('vips', b.vips).map((x, i) => ip(`vips[${i}]`, x));
  distinct('vips', vips, (x) => x, 'address');
  const ports = arr('ports', b.ports).map((x, i) => servicePort(`ports[${i}]`, x));
  distinct('ports', ports, (p) => `${p.port}/${p.protocol}`, 'port');
  const namedTcp = new Set(ports.filter((p) => p.targetPort === 0 && p.protocol === 'TCP').map((p) => String(p.port)));
  const endpoints = arr('endpoints', b.endpoints).map((x, i) => endpoint(`endpoints[${i}]`, x, namedTcp));
  distinct('endpoints', endpoints, (e) => e.workloadUid, 'workloadUid');
  const s: MeshService = { key, name, namespace, hostname, vips, ports, endpoints };
  const wp = optional(b, 'waypoint', waypointRef);
  if (wp) s.waypoint = wp;
  return s;
}

function optionalList<T>(o: Obj, path: string, field: string, each: (path: string, v: unknown) => T): T[] | undefined {
  if (o[field] === undefined) return undefined;
  return arr(`${path}.${field}`, o[field]).map((x, i) => each(`${path}.${field}[${i}]`, x));
}

/** Keeps only the fields that are present, so that the copy has no `undefined` members. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const SOURCE_STRING_FIELDS = ['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces', 'serviceAccounts', 'notServiceAccounts'] as const;
const SOURCE_CIDR_FIELDS = ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'] as const;
const OPERATION_STRING_FIELDS = ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;

function rule(path: string, v: unknown): PolicyRule {
  const o = obj(path, v);
  const from = arr(`${path}.from`, o.from).map((x, i): PolicySource => {
    const p = `${path}.from[${i}]`;
    const f = obj(p, x);
    const out: PolicySource = {};
    for (const k of SOURCE_STRING_FIELDS) {
      const list = optionalList(f, p, k, nonEmpty);
      if (list) out[k] = list;
    }
    for (const k of SOURCE_CIDR_FIELDS) {
      const list = optionalList(f, p, k, cidrOrIp);
      if (list) out[k] = list;
    }
    return out;
  });
  const to = arr(`${path}.to`, o.to).map((x, i): PolicyOperation => {
    const p = `${path}.to[${i}]`;
    const t = obj(p, x);
    const out: PolicyOperation = {};
    // 0..65535 as Istio's validation allows (a port 0 matches no connection).
    const ports = optionalList(t, p, 'ports', (q, n) => port(q, n, { allowZero: true }));
    if (ports) out.ports = ports;
    const notPorts = optionalList(t, p, 'notPorts', (q, n) => port(q, n, { allowZero: true }));
    if (notPorts) out.notPorts = notPorts;
    for (const k of OPERATION_STRING_FIELDS) {
      const list = optionalList(t, p, k, nonEmpty);
      if (list) out[k] = list;
    }
    return out;
  });
  const when = arr(`${path}.when`, o.when).map((x, i) => {
    const p = `${path}.when[${i}]`;
    const c = obj(p, x);
    return defined({
      key: nonEmpty(`${p}.key`, c.key),
      values: c.values === undefined ? undefined : stringList(`${p}.values`, c.values),
      notValues: c.notValues === undefined ? undefined : stringList(`${p}.notValues`, c.notValues),
    });
  });
  return { from, to, when };
}

function targetRef(path: string, v: unknown): PolicyTargetRef {
  const o = obj(path, v);
  const kind = oneOf(`${path}.kind`, o.kind, ['Service', 'Gateway'] as const);
  const group = str(`${path}.group`, o.group);
  const want = kind === 'Service' ? '' : 'gateway.networking.k8s.io';
  if (group !== want) throw new Invalid(`${path}.group`, `${show(group)} is not ${show(want)} (the group of a ${kind})`);
  return { group, kind, name: dnsSubdomain(`${path}.name`, o.name) };
}

function policy(b: Obj): Policy {
  const name = dnsSubdomain('name', b.name);
  const namespace = dnsLabel('namespace', b.namespace);
  const key = str('key', b.key);
  if (key !== `${namespace}/${name}`) throw new Invalid('key', `${show(key)} is not ${show(`${namespace}/${name}`)}`);
  const scope = oneOf('scope', b.scope, ['global', 'namespace', 'targets'] as const);
  const selector = optional(b, 'selector', stringMap);
  const targetRefs = optional(b, 'targetRefs', (p, v) => arr(p, v).map((x, i) => targetRef(`${p}[${i}]`, x)));
  if (scope === 'targets') {
    if (selector !== undefined) throw new Invalid('selector', 'must be absent when scope is targets');
    if (targetRefs === undefined || targetRefs.length === 0) throw new Invalid('targetRefs', 'is required (non-empty) when scope is targets');
  } else if (targetRefs !== undefined) {
    throw new Invalid('targetRefs', `must be absent when scope is ${scope}`);
  }
  const p: Policy = {
    key,
    name,
    namespace,
    scope,
    action: oneOf('action', b.action, ['ALLOW', 'DENY', 'AUDIT'] as const),
    rules: arr('rules', b.rules).map((x, i) => rule(`rules[${i}]`, x)),
  };
  if (selector !== undefined) p.selector = selector;
  if (targetRefs !== undefined) p.targetRefs = targetRefs;
  if (b.dryRun !== undefined && bool('dryRun', b.dryRun)) p.dryRun = true;
  if (b.rejected !== undefined) p.rejected = nonEmpty('rejected', b.rejected);
  return p;
}

const KINDS: readonly ResourceKind[] = ['Workload', 'Service', 'Policy'];

/** Validates one resource from the wire; on success returns a clean copy of it. */
export function validateResource(r: unknown): ValidationResult {
  const kind = r !== null && typeof r === 'object' ? (r as Obj).kind : undefined;
  const key = r !== null && typeof r === 'object' ? (r as Obj).key : undefined;
  const name = `${typeof kind === 'string' && KINDS.includes(kind as ResourceKind) ? kind : 'resource'} ${typeof key === 'string' && key !== '' ? key : '<no key>'}`;
  try {
    const o = obj('resource', r);
    const k = oneOf('kind', o.kind, KINDS);
    const resourceKeyValue = token('key', o.key);
    const body = obj('body', o.body);
    const parsed = k === 'Workload' ? workload(body) : k === 'Service' ? service(body) : policy(body);
    const bodyKey = k === 'Workload' ? (parsed as Workload).uid : (parsed as MeshService | Policy).key;
    if (bodyKey !== resourceKeyValue) {
      throw new Invalid('key', `${show(resourceKeyValue)} does not match the body's ${k === 'Workload' ? 'uid' : 'key'} ${show(bodyKey)}`);
    }
    return { ok: true, resource: { kind: k, key: resourceKeyValue, body: parsed } as Resource };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, error: `${name}: ${err.path}: ${err.why}` };
    throw err;
  }
}
