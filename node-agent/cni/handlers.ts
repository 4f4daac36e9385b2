// The agent's answers to the plugin's ADD and DEL: gather the facts (the enrolment
// decision, the netns's addresses, where the pod lives now), decide with decide.ts, then
// act through the agent (CniAgentPort). Whatever holds the agent's enrolment state
// implements the port; this module keeps only what the hand-off recorded per pod.
import { basename, dirname } from 'node:path';
import type { Workload } from '../../core/config/model.js';
import { MeshError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { NETNS_DIR, netnsAddresses } from '../enrolment/netns.js';
import { wantsCapture } from '../enrolment/plan.js';
import { decideCniAdd, decideCniDel, verifyNetnsHoldsAddresses, type CniRecord, type EnrolmentVerdict } from './decide.js';
import type { CniPod } from './handoff.js';

export interface CniAgentPort {
  /** The pod's Workload in the controller's config, if it has one. */
  workload(uid: string): Workload | undefined;
  /** From the API server: the Workload of a pod the mesh enrols, undefined when it does not; throws when it cannot tell. */
  judgeNewPod(pod: CniPod): Promise<Workload | undefined>;
  /** The netns (name) the pod is enrolled in now, and the Workload it was enrolled as. */
  enrolled(uid: string): { netns: string; workload: Workload } | undefined;
  /** A netns on this node other than `except` holding one of `ips`, if any. */
  findNetns(ips: readonly string[], except: string): Promise<string | undefined>;
  /** Serves the pod in `netns` (as `announced` when the config does not know it yet); throws when that failed. */
  enrol(uid: string, netns: string, announced: Workload | undefined): Promise<void>;
  /** Stops serving the pod and forgets its netns. */
  release(uid: string): Promise<void>;
}

export interface CniHandlersOptions {
  agent: CniAgentPort;
  logger?: Logger;
  /** The addresses inside a netns (by name); undefined when they cannot be read. Default: `ip -n <name> -j addr show`. */
  netnsAddresses?: (name: string) => Promise<string[] | undefined>;
}

export class CniHandlers {
  readonly #agent: CniAgentPort;
  readonly #log: Logger;
  readonly #addresses: (name: string) => Promise<string[] | undefined>;
  /** What each ADD recorded, by pod uid: DEL acts only on this. */
  readonly #records = new Map<string, CniRecord>();

  constructor(opts: CniHandlersOptions) {
    this.#agent = opts.agent;
    this.#log = opts.logger ?? silentLogger;
    this.#addresses = opts.netnsAddresses ?? netnsAddresses;
  }

  /** The record for a pod: the ADD's, else the netns the agent enrolled it in (found by address). */
  recorded(uid: string): CniRecord | undefined {
    const rec = this.#records.get(uid);
    if (rec) return rec;
    const e = this.#agent.enrolled(uid);
    return e ? { netns: e.netns } : undefined;
  }

  async add(p: CniPod): Promise<void> {
    if (!p.podUid || !p.podName || !p.podNamespace) return; // not a Kubernetes pod: nothing to decide
    const uid = p.podUid;
    const netns = netnsName(p.netnsPath);
    const known = this.#agent.workload(uid);
    let enrolment: EnrolmentVerdict;
    if (known !== undefined) {
      enrolment = { decided: true, workload: wantsCapture(known) ? known : undefined };
    } else {
      try {
        enrolment = { decided: true, workload: await this.#agent.judgeNewPod(p) };
      } catch (err) {
        enrolment = { decided: false, error: (err as Error).message };
      }
    }
    const wanted = enrolment.decided && enrolment.workload !== undefined;
    const actual = wanted && netns !== undefined ? await this.#addresses(netns) : undefined;
    const elsewhere = wanted && netns !== undefined ? await this.#livesElsewhere(uid, netns, known) : undefined;
    const d = decideCniAdd({
      pod: { uid, name: p.podName, namespace: p.podNamespace, containerId: p.containerId, netnsPath: p.netnsPath, ips: p.ips },
      netns,
      enrolment,
      actual,
      elsewhere,
    });
    const fields = { pod: `${p.podNamespace}/${p.podName}`, uid, containerId: p.containerId, netns: p.netnsPath };
    if (d.action === 'pass') return;
    if (d.action === 'refuse') {
      this.#log.warn({ ...fields, err: { code: d.code, message: d.reason } }, 'agent: CNI ADD refused');
      throw new MeshError(d.code, d.reason);
    }
    // A repeated ADD for the netns already recorded keeps the first container id: only
    // the sandbox that created the netns may later release it.
    const prev = this.#records.get(uid);
    if (prev?.netns !== d.netns || prev.containerId === undefined) this.#records.set(uid, { netns: d.netns, containerId: p.containerId });
    await this.#agent.enrol(uid, d.netns, known === undefined ? d.workload : undefined);
  }

  async del(p: CniPod): Promise<void> {
    if (!p.podUid) return;
    const uid = p.podUid;
    const d = decideCniDel({ containerId: p.containerId, netns: p.netnsPath === '' ? undefined : netnsName(p.netnsPath), recorded: this.recorded(uid) });
    if (d.action === 'ignore') {
      if (this.#records.has(uid) || this.#agent.enrolled(uid)) this.#log.warn({ uid, containerId: p.containerId, netns: p.netnsPath, why: d.why }, 'agent: CNI DEL ignored');
      return;
    }
    this.#records.delete(uid);
    await this.#agent.release(uid);
  }

  /**
   * The netns, other than `netns`, where the pod is alive: the one it is enrolled in when
   * that still holds its addresses, or one found by the pod's addresses in the config.
   */
  async #livesElsewhere(uid: string, netns: string, known: Workload | undefined): Promise<string | undefined> {
    const enrolled = this.#agent.enrolled(uid);
    const ips = known?.ips.length ? known.ips : (enrolled?.workload.ips ?? []);
    if (enrolled && enrolled.netns !== netns) {
      const there = await this.#addresses(enrolled.netns);
      // Addresses unknown: it counts as alive (fail closed).
      if (there === undefined || ips.length === 0 || ips.some((ip) => verifyNetnsHoldsAddresses([ip], there).ok)) return enrolled.netns;
    }
    if (ips.length === 0) return undefined;
    // Not the requested netns: it holding the pod's address too would prove nothing.
    const found = await this.#agent.findNetns(ips, netns);
    return found !== undefined && found !== netns ? found : undefined;
  }
}

/** The name of a netns pinned under /var/run/netns (what the capture commands take). */
export function netnsName(path: string): string | undefined {
  const dir = dirname(path);
  const name = basename(path);
  return (dir === NETNS_DIR || dir === '/run/netns') && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name) ? name : undefined;
}

