// What a program asks of the Kubernetes API, read from its source (not from a list kept by
// hand): every file its entry point imports (tests excluded) is parsed with the TypeScript
// compiler, and each call that reaches the API server is turned into the RBAC attributes it
// needs (verb, API group, resource or resource/subresource). Recognized:
//
// - client-node's typed APIs (`CoreV1Api.readNamespacedSecret` -> get secrets,
//   `replaceNamespacedLease` -> update leases, `...Status` -> the status subresource), by
//   the receiver's type;
// - `CustomObjectsApi` (`patchNamespacedCustomObjectStatus({group, plural})` -> patch
//   <plural>/status), and `KubernetesObjectApi` (`create(obj)` -> create, by obj's kind);
// - `watchResource(kc, ref, opts)` (core/kube/informer.ts) -> list and watch of ref's
//   resource (by name when opts.fieldSelector is `metadata.name=...`);
// - plain REST: any call passing an HTTP method and then an API path (`kubeRequest(kc,
//   'GET', '/api/v1/namespaces/${ns}/configmaps/x')`) -> get configmaps; a call passing a
//   path with `watch=1` -> watch; a list or watch whose `fieldSelector` requires
//   `metadata.name=...` is marked byName (the name the API server authorizes it by:
//   local-cluster/apiserver/request-attributes.ts);
// - an ownerReference with blockOwnerDeletion -> update <owner plural>/finalizers (what the
//   OwnerReferencesPermissionEnforcement admission plugin asks of its writer).
//
// Strings are resolved through constants, object literals, template literals and small
// path-building functions, then through literal types (`as const`, unions). A call of a
// known kind whose resource cannot be resolved is reported as unresolved, so new code
// cannot slip past the RBAC test by being opaque to it.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { fieldSelectorName } from '../../local-cluster/apiserver/request-attributes.js';
import { Evaluator, unwrap } from './evaluator.js';

export interface KubeCall {
  verb: string;
  group: string;
  /** `pods`, or `pods/status` for a subresource. */
  resource: string;
  /**
   * A list or watch limited to one object by a `metadata.name` field selector: an RBAC
   * rule with resourceNames grants it (the API server takes the name from the selector).
   */
  byName?: true;
  /** `file:line` of the call, relative to the repository. */
  at: string;
}

export interface ScanResult {
  calls: KubeCall[];
  unresolved: Array<{ what: string; at: string }>;
  /** The files scanned (the entry point's import closure, tests excluded). */
  files: string[];
}

/** client-node's typed API classes and the API group each speaks. */
const TYPED_APIS: Readonly<Record<string, string>> = {
  CoreV1Api: '',
  AppsV1Api: 'apps',
  CoordinationV1Api: 'coordination.k8s.io',
  DiscoveryV1Api: 'discovery.k8s.io',
  AuthenticationV1Api: 'authentication.k8s.io',
  AuthorizationV1Api: 'authorization.k8s.io',
  RbacAuthorizationV1Api: 'rbac.authorization.k8s.io',
  ApiextensionsV1Api: 'apiextensions.k8s.io',
  EventsV1Api: 'events.k8s.io',
};

const TYPED_VERBS: Readonly<Record<string, string>> = { read: 'get', list: 'list', create: 'create', replace: 'update', patch: 'patch', delete: 'delete', deleteCollection: 'deletecollection' };
const CUSTOM_VERBS: Readonly<Record<string, string>> = { get: 'get', list: 'list', create: 'create', replace: 'update', patch: 'patch', delete: 'delete' };
const OBJECT_VERBS: Readonly<Record<string, string>> = { read: 'get', list: 'list', create: 'create', replace: 'update', patch: 'patch', delete: 'delete' };
const HTTP_VERBS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
/** Files whose calls are counted at their callers (the informer's list and watch are watchResource's). */
const PRIMITIVES = new Set(['core/kube/informer.ts', 'core/kube/rest.ts']);
/** Kinds whose REST name is not lower-case kind + s. */
const IRREGULAR: Readonly<Record<string, string>> = { Endpoints: 'endpoints' };

/** The REST resource of a kind: Lease -> leases, NetworkPolicy -> networkpolicies, Ingress -> ingresses. */
export function pluralOf(kind: string): string {
  if (IRREGULAR[kind]) return IRREGULAR[kind];
  const k = kind.toLowerCase();
  if (k.endsWith('y') && !/[aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`;
  if (/(s|x|ch|sh)$/.test(k)) return `${k}es`;
  return `${k}s`;
}

/** The group of an apiVersion: `apps/v1` -> apps, `v1` -> the core group ''. */
export const groupOf = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '');

/** A typed method's attributes: readNamespacedPodStatus -> get pods/status; undefined when it is not a resource call. */
export function typedMethod(method: string): { verb: string; resource: string } | undefined {
  const m = /^(read|list|create|replace|patch|deleteCollection|delete)(Namespaced)?([A-Z][A-Za-z]*?)(ForAllNamespaces)?$/.exec(method);
  if (!m) return undefined;
  let kind = m[3]!;
  let sub = '';
  for (const [suffix, s] of [['Status', 'status'], ['Scale', 'scale'], ['Ephemeralcontainers', 'ephemeralcontainers'], ['Eviction', 'eviction'], ['Binding', 'binding']] as const) {
    if (kind.endsWith(suffix) && kind !== suffix && kind !== 'Binding' && !kind.endsWith('RoleBinding')) {
      kind = kind.slice(0, -suffix.length);
      sub = s;
      break;
    }
  }
  if (kind === 'ServiceAccountToken') return { verb: TYPED_VERBS[m[1]!]!, resource: 'serviceaccounts/token' };
  return { verb: TYPED_VERBS[m[1]!]!, resource: `${pluralOf(kind)}${sub ? `/${sub}` : ''}` };
}

/** The attributes of a REST request: `GET /apis/g/v/namespaces/ns/things/name/status` -> get things/status in g; undefined for a non-resource path. */
export function restRequest(method: string, path: string): { verb: string; group: string; resource: string; byName?: true } | undefined {
  const [p, query = ''] = path.split('?');
  const segs = p!.split('/').filter(Boolean);
  let rest: string[];
  let group: string;
  if (segs[0] === 'api' && segs.length >= 3) {
    group = '';
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    group = segs[1]!;
    rest = segs.slice(3);
  } else return undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  const [plural, name, sub] = rest;
  const resource = `${plural}${sub ? `/${sub}` : ''}`;
  const watch = /(^|&)watch=(true|1)/.test(query);
  const verb =
    method === 'GET' ? (watch ? 'watch' : name !== undefined ? 'get' : 'list') : method === 'POST' ? 'create' : method === 'PUT' ? 'update' : method === 'PATCH' ? 'patch' : name !== undefined ? 'delete' : 'deletecollection';
  const byName = name === undefined && (verb === 'list' || verb === 'watch') && fieldSelectorName(new URLSearchParams(query).get('fieldSelector')) !== undefined;
  return { verb, group, resource, ...(byName ? { byName: true as const } : {}) };
}

/** The repository's source files an entry imports, transitively (relative imports, static and dynamic), tests excluded. */
export function importClosure(entry: string): string[] {
  const seen = new Set<string>();
  const todo = [resolve(entry)];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file) || file.endsWith('.test.ts') || !existsSync(file)) continue;
    seen.add(file);
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const visit = (n: ts.Node): void => {
      let spec: string | undefined;
      if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) spec = n.moduleSpecifier.text;
      if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteral(n.arguments[0])) spec = n.arguments[0].text;
      if (spec?.startsWith('.')) todo.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return [...seen].sort();
}

/** Scans programs (name -> entry file) for their Kubernetes API calls: each gets the calls of its own import closure. */
export function scanKubeCalls(entries: Readonly<Record<string, string>>, root: string): Record<string, ScanResult> {
  const closures = Object.fromEntries(Object.entries(entries).map(([name, entry]) => [name, importClosure(entry)]));
  const files = [...new Set(Object.values(closures).flat())].sort();
  // The repository's own files only (no lib, no node_modules): client-node's declarations
  // would cost most of a minute to load, and its classes are named at the call sites anyway.
  const program = ts.createProgram(files, { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, noEmit: true, noResolve: true, noLib: true, types: [] });
  const checker = program.getTypeChecker();
  const ev = new Evaluator(checker);
  const perFile = new Map<string, Pick<ScanResult, 'calls' | 'unresolved'>>();
  for (const file of files) perFile.set(file, scanFile(program, checker, ev, file, relative(root, file)));
  return Object.fromEntries(
    Object.entries(closures).map(([name, closure]) => [
      name,
      { calls: closure.flatMap((f) => perFile.get(f)!.calls), unresolved: closure.flatMap((f) => perFile.get(f)!.unresolved), files: closure.map((f) => relative(root, f)) },
    ]),
  );
}

function scanFile(program: ts.Program, checker: ts.TypeChecker, ev: Evaluator, file: string, rel: string): Pick<ScanResult, 'calls' | 'unresolved'> {
  const calls: KubeCall[] = [];
  const unresolved: ScanResult['unresolved'] = [];
  {
    if (PRIMITIVES.has(rel)) return { calls, unresolved };
    const sf = program.getSourceFile(file)!;
    const at = (n: ts.Node) => `${rel}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
    const add = (n: ts.Node, verbs: readonly string[], groups: readonly string[] | undefined, resources: readonly string[] | undefined, what: string, byName = false) => {
      if (!groups || !resources || groups.some((g) => g.includes('{}')) || resources.some((r) => r.includes('{}'))) return void unresolved.push({ what, at: at(n) });
      for (const verb of verbs) for (const group of groups) for (const resource of resources) calls.push({ verb, group, resource, at: at(n), ...(byName && (verb === 'list' || verb === 'watch') ? { byName: true as const } : {}) });
    };
    const addRecords = (n: ts.Node, verbs: readonly string[], records: Array<Record<string, string>> | undefined, attrs: (r: Record<string, string>) => [string, string], what: string, byName = false) => {
      if (!records) return void unresolved.push({ what, at: at(n) });
      for (const r of records) {
        const [group, resource] = attrs(r);
        add(n, verbs, [group], [resource], what, byName);
      }
    };
    const visit = (n: ts.Node): void => {
      if (ts.isCallExpression(n)) scanCall(n);
      if (ts.isObjectLiteralExpression(n)) scanOwnerReference(n);
      ts.forEachChild(n, visit);
    };
    const scanCall = (n: ts.CallExpression): void => {
      const callee = n.expression;
      if (ts.isPropertyAccessExpression(callee) || (ts.isIdentifier(callee) && callee.text === 'watchResource')) {
        const method = ts.isPropertyAccessExpression(callee) ? callee.name.text : 'watchResource';
        const api = ts.isPropertyAccessExpression(callee) ? apiClassOf(checker, callee.expression) : undefined;
        if (method === 'watchResource') {
          const ref = n.arguments[1];
          // By name only when every selector the options may hold names one object.
          const selectors = n.arguments[2] && ev.prop(n.arguments[2], 'fieldSelector');
          const byName = !!selectors && selectors.every((s) => fieldSelectorName(s) !== undefined);
          addRecords(n, ['list', 'watch'], ref && ev.records(ref, ['apiVersion', 'plural']), (r) => [groupOf(r['apiVersion']!), r['plural']!], 'watchResource', byName);
          return;
        }
        if (api !== undefined && api in TYPED_APIS) {
          const t = typedMethod(method);
          if (t) add(n, [t.verb], [TYPED_APIS[api]!], [t.resource], `${api}.${method}`);
          else if (/^create[A-Z]/.test(method)) add(n, ['create'], [TYPED_APIS[api]!], [pluralOf(method.slice(6))], `${api}.${method}`);
          return;
        }
        if (api === 'CustomObjectsApi') {
          const m = /^(get|list|create|replace|patch|delete)(?:Namespaced|Cluster)?CustomObject(Status|Scale)?(?:ForAllNamespaces)?$/.exec(method);
          if (!m) return;
          const arg = n.arguments[0];
          const sub = m[2] ? `/${m[2].toLowerCase()}` : '';
          addRecords(n, [CUSTOM_VERBS[m[1]!]!], arg && ev.records(arg, ['group', 'plural']), (r) => [r['group']!, `${r['plural']}${sub}`], `CustomObjectsApi.${method}`);
          return;
        }
        if (api === 'KubernetesObjectApi') {
          const verb = OBJECT_VERBS[method];
          if (!verb) return;
          const [a0, a1] = n.arguments;
          if (method === 'list') return add(n, [verb], a0 && ev.strings(a0)?.map(groupOf), a1 && ev.strings(a1)?.map(pluralOf), `KubernetesObjectApi.${method}`);
          return addRecords(n, [verb], a0 && ev.records(a0, ['apiVersion', 'kind']), (r) => [groupOf(r['apiVersion']!), pluralOf(r['kind']!)], `KubernetesObjectApi.${method}`);
        }
      }
      // Plain REST: an HTTP method, then an API path.
      // The method is written as a literal at such a call (a wrapper passing its own
      // parameter on is counted at its callers instead).
      for (let i = 0; i + 1 < n.arguments.length; i++) {
        const arg = n.arguments[i]!;
        if (!ts.isStringLiteral(arg) || !HTTP_VERBS.has(arg.text)) continue;
        const methods = [arg.text];
        const paths = ev.strings(n.arguments[i + 1]!);
        if (!paths || !paths.every((p) => p.startsWith('/api'))) continue;
        for (const method of methods) {
          for (const path of paths) {
            const r = restRequest(method, path);
            if (!r) continue;
            add(n, [r.verb], [r.group], [r.resource], `${method} ${path}`, r.byName);
          }
        }
        return;
      }
      // A watch opened on a path (`watchLines(kc, '/apis/...?watch=1', ...)`): no method given.
      for (const arg of n.arguments) {
        if (!ts.isIdentifier(arg) && !ts.isTemplateExpression(arg) && !ts.isStringLiteral(arg)) continue;
        const paths = ev.strings(arg);
        if (!paths || !paths.every((p) => p.startsWith('/api') && /[?&]watch=(true|1)(&|$)/.test(p))) continue;
        for (const path of paths) {
          const r = restRequest('GET', path);
          if (r) add(n, [r.verb], [r.group], [r.resource], `watch ${path}`, r.byName);
        }
        return;
      }
    };
    const scanOwnerReference = (n: ts.ObjectLiteralExpression): void => {
      const block = n.properties.find((p) => ts.isPropertyAssignment(p) && p.name.getText() === 'blockOwnerDeletion');
      if (!block || !ts.isPropertyAssignment(block) || block.initializer.kind !== ts.SyntaxKind.TrueKeyword) return;
      addRecords(n, ['update'], ev.records(n, ['apiVersion', 'kind']), (r) => [groupOf(r['apiVersion']!), `${pluralOf(r['kind']!)}/finalizers`], 'ownerReference with blockOwnerDeletion');
    };
    visit(sf);
  }
  return { calls, unresolved };
}

/**
 * The client-node API class an expression holds, from its declaration: a variable or field
 * initialized with `kc.makeApiClient(CoreV1Api)` or `KubernetesObjectApi.makeApiClient(kc)`,
 * or a parameter or field declared with the class as its type. (client-node's own
 * declarations are not loaded: see scanKubeCalls.)
 */
function apiClassOf(checker: ts.TypeChecker, e: ts.Expression): string | undefined {
  e = unwrap(e);
  const target = ts.isPropertyAccessExpression(e) ? e.name : e;
  let sym = checker.getSymbolAtLocation(target);
  if (sym && sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
  for (const decl of sym?.declarations ?? []) {
    const type = (decl as { type?: ts.TypeNode }).type;
    if (type && ts.isTypeReferenceNode(type)) return type.typeName.getText();
    const init = (decl as { initializer?: ts.Expression }).initializer;
    const cls = init && clientClassOf(init);
    if (cls) return cls;
  }
  // A field assigned in the constructor: `this.api = kc.makeApiClient(X)`.
  if (sym && ts.isPropertyAccessExpression(e)) {
    for (const decl of sym.declarations ?? []) {
      const cls = ts.isClassLike(decl.parent) ? findAssignment(decl.parent, sym.name) : undefined;
      if (cls) return cls;
    }
  }
  return undefined;
}

function clientClassOf(init: ts.Expression): string | undefined {
  init = unwrap(init);
  if (ts.isAwaitExpression(init)) init = unwrap(init.expression);
  if (!ts.isCallExpression(init) || !ts.isPropertyAccessExpression(init.expression) || init.expression.name.text !== 'makeApiClient') return undefined;
  const arg = init.arguments[0];
  // kc.makeApiClient(CoreV1Api), or KubernetesObjectApi.makeApiClient(kc)
  if (arg && ts.isIdentifier(arg) && /Api$/.test(arg.text)) return arg.text;
  const recv = init.expression.expression;
  return ts.isIdentifier(recv) && /Api$/.test(recv.text) ? recv.text : undefined;
}

function findAssignment(cls: ts.Node, field: string): string | undefined {
  let found: string | undefined;
  const visit = (n: ts.Node): void => {
    if (found) return;
    if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isPropertyAccessExpression(n.left) && n.left.expression.kind === ts.SyntaxKind.ThisKeyword && n.left.name.text === field) {
      found = clientClassOf(n.right);
    }
    ts.forEachChild(n, visit);
  };
  visit(cls);
  return found;
}

/** The repository root (the directory holding package.json above this file, in src or in dist). */
export function repoRoot(from: string = dirname(new URL(import.meta.url).pathname)): string {
  for (let d = from; d !== dirname(d); d = dirname(d)) if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'manifests'))) return d;
  throw new Error(`no repository root above ${from}`);
}
