// When a request head has started on a downstream HTTP/1.1 connection (the slowloris
// guard in http-front.ts): decided from the state of the request being read before and
// after node:http's parser took one chunk. Pure.

/** `idle`: no request, or the last one's body is complete (the next bytes are a head);
 * `body`: a request's body is still being read. `id` tells requests apart. */
export interface HeadState {
  reading: 'idle' | 'body';
  id: object | undefined;
}

export function headState(current: { complete: boolean } | undefined): HeadState {
  return { reading: current === undefined || current.complete ? 'idle' : 'body', id: current };
}

/**
 * What one chunk says of a next request head: `started` (its bytes certainly arrived: the
 * chunk came while no body was being read and completed no head), `maybe` (the chunk ended
 * a body, or held a whole head and body: bytes of a next head may follow in it, or none),
 * `none` (the chunk was body, or the head it began is complete).
 */
export function headStart(before: HeadState, after: HeadState): 'started' | 'maybe' | 'none' {
  if (after.reading === 'body') return 'none';
  if (before.reading === 'idle' && before.id === after.id) return 'started';
  return 'maybe';
}
