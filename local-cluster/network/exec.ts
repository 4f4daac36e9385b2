// The one place this folder runs programs: argv arrays only (never a shell string built
// from input), stdin from a string, a timeout that kills the whole process group, and
// bounded output. Everything else here decides; this executes.

import { spawn } from 'node:child_process';
import { NetworkError, NetworkErrorCodes } from './errors.js';

export { LOCAL_NETWORK_DEFAULTS as NETWORK_DEFAULTS } from '../limits.js';
import { LOCAL_NETWORK_DEFAULTS as NETWORK_DEFAULTS } from '../limits.js';

export interface RunOptions {
  /** Written to stdin, which is then closed. */
  input?: string;
  /** The child's whole environment (not merged with ours). Default: our environment. */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `file` with `args`; resolves with its exit status whatever it is, rejects on spawn failure or timeout. */
export function runCommand(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? NETWORK_DEFAULTS.commandTimeoutMs;
  const line = commandLine(file, args);
  return new Promise((resolve, reject) => {
    // detached: its own process group, so a timeout also kills what it started (a CNI
    // plugin's IPAM plugin), not just the direct child.
    const child = spawn(file, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const out = collector();
    const err = collector();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    child.stdout.on('data', out.add);
    child.stderr.on('data', err.add);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new NetworkError(NetworkErrorCodes.COMMAND_FAILED, `\`${line}\` could not start: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new NetworkError(NetworkErrorCodes.COMMAND_FAILED, `\`${line}\` timed out after ${timeoutMs} ms`));
        return;
      }
      resolve({ code, signal, stdout: out.text(), stderr: err.text() });
    });
    // EPIPE when the child exits without reading stdin is not our error: its exit status is.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Like runCommand, but a non-zero exit rejects with the command line and its stderr. */
export async function runChecked(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await runCommand(file, args, opts);
  if (r.code !== 0) {
    const why = r.signal ? `signal ${r.signal}` : `exit ${r.code}`;
    const detail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(0, 5).join('; ');
    throw new NetworkError(NetworkErrorCodes.COMMAND_FAILED, `\`${commandLine(file, args)}\` failed (${why}): ${detail || 'no output'}`);
  }
  return r;
}

export function commandLine(file: string, args: readonly string[]): string {
  return [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function collector() {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    add: (b: Buffer) => {
      if (size >= NETWORK_DEFAULTS.maxOutputBytes) return;
      chunks.push(b);
      size += b.length;
    },
    text: () => Buffer.concat(chunks).subarray(0, NETWORK_DEFAULTS.maxOutputBytes).toString('utf8'),
  };
}
