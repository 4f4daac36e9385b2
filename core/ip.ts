// IP address helpers shared by the agent's lookups, every loopback check and the policy compiler's IP blocks. Addresses reach the planners from several
// sources (config resources, SO_ORIGINAL_DST, a socket's remoteAddress, an HBONE
// :authority) and each may spell the same address differently: Node reports an IPv4 peer
// on a dual-stack socket as `::ffff:10.0.0.1`, and IPv6 may arrive upper-case or with
// zeros written out. Every index key and every lookup goes through `canonicalIp`, so
// `10.0.0.1`, `::ffff:10.0.0.1` and `::FFFF:a00:1` all find the same workload.

import net from 'node:net';

/** IPv4 dotted quad, or IPv6 in RFC 5952 form (lower case, longest zero run as `::`).
 * IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes the plain IPv4 address. Anything that is
 * not an IP address is returned trimmed and lower-cased, so it simply matches nothing. */
export function canonicalIp(ip: string): string {
  const s = ip.trim();
  if (net.isIPv4(s)) return s;
  if (!net.isIPv6(s)) return s.toLowerCase();
  const groups = expandIpv6(s);
  if (groups === undefined) return s.toLowerCase();
  // ::ffff:0:0/96, IPv4-mapped: the kernel's way of showing an IPv4 peer on an IPv6 socket.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const hi = groups[6]!;
    const lo = groups[7]!;
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return compressIpv6(groups);
}

export function ipFamily(ip: string): 4 | 6 | undefined {
  const s = canonicalIp(ip);
  if (net.isIPv4(s)) return 4;
  if (net.isIPv6(s)) return 6;
  return undefined;
}

/** 127.0.0.0/8 or ::1 (after canonicalisation, so ::ffff:127.0.0.1 counts too); a
 * socket's missing remoteAddress is not loopback. */
export function isLoopback(ip: string | undefined): boolean {
  if (!ip) return false;
  const s = canonicalIp(ip);
  return s === '::1' || (net.isIPv4(s) && s.startsWith('127.'));
}

/** `ip:port`, with brackets around IPv6 (the HBONE :authority form). */
export function formatAddress(addr: { ip: string; port: number }): string {
  return addr.ip.includes(':') ? `[${addr.ip}]:${addr.port}` : `${addr.ip}:${addr.port}`;
}

/** Eight 16-bit groups; undefined for a form this parser does not know (zone ids). */
function expandIpv6(s: string): number[] | undefined {
  if (s.includes('%')) return undefined;
  let text = s;
  // An embedded IPv4 tail (`::ffff:1.2.3.4`, `64:ff9b::1.2.3.4`) is the last two groups.
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (net.isIPv4(last)) {
    const [a, b, c, d] = last.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const want = 8;
  let groups: number[];
  const dbl = text.indexOf('::');
  if (dbl >= 0) {
    const head = parse(text.slice(0, dbl));
    const rest = parse(text.slice(dbl + 2));
    const fill = want - head.length - rest.length;
    if (fill < 0) return undefined;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    groups = parse(text);
  }
  if (groups.length !== want || groups.some((g) => Number.isNaN(g))) return undefined;
  return groups;
}

/** RFC 5952 section 4: lower-case hex, no leading zeros, the longest run of two or more
 * zero groups (the first on a tie) replaced by `::`. */
function compressIpv6(groups: number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** An IP address or CIDR block, canonical: IPv6 in RFC 5952 form, an IPv4-mapped IPv6
 * address as IPv4, a CIDR's host bits cleared (`10.0.0.5/24` -> `10.0.0.0/24`, as Envoy
 * and ztunnel read it). */
export function canonicalIpOrCidr(s: string): string | undefined {
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  if (addr.includes('%') || net.isIP(addr) === 0) return undefined;
  if (slash < 0) return canonicalIp(addr);
  const bitsText = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(bitsText)) return undefined;
  let bits = Number(bitsText);
  let ip = canonicalIp(addr);
  const v6 = net.isIPv6(ip);
  if (bits > (net.isIPv6(addr) ? 128 : 32)) return undefined;
  if (!v6 && net.isIPv6(addr)) {
    // An IPv4-mapped IPv6 block: the prefix counts the 96 bits of ::ffff:0:0 too.
    if (bits < 96) return `${canonicalIp(maskIpv6(addr, bits))}/${bits}`;
    bits -= 96;
  }
  ip = v6 ? maskIpv6(ip, bits) : maskIpv4(ip, bits);
  return `${ip}/${bits}`;
}

function maskIpv4(ip: string, bits: number): string {
  return ip
    .split('.')
    .map((o, i) => {
      const keep = Math.max(0, Math.min(8, bits - i * 8));
      return Number(o) & ((0xff << (8 - keep)) & 0xff);
    })
    .join('.');
}

function maskIpv6(ip: string, bits: number): string {
  const bytes = ipv6Bytes(ip);
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    bytes[i]! &= (0xff << (8 - keep)) & 0xff;
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return canonicalIp(groups.join(':'));
}

/** The 16 bytes of a valid IPv6 address (net.isIPv6 already said yes). */
function ipv6Bytes(ip: string): number[] {
  let s = ip.toLowerCase();
  // A trailing dotted quad (::ffff:1.2.3.4): rewritten as two hex groups.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    s = `${s.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const dbl = s.indexOf('::');
  const head = (dbl < 0 ? s : s.slice(0, dbl)).split(':').filter((g) => g !== '');
  const tail = dbl < 0 ? [] : s.slice(dbl + 2).split(':').filter((g) => g !== '');
  const groups = dbl < 0 ? head : [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  const out: number[] = [];
  for (const g of groups) {
    const n = parseInt(g, 16);
    out.push(n >> 8, n & 0xff);
  }
  return out;
}
