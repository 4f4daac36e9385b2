// Errors of the command line itself (bad arguments, a file that does not parse), shown
// to the user as they are, without a mesh error code; and the API server's errors, shown
// by the message of the `Status` it answered, as kubectl shows them
// (`Error from server (NotFound): pods "web" not found`), never as a dump of the response.
import { KubeRequestError } from '../core/kube/rest.js';

export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** A flag's value refused (`--since: "10x" is not a duration ...`): the `error` a flag's
 * reader (core/duration.ts) is given, so that it is shown as the command line's own error. */
export function flagError(flag: string, why: string): CliError {
  return new CliError(`${flag}: ${why}`);
}

/** What an API server said when it refused a request: its `Status`, or the HTTP code alone. */
export interface ServerStatus {
  code: number;
  /** StatusReason (NotFound, Invalid, AlreadyExists, Forbidden...); derived from the code when absent. */
  reason: string;
  message: string;
}

/** kube-apiserver's reasons for the codes a Status without one may carry (k8s.io/apimachinery errors). */
const REASON_BY_CODE: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One line: a Status message may hold newlines (aggregated field errors). */
const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();

/** A `Status` from a response body (an object, or the JSON text of one); undefined when it is not one. */
export function statusFromBody(code: number, body: unknown): ServerStatus | undefined {
  let b = body;
  if (typeof b === 'string') {
    try {
      b = JSON.parse(b) as unknown;
    } catch {
      return undefined;
    }
  }
  if (!isRecord(b) || b['kind'] !== 'Status') return undefined;
  const c = typeof b['code'] === 'number' ? b['code'] : code;
  const reason = typeof b['reason'] === 'string' && b['reason'] !== '' ? b['reason'] : (REASON_BY_CODE[c] ?? 'Unknown');
  const message = typeof b['message'] === 'string' && b['message'] !== '' ? oneLine(b['message']) : `the server responded with the status code ${c}`;
  return { code: c, reason, message };
}

/**
 * The server's answer behind an error thrown by a request: our own REST client's
 * KubeRequestError, or @kubernetes/client-node's ApiException (code and body). A response
 * that is not a Status still yields its code; errors that never reached a server (refused
 * connection, timeout) yield undefined.
 */
export function serverStatusOf(err: unknown): ServerStatus | undefined {
  if (err instanceof KubeRequestError) {
    return statusFromBody(err.statusCode, err.status) ?? {
      code: err.statusCode,
      reason: REASON_BY_CODE[err.statusCode] ?? 'Unknown',
      message: err.status?.message ? oneLine(err.status.message) : `the server responded with the status code ${err.statusCode}`,
    };
  }
  if (isRecord(err) && typeof err['code'] === 'number' && err['code'] >= 100 && err['code'] <= 599 && 'body' in err) {
    const code = err['code'];
    return statusFromBody(code, err['body']) ?? { code, reason: REASON_BY_CODE[code] ?? 'Unknown', message: `the server responded with the status code ${code}` };
  }
  return undefined;
}

/** `Error from server (Invalid): <context: >message`, kubectl's form. */
export function formatServerError(s: ServerStatus, context?: string): string {
  return `Error from server (${s.reason}): ${context ? `${context}: ` : ''}${s.message}`;
}
