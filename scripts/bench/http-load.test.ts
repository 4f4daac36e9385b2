// The waypoint benchmark's HTTP load (http-load.ts) against real servers on 127.0.0.1:
// its HTTP/1.1 parser reads answers with a length and chunked ones, counts a non-200 as
// a failure, and its HTTP/2 client speaks prior-knowledge h2c.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { httpFixedRate, httpMaxRate } from './http-load.js';

async function listen(server: http.Server | http2.Http2Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

function h1Server(answer: (res: http.ServerResponse) => void): http.Server {
  return http.createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(res));
  });
}

test('h1_fixed_rate_reads_answers_with_content_length', async () => {
  const s = h1Server((res) => res.writeHead(200, { 'content-length': '1024' }).end(Buffer.alloc(1024)));
  const port = await listen(s);
  try {
    const r = await httpFixedRate({ protocol: 'h1', host: '127.0.0.1', port, authority: 'bench', size: 1024 }, { rate: 200, conns: 4, seconds: 1, warmupS: 0 });
    assert.equal(r.failed, 0, r.firstError);
    assert.equal(r.completed, r.sent);
    assert.equal(r.measured, 200);
  } finally {
    s.closeAllConnections();
    s.close();
  }
});

test('h1_max_rate_reads_chunked_answers_on_one_connection', async () => {
  const s = h1Server((res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(Buffer.alloc(300));
    res.end(Buffer.alloc(724));
  });
  const port = await listen(s);
  let conns = 0;
  s.on('connection', () => conns++);
  try {
    const r = await httpMaxRate({ protocol: 'h1', host: '127.0.0.1', port, authority: 'bench', size: 16 }, { conns: 1, seconds: 0.5, warmupS: 0 });
    assert.equal(r.failed, 0, r.firstError);
    assert.ok(r.measured > 1);
    assert.equal(conns, 1);
  } finally {
    s.closeAllConnections();
    s.close();
  }
});

test('h1_non_200_answer_counts_as_failure_with_its_status', async () => {
  const s = h1Server((res) => res.writeHead(503, { 'content-length': '0' }).end());
  const port = await listen(s);
  try {
    const r = await httpMaxRate({ protocol: 'h1', host: '127.0.0.1', port, authority: 'bench', size: 16 }, { conns: 1, seconds: 0.5, warmupS: 0 });
    assert.equal(r.failed, 1);
    assert.equal(r.firstError, 'status 503');
  } finally {
    s.closeAllConnections();
    s.close();
  }
});

test('h2_prior_knowledge_requests_are_answered', async () => {
  const s = http2.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-length': '1024' }).end(Buffer.alloc(1024)));
  });
  const port = await listen(s);
  const sessions = new Set<http2.ServerHttp2Session>();
  s.on('session', (x) => sessions.add(x));
  try {
    const r = await httpFixedRate({ protocol: 'h2', host: '127.0.0.1', port, authority: 'bench', size: 1024 }, { rate: 100, conns: 2, seconds: 1, warmupS: 0 });
    assert.equal(r.failed, 0, r.firstError);
    assert.equal(r.measured, 100);
    assert.equal(sessions.size, 2);
  } finally {
    for (const x of sessions) x.destroy();
    s.close();
  }
});
