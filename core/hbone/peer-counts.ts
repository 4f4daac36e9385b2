// How many connections (or streams) each peer holds open on one HBONE listener, by source
// address and by identity, against a limit for each: one peer must not take every socket
// of a pod's 15008 (or the file descriptors its upstream connections use). Pure.
import type { PeerKeys } from './penalty-box.js';

export interface PeerLimits {
  perAddress: number;
  perIdentity: number;
}

export class PeerCounts {
  readonly #limits: PeerLimits;
  readonly #byAddress = new Map<string, number>();
  readonly #byIdentity = new Map<string, number>();

  constructor(limits: PeerLimits) {
    this.#limits = limits;
  }

  /** Takes one for the peer, or names the limit it would exceed (and takes nothing). */
  acquire(peer: PeerKeys): 'address' | 'identity' | undefined {
    if ((this.#byAddress.get(peer.address) ?? 0) >= this.#limits.perAddress) return 'address';
    if (peer.identity !== undefined && (this.#byIdentity.get(peer.identity) ?? 0) >= this.#limits.perIdentity) return 'identity';
    this.#byAddress.set(peer.address, (this.#byAddress.get(peer.address) ?? 0) + 1);
    if (peer.identity !== undefined) this.#byIdentity.set(peer.identity, (this.#byIdentity.get(peer.identity) ?? 0) + 1);
    return undefined;
  }

  /** Gives back one taken by acquire (the same keys). */
  release(peer: PeerKeys): void {
    dec(this.#byAddress, peer.address);
    if (peer.identity !== undefined) dec(this.#byIdentity, peer.identity);
  }

  of(peer: PeerKeys): { address: number; identity: number } {
    return { address: this.#byAddress.get(peer.address) ?? 0, identity: peer.identity === undefined ? 0 : this.#byIdentity.get(peer.identity) ?? 0 };
  }
}

function dec(m: Map<string, number>, k: string): void {
  const n = (m.get(k) ?? 0) - 1;
  if (n > 0) m.set(k, n);
  else m.delete(k);
}
