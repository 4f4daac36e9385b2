// `--timeout` of the commands that wait on the cluster (install, upgrade, uninstall,
// waypoint apply --wait): one syntax for all of them, read by core/duration.ts.
import { parseDuration } from '../core/duration.js';
import { flagError } from './errors.js';

/** `90s`, `5m`, `1h30m`, `1.5m`, or a number of seconds (`120`), in ms; at least `minMs`. */
export function waitTimeoutMs(v: string, minMs = 0): number {
  return parseDuration('--timeout', v, { bareUnit: 's', fractions: true, trim: true, min: minMs, error: flagError });
}
