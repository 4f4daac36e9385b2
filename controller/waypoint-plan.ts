// What a waypoint Gateway needs in the cluster, as pure decisions (the deployer,
// controller/waypoint-deployer.ts, does the I/O):
//
//  - parseWaypointTemplate(): manifests/waypoint.yaml read into its three objects
//    (ServiceAccount, Deployment, Service), refused as a whole when it is not exactly that;
//  - checkWaypointGateway(): whether a Gateway of class ambient-waypoint can be deployed,
//    and why not (the reasons Gateway API defines for status conditions);
//  - desiredWaypointObjects(): the template rendered for one Gateway, with what the
//    controller sets whatever the template says (names, labels, owner, selectors);
//  - planWaypoint(): the actions that bring what exists to what is desired. An object of
//    the same name that the controller does not manage (no managed-by label) is left alone
//    and reported; a managed one is patched when a field the controller sets differs
//    (fields the API server or others add are not differences);
//  - orphanedWaypointObjects(): managed objects whose Gateway is gone or no longer
//    deployable, to delete (the local cluster and a real one both garbage-collect by
//    ownerReference, but a Gateway that stops being a waypoint keeps existing);
//  - gatewayClassOwner(): whether the GatewayClass ambient-waypoint is this controller's
//    (controllerName ambient.dev/waypoint). When another controller's, none of its Gateways
//    is this controller's to deploy or to write the status of (foreignClassMessage() says
//    so in the log).
import { parseAllDocuments } from 'yaml';
import { ErrorCodes, MeshError } from '../core/errors.js';
import { parseHostPort } from '../core/kube/controller-discovery.js';
import { DATAPLANE_MODE_LABEL, GATEWAY_NAME_LABEL, WAYPOINT_GATEWAY_CLASS } from './translate/objects.js';
import { hboneListener } from './translate/waypoints.js';
import type { Gateway } from './translate/input.js';

/** The GatewayClass's controllerName (Istio's is istio.io/mesh-controller for istio-waypoint). */
export const WAYPOINT_CONTROLLER_NAME = 'ambient.dev/waypoint';

/** Whose the GatewayClass ambient-waypoint is: ours, or another controller's (its controllerName). */
export type GatewayClassOwner = { ours: true } | { ours: false; controllerName: string };

/**
 * Reads a GatewayClass's spec.controllerName: ours only when it is exactly
 * WAYPOINT_CONTROLLER_NAME. Anything else, missing or malformed included, is someone
 * else's: the Gateway API makes the controllerName the one statement of who implements a
 * class, and a controller must leave alone the Gateways of a class it does not implement.
 */
export function gatewayClassOwner(gc: unknown): GatewayClassOwner {
  const spec = isRecord(gc) ? gc['spec'] : undefined;
  const name = isRecord(spec) ? spec['controllerName'] : undefined;
  if (name === WAYPOINT_CONTROLLER_NAME) return { ours: true };
  return { ours: false, controllerName: typeof name === 'string' ? name : JSON.stringify(name ?? null) };
}

/** What the deployer logs when the GatewayClass is another controller's. */
export function foreignClassMessage(controllerName: string, gateways: number): string {
  return (
    `GatewayClass ${WAYPOINT_GATEWAY_CLASS} names controller ${JSON.stringify(controllerName)}, not ${JSON.stringify(WAYPOINT_CONTROLLER_NAME)}: ` +
    `its ${gateways} Gateway${gateways === 1 ? '' : 's'} ${gateways === 1 ? 'is' : 'are'} not deployed and ${gateways === 1 ? 'its' : 'their'} status is not written by this controller, ` +
    `and the waypoint objects it deployed are removed; traffic labelled to use those waypoints is still sent to their Services (never around them) and fails until ` +
    `whoever implements the class deploys them, or the class names ${JSON.stringify(WAYPOINT_CONTROLLER_NAME)} again`
  );
}

/** Marks the objects the controller deploys for waypoints; only those are ever changed or deleted. */
export const MANAGED_BY_LABEL = 'ambient.dev/managed-by';
export const MANAGED_BY_VALUE = 'ambient-controller';
/** On the Gateway: how many waypoint pods (`ambientctl waypoint apply --replicas`). */
export const REPLICAS_ANNOTATION = 'ambient.dev/waypoint-replicas';
/** The port the waypoint container terminates HBONE on (DESIGN.md section 3). */
export const WAYPOINT_HBONE_PORT = 15008;

/** The deployer's limits (docs/configuration.md, "Waypoint deployer"). */
export const WAYPOINT_DEPLOY_DEFAULTS = {
  /** Replicas when the Gateway does not say. */
  defaultReplicas: 1,
  /** Most replicas the annotation may ask for. */
  maxReplicas: 100,
  /** Writes (create, patch, delete, status) one pass makes at most; the rest wait for the next pass. */
  maxWritesPerPass: 100,
  /** One API request is abandoned (and retried) after this long. */
  requestTimeoutMs: 10_000,
  /** First retry delay after a pass with a failed write; doubles up to retryMaxMs. */
  retryMinMs: 1_000,
  retryMaxMs: 60_000,
  /** While leading, every waypoint is compared with its objects this often, so that one changed or deleted by someone else is put back. */
  resyncMs: 60_000,
} as const;

export type WaypointDeployLimits = { -readonly [K in keyof typeof WAYPOINT_DEPLOY_DEFAULTS]: number };

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: unknown[]; uid?: string; [k: string]: unknown }; [k: string]: unknown };

export type WaypointKind = 'ServiceAccount' | 'Deployment' | 'Service';
export const WAYPOINT_KINDS: readonly WaypointKind[] = ['ServiceAccount', 'Deployment', 'Service'];
const API_VERSIONS: Record<WaypointKind, string> = { ServiceAccount: 'v1', Deployment: 'apps/v1', Service: 'v1' };

export interface WaypointTemplate {
  readonly objects: Readonly<Record<WaypointKind, Obj>>;
}

/** What a Service's name must be (Kubernetes: a DNS-1035 label; the Gateway's own name may be a longer subdomain). */
const DNS1123_LABEL = /^(?=.{1,63}$)[a-z]([-a-z0-9]*[a-z0-9])?$/;

const VARIABLE = /\$\{([A-Z_]+)\}/g;

export interface TemplateVariables {
  NAME: string;
  NAMESPACE: string;
  REPLICAS: number;
  PORT: number;
  TRUST_DOMAIN: string;
  CLUSTER_DOMAIN: string;
  CONTROLLER_ADDRESS: string;
  CONTROLLER_NAMESPACE: string;
  TOKEN_AUDIENCE: string;
}
const KNOWN_VARIABLES: ReadonlySet<string> = new Set(['NAME', 'NAMESPACE', 'REPLICAS', 'PORT', 'TRUST_DOMAIN', 'CLUSTER_DOMAIN', 'CONTROLLER_ADDRESS', 'CONTROLLER_NAMESPACE', 'TOKEN_AUDIENCE']);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function invalid(file: string, message: string): MeshError {
  return new MeshError(ErrorCodes.WAYPOINT_TEMPLATE_INVALID, `waypoint template ${file}: ${message}`);
}

function unknownVariables(v: unknown, found: Set<string>): void {
  if (typeof v === 'string') for (const m of v.matchAll(VARIABLE)) if (!KNOWN_VARIABLES.has(m[1]!)) found.add(m[1]!);
  if (Array.isArray(v)) for (const x of v) unknownVariables(x, found);
  if (isRecord(v)) for (const [k, x] of Object.entries(v)) (unknownVariables(k, found), unknownVariables(x, found));
}

/** The template's objects: exactly one ServiceAccount, one apps/v1 Deployment and one v1 Service, variables all known. */
export function parseWaypointTemplate(text: string, file = 'manifests/waypoint.yaml'): WaypointTemplate {
  const objects: Partial<Record<WaypointKind, Obj>> = {};
  for (const [i, doc] of parseAllDocuments(text).entries()) {
    if (doc.errors.length) throw invalid(file, `document ${i + 1} does not parse: ${doc.errors[0]!.message.split('\n')[0]}`);
    const v: unknown = doc.toJS();
    if (v === null || v === undefined) continue;
    if (!isRecord(v) || typeof v['kind'] !== 'string') throw invalid(file, `document ${i + 1} is not an object with a kind`);
    const kind = v['kind'] as WaypointKind;
    if (!WAYPOINT_KINDS.includes(kind)) throw invalid(file, `document ${i + 1}: kind ${JSON.stringify(v['kind'])} is not one of ${WAYPOINT_KINDS.join(', ')}`);
    if (v['apiVersion'] !== API_VERSIONS[kind]) throw invalid(file, `document ${i + 1}: a ${kind} must have apiVersion ${API_VERSIONS[kind]}, not ${JSON.stringify(v['apiVersion'])}`);
    if (objects[kind]) throw invalid(file, `more than one ${kind}`);
    if (v['metadata'] !== undefined && !isRecord(v['metadata'])) throw invalid(file, `the ${kind}'s metadata is not an object`);
    if (kind !== 'ServiceAccount' && !isRecord(v['spec'])) throw invalid(file, `the ${kind} has no spec`);
    if (kind === 'Deployment') {
      const tpl = (v['spec'] as Record<string, unknown>)['template'];
      const containers = isRecord(tpl) && isRecord(tpl['spec']) ? tpl['spec']['containers'] : undefined;
      if (!Array.isArray(containers) || containers.length === 0) throw invalid(file, 'the Deployment has no spec.template.spec.containers');
    }
    objects[kind] = { ...(v as Obj), metadata: { ...((v['metadata'] as Obj['metadata'] | undefined) ?? { name: '' }) } };
  }
  for (const k of WAYPOINT_KINDS) if (!objects[k]) throw invalid(file, `it has no ${k}`);
  const unknown = new Set<string>();
  unknownVariables(objects, unknown);
  if (unknown.size) throw invalid(file, `unknown variable${unknown.size > 1 ? 's' : ''} ${[...unknown].map((u) => `\${${u}}`).join(', ')} (known: ${[...KNOWN_VARIABLES].join(', ')})`);
  return { objects: objects as Record<WaypointKind, Obj> };
}

function substitute(v: unknown, vars: TemplateVariables): unknown {
  if (typeof v === 'string') {
    const whole = /^\$\{([A-Z_]+)\}$/.exec(v);
    if (whole) return vars[whole[1] as keyof TemplateVariables];
    return v.replace(VARIABLE, (_, name: string) => String(vars[name as keyof TemplateVariables]));
  }
  if (Array.isArray(v)) return v.map((x) => substitute(x, vars));
  if (isRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [substitute(k, vars) as string, substitute(x, vars)]));
  return v;
}

export type GatewayCheck =
  | { ok: true; replicas: number; port: number; listener: string; ignoredListeners: Array<{ name: string; message: string }> }
  | { ok: false; reason: 'ListenersNotValid' | 'InvalidParameters'; message: string; ignoredListeners: Array<{ name: string; message: string }> };

function listenerName(l: unknown, i: number): string {
  const n = isRecord(l) ? l['name'] : undefined;
  return typeof n === 'string' && n !== '' ? n : `#${i}`;
}

/**
 * Whether a waypoint Gateway can be deployed. The listener rule is translation's
 * (translate/waypoints.ts hboneListener: an HBONE listener with a port; the usual
 * `{name: mesh, port: 15008, protocol: HBONE}`), so a deployed waypoint is one traffic is
 * sent to; listeners of other protocols are reported as ignored. The replicas annotation,
 * when present, must be a whole number 0..maxReplicas.
 */
export function checkWaypointGateway(gw: Gateway, limits: Pick<WaypointDeployLimits, 'defaultReplicas' | 'maxReplicas'> = WAYPOINT_DEPLOY_DEFAULTS): GatewayCheck {
  const listeners: unknown = gw?.spec?.listeners;
  const list = Array.isArray(listeners) ? listeners : [];
  const found = hboneListener(gw);
  const name = gw?.metadata?.name ?? '';
  const ignoredListeners = list
    .map((l, i) => ({ l, i }))
    .filter(({ l }) => !found.ok || l !== found.listener)
    .map(({ l, i }) => ({
      name: listenerName(l, i),
      message: isRecord(l) && l['protocol'] === 'HBONE' ? 'a waypoint serves one HBONE listener; this one is ignored' : `protocol ${JSON.stringify(isRecord(l) ? l['protocol'] : undefined)} is not supported by a waypoint (only HBONE)`,
    }));
  if (!found.ok) return { ok: false, reason: 'ListenersNotValid', message: `not usable as a waypoint: ${found.why}`, ignoredListeners };
  if (!DNS1123_LABEL.test(name)) {
    return { ok: false, reason: 'InvalidParameters', message: `metadata.name ${JSON.stringify(name)} cannot name the waypoint's Service and Deployment: at most 63 lower-case letters, digits and '-'`, ignoredListeners };
  }
  const raw = gw.metadata?.annotations?.[REPLICAS_ANNOTATION];
  let replicas = limits.defaultReplicas;
  if (raw !== undefined) {
    const n = typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
    if (!(n >= 0 && n <= limits.maxReplicas)) {
      return { ok: false, reason: 'InvalidParameters', message: `annotation ${REPLICAS_ANNOTATION}=${JSON.stringify(raw)} is not a whole number from 0 to ${limits.maxReplicas}`, ignoredListeners };
    }
    replicas = n;
  }
  return { ok: true, replicas, port: found.port, listener: listenerName(found.listener, list.indexOf(found.listener)), ignoredListeners };
}

export interface DeploySettings {
  trustDomain: string;
  /** The cluster's DNS domain (the controller's clusterDomain): the waypoint's own Service key is built from it. */
  clusterDomain: string;
  controllerAddress: string;
  controllerNamespace: string;
  tokenAudience: string;
  /**
   * host:port of the Redis for TrafficPolicy global rate limits (the controller's
   * --waypoint-redis-address), given to every waypoint as REDIS_ADDRESS; absent: the
   * template's environment is left as it is.
   */
  redisAddress?: string;
}

/** The waypoint container's environment variable the Redis address becomes (waypoint/main.ts reads it). */
export const REDIS_ADDRESS_ENV = 'REDIS_ADDRESS';
/**
 * The controller's Redis address setting, checked as the waypoint will read it
 * (parseHostPort: host:port, port 1..65535; a DNS name is kept as written): a value every
 * waypoint would refuse at start stops the controller's start instead.
 */
export function checkRedisAddress(v: string): string {
  if (!parseHostPort(v)) throw new MeshError(ErrorCodes.WAYPOINT_REDIS_ADDRESS_INVALID, `waypoint Redis address ${JSON.stringify(v)} is not host:port (a port from 1 to 65535)`);
  return v;
}

/** The container given REDIS_ADDRESS: the one of this name, else the first. */
export const WAYPOINT_CONTAINER = 'waypoint';

/**
 * The Deployment's waypoint container with `REDIS_ADDRESS` set to `address`: an entry of
 * that name the template has (a value or a valueFrom) is replaced in place, else one is
 * appended. Set by the controller rather than through a template variable, so that a
 * waypoint without an address gets no empty REDIS_ADDRESS (the API server drops an empty
 * value, which would then look like a difference on every pass) and a custom template
 * need not know the variable.
 */
function setRedisAddress(podSpec: Record<string, unknown>, address: string): void {
  const containers = podSpec['containers'] as Array<Record<string, unknown>>;
  const c = containers.find((x) => isRecord(x) && x['name'] === WAYPOINT_CONTAINER) ?? containers[0]!;
  const env = Array.isArray(c['env']) ? [...(c['env'] as unknown[])] : [];
  const entry = { name: REDIS_ADDRESS_ENV, value: address };
  const i = env.findIndex((e) => isRecord(e) && e['name'] === REDIS_ADDRESS_ENV);
  if (i >= 0) env[i] = entry;
  else env.push(entry);
  c['env'] = env;
}

/** The Gateway as an owner: deleting it deletes what was deployed for it (garbage collection). */
export function ownerReferenceTo(gw: Gateway): { apiVersion: string; kind: string; name: string; uid: string; controller: true; blockOwnerDeletion: true } {
  return { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', name: gw.metadata!.name!, uid: gw.metadata!.uid!, controller: true, blockOwnerDeletion: true };
}

/** The three objects for a deployable Gateway (check.ok), from the template. */
export function desiredWaypointObjects(gw: Gateway, check: Extract<GatewayCheck, { ok: true }>, template: WaypointTemplate, s: DeploySettings): Record<WaypointKind, Obj> {
  const name = gw.metadata!.name!;
  const namespace = gw.metadata!.namespace!;
  const vars: TemplateVariables = {
    NAME: name,
    NAMESPACE: namespace,
    REPLICAS: check.replicas,
    PORT: check.port,
    TRUST_DOMAIN: s.trustDomain,
    CLUSTER_DOMAIN: s.clusterDomain,
    CONTROLLER_ADDRESS: s.controllerAddress,
    CONTROLLER_NAMESPACE: s.controllerNamespace,
    TOKEN_AUDIENCE: s.tokenAudience,
  };
  const owner = ownerReferenceTo(gw);
  const out = {} as Record<WaypointKind, Obj>;
  for (const kind of WAYPOINT_KINDS) {
    const o = substitute(template.objects[kind], vars) as Obj;
    o.metadata = {
      ...o.metadata,
      name,
      namespace,
      labels: { ...(isRecord(o.metadata.labels) ? o.metadata.labels : {}), [GATEWAY_NAME_LABEL]: name, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
      ownerReferences: [owner],
    };
    out[kind] = o;
  }
  const dep = out.Deployment as Obj & { spec: Record<string, any> };
  const podLabels = { [GATEWAY_NAME_LABEL]: name };
  dep.spec.selector = { matchLabels: podLabels };
  dep.spec.template.metadata = { ...(isRecord(dep.spec.template.metadata) ? dep.spec.template.metadata : {}) };
  dep.spec.template.metadata.labels = { ...(isRecord(dep.spec.template.metadata.labels) ? dep.spec.template.metadata.labels : {}), ...podLabels, [DATAPLANE_MODE_LABEL]: 'none' };
  dep.spec.template.spec.serviceAccountName = name;
  if (s.redisAddress !== undefined) setRedisAddress(dep.spec.template.spec, s.redisAddress);
  (out.Service as Obj & { spec: Record<string, unknown> }).spec.selector = podLabels;
  return out;
}

/**
 * Whether `have` already holds every field of `want`: objects by key (fields only `have`
 * has, such as the API server's defaults, are not differences), arrays element by element
 * with the same length, scalars equal. A number and its string form differ.
 */
export function covers(have: unknown, want: unknown): boolean {
  if (Array.isArray(want)) return Array.isArray(have) && have.length === want.length && want.every((w, i) => covers(have[i], w));
  if (isRecord(want)) return isRecord(have) && Object.entries(want).every(([k, w]) => covers(have[k], w));
  if (have instanceof Date && typeof want === 'string') return have.toISOString() === want;
  return have === want;
}

/** Whether an object carries the managed-by label (ours to change and delete). */
export function isManaged(o: { metadata?: { labels?: Record<string, string> | undefined } | undefined } | undefined): boolean {
  return o?.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

/** What the patch of a managed object writes: the controller's metadata fields and everything else it renders. */
function patchBody(want: Obj): Obj {
  const { name, namespace, labels, annotations, ownerReferences } = want.metadata;
  const { apiVersion, kind, metadata: _m, ...rest } = want;
  return { apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}), ...(ownerReferences ? { ownerReferences } : {}) }, ...rest } as Obj;
}

export type WaypointAction =
  | { verb: 'create'; kind: WaypointKind; namespace: string; name: string; body: Obj }
  | { verb: 'patch'; kind: WaypointKind; namespace: string; name: string; body: Obj }
  | { verb: 'delete'; kind: WaypointKind; namespace: string; name: string; uid?: string };

export interface WaypointPlan {
  actions: WaypointAction[];
  /** Objects of the waypoint's names that the controller does not manage: left alone, and the waypoint cannot be programmed. */
  conflicts: string[];
}

export type Existing = Partial<Record<WaypointKind, Obj | undefined>>;

/** Maps compared exactly (a key only the object has is a difference, removed by the patch): a
 * Service selector with one more key selects other pods, or none. */
const EXACT_MAPS: Readonly<Record<WaypointKind, ReadonlyArray<readonly string[]>>> = { ServiceAccount: [], Deployment: [], Service: [['spec', 'selector']] };

function at(o: unknown, path: readonly string[]): unknown {
  let cur = o;
  for (const p of path) cur = isRecord(cur) ? cur[p] : undefined;
  return cur;
}

/** Keys of the exact maps that `have` holds and `want` does not, set to null in a copy of `body` (a merge patch removes them). */
function removeExtraKeys(kind: WaypointKind, have: Obj, body: Obj): { body: Obj; extra: boolean } {
  let extra = false;
  const out = JSON.parse(JSON.stringify(body)) as Obj;
  for (const path of EXACT_MAPS[kind]) {
    const h = at(have, path);
    const w = at(out, path);
    if (!isRecord(h) || !isRecord(w)) continue;
    for (const k of Object.keys(h)) {
      if (!(k in w)) {
        (w as Record<string, unknown>)[k] = null;
        extra = true;
      }
    }
  }
  return { body: out, extra };
}

/** The actions that bring `existing` (objects named after the Gateway, managed or not) to `desired`; none when any object of those names is not ours. */
export function planWaypoint(desired: Record<WaypointKind, Obj>, existing: Existing): WaypointPlan {
  const actions: WaypointAction[] = [];
  const conflicts: string[] = [];
  for (const kind of WAYPOINT_KINDS) {
    const want = desired[kind];
    const have = existing[kind];
    const ref = { kind, namespace: want.metadata.namespace!, name: want.metadata.name };
    if (!have) actions.push({ verb: 'create', ...ref, body: want });
    else if (!isManaged(have)) conflicts.push(`${kind} ${ref.namespace}/${ref.name} exists and is not managed by the controller (no label ${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}); it is left alone`);
    else {
      const { body, extra } = removeExtraKeys(kind, have, patchBody(want));
      if (extra || !covers(have, patchBody(want))) actions.push({ verb: 'patch', ...ref, body });
    }
  }
  // Any conflict stops the whole Gateway: a Deployment created beside the application's own
  // ServiceAccount of that name would run the waypoint under the application's identity.
  return { actions: conflicts.length > 0 ? [] : actions, conflicts };
}

/** A managed object's Gateway: its gateway-name label in its namespace. */
export function gatewayKeyOf(o: Obj | { metadata?: { name?: string; namespace?: string; labels?: Record<string, string> } }): string | undefined {
  const gw = o.metadata?.labels?.[GATEWAY_NAME_LABEL];
  return gw && o.metadata?.namespace ? `${o.metadata.namespace}/${gw}` : undefined;
}

/**
 * The managed objects to delete: those whose Gateway (by label) is not among `deployable`
 * (`<namespace>/<name>` of the Gateways of the waypoint class that passed the check),
 * and those not named after it.
 */
export function orphanedWaypointObjects(managed: ReadonlyArray<{ kind: WaypointKind; obj: { metadata?: { name?: string; namespace?: string; uid?: string; labels?: Record<string, string> } } }>, deployable: ReadonlySet<string>): WaypointAction[] {
  const out: WaypointAction[] = [];
  for (const { kind, obj } of managed) {
    if (!isManaged(obj)) continue;
    const key = gatewayKeyOf(obj);
    const name = obj.metadata?.name ?? '';
    const namespace = obj.metadata?.namespace ?? '';
    if (key !== undefined && deployable.has(key) && key === `${namespace}/${name}`) continue;
    out.push({ verb: 'delete', kind, namespace, name, ...(obj.metadata?.uid ? { uid: obj.metadata.uid } : {}) });
  }
  return out.sort((a, b) => (`${a.namespace}/${a.name}/${a.kind}` < `${b.namespace}/${b.name}/${b.kind}` ? -1 : 1));
}

/** A Gateway this deployer handles: of the waypoint class, with a name, namespace and uid, not being deleted. */
export function isWaypointGateway(gw: Gateway | undefined): gw is Gateway {
  return gw?.spec?.gatewayClassName === WAYPOINT_GATEWAY_CLASS && !!gw.metadata?.name && !!gw.metadata?.namespace && !!gw.metadata?.uid && !gw.metadata?.deletionTimestamp;
}

export type { Json };
