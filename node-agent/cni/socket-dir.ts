// The hand-off socket's directory, made safe before the agent binds (refusing squatters):
// only root may create, rename or connect to anything in it, so what the plugin reaches
// there is the agent. Decisions are pure (judge*); prepareSocketDir does the I/O.
//
//  - every ancestor of the directory is owned by root and not writable by group or others
//    (a sticky directory such as /tmp is fine: others cannot rename root's entries), so
//    nobody else can swap the directory for their own;
//  - the directory itself is created 0700 by the agent; one that exists must be a real
//    directory owned by root without group or other write permission (0755 left by a
//    hostPath DirectoryOrCreate is tightened to 0700; 0777, or another owner, is refused);
//  - a socket left there is removed only when nothing answers on it (a crashed agent's);
//    when another agent answers, this one refuses to start.
import { lstat, mkdir, chmod, realpath, rm } from 'node:fs/promises';
import net from 'node:net';
import { dirname, sep } from 'node:path';
import { ErrorCodes, MeshError } from '../../core/errors.js';
import { CNI_DEFAULTS } from '../../core/limits.js';
import { socketPathProblem } from './socket-path.js';

export interface PathFacts {
  isDirectory: boolean;
  isSymbolicLink: boolean;
  isSocket: boolean;
  uid: number;
  /** st_mode's permission bits, with setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
}

const unsafe = (msg: string) => new MeshError(ErrorCodes.CNI_SOCKET_UNSAFE, msg);
const octal = (mode: number) => `0${(mode & 0o7777).toString(8)}`;
const STICKY = 0o1000;

/** An ancestor of the socket directory: a reason to refuse, or undefined. Pure. */
export function judgeAncestor(path: string, f: PathFacts, rootUid = 0): string | undefined {
  if (!f.isDirectory) return `${path} is not a directory`;
  if (f.uid !== rootUid) return `${path} is owned by uid ${f.uid}, not root: its owner could replace the socket directory`;
  if ((f.mode & 0o022) !== 0 && (f.mode & STICKY) === 0) return `${path} (mode ${octal(f.mode)}) is writable by group or others without the sticky bit: they could replace the socket directory`;
  return undefined;
}

export type DirVerdict = { ok: true; tighten: boolean } | { ok: false; reason: string };

/** The socket directory that already exists. Pure. */
export function judgeSocketDir(path: string, f: PathFacts, rootUid = 0): DirVerdict {
  if (f.isSymbolicLink) return { ok: false, reason: `${path} is a symbolic link, not a directory the agent owns` };
  if (!f.isDirectory) return { ok: false, reason: `${path} exists and is not a directory` };
  if (f.uid !== rootUid) return { ok: false, reason: `${path} is owned by uid ${f.uid}, not root: someone else created it before the agent (squatting)` };
  if ((f.mode & 0o022) !== 0) return { ok: false, reason: `${path} has mode ${octal(f.mode)}: group or others may create entries in it (squatting)` };
  return { ok: true, tighten: (f.mode & 0o7777) !== 0o700 };
}

/** A file found where the socket goes. Pure. */
export function judgeExistingSocket(path: string, f: PathFacts, rootUid = 0): string | undefined {
  if (!f.isSocket) return `${path} exists and is not a socket: refusing to replace it`;
  if (f.uid !== rootUid) return `${path} is a socket of uid ${f.uid}, not root`;
  return undefined;
}

function facts(st: import('node:fs').Stats): PathFacts {
  return { isDirectory: st.isDirectory(), isSymbolicLink: st.isSymbolicLink(), isSocket: st.isSocket(), uid: st.uid, mode: st.mode & 0o7777 };
}

async function lstatOrUndefined(path: string): Promise<PathFacts | undefined> {
  try {
    return facts(await lstat(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Makes the socket's directory safe (creating it, and missing ancestors 0755, when
 * absent) and clears a stale socket. Throws MeshError(CNI_SOCKET_UNSAFE) with the reason
 * when the path cannot be trusted.
 */
export async function prepareSocketDir(socketPath: string): Promise<void> {
  const problem = socketPathProblem(socketPath);
  if (problem) throw unsafe(`the CNI socket ${problem}`);
  const rootUid = process.getuid?.() ?? 0;
  const dir = dirname(socketPath);
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true, mode: 0o755 });
  // The ancestors as the kernel resolves them (/var/run is often a link to /run).
  const real = await realpath(parent);
  let at = '';
  for (const part of ['', ...real.split(sep).filter(Boolean)]) {
    at = at === '/' || at === '' ? `/${part}` : `${at}/${part}`;
    const reason = judgeAncestor(at, facts(await lstat(at)), rootUid);
    if (reason) throw unsafe(`the CNI socket directory cannot be trusted: ${reason}`);
  }

  let f = await lstatOrUndefined(dir);
  if (f === undefined) {
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // created meanwhile: judged below
    }
    f = (await lstatOrUndefined(dir))!;
  }
  const verdict = judgeSocketDir(dir, f, rootUid);
  if (!verdict.ok) throw unsafe(`refusing the CNI socket directory: ${verdict.reason}. Remove it (the agent creates it 0700) or fix its owner and mode`);
  if (verdict.tighten) await chmod(dir, 0o700);

  const existing = await lstatOrUndefined(socketPath);
  if (existing === undefined) return;
  const reason = judgeExistingSocket(socketPath, existing, rootUid);
  if (reason) throw unsafe(reason);
  if (await answers(socketPath)) throw unsafe(`another node agent is already listening on ${socketPath}`);
  await rm(socketPath); // a crashed agent's: bind would fail with EADDRINUSE
}

/** Whether something accepts connections on the socket (a stale one refuses them). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(path);
    const timer = setTimeout(() => done(true), CNI_DEFAULTS.staleProbeTimeoutMs); // a full backlog: somebody is there
    const done = (alive: boolean) => {
      clearTimeout(timer);
      c.destroy();
      resolve(alive);
    };
    c.once('connect', () => done(true));
    c.once('error', (err: NodeJS.ErrnoException) => done(err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT'));
  });
}

/**
 * Removes the socket's directory: the mesh is being taken off the node, and while the
 * directory exists the plugin fails ADD (plugin.c: "the mesh runs here"). A symbolic link
 * or a file in its place is not the agent's and is left alone (an error says so).
 */
export async function removeSocketDir(socketPath: string): Promise<void> {
  const dir = dirname(socketPath);
  const f = await lstatOrUndefined(dir);
  if (f === undefined) return;
  if (f.isSymbolicLink || !f.isDirectory) throw unsafe(`${dir} is not the agent's socket directory (a ${f.isSymbolicLink ? 'symbolic link' : 'file'}): not removed`);
  await rm(dir, { recursive: true, force: true });
}
