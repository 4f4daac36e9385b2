// The local cluster a pod-to-pod benchmark (mesh.ts, agent-memory.ts) runs on: its own
// AMBIENT_HOME in a temp dir, `ambientctl --cluster NAME` as a bounded child process, a
// bounded wait, and a teardown that runs once on exit, on an error and on SIGINT/SIGTERM/
// SIGHUP: the benchmark's children killed, the cluster taken down (unless kept), the temp
// dir removed.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const BIN = fileURLToPath(new URL('../../../bin/ambientctl.js', import.meta.url));

export interface PodRow {
  metadata: { name: string; uid: string; namespace: string };
  status: { phase?: string; podIP?: string; conditions?: Array<{ type: string; status: string }> };
}

export type RunResult = { code: number | null; stdout: string; stderr: string };

/** The pod's capture rules are in place (iptables-save -t nat inside it). */
export const captured = (nat: string) => /-A AMB-OUTPUT .*REDIRECT --to-ports 15001/.test(nat) && /-A AMB-PREROUTING .*REDIRECT --to-ports 15006/.test(nat);

export const isReady = (p: PodRow) => p.status.phase === 'Running' && !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function benchCluster(o: { homePrefix: string; name: string; waitMs: number }) {
  const home = mkdtempSync(join(os.tmpdir(), o.homePrefix));
  const name = o.name;
  const children = new Set<ChildProcess>();
  const state = { started: false, keep: false };

  function run(cmd: string, args: string[], timeoutMs = 60_000): RunResult {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, AMBIENT_HOME: home } });
    return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }
  const ctl = (args: string[], timeoutMs = 60_000) => run(process.execPath, [BIN, '--cluster', name, ...args], timeoutMs);
  function ok(r: RunResult, what: string): string {
    if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }
  async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = o.waitMs): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < 10_000; i++) {
      const v = probe();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > deadline) break;
      await sleep(500);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
  const listPods = (ns: string, selector: string) => JSON.parse(ok(ctl(['get', 'pods', '-n', ns, '-l', selector, '-o', 'json']), 'get pods')) as PodRow[];

  /**
   * The mesh as a user installs it: `ambientctl install --set ...` (which waits for the
   * controller and every node agent). With `agentCommand` (a CPU profile needs Node flags
   * NODE_OPTIONS refuses), the same manifests from `ambientctl manifest generate`, the node
   * agent's container running that command, applied as GitOps would; the caller waits.
   */
  function installMesh(o: { sets?: string[]; agentCommand?: string[] } = {}): void {
    const sets = (o.sets ?? []).flatMap((x) => ['--set', x]);
    if (!o.agentCommand) {
      ok(ctl(['install', '--timeout', '240s', ...sets], 300_000), `ambientctl install ${sets.join(' ')}`);
      return;
    }
    const docs = parseAllDocuments(ok(ctl(['manifest', 'generate', ...sets]), 'ambientctl manifest generate'));
    const agent = docs.find((d) => d.get('kind') === 'DaemonSet' && d.getIn(['metadata', 'name']) === 'ambient-node-agent');
    if (!agent) throw new Error('ambientctl manifest generate: no DaemonSet ambient-node-agent');
    agent.setIn(['spec', 'template', 'spec', 'containers', 0, 'command'], o.agentCommand);
    const file = join(home, 'mesh.yaml');
    writeFileSync(file, docs.map((d) => d.toString()).join('---\n'));
    ok(ctl(['apply', '-f', file], 120_000), 'apply the mesh manifests');
  }

  let tornDown = false;
  function teardown(): void {
    if (tornDown) return;
    tornDown = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    children.clear();
    if (state.started && !state.keep) {
      const r = ctl(['cluster', 'down'], 120_000);
      console.error(r.code === 0 ? r.stdout.trim() : `cluster down failed (exit ${r.code}): ${r.stderr.trim()}`);
    }
    if (state.keep) console.error(`kept: AMBIENT_HOME=${home} cluster ${name}`);
    else rmSync(home, { recursive: true, force: true });
  }
  process.on('exit', teardown);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      console.error(`\n${sig}: stopping the benchmark and taking the cluster down`);
      teardown();
      process.exit(130);
    });
  }

  return { home, name, children, state, run, ctl, ok, until, listPods, installMesh, teardown };
}
