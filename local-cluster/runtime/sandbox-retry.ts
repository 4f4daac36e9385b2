// When the kubelet tries a pod's network setup (CNI ADD) again, and what the pod's status
// says meanwhile (pure). Like Kubernetes' kubelet, a pod whose sandbox could not be
// created is retried with exponential back-off and stays Pending, its containers waiting
// in ContainerCreating, with the error (FailedCreatePodSandBox) on the pod; the pod is
// never recreated for it. The CNI plugin of the mesh relies on this: it fails ADD with
// code 11 ("try again later") while the node agent is away (docs/operations.md).
import { KUBELET_DEFAULTS } from '../limits.js';

export interface SandboxRetryLimits {
  /** Delay after the first failure. */
  initialMs: number;
  /** The delay doubles up to this. */
  maxMs: number;
}

export const SANDBOX_RETRY_LIMITS: SandboxRetryLimits = {
  initialMs: KUBELET_DEFAULTS.sandboxRetryInitialMs,
  maxMs: KUBELET_DEFAULTS.sandboxRetryMaxMs,
};

/** The reason Kubernetes' kubelet gives (as an event) for a sandbox it could not create. */
export const SANDBOX_FAILED_REASON = 'FailedCreatePodSandBox';

/**
 * The wait before the next attempt after `failures` failures in a row (1 or more):
 * initialMs, doubling, never more than maxMs.
 */
export function sandboxRetryDelayMs(failures: number, limits: SandboxRetryLimits = SANDBOX_RETRY_LIMITS): number {
  const initial = Math.max(1, limits.initialMs);
  const max = Math.max(initial, limits.maxMs);
  const n = Number.isNaN(failures) ? 1 : Number.isFinite(failures) ? Math.max(1, Math.floor(failures)) : Number.MAX_SAFE_INTEGER;
  // 2^(n-1) overflows for long outages: stop doubling once the cap is reached.
  let delay = initial;
  for (let i = 1; i < n && delay < max; i++) delay *= 2;
  return Math.min(delay, max);
}

export type SandboxRetryDecision = { retry: true; delayMs: number } | { retry: false; why: 'pod deleted' | 'kubelet stopping' };

/**
 * After a failed network setup: retry after the back-off, unless the pod was deleted or
 * the kubelet is stopping (then nothing more is tried; the partial network has been torn
 * down either way). There is no limit on attempts, as with Kubernetes: the pace is bounded
 * by maxMs, and a pod that can never start is for its owner to delete.
 */
export function decideSandboxRetry(
  s: { failures: number; podDeleted: boolean; kubeletStopping: boolean },
  limits: SandboxRetryLimits = SANDBOX_RETRY_LIMITS,
): SandboxRetryDecision {
  if (s.podDeleted) return { retry: false, why: 'pod deleted' };
  if (s.kubeletStopping) return { retry: false, why: 'kubelet stopping' };
  return { retry: true, delayMs: sandboxRetryDelayMs(s.failures, limits) };
}

/** The pod's condition message while it waits: the error, how many attempts failed, when the next is. */
export function sandboxFailureMessage(error: string, failures: number, delayMs: number): string {
  const oneLine = error.replace(/\s+/g, ' ').trim();
  const text = oneLine.length > KUBELET_DEFAULTS.sandboxErrorMaxChars ? `${oneLine.slice(0, KUBELET_DEFAULTS.sandboxErrorMaxChars)}...` : oneLine;
  const secs = delayMs % 1000 === 0 ? `${delayMs / 1000}s` : `${(delayMs / 1000).toFixed(1)}s`;
  const attempts = failures === 1 ? '1 attempt' : `${failures} attempts`;
  return `Failed to create pod sandbox: ${text || 'network setup failed'} (${attempts} failed; next in ${secs})`;
}
