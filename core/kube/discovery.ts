// Resource discovery, as kubectl does it: which kinds the API server serves, under which
// group/version, plural, short names, and whether they are namespaced; and resolving what
// a user types ("po", "pods", "deploy", "httproutes.gateway.networking.k8s.io") to one.
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeRequest } from './rest.js';

export interface ApiResource {
  apiVersion: string; // "v1" or "group/version"
  group: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  verbs: string[];
}

interface ResourceList {
  groupVersion: string;
  resources: Array<{ name: string; singularName?: string; kind: string; namespaced: boolean; shortNames?: string[]; verbs?: string[] }>;
}

export async function discover(kc: KubeConfig): Promise<ApiResource[]> {
  const core = await kubeRequest<{ versions: string[] }>(kc, 'GET', '/api');
  const groups = await kubeRequest<{ groups: Array<{ name: string; preferredVersion?: { groupVersion: string }; versions: Array<{ groupVersion: string }> }> }>(kc, 'GET', '/apis');
  const gvs = [...core.versions, ...groups.groups.map((g) => g.preferredVersion?.groupVersion ?? g.versions[0]!.groupVersion)];
  const lists = await Promise.all(
    gvs.map((gv) => kubeRequest<ResourceList>(kc, 'GET', gv.includes('/') ? `/apis/${gv}` : `/api/${gv}`).catch(() => undefined)),
  );
  return lists.flatMap((l) => (l ? fromList(l) : []));
}

export function fromList(l: ResourceList): ApiResource[] {
  const group = l.groupVersion.includes('/') ? l.groupVersion.split('/')[0]! : '';
  return l.resources
    .filter((r) => !r.name.includes('/')) // subresources (pods/status) are not kinds
    .map((r) => ({
      apiVersion: l.groupVersion,
      group,
      kind: r.kind,
      plural: r.name,
      singular: r.singularName || r.kind.toLowerCase(),
      shortNames: r.shortNames ?? [],
      namespaced: r.namespaced,
      verbs: r.verbs ?? [],
    }));
}

/** Resolves a user's resource name (plural, singular, short name or kind, optionally `.group`). */
export function resolveResource(resources: readonly ApiResource[], typed: string): ApiResource | undefined {
  const lower = typed.toLowerCase();
  const dot = lower.indexOf('.');
  const name = dot < 0 ? lower : lower.slice(0, dot);
  const group = dot < 0 ? undefined : lower.slice(dot + 1);
  const matches = resources.filter(
    (r) =>
      (group === undefined || r.group === group) &&
      (r.plural === name || r.singular === name || r.kind.toLowerCase() === name || r.shortNames.includes(name)),
  );
  // Core and well-known groups first, as kubectl prefers them on a clash.
  return matches.sort((a, b) => (a.group === '' ? -1 : b.group === '' ? 1 : 0))[0];
}
