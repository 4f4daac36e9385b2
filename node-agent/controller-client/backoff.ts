// Reconnect delays, pure. Exponential with "equal jitter" (half fixed, half random): after
// a controller restart, hundreds of agents must not reconnect in the same millisecond, yet
// none should wait much longer than the exponential schedule says.

/** Delay before reconnect attempt number `failures` (0 after a stream that worked). */
export function reconnectDelay(failures: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(Math.max(failures, 0), 30));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(base / 2 + (r * base) / 2);
}
