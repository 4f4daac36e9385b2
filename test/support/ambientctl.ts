// The ambientctl executable as a user runs it, from a test: its exit code and both outputs.
// runAmbientctl does not block this process's event loop (an API server or controller the
// command talks to may run in it); every run is killed after 60 s.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const AMBIENTCTL_BIN = fileURLToPath(new URL('../../../bin/ambientctl.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runAmbientctl(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [AMBIENTCTL_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
