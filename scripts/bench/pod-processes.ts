// Processes the pod-to-pod benchmarks (mesh.ts, agent-memory.ts, waypoint.ts) run inside a
// pod's network namespace (or, netns undefined, in the driver's: the loopback layer
// comparison, waypoint-layers.ts): a long-running one that says when it is ready (the bench server), and a
// bounded load job (mesh-load.ts) that prints its JSON result. Every child is put in
// `children` so the benchmark's teardown can stop it, and every wait has a deadline.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadJob } from './mesh-load.js';

const LOAD_JS = fileURLToPath(new URL('./mesh-load.js', import.meta.url));

/** argv run in `netns` (`ip netns exec`), or as it is when netns is undefined. */
const inNetns = (netns: string | undefined, argv: string[]): [string, string[]] => (netns === undefined ? [argv[0]!, argv.slice(1)] : ['ip', ['netns', 'exec', netns, ...argv]]);

export function podProcesses(children: Set<ChildProcess>) {
  return { startInNetns, load };

  async function startInNetns(netns: string | undefined, argv: string[], readyText: RegExp, what: string): Promise<ChildProcess> {
    const [cmd, args] = inNetns(netns, argv);
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    child.once('exit', () => children.delete(child));
    let text = '';
    const ready = new Promise<void>((resolve, reject) => {
      const onText = (b: Buffer) => {
        if (text.length < 20_000) text += b.toString('utf8');
        if (readyText.test(text)) resolve();
      };
      child.stdout!.on('data', onText);
      child.stderr!.on('data', onText);
      child.once('exit', (code, sig) => reject(new Error(`${what} exited (${code ?? sig}):\n${text.slice(-2000)}`)));
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ready, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`${what}: not ready in 20 s:\n${text.slice(-2000)}`)), 20_000)))]).finally(() =>
      clearTimeout(timer),
    );
    return child;
  }

  /** Runs one load job inside the client pod's netns; resolves with its JSON result. */
  function load<T>(netns: string | undefined, job: LoadJob): Promise<T> {
    const limitS = job.kind === 'throughput' ? job.timeoutS + 45 : job.seconds + 75;
    return new Promise<T>((resolve, reject) => {
      const [cmd, args] = inNetns(netns, [process.execPath, LOAD_JS, JSON.stringify(job)]);
      const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
      child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
      const timer = setTimeout(() => child.kill('SIGKILL'), limitS * 1000);
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        children.delete(child);
        if (code === 0) {
          try {
            resolve(JSON.parse(out.trim().split('\n').at(-1)!) as T);
          } catch (e) {
            reject(new Error(`load ${job.kind}: bad output ${out.slice(0, 200)}: ${(e as Error).message}`));
          }
        } else reject(new Error(`load ${job.kind} on ${job.host}:${job.port} failed (${code ?? sig}): ${err.trim().slice(-1000)}`));
      });
    });
  }
}
