// One HTTPS call to a test controller's API (port 15014's API), as a client of the console
// or the CLI makes it: TLS verified against the mesh CA for the controller's Service name,
// an optional bearer token, a JSON body sent as a CSRF-safe write. The answer's JSON is
// parsed when it is JSON.
import type http from 'node:http';
import https from 'node:https';
import type { Controller } from '../../controller/controller.js';

export interface ApiAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface ApiCallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** The address to reach the controller on (default 127.0.0.1). */
  host?: string;
  timeoutMs?: number;
}

export function apiCall(controller: Controller, method: string, path: string, o: ApiCallOptions = {}): Promise<ApiAnswer> {
  const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: o.host ?? '127.0.0.1',
        port: controller.apiAddress!.port,
        method,
        path,
        ca: controller.ca.trustBundle.pems(),
        servername: 'ambient-controller.ambient-system.svc',
        headers: {
          ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
          ...(payload ? { 'content-type': 'application/json', 'x-ambient-request': '1', 'content-length': String(payload.length) } : {}),
          ...o.headers,
        },
        timeout: o.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}
