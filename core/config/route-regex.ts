// Regular expressions in routes (path, header, query parameter and gRPC method matches of
// HTTPRoute and GRPCRoute, `type: RegularExpression`) use RE2's syntax, as Envoy and
// therefore Istio do, and are run by RE2JS: matching takes time linear in the input. A
// backtracking engine (JavaScript's own) would let anyone who may attach a route to a
// Service plant a pattern such as `(a+)+$` that stalls that Service's waypoint on one
// crafted request; RE2 has no backreferences or lookaround, so no pattern can.
//
// One module for both sides: the controller checks an expression compiles with the same
// engine the waypoint matches with, so an accepted route never carries an expression the
// waypoint cannot run.
import { RE2JS } from 're2js';

export type RouteRegex = RE2JS;

/**
 * The largest compiled program an expression may have (RE2's approximate cost measure), as
 * Envoy's default `re2.max_program_size.error_level`. Matching is linear in the input but
 * also in the program: `(?:a|aa){1000}b` (program size 4003) costs ~600 ms per 16 KB value.
 */
export const ROUTE_REGEX_MAX_PROGRAM_SIZE = 100;

/** The compiled expression, or the reason it does not compile or is too costly. */
export function compileRouteRegex(source: string): RouteRegex | { error: string } {
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (err) {
    return { error: (err as Error).message };
  }
  const size = re.programSize();
  if (size > ROUTE_REGEX_MAX_PROGRAM_SIZE) {
    return { error: `its program size ${size} is larger than the limit ${ROUTE_REGEX_MAX_PROGRAM_SIZE}` };
  }
  return re;
}

/** Why `source` is not a valid route expression, or undefined when it is. */
export function routeRegexError(source: string): string | undefined {
  const r = compileRouteRegex(source);
  return r instanceof RE2JS ? undefined : r.error;
}

/** Whether the whole of `value` matches (the Gateway API's matches are anchored at both ends). */
export function fullMatch(re: RouteRegex, value: string): boolean {
  return re.matches(value);
}
