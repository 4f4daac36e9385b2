// GET /debug/endpoints on a waypoint pod (its IP, port 15020): the endpoints' health as that
// waypoint sees them, read with a short timeout and a size bound; the caller shows
// `unknown` with the reason when it fails.
import http from 'node:http';
import { MESH_PORTS } from '../../core/ports.js';

export function fetchWaypointEndpoints(ip: string, o: { timeoutMs: number; maxBytes: number; port?: number }): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: ip, port: o.port ?? MESH_PORTS.metrics, path: '/debug/endpoints', headers: { accept: 'application/json' }, timeout: o.timeoutMs }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`answered ${res.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > o.maxBytes) {
          req.destroy(new Error(`answer over ${o.maxBytes} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
        } catch {
          reject(new Error('answer is not JSON'));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${o.timeoutMs} ms`)));
    req.on('error', reject);
  });
}
