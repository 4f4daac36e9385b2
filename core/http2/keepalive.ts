// HTTP/2 keepalive: PING the peer every `intervalMs`; a peer that does not answer within
// `timeoutMs` (powered off, or a NAT dropped the flow) has its connection destroyed, so
// the streams on it are released and a client reconnects. Stops by itself when the
// session closes.
import type { Http2Session } from 'node:http2';

export function startKeepalive(session: Http2Session, o: { intervalMs: number; timeoutMs: number; onTimeout: () => void }): void {
  let pong: NodeJS.Timeout | undefined;
  const ping = setInterval(() => {
    if (pong || session.closed || session.destroyed) return;
    pong = setTimeout(() => {
      o.onTimeout();
      session.destroy();
    }, o.timeoutMs);
    try {
      session.ping(() => {
        clearTimeout(pong);
        pong = undefined;
      });
    } catch {
      session.destroy();
    }
  }, o.intervalMs);
  ping.unref();
  session.once('close', () => {
    clearInterval(ping);
    clearTimeout(pong);
  });
}
