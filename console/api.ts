// The console's client of the controller's API: one typed function per route it uses
// (shapes in api-types.d.ts). Same-origin requests only (the dashboard proxy or the
// controller adds credentials); writes send JSON with `X-Ambient-Request: 1`, the header
// the server requires of every write so that a cross-site page cannot make one.
import type {
  AuthzCheckRequest, AuthzCheckResult, Certificates, Flow, Graph, HttpRouteObject, List, MeshStatus,
  Policy, Rollout, Service, ServiceDetail, SplitRequest, Workload, WorkloadDetail,
} from './api-types.js';

export const API_BASE = '/api/v1';
/** The header every write carries (the server refuses writes without it). */
export const WRITE_HEADER = 'X-Ambient-Request';

/** An answer other than 2xx: the server's code and message when it sent them. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

const seg = (s: string) => encodeURIComponent(s);

async function request<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET') {
    headers['Content-Type'] = 'application/json';
    headers[WRITE_HEADER] = '1';
  }
  const res = await fetch(API_BASE + path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined && { body: JSON.stringify(body) }),
    ...(signal && { signal }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? (text.slice(0, 200) || res.statusText));
  }
  if (json === undefined) throw new ApiError(res.status, 'AMB_CONSOLE_BAD_ANSWER', `${method} ${path}: the answer is not JSON`);
  return json as T;
}

export const api = {
  status: (s?: AbortSignal) => request<MeshStatus>('GET', '/status', undefined, s),
  workloads: (namespace?: string, s?: AbortSignal) => request<List<Workload>>('GET', `/workloads${query({ namespace })}`, undefined, s),
  workload: (ns: string, name: string, s?: AbortSignal) => request<WorkloadDetail>('GET', `/workloads/${seg(ns)}/${seg(name)}`, undefined, s),
  services: (namespace?: string, s?: AbortSignal) => request<List<Service>>('GET', `/services${query({ namespace })}`, undefined, s),
  service: (ns: string, name: string, s?: AbortSignal) => request<ServiceDetail>('GET', `/services/${seg(ns)}/${seg(name)}`, undefined, s),
  policies: (namespace?: string, s?: AbortSignal) => request<List<Policy>>('GET', `/policies${query({ namespace })}`, undefined, s),
  certificates: (s?: AbortSignal) => request<Certificates>('GET', '/certificates', undefined, s),
  graph: (namespace: string | undefined, window: string, s?: AbortSignal) => request<Graph>('GET', `/graph${query({ namespace, window })}`, undefined, s),
  flows: (namespace: string | undefined, limit: number, s?: AbortSignal) => request<List<Flow>>('GET', `/flows${query({ namespace, limit })}`, undefined, s),
  flowStreamUrl: (namespace?: string) => `${API_BASE}/flows/stream${query({ namespace })}`,
  authzCheck: (req: AuthzCheckRequest) => request<AuthzCheckResult>('POST', '/authz/check', req),
  split: (ns: string, name: string, body: SplitRequest) => request<HttpRouteObject>('PUT', `/services/${seg(ns)}/${seg(name)}/split`, body),
  rolloutAction: (ns: string, name: string, action: 'pause' | 'resume' | 'abort') => request<Rollout>('POST', `/rollouts/${seg(ns)}/${seg(name)}/${action}`, {}),
};
