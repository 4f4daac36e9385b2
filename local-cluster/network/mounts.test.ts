import assert from 'node:assert/strict';
import { test } from 'node:test';
import { netnsDirPropagation, netnsMountsPrivate } from './mounts.js';

const line = (mp: string, opt: string) => `42 27 254:0 ${mp} ${mp} rw,relatime ${opt} - ext4 /dev/vda rw`;

test('host_netns_dir_is_shared', () => {
  assert.equal(netnsDirPropagation([line('/', 'shared:1'), line('/run/netns', 'shared:5')].join('\n')), 'shared');
});

test('netns_dir_under_ip_netns_exec_is_a_slave', () => {
  assert.equal(netnsDirPropagation(line('/run/netns', 'master:1')), 'slave');
});

test('netns_dir_without_propagation_tags_is_private', () => {
  assert.equal(netnsDirPropagation(line('/var/run/netns', '')), 'private');
});

test('netns_dir_not_mounted_yet_is_absent', () => {
  assert.equal(netnsDirPropagation(line('/', 'shared:1')), 'absent');
});

test('last_mount_on_the_path_wins', () => {
  assert.equal(netnsDirPropagation([line('/run/netns', 'master:1'), line('/run/netns', 'shared:9')].join('\n')), 'shared');
});

test('process_under_ip_netns_exec_has_private_netns_mounts', () => {
  assert.equal(netnsMountsPrivate({ propagation: 'slave', selfMnt: 'mnt:[2]', parentMnt: 'mnt:[1]' }), true);
});

test('process_sharing_its_parents_mount_namespace_is_fine_even_with_a_slave_dir', () => {
  assert.equal(netnsMountsPrivate({ propagation: 'slave', selfMnt: 'mnt:[1]', parentMnt: 'mnt:[1]' }), false);
});

test('shared_or_absent_netns_dir_is_fine', () => {
  assert.equal(netnsMountsPrivate({ propagation: 'shared', selfMnt: 'mnt:[2]', parentMnt: 'mnt:[1]' }), false);
  assert.equal(netnsMountsPrivate({ propagation: 'absent', selfMnt: 'mnt:[2]', parentMnt: 'mnt:[1]' }), false);
});

test('unknown_parent_namespace_does_not_block', () => {
  assert.equal(netnsMountsPrivate({ propagation: 'slave', selfMnt: 'mnt:[2]', parentMnt: undefined }), false);
});
