// Which protocol a tunnel carries (issue 12, "Protocols"): the Service port's appProtocol
// when it says (Kubernetes' values, as Istio reads them), else what the first bytes look
// like. Pure: the reading and the timeout are sniff.ts's.

/** What the waypoint does with a tunnel: parse HTTP/1.1, parse HTTP/2, or carry bytes. */
export type TunnelProtocol = 'http1' | 'h2' | 'tcp';

/** The HTTP/2 connection preface (RFC 9113 section 3.4). */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * The protocol a port's appProtocol declares; undefined when it declares none we know
 * (then the bytes decide). `https`/`tls` are opaque to us: carried as TCP.
 */
export function protocolFromAppProtocol(appProtocol: string | undefined): TunnelProtocol | undefined {
  switch (appProtocol?.toLowerCase()) {
    case 'http':
      return 'http1';
    case 'http2':
    case 'grpc':
    case 'grpc-web':
    case 'kubernetes.io/h2c':
      return 'h2';
    case 'kubernetes.io/ws':
      return 'http1';
    case 'tcp':
    case 'https':
    case 'tls':
    case 'kubernetes.io/wss':
      return 'tcp';
    default:
      return undefined;
  }
}

/** A sniff's answer: a protocol, or `more` when the bytes so far could still be either. */
export type SniffResult = TunnelProtocol | 'more';

const REQUEST_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32} [\x21-\x7e]+ HTTP\/1\.[0-9]$/;
/** A first line not finished yet that can still become a request line. */
const REQUEST_LINE_PREFIX = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}( [\x21-\x7e]*( (H(T(T(P(\/(1(\.[0-9]?)?)?)?)?)?)?)?)?)?$/;
const LONGEST_METHOD = 32;

/**
 * Decides from the first bytes of a tunnel. `final`: no more bytes will come before the
 * decision must be made (sniff size reached, timeout, or the client's end): a request line
 * still in progress then counts as HTTP/1 (node:http answers what is wrong with it).
 */
export function sniff(buf: Buffer, final = false): SniffResult {
  // Empty lines before a request line are ignored by HTTP/1.1 servers (RFC 9112 section
  // 2.2; node:http does): so here too, else such a request would be carried as TCP.
  let blank = 0;
  while (buf[blank] === 0x0d && buf[blank + 1] === 0x0a) blank += 2;
  if (blank > 0) buf = buf.subarray(blank);
  if (buf.length === 0 || (buf.length === 1 && buf[0] === 0x0d && !final)) return final ? 'tcp' : 'more';
  // HTTP/2 prior knowledge: the preface, in full.
  const n = Math.min(buf.length, H2_PREFACE.length);
  if (buf.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) {
    if (n === H2_PREFACE.length) return 'h2';
    if (!final) return 'more';
    // "PRI ..." cut short is not HTTP/2; as a request line it is judged below.
  }
  const eol = buf.indexOf('\r\n');
  if (eol !== -1) return REQUEST_LINE.test(buf.subarray(0, eol).toString('latin1')) ? 'http1' : 'tcp';
  // The line so far (its CR may have arrived without the LF yet).
  let line = buf.toString('latin1');
  if (line.endsWith('\r')) line = line.slice(0, -1);
  // (A bare LF does not end a request line here: such bytes are carried as TCP.)
  if (!REQUEST_LINE_PREFIX.test(line)) return 'tcp';
  if (final) return line.includes(' ') ? 'http1' : 'tcp';
  if (!line.includes(' ') && line.length >= LONGEST_METHOD) return 'tcp';
  return 'more';
}
