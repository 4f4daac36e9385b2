// Requests in flight per endpoint of each Service, for the gauge
// `ambient_waypoint_endpoint_active_requests{destination_service, endpoint}`
// (resilience/metrics.ts). The forward layer counts each upstream exchange while it lasts;
// a scrape lists the endpoints the waypoint holds now for each Service port it has sent to
// (so an endpoint that left the config leaves the gauge, and a held one with nothing in
// flight shows 0). Bounded by the config: Services and endpoints the waypoint holds.
import type { UpstreamEndpoint } from '../http/chain.js';

export interface EndpointActive {
  /** The Service's resource key (`<namespace>/<hostname>`). */
  service: string;
  /** `ip:port`. */
  endpoint: string;
  active: number;
}

export class EndpointActivity {
  /** `service:port` -> (`ip:port` -> requests in flight). */
  readonly #targets = new Map<string, { service: string; port: number; active: Map<string, number> }>();

  constructor(private readonly endpoints: (service: string, port: number) => readonly UpstreamEndpoint[]) {}

  /** One exchange with `endpoint` starts; the returned function ends it (once). */
  start(service: string, port: number, endpoint: UpstreamEndpoint): () => void {
    const id = `${service}:${port}`;
    let t = this.#targets.get(id);
    if (!t) this.#targets.set(id, (t = { service, port, active: new Map() }));
    const key = `${endpoint.ip}:${endpoint.port}`;
    const m = t.active;
    m.set(key, (m.get(key) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (m.get(key) ?? 1) - 1;
      if (n > 0) m.set(key, n);
      else m.delete(key);
    };
  }

  /** The held endpoints of every Service port sent to, with their requests in flight.
   * A Service port with no endpoint held and nothing in flight is forgotten. */
  *snapshot(): Iterable<EndpointActive> {
    for (const [id, t] of this.#targets) {
      const held = this.endpoints(t.service, t.port);
      if (held.length === 0 && t.active.size === 0) {
        this.#targets.delete(id);
        continue;
      }
      const seen = new Set<string>();
      for (const e of held) {
        const key = `${e.ip}:${e.port}`;
        if (seen.has(key)) continue;
        seen.add(key);
        yield { service: t.service, endpoint: key, active: t.active.get(key) ?? 0 };
      }
    }
  }
}
