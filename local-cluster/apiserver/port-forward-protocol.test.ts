import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from './api-errors.js';
import { chooseProtocol, decodeFrame, encodeFrame, offeredProtocols, parsePorts, portFrame, routeFrame } from './port-forward-protocol.js';

const ports = (query: string, max = 8) => parsePorts(new URLSearchParams(query), max);
const badRequest = (re: RegExp) => (err: unknown) => err instanceof ApiError && err.code === 400 && re.test(err.message);

test('port_forward_ports_are_repeated_or_comma_separated_in_order', () => {
  assert.deepEqual(ports('ports=8080'), [8080]);
  assert.deepEqual(ports('ports=80,443&ports=15014'), [80, 443, 15014]);
});

test('port_forward_ports_missing_empty_or_out_of_range_are_400_naming_the_value', () => {
  assert.throws(() => ports(''), badRequest(/query parameter "ports" is required/));
  assert.throws(() => ports('ports='), badRequest(/cannot be empty/));
  assert.throws(() => ports('ports=0'), badRequest(/unable to parse "0" as a port/));
  assert.throws(() => ports('ports=65536'), badRequest(/"65536"/));
  assert.throws(() => ports('ports=80,x'), badRequest(/unable to parse "x" as a port \(ports="80,x"\)/));
  assert.throws(() => ports('ports=-1'), badRequest(/"-1"/));
  assert.throws(() => ports('ports=1,2,3', 2), badRequest(/at most 2 ports .* not 3/));
});

test('port_forward_protocol_prefers_the_clients_order_and_refuses_unknown_offers', () => {
  // What @kubernetes/client-node offers: v5 first, which the kubelet does not speak for port-forward either.
  assert.deepEqual(chooseProtocol(offeredProtocols('v5.channel.k8s.io, v4.channel.k8s.io, v3.channel.k8s.io, channel.k8s.io')), { protocol: 'v4.channel.k8s.io', encoding: 'binary' });
  assert.deepEqual(chooseProtocol(['v4.base64.channel.k8s.io', 'v4.channel.k8s.io']), { protocol: 'v4.base64.channel.k8s.io', encoding: 'base64' });
  assert.deepEqual(chooseProtocol(offeredProtocols(undefined)), { protocol: '', encoding: 'binary' });
  assert.equal(chooseProtocol(['SPDY/3.1+portforward.k8s.io']), undefined);
});

test('port_forward_port_frame_is_channel_then_port_little_endian', () => {
  assert.deepEqual(portFrame('binary', 1, 15014), Buffer.from([1, 15014 & 0xff, 15014 >> 8]));
  assert.equal(portFrame('base64', 3, 80), '3' + Buffer.from([80, 0]).toString('base64'));
});

test('port_forward_frames_round_trip_in_both_encodings', () => {
  const payload = Buffer.from([0, 1, 2, 255, 10]);
  const bin = encodeFrame('binary', 2, payload) as Buffer;
  assert.deepEqual(decodeFrame('binary', bin, true), { channel: 2, data: payload });
  const text = encodeFrame('base64', 2, payload) as string;
  assert.deepEqual(decodeFrame('base64', Buffer.from(text), false), { channel: 2, data: payload });
});

test('port_forward_malformed_client_messages_are_errors', () => {
  assert.match((decodeFrame('binary', Buffer.alloc(0), true) as { error: string }).error, /empty/);
  assert.match((decodeFrame('binary', Buffer.from('0abc'), false) as { error: string }).error, /text message/);
  assert.match((decodeFrame('base64', Buffer.from([0, 1]), true) as { error: string }).error, /binary message/);
  assert.match((decodeFrame('base64', Buffer.from('0a$b='), false) as { error: string }).error, /not base64/);
});

test('port_forward_client_messages_route_to_data_channels_only', () => {
  const data = Buffer.from('x');
  assert.deepEqual(routeFrame({ channel: 2, data }, 2), { portIndex: 1, data });
  assert.ok('ignore' in routeFrame({ channel: 1, data }, 2));
  assert.match((routeFrame({ channel: 4, data }, 2) as { error: string }).error, /channel 4 does not exist \(2 port\(s\): channels 0 to 3\)/);
  assert.match((routeFrame({ channel: -3, data }, 1) as { error: string }).error, /channel -3/);
});
