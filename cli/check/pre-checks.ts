// `ambientctl check --pre`: can the mesh be installed on this cluster? Each check a pure
// function of the facts gather.ts collects (docs/install.md, "Troubleshooting with check").
import { fail, pass, warn, type CheckGroup, type CheckMode, type CheckReport, type CheckResult } from './report.js';
import { MESH_GROUP, meshNamespace, type AccessAnswer, type Fact, type InstallKind, type NodeFact, type ServerVersion } from './facts.js';

/**
 * The oldest Kubernetes the mesh supports: 1.30. The mesh's CRDs rely on CRD validation
 * rules (`x-kubernetes-validations`, CEL: GA in 1.29) for what their schemas cannot say, and
 * the node-agent DaemonSet sets securityContext.appArmorProfile (a field since 1.30).
 */
export const MIN_KUBERNETES = { major: 1, minor: 30 } as const;

/** The Gateway API release whose standard channel the fix installs (the version the mesh's conformance runs against). */
export const GATEWAY_API_VERSION = 'v1.6.1';
export const GATEWAY_API_INSTALL = `kubectl apply --server-side -f https://github.com/kubernetes-sigs/gateway-api/releases/download/${GATEWAY_API_VERSION}/standard-install.yaml`;
/** What the mesh needs of the Gateway API (gateway.networking.k8s.io/v1): waypoints are Gateways of a class, routes are HTTPRoutes. */
export const GATEWAY_API_RESOURCES = ['gatewayclasses', 'gateways', 'httproutes'] as const;

/** The verbs install and upgrade use on what they create (server-side apply: create, then patch). */
export const INSTALL_VERBS = ['create', 'patch'] as const;

const DOCS = 'docs/install.md';

export interface PreFacts {
  /** The API server's address and the kubeconfig user, for messages. */
  server: string;
  user: string;
  version: Fact<ServerVersion>;
  /** The resources each group-version serves (discovery), e.g. `apps/v1` → [deployments, ...]; a group-version not served is absent. */
  served: Fact<Record<string, string[]>>;
  /** What install creates, from the manifests; `served` tells which of their group-versions the API server lacks. */
  installKinds: Array<{ apiVersion: string; kind: string }>;
  access: AccessAnswer[];
  nodes: Fact<NodeFact[]>;
  /** What of the mesh is there already. */
  existing: Fact<{ namespace: boolean; controller: boolean; agents: boolean; crds: string[] }>;
}

/** `1.32` from {major: '1', minor: '32+'} (GKE and EKS append `+`); undefined when it does not parse. */
export function parseVersion(v: ServerVersion): { major: number; minor: number } | undefined {
  const major = Number.parseInt(v.major, 10);
  const minor = Number.parseInt(v.minor, 10);
  if (Number.isFinite(major) && Number.isFinite(minor)) return { major, minor };
  const m = /^v?(\d+)\.(\d+)/.exec(v.gitVersion ?? '');
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

/** The API server's address and its /version answer: what every mode needs first. */
export type Reachability = Pick<PreFacts, 'server' | 'version'>;

export function checkReachable(f: Reachability): CheckResult {
  const name = 'the API server is reachable';
  if (f.version.ok) return pass(name, f.server);
  return fail(name, `GET ${f.server}/version: ${f.version.error}`, 'check the kubeconfig (--kubeconfig, --context): its server address and credentials; kubectl cluster-info shows what it reaches');
}

export function checkVersion(f: PreFacts): CheckResult {
  const min = `${MIN_KUBERNETES.major}.${MIN_KUBERNETES.minor}`;
  const name = `the API server's version is at least ${min}`;
  if (!f.version.ok) return fail(name, `unknown: ${f.version.error}`);
  const v = parseVersion(f.version.value);
  const shown = f.version.value.gitVersion ?? `${f.version.value.major}.${f.version.value.minor}`;
  if (!v) return fail(name, `the API server's version ${JSON.stringify(shown)} does not read as MAJOR.MINOR`);
  if (v.major > MIN_KUBERNETES.major || (v.major === MIN_KUBERNETES.major && v.minor >= MIN_KUBERNETES.minor)) return pass(name, shown);
  return fail(name, `the API server is ${shown}; the mesh needs ${min} or later (CRD validation rules, the AppArmor profile field)`, `upgrade the cluster to Kubernetes ${min} or later (see: ${DOCS}#requirements)`);
}

const serves = (f: PreFacts, gv: string, resource: string): boolean => f.served.ok && (f.served.value[gv] ?? []).includes(resource);

export function checkCrdsServed(f: PreFacts): CheckResult {
  const name = 'the API server serves CustomResourceDefinitions (apiextensions.k8s.io/v1)';
  if (!f.served.ok) return fail(name, `discovery failed: ${f.served.error}`);
  if (serves(f, 'apiextensions.k8s.io/v1', 'customresourcedefinitions')) return pass(name);
  return fail(name, "apiextensions.k8s.io/v1 lists no customresourcedefinitions: the mesh's kinds (ambient.dev) cannot be created", `use a cluster whose API server serves apiextensions.k8s.io/v1 (see: ${DOCS}#requirements)`);
}

/** Every group-version of what install creates is served (a cluster without RBAC, say, cannot take the mesh). */
export function checkInstallKindsServed(f: PreFacts): CheckResult {
  const name = 'the API server serves every kind install creates';
  if (!f.served.ok) return fail(name, `discovery failed: ${f.served.error}`);
  const served = f.served.value;
  const missing = f.installKinds.filter((k) => served[k.apiVersion] === undefined).map((k) => `${k.kind} (${k.apiVersion})`);
  if (missing.length === 0) return pass(name);
  return fail(name, `not served: ${[...new Set(missing)].join(', ')}`, `use a cluster that serves these API groups (see: ${DOCS}#requirements)`);
}

const kindWithGroup = (k: InstallKind) => (k.group ? `${k.resource}.${k.group}` : k.resource);

/** `kubectl auth can-i create clusterroles.rbac.authorization.k8s.io`: the command that asks the same. */
export function canICommand(a: Pick<AccessAnswer, 'verb' | 'kind' | 'namespace'>): string {
  return `kubectl auth can-i ${a.verb} ${kindWithGroup(a.kind)}${a.namespace ? ` -n ${a.namespace}` : ''}`;
}

/** One check per kind: may the current user create (and patch) it, where install puts it? */
export function checkPermissions(f: PreFacts): CheckResult[] {
  const byKind = new Map<string, AccessAnswer[]>();
  for (const a of f.access) {
    const key = kindWithGroup(a.kind);
    byKind.set(key, [...(byKind.get(key) ?? []), a]);
  }
  return [...byKind.values()].map((answers) => {
    const k = answers[0]!.kind;
    const where = k.namespaced ? ` in ${answers[0]!.namespace ?? meshNamespace()}` : '';
    const name = `can ${answers.map((a) => a.verb).join(' and ')} ${kindWithGroup(k)}${where}`;
    const unknownOnes = answers.filter((a) => !a.answer.ok);
    if (unknownOnes.length > 0) {
      return fail(name, unknownOnes.map((a) => `SelfSubjectAccessReview for ${a.verb} ${kindWithGroup(k)} failed: ${(a.answer as { error: string }).error}`).join('\n'), `ask whether you may: ${canICommand(unknownOnes[0]!)}`);
    }
    const denied = answers.filter((a) => a.answer.ok && !a.answer.value.allowed);
    if (denied.length === 0) return pass(name);
    const why = denied.map((a) => {
      const reason = a.answer.ok ? a.answer.value.reason : undefined;
      return `user ${JSON.stringify(f.user)} may not ${a.verb} ${kindWithGroup(k)}${a.namespace ? ` in namespace ${a.namespace}` : ''}${reason ? `: ${reason}` : ''}`;
    });
    return fail(name, why.join('\n'), `install as a cluster admin, or have one grant ${denied.map((a) => a.verb).join(', ')} on ${kindWithGroup(k)} (check with: ${canICommand(denied[0]!)})`);
  });
}

export function checkGatewayApi(f: PreFacts): CheckResult {
  const name = 'the Gateway API CRDs are installed (gateway.networking.k8s.io/v1: GatewayClass, Gateway, HTTPRoute)';
  if (!f.served.ok) return fail(name, `discovery failed: ${f.served.error}`);
  const missing = GATEWAY_API_RESOURCES.filter((r) => !serves(f, 'gateway.networking.k8s.io/v1', r));
  if (missing.length === 0) return pass(name);
  return fail(name, `gateway.networking.k8s.io/v1 does not serve ${missing.join(', ')}: waypoints are Gateways and routes are HTTPRoutes`, GATEWAY_API_INSTALL);
}

export function checkNodes(f: PreFacts): CheckResult {
  const name = 'the nodes run Linux';
  if (!f.nodes.ok) return warn(name, `cannot list the nodes: ${f.nodes.error}`, `list them with a user who may: kubectl get nodes -L kubernetes.io/os`);
  const nodes = f.nodes.value;
  if (nodes.length === 0) return fail(name, 'the cluster has no nodes', 'add a Linux node');
  const other = nodes.filter((n) => n.os !== 'linux');
  if (other.length === 0) return pass(name, `${nodes.length} ${nodes.length === 1 ? 'node' : 'nodes'}`);
  const list = other.map((n) => `${n.name} (${n.os || 'unknown OS'})`).join(', ');
  if (other.length === nodes.length) return fail(name, `no Linux node: ${list}; the node agent (iptables, network namespaces) runs on Linux only`, 'add a Linux node');
  return warn(name, `not Linux: ${list}; pods there stay out of the mesh (the node agent runs on Linux only)`);
}

export function checkNotInstalled(f: PreFacts): CheckResult {
  const name = 'the mesh is not installed yet';
  if (!f.existing.ok) return warn(name, `cannot tell: ${f.existing.error}`);
  const e = f.existing.value;
  const found = [
    ...(e.namespace ? [`namespace ${meshNamespace()}`] : []),
    ...(e.controller ? [`Deployment ${meshNamespace()}/ambient-controller`] : []),
    ...(e.agents ? [`DaemonSet ${meshNamespace()}/ambient-node-agent`] : []),
    ...(e.crds.length > 0 ? [`CRDs ${e.crds.join(', ')}`] : []),
  ];
  if (found.length === 0) return pass(name);
  return warn(name, `found: ${found.join('; ')}`, 'ambientctl check (without --pre) checks the installed mesh; ambientctl upgrade changes it; ambientctl uninstall removes it');
}

/** Without the API server nothing else can be learned: said once, not once per check. */
export function unreachableReport(mode: CheckMode, f: Reachability): CheckReport {
  return { mode, groups: [{ name: 'kubernetes-api', results: [checkReachable(f)] }] };
}

export function preReport(f: PreFacts): CheckReport {
  if (!f.version.ok) return unreachableReport('pre', f);
  const api: CheckGroup = { name: 'kubernetes-api', results: [checkReachable(f)] };
  api.results.push(checkVersion(f), checkCrdsServed(f), checkInstallKindsServed(f));
  return {
    mode: 'pre',
    groups: [
      api,
      { name: 'permissions', results: checkPermissions(f) },
      { name: 'gateway-api', results: [checkGatewayApi(f)] },
      { name: 'nodes', results: [checkNodes(f)] },
      { name: `${MESH_GROUP} mesh`, results: [checkNotInstalled(f)] },
    ],
  };
}
