// Container probes as the kubelet runs them, the decisions only (pure): what a probe
// checks (an HTTP GET or a TCP connect on a container port), when (initialDelaySeconds,
// periodSeconds, timeoutSeconds) and how results become a state (failureThreshold and
// successThreshold consecutive results flip it). Kubernetes semantics
// (pkg/kubelet/prober/worker.go): a readiness probe starts at "failure" (not ready), a
// liveness probe at "success"; a liveness result of "failure" kills the container, which
// then restarts according to the pod's restartPolicy, and its probes start over.
// prober.ts runs them.
import type { V1Container, V1Probe } from '@kubernetes/client-node';

/** Kubernetes' defaults and bounds for probe fields (core/v1 Probe). */
export const PROBE_DEFAULTS = {
  periodSeconds: 10,
  timeoutSeconds: 1,
  failureThreshold: 3,
  successThreshold: 1,
  /** Longest period, delay or timeout accepted (one hour): a larger value is clamped. */
  maxSeconds: 3600,
  /** A response status in [200, 400) is a success (Kubernetes' HTTP prober). */
  httpSuccessMin: 200,
  httpSuccessMax: 399,
  /** Bytes of an HTTP probe's response body read (Kubernetes reads at most 10 KiB). */
  maxBodyBytes: 10 * 1024,
} as const;

export type ProbeKind = 'readiness' | 'liveness';

export interface ProbeTiming {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  failureThreshold: number;
  successThreshold: number;
}

export type ProbeAction =
  | { kind: 'http'; port: number; path: string; scheme: 'HTTP' | 'HTTPS'; headers: Record<string, string>; host?: string }
  | { kind: 'tcp'; port: number; host?: string };

export interface ProbePlan {
  kind: ProbeKind;
  action: ProbeAction;
  timing: ProbeTiming;
}

export type ProbeResult = 'success' | 'failure';

export interface ProbeState {
  /** What the probe says now: ready / alive, or not. */
  result: ProbeResult;
  /** How many results in a row were `last`. */
  run: number;
  last?: ProbeResult;
}

/**
 * The probe of `kind` on container `c`, or undefined when it has none. Throws (a message
 * to show in the container's status) for a probe the local cluster cannot run (exec,
 * gRPC) or a port that names no port of the container.
 */
export function planProbe(c: V1Container, kind: ProbeKind): ProbePlan | undefined {
  const p: V1Probe | undefined = kind === 'readiness' ? c.readinessProbe : c.livenessProbe;
  if (p === undefined || p === null) return undefined;
  const what = `${kind}Probe of container ${c.name}`;
  let action: ProbeAction;
  if (p.httpGet) {
    const scheme = (p.httpGet.scheme ?? 'HTTP').toUpperCase();
    if (scheme !== 'HTTP' && scheme !== 'HTTPS') throw new Error(`${what}: scheme ${JSON.stringify(p.httpGet.scheme)} is neither HTTP nor HTTPS`);
    const path = p.httpGet.path ?? '/';
    if (typeof path !== 'string' || !path.startsWith('/') || /[\s\0]/.test(path)) throw new Error(`${what}: path ${JSON.stringify(path)} is not an absolute path`);
    const headers: Record<string, string> = {};
    for (const h of p.httpGet.httpHeaders ?? []) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h.name ?? '') || /[\r\n\0]/.test(h.value ?? '')) throw new Error(`${what}: header ${JSON.stringify(h.name)} is invalid`);
      headers[h.name.toLowerCase()] = h.value;
    }
    action = { kind: 'http', port: resolvePort(c, p.httpGet.port, what), path, scheme, headers, ...(p.httpGet.host ? { host: p.httpGet.host } : {}) };
  } else if (p.tcpSocket) {
    action = { kind: 'tcp', port: resolvePort(c, p.tcpSocket.port, what), ...(p.tcpSocket.host ? { host: p.tcpSocket.host } : {}) };
  } else if (p.exec || p.grpc) {
    throw new Error(`${what}: ${p.exec ? 'exec' : 'gRPC'} probes are not supported by the local cluster (use httpGet or tcpSocket)`);
  } else {
    throw new Error(`${what}: no handler (httpGet or tcpSocket)`);
  }
  return { kind, action, timing: probeTiming(p, kind) };
}

/** The probe's timing with Kubernetes' defaults; liveness needs successThreshold 1 (the API server enforces it: here it is forced). */
export function probeTiming(p: V1Probe, kind: ProbeKind): ProbeTiming {
  const secs = (v: number | undefined, dflt: number, min: number) => Math.min(PROBE_DEFAULTS.maxSeconds, Math.max(min, Number.isInteger(v) ? v! : dflt));
  const count = (v: number | undefined, dflt: number) => Math.max(1, Number.isInteger(v) ? v! : dflt);
  return {
    initialDelayMs: secs(p.initialDelaySeconds, 0, 0) * 1000,
    periodMs: secs(p.periodSeconds, PROBE_DEFAULTS.periodSeconds, 1) * 1000,
    timeoutMs: secs(p.timeoutSeconds, PROBE_DEFAULTS.timeoutSeconds, 1) * 1000,
    failureThreshold: count(p.failureThreshold, PROBE_DEFAULTS.failureThreshold),
    successThreshold: kind === 'liveness' ? 1 : count(p.successThreshold, PROBE_DEFAULTS.successThreshold),
  };
}

/** The state a probe starts in, for every (re)start of its container. */
export function initialProbeState(kind: ProbeKind): ProbeState {
  return { result: kind === 'readiness' ? 'failure' : 'success', run: 0 };
}

/** The state after one more result: it flips only after threshold results in a row. */
export function nextProbeState(s: ProbeState, outcome: ProbeResult, timing: ProbeTiming): ProbeState {
  const run = s.last === outcome ? s.run + 1 : 1;
  const threshold = outcome === 'success' ? timing.successThreshold : timing.failureThreshold;
  return { result: run >= threshold ? outcome : s.result, run, last: outcome };
}

/** When the next probe runs: after the initial delay from the container's start, then every period. */
export function nextProbeAt(timing: ProbeTiming, startedAt: number, lastRunAt: number | undefined): number {
  const first = startedAt + timing.initialDelayMs;
  return lastRunAt === undefined || lastRunAt < first ? first : lastRunAt + timing.periodMs;
}

/** Whether an HTTP probe's status code counts as success. */
export function httpProbeSucceeded(status: number): boolean {
  return status >= PROBE_DEFAULTS.httpSuccessMin && status <= PROBE_DEFAULTS.httpSuccessMax;
}

function resolvePort(c: V1Container, port: unknown, what: string): number {
  if (typeof port === 'number') {
    if (Number.isInteger(port) && port >= 1 && port <= 65535) return port;
    throw new Error(`${what}: port ${port} is not 1-65535`);
  }
  if (typeof port === 'string') {
    if (/^\d+$/.test(port)) return resolvePort(c, Number(port), what);
    const named = (c.ports ?? []).find((p) => p.name === port && (p.protocol ?? 'TCP') === 'TCP');
    if (named) return named.containerPort;
    throw new Error(`${what}: port ${JSON.stringify(port)} names no TCP port of the container`);
  }
  throw new Error(`${what}: port is missing`);
}
