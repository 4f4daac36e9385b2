// The handover as one agent lives it, in both roles (docs/protocol.md "Agent handover"),
// so that agent.ts only wires it:
//
//  - at start, as the new agent: take the old agent's listeners if one answers
//    (receive), serve them (the enrolment adopts each pod's, the node servers start on
//    theirs), and once every handed-over pod is served or adoptTimeoutMs passed, tell the
//    old agent (finish); then start the sockets the old agent held (CNI hand-off, this
//    handover socket). Until then the agent is not ready: a rollout must not stop the old
//    agent before it has handed over.
//  - then, as the old agent of the next upgrade: listen, hand over, and drain.
import { ErrorCodes, MeshError } from '../../core/errors.js';
import { HANDOVER_DEFAULTS } from '../../core/limits.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { startHandoverServer, takeOver, type HandoverCounter, type HandoverServer, type TakeOver } from './session.js';
import { workerCountAfterHandover, type HeldPod, type HeldSocket, type InheritedSockets } from './plan.js';

export interface AgentHandoverOptions {
  /** The handover socket (beside the CNI socket); false: no handover either way. */
  socket: string | false;
  node: string;
  metrics?: HandoverCounter;
  logger?: Logger;
  adoptTimeoutMs?: number;
}

export class AgentHandover {
  readonly #o: AgentHandoverOptions;
  readonly #log: Logger;
  #takeOver: TakeOver | undefined;
  #finishing: Promise<void> | undefined;
  #server: HandoverServer | undefined;
  #closed = false;

  constructor(opts: AgentHandoverOptions) {
    this.#o = opts;
    this.#log = opts.logger ?? silentLogger;
  }

  /** New agent: receives the old agent's listeners, if one answers. A failure midway is
   * logged (and counted) and the agent creates its own listeners: never thrown. */
  async receive(): Promise<void> {
    if (this.#o.socket === false) return;
    try {
      this.#takeOver = await takeOver({ socket: this.#o.socket, node: this.#o.node, ...(this.#o.metrics && { metrics: this.#o.metrics }), logger: this.#log });
      if (!this.#takeOver) this.#log.info({ socket: this.#o.socket }, 'agent handover: no agent to take over from; opening listeners afresh');
    } catch (err) {
      this.#log.error({ err: { code: (err as MeshError).code, message: (err as Error).message } }, 'agent handover: failed; opening listeners afresh (ports the old agent still holds are retried until it releases them)');
    }
  }

  /** What was received, for enrolment and the node servers to adopt (until finished). */
  get inherited(): InheritedSockets | undefined {
    return this.#takeOver?.inherited;
  }

  /** Taking over and not finished yet, or handing over to a newer agent: not ready. */
  get pending(): boolean {
    return (this.#takeOver !== undefined && !this.#finished) || this.#server?.handingOver === true;
  }
  #finished = false;

  workers(configured: number): number {
    const inherited = this.#takeOver?.inherited;
    if (!inherited) return configured;
    const n = workerCountAfterHandover(configured, inherited.shape());
    if (n !== configured) this.#log.warn({ configured, running: n }, 'agent handover: running as many data-path workers as the old agent had (its listeners need one each); the configured count applies at the next start without a handover');
    return n;
  }

  /**
   * New agent, once started: waits until every handed-over pod is served (or the adopt
   * timeout), completes the takeover, then runs `afterRelease` (start the sockets the old
   * agent held). Without a takeover, runs `afterRelease` at once. Retries afterRelease
   * (the old agent may hold the sockets a little longer after a failed handover).
   */
  finish(afterRelease: () => Promise<void>): Promise<void> {
    this.#finishing ??= (async () => {
      const t = this.#takeOver;
      if (t) {
        const deadline = Date.now() + (this.#o.adoptTimeoutMs ?? HANDOVER_DEFAULTS.adoptTimeoutMs);
        // Served, not merely claimed: a pod whose enrolment took its data-path listeners but
        // not yet its DNS sockets would lose those (closed below as leftovers) and then fail
        // to bind them while the old agent drains, its rollback closing the adopted
        // listeners too: every new connection of the pod refused.
        while (!this.#closed && t.inherited.unserved().length > 0 && Date.now() < deadline) await sleep(100);
        const left = t.inherited.unserved();
        if (left.length > 0) this.#log.warn({ pods: left }, 'agent handover: pods not adopted in time (gone, no longer enrolled, or their enrolment failed); the sockets not taken are closed');
        try {
          if (this.#closed) throw new MeshError(ErrorCodes.AGENT_HANDOVER_FAILED, 'the agent is stopping');
          await t.complete();
        } catch (err) {
          t.abandon((err as Error).message);
          this.#log.error({ err: { code: (err as MeshError).code, message: (err as Error).message } }, 'agent handover: the takeover did not complete; both agents serve until the old one stops');
        }
      }
      this.#finished = true;
      for (let attempt = 1; !this.#closed; attempt++) {
        try {
          await afterRelease();
          return;
        } catch (err) {
          if (attempt === 1 || attempt % 10 === 0) this.#log.warn({ err: (err as Error).message, attempt }, 'agent handover: the CNI or handover socket is still held; retrying');
          await sleep(Math.min(5_000, 250 * attempt));
        }
      }
    })();
    return this.#finishing;
  }

  /** Old agent of the next upgrade: listens for it. */
  async listen(opts: { held: () => Promise<{ pods: HeldPod[]; node: HeldSocket[] }>; onTakenOver: (adopted: string[]) => Promise<void> }): Promise<void> {
    if (this.#o.socket === false || this.#closed || this.#server) return;
    this.#server = await startHandoverServer({
      socket: this.#o.socket,
      node: this.#o.node,
      held: opts.held,
      onTakenOver: opts.onTakenOver,
      ...(this.#o.metrics && { metrics: this.#o.metrics }),
      logger: this.#log,
    });
  }

  /** A new agent took over: this one drains. */
  get handedOver(): boolean {
    return this.#server?.handedOver === true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    // Stopping before the takeover completed: the old agent keeps serving.
    if (this.#takeOver && !this.#finishing) this.#takeOver.abandon('the new agent is stopping');
    await this.#server?.close();
    await this.#finishing?.catch(() => {});
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
