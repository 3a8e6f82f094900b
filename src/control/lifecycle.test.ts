import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DomainState } from '../core/index.ts';
import { isTerminal, nextState, type DomainEvent } from './lifecycle.ts';

const states: DomainState[] = [
  { kind: 'awaiting_delegation' }, { kind: 'delegated' }, { kind: 'issuing', attempt: 1 }, { kind: 'active' },
  { kind: 'failed', phase: 'issuance', reason: 'issuance_failed', message: 'x', retryAt: 1, attempt: 1 },
  { kind: 'removed' }, { kind: 'replaced', by: 'cd_x' },
];
const events: DomainEvent[] = [
  { type: 'delegation_confirmed' }, { type: 'issuance_started', attempt: 2 }, { type: 'certificate_installed' },
  { type: 'issuance_failed', reason: 'ca_rate_limited', message: 'slow down', retryAt: 5, attempt: 2 },
  { type: 'removed' }, { type: 'replaced', by: 'cd_y' },
];
const allowed = new Set([
  'awaiting_delegation delegation_confirmed', 'awaiting_delegation removed', 'awaiting_delegation replaced',
  'delegated issuance_started', 'delegated removed', 'delegated replaced',
  'issuing issuance_started', 'issuing certificate_installed', 'issuing issuance_failed', 'issuing removed', 'issuing replaced',
  'failed issuance_started', 'failed removed', 'failed replaced',
  'active removed', 'active replaced',
]);

test('allows exactly the documented transitions and forbids every other pair', () => {
  for (const s of states) {
    for (const e of events) {
      const r = nextState(s, e);
      assert.equal(r.ok, allowed.has(`${s.kind} ${e.type}`), `${s.kind} + ${e.type}`);
    }
  }
});

test('walks the happy path from awaiting_delegation to active', () => {
  let s: DomainState = { kind: 'awaiting_delegation' };
  for (const e of [events[0]!, events[1]!, events[2]!]) {
    const r = nextState(s, e);
    assert.ok(r.ok);
    s = r.state;
  }
  assert.equal(s.kind, 'active');
});

test('a failed issuance keeps its reason, message, attempt and retry time', () => {
  const r = nextState({ kind: 'issuing', attempt: 2 }, events[3]!);
  assert.ok(r.ok);
  assert.deepEqual(r.state, { kind: 'failed', phase: 'issuance', reason: 'ca_rate_limited', message: 'slow down', retryAt: 5, attempt: 2 });
  assert.equal(r.reason, 'ca_rate_limited');
});

test('removed and replaced are terminal', () => {
  assert.equal(isTerminal({ kind: 'removed' }), true);
  assert.equal(isTerminal({ kind: 'replaced', by: 'x' }), true);
  assert.equal(isTerminal({ kind: 'active' }), false);
});
