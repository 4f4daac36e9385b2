// Pieces the loopback waypoint benches (waypoint-profile.ts, waypoint-layers.ts) share: free
// ports, certificates from our CA, waiting for a child to say it is ready, the client's
// "node agent" (TCP in, one HBONE tunnel per connection to the Service VIP under the
// client's identity), and a throwaway redis-server on 127.0.0.1 (as test/support/redis.ts
// starts one for tests) with its command count. Everything listens on 127.0.0.1 only, and
// every wait has a deadline.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import type { HboneClient } from '../../core/hbone/client.js';
import type { CertificateAuthority } from '../../core/identity/ca.js';
import { spiffeId, type SpiffeId } from '../../core/identity/spiffe.js';
import { createCsr, generateKeyPem } from '../../core/identity/x509.js';
import { TD } from './waypoint-child.js';

export const REDIS_SERVER = '/usr/bin/redis-server';
/** How long a child may take to say it is ready. */
const READY_MS = 30_000;
/** How long redis-server may take to answer PING, and a PING or INFO to answer. */
const REDIS_START_MS = 10_000;
const REDIS_ANSWER_MS = 2_000;

export async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function issue(ca: CertificateAuthority, ns: string, sa: string): Promise<{ key: string; cert: string; identity: SpiffeId }> {
  const identity = spiffeId(ns, sa, TD);
  const key = await generateKeyPem();
  return { key, cert: ca.sign(createCsr(key, identity), { identity }).chain.join(''), identity };
}

/** Resolves when `ready` calls back; rejects when the child exits first or after 30 s. */
export function started(c: ChildProcess, what: string, ready: (resolve: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not ready within ${READY_MS / 1000} s`)), READY_MS);
    c.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code ?? sig})`));
    });
    ready(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The client's node agent: each TCP connection becomes one HBONE tunnel to `waypoint`
 * with target `target` (the Service VIP and port), as `source`. Listens on 127.0.0.1. */
export async function clientAgent(hbone: HboneClient, o: { source: SpiffeId; waypoint: number; target: { host: string; port: number } }): Promise<net.Server> {
  const agent = net.createServer({ noDelay: true }, (sock) => {
    sock.pause();
    sock.on('error', () => sock.destroy());
    hbone
      .connect({ source: o.source, peer: { host: '127.0.0.1', port: o.waypoint }, target: o.target, forwardedFor: { host: '10.244.1.5', port: sock.remotePort ?? 0 } })
      .then((t) => {
        t.stream.on('error', () => sock.destroy());
        sock.on('close', () => t.stream.destroy());
        sock.pipe(t.stream);
        t.stream.pipe(sock);
        sock.resume();
      })
      .catch(() => sock.destroy());
  });
  agent.listen(0, '127.0.0.1');
  await once(agent, 'listening');
  return agent;
}

/** One RESP command on a fresh connection to 127.0.0.1:`port`; the raw answer, or undefined
 * when none complete within 2 s. */
export function redisCommand(port: number, command: string, complete: (answer: string) => boolean): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    const done = (v: string | undefined) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(REDIS_ANSWER_MS, () => done(undefined));
    sock.on('error', () => done(undefined));
    sock.on('connect', () => sock.write(`${command}\r\n`));
    sock.on('data', (d) => {
      data += d.toString('latin1');
      if (data.length > 1 << 20) return done(undefined);
      if (complete(data)) done(data);
    });
  });
}

/** A field of a bulk-string INFO answer (`total_commands_processed:123`), as a number. */
export function infoField(info: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:(\\d+)\\r?$`, 'm').exec(info);
  return m ? Number(m[1]) : undefined;
}

/** A whole RESP bulk string has arrived (`$<len>\r\n<len bytes>\r\n`). */
export function bulkComplete(answer: string): boolean {
  const m = /^\$(-?\d+)\r\n/.exec(answer);
  if (!m) return answer.startsWith('-') && answer.includes('\r\n');
  const len = Number(m[1]);
  return len < 0 || Buffer.byteLength(answer.slice(m[0].length), 'latin1') >= len + 2;
}

export interface BenchRedis {
  port: number;
  child: ChildProcess;
  /** Commands Redis has processed so far (INFO stats), undefined when it does not answer. */
  commands(): Promise<number | undefined>;
  stop(): Promise<void>;
  /** At once, for an 'exit' hook: SIGKILL and the temp dir removed. */
  killNow(): void;
}

/** redis-server on 127.0.0.1 and a free port, in a temp dir, no persistence, protected
 * mode; `children` gets it so a driver's teardown can kill it. */
export async function startBenchRedis(children: Set<ChildProcess>): Promise<BenchRedis> {
  const dir = mkdtempSync(join(os.tmpdir(), 'bench-redis-'));
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const args = ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--loglevel', 'warning'];
    const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    children.add(child);
    let exited = false;
    child.on('exit', () => (exited = true));
    child.on('error', () => (exited = true));
    const deadline = Date.now() + REDIS_START_MS;
    let up = false;
    while (!up && !exited && Date.now() < deadline) {
      up = (await redisCommand(port, 'PING', (a) => a.includes('\r\n')))?.startsWith('+PONG') ?? false;
      if (!up) await new Promise((r) => setTimeout(r, 25));
    }
    if (!up) {
      child.kill('SIGKILL');
      children.delete(child);
      continue; // the free port was taken between the probe and Redis binding it
    }
    return {
      port,
      child,
      commands: async () => {
        const a = await redisCommand(port, 'INFO stats', bulkComplete);
        return a === undefined ? undefined : infoField(a, 'total_commands_processed');
      },
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exitedP = once(child, 'exit');
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exitedP;
          clearTimeout(timer);
        }
        children.delete(child);
        rmSync(dir, { recursive: true, force: true });
      },
      killNow: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        children.delete(child);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`${REDIS_SERVER} did not answer PING on 127.0.0.1 (is it installed? scripts/setup.sh installs it)`);
}
