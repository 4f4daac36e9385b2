// Load balancer micro-benchmark: `npm run bench:balance [-- flags]` (docs/performance.md,
// "Load balancing: cost of a pick"). Nanoseconds per pick of each algorithm of
// waypoint/balance/ at 10, 100 and 1000 endpoints, as the ratio to ROUND_ROBIN's, and the
// time to build a ring or Maglev table. In-process, no sockets: the balancer's own cost,
// which the request chain adds to every request.
//
// Each measurement: a warm-up, then --picks picks timed with process.hrtime, --repeat
// times, the median kept (the machine is shared; the median resists a neighbour's burst).
// Picks of the consistent hashes hash a different 10-character key each time (the key
// extraction itself, a header read, is not included). LEAST_REQUEST picks are tracked and
// released (as the request chain will), so its in-flight counts move. Bounded by the flags.
import { parseArgs } from 'node:util';
import type { LbAlgorithm, LoadBalancer } from '../../core/config/traffic-policy.js';
import { Balancer } from '../../waypoint/balance/balancer.js';
import type { EndpointInput } from '../../waypoint/balance/endpoint-set.js';
import { hash53 } from '../../waypoint/balance/hash.js';
import { buildMaglev } from '../../waypoint/balance/maglev.js';
import { seededRandom } from '../../waypoint/balance/random.js';
import { buildRing } from '../../waypoint/balance/ring-hash.js';
import { numberFlag } from './options.js';
import { fmt, median, ratio, table } from './report.js';

const HELP = `npm run bench:balance [-- flags]
  --picks N     picks per measurement (default 200000)
  --repeat N    measurements per case, the median kept (default 5)
  --sizes LIST  endpoint counts, comma-separated (default 10,100,1000)`;

const { values } = parseArgs({ args: process.argv.slice(2), options: { picks: { type: 'string' }, repeat: { type: 'string' }, sizes: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const PICKS = numberFlag('picks', values.picks, 200_000, 1_000, 10_000_000);
const REPEAT = numberFlag('repeat', values.repeat, 5, 1, 50);
const SIZES = (values.sizes ?? '10,100,1000').split(',').map((s) => numberFlag('sizes', s, 10, 1, 16_384));

const KEYS = Array.from({ length: 65_536 }, (_, i) => `user-${(i * 2654435761) >>> 0}`.slice(0, 10));

function endpoints(n: number, weighted: boolean): EndpointInput[] {
  return Array.from({ length: n }, (_, i) => ({
    endpoint: { ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 8080, mesh: true, identity: 'spiffe://cluster.local/ns/bench/sa/server' },
    ...(weighted && { weight: 1 + (i % 4) }),
  }));
}

function policy(algorithm: LbAlgorithm): LoadBalancer {
  return { algorithm, warmupMs: 0, localityPreference: true, ringSize: 1024, maglevTableSize: 65_537 };
}

/** Median ns per call of `fn(i)` over PICKS calls. */
function nsPer(fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(PICKS, 20_000); i++) fn(i); // warm-up (JIT)
  const runs: number[] = [];
  for (let r = 0; r < REPEAT; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < PICKS; i++) fn(i);
    runs.push(Number(process.hrtime.bigint() - t0) / PICKS);
  }
  return median(runs);
}

/** Median ms of `fn()`, `times` times. */
function msOf(fn: () => void, times: number): number {
  fn();
  const runs: number[] = [];
  for (let r = 0; r < times; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    runs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(runs);
}

const CASES: Array<{ name: string; algorithm: LbAlgorithm; weighted?: boolean }> = [
  { name: 'ROUND_ROBIN', algorithm: 'ROUND_ROBIN' },
  { name: 'ROUND_ROBIN weighted', algorithm: 'ROUND_ROBIN', weighted: true },
  { name: 'LEAST_REQUEST (+track)', algorithm: 'LEAST_REQUEST' },
  { name: 'LEAST_REQUEST weighted (+track)', algorithm: 'LEAST_REQUEST', weighted: true },
  { name: 'RANDOM', algorithm: 'RANDOM' },
  { name: 'RING_HASH (+hash)', algorithm: 'RING_HASH' },
  { name: 'MAGLEV (+hash)', algorithm: 'MAGLEV' },
];

let sink = 0;
const results = new Map<string, number[]>();
for (const c of CASES) {
  const row: number[] = [];
  for (const n of SIZES) {
    const b = new Balancer({ policy: policy(c.algorithm), now: () => 0, random: seededRandom(1) });
    b.update(endpoints(n, c.weighted === true));
    let fn: (i: number) => void;
    if (c.algorithm === 'LEAST_REQUEST')
      fn = () => {
        const r = b.pick();
        if (r.endpoint) b.track(r.key)();
      };
    else if (c.algorithm === 'RING_HASH' || c.algorithm === 'MAGLEV')
      fn = (i) => {
        if (b.pick(KEYS[i & 65_535]).endpoint) sink++;
      };
    else
      fn = () => {
        if (b.pick().endpoint) sink++;
      };
    row.push(nsPer(fn));
  }
  results.set(c.name, row);
}
const hashNs = nsPer((i) => (sink += hash53(KEYS[i & 65_535]!) > 0 ? 1 : 0));

const base = results.get('ROUND_ROBIN')!;
const header = ['ns per pick', ...SIZES.map((n) => `${n} endpoints`), ...SIZES.map((n) => `ratio @${n}`)];
const rows = [...results].map(([name, ns]) => [name, ...ns.map((x) => fmt(x, 0)), ...ns.map((x, i) => ratio(x, base[i]))]);
console.log(`Node ${process.version}, ${PICKS} picks x ${REPEAT} (median)\n`);
console.log(table([header, ...rows]));
console.log(`\nhash53 of a 10-character key alone: ${fmt(hashNs, 0)} ns`);

const build = SIZES.map((n) => {
  const list = endpoints(n, false).map((e) => ({ key: `${e.endpoint.ip}:8080`, weight: 1 }));
  return [String(n), fmt(msOf(() => void buildRing(list, 1024, 262_144), 5), 2), fmt(msOf(() => void buildMaglev(list, 65_537), 5), 2)];
});
console.log(`\n${table([['table build (ms)', 'RING_HASH ringSize 1024', 'MAGLEV 65537'], ...build])}`);
if (sink < 0) console.log(sink); // keeps the picks from being optimised away
