// Discovery documents, derived from a server's KindRegistry (pure): /api, /apis, group and
// group-version resource lists, /version, and a minimal OpenAPI v3.
//
// kubectl needs OpenAPI for one decision: `kubectl apply`'s default --validate=strict asks
// whether the server supports the `fieldValidation` query parameter on the kind's PATCH
// operation, and without any OpenAPI it fails ("error validating data ... turn validation
// off with --validate=false"). So /openapi/v3 lists each group-version, and each
// group-version document has, per kind, a PATCH operation tagged with its
// x-kubernetes-group-version-kind that takes `fieldValidation`. kubectl then leaves
// validation to the server and sends fieldValidation=Strict, with which this server refuses
// fields a CRD-defined kind's schema does not declare. The PATCH operations deliberately do not list the
// strategic-merge-patch content type: that would make kubectl compute apply patches from
// OpenAPI schemas, which are not served; without it kubectl uses its compiled-in types
// (strategic merge patch for built-in kinds, JSON merge patch for the rest). /openapi/v2
// answers 404; kubectl asks for it when patching an existing object and, on 404, uses its
// built-in types silently.
import { createHash } from 'node:crypto';
import { apiVersionOf, type KindInfo, type KindRegistry } from './kinds.js';

export const KUBE_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0+ambient' };

export function versionInfo(): Record<string, string> {
  return {
    ...KUBE_VERSION,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2025-01-01T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'tsc',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}

export function apiVersions(serverAddress: string): unknown {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function apiGroup(group: string, versions: string[]): unknown {
  const vs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(kinds: KindRegistry): unknown {
  const groups = [...kinds.groupVersions()].filter(([g]) => g !== '').map(([g, vs]) => apiGroup(g, vs));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiGroupDoc(kinds: KindRegistry, group: string): unknown | undefined {
  const vs = kinds.groupVersions().get(group);
  if (!vs || group === '') return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...(apiGroup(group, vs) as object) };
}

function resourceEntries(k: KindInfo): unknown[] {
  const main = {
    name: k.plural,
    singularName: k.singular,
    namespaced: k.namespaced,
    kind: k.kind,
    verbs: k.verbs,
    ...(k.shortNames.length ? { shortNames: k.shortNames } : {}),
    ...(k.categories.length ? { categories: k.categories } : {}),
    storageVersionHash: createHash('sha256').update(`${apiVersionOf(k)}/${k.kind}`).digest('base64').slice(0, 11),
  };
  const sub = (name: string, kind: string, verbs: string[], gv?: { group: string; version: string }) => ({
    name: `${k.plural}/${name}`,
    singularName: '',
    namespaced: k.namespaced,
    ...(gv ?? {}),
    kind,
    verbs,
  });
  const out: unknown[] = [main];
  if (k.status) out.push(sub('status', k.kind, ['get', 'patch', 'update']));
  if (k.scale) out.push(sub('scale', 'Scale', ['get', 'patch', 'update'], { group: 'autoscaling', version: 'v1' }));
  if (k.kind === 'ServiceAccount') out.push(sub('token', 'TokenRequest', ['create'], { group: 'authentication.k8s.io', version: 'v1' }));
  if (k.kind === 'Pod') out.push(sub('binding', 'Binding', ['create']));
  return out;
}

export function apiResourceList(registry: KindRegistry, group: string, version: string): unknown | undefined {
  const kinds = registry.all().filter((k) => k.group === group && k.version === version);
  if (kinds.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: kinds.flatMap(resourceEntries),
  };
}

const gvPath = (group: string, version: string): string => (group ? `apis/${group}/${version}` : `api/${version}`);

function itemPath(k: KindInfo): string {
  const base = `/${gvPath(k.group, k.version)}`;
  return k.namespaced ? `${base}/namespaces/{namespace}/${k.plural}/{name}` : `${base}/${k.plural}/{name}`;
}

/** The OpenAPI v3 document of one group-version: PATCH operations that accept fieldValidation. */
export function openApiV3GroupVersion(registry: KindRegistry, group: string, version: string): unknown | undefined {
  const all = registry.all().filter((k) => k.group === group && k.version === version);
  if (all.length === 0) return undefined;
  const kinds = all.filter((k) => k.verbs.includes('patch'));
  const paths: Record<string, unknown> = {};
  for (const k of kinds) {
    paths[itemPath(k)] = {
      patch: {
        operationId: `patch${k.kind}`,
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group: k.group, version: k.version, kind: k.kind },
        parameters: [
          { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
        ],
        requestBody: {
          content: {
            'application/json-patch+json': { schema: { type: 'object' } },
            'application/merge-patch+json': { schema: { type: 'object' } },
          },
          required: true,
        },
        responses: { '200': { description: 'OK' } },
      },
    };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: KUBE_VERSION.gitVersion }, paths, components: { schemas: {} } };
}

function hashOf(doc: unknown): string {
  return createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase();
}

/** /openapi/v3: where each group-version's document is. */
export function openApiV3Root(registry: KindRegistry): unknown {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const [g, vs] of registry.groupVersions()) {
    for (const v of vs) {
      const p = gvPath(g, v);
      paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hashOf(openApiV3GroupVersion(registry, g, v))}` };
    }
  }
  return { paths };
}
