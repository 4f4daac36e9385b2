// Sends the traffic summary to the controller every reportIntervalMs over the controller
// connection the proxy already holds (POST /v1/telemetry on 15012, authenticated like the
// config stream; docs/protocol.md). Never in the data path's way: one report in flight at
// most (a tick while one is in flight is skipped; the summary keeps folding, bounded), and
// a report that is refused or fails is dropped, not retried (counted in `stats`).
import type { Logger } from '../../core/log.js';
import { TELEMETRY_LIMITS, type TelemetryReport } from '../../core/observe/telemetry-wire.js';

export interface TelemetryReporterOptions {
  /** What to send now, or undefined when there is nothing (TrafficTelemetry.takeReport, or several merged). */
  take: () => TelemetryReport | undefined;
  /** Sends one report (ControllerClient.sendTelemetry); rejects when refused or failed. */
  send: (body: string) => Promise<unknown>;
  intervalMs?: number;
  logger?: Logger;
  /** Called with a report that was refused or lost (what it carried may need sending again). */
  onDropped?: (report: TelemetryReport) => void;
}

export interface TelemetryReporterStats {
  sent: number;
  /** Reports refused by the controller or lost on the way: dropped. */
  dropped: number;
  /** Ticks skipped because the previous report was still in flight. */
  skipped: number;
  lastError?: string;
}

export class TelemetryReporter {
  readonly stats: TelemetryReporterStats = { sent: 0, dropped: 0, skipped: 0 };
  readonly #o: TelemetryReporterOptions;
  #timer?: NodeJS.Timeout;
  #inflight?: Promise<void>;

  constructor(o: TelemetryReporterOptions) {
    this.#o = o;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.flush(), this.#o.intervalMs ?? TELEMETRY_LIMITS.reportIntervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Sends what there is now (tests, and the timer). Resolves when that report is done. */
  flush(): Promise<void> {
    if (this.#inflight) {
      this.stats.skipped++;
      return this.#inflight;
    }
    let report: TelemetryReport | undefined;
    try {
      report = this.#o.take();
    } catch (err) {
      this.stats.lastError = (err as Error).message;
      return Promise.resolve();
    }
    if (report === undefined) return Promise.resolve();
    const body = JSON.stringify(report);
    this.#inflight = this.#o
      .send(body)
      .then(
        () => {
          this.stats.sent++;
        },
        (err: Error) => {
          this.stats.dropped++;
          this.stats.lastError = err.message;
          this.#o.logger?.debug({ err: err.message, edges: report!.edges.length, flows: report!.flows.length }, 'telemetry report dropped');
          this.#o.onDropped?.(report!);
        },
      )
      .finally(() => {
        this.#inflight = undefined;
      });
    return this.#inflight;
  }
}
