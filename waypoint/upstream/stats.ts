// What the upstream pools did, counted where it happens (exported on /metrics by start.ts exportPoolMetrics).
export interface PoolStats {
  /** Connections (HTTP/1.1) or sessions (HTTP/2) opened to endpoints, ever. */
  opened: number;
  /** ...and closed, ever; `opened - closed` are open now. */
  closed: number;
  /** Requests sent, ever. */
  requests: number;
  /** Requests sent on a connection or session that had carried one before. */
  reused: number;
  /** Requests in flight now. */
  active: number;
  /** Connection attempts that failed. */
  connectFailures: number;
  /** Requests refused for waiting (HTTP/1.1: the pending queue full, or its deadline passed). */
  overflowed: number;
}

export function newPoolStats(): PoolStats {
  return { opened: 0, closed: 0, requests: 0, reused: 0, active: 0, connectFailures: 0, overflowed: 0 };
}
