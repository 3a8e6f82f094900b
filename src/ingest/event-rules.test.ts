import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEventType, validateEvent } from './event-rules.ts';

test('accepts an identify, page or screen carrying a userId or an anonymousId', () => {
  for (const type of ['identify', 'page', 'screen'] as const) {
    assert.equal(validateEvent(type, { userId: 'u1' }), null);
    assert.equal(validateEvent(type, { anonymousId: 'a1' }), null);
    assert.equal(validateEvent(type, { userId: 42 }), null);
  }
});

test('rejects an event with neither userId nor anonymousId as no_user_anon_id', () => {
  assert.equal(validateEvent('identify', {}), 'no_user_anon_id');
  assert.equal(validateEvent('page', { userId: '  ', anonymousId: null }), 'no_user_anon_id');
  assert.equal(validateEvent('track', { event: 'x' }), 'no_user_anon_id');
  assert.equal(validateEvent('group', { groupId: 'g' }), 'no_user_anon_id');
});

test('rejects a track without a non-blank event name as missing_event', () => {
  assert.equal(validateEvent('track', { userId: 'u' }), 'missing_event');
  assert.equal(validateEvent('track', { userId: 'u', event: '' }), 'missing_event');
  assert.equal(validateEvent('track', { userId: 'u', event: 7 }), 'missing_event');
  assert.equal(validateEvent('track', { userId: 'u', event: 'Order Completed' }), null);
});

test('rejects a group without groupId as missing_group_id', () => {
  assert.equal(validateEvent('group', { userId: 'u' }), 'missing_group_id');
  assert.equal(validateEvent('group', { userId: 'u', groupId: 'g1' }), null);
});

test('requires previousId and userId on alias and accepts them equal', () => {
  assert.equal(validateEvent('alias', { userId: 'u' }), 'missing_previous_id');
  assert.equal(validateEvent('alias', { previousId: 'p' }), 'missing_user_id');
  assert.equal(validateEvent('alias', { previousId: 'p', anonymousId: 'a' }), 'missing_user_id');
  assert.equal(validateEvent('alias', { previousId: 'same', userId: 'same' }), null);
});

test('knows exactly the six Tracking API call types', () => {
  for (const t of ['identify', 'track', 'page', 'screen', 'group', 'alias']) assert.ok(isEventType(t));
  for (const t of ['batch', 'Track', '', undefined, 3]) assert.equal(isEventType(t), false);
});
