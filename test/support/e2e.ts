// What the e2e files share: ambientctl run against one local cluster with its own
// AMBIENT_HOME, and a bounded wait for a condition.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../..', import.meta.url));
export const BIN = join(REPO, 'bin/ambientctl.js');
/** How long one wait for the cluster may take. */
export const WAIT_MS = 60_000;

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface E2eCluster {
  /** The cluster's name (unique to this test process). */
  name: string;
  /** AMBIENT_HOME of every command run here (a fresh temporary directory). */
  home: string;
  run(cmd: string, args: string[], timeoutMs?: number): RunResult;
  /** ambientctl --cluster <name> ... */
  ctl(...args: string[]): RunResult;
  /** The pods of `ns` matching `selector` (ambientctl get pods -o json). */
  pods(ns: string, selector: string): PodRow[];
  /** Waits until exactly `count` pods of `ns` match `selector` and all are Ready. */
  readyPods(ns: string, selector: string, count: number): Promise<PodRow[]>;
  /** Every JSON line the node agents have logged so far (their pods' log files, in whatever namespace the mesh is). */
  agentLog(): Array<Record<string, unknown>>;
  /** The names of the objects of a kind (`-A` for namespaced kinds), as `get -o json` lists them; none when the get fails. */
  names(kind: string, ...args: string[]): string[];
  /** Writes `yaml` to `<name>.yaml` in AMBIENT_HOME and applies it; the file's path. */
  applyYaml(name: string, yaml: string): string;
  /**
   * A 2-node cluster with the mesh installed as a user installs it (`ambientctl install`,
   * which waits for the controller and both agents), both agents ready; removed with
   * AMBIENT_HOME when the test ends (kept, and its home printed, with AMBIENT_E2E_KEEP=1).
   * `upArgs` go to `cluster up`; its output is returned. `sets` are the install's settings
   * (`--set key=value`, docs/install.md), for what a test customises.
   */
  upWithMesh(t: TestContext, upArgs?: string[], sets?: string[]): Promise<string>;
}

/** A pod as `ambientctl get pods -o json` lists it: the fields the e2e files read. */
export interface PodRow {
  metadata: { name: string; uid: string };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    podIP?: string;
    podIPs?: Array<{ ip: string }>;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{ ready: boolean; restartCount: number }>;
  };
}

export const isReady = (p: PodRow): boolean => p.status.phase === 'Running' && !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

/** A cluster named `<prefix><pid>` with its own AMBIENT_HOME; nothing is started yet. */
export function e2eCluster(prefix: string): E2eCluster {
  const home = mkdtempSync(join(tmpdir(), `ambient-${prefix}-e2e-`));
  const name = `${prefix}${process.pid % 10000}`;
  const run = (cmd: string, args: string[], timeoutMs = 60_000): RunResult => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, AMBIENT_HOME: home } });
    return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const ctl = (...args: string[]) => run(process.execPath, [BIN, '--cluster', name, ...args]);
  const pods = (ns: string, selector: string) => JSON.parse(ok(ctl('get', 'pods', '-n', ns, '-l', selector, '-o', 'json'), 'get pods')) as PodRow[];
  return {
    name,
    home,
    run,
    ctl,
    pods,
    readyPods: (ns, selector, count) =>
      until(`${count} ready pods ${selector} in ${ns}`, () => {
        const ps = pods(ns, selector);
        return ps.length === count && ps.every(isReady) ? ps : undefined;
      }),
    agentLog: () => agentLogLines(join(home, 'clusters', name, 'pods')),
    names(kind, ...args) {
      const r = ctl('get', kind, ...args, '-o', 'json');
      if (r.code !== 0) return [];
      return (JSON.parse(r.stdout) as Array<{ metadata: { name: string } }>).map((o) => o.metadata.name);
    },
    applyYaml(file, yaml) {
      const path = join(home, `${file}.yaml`);
      writeFileSync(path, yaml);
      ok(ctl('apply', '-f', path), `apply ${file}`);
      return path;
    },
    async upWithMesh(t, upArgs = [], sets = []) {
      t.after(() => {
        if (process.env['AMBIENT_E2E_KEEP'] === '1') return void process.stderr.write(`kept: AMBIENT_HOME=${home} cluster ${name}\n`);
        ctl('cluster', 'down');
        rmSync(home, { recursive: true, force: true });
      });
      const up = ok(ctl('cluster', 'up', '--nodes', '2', ...upArgs), `cluster up ${upArgs.join(' ')}`);
      ok(run(process.execPath, [BIN, '--cluster', name, 'install', '--timeout', '120s', ...sets.flatMap((x) => ['--set', x])], 180_000), `ambientctl install ${sets.join(' ')}`);
      for (const node of ['node1', 'node2']) {
        await until(`the agent on ${node} to be ready`, () => ctl('exec', '--node', node, '--', 'curl', '-sf', '--max-time', '2', 'http://127.0.0.1:15021/healthz/ready').code === 0);
      }
      return up;
    },
  };
}

function agentLogLines(podsDir: string): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  for (const dir of readdirSync(podsDir).filter((d) => /^[a-z0-9-]+_ambient-node-agent-/.test(d))) {
    let text = '';
    try {
      text = readFileSync(join(podsDir, dir, 'node-agent.log'), 'utf8');
    } catch {
      continue;
    }
    for (const l of text.split('\n')) {
      if (!l.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        // the line being written
      }
    }
  }
  return lines;
}

/**
 * Sends `request` until it answers (at most 30 s), then waits for the destination agent to
 * log the inbound HBONE connection it made: traffic that went through the mesh. The
 * answer, and those log lines (their `mtls`, `src.identity`).
 */
export async function throughMesh<T>(c: E2eCluster, what: string, request: () => T | undefined): Promise<{ answer: T; inbound: Array<Record<string, unknown>> }> {
  const connections = () => c.agentLog().filter((l) => l['msg'] === 'connection');
  const logged = connections().length;
  const answer = await until(what, request, 30_000);
  const inbound = await until('the destination agent to log the HBONE connection', () => {
    const ls = connections().slice(logged).filter((l) => l['direction'] === 'inbound-hbone');
    return ls.length ? ls : undefined;
  }, 20_000);
  return { answer, inbound };
}

/** The JSON body `pod` (in `namespace`) gets from `url` with curl; undefined when it gets none. */
export function curlJson<T>(c: E2eCluster, pod: string, namespace: string, url: string, timeoutS = 5): T | undefined {
  const r = c.ctl('exec', pod, '-n', namespace, '--', 'curl', '-s', '--max-time', String(timeoutS), url);
  if (r.code !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    return undefined;
  }
}

/** The command's stdout; fails the test with its output when it did not exit 0. */
export function ok(r: RunResult, what: string): string {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every 500 ms until it returns a value (not undefined or false), for at most `timeoutMs`. */
export async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(500);
  }
}

/** The sample echo app as one Pod `echo` on `node` behind Service `echo` (port 80 -> 8080) in `namespace`, as YAML documents. */
export function echoPodAndService(namespace: string, node: string): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: echo, namespace: ${namespace}, labels: {app: echo}}
spec:
  nodeName: ${node}
  containers:
  - name: echo
    image: ambient-samples/echo
    ports: [{name: http, containerPort: 8080}]
    env:
    - {name: PORT, value: "8080"}
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: ${namespace}}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: 8080}]
`;
}
