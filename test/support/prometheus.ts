// A throwaway Prometheus for tests: /usr/bin/prometheus (Debian's `prometheus` package,
// installed by scripts/setup.sh) on 127.0.0.1 and a free port, with a temporary config and
// data directory, scraping the given loopback targets every second. stop() kills it and
// removes the directory; call it from an `after` hook (or finally).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedPort } from './net.js';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';

export interface TestPrometheus {
  url: string;
  dir: string;
  /** An instant query's result (`/api/v1/query`), or the error Prometheus answered. */
  query(q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** Polls `q` (bounded) until its first sample's value satisfies `ok`; returns that value. */
  waitFor(q: string, ok: (v: number) => boolean, what: string, timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

export const prometheusInstalled = (): boolean => existsSync(PROMETHEUS_BIN);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ready(url: string): Promise<boolean> {
  try {
    const r = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
    await r.text();
    return r.status === 200;
  } catch {
    return false;
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** `targets`: host:port of /metrics endpoints on loopback. */
export async function startPrometheus(targets: string[]): Promise<TestPrometheus> {
  assert.ok(prometheusInstalled(), `${PROMETHEUS_BIN} is missing: install Debian's prometheus package (scripts/setup.sh does)`);
  const dir = mkdtempSync(join(tmpdir(), 'test-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: mesh',
      '    static_configs:',
      `      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`,
      '',
    ].join('\n'),
  );
  let stderr = '';
  // The free port can be taken between our probe and Prometheus binding it: try again.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(
      PROMETHEUS_BIN,
      [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', '--storage.tsdb.retention.time=1d'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4_000)));
    let exited = false;
    child.on('exit', () => (exited = true));
    child.on('error', () => (exited = true));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !exited && !(await ready(url))) await sleep(100);
    if (exited || !(await ready(url))) {
      await stopChild(child);
      continue;
    }
    const query: TestPrometheus['query'] = async (q) => {
      const r = await fetch(`${url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: q }), signal: AbortSignal.timeout(5_000) });
      const body = (await r.json()) as { status: string; error?: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
      if (body.status !== 'success') throw new Error(`prometheus: ${q}: ${body.error}`);
      return body.data!.result;
    };
    return {
      url,
      dir,
      query,
      async waitFor(q, ok, what, timeoutMs = 30_000) {
        const until = Date.now() + timeoutMs;
        let last: number | undefined;
        while (Date.now() < until) {
          const r = await query(q);
          last = r[0] === undefined ? undefined : Number(r[0].value[1]);
          if (last !== undefined && ok(last)) return last;
          await sleep(200);
        }
        assert.fail(`prometheus: ${what} within ${timeoutMs}ms (${q} is ${last ?? 'absent'}); its log: ${stderr.slice(-1_000)}`);
      },
      stop: async () => {
        await stopChild(child);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  assert.fail(`startPrometheus: ${PROMETHEUS_BIN} did not become ready: ${stderr.slice(-1_000)}`);
}
