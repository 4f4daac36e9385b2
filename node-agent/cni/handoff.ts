// The node agent's side of the CNI hand-off. The `ambient-cni` plugin (plugin.c), run by
// the container runtime as the last plugin of the node's conflist, connects to a Unix
// stream socket and sends one JSON line describing the pod; the agent enrols it (ADD) or
// releases it (DEL) and answers "OK\n<what the plugin prints>" or "ERR\n<CNI error>".
// One connection per invocation, as istio-cni does; the plugin shuts down its write side
// after the request, so the server is half-open until it has answered.
//
// Who may hand a pod over is what decides which netns gets a pod's identity, so: a
// filesystem socket (0600) in a directory only root may use (socket-dir.ts; never an
// abstract name, which any process in the node's network namespace can bind or reach),
// the peer's SO_PEERCRED uid must be 0, a request is at most maxRequestBytes and at most
// maxConnections are served at once. What the request claims is checked against the
// netns itself by the agent's handlers (cni/decide.ts).

import { lstat, chmod, rm } from 'node:fs/promises';
import { isIP, createServer, type Socket } from 'node:net';
import { ErrorCodes, MeshError } from '../../core/errors.js';
import { CNI_DEFAULTS } from '../../core/limits.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { peerCredentials, type PeerCredentials } from '../../core/syscalls.js';
import { prepareSocketDir } from './socket-dir.js';
import { socketPathProblem } from './socket-path.js';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK';
type Limits = { -readonly [K in keyof typeof CNI_DEFAULTS]: number };

export interface CniPod {
  command: CniCommand;
  containerId: string;
  netnsPath: string;
  ifName: string;
  podUid?: string;
  podName?: string;
  podNamespace?: string;
  /** addresses (no prefix) from prevResult.ips */
  ips: string[];
  cniVersion: string;
  prevResult?: Record<string, unknown>;
}

export type HandoffOutcome = { ok: true } | { ok: false; message: string; details?: string };

/** The code of a CNI error that is not one of the spec's well-known ones (SPEC.md "Error codes": 100+ are plugin-specific; 999 is "other"). */
export const CNI_ERROR_OTHER = 999;

const invalid = (msg: string) => new MeshError(ErrorCodes.CNI_HANDOFF_INVALID, msg);
const COMMANDS = new Set<string>(['ADD', 'DEL', 'CHECK']);

/** CNI_ARGS: "K=V;K=V" (SPEC.md section 2). Empty pieces are skipped; a piece without "=" is invalid. */
export function parseCniArgs(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const piece of args.split(';')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    if (eq <= 0) throw invalid(`CNI_ARGS piece ${JSON.stringify(piece)} is not KEY=VALUE`);
    out[piece.slice(0, eq)] = piece.slice(eq + 1);
  }
  return out;
}

/** Parses the plugin's request line. Pure; throws MeshError(CNI_HANDOFF_INVALID). */
export function parseHandoffRequest(line: string): CniPod {
  let req: unknown;
  try {
    req = JSON.parse(line);
  } catch (err) {
    throw invalid(`the request is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(req)) throw invalid('the request is not a JSON object');
  const command = req['command'];
  if (typeof command !== 'string' || !COMMANDS.has(command)) throw invalid(`unknown command ${JSON.stringify(command)}: expected ADD, DEL or CHECK`);
  const containerId = nonEmpty(req, 'containerId');
  const ifName = nonEmpty(req, 'ifName');
  // SPEC.md section 2: CNI_NETNS is required for ADD and CHECK, optional for DEL.
  const netnsPath = command === 'DEL' ? stringOr(req, 'netns', '') : nonEmpty(req, 'netns');
  const args = parseCniArgs(stringOr(req, 'args', ''));
  const config = req['config'];
  if (!isObject(config)) throw invalid('"config" must be the network configuration object');
  const cniVersion = config['cniVersion'];
  if (typeof cniVersion !== 'string' || cniVersion === '') throw invalid('"config.cniVersion" must be a non-empty string');
  const prev = config['prevResult'];
  if (prev !== undefined && !isObject(prev)) throw invalid('"config.prevResult" must be an object');

  const pod: CniPod = { command: command as CniCommand, containerId, netnsPath, ifName, ips: prev ? resultIps(prev) : [], cniVersion };
  // The keys kubelet (and the local cluster's runtime) puts in CNI_ARGS.
  if (args['K8S_POD_UID']) pod.podUid = args['K8S_POD_UID'];
  if (args['K8S_POD_NAME']) pod.podName = args['K8S_POD_NAME'];
  if (args['K8S_POD_NAMESPACE']) pod.podNamespace = args['K8S_POD_NAMESPACE'];
  if (prev) pod.prevResult = prev;
  return pod;
}

/**
 * The reply line and body. ADD passes prevResult through (SPEC.md: a chained plugin must
 * output the result it got, or a modified one; with none, a result with just the
 * version); DEL and CHECK print nothing on success. A failure is a CNI error object.
 */
export function handoffReply(pod: CniPod, outcome: HandoffOutcome): string {
  if (!outcome.ok) return errorReply(pod.cniVersion, outcome.message, outcome.details);
  if (pod.command !== 'ADD') return 'OK\n';
  return `OK\n${JSON.stringify(pod.prevResult ?? { cniVersion: pod.cniVersion })}\n`;
}

function errorReply(cniVersion: string, message: string, details?: string): string {
  const err: Record<string, unknown> = { cniVersion, code: CNI_ERROR_OTHER, msg: message };
  if (details) err['details'] = details;
  return `ERR\n${JSON.stringify(err)}\n`;
}

export interface HandoffServer {
  /** The socket's path. */
  readonly address: string;
  close(): Promise<void>;
}

export interface HandoffServerOptions {
  /** The socket's path, in a directory only root may use (socket-dir.ts); not an abstract "@name". */
  socket: string;
  onAdd(pod: CniPod): Promise<void>;
  onDel(pod: CniPod): Promise<void>;
  /** CHECK; without one, CHECK succeeds (the agent repairs capture on its own). */
  onCheck?(pod: CniPod): Promise<void>;
  logger?: Logger;
  /** The handler's deadline; default CNI_DEFAULTS.handlerTimeoutMs. */
  timeoutMs?: number;
  limits?: Partial<Limits>;
}

/** Only root hands pods over: the container runtime runs the plugin as root. Pure; a reason to refuse, or undefined. */
export function judgePeer(creds: PeerCredentials | undefined): string | undefined {
  if (creds === undefined) return 'the peer\'s credentials cannot be read (SO_PEERCRED)';
  if (creds.uid !== 0) return `peer pid ${creds.pid} runs as uid ${creds.uid}, not root: only the container runtime (root) may hand pods over`;
  return undefined;
}

/**
 * Listens for the plugin. Each connection: who it is (root only), one request line
 * (bounded in size and time), the handler, the reply, close; at most maxConnections at
 * once. Nothing a client sends can throw out of here.
 */
export async function startHandoffServer(opts: HandoffServerOptions): Promise<HandoffServer> {
  const log = opts.logger ?? silentLogger;
  const limits: Limits = { ...CNI_DEFAULTS, ...opts.limits, ...(opts.timeoutMs !== undefined && { handlerTimeoutMs: opts.timeoutMs }) };
  const problem = socketPathProblem(opts.socket);
  if (problem) throw new MeshError(ErrorCodes.CNI_SOCKET_UNSAFE, `the CNI socket ${problem}`);
  await prepareSocketDir(opts.socket);

  const open = new Set<Socket>();
  // Connections being refused are bounded too: beyond maxConnections they are closed unanswered.
  const refusing = new Set<Socket>();
  const refuseConn = (conn: Socket, message: string) => {
    if (refusing.size >= limits.maxConnections) return void conn.destroy();
    refusing.add(conn);
    conn.on('close', () => refusing.delete(conn));
    refuseAtOnce(conn, message, limits);
  };
  const server = createServer({ allowHalfOpen: true }, (conn) => {
    conn.on('error', (err) => log.debug({ err }, 'CNI hand-off connection error'));
    let creds: PeerCredentials | undefined;
    try {
      creds = peerCredentials(conn);
    } catch (err) {
      log.warn({ err }, 'CNI hand-off: SO_PEERCRED failed');
    }
    const why = judgePeer(creds);
    if (why) {
      log.warn({ err: { code: ErrorCodes.CNI_PEER_REFUSED, message: why } }, 'CNI hand-off: connection refused');
      return refuseConn(conn, `the node agent refused the connection: ${why}`);
    }
    if (open.size >= limits.maxConnections) {
      log.warn({ err: { code: ErrorCodes.CNI_HANDOFF_BUSY }, open: open.size }, 'CNI hand-off: too many connections; refused');
      return refuseConn(conn, `the node agent is busy (${limits.maxConnections} hand-offs in progress); the runtime retries`);
    }
    open.add(conn);
    conn.on('close', () => open.delete(conn));
    serve(conn, opts, limits, log);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.socket, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'CNI hand-off socket error'));
  await chmod(opts.socket, 0o600); // and its directory is 0700: only root reaches it
  const ino = (await lstat(opts.socket)).ino;
  log.info({ socket: opts.socket }, 'CNI hand-off listening');

  let closing: Promise<void> | undefined;
  return {
    address: opts.socket,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const conn of [...open, ...refusing]) conn.destroy();
        await closed;
        // Ours only: never a socket another agent bound there since. The directory stays:
        // it tells the plugin the mesh is installed here (an agent restarting), so pods
        // wait rather than start uncaptured.
        const now = await lstat(opts.socket).catch(() => undefined);
        if (now?.ino === ino) await rm(opts.socket, { force: true });
      })();
      return closing;
    },
  };
}

/**
 * Answers ERR without handling the request. What the peer still sends is read and
 * dropped (so it is not cut off with EPIPE before it reads the answer), up to
 * maxRequestBytes and requestTimeoutMs; then the connection is closed.
 */
function refuseAtOnce(conn: Socket, message: string, limits: Limits): void {
  conn.end(errorReply('1.0.0', message));
  let dropped = 0;
  conn.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > limits.maxRequestBytes) conn.destroy();
  });
  const timer = setTimeout(() => conn.destroy(), limits.requestTimeoutMs);
  timer.unref();
  conn.once('close', () => clearTimeout(timer));
}

function serve(conn: Socket, opts: HandoffServerOptions, limits: Limits, log: Logger): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  conn.on('error', (err) => log.debug({ err }, 'CNI hand-off connection error'));

  // Whatever arrives after the request (or after a refusal) is read and dropped rather
  // than left unread, so a client still writing is not blocked from reading our answer.
  const reply = (text: string) => {
    clearTimeout(timer);
    if (conn.destroyed) return;
    conn.end(text);
    // A client that never closes its side must not hold the connection open.
    const linger = setTimeout(() => conn.destroy(), limits.requestTimeoutMs);
    conn.once('close', () => clearTimeout(linger));
  };
  const refuse = (message: string) => {
    done = true;
    log.warn({ err: { code: ErrorCodes.CNI_HANDOFF_INVALID, message } }, 'invalid CNI hand-off request');
    reply(errorReply('1.0.0', `invalid request to the node agent: ${message}`));
  };
  const timer = setTimeout(() => {
    if (!done) refuse(`no complete request within ${limits.requestTimeoutMs} ms`);
  }, limits.requestTimeoutMs);

  const complete = (line: string) => {
    done = true; // one request per connection
    clearTimeout(timer);
    void handle(line, opts, limits, log).then(reply);
  };
  conn.on('data', (chunk: Buffer) => {
    if (done) return;
    const nl = chunk.indexOf(0x0a);
    const part = nl < 0 ? chunk : chunk.subarray(0, nl);
    size += part.length;
    if (size > limits.maxRequestBytes) {
      // Cut off: nothing more is read from a client that sends too much.
      refuse(`the request is larger than ${limits.maxRequestBytes} bytes`);
      conn.pause();
      conn.once('finish', () => conn.destroy());
      return;
    }
    chunks.push(part);
    if (nl >= 0) complete(Buffer.concat(chunks).toString('utf8'));
  });
  // A line cut short by the end of the stream is still one line.
  conn.on('end', () => {
    if (done) return;
    if (size === 0) return refuse('empty request');
    complete(Buffer.concat(chunks).toString('utf8'));
  });
}

/** Parses and runs one request; always resolves to the reply. */
async function handle(line: string, opts: HandoffServerOptions, limits: Limits, log: Logger): Promise<string> {
  let pod: CniPod;
  try {
    pod = parseHandoffRequest(line);
  } catch (err) {
    const message = (err as Error).message;
    log.warn({ err }, 'invalid CNI hand-off request');
    return errorReply('1.0.0', `invalid request to the node agent: ${message}`);
  }
  const fields = { command: pod.command, containerId: pod.containerId, pod: pod.podName && `${pod.podNamespace ?? ''}/${pod.podName}`, netns: pod.netnsPath };
  const handler = pod.command === 'ADD' ? opts.onAdd : pod.command === 'DEL' ? opts.onDel : opts.onCheck;
  if (!handler) return handoffReply(pod, { ok: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the node agent did not finish ${pod.command} within ${limits.handlerTimeoutMs} ms`)), limits.handlerTimeoutMs);
    });
    const run = Promise.resolve().then(() => handler.call(opts, pod));
    run.catch(() => undefined); // a late failure after the deadline is already answered
    await Promise.race([run, deadline]);
    log.info(fields, 'CNI hand-off done');
    return handoffReply(pod, { ok: true });
  } catch (err) {
    const e = err as Error & { code?: string };
    log.error({ ...fields, err }, 'CNI hand-off failed');
    return handoffReply(pod, { ok: false, message: `node agent ${pod.command} failed: ${e.message}`, ...(e.code !== undefined && { details: e.code }) });
  } finally {
    clearTimeout(timer);
  }
}

function resultIps(result: Record<string, unknown>): string[] {
  const ips = result['ips'];
  if (!Array.isArray(ips)) return [];
  const out: string[] = [];
  for (const ip of ips) {
    if (!isObject(ip) || typeof ip['address'] !== 'string') continue;
    const addr = ip['address'].split('/')[0]!;
    if (isIP(addr)) out.push(addr);
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function nonEmpty(req: Record<string, unknown>, key: string): string {
  const v = req[key];
  if (typeof v !== 'string' || v === '') throw invalid(`"${key}" must be a non-empty string`);
  return v;
}

function stringOr(req: Record<string, unknown>, key: string, fallback: string): string {
  const v = req[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string') throw invalid(`"${key}" must be a string`);
  return v;
}
