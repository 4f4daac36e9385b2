// `ambientctl check`: is the installed mesh healthy? The CRDs, the controller, the node
// agents and their CNI plugin, the certificates, the agents' config versions. Each check a
// pure function of the facts gather.ts collects (docs/install.md, "Troubleshooting with check").
import type { Certificates, MeshStatus } from '../../console/api-types.js';
import { expiryRows, type ExpiryRow } from '../../core/identity/cert-expiry.js';
import { agentVersionProblem } from '../mesh/status-view.js';
import { timeLeft } from '../mesh/view-format.js';
import { fail, pass, warn, type CheckGroup, type CheckReport, type CheckResult } from './report.js';
import { crdEstablished, daemonSetReadiness, deploymentReadiness, podProblem, type Readiness } from '../install/readiness.js';
import { AGENT_DAEMONSET, CONTROLLER_DEPLOYMENT, MESH_GROUP, meshNamespace, nodeOs, type Fact, type KubeObject } from './facts.js';

/** A root or the signing CA with less left than this warns: replacing a root takes a trust-bundle rollout. */
export const CA_WARN_DAYS = 30;
/** How many items a reason lists before "and N more". */
export const MAX_LISTED = 5;

const DAY_MS = 86_400_000;
const pods = () => `ambientctl get pods -n ${meshNamespace()}`;

/** The objects as the API server returns them; null: no such Deployment / DaemonSet. */
export interface InstalledFacts {
  /** The CRDs install creates (`plural.group`), from the rendered manifests. */
  expectedCrds: string[];
  /** The CRDs of the mesh's group. */
  crds: Fact<KubeObject[]>;
  controller: Fact<KubeObject | null>;
  controllerPods: Fact<KubeObject[]>;
  agents: Fact<KubeObject | null>;
  agentPods: Fact<KubeObject[]>;
  nodes: Fact<KubeObject[]>;
  status: Fact<MeshStatus>;
  certificates: Fact<Certificates>;
  /** ms since the epoch. */
  now: number;
}

export function listed(items: string[]): string {
  return items.length <= MAX_LISTED ? items.join(', ') : `${items.slice(0, MAX_LISTED).join(', ')} and ${items.length - MAX_LISTED} more`;
}

export function checkCrdsPresent(f: InstalledFacts): CheckResult {
  const name = `the ${MESH_GROUP} CRDs are installed`;
  if (!f.crds.ok) return fail(name, `cannot list CustomResourceDefinitions: ${f.crds.error}`);
  const have = new Set(f.crds.value.map((c) => c.metadata?.name as string));
  const missing = f.expectedCrds.filter((n) => !have.has(n));
  if (missing.length === 0) return pass(name, `${f.expectedCrds.length} CRDs`);
  return fail(name, `missing: ${listed(missing)}`, 'ambientctl install (it applies them again; nothing else changes)');
}

export function checkCrdsEstablished(f: InstalledFacts): CheckResult {
  const name = `the ${MESH_GROUP} CRDs are Established (their kinds are served)`;
  if (!f.crds.ok) return fail(name, `cannot list CustomResourceDefinitions: ${f.crds.error}`);
  const expected = new Set(f.expectedCrds);
  const not = f.crds.value.filter((c) => expected.has(c.metadata?.name) && !crdEstablished(c));
  if (not.length === 0) return pass(name);
  const message = (c: KubeObject): string | undefined => (c.status?.conditions ?? []).find((x: KubeObject) => x.type === 'Established')?.message;
  return fail(name, `not Established: ${listed(not.map((c) => `${c.metadata?.name}${message(c) ? ` (${message(c)})` : ''}`))}`, 'kubectl get crd NAME -o yaml shows the conditions (a NamesAccepted=False names the conflicting CRD)');
}

export function checkControllerExists(f: InstalledFacts): CheckResult {
  const name = `the controller Deployment ${meshNamespace()}/${CONTROLLER_DEPLOYMENT} exists`;
  if (!f.controller.ok) return fail(name, `cannot read it: ${f.controller.error}`);
  if (f.controller.value === null) return fail(name, 'not found', 'ambientctl install');
  return pass(name);
}

/** A readiness (cli/install/readiness.ts, the rules install waits on) as a check. */
function readinessResult(name: string, r: Readiness, fix: string): CheckResult {
  return r.ready ? pass(name, r.summary) : fail(name, [r.summary, ...r.problems].join('\n'), fix);
}

/** The pods, or none with the reason they are unknown said in the problems. */
const podsOr = (pods: Fact<KubeObject[]>): KubeObject[] => (pods.ok ? pods.value : []);

export function checkControllerReady(f: InstalledFacts): CheckResult {
  const name = "the controller's replicas are all ready";
  if (!f.controller.ok) return fail(name, `cannot read the Deployment: ${f.controller.error}`);
  if (f.controller.value === null) return fail(name, 'no controller Deployment', 'ambientctl install');
  const r = deploymentReadiness(f.controller.value, podsOr(f.controllerPods));
  if (!f.controllerPods.ok) r.problems.push(`cannot list its pods: ${f.controllerPods.error}`);
  return readinessResult(name, r, `${pods()} -l app=${CONTROLLER_DEPLOYMENT} shows which; kubectl -n ${meshNamespace()} logs deploy/${CONTROLLER_DEPLOYMENT} says why`);
}

export function checkAgentsExist(f: InstalledFacts): CheckResult {
  const name = `the node-agent DaemonSet ${meshNamespace()}/${AGENT_DAEMONSET} exists`;
  if (!f.agents.ok) return fail(name, `cannot read it: ${f.agents.error}`);
  if (f.agents.value === null) return fail(name, 'not found', 'ambientctl install');
  return pass(name);
}

const linuxNodes = (nodes: KubeObject[]) => nodes.filter((n) => nodeOs(n) === 'linux' || nodeOs(n) === '');

/** Linux nodes with no ready agent pod (an agent is scheduled on every Linux node), and why. */
function nodesWithoutReadyAgent(nodes: KubeObject[], pods: KubeObject[]): Array<{ node: string; why: string }> {
  return linuxNodes(nodes).flatMap((n) => {
    const mine = pods.filter((p) => p.spec?.nodeName === n.metadata?.name);
    if (mine.some((p) => podProblem(p) === undefined)) return [];
    if (mine.length === 0) return [{ node: n.metadata?.name, why: 'no agent pod' }];
    return [{ node: n.metadata?.name, why: mine.map((p) => podProblem(p)).join('; ') }];
  });
}

export function checkAgentsReady(f: InstalledFacts): CheckResult {
  const name = 'a node agent is ready on every node';
  if (!f.agents.ok) return fail(name, `cannot read the DaemonSet: ${f.agents.error}`);
  if (f.agents.value === null) return fail(name, 'no node-agent DaemonSet', 'ambientctl install');
  const r = daemonSetReadiness(f.agents.value, podsOr(f.agentPods), f.nodes.ok ? linuxNodes(f.nodes.value) : []);
  if (!f.agentPods.ok) r.problems.push(`cannot list its pods: ${f.agentPods.error}`);
  if (!f.nodes.ok) r.problems.push(`cannot list the nodes: ${f.nodes.error}`);
  return readinessResult(name, r, `${pods()} -l app=${AGENT_DAEMONSET} -o wide shows which; kubectl -n ${meshNamespace()} logs POD says why`);
}

/**
 * The CNI plugin of every node: installed in the node's CNI bin directory and chained into
 * its primary conflist. Judged by the agent's readiness: the agent reports ready only once
 * the plugin is installed and chained on its node, so a node without a ready agent is a
 * node whose chain is not known to be in place.
 */
export function checkCni(f: InstalledFacts): CheckResult {
  const name = "every node's CNI plugin is installed and chained (judged by its agent's readiness)";
  if (!f.nodes.ok) return fail(name, `cannot list the nodes: ${f.nodes.error}`);
  if (!f.agentPods.ok) return fail(name, `cannot list the agent pods: ${f.agentPods.error}`);
  const missing = nodesWithoutReadyAgent(f.nodes.value, f.agentPods.value);
  if (missing.length === 0) return pass(name);
  return fail(
    name,
    `not known to be chained on: ${listed(missing.map((m) => m.node))}; pods started there now are not captured\n${missing.map((m) => `node ${m.node}: ${m.why}`).join('\n')}`,
    `kubectl -n ${meshNamespace()} logs POD on that node says why (the CNI directories must be the node's: see: docs/install.md#cni-directories-by-platform)`,
  );
}

export function checkApi(f: InstalledFacts): CheckResult {
  const name = "the controller's API answers";
  if (f.status.ok) return pass(name);
  return fail(name, f.status.error, `${pods()} -l app=${CONTROLLER_DEPLOYMENT}; ambientctl status once it runs`);
}

const describe = (r: ExpiryRow, now: number) => `${r.kind === 'root' || r.kind === 'signing' || r.kind === 'controller' ? r.name : `${r.name} (${r.detail})`}: ${Date.parse(r.notAfter) <= now ? `expired ${r.notAfter}` : `${timeLeft(Math.floor((Date.parse(r.notAfter) - now) / 1000))} left (until ${r.notAfter})`}`;

/** The CA: roots and the signing certificate. Expired fails; less than CA_WARN_DAYS left warns. */
export function checkCaCertificates(f: InstalledFacts): CheckResult {
  const name = "the mesh's CA certificates are valid";
  if (!f.certificates.ok) return fail(name, `GET /api/v1/certificates: ${f.certificates.error}`);
  const rows = expiryRows(f.certificates.value, f.now).filter((r) => r.kind === 'root' || r.kind === 'signing');
  if (rows.length === 0) return fail(name, 'the controller reports no root certificate', pods());
  const expired = rows.filter((r) => Date.parse(r.notAfter) <= f.now || Date.parse(r.notBefore) > f.now);
  if (expired.length > 0) return fail(name, `not valid now: ${listed(expired.map((r) => describe(r, f.now)))}`, 'replace the CA: a new root (ambientctl ca init) or intermediate (ambientctl ca intermediate) in the plug-in CA Secret, then restart the controller (see: docs/install.md#settings)');
  const soon = rows.filter((r) => Date.parse(r.notAfter) - f.now < CA_WARN_DAYS * DAY_MS);
  if (soon.length > 0) return warn(name, `expiring within ${CA_WARN_DAYS} days: ${listed(soon.map((r) => describe(r, f.now)))}`, 'plan the CA rotation now: add the new root to the trust bundle first, then sign with it (see: docs/install.md#settings)');
  return pass(name, `${rows.length} (the soonest ends ${rows[0]!.notAfter})`);
}

/** The controller's serving certificate and the data plane's: expired fails; rotation overdue (less than a quarter of the lifetime left) warns. */
export function checkLeafCertificates(f: InstalledFacts): CheckResult {
  const name = 'the controller and workload certificates are valid and rotating';
  if (!f.certificates.ok) return fail(name, `GET /api/v1/certificates: ${f.certificates.error}`);
  const rows = expiryRows(f.certificates.value, f.now).filter((r) => r.kind !== 'root' && r.kind !== 'signing');
  const bad = rows.filter((r) => r.state === 'bad');
  if (bad.length > 0) return fail(name, `expired: ${listed(bad.map((r) => describe(r, f.now)))}`, `the holder's node agent (or the controller) cannot renew: ${pods()}, then its logs`);
  const late = rows.filter((r) => r.state === 'warn');
  // A certificate is renewed at half its lifetime: one with less than a quarter left missed its renewal.
  if (late.length > 0) return warn(name, `renewal overdue (less than a quarter of the lifetime left): ${listed(late.map((r) => describe(r, f.now)))}`, `the holder's node agent (or the controller) logs say why it cannot renew: ${pods()}`);
  return pass(name, `${rows.length} ${rows.length === 1 ? 'certificate' : 'certificates'}`);
}

/** Every agent holds a config stream and has ACKed its controller replica's current version (the judgement `ambientctl status` makes). */
export function checkAgentVersions(f: InstalledFacts): CheckResult {
  const name = "the node agents are on the controller's current config version";
  if (!f.status.ok) return fail(name, `GET /api/v1/status: ${f.status.error}`);
  const s = f.status.value;
  if (s.agents.length === 0) return fail(name, 'no node agent holds a config stream to the controller', `${pods()} -l app=${AGENT_DAEMONSET}; their logs say why they do not connect`);
  const behind = s.agents.flatMap((a) => {
    if (!a.connected) return [`node ${a.node}: not connected`];
    const p = agentVersionProblem(a, s.configVersion);
    return p ? [`node ${a.node}: ${p}`] : [];
  });
  if (behind.length === 0) return pass(name, `version ${s.configVersion} (${s.agents.length} ${s.agents.length === 1 ? 'agent' : 'agents'})`);
  return fail(name, listed(behind), 'ambientctl status shows each agent and what it refused (NACKs)');
}

export function installedReport(f: InstalledFacts): CheckReport {
  const groups: CheckGroup[] = [
    { name: `${MESH_GROUP} CRDs`, results: [checkCrdsPresent(f), checkCrdsEstablished(f)] },
    { name: 'control plane', results: [checkControllerExists(f), checkControllerReady(f), checkApi(f)] },
    { name: 'node agents', results: [checkAgentsExist(f), checkAgentsReady(f), checkCni(f)] },
    { name: 'certificates', results: [checkCaCertificates(f), checkLeafCertificates(f)] },
    { name: 'config distribution', results: [checkAgentVersions(f)] },
  ];
  return { mode: 'installed', groups };
}
