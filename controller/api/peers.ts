// The other controller replicas, and one request to each of them: the thin network layer
// under the mesh-wide answers (mesh-wide.ts). Peers are the controller Deployment's pods
// (label app=ambient-controller in the controller's namespace, Running, with an IP; this
// replica's own pod left out) from the informers' cache. Each is asked GET
// /api/v1/internal/replica on its API port over TLS, checked against the mesh CA for the
// controller's serving name, with the controller's own ServiceAccount token (the only caller
// that route admits); bounded in time and size. A peer that does not answer, or answers
// wrongly, is named in `unanswered`; it never fails the caller's request.
import https from 'node:https';
import type { V1Pod } from '@kubernetes/client-node';

export const CONTROLLER_APP = 'ambient-controller';
/** Under the API's prefix (routes.ts serves it there). */
export const INTERNAL_REPLICA_PATH = '/internal/replica';
const API_V1 = '/api/v1';

export interface PeerTarget {
  /** The pod's name. */
  name: string;
  host: string;
  port: number;
}

/** The other replicas among `pods`, pure: Running controller pods with an IP, not `self`, sorted by name, at most `max`. */
export function peerTargets(pods: readonly V1Pod[], o: { namespace: string; self: string; port: number; max: number }): PeerTarget[] {
  return pods
    .filter((p) => p.metadata?.namespace === o.namespace && p.metadata?.labels?.['app'] === CONTROLLER_APP && p.metadata?.name !== o.self && p.metadata?.deletionTimestamp === undefined)
    .filter((p) => p.status?.phase === 'Running' && !!p.status.podIP)
    .map((p) => ({ name: p.metadata!.name!, host: p.status!.podIP!, port: o.port }))
    .sort((a, b) => a.name.localeCompare(b.name))
    .slice(0, o.max);
}

export interface PeerReply {
  replica: string;
  body: unknown;
}

export interface PeerFailure {
  replica: string;
  reason: string;
}

export interface PeerClient {
  /** GET the internal route on every peer, each with its own query; all settle within the time bound. */
  ask(query: (peer: string) => URLSearchParams): Promise<{ replies: PeerReply[]; failures: PeerFailure[] }>;
}

export interface HttpsPeerOptions {
  peers(): PeerTarget[];
  /** The mesh CA's roots (PEM). */
  ca(): string[];
  /** The name on the controller's serving certificate. */
  serverName: string;
  /** This replica's own ServiceAccount token. */
  token(): Promise<string>;
  timeoutMs: number;
  maxBytes: number;
}

/** One GET, bounded: the whole answer within timeoutMs, at most maxBytes, 200 and JSON. */
export function getPeer(t: PeerTarget, path: string, o: Omit<HttpsPeerOptions, 'peers' | 'token'> & { token: string }): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err: Error | undefined, v?: unknown) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(v);
    };
    const req = https.request(
      { host: t.host, port: t.port, method: 'GET', path, ca: o.ca(), servername: o.serverName, minVersion: 'TLSv1.2', headers: { authorization: `Bearer ${o.token}`, accept: 'application/json' }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > o.maxBytes) return finish(new Error(`answer over ${o.maxBytes} bytes`));
          chunks.push(c);
        });
        res.on('error', (e) => finish(e));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) return finish(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
          try {
            finish(undefined, JSON.parse(text) as unknown);
          } catch {
            finish(new Error('answer is not JSON'));
          }
        });
      },
    );
    const timer = setTimeout(() => finish(new Error(`no answer within ${o.timeoutMs} ms`)), o.timeoutMs);
    req.on('error', (e) => finish(e));
    req.end();
  });
}

export function httpsPeerClient(o: HttpsPeerOptions): PeerClient {
  return {
    async ask(query) {
      const targets = o.peers();
      if (targets.length === 0) return { replies: [], failures: [] };
      let token: string;
      try {
        token = await o.token();
      } catch (err) {
        return { replies: [], failures: targets.map((t) => ({ replica: t.name, reason: `no token of the controller's own to ask with: ${(err as Error).message}` })) };
      }
      const settled = await Promise.allSettled(targets.map((t) => getPeer(t, `${API_V1}${INTERNAL_REPLICA_PATH}?${query(t.name).toString()}`, { ...o, token })));
      const replies: PeerReply[] = [];
      const failures: PeerFailure[] = [];
      settled.forEach((s, i) => {
        const replica = targets[i]!.name;
        if (s.status === 'fulfilled') replies.push({ replica, body: s.value });
        else failures.push({ replica, reason: (s.reason as Error).message });
      });
      return { replies, failures };
    },
  };
}

/** No other replicas (one replica, or tests of the API alone). */
export const NO_PEERS: PeerClient = { ask: () => Promise.resolve({ replies: [], failures: [] }) };
