// Formatting of numbers, times and links for the pages; pure.

export function pct(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined ? '-' : `${(v * 100).toFixed(digits)}%`;
}

export function rate(v: number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  // Thresholds where the rounded text changes form, so 99.97 is `100/s`, not `100.0/s`.
  return v >= 99.95 ? `${Math.round(v)}/s` : `${v.toFixed(v >= 9.995 ? 1 : 2)}/s`;
}

export function bytes(v: number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let n = v;
  // 1023.96 KiB would print as `1024.0 KiB`: from there on it is the next unit.
  while ((i === 0 ? n >= 1024 : n >= 1023.95) && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  // As in rate(): 999.7 is `1.00s`, not `1000ms`; 9.97 is `10ms`, not `10.0ms`.
  return v >= 999.5 ? `${(v / 1000).toFixed(2)}s` : `${v < 9.95 ? v.toFixed(1) : Math.round(v)}ms`;
}

/** `in 3d 4h`, `2h ago`: a time relative to `now`. */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const d = t - now;
  const a = Math.abs(d);
  const parts: string[] = [];
  const day = 86_400_000;
  const hour = 3_600_000;
  const min = 60_000;
  if (a >= day) parts.push(`${Math.floor(a / day)}d`, `${Math.floor((a % day) / hour)}h`);
  else if (a >= hour) parts.push(`${Math.floor(a / hour)}h`, `${Math.floor((a % hour) / min)}m`);
  else if (a >= min) parts.push(`${Math.floor(a / min)}m`);
  else parts.push(`${Math.floor(a / 1000)}s`);
  return d >= 0 ? `in ${parts.join(' ')}` : `${parts.join(' ')} ago`;
}

export function clock(iso: string): string {
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? iso : t.toISOString().slice(11, 23);
}

/** `namespace/name` of a graph node id (`workload:ns/name`). */
export function nodeName(id: string): string {
  const i = id.indexOf(':');
  return i >= 0 ? id.slice(i + 1) : id;
}

export function workloadHref(ns: string, name: string): string {
  return `/workloads/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;
}

export function serviceHref(ns: string, name: string): string {
  return `/services/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;
}

/** The link of a graph node id, or of `namespace/name` of the given kind. */
export function nodeHref(id: string): string {
  const [kind, rest] = id.includes(':') ? [id.slice(0, id.indexOf(':')), id.slice(id.indexOf(':') + 1)] : ['workload', id];
  const [ns, name] = rest.split('/') as [string, string];
  return kind === 'service' ? serviceHref(ns, name ?? '') : workloadHref(ns, name ?? '');
}

/** Health of an edge from its success rate: what its colour says. */
export function edgeHealth(successRate: number | null): 'healthy' | 'degraded' | 'failing' | 'idle' {
  if (successRate === null) return 'idle';
  if (successRate >= 0.99) return 'healthy';
  if (successRate >= 0.95) return 'degraded';
  return 'failing';
}
