// The controller's API (/api/v1, docs/api.md) as the mesh commands call it: JSON over one
// fresh HTTP/1.1 exchange per call on the controller link (cli/controller-link.ts), every
// call bounded in time and size. An error answer becomes a CliError carrying the API's
// code and message; a write to a follower (503 AMB_API_NOT_LEADER) is sent once more
// after choosing the pod again (the Lease may have moved).
import http from 'node:http';
import { Option, type Command } from 'commander';
import type { ContextOptions } from './context.js';
import { CliError } from './errors.js';
import { controllerHost, controllerNamespace, openControllerLink, type ControllerLink, type LinkOptions } from './controller-link.js';
import { parseServiceAccount } from './dashboard-proxy.js';

export const API_CLIENT_LIMITS = {
  /** One API call, from connecting to the last byte of the answer. */
  requestTimeoutMs: 20_000,
  /** The largest answer read. */
  maxAnswerBytes: 64 * 1024 * 1024,
} as const;

const API_PREFIX = '/api/v1';

/** An error the API answered, as `{"error": {"code", "message"}}` with its HTTP status. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly apiMessage: string,
    what: string,
  ) {
    super(`${what}: the controller answered ${status} ${code}: ${apiMessage}`);
  }
}

type Query = Record<string, string | number | undefined>;

/** A write's whole answer: what a command prints may depend on the status or a header. */
export interface WriteAnswer<T> {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: T;
}

function pathWithQuery(path: string, query: Query | undefined): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return `${API_PREFIX}${path}${s ? `?${s}` : ''}`;
}

export class ApiClient {
  /** `warn`: where a partial answer is said (stderr: stdout keeps only the command's output). */
  constructor(
    readonly link: ControllerLink,
    private readonly warn: (line: string) => void = (line) => process.stderr.write(line),
  ) {}

  get<T>(path: string, query?: Query): Promise<T> {
    return this.#call<T>('GET', pathWithQuery(path, query)).then((a) => a.body);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.write<T>('POST', path, body).then((a) => a.body);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.write<T>('PUT', path, body).then((a) => a.body);
  }

  /** A write (or a POST that only reads, as /authz/check) with its status and headers. */
  async write<T>(method: 'POST' | 'PUT', path: string, body: unknown): Promise<WriteAnswer<T>> {
    try {
      return await this.#call<T>(method, pathWithQuery(path, undefined), body);
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 'AMB_API_NOT_LEADER') throw err;
      this.link.repick();
      return this.#call<T>(method, pathWithQuery(path, undefined), body);
    }
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<WriteAnswer<T>> {
    const what = `${method} ${path}`;
    const creds = await this.link.credentials();
    let socket;
    try {
      socket = await this.link.connect();
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError(`cannot reach the controller's API (${this.link.via}): ${(err as Error).message}; is the controller running? (ambientctl get pods -n ${controllerNamespace()})`);
    }
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const { status, headers, text } = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
      let settled = false;
      const done = (err: Error | undefined, value?: { status: number; headers: http.IncomingHttpHeaders; text: string }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        if (err) reject(err);
        else resolve(value!);
      };
      const timer = setTimeout(() => done(new CliError(`${what}: no answer from the controller within ${API_CLIENT_LIMITS.requestTimeoutMs} ms (${this.link.via})`)), API_CLIENT_LIMITS.requestTimeoutMs);
      const req = http.request(
        {
          method,
          path,
          headers: {
            host: controllerHost(),
            accept: 'application/json',
            connection: 'close',
            ...(creds.token !== undefined && { authorization: `Bearer ${creds.token}` }),
            ...(payload && { 'content-type': 'application/json', 'content-length': payload.length, 'x-ambient-request': '1' }),
          },
          createConnection: () => socket as unknown as import('node:net').Socket,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > API_CLIENT_LIMITS.maxAnswerBytes) done(new CliError(`${what}: the answer is larger than ${API_CLIENT_LIMITS.maxAnswerBytes} bytes`));
            else chunks.push(c);
          });
          res.on('error', (err) => done(err));
          res.on('end', () => done(undefined, { status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', (err) => done(new CliError(`${what}: ${err.message} (${this.link.via})`)));
      req.end(payload);
    });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CliError(`${what}: the controller answered ${status} with something that is not JSON: ${text.slice(0, 200)}`);
    }
    if (status < 200 || status > 299) {
      const e = (parsed as { error?: { code?: unknown; message?: unknown } }).error;
      throw new ApiError(status, typeof e?.code === 'string' ? e.code : 'UNKNOWN', typeof e?.message === 'string' ? e.message : text.slice(0, 200), what);
    }
    for (const line of partialWarnings(parsed)) this.warn(`warning: ${what}: ${line}\n`);
    return { status, headers, body: parsed as T };
  }
}

/**
 * What an answer that lacks a controller replica's part says (`partial: true`, each missing
 * replica and why: console/api-types.d.ts PartialAnswer), as lines for stderr; none for a
 * whole answer. The command still prints what arrived.
 */
export function partialWarnings(body: unknown): string[] {
  const b = body as { partial?: unknown; unanswered?: unknown } | null;
  if (b === null || typeof b !== 'object' || b.partial !== true) return [];
  const missing = Array.isArray(b.unanswered) ? (b.unanswered as Array<{ replica?: unknown; reason?: unknown }>) : [];
  if (missing.length === 0) return ['partial answer: a controller replica did not answer, so what it holds is missing'];
  return missing.map((u) => `partial answer: controller replica ${String(u.replica)} did not answer (${String(u.reason)}), so what it holds is missing`);
}

/** `--service-account NS/NAME` for the commands that call the API (as `dashboard` has). */
export const serviceAccountOption = () => new Option('--service-account <ns/name>', "act as this ServiceAccount toward the controller's API (a token is requested for it) instead of the kubeconfig's user");

/** The API client for a command: the global --kubeconfig/--context/--cluster select the cluster;
 * the command's --service-account, when given, whose token is presented. */
export async function apiFor(cmd: Command, o: LinkOptions = {}): Promise<ApiClient> {
  const g = cmd.optsWithGlobals() as ContextOptions & { serviceAccount?: string };
  let serviceAccount = o.serviceAccount;
  if (serviceAccount === undefined && g.serviceAccount !== undefined) {
    const sa = parseServiceAccount(g.serviceAccount);
    if (typeof sa === 'string') throw new CliError(sa);
    serviceAccount = sa;
  }
  return new ApiClient(await openControllerLink(g, { ...o, ...(serviceAccount && { serviceAccount }) }));
}
