// A throwaway Redis for tests: /usr/bin/redis-server on 127.0.0.1 and a free port, in a
// temporary directory, no snapshots; append-only persistence only when asked (restart
// tests). stop() kills it and removes the directory; call it from an `after` hook.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedPort } from './net.js';

export interface TestRedis {
  port: number;
  url: string;
  dir: string;
  stop(): Promise<void>;
}


/** Resolves once Redis answers PING with PONG on `port`. */
async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      data += d.toString();
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
  });
}

async function startOnce(dir: string, appendonly: boolean, fixedPort?: number): Promise<{ child: ChildProcess; port: number } | undefined> {
  const port = fixedPort ?? (await closedPort());
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', appendonly ? 'yes' : 'no', '--protected-mode', 'yes', '--loglevel', 'warning'];
  const child = spawn('/usr/bin/redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let exited = false;
  child.on('exit', () => (exited = true));
  child.on('error', () => (exited = true));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !exited) {
    if (await ping(port)) return { child, port };
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill('SIGKILL');
  return undefined;
}

/** `port`: start on that port (a restart where clients wait for the same address). */
export async function startRedis(opts: { appendonly?: boolean; port?: number } = {}): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'test-redis-'));
  // The free port can be taken between our probe and Redis binding it: try again.
  for (let attempt = 0; attempt < 5; attempt++) {
    const started = await startOnce(dir, opts.appendonly ?? false, opts.port);
    if (!started) continue;
    const { child, port } = started;
    return {
      port,
      url: `redis://127.0.0.1:${port}`,
      dir,
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = once(child, 'exit');
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(timer);
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  assert.fail('startRedis: /usr/bin/redis-server did not answer PING (is it installed? scripts/setup.sh installs it)');
}
