// CPU time of processes, read from /proc (Linux), shared by the benchmarks (hbone.ts, mesh.ts).
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/** Clock ticks per second, the unit of /proc/<pid>/stat and /proc/stat. */
export const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** user+system CPU ms of a process (all its threads), from /proc; 0 when it is gone. */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** read-type and write-type syscalls of a process so far (/proc/<pid>/io syscr, syscw:
 * read(2)/readv and write(2)/writev/sendmsg...); zeros when it is gone. */
export function syscallCounts(pid: number | undefined): { reads: number; writes: number } {
  if (pid === undefined) return { reads: 0, writes: 0 };
  try {
    const s = readFileSync(`/proc/${pid}/io`, 'utf8');
    const n = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0);
    return { reads: n('syscr'), writes: n('syscw') };
  } catch {
    return { reads: 0, writes: 0 };
  }
}
