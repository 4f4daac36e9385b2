// The kinds the local API server serves: the built-in ones, one entry each in KINDS, and
// those CustomResourceDefinitions define (crd.ts turns a stored CRD into an entry; a
// KindRegistry holds both for one server). Everything else (discovery, routing, storage
// keys, field selectors, subresources, printing) is derived from the entries, so adding a
// kind is adding an entry. Names, short names, verbs and scopes are those of a real cluster
// (kube-apiserver 1.32, and Gateway API v1, whose CRDs a local cluster has as if installed),
// so `kubectl get po`, `kubectl get deploy` and client discovery behave the same.
import type { Schema } from './structural-schema.js';

/** A Kubernetes object as stored and served: JSON with the usual envelope. */
export interface KObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  [key: string]: unknown;
}

export type Verb = 'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch';

/** Field selector attributes beyond metadata.name and metadata.namespace, read from an object. */
export type FieldGetters = Record<string, (obj: KObject) => string | undefined>;

export interface KindInfo {
  group: string;
  version: string;
  kind: string;
  /** Lower-case plural as in the REST path. */
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  verbs: Verb[];
  categories: string[];
  /** Has a /status subresource: the main resource's writes leave status alone, and /status writes only status. */
  status: boolean;
  /** Has a /scale subresource (autoscaling/v1 Scale over spec.replicas). */
  scale: boolean;
  /** Defined by a CRD on a real cluster: strategic merge patch is refused there (415), so here too. */
  crd: boolean;
  /** Create-only review kinds (TokenReview, SubjectAccessReview): never stored. */
  virtual: boolean;
  fields: FieldGetters;
  /** A CRD-defined kind: the CRD's name, its version's schema (the whole object's) and printer columns. */
  definedBy?: string;
  schema?: Schema;
  printerColumns?: readonly PrinterColumn[];
}

/** A CRD version's additionalPrinterColumns entry. */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

const ALL_VERBS: Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

type Entry = Pick<KindInfo, 'group' | 'version' | 'kind' | 'plural'> & Partial<KindInfo>;

function entry(e: Entry): KindInfo {
  return {
    singular: e.kind.toLowerCase(),
    namespaced: true,
    shortNames: [],
    verbs: ALL_VERBS,
    categories: [],
    status: false,
    scale: false,
    crd: false,
    virtual: false,
    fields: {},
    ...e,
  };
}

const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));
const at = (obj: KObject, ...path: string[]): unknown => {
  let cur: unknown = obj;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
};

export const KINDS: readonly KindInfo[] = [
  entry({ group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false, shortNames: ['ns'], status: true,
    fields: { 'status.phase': (o) => str(at(o, 'status', 'phase')) } }),
  entry({ group: '', version: 'v1', kind: 'Pod', plural: 'pods', shortNames: ['po'], categories: ['all'], status: true,
    fields: {
      'spec.nodeName': (o) => str(at(o, 'spec', 'nodeName')) ?? '',
      'spec.restartPolicy': (o) => str(at(o, 'spec', 'restartPolicy')),
      'spec.schedulerName': (o) => str(at(o, 'spec', 'schedulerName')),
      'spec.serviceAccountName': (o) => str(at(o, 'spec', 'serviceAccountName')),
      'spec.hostNetwork': (o) => String(at(o, 'spec', 'hostNetwork') === true),
      'status.phase': (o) => str(at(o, 'status', 'phase')) ?? '',
      'status.podIP': (o) => str(at(o, 'status', 'podIP')) ?? '',
      'status.nominatedNodeName': (o) => str(at(o, 'status', 'nominatedNodeName')) ?? '',
    } }),
  entry({ group: '', version: 'v1', kind: 'Service', plural: 'services', shortNames: ['svc'], categories: ['all'], status: true,
    fields: { 'spec.clusterIP': (o) => str(at(o, 'spec', 'clusterIP')), 'spec.type': (o) => str(at(o, 'spec', 'type')) } }),
  entry({ group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', shortNames: ['sa'] }),
  entry({ group: '', version: 'v1', kind: 'Node', plural: 'nodes', namespaced: false, shortNames: ['no'], status: true,
    fields: { 'spec.unschedulable': (o) => String(at(o, 'spec', 'unschedulable') === true) } }),
  entry({ group: '', version: 'v1', kind: 'Secret', plural: 'secrets', fields: { type: (o) => str(at(o, 'type')) } }),
  entry({ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', shortNames: ['cm'] }),
  entry({ group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', plural: 'endpointslices',
    fields: { addressType: (o) => str(at(o, 'addressType')) } }),
  entry({ group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', shortNames: ['deploy'], categories: ['all'], status: true, scale: true }),
  entry({ group: 'apps', version: 'v1', kind: 'DaemonSet', plural: 'daemonsets', shortNames: ['ds'], categories: ['all'], status: true }),
  entry({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases' }),
  entry({ group: 'gateway.networking.k8s.io', version: 'v1', kind: 'GatewayClass', plural: 'gatewayclasses', namespaced: false, shortNames: ['gc'], categories: ['gateway-api'], status: true, crd: true }),
  entry({ group: 'gateway.networking.k8s.io', version: 'v1', kind: 'Gateway', plural: 'gateways', shortNames: ['gtw'], categories: ['gateway-api'], status: true, crd: true }),
  entry({ group: 'gateway.networking.k8s.io', version: 'v1', kind: 'HTTPRoute', plural: 'httproutes', categories: ['gateway-api'], status: true, crd: true }),
  entry({ group: 'gateway.networking.k8s.io', version: 'v1', kind: 'GRPCRoute', plural: 'grpcroutes', categories: ['gateway-api'], status: true, crd: true }),
  entry({ group: 'gateway.networking.k8s.io', version: 'v1beta1', kind: 'ReferenceGrant', plural: 'referencegrants', shortNames: ['refgrant'], categories: ['gateway-api'], crd: true }),
  entry({ group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', namespaced: false, shortNames: ['crd', 'crds'], categories: ['api-extensions'], status: true }),
  // RBAC: stored and served as on a real cluster, and enforced for ServiceAccounts (rbac.ts, authorize.ts).
  entry({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles' }),
  entry({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings' }),
  entry({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false }),
  entry({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false }),
  entry({ group: 'authentication.k8s.io', version: 'v1', kind: 'TokenReview', plural: 'tokenreviews', namespaced: false, verbs: ['create'], virtual: true }),
  entry({ group: 'authorization.k8s.io', version: 'v1', kind: 'SubjectAccessReview', plural: 'subjectaccessreviews', namespaced: false, verbs: ['create'], virtual: true }),
  entry({ group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectAccessReview', plural: 'selfsubjectaccessreviews', namespaced: false, verbs: ['create'], virtual: true }),
];

export function apiVersionOf(k: Pick<KindInfo, 'group' | 'version'>): string {
  return k.group ? `${k.group}/${k.version}` : k.version;
}

/** The storage and event key of a kind: `pods`, `deployments.apps` (the form kubectl accepts too). */
export function resourceKey(k: Pick<KindInfo, 'group' | 'plural'>): string {
  return k.group ? `${k.plural}.${k.group}` : k.plural;
}

/** A built-in kind served at /api(s)/<group>/<version>/<plural>, if any. */
export function kindByResource(group: string, version: string, plural: string): KindInfo | undefined {
  return KINDS.find((k) => k.group === group && k.version === version && k.plural === plural);
}

/** A built-in kind by apiVersion and kind. */
export function kindByApiVersionKind(apiVersion: string, kind: string): KindInfo | undefined {
  return KINDS.find((k) => apiVersionOf(k) === apiVersion && k.kind === kind);
}

export const CRD_KIND: KindInfo = kindByApiVersionKind('apiextensions.k8s.io/v1', 'CustomResourceDefinition')!;

/**
 * The kinds one API server serves: the built-in ones and those its stored CRDs define.
 * The server changes it as CRDs are committed (every write goes through the one process
 * that owns the store's prefix) and fills it from the store at start.
 */
export class KindRegistry {
  readonly #custom = new Map<string, KindInfo>();
  #all: readonly KindInfo[] = KINDS;

  constructor(private readonly builtins: readonly KindInfo[] = KINDS) {
    this.#all = builtins;
  }

  /** Every kind served, built-in first, then CRD-defined ones in the order they came. */
  all(): readonly KindInfo[] {
    return this.#all;
  }

  /** Serves `kind` for the CRD `crdName` (replacing what it defined before); undefined stops serving it. */
  setCustom(crdName: string, kind: KindInfo | undefined): void {
    if (kind) this.#custom.set(crdName, kind);
    else this.#custom.delete(crdName);
    this.#all = [...this.builtins, ...this.#custom.values()];
  }

  custom(crdName: string): KindInfo | undefined {
    return this.#custom.get(crdName);
  }

  byResource(group: string, version: string, plural: string): KindInfo | undefined {
    return this.#all.find((k) => k.group === group && k.version === version && k.plural === plural);
  }

  byApiVersionKind(apiVersion: string, kind: string): KindInfo | undefined {
    return this.#all.find((k) => apiVersionOf(k) === apiVersion && k.kind === kind);
  }

  byKey(key: string): KindInfo | undefined {
    return this.#all.find((k) => resourceKey(k) === key);
  }

  /** Kinds that are stored (every kind but the create-only reviews). */
  stored(): KindInfo[] {
    return this.#all.filter((k) => !k.virtual);
  }

  /** Group -> versions served, in registry order. */
  groupVersions(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const k of this.#all) {
      const vs = out.get(k.group) ?? [];
      if (!vs.includes(k.version)) vs.push(k.version);
      out.set(k.group, vs);
    }
    return out;
  }
}

/** Field selector attributes of an object of kind `k` (metadata.name and metadata.namespace always). */
export function fieldsOf(k: KindInfo, obj: KObject): Record<string, string> {
  const out: Record<string, string> = {
    'metadata.name': obj.metadata?.name ?? '',
    'metadata.namespace': obj.metadata?.namespace ?? '',
  };
  for (const [name, get] of Object.entries(k.fields)) {
    const v = get(obj);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** Field names a selector may use for kind `k`. */
export function selectableFields(k: KindInfo): string[] {
  return ['metadata.name', 'metadata.namespace', ...Object.keys(k.fields)];
}
