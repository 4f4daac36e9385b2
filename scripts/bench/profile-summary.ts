// Profile summaries for the HBONE benchmark (hbone.ts --profile cpu|perf):
//  - a V8 .cpuprofile (from `node --cpu-prof`): self time per function, inclusive time per
//    function, and self time per area (TLS, HTTP/2, streams, GC, ...), as a share of the
//    busy (non-idle) time. Note: V8 samples the thread on a wall clock while it is not idle,
//    so time the thread spends descheduled inside a syscall counts too;
//  - a `perf record` file of one process: on-CPU samples (user and kernel) per shared
//    object and symbol, grouped into areas (kernel, OpenSSL, nghttp2, V8, JIT code, libc).
// Runnable alone:
//   node dist/scripts/bench/profile-summary.js FILE.cpuprofile|FILE.perf.data... [--top N]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function shortUrl(url: string): string {
  if (!url) return '';
  if (url.startsWith('node:')) return url;
  const i = url.indexOf('/dist/');
  if (i >= 0) return url.slice(i + 1);
  const j = url.indexOf('/node_modules/');
  if (j >= 0) return url.slice(j + 1);
  return basename(url);
}

function keyOf(f: CallFrame): string {
  const name = f.functionName || '(anonymous)';
  const url = shortUrl(f.url);
  return url ? `${name} ${url}:${f.lineNumber + 1}` : name;
}

/** Which part of the stack a function belongs to. */
function areaOf(f: CallFrame): string {
  const u = f.url;
  const n = f.functionName;
  if (n === '(garbage collector)') return 'GC';
  if (n === '(program)') return 'native, not attributed to JS (libuv, OpenSSL, nghttp2 callbacks)';
  if (n === '(idle)') return 'idle';
  if (!u) return `native called from JS (${n || 'anonymous'})`;
  if (/internal\/http2\//.test(u)) return 'node:http2 (JS side)';
  if (/_tls_wrap|internal\/tls/.test(u)) return 'node:tls (JS side)';
  if (/internal\/streams\/|node:stream/.test(u)) return 'node:stream machinery';
  if (/^node:net$|internal\/net|internal\/stream_base_commons/.test(u)) return 'node:net / stream_base';
  if (/internal\/timers|internal\/process\/task_queues|node:events|internal\/events/.test(u)) return 'timers, ticks, events';
  if (/\/dist\/core\//.test(u)) return 'project core/';
  if (/\/dist\/scripts\//.test(u)) return 'bench harness';
  if (u.startsWith('node:')) return 'other node internals';
  return 'other';
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  top: { key: string; selfMs: number; pct: number }[];
  inclusive: { key: string; totalMs: number; pct: number }[];
  areas: { area: string; selfMs: number; pct: number }[];
}

export function summarise(file: string, topN = 20): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) byId.set(n.id, n);
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // Self time per node from the sample timeline (timeDeltas[i] is the gap before sample i;
  // attribute each gap to the sample that ends it, the usual convention).
  const selfUs = new Map<number, number>();
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, prof.timeDeltas[i] ?? 0));
  }

  const selfByKey = new Map<string, number>();
  const totalByKey = new Map<string, number>();
  const selfByArea = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    if (node.callFrame.functionName === '(idle)') continue;
    busyUs += us;
    const k = keyOf(node.callFrame);
    selfByKey.set(k, (selfByKey.get(k) ?? 0) + us);
    const a = areaOf(node.callFrame);
    selfByArea.set(a, (selfByArea.get(a) ?? 0) + us);
    // Inclusive: every distinct function on the stack (bounded by the tree's depth).
    const seen = new Set<string>();
    let cur: number | undefined = id;
    for (let depth = 0; cur !== undefined && depth < 10_000; depth++) {
      const cf: CallFrame = byId.get(cur)!.callFrame;
      const ck = keyOf(cf);
      if (cf.functionName !== '(root)' && !seen.has(ck)) {
        seen.add(ck);
        totalByKey.set(ck, (totalByKey.get(ck) ?? 0) + us);
      }
      cur = parent.get(cur);
    }
  }
  const pct = (us: number) => (busyUs > 0 ? (100 * us) / busyUs : 0);
  const sorted = <K>(m: Map<K, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return {
    file,
    wallMs: (prof.endTime - prof.startTime) / 1000,
    busyMs: busyUs / 1000,
    top: sorted(selfByKey)
      .slice(0, topN)
      .map(([key, us]) => ({ key, selfMs: us / 1000, pct: pct(us) })),
    inclusive: sorted(totalByKey)
      .slice(0, topN)
      .map(([key, us]) => ({ key, totalMs: us / 1000, pct: pct(us) })),
    areas: sorted(selfByArea).map(([area, us]) => ({ area, selfMs: us / 1000, pct: pct(us) })),
  };
}

export function formatSummary(s: ProfileSummary): string {
  const lines: string[] = [];
  lines.push(`${basename(s.file)}: wall ${s.wallMs.toFixed(0)} ms, busy (non-idle) ${s.busyMs.toFixed(0)} ms`);
  lines.push('  self time by area:');
  for (const a of s.areas) lines.push(`    ${a.pct.toFixed(1).padStart(5)}%  ${a.selfMs.toFixed(0).padStart(7)} ms  ${a.area}`);
  lines.push('  top functions by self time:');
  for (const t of s.top) lines.push(`    ${t.pct.toFixed(1).padStart(5)}%  ${t.selfMs.toFixed(0).padStart(7)} ms  ${t.key}`);
  lines.push('  top functions by inclusive time:');
  for (const t of s.inclusive) lines.push(`    ${t.pct.toFixed(1).padStart(5)}%  ${t.totalMs.toFixed(0).padStart(7)} ms  ${t.key}`);
  return lines.join('\n');
}

// ------------------------------------------------------------------ perf record files

export interface PerfSummary {
  file: string;
  samples: number;
  areas: { area: string; pct: number }[];
  top: { sym: string; dso: string; pct: number }[];
}

function perfArea(dso: string, sym: string): string {
  if (dso === '[kernel.kallsyms]' || dso.startsWith('[kernel')) return 'kernel (syscalls, TCP/loopback, scheduler, copies)';
  if (dso.startsWith('[JIT]') || dso.startsWith('perf-')) return 'JIT-compiled JavaScript';
  if (/^nghttp2_/.test(sym)) return 'nghttp2 (HTTP/2 framing, flow control)';
  if (/libcrypto|libssl/.test(dso)) return 'OpenSSL (TLS records, AES-GCM)';
  if (/^_?(aesni|aes_|gcm|.*_gcm_|ossl_|OSSL_|EVP_|evp_|SSL_|ssl|do_ssl|tls|BIO_|bio_|CRYPTO_|OPENSSL_|ChaCha|chacha|Poly1305|poly1305|sha\d|SHA\d|RAND_|ERR_|OBJ_|ASN1_|BN_|bn_|EC_|ec_|x25519|X25519)/.test(sym))
    return 'OpenSSL (TLS records, AES-GCM)';
  if (/node::http2::/.test(sym)) return 'node http2 binding (C++)';
  if (/node::crypto::|TLSWrap/.test(sym)) return 'node TLS binding (C++)';
  if (/^Builtins_|^v8::|^V8|^Turbofan|^Maglev|^cppgc::|^heap::/.test(sym)) return 'V8 (builtins, runtime, GC)';
  if (/^uv_|^uv__/.test(sym)) return 'libuv';
  if (/^node::/.test(sym)) return 'node C++ (streams, buffers, bindings)';
  if (/libc\.so|libc-|libpthread|ld-linux/.test(dso)) return 'libc (memcpy, malloc, syscall wrappers)';
  if (/stunnel/.test(dso)) return 'stunnel itself';
  return `other (${dso})`;
}

/** Runs `perf report` on one recording (bounded in time) and groups its samples. */
export function summarisePerf(file: string, topN = 15): PerfSummary {
  const r = spawnSync('perf', ['report', '-i', file, '--stdio', '--no-children', '-n', '--sort', 'dso,sym', '-g', 'none', '-t', '|', '--percent-limit', '0'], {
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0 && !r.stdout) throw new Error(`perf report ${file} failed: ${r.stderr || r.error?.message}`);
  const rows: { pct: number; n: number; dso: string; sym: string }[] = [];
  for (const line of r.stdout.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const f = line.split('|').map((x) => x.trim());
    if (f.length < 4) continue;
    const pct = parseFloat(f[0]!);
    const n = Number(f[1]);
    const sym = f.slice(3).join('|').replace(/^\[[.k]\]\s*/, '');
    if (!Number.isFinite(pct) || !Number.isFinite(n)) continue;
    rows.push({ pct, n, dso: f[2]!, sym });
  }
  const samples = rows.reduce((a, x) => a + x.n, 0);
  const byArea = new Map<string, number>();
  const bySym = new Map<string, { sym: string; dso: string; n: number }>();
  for (const x of rows) {
    const area = perfArea(x.dso, x.sym);
    byArea.set(area, (byArea.get(area) ?? 0) + x.n);
    // JIT code has no symbols without --perf-basic-prof: one entry for all of it.
    const key = area === 'JIT-compiled JavaScript' ? 'JIT' : `${x.dso} ${x.sym}`;
    const e = bySym.get(key) ?? { sym: key === 'JIT' ? '(JIT-compiled JavaScript)' : x.sym, dso: key === 'JIT' ? '[JIT]' : x.dso, n: 0 };
    e.n += x.n;
    bySym.set(key, e);
  }
  const pct = (n: number) => (samples > 0 ? (100 * n) / samples : 0);
  return {
    file,
    samples,
    areas: [...byArea.entries()].sort((a, b) => b[1] - a[1]).map(([area, n]) => ({ area, pct: pct(n) })),
    top: [...bySym.values()]
      .sort((a, b) => b.n - a.n)
      .slice(0, topN)
      .map((e) => ({ sym: e.sym.length > 90 ? e.sym.slice(0, 87) + '...' : e.sym, dso: e.dso, pct: pct(e.n) })),
  };
}

export function formatPerf(s: PerfSummary, label: string, hz: number): string {
  const lines = [`${label}: ${s.samples} on-CPU samples at ${hz} Hz (~${(s.samples / hz).toFixed(2)} CPU s)`, '  by area:'];
  for (const a of s.areas) if (a.pct >= 0.3) lines.push(`    ${a.pct.toFixed(1).padStart(5)}%  ${a.area}`);
  lines.push('  top symbols:');
  for (const t of s.top) lines.push(`    ${t.pct.toFixed(1).padStart(5)}%  ${t.sym}  [${t.dso}]`);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const ti = args.indexOf('--top');
  const top = ti >= 0 ? Number(args.splice(ti, 2)[1]) : 20;
  if (args.length === 0) {
    console.error('usage: node dist/scripts/bench/profile-summary.js FILE.cpuprofile|FILE.perf.data... [--top N]');
    process.exit(2);
  }
  for (const f of args) {
    if (f.endsWith('.cpuprofile')) console.log(formatSummary(summarise(f, top)) + '\n');
    else console.log(formatPerf(summarisePerf(f, top), basename(f), 999) + '\n');
  }
}
