// Unit tests of the config stream's wire format: line splitting with a bounded line
// length, and the strict parsers of both directions.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCodes, isMeshError } from '../errors.js';
import { LineDecoder, encodeMessage, encodeUpdate, parseClientMessage, parseResourceId, parseServerMessage, parseVersion } from './wire.js';

const b = (s: string) => Buffer.from(s, 'utf8');
const code = (c: string) => (err: unknown) => isMeshError(err) && err.code === c;

describe('LineDecoder', () => {
  test('decoder_splits_several_lines_in_one_chunk', () => {
    const d = new LineDecoder(100);
    assert.deepEqual(d.push(b('{"a":1}\n{"b":2}\n')), ['{"a":1}', '{"b":2}']);
    assert.equal(d.buffered, 0);
  });

  test('decoder_joins_a_line_split_across_chunks', () => {
    const d = new LineDecoder(100);
    assert.deepEqual(d.push(b('{"a"')), []);
    assert.equal(d.buffered, 4);
    assert.deepEqual(d.push(b(':1}\n{"b"')), ['{"a":1}']);
    assert.deepEqual(d.push(b(':2}\n')), ['{"b":2}']);
  });

  test('decoder_joins_a_utf8_character_split_across_chunks', () => {
    const d = new LineDecoder(100);
    const bytes = b('{"n":"é"}\n');
    const cut = bytes.indexOf(0xc3) + 1; // between the two bytes of é
    assert.deepEqual(d.push(bytes.subarray(0, cut)), []);
    assert.deepEqual(d.push(bytes.subarray(cut)), ['{"n":"é"}']);
  });

  test('decoder_skips_empty_lines_and_strips_cr', () => {
    const d = new LineDecoder(100);
    assert.deepEqual(d.push(b('\n\r\n{"a":1}\r\n\n')), ['{"a":1}']);
  });

  test('decoder_throws_as_soon_as_an_unfinished_line_passes_the_limit', () => {
    const d = new LineDecoder(10);
    assert.deepEqual(d.push(b('12345')), []);
    assert.throws(() => d.push(b('678901')), code(ErrorCodes.XDS_MESSAGE_TOO_LARGE));
    assert.equal(d.buffered, 0, 'nothing kept of the oversized line');
  });

  test('decoder_throws_for_a_complete_line_over_the_limit', () => {
    const d = new LineDecoder(10);
    assert.throws(() => d.push(b('12345678901\n')), code(ErrorCodes.XDS_MESSAGE_TOO_LARGE));
  });

  test('decoder_accepts_a_line_of_exactly_the_limit', () => {
    const d = new LineDecoder(10);
    assert.deepEqual(d.push(b('1234567890\n')), ['1234567890']);
  });

  test('decoder_rejects_invalid_utf8', () => {
    const d = new LineDecoder(10);
    assert.throws(() => d.push(Buffer.from([0x7b, 0xff, 0x7d, 0x0a])), code(ErrorCodes.XDS_MALFORMED));
  });
});

describe('parseClientMessage', () => {
  test('parse_hello_with_versions', () => {
    const m = parseClientMessage('{"type":"hello","node":"node-1","versions":{"Workload/u1":"3-0123456789abcdef","Service/apps/web.apps.svc.cluster.local":"4-0123456789abcdef"}}');
    assert.deepEqual(m, {
      type: 'hello',
      node: 'node-1',
      versions: { 'Workload/u1': '3-0123456789abcdef', 'Service/apps/web.apps.svc.cluster.local': '4-0123456789abcdef' },
    });
  });

  test('parse_hello_without_versions_is_a_first_start', () => {
    assert.deepEqual(parseClientMessage('{"type":"hello","node":"n"}'), { type: 'hello', node: 'n', versions: {} });
  });

  test('parse_ack_and_nack', () => {
    assert.deepEqual(parseClientMessage('{"type":"ack","version":"12"}'), { type: 'ack', version: '12' });
    assert.deepEqual(parseClientMessage('{"type":"nack","version":"12","errors":[{"kind":"Policy","key":"a/b","error":"bad"}]}'), {
      type: 'nack',
      version: '12',
      errors: [{ kind: 'Policy', key: 'a/b', error: 'bad' }],
    });
  });

  const malformed: Array<[string, string, RegExp]> = [
    ['not_json', '{"type":', /not JSON/],
    ['array', '[1,2]', /not a JSON object/],
    ['no_type', '{"node":"n"}', /no "type"/],
    ['unknown_type', '{"type":"subscribe"}', /unknown type "subscribe"/],
    ['hello_without_node', '{"type":"hello","versions":{}}', /without a "node"/],
    ['hello_versions_not_object', '{"type":"hello","node":"n","versions":[]}', /versions/],
    ['hello_bad_resource_id', '{"type":"hello","node":"n","versions":{"Pod/x":"1"}}', /not "<Workload\|Service\|Policy\|Route\|RequestAuthn\|TrafficPolicy>\/<key>"/],
    ['hello_version_not_string', '{"type":"hello","node":"n","versions":{"Workload/x":1}}', /not a string/],
    ['ack_numeric_version', '{"type":"ack","version":12}', /decimal string/],
    ['ack_negative_version', '{"type":"ack","version":"-1"}', /decimal string/],
    ['nack_without_errors', '{"type":"nack","version":"1","errors":[]}', /non-empty/],
    ['nack_error_shape', '{"type":"nack","version":"1","errors":[{"kind":"Policy"}]}', /"kind", "key", "error"/],
  ];
  for (const [name, line, why] of malformed) {
    test(`parse_client_message_rejects_${name}`, () => {
      assert.throws(
        () => parseClientMessage(line),
        (err: unknown) => isMeshError(err, ErrorCodes.XDS_MALFORMED) && why.test(err.message),
      );
    });
  }
});

describe('parseServerMessage', () => {
  test('parse_update_round_trips_encode_update', () => {
    const line = encodeUpdate(7, true, ['{"kind":"Policy","key":"a/b","version":"7-0123456789abcdef","body":{"key":"a/b"}}'], [{ kind: 'Workload', key: 'u1' }]);
    assert.ok(line.endsWith('\n'));
    const m = parseServerMessage(line.trimEnd());
    assert.deepEqual(m, {
      type: 'update',
      version: '7',
      full: true,
      upserts: [{ kind: 'Policy', key: 'a/b', version: '7-0123456789abcdef', body: { key: 'a/b' } }],
      removes: [{ kind: 'Workload', key: 'u1' }],
    });
  });

  test('parse_error_message', () => {
    assert.deepEqual(parseServerMessage('{"type":"error","code":"AMB_XDS_MALFORMED","message":"x"}'), { type: 'error', code: 'AMB_XDS_MALFORMED', message: 'x' });
  });

  test('parse_update_keeps_a_bad_upsert_for_the_client_to_reject_alone', () => {
    const m = parseServerMessage('{"type":"update","version":"1","full":false,"upserts":[{"kind":"Gadget"}],"removes":[]}');
    assert.equal(m.type, 'update');
  });

  test('parse_update_rejects_a_broken_envelope', () => {
    for (const line of [
      '{"type":"update","version":"1","full":"no","upserts":[],"removes":[]}',
      '{"type":"update","version":"1","full":false,"upserts":{},"removes":[]}',
      '{"type":"update","version":"1","full":false,"upserts":[],"removes":[{"kind":1}]}',
      '{"type":"update","full":false,"upserts":[],"removes":[]}',
    ]) {
      assert.throws(() => parseServerMessage(line), code(ErrorCodes.XDS_MALFORMED), line);
    }
  });

  test('encode_message_is_one_line', () => {
    const line = encodeMessage({ type: 'nack', version: '3', errors: [{ kind: 'Policy', key: 'a/b', error: 'line1\nline2' }] });
    assert.equal(line.indexOf('\n'), line.length - 1);
  });
});

describe('ids and versions', () => {
  test('resource_id_splits_at_the_first_slash', () => {
    assert.deepEqual(parseResourceId('Service/apps/web.apps.svc.cluster.local'), { kind: 'Service', key: 'apps/web.apps.svc.cluster.local' });
    assert.equal(parseResourceId('Service/'), undefined);
    assert.equal(parseResourceId('Pod/x'), undefined);
    assert.equal(parseResourceId('/x'), undefined);
  });

  test('version_is_a_decimal_string', () => {
    assert.equal(parseVersion('0'), 0);
    assert.equal(parseVersion('42'), 42);
    assert.equal(parseVersion('042'), undefined);
    assert.equal(parseVersion(42), undefined);
    assert.equal(parseVersion('1e3'), undefined);
  });
});
