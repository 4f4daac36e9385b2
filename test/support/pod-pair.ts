// Two pod network namespaces for the node agent's direct tests: "a" and "b" joined by a veth
// pair, each with the real in-pod capture rules, and in "b" a TCP echo app with half-close
// (its FIN follows the echo of the client's last byte). Everything goes when the test ends.
import type { TestContext } from 'node:test';
import { installCapture } from '../../node-agent/capture/apply.js';
import { listenInNetns } from '../../core/syscalls.js';
import { ifName, Netns } from './netns.js';

export interface PodPair {
  a: Netns;
  b: Netns;
  /** The veth end inside "a" (for extra routes). */
  linkA: string;
  /** Connections the app in "b" accepted. */
  appConnections: { count: number };
}

export async function capturedPodPair(t: TestContext, tag: string, o: { ipA: string; ipB: string; appPort: number; mark: number }): Promise<PodPair> {
  const a = await Netns.create(`${tag}a`, t);
  const b = await Netns.create(`${tag}b`, t);
  const va = ifName(`${tag}va`);
  const vb = ifName(`${tag}vb`);
  await a.run('ip', ['link', 'add', va, 'type', 'veth', 'peer', 'name', vb, 'netns', b.name]);
  await a.run('ip', ['addr', 'add', `${o.ipA}/24`, 'dev', va]);
  await b.run('ip', ['addr', 'add', `${o.ipB}/24`, 'dev', vb]);
  await a.run('ip', ['link', 'set', va, 'up']);
  await b.run('ip', ['link', 'set', vb, 'up']);
  await installCapture(a.name, { captureDns: false, agentMark: o.mark });
  await installCapture(b.name, { captureDns: false, agentMark: o.mark });

  const appConnections = { count: 0 };
  const app = await listenInNetns(b.path, { host: o.ipB, port: o.appPort }, (s) => {
    appConnections.count++;
    s.allowHalfOpen = true;
    s.on('error', () => {});
    s.pipe(s);
  });
  t.after(() => new Promise<void>((resolve) => app.close(() => resolve())));
  return { a, b, linkA: va, appConnections };
}
