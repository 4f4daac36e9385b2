// What one node agent hands the next, and how the next one takes it (docs/protocol.md
// "Agent handover"). Pure: the old agent's planOffer turns what it holds into frames; the
// new agent's InheritedSockets holds what arrived until enrolment adopts it, and
// workerCountAfterHandover picks how many data-path workers can serve it.
import { MAX_FDS_PER_FRAME, protocolError, type HandoverMessage, type NodeRole, type SocketOwner, type SocketRef } from './protocol.js';

/** A socket the old agent holds: what it is and its descriptor in the old process. */
export interface HeldSocket extends SocketRef {
  fd: number;
}

/** One enrolled pod's listeners (every data-path worker's, and its DNS proxy's). */
export interface HeldPod {
  uid: string;
  netnsPath: string;
  sockets: HeldSocket[];
}

export interface PlannedFrame {
  message: HandoverMessage;
  fds: number[];
}

/**
 * The frames the old agent sends after "hello": each pod's sockets (split at 253
 * descriptors a frame), the node's servers, then "end". A pod without sockets is left
 * out (nothing to adopt: the new agent enrols it afresh).
 */
export function planOffer(pods: readonly HeldPod[], node: readonly HeldSocket[]): PlannedFrame[] {
  const frames: PlannedFrame[] = [];
  const push = (owner: SocketOwner, sockets: readonly HeldSocket[]) => {
    for (let i = 0; i < sockets.length; i += MAX_FDS_PER_FRAME) {
      const chunk = sockets.slice(i, i + MAX_FDS_PER_FRAME);
      frames.push({ message: { t: 'sockets', owner, sockets: chunk.map(({ fd: _fd, ...ref }) => ref) }, fds: chunk.map((s) => s.fd) });
    }
  };
  let offered = 0;
  for (const p of pods) {
    if (p.sockets.length === 0) continue;
    offered++;
    push({ kind: 'pod', uid: p.uid, netnsPath: p.netnsPath }, p.sockets);
  }
  if (node.length > 0) push({ kind: 'node' }, node);
  frames.push({ message: { t: 'end', pods: offered }, fds: [] });
  return frames;
}

/** A received socket, checked against what the message says it is. */
export interface ReceivedSocket extends SocketRef {
  fd: number;
  /** SO_REUSEPORT is set on it (other workers may add listeners beside it). */
  reusePort: boolean;
}

const key = (proto: string, host: string, port: number) => `${proto} ${host}:${port}`;

/** How a pod's data path names a listener it may adopt (PodSpec.adopt). */
export const adoptKey = (host: string, port: number) => `${host} ${port}`;

/**
 * What the new agent received, until enrolment adopts it. Every descriptor is owned here
 * until taken; `leftovers()` gives those never taken (the caller closes them once it has
 * taken over, which frees sockets the old agent released too).
 */
export class InheritedSockets {
  /** netnsPath -> the pod's uid, its sockets by key, and how far enrolment got with it:
   * a pod is claimed at its first take() but served only once enrolment has taken every
   * socket it needs and started serving (served()). */
  readonly #pods = new Map<string, { uid: string; sockets: Map<string, ReceivedSocket[]>; claimed: boolean; served: boolean }>();
  readonly #node = new Map<NodeRole, ReceivedSocket>();
  #count = 0;

  constructor(readonly maxSockets = Number.POSITIVE_INFINITY) {}

  /** A "sockets" frame, its descriptors checked (the caller closes them when this throws). */
  add(owner: SocketOwner, sockets: readonly ReceivedSocket[]): void {
    if (this.#count + sockets.length > this.maxSockets) throw protocolError(`more than ${this.maxSockets} sockets offered`);
    if (owner.kind === 'node') {
      for (const s of sockets) {
        if (s.role === undefined || this.#node.has(s.role)) throw protocolError(`node socket ${s.role ?? '(no role)'} offered twice or without a role`);
      }
      for (const s of sockets) this.#node.set(s.role!, s);
    } else {
      let pod = this.#pods.get(owner.netnsPath);
      if (pod && pod.uid !== owner.uid) throw protocolError(`network namespace ${owner.netnsPath} offered for pods ${pod.uid} and ${owner.uid}`);
      if (!pod) this.#pods.set(owner.netnsPath, (pod = { uid: owner.uid, sockets: new Map(), claimed: false, served: false }));
      for (const s of sockets) {
        const k = key(s.proto, s.host, s.port);
        const list = pod.sockets.get(k) ?? [];
        list.push(s);
        pod.sockets.set(k, list);
      }
    }
    this.#count += sockets.length;
  }

  get size(): number {
    return this.#count;
  }

  /** Takes every descriptor handed over for this pod socket (one per old worker). */
  take(netnsPath: string, proto: 'tcp' | 'udp', host: string, port: number): number[] {
    const pod = this.#pods.get(netnsPath);
    if (!pod) return [];
    pod.claimed = true;
    const k = key(proto, host, port);
    const list = pod.sockets.get(k) ?? [];
    pod.sockets.delete(k);
    this.#count -= list.length;
    return list.map((s) => s.fd);
  }

  /** The node-level server's descriptor, taken. */
  takeNode(role: NodeRole): number | undefined {
    const s = this.#node.get(role);
    if (!s) return undefined;
    this.#node.delete(role);
    this.#count--;
    return s.fd;
  }

  /** Enrolment serves the pod now: every socket of it that it needed is taken. */
  served(netnsPath: string): void {
    const pod = this.#pods.get(netnsPath);
    if (pod) pod.served = true;
  }

  /** Handed-over pods enrolment does not serve yet (not started, or still taking and
   * starting: its DNS sockets, say, not taken yet), by uid. The takeover must wait for
   * them: completing it closes every descriptor not taken, and the old agent stops
   * accepting, so a pod half-way through would lose the ports it had not taken yet. */
  unserved(): string[] {
    return [...this.#pods.values()].filter((p) => !p.served).map((p) => p.uid);
  }

  /** Handed-over pods enrolment has not taken anything of yet, by uid. */
  unclaimed(): string[] {
    return [...this.#pods.values()].filter((p) => !p.claimed).map((p) => p.uid);
  }

  /** Pods whose sockets enrolment took (the "taken-over" message's list). */
  claimed(): string[] {
    return [...this.#pods.values()].filter((p) => p.claimed).map((p) => p.uid);
  }

  /** The most descriptors any one pod socket came with (the old agent's workers), and
   * whether all of them allow more listeners beside them (SO_REUSEPORT). */
  shape(): { perSocket: number; reusePort: boolean } {
    let perSocket = 0;
    let reusePort = true;
    for (const p of this.#pods.values()) {
      for (const list of p.sockets.values()) {
        if (list[0]?.proto !== 'tcp') continue;
        perSocket = Math.max(perSocket, list.length);
        reusePort &&= list.every((s) => s.reusePort);
      }
    }
    return { perSocket, reusePort };
  }

  /** Every descriptor not taken, now no longer held here. */
  leftovers(): number[] {
    const fds = [...this.#node.values()].map((s) => s.fd);
    for (const p of this.#pods.values()) for (const list of p.sockets.values()) fds.push(...list.map((s) => s.fd));
    this.#pods.clear();
    this.#node.clear();
    this.#count = 0;
    return fds;
  }
}

/**
 * How many data-path workers the new agent runs. Each handed-over listener must be served
 * by a worker (closing one would reset the connections in its accept queue), and more
 * workers can only listen beside them when they have SO_REUSEPORT. So: the configured
 * count when that serves them all, else the old agent's count (the configured one takes
 * effect at a start without a handover, or when it only adds workers beside SO_REUSEPORT
 * listeners).
 */
export function workerCountAfterHandover(configured: number, inherited: { perSocket: number; reusePort: boolean }): number {
  const { perSocket } = inherited;
  if (perSocket === 0) return configured;
  if (perSocket > configured) return perSocket;
  if (perSocket < configured && !inherited.reusePort) return perSocket;
  return configured;
}

/** Only root may take an agent's listeners over (or hand them): pure, a reason to refuse or undefined. */
export function judgeHandoverPeer(creds: { pid: number; uid: number } | undefined): string | undefined {
  if (creds === undefined) return "the peer's credentials cannot be read (SO_PEERCRED)";
  if (creds.uid !== 0) return `peer pid ${creds.pid} runs as uid ${creds.uid}, not root: only a node agent (root) may take over or hand over listeners`;
  return undefined;
}

/** The handover socket beside the CNI socket: the same root-only, per-node directory. */
export const HANDOVER_SOCKET_NAME = 'handover.sock';
