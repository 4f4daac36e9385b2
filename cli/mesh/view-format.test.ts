import { test } from 'node:test';
import assert from 'node:assert/strict';
import { orDash, shortDuration, timeLeft, yesNo } from './view-format.js';

test('timeLeft: seconds to days, expired at zero', () => {
  assert.deepEqual([0, -5, 45, 720, 12_000, 3_600, 187_200, 86_400].map(timeLeft), ['expired', 'expired', '45s', '12m', '3h20m', '1h', '2d4h', '1d']);
});

test('shortDuration: ms to hours', () => {
  assert.deepEqual([450, 12_400, 90_000, 3_600_000, 7_500_000, -1].map(shortDuration), ['450ms', '12s', '1m30s', '1h', '2h5m', '-']);
});

test('yesNo and orDash: unknown is -', () => {
  assert.deepEqual([true, false, undefined].map(yesNo), ['yes', 'no', '-']);
  assert.deepEqual([undefined, null, '', 0, 'x'].map(orDash), ['-', '-', '-', '0', 'x']);
});
