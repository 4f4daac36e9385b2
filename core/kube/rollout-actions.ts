// The three user actions on a Rollout.ambient.dev/v1 (`ambientctl rollout pause|resume|abort`
// and the controller's POST /api/v1/rollouts/{namespace}/{name}/{action}): each a JSON merge
// patch of its spec through the API server; the rollout driver acts on it on its next pass.
// pause sets spec.paused, abort sets spec.abort, resume clears both.
export type RolloutAction = 'pause' | 'resume' | 'abort';

export const ROLLOUT_ACTIONS: Readonly<Record<RolloutAction, { spec: Readonly<Record<string, boolean>>; done: string }>> = {
  pause: { spec: { paused: true }, done: 'paused' },
  resume: { spec: { paused: false, abort: false }, done: 'resumed' },
  abort: { spec: { abort: true }, done: 'aborted' },
};

export function isRolloutAction(v: string): v is RolloutAction {
  return Object.hasOwn(ROLLOUT_ACTIONS, v);
}

/** The REST path of a namespace's Rollouts, or of one. */
export function rolloutsPath(namespace: string, name?: string): string {
  const base = `/apis/ambient.dev/v1/namespaces/${encodeURIComponent(namespace)}/rollouts`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

/** The merge patch an action sends. */
export function rolloutActionPatch(action: RolloutAction): { spec: Record<string, boolean> } {
  return { spec: { ...ROLLOUT_ACTIONS[action].spec } };
}
