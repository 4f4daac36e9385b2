// Request bodies in (bounded, parsed by content type, errors that say where) and JSON out.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest, tooLarge, unsupportedMediaType } from './api-errors.js';
import { parseJsonOrExplain } from './json-errors.js';

export interface BodyLimits {
  /** Largest body accepted; more is refused with 413. */
  maxBodyBytes: number;
  /** After the 413, this much more is read and thrown away; then the connection is closed. */
  maxDiscardBytes: number;
  /** ...and it is closed at the latest this long after the 413. */
  discardTimeoutMs: number;
  /** A closing connection is half-closed (FIN) first and reset only this long after. */
  closeLingerMs: number;
}

/**
 * Reads the whole body, refusing (413) more than `maxBodyBytes`. Empty body: ''.
 *
 * A client that is refused is usually still sending (kubectl writes the whole body before
 * it reads). Closing the connection at once would reset it, and the client would report
 * "broken pipe" instead of the 413. So the 413 is answered at once, and the rest of the
 * body is read and discarded, within `maxDiscardBytes` and `discardTimeoutMs`; a client
 * that sends more, or for longer, has the connection closed: half-closed first (the answer
 * is already out), reset `closeLingerMs` later.
 */
export function readBody(req: IncomingMessage, res: ServerResponse, limits: BodyLimits): Promise<string> {
  const limit = limits.maxBodyBytes;
  return new Promise<string>((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const refuse = () => {
      cleanup();
      chunks.length = 0;
      discardRest(req, res, limits, Number.isFinite(declared) ? declared - size : undefined);
      reject(tooLarge(limit));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return refuse();
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('the client closed the connection before the request body ended'));
    };
    if (declared > limit) return refuse();
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** Throws away the rest of a refused body (see readBody), closing the connection when it is too much or too slow. */
function discardRest(req: IncomingMessage, res: ServerResponse, limits: BodyLimits, declaredLeft: number | undefined): void {
  const socket = req.socket;
  let discarded = 0;
  let closing = false;
  const close = () => {
    if (closing) return;
    closing = true;
    clearTimeout(timer);
    const shut = () => {
      if (socket.destroyed) return;
      socket.end(); // FIN after the answer; what the client still sends is read and dropped...
      setTimeout(() => socket.destroy(), limits.closeLingerMs).unref(); // ...for a moment.
    };
    if (res.writableFinished) shut();
    else res.once('finish', shut);
  };
  const timer = setTimeout(close, limits.discardTimeoutMs);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > limits.maxDiscardBytes) close();
  });
  req.on('end', () => clearTimeout(timer));
  req.on('error', () => clearTimeout(timer));
  req.on('close', () => clearTimeout(timer));
  req.resume();
  // Announced as more than we would read: no point reading any of it.
  if (declaredLeft !== undefined && declaredLeft > limits.maxDiscardBytes) close();
}

const mediaOf = (contentType: string | undefined): string => (contentType ?? '').split(';')[0]!.trim().toLowerCase();

/** An object body (create, update, review): JSON, or YAML as kube-apiserver also accepts. */
export function parseObjectBody(text: string, contentType: string | undefined): unknown {
  const media = mediaOf(contentType);
  if (text.trim() === '') throw badRequest('the request body is empty; expected a JSON object');
  if (media === 'application/yaml' || media === 'application/x-yaml' || media === 'text/yaml') {
    try {
      return parseYaml(text);
    } catch (err) {
      throw badRequest(`request body is not valid YAML: ${(err as Error).message}`);
    }
  }
  if (media !== '' && media !== 'application/json' && media !== '*/*') {
    throw unsupportedMediaType(media, ['application/json', 'application/yaml']);
  }
  return parseJson(text);
}

/** A JSON body (patches, delete options); 400 naming the line and column when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return parseJsonOrExplain(text);
  } catch (err) {
    throw badRequest(`request body is not valid JSON: ${(err as Error).message}`);
  }
}

export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), 'cache-control': 'no-cache, private' });
  res.end(data);
}

export function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // A refused body is discarded by readBody, which closes the connection itself when it
  // must: `connection: close` here would make Node reset it while the client is sending.
  sendJson(res, err.code, err.toStatus());
}
