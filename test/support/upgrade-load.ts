// Traffic for test/e2e/agent-upgrade.test.ts, run inside the client pod (ambientctl exec):
// STREAMS long-lived TCP connections to a tcp-echo Service, each sending a numbered chunk
// every ~100 ms and checking every echoed byte; and new connections at RATE per second,
// each a full request/response (send, half-close, the whole echo back, close). Runs until
// STOP_FILE exists (or MAX_MS), ends the streams cleanly and prints one JSON line of counts.
import { existsSync } from 'node:fs';
import net from 'node:net';

const [host, portText, stopFile, streamsText = '10', rateText = '20', maxText = '170000'] = process.argv.slice(2);
const port = Number(portText);
const STREAMS = Number(streamsText);
const RATE = Number(rateText);
const MAX_MS = Number(maxText);
const started = Date.now();
const stop = () => existsSync(stopFile!) || Date.now() - started > MAX_MS;

interface Stream {
  sent: number;
  echoed: number;
  broken?: string;
}

function stream(id: number): Promise<Stream> {
  return new Promise((resolve) => {
    const s: Stream = { sent: 0, echoed: 0 };
    let expected = '';
    let tick = 0;
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    let timer: NodeJS.Timeout | undefined;
    const fail = (why: string) => {
      if (s.broken === undefined) s.broken = why;
    };
    socket.on('data', (d) => {
      const text = d.toString();
      if (!expected.startsWith(text)) fail(`stream ${id}: echo differs at byte ${s.echoed}`);
      expected = expected.slice(text.length);
      s.echoed += d.length;
    });
    socket.on('error', (err) => fail(`stream ${id}: ${(err as NodeJS.ErrnoException).code ?? err.message} after ${s.echoed} bytes`));
    socket.on('close', () => {
      clearInterval(timer);
      if (s.echoed !== s.sent) fail(`stream ${id}: ${s.sent} bytes sent, ${s.echoed} echoed`);
      resolve(s);
    });
    socket.on('connect', () => {
      timer = setInterval(() => {
        if (stop()) {
          clearInterval(timer);
          socket.end(); // tcp-echo answers our FIN with its own after the last byte
          return;
        }
        const chunk = `s${id}-${++tick};`;
        expected += chunk;
        s.sent += chunk.length;
        socket.write(chunk);
      }, 100);
    });
  });
}

const fresh = { ok: 0, failed: 0, errors: [] as string[] };
function request(n: number): Promise<void> {
  return new Promise((resolve) => {
    const body = `request-${n}-${'x'.repeat(32)}`;
    let got = '';
    let done = false;
    const finish = (err?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err === undefined && got === body) fresh.ok++;
      else {
        fresh.failed++;
        if (fresh.errors.length < 10) fresh.errors.push(err ?? `request ${n}: got ${got.length} of ${body.length} bytes`);
      }
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(() => finish(`request ${n}: no complete answer within 10 s`), 10_000);
    const socket = net.connect({ host, port }, () => socket.end(body));
    socket.on('data', (d) => (got += d.toString()));
    socket.on('end', () => finish());
    socket.on('error', (err) => finish(`request ${n}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
  });
}

const streams = Array.from({ length: STREAMS }, (_, i) => stream(i));
const requests: Promise<void>[] = [];
let n = 0;
const gap = 1000 / RATE;
while (!stop()) {
  requests.push(request(n++));
  // Steady: the next one on schedule, whatever the last one took.
  const next = started + n * gap;
  await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
}
const ended = await Promise.all(streams);
await Promise.all(requests);
process.stdout.write(
  `${JSON.stringify({
    newConnections: { ok: fresh.ok, failed: fresh.failed, errors: fresh.errors },
    streams: ended.map((s) => ({ sent: s.sent, echoed: s.echoed, ...(s.broken !== undefined && { broken: s.broken }) })),
    ms: Date.now() - started,
  })}\n`,
);
