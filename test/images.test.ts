// The images' Dockerfiles (controller, node agent, waypoint) read as build instructions,
// without a container engine: multi-stage, no build tools in the final image, the user each
// runs as, the capabilities each documents, and every file its program loads at run time
// copied into the final stage. What a program loads is derived from the built program
// itself (the import graph of dist/<program>/main.js, its workers and the files it opens
// by `new URL(..., import.meta.url)`), so a folder newly imported but not copied fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

interface Stage {
  from: string;
  name?: string;
  /** Instructions after FROM, continuation lines joined. */
  lines: string[];
}

/** The stages of a Dockerfile (comments dropped, `\` continuations joined). */
export function stagesOf(text: string): Stage[] {
  const joined = text.replace(/\\\n/g, ' ');
  const stages: Stage[] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (from) stages.push({ from: from[1]!, ...(from[2] && { name: from[2] }), lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  return stages;
}

interface Copy {
  from?: string;
  src: string;
  dest: string;
}

/** The final stage's COPY instructions, destinations resolved against its WORKDIR. */
function copiesOf(stage: Stage): Copy[] {
  let workdir = '/';
  const out: Copy[] = [];
  for (const l of stage.lines) {
    const wd = /^WORKDIR\s+(\S+)/i.exec(l);
    if (wd) workdir = wd[1]!;
    const m = /^COPY\s+(?:--from=(\S+)\s+)?(\S+)\s+(\S+)$/i.exec(l);
    if (m) out.push({ ...(m[1] && { from: m[1] }), src: m[2]!, dest: m[3]!.startsWith('/') ? m[3]! : join(workdir, m[3]!) });
  }
  return out;
}

/**
 * Is `file` (relative to the repository) at the same place in the final image? A COPY of
 * it or of a folder holding it from the build stage's /app, landing at /app/<same path>.
 */
function copied(copies: Copy[], file: string): boolean {
  return copies.some((c) => {
    if (!c.src.startsWith('/app/')) return false;
    const src = c.src.slice('/app/'.length).replace(/\/$/, '');
    // A file copied to a folder (`COPY x ./`) lands in it under its own name.
    const intoFolder = !c.src.endsWith('/') && (c.dest.endsWith('/') || c.dest.endsWith('/.'));
    const dest = intoFolder ? join(c.dest, basename(src)) : c.dest.replace(/\/$/, '');
    const inside = file === src || file.startsWith(`${src}/`);
    return inside && dest === join('/app', src);
  });
}

interface Loaded {
  /** Files under dist/ (and elsewhere) the program opens, relative to the repository. */
  files: Set<string>;
  /** Packages it imports (node_modules). */
  packages: Set<string>;
}

/** What dist/<program>/main.js loads: static and dynamic imports, workers, and files opened by URL relative to a module. */
export function loadedBy(entry: string): Loaded {
  const files = new Set<string>();
  const packages = new Set<string>();
  const stack = [resolve(REPO, entry)];
  while (stack.length > 0) {
    const file = stack.pop()!;
    const rel = relative(REPO, file);
    if (files.has(rel)) continue;
    files.add(rel);
    if (!file.endsWith('.js')) continue;
    const src = readFileSync(file, 'utf8');
    const specifiers = [
      ...[...src.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]!),
      ...[...src.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]!),
      ...[...src.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!),
    ];
    for (const s of specifiers) {
      if (s.startsWith('.')) stack.push(resolve(dirname(file), s));
      else if (!s.startsWith('node:')) packages.add(s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!);
    }
    // new Worker(new URL('./worker.js', import.meta.url)), DEFAULT_CONSOLE_DIR, the waypoint template...
    for (const m of src.matchAll(/new URL\(\s*['"](\.{1,2}\/[^'"]*)['"]\s*,\s*import\.meta\.url\s*\)/g)) {
      const target = resolve(dirname(file), m[1]!);
      if (existsSync(target) && statSync(target).isDirectory()) files.add(relative(REPO, target));
      else stack.push(target);
    }
  }
  return { files, packages };
}

const PROGRAMS = {
  controller: { dockerfile: 'controller/Dockerfile', root: false },
  waypoint: { dockerfile: 'waypoint/Dockerfile', root: false },
  'node-agent': { dockerfile: 'node-agent/Dockerfile', root: true },
} as const;

const BUILD_TOOLS = /\b(gcc|g\+\+|clang|make|python3?|build-essential|node-gyp|tsc|esbuild|cc)\b/;
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

for (const [program, spec] of Object.entries(PROGRAMS)) {
  const text = () => readFileSync(join(REPO, spec.dockerfile), 'utf8');
  const final = () => stagesOf(text()).at(-1)!;

  test(`${program}_image_is_multi_stage_and_its_final_stage_runs_no_build_tool`, () => {
    const stages = stagesOf(text());
    assert.ok(stages.length >= 2, `${spec.dockerfile}: one stage`);
    const runs = final().lines.filter((l) => /^RUN\s/i.test(l));
    for (const r of runs) assert.doesNotMatch(r, BUILD_TOOLS, `${spec.dockerfile}: the final stage runs a build tool: ${r}`);
    // Nothing copied from the build context itself: only built files from earlier stages.
    for (const c of copiesOf(final())) assert.ok(c.from, `${spec.dockerfile}: COPY ${c.src} in the final stage is not from a build stage`);
  });

  test(`${program}_image_takes_node_modules_from_a_stage_without_dev_dependencies`, () => {
    const stages = stagesOf(text());
    const nm = copiesOf(final()).find((c) => c.src.replace(/\/$/, '') === '/app/node_modules');
    assert.ok(nm?.from, `${spec.dockerfile}: node_modules not copied`);
    const from = stages.find((s) => s.name === nm.from);
    assert.ok(from, `${spec.dockerfile}: no stage ${nm.from}`);
    assert.ok(from.lines.some((l) => /^RUN\s.*npm ci\b.*--omit=dev/.test(l)), `${spec.dockerfile}: stage ${nm.from} does not run npm ci --omit=dev`);
    // Every package the program imports is a runtime dependency (a dev dependency is not in the image).
    for (const p of loadedBy(`dist/${program}/main.js`).packages) assert.ok(pkg.dependencies[p], `${program} imports ${p}, which is not in package.json's dependencies`);
  });

  test(`${program}_image_copies_every_file_its_program_loads`, () => {
    const copies = copiesOf(final());
    const needed = [...loadedBy(`dist/${program}/main.js`).files, 'package.json'];
    const missing = needed.filter((f) => !copied(copies, f));
    assert.deepEqual(missing, [], `${spec.dockerfile}: not copied into the final image`);
    assert.ok(final().lines.includes(`ENTRYPOINT ["node", "dist/${program}/main.js"]`), `${spec.dockerfile}: ENTRYPOINT`);
  });

  test(`${program}_image_user_and_documented_capabilities`, () => {
    const users = final().lines.filter((l) => /^USER\s/i.test(l)).map((l) => l.split(/\s+/)[1]!);
    assert.equal(users.length, 1, `${spec.dockerfile}: one USER in the final stage`);
    // Numeric, so that the kubelet can verify runAsNonRoot.
    const m = /^(\d+)(?::(\d+))?$/.exec(users[0]!);
    assert.ok(m, `${spec.dockerfile}: USER ${users[0]} is not numeric`);
    const header = text().split('\n').filter((l) => l.startsWith('#')).join('\n');
    if (spec.root) {
      assert.equal(m[1], '0');
      for (const cap of ['SYS_ADMIN', 'NET_ADMIN', 'NET_RAW']) assert.match(header, new RegExp(`#\\s+${cap}\\s+\\S`), `${spec.dockerfile}: ${cap} not documented`);
      assert.match(header, /Runs as root .*not privileged/);
    } else {
      assert.notEqual(m[1], '0', `${spec.dockerfile}: runs as root`);
      assert.match(header, /no capabilities at all/);
    }
  });
}

test('node_agent_image_holds_the_native_addon_and_the_cni_plugin_built_static', () => {
  const copies = copiesOf(stagesOf(readFileSync(join(REPO, 'node-agent/Dockerfile'), 'utf8')).at(-1)!);
  // core/syscalls.ts loads the addon from the repository root (the folder with package.json).
  assert.ok(loadedBy('dist/node-agent/main.js').files.has('dist/core/syscalls.js'));
  assert.ok(copied(copies, 'core/native/build/Release/syscalls.node'));
  assert.ok(copied(copies, 'node-agent/cni/build/ambient-cni'));
  const build = stagesOf(readFileSync(join(REPO, 'node-agent/Dockerfile'), 'utf8')).find((s) => s.name === 'build')!;
  assert.ok(build.lines.some((l) => /\bcc\b.*-static\b.*-o node-agent\/cni\/build\/ambient-cni node-agent\/cni\/plugin\.c/.test(l)), 'the CNI plugin runs on the node: linked statically');
});

test('waypoint_and_controller_load_no_native_addon', () => {
  for (const p of ['waypoint', 'controller']) assert.equal(loadedBy(`dist/${p}/main.js`).files.has('dist/core/syscalls.js'), false, p);
});

test('the_build_context_leaves_out_what_the_host_built', () => {
  const ignored = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const p of ['node_modules', 'dist', 'core/native/build', 'node-agent/cni/build', '.git']) assert.ok(ignored.includes(p), `.dockerignore lacks ${p}`);
});

test('the_dockerfile_reader_sees_a_missing_copy', () => {
  const stages = stagesOf('FROM a AS build\nRUN x\nFROM b\nWORKDIR /app\nCOPY --from=build /app/dist/core/ dist/core/\nUSER 1\n');
  const copies = copiesOf(stages.at(-1)!);
  assert.equal(copied(copies, 'dist/core/log.js'), true);
  assert.equal(copied(copies, 'dist/waypoint/main.js'), false);
  assert.equal(copied(copiesOf(stagesOf('FROM b\nWORKDIR /app\nCOPY --from=build /app/package.json ./\n').at(-1)!), 'package.json'), true);
  // Copied, but elsewhere than the program looks for it.
  assert.equal(copied(copiesOf(stagesOf('FROM b\nWORKDIR /srv\nCOPY --from=build /app/dist/core/ dist/core/\n').at(-1)!), 'dist/core/log.js'), false);
});
