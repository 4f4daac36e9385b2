// `ambientctl check` where the mesh is not installed (no controller Deployment, no
// node-agent DaemonSet): after `ambientctl uninstall`, nothing of the mesh must be left.
// Each kind of remnant is one check, failing with the names it found. Pure.
import { fail, pass, type CheckReport, type CheckResult } from './report.js';
import { AGENT_DAEMONSET, CONTROLLER_DEPLOYMENT, MESH_GROUP, meshNamespace, WAYPOINT_GATEWAY_CLASS, type Fact } from './facts.js';
import { listed } from './installed-checks.js';

export interface LeftoverFacts {
  /** Is the mesh's namespace there (perhaps still terminating)? */
  namespace: Fact<{ exists: boolean; terminating: boolean }>;
  /** CRDs of the mesh's group. */
  crds: Fact<string[]>;
  /** ClusterRoles and ClusterRoleBindings of the mesh (isMeshClusterObject). */
  clusterRoles: Fact<string[]>;
  clusterRoleBindings: Fact<string[]>;
  /** Node-agent pods still running (their node agents un-enrol pods and remove the CNI chain as they go). */
  agentPods: Fact<Array<{ name: string; node: string }>>;
  /** The waypoint GatewayClass the controller creates. */
  gatewayClass: Fact<boolean>;
  /** Other namespaces holding the mesh's controller Deployment (installed with another rootNamespace). */
  elsewhere: Fact<string[]>;
}

/** The mesh's cluster-scoped objects are named `ambient-...` or `ambient:...` (manifests/). */
export const isMeshClusterObject = (name: string): boolean => name.startsWith('ambient-') || name.startsWith('ambient:');

/** The mesh is installed when its controller Deployment or node-agent DaemonSet exists. */
export function isInstalled(f: { controller: Fact<unknown | null>; agents: Fact<unknown | null> }): boolean {
  return (f.controller.ok && f.controller.value !== null) || (f.agents.ok && f.agents.value !== null) || !f.controller.ok || !f.agents.ok;
}

const UNINSTALL = 'ambientctl uninstall (it removes what is left)';

function none(name: string, fact: Fact<string[]>, what: string, fix: string = UNINSTALL): CheckResult {
  if (!fact.ok) return fail(name, `cannot list ${what}: ${fact.error}`);
  return fact.value.length === 0 ? pass(name) : fail(name, `left: ${listed(fact.value)}`, fix);
}

export function checkNoNamespace(f: LeftoverFacts): CheckResult {
  const name = `no namespace ${meshNamespace()}`;
  if (!f.namespace.ok) return fail(name, `cannot read it: ${f.namespace.error}`);
  if (!f.namespace.value.exists) return pass(name);
  return fail(name, f.namespace.value.terminating ? 'it is still terminating (its objects are being deleted)' : 'it exists', f.namespace.value.terminating ? 'wait, then check again' : UNINSTALL);
}

export function checkNoAgents(f: LeftoverFacts): CheckResult {
  const name = 'no node agent runs';
  if (!f.agentPods.ok) return fail(name, `cannot list the agent pods: ${f.agentPods.error}`);
  if (f.agentPods.value.length === 0) return pass(name);
  return fail(name, `still running: ${listed(f.agentPods.value.map((p) => `${p.name} on ${p.node}`))} (each removes its CNI chain and in-pod rules as it stops)`, 'wait for them to stop, then check again');
}

export function checkNoGatewayClass(f: LeftoverFacts): CheckResult {
  const name = `no GatewayClass ${WAYPOINT_GATEWAY_CLASS}`;
  if (!f.gatewayClass.ok) return fail(name, `cannot read it: ${f.gatewayClass.error}`);
  return f.gatewayClass.value ? fail(name, 'it exists', UNINSTALL) : pass(name);
}

/** The mesh is installed, in another namespace than the one checked: its cluster-wide
 * objects are not remnants, and the fix is to check there. */
export function checkNotElsewhere(f: LeftoverFacts): CheckResult | undefined {
  if (!f.elsewhere.ok || f.elsewhere.value.length === 0) return undefined;
  const [first] = f.elsewhere.value;
  return fail(`the mesh is installed in ${meshNamespace()}`, `it is installed in the namespace ${listed(f.elsewhere.value)} instead`, `ambientctl --mesh-namespace ${first} check (or set AMBIENT_MESH_NAMESPACE=${first})`);
}

export function leftoverReport(f: LeftoverFacts): CheckReport {
  const elsewhere = checkNotElsewhere(f);
  if (elsewhere) {
    return {
      mode: 'uninstalled',
      headline: `The mesh is not installed in ${meshNamespace()}, the namespace checked: it is installed in ${listed(f.elsewhere.ok ? f.elsewhere.value : [])}.`,
      groups: [{ name: 'installation', results: [elsewhere] }],
    };
  }
  const results = [
    checkNoNamespace(f),
    none(`no ${MESH_GROUP} CRDs`, f.crds, 'CustomResourceDefinitions'),
    none('no mesh ClusterRoles', f.clusterRoles, 'ClusterRoles'),
    none('no mesh ClusterRoleBindings', f.clusterRoleBindings, 'ClusterRoleBindings'),
    checkNoGatewayClass(f),
    checkNoAgents(f),
  ];
  const left = results.some((r) => r.state !== 'pass');
  return {
    mode: 'uninstalled',
    headline: `The mesh is not installed (no Deployment ${meshNamespace()}/${CONTROLLER_DEPLOYMENT}, no DaemonSet ${meshNamespace()}/${AGENT_DAEMONSET}): ${left ? 'something of it is left' : 'nothing of it is left'}. (ambientctl check --pre: can it be installed?)`,
    groups: [{ name: 'remnants', results }],
  };
}
