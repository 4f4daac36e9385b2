// `apply -f` and `delete -f` object by object, as kubectl does: every object is tried, a
// failure is one line on stderr naming the object, its file and the server's `Status`
// message, and the command's exit code says whether any failed. Decisions (which resource
// and namespace an object goes to, how a failure reads) are pure functions below; the
// requests are the plain REST calls of core/kube/rest.ts.
import { PatchStrategy, type KubeConfig } from '@kubernetes/client-node';
import type { ApiResource } from '../core/kube/discovery.js';
import { collectionPath } from '../core/kube/informer.js';
import { kubeRequest } from '../core/kube/rest.js';
import { formatServerError, serverStatusOf } from './errors.js';
import { describeOrigin, isProblem, type Entry, type Manifest, type Obj } from './manifests.js';

/** Where one object goes: its resource, namespace (namespaced kinds) and the object's path. */
export interface Target {
  resource: ApiResource;
  namespace?: string;
  name: string;
  /** The collection (for create) and the object itself. */
  collection: string;
  path: string;
}

/**
 * The target of an object, or why it has none (kubectl's messages): a kind the server does
 * not serve, no name, or a namespace in the object other than the one given with -n.
 */
export function targetOf(obj: Obj, resources: readonly ApiResource[], explicitNamespace: string | undefined, defaultNamespace: string): Target | { error: string } {
  const resource = resources.find((r) => r.apiVersion === obj.apiVersion && r.kind === obj.kind);
  if (!resource) return { error: `no matches for kind ${JSON.stringify(obj.kind)} in version ${JSON.stringify(obj.apiVersion)}` };
  const name = obj.metadata?.name;
  if (typeof name !== 'string' || name === '') return { error: 'metadata.name not set' };
  let namespace: string | undefined;
  if (resource.namespaced) {
    const own = obj.metadata?.namespace;
    if (own && explicitNamespace && own !== explicitNamespace) {
      return { error: `the namespace from the provided object ${JSON.stringify(own)} does not match the namespace ${JSON.stringify(explicitNamespace)}. You must pass '--namespace=${own}' to perform this operation.` };
    }
    namespace = own || explicitNamespace || defaultNamespace;
  }
  const collection = collectionPath(resource, namespace);
  return { resource, namespace, name, collection, path: `${collection}/${encodeURIComponent(name)}` };
}

/** `pod/web`, `deployment.apps/web`: how kubectl names an object in its result lines. */
export function resultName(t: Pick<Target, 'resource' | 'name'>): string {
  return `${t.resource.singular}${t.resource.group ? `.${t.resource.group}` : ''}/${t.name}`;
}

/** `Pod shop/web` or `Namespace shop`: the object in a failure line. */
export function objectName(obj: Obj, t?: Pick<Target, 'namespace'>): string {
  const ns = t ? t.namespace : obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '(no name)';
  return `${obj.kind} ${ns ? `${ns}/` : ''}${name}`;
}

export type Verb = 'creating' | 'patching' | 'retrieving current configuration of' | 'deleting';

/**
 * One line for a failed object: `Error from server (Reason): error when creating Pod
 * shop/web from "b.yaml" (document 2): <the Status message>`, or `error: ...` when no server
 * answered (refused connection, timeout).
 */
export function failureLine(verb: Verb, m: Manifest, t: Target, err: unknown): string {
  const context = `error when ${verb} ${objectName(m.obj, t)} from ${describeOrigin(m.origin)}`;
  const status = serverStatusOf(err);
  if (status) return formatServerError(status, context);
  return `error: ${context}: ${(err as Error).message ?? String(err)}`;
}

export interface WriteResults {
  done: number;
  failed: number;
}

export interface Out {
  ok(line: string): void;
  fail(line: string): void;
}

const stdio: Out = {
  ok: (l) => void process.stdout.write(`${l}\n`),
  fail: (l) => void process.stderr.write(`${l}\n`),
};

const FIELD_MANAGER = 'fieldManager=ambientctl';

/**
 * Creates each object that does not exist and merge-patches each one that does, in order;
 * a document that could not be read is reported where it stands.
 */
export async function applyManifests(
  kc: KubeConfig,
  resources: readonly ApiResource[],
  entries: readonly Entry[],
  explicitNamespace: string | undefined,
  defaultNamespace: string,
  out: Out = stdio,
): Promise<WriteResults> {
  return eachTarget(entries, resources, explicitNamespace, defaultNamespace, 'apply', out, async (m, t) => {
    const body: Obj = t.namespace ? { ...m.obj, metadata: { ...m.obj.metadata, namespace: t.namespace } } : m.obj;
    let verb: Verb = 'retrieving current configuration of';
    try {
      let existing: Obj | undefined;
      try {
        existing = await kubeRequest<Obj>(kc, 'GET', t.path);
      } catch (err) {
        if (serverStatusOf(err)?.code !== 404) throw err;
      }
      if (!existing) {
        verb = 'creating';
        await kubeRequest(kc, 'POST', `${t.collection}?${FIELD_MANAGER}`, body);
        out.ok(`${resultName(t)} created`);
      } else {
        verb = 'patching';
        const after = await kubeRequest<Obj>(kc, 'PATCH', `${t.path}?${FIELD_MANAGER}`, body, PatchStrategy.MergePatch);
        const changed = after?.metadata?.resourceVersion !== existing.metadata?.resourceVersion;
        out.ok(`${resultName(t)} ${changed ? 'configured' : 'unchanged'}`);
      }
      return 'done';
    } catch (err) {
      out.fail(failureLine(verb, m, t, err));
      return 'failed';
    }
  });
}

/** Deletes each object, in order; one that does not exist is a NotFound failure unless ignoreNotFound. */
export async function deleteManifests(
  kc: KubeConfig,
  resources: readonly ApiResource[],
  entries: readonly Entry[],
  explicitNamespace: string | undefined,
  defaultNamespace: string,
  ignoreNotFound: boolean,
  out: Out = stdio,
): Promise<WriteResults> {
  return eachTarget(entries, resources, explicitNamespace, defaultNamespace, 'delete', out, async (m, t) => {
    try {
      await kubeRequest(kc, 'DELETE', t.path);
      out.ok(`${resultName(t)} deleted`);
      return 'done';
    } catch (err) {
      if (ignoreNotFound && serverStatusOf(err)?.code === 404) return 'skipped';
      out.fail(failureLine('deleting', m, t, err));
      return 'failed';
    }
  });
}

/**
 * Runs `write` for every entry that is an object with a place on the server, in order;
 * a document that did not parse or has no place is one failure line of its own, and the
 * rest still go.
 */
async function eachTarget(
  entries: readonly Entry[],
  resources: readonly ApiResource[],
  explicitNamespace: string | undefined,
  defaultNamespace: string,
  action: 'apply' | 'delete',
  out: Out,
  write: (m: Manifest, t: Target) => Promise<'done' | 'failed' | 'skipped'>,
): Promise<WriteResults> {
  const r: WriteResults = { done: 0, failed: 0 };
  for (const m of entries) {
    if (isProblem(m)) {
      out.fail(`error: ${m.message}`);
      r.failed++;
      continue;
    }
    const t = targetOf(m.obj, resources, explicitNamespace, defaultNamespace);
    if ('error' in t) {
      out.fail(`error: unable to ${action} ${objectName(m.obj)} from ${describeOrigin(m.origin)}: ${t.error}`);
      r.failed++;
      continue;
    }
    const outcome = await write(m, t);
    if (outcome === 'done') r.done++;
    else if (outcome === 'failed') r.failed++;
  }
  return r;
}
