// The Node.js the mesh runs on: every image on the chosen LTS line at a release with the
// HTTP/2 security fixes, and package.json's `engines` admitting exactly the supported
// lines at such releases (and the Node running this test). docs/architecture.md ("Node.js
// runtime") says why these versions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The line the images run: Node 24 'Krypton' (LTS until the end of April 2028). */
const IMAGE_LINE = 24;

/**
 * Per supported line, the first release with every HTTP/2 fix known to the project:
 * rapid reset (CVE-2023-44487: 18.18.2 / 20.8.1), the session-destructor crash
 * (CVE-2024-27983: 20.12.1), the malformed-HEADERS crash (CVE-2025-59465: 20.20.0,
 * 22.22.0, 24.13.0), NGHTTP2_ERR_FLOW_CONTROL handling (CVE-2026-21714: 20.20.2, 22.22.2,
 * 24.14.1), header memory accounting and deferred RST (CVE-2026-56846/56848: 22.23.2,
 * 24.18.1), and the stream/buffer lifetime fixes of 2026-11-11 (CVE-2026-123863/123865/
 * 123866/123874/123868: 22.23.5, 24.22.3). Node 20 ended with 20.20.2 (end of life since
 * April 2026): it is admitted for development only and no image runs it.
 */
const HTTP2_FIXED: Record<number, string> = { 20: '20.20.2', 22: '22.23.5', 24: '24.22.3' };

type Version = [number, number, number];

function parseVersion(v: string): Version {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(v.trim());
  assert.ok(m, `not a version: ${v}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** npm's range semantics for what `engines` uses here: `^X.Y.Z` and `>=X.Y.Z` joined by `||`. */
function satisfies(version: string, range: string): boolean {
  const v = parseVersion(version);
  return range.split('||').some((part) => {
    const m = /^\s*(\^|>=)\s*(\d+\.\d+\.\d+)\s*$/.exec(part);
    assert.ok(m, `engines: unsupported range part ${JSON.stringify(part)} (use ^X.Y.Z or >=X.Y.Z)`);
    const floor = parseVersion(m[2]!);
    if (compare(v, floor) < 0) return false;
    return m[1] === '>=' || v[0] === floor[0];
  });
}

function dockerfiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) dockerfiles(p, out);
    else if (name === 'Dockerfile' || name.endsWith('.Dockerfile')) out.push(p);
  }
  return out;
}

const engines = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;

test('every_image_runs_the_chosen_lts_line_at_a_release_with_the_http2_fixes', () => {
  const files = dockerfiles(REPO);
  assert.ok(files.length >= 5, `Dockerfiles found: ${files.join(', ')}`);
  const versions = new Set<string>();
  for (const f of files) {
    const froms = readFileSync(f, 'utf8').match(/^FROM\s+\S+/gm) ?? [];
    assert.ok(froms.length > 0, `${f}: no FROM`);
    for (const from of froms) {
      const m = /^FROM\s+node:(\d+\.\d+\.\d+)-slim$/.exec(from);
      assert.ok(m, `${f}: "${from}" is not node:<major.minor.patch>-slim (pin the release, not a floating tag)`);
      const v = parseVersion(m[1]!);
      assert.equal(v[0], IMAGE_LINE, `${f}: ${from} is not on Node ${IMAGE_LINE}`);
      assert.ok(compare(v, parseVersion(HTTP2_FIXED[IMAGE_LINE]!)) >= 0, `${f}: ${from} predates ${HTTP2_FIXED[IMAGE_LINE]} (HTTP/2 fixes)`);
      versions.add(m[1]!);
    }
  }
  assert.equal(versions.size, 1, `every image on the same release: ${[...versions].join(', ')}`);
  assert.ok(satisfies([...versions][0]!, engines), `engines ${engines} admits the images' Node`);
});

test('engines_admits_the_running_node_and_no_release_without_the_http2_fixes', () => {
  assert.ok(satisfies(process.versions.node, engines), `engines ${engines} does not admit the running Node ${process.versions.node}`);
  for (const fixed of Object.values(HTTP2_FIXED)) assert.ok(satisfies(fixed, engines), `engines ${engines} admits ${fixed}`);
  // Releases without the fixes, lines that are not LTS, and lines past their end of life.
  for (const old of ['18.20.8', '20.8.0', '20.12.0', '20.19.5', '20.20.1', '21.7.3', '22.12.0', '22.22.2', '22.23.4', '23.11.1', '24.13.0', '24.18.0', '24.22.2', '25.9.0']) {
    assert.equal(satisfies(old, engines), false, `engines ${engines} must not admit ${old}`);
  }
});

test('version_range_check_follows_npm_for_caret_and_floor', () => {
  assert.ok(satisfies('24.30.0', '^24.22.3'));
  assert.ok(!satisfies('26.0.0', '^24.22.3'));
  assert.ok(satisfies('26.0.0', '>=24.22.3'));
  assert.ok(!satisfies('24.22.2', '^20.20.2 || ^24.22.3'));
  assert.ok(satisfies('v20.20.2', '^20.20.2 || ^24.22.3'));
  assert.throws(() => satisfies('20.0.0', '~20.1.0'), /unsupported range part/);
});
