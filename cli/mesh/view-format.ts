// Cell formats the mesh commands' views share (status, workloads, services, certificates).
export const yesNo = (v: boolean | undefined): string => (v === undefined ? '-' : v ? 'yes' : 'no');
export const orDash = (v: string | number | null | undefined): string => (v === undefined || v === null || v === '' ? '-' : String(v));

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `450ms`, `12s`, `1m30s`, `2h5m`. */
export function shortDuration(ms: number): string {
  if (!(ms >= 0)) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  const m = Math.floor((s % 3600) / 60);
  return `${Math.floor(s / 3600)}h${m ? `${m}m` : ''}`;
}

/** `45s`, `12m`, `3h20m`, `2d4h`; `expired` at or below zero. */
export function timeLeft(seconds: number): string {
  if (seconds <= 0) return 'expired';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) {
    const m = Math.floor((seconds % 3600) / 60);
    return `${Math.floor(seconds / 3600)}h${m ? `${m}m` : ''}`;
  }
  const h = Math.floor((seconds % 86400) / 3600);
  return `${Math.floor(seconds / 86400)}d${h ? `${h}h` : ''}`;
}
