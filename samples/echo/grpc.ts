// gRPC on the echo's HTTP/2 side (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md):
// what a request with `content-type: application/grpc...` is, how its length-prefixed
// messages are read, and how the answer is framed. Pure functions; main.ts does the I/O.
//
// The echo has no .proto: whatever the request's codec, its answer is one message holding
// the same JSON description of the request as the HTTP answer, sent as
// `content-type: application/grpc+json` (gRPC allows any content-subtype; the JSON codec
// is named so that a client cannot mistake it for protobuf).

/** The answer's content type. */
export const GRPC_ANSWER_CONTENT_TYPE = 'application/grpc+json';

/** gRPC status codes the echo sends. */
export const GrpcStatus = { OK: 0, INVALID_ARGUMENT: 3, RESOURCE_EXHAUSTED: 8, UNIMPLEMENTED: 12 } as const;

/** Request metadata that asks the echo to answer with that gRPC status (0..16) instead of OK. */
export const STATUS_METADATA = 'x-echo-grpc-status';

/** Whether a content-type names gRPC: `application/grpc`, optionally `+codec` and parameters. */
export function isGrpcContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/grpc(\+[!#$%&'*.^_`|~0-9a-z-]+)?\s*(;.*)?$/i.test(contentType.trim());
}

/** One length-prefixed message: flag 0 (not compressed), 4-byte big-endian length, the bytes. */
export function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(0, 0);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

export type Messages = { messages: Buffer[] } | { status: number; message: string };

/** The length-prefixed messages of a request body, or the gRPC status that refuses it. */
export function grpcMessages(body: Buffer): Messages {
  const messages: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    if (body.length - at < 5) return { status: GrpcStatus.INVALID_ARGUMENT, message: `truncated message prefix: ${body.length - at} of 5 bytes` };
    const flag = body.readUInt8(at);
    const len = body.readUInt32BE(at + 1);
    if (flag === 1) return { status: GrpcStatus.UNIMPLEMENTED, message: 'compressed messages are not supported (no grpc-encoding is accepted)' };
    if (flag !== 0) return { status: GrpcStatus.INVALID_ARGUMENT, message: `invalid compressed-flag ${flag}: want 0 or 1` };
    if (body.length - at - 5 < len) return { status: GrpcStatus.INVALID_ARGUMENT, message: `truncated message: ${body.length - at - 5} of ${len} bytes` };
    messages.push(body.subarray(at + 5, at + 5 + len));
    at += 5 + len;
  }
  return { messages };
}

/** `/package.Service/Method` split into service and method; undefined for any other path. */
export function grpcMethod(path: string): { service: string; method: string } | undefined {
  const m = /^\/([^/?#]+)\/([^/?#]+)$/.exec(path);
  return m ? { service: m[1]!, method: m[2]! } : undefined;
}

/** The status asked for with `x-echo-grpc-status`, or a reason it is invalid; undefined when absent. */
export function requestedStatus(value: string | string[] | undefined): number | string | undefined {
  if (value === undefined) return undefined;
  const v = Array.isArray(value) ? value[0]! : value;
  if (!/^\d{1,2}$/.test(v) || Number(v) > 16) return `invalid ${STATUS_METADATA} ${JSON.stringify(v)}: want a gRPC status code 0..16`;
  return Number(v);
}
