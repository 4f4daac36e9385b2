// Which pods on this node the agent should serve, and what to change to get there (pure;
// DESIGN.md section 7, "Decide, then act"). The config pushed by the controller is the
// authority: a local Workload with protocol HBONE is enrolled, anything else is not. A
// pod its CNI plugin announced before it had an address (so before it was a Workload)
// is enrolled on the agent's own reading of its labels until the config speaks of it.
import type { Workload } from '../../core/config/model.js';

export interface EnrolmentInput {
  /** The Workloads the config places on this node. */
  local: readonly Workload[];
  /** Pods the CNI plugin announced and the agent judged enrolled, by uid, not yet in config. */
  announced: ReadonlyMap<string, Workload>;
  /** Known network namespace names, by pod uid. */
  netns: ReadonlyMap<string, string>;
  /** What is enrolled now: uid -> the netns and identity it was enrolled with. */
  enrolled: ReadonlyMap<string, { netns: string; identity: string }>;
}

export interface EnrolmentPlan {
  /** Pods to enrol (after the un-enrolments, when one is re-enrolled). */
  enrol: { workload: Workload; netns: string }[];
  /** Pods to un-enrol, by uid. */
  unenrol: string[];
  /** Pods to enrol whose netns is not known yet: look for it by address. */
  lookup: Workload[];
}

export function wantsCapture(w: Workload): boolean {
  return w.protocol === 'HBONE' && w.hostNetwork !== true;
}

export function planEnrolment(input: EnrolmentInput): EnrolmentPlan {
  const desired = new Map<string, Workload>();
  const inConfig = new Set<string>();
  for (const w of input.local) {
    inConfig.add(w.uid);
    if (wantsCapture(w)) desired.set(w.uid, w);
  }
  for (const [uid, w] of input.announced) if (!inConfig.has(uid)) desired.set(uid, w);

  const plan: EnrolmentPlan = { enrol: [], unenrol: [], lookup: [] };
  for (const [uid, now] of input.enrolled) {
    const want = desired.get(uid);
    const netns = input.netns.get(uid);
    // A new identity needs a new certificate on every listener, a new netns (the pod's
    // sandbox was recreated) new listeners: both are a re-enrolment.
    if (want === undefined || want.identity !== now.identity || (netns !== undefined && netns !== now.netns)) plan.unenrol.push(uid);
  }
  const leaving = new Set(plan.unenrol);
  for (const [uid, w] of desired) {
    if (input.enrolled.has(uid) && !leaving.has(uid)) continue;
    const netns = input.netns.get(uid);
    if (netns === undefined) plan.lookup.push(w);
    else plan.enrol.push({ workload: w, netns });
  }
  const byUid = (a: { uid: string }, b: { uid: string }) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0);
  plan.unenrol.sort();
  plan.enrol.sort((a, b) => byUid(a.workload, b.workload));
  plan.lookup.sort(byUid);
  return plan;
}
