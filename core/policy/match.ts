// Value matching for authorization policies, as Istio defines it for each field
// (https://istio.io/latest/docs/reference/config/security/authorization-policy/, "Value
// matching" of the Rule, Source and Operation fields):
//   - exact:    "abc" matches "abc" only;
//   - prefix:   "abc*" matches "abc" and "abcxyz";
//   - suffix:   "*abc" matches "abc" and "xyzabc";
//   - presence: "*" matches any NON-EMPTY value (an absent or empty value matches nothing).
// The same four forms as istiod hands to ztunnel (pilot/pkg/serviceregistry/ambient/
// authorization.go, stringToMatch) and ztunnel applies (src/rbac.rs, StringMatch::matches).
// Pure: no I/O, never throws; a malformed value simply matches nothing.
import net from 'node:net';
import { canonicalIp } from '../ip.js';

/** Istio's value matching: exact, `prefix*`, `*suffix`, `*` (non-empty). `*` is only special
 * as the first or last character; a pattern is never a regular expression. */
export function matchString(pattern: string, value: string): boolean {
  if (pattern === '*') return value !== '';
  if (pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  return pattern === value;
}

/**
 * `to[].operation.hosts` against the request's Host (:authority): Istio's value matching,
 * case-insensitive (RFC 4343; Istio's HostMatcher sets ignore_case since the advisory
 * GHSA-7774-7vr3-cc8j). The port is NOT ignored: as in Istio, an exact pattern
 * `example.com` does not match `example.com:8080`; Istio's documented way to match any port
 * is the prefix form `example.com*` or listing `example.com:*` beside `example.com`.
 */
export function matchHost(pattern: string, host: string): boolean {
  return matchString(pattern.toLowerCase(), host.toLowerCase());
}

/** Istio's path template operators (`{*}`: one segment, `{**}`: the rest of the path). */
export const PATH_TEMPLATE_ONE = '{*}';
export const PATH_TEMPLATE_ANY = '{**}';

/** Whether a `paths` value is a path template (Istio's security.ContainsPathTemplate). */
export function isPathTemplate(pattern: string): boolean {
  return pattern.includes(PATH_TEMPLATE_ONE) || pattern.includes(PATH_TEMPLATE_ANY);
}

/**
 * `to[].operation.paths` against the request path. The query string (`?...`) and fragment are
 * not part of the path (Istio compiles paths to Envoy's url_path matcher, which excludes
 * the query). Forms: exact, `prefix*`, `*suffix`, `*`, and Istio's path templates:
 * `{*}` matches exactly one non-empty segment, `{**}` (last operator only) matches the rest
 * of the path, any number of segments including none (Envoy's uri_template, which Istio
 * uses for paths holding `{*}`/`{**}`: pilot/pkg/security/authz/matcher/template.go).
 */
export function matchPath(pattern: string, path: string): boolean {
  const p = stripQuery(path);
  if (!isPathTemplate(pattern)) return matchString(pattern, p);
  const re = templateRegExp(pattern);
  return re !== undefined && re.test(p);
}

function stripQuery(path: string): string {
  let end = path.length;
  const q = path.indexOf('?');
  if (q >= 0) end = q;
  const h = path.indexOf('#');
  if (h >= 0 && h < end) end = h;
  return path.slice(0, end);
}

/** Bounds on the matchers' caches of parsed policy values (documented in
 * docs/configuration.md). A full cache is cleared, never grown. */
export const MATCH_CACHE_LIMITS = {
  /** Path templates (`{*}`, `{**}`) compiled to regular expressions. */
  maxPathTemplates: 1024,
  /** IP blocks parsed. */
  maxIpBlocks: 4096,
} as const;

const templateCache = new Map<string, RegExp | undefined>();

function templateRegExp(pattern: string): RegExp | undefined {
  if (templateCache.has(pattern)) return templateCache.get(pattern);
  let re: RegExp | undefined;
  const segments = pattern.split('/');
  const parts: string[] = [];
  let sawAny = false;
  let ok = true;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (sawAny) {
      // Istio refuses anything after `{**}` (security.CheckValidPathTemplate); so do we.
      ok = false;
      break;
    }
    if (s === PATH_TEMPLATE_ONE) parts.push('[^/]+');
    else if (s === PATH_TEMPLATE_ANY) {
      sawAny = true;
      parts.push('.*');
    } else if (s.includes('{') || s.includes('}')) {
      ok = false;
      break;
    } else parts.push(escapeRegExp(s));
  }
  if (ok) re = new RegExp(`^${parts.join('/')}$`, 's');
  if (templateCache.size >= MATCH_CACHE_LIMITS.maxPathTemplates) templateCache.clear();
  templateCache.set(pattern, re);
  return re;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Whether `ip` is in `cidrOrIp` (a CIDR `10.0.0.0/8`, `2001:db8::/32`, or a single address,
 * which is a /32 or /128). Both may be spelled any way: they are canonicalised first, so
 * the IPv4-mapped `::ffff:10.0.0.1` is 10.0.0.1 and matches `10.0.0.0/8` (Node reports an
 * IPv4 peer on a dual-stack socket that way); a mapped block `::ffff:10.0.0.0/104` is the
 * IPv4 block 10.0.0.0/8. Host bits set in the block's address are ignored, as Go's
 * netip.Prefix and ztunnel's IpNet do. IPv4 never matches an IPv6 block and conversely.
 * Never throws: a malformed address or block matches nothing.
 */
export function ipInBlock(ip: string, cidrOrIp: string): boolean {
  if (typeof ip !== 'string' || typeof cidrOrIp !== 'string') return false;
  const addr = canonicalIp(ip);
  const family = net.isIPv4(addr) ? 'ipv4' : net.isIPv6(addr) ? 'ipv6' : undefined;
  if (!family) return false;
  const block = compiledBlock(cidrOrIp);
  if (!block || block.family !== family) return false;
  try {
    return block.list.check(addr, family);
  } catch {
    return false;
  }
}

/** Parsed blocks, by their spelling: the agent matches the same policy blocks on every
 * connection. Bounded; cleared when full (the blocks come from compiled policies). */
const blockCache = new Map<string, (Block & { list: net.BlockList }) | null>();

function compiledBlock(text: string): (Block & { list: net.BlockList }) | undefined {
  const cached = blockCache.get(text);
  if (cached !== undefined) return cached ?? undefined;
  let out: (Block & { list: net.BlockList }) | null = null;
  const block = parseBlock(text);
  if (block) {
    try {
      const list = new net.BlockList();
      list.addSubnet(block.address, block.prefix, block.family);
      out = { ...block, list };
    } catch {
      out = null;
    }
  }
  if (blockCache.size >= MATCH_CACHE_LIMITS.maxIpBlocks) blockCache.clear();
  blockCache.set(text, out);
  return out ?? undefined;
}

interface Block {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

function parseBlock(text: string): Block | undefined {
  const s = text.trim();
  const slash = s.indexOf('/');
  const rawAddr = slash >= 0 ? s.slice(0, slash) : s;
  const rawPrefix = slash >= 0 ? s.slice(slash + 1) : undefined;
  if (!net.isIP(rawAddr)) return undefined;
  const wasV6 = net.isIPv6(rawAddr);
  const address = canonicalIp(rawAddr);
  const family = net.isIPv4(address) ? 'ipv4' : 'ipv6';
  let prefix: number;
  if (rawPrefix === undefined) prefix = family === 'ipv4' ? 32 : 128;
  else {
    if (!/^\d{1,3}$/.test(rawPrefix)) return undefined;
    prefix = Number(rawPrefix);
  }
  if (wasV6 && family === 'ipv4') {
    // An IPv4-mapped block written in IPv6: its prefix counts the 96 bits of ::ffff:0:0.
    if (rawPrefix === undefined) prefix = 32;
    else if (prefix < 96 || prefix > 128) return undefined;
    else prefix -= 96;
  }
  if (prefix > (family === 'ipv4' ? 32 : 128)) return undefined;
  return { address, prefix, family };
}
