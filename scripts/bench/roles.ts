// Child processes of the HBONE benchmark (forked by hbone.ts; not meant to be run alone):
//   sink      the bench server behind every path: byte-counting sink and echo (bench-server.ts)
//   hbone-in  HboneServer, forwarding each CONNECT to the bench server (a destination agent)
//   hbone-out a plain TCP listener that opens an HboneClient tunnel per accepted
//             connection and pipes it (a source node agent's outbound capture)
// Each sends {type:'ready', port} over IPC once it listens, and exits on {type:'stop'},
// on SIGINT/SIGTERM, or when the parent goes away (IPC disconnect), so that
// --cpu-prof / --prof output is written and nothing outlives the benchmark.
import net from 'node:net';
import { isMainThread, Worker, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { HboneServer } from '../../core/hbone/server.js';
import { HboneClient } from '../../core/hbone/client.js';
import { pipeTunnel } from '../../core/hbone/tunnel.js';
import { TrustBundle } from '../../core/identity/trust-bundle.js';
import { spiffeId } from '../../core/identity/spiffe.js';
import { TRUST_DOMAIN, type ChildMessage, type ParentMessage, type RoleConfig } from './common.js';
import { benchConnection } from './bench-server.js';
import { listenInNetns } from '../../core/syscalls.js';

/** The calling thread's own network namespace, for the syscall seam's SO_REUSEPORT listener. */
const OWN_NETNS = '/proc/thread-self/ns/net';

/**
 * Where a proxy role accepts: a plain listener, or with `workers` > 1 one SO_REUSEPORT
 * listener per thread on the same port (this thread picks the port, the others join it).
 */
async function proxyListener(cfg: RoleConfig, onConnection: (s: net.Socket) => void): Promise<number> {
  const shared = (cfg.workers ?? 1) > 1;
  if (!shared) return listen(net.createServer({ allowHalfOpen: true, noDelay: true }, onConnection));
  const port = (workerData as { port?: number } | null)?.port ?? 0;
  const server = await listenInNetns(OWN_NETNS, { host: '127.0.0.1', port, reusePort: true }, (s) => {
    s.allowHalfOpen = true;
    s.setNoDelay(true);
    onConnection(s);
  });
  const bound = (server.address() as net.AddressInfo).port;
  if (isMainThread) {
    for (let i = 1; i < cfg.workers!; i++) {
      const w = new Worker(new URL(import.meta.url), { argv: [JSON.stringify(cfg)], workerData: { port: bound } });
      await new Promise<void>((resolve, reject) => {
        w.once('message', () => resolve());
        w.once('error', reject);
      });
      w.unref();
    }
  } else {
    (await import('node:worker_threads')).parentPort?.postMessage('listening');
  }
  return bound;
}

function send(msg: ChildMessage): void {
  if (process.connected) process.send?.(msg);
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as RoleConfig;
  const stop = () => process.exit(0);
  process.on('message', (m: ParentMessage) => {
    if (m.type === 'stop') stop();
  });
  process.on('disconnect', stop);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const read = (p: string) => readFileSync(p, 'utf8');
  switch (cfg.role) {
    case 'sink': {
      const server = net.createServer({ allowHalfOpen: true, noDelay: true }, benchConnection);
      send({ type: 'ready', port: await listen(server) });
      return;
    }
    case 'hbone-in': {
      const server = new HboneServer({
        credentials: { key: read(cfg.pki.serverKey), cert: read(cfg.pki.serverCert) },
        trustBundle: TrustBundle.fromPem(read(cfg.pki.caPem)),
        trustDomain: TRUST_DOMAIN,
        ...(cfg.limits ? { limits: cfg.limits } : {}),
      });
      // Report what TLS negotiated (the same figure stunnel logs), once per connection.
      server.server.on('secureConnection', (s: TLSSocket) => send({ type: 'tls', protocol: s.getProtocol(), cipher: s.getCipher().standardName }));
      if ((cfg.workers ?? 1) > 1) {
        send({ type: 'ready', port: await proxyListener(cfg, (s) => server.server.emit('connection', s)) });
        return;
      }
      const addr = await server.listen({ port: 0, host: '127.0.0.1' });
      send({ type: 'ready', port: addr.port });
      return;
    }
    case 'hbone-out': {
      const creds = { key: read(cfg.pki.clientKey), cert: read(cfg.pki.clientCert) };
      const source = spiffeId('bench', 'client', TRUST_DOMAIN);
      const client = new HboneClient({
        credentials: () => creds,
        trustBundle: TrustBundle.fromPem(read(cfg.pki.caPem)),
        trustDomain: TRUST_DOMAIN,
        ...(cfg.limits ? { limits: cfg.limits } : {}),
      });
      const peer = { host: '127.0.0.1', port: cfg.peerPort! };
      const target = { host: '127.0.0.1', port: cfg.targetPort! };
      const port = await proxyListener(cfg, (sock) => {
        sock.on('error', () => sock.destroy());
        client.connect({ source, peer, target }).then(
          (t) => {
            if (sock.destroyed) {
              t.stream.close();
              return;
            }
            pipeTunnel(t.stream, sock, { fromPeer: 0, toPeer: 0 }, () => {});
          },
          (err: Error) => {
            send({ type: 'error', message: `hbone-out: ${err.message}` });
            sock.destroy();
          },
        );
      });
      send({ type: 'ready', port });
      return;
    }
    default:
      throw new Error(`unknown role ${String((cfg as { role: unknown }).role)}`);
  }
}

main().catch((err: Error) => {
  send({ type: 'error', message: err.stack ?? err.message });
  process.exit(1);
});
