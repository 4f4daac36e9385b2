// Strict validation of one resource as received over the wire (DESIGN.md "Configuration
// model": a resource that fails validation is rejected alone and reported). A node agent
// or waypoint runs every received resource through `validateResource` before it touches
// its state, and NACKs the ones that fail with the message, which names the field:
//   Workload 1234: ips[1]: "10.0.0.x" is not an IP address
//
// The result is a fresh copy holding only the model's fields. Unknown fields are dropped,
// not rejected, as protobuf readers do: a controller newer than its agents (mid-upgrade)
// may add a field, and NACKing every resource for it would stop the whole mesh.
import { parseSpiffeId } from '../identity/spiffe.js';
import type { Endpoint, MeshService, Policy, PolicyOperation, PolicyRule, PolicySource, Resource, ResourceKind, ServicePort, WaypointRef, Workload } from './model.js';
import { validateTrafficPolicyBody } from './traffic-policy-validate.js';
import { requestAuthn } from './validate-authn.js';
import { Invalid, show, obj, arr, str, nonEmpty, token, bool, oneOf, port, ip, cidrOrIp, dnsLabel, dnsSubdomain, stringMap, stringList, distinct, optional, optionalList, defined, targetRef, type Obj } from './validate-fields.js';
import { route } from './validate-route.js';

// Where the rest lives: the field readers in ./validate-fields.ts, Route in
// ./validate-route.ts, RequestAuthn in ./validate-authn.ts.
export { ROUTE_LIMITS, HTTP_FIELD_VALUE } from './validate-route.js';


export type ValidationResult = { ok: true; resource: Resource } | { ok: false; error: string };
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

const KINDS: readonly ResourceKind[] = ['Workload', 'Service', 'Policy', 'Route', 'RequestAuthn', 'TrafficPolicy'];

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
    const parsed = k === 'Workload' ? workload(body) : k === 'Service' ? service(body) : k === 'Route' ? route(body) : k === 'RequestAuthn' ? requestAuthn(body) : k === 'TrafficPolicy' ? validateTrafficPolicyBody(body, (p, why) => {
            throw new Invalid(p, why);
          }) : policy(body);
    const bodyKey = k === 'Workload' ? (parsed as Workload).uid : (parsed as { key: string }).key;
    if (bodyKey !== resourceKeyValue) {
      throw new Invalid('key', `${show(resourceKeyValue)} does not match the body's ${k === 'Workload' ? 'uid' : 'key'} ${show(bodyKey)}`);
    }
    return { ok: true, resource: { kind: k, key: resourceKeyValue, body: parsed } as Resource };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, error: `${name}: ${err.path}: ${err.why}` };
    throw err;
  }
}