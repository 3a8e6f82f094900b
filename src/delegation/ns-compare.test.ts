import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareNameservers } from './ns-compare.ts';

const OURS = ['ns1.firstparty.test', 'ns2.firstparty.test'];
const compare = (observed: string[]) => compareNameservers('cdp.shop.test', 'shop.test', observed, OURS);

test('an NS set equal to ours, ignoring case and trailing dots, matches', () => {
  assert.deepEqual(compare(['NS2.FirstParty.test.', 'ns1.firstparty.test']), { kind: 'equal' });
});

test('an empty NS set is not delegated and names every record to add', () => {
  const r = compare([]);
  assert.equal(r.kind === 'differs' && r.reason, 'not_delegated');
  assert.match(r.kind === 'differs' ? r.message : '', /add "cdp\.shop\.test\. IN NS ns1\.firstparty\.test\.", "cdp\.shop\.test\. IN NS ns2\.firstparty\.test\."/);
});

test('a disjoint NS set is wrong and names the records to remove and to add', () => {
  const r = compare(['ns.other.test']);
  assert.equal(r.kind === 'differs' && r.reason, 'wrong_nameservers');
  assert.match(r.kind === 'differs' ? r.message : '', /remove "cdp\.shop\.test\. IN NS ns\.other\.test\."/);
  assert.match(r.kind === 'differs' ? r.message : '', /add .*ns1\.firstparty\.test.*ns2\.firstparty\.test/);
});

test('a superset of ours has extra nameservers and names only those to remove', () => {
  const r = compare([...OURS, 'ns.other.test']);
  assert.equal(r.kind === 'differs' && r.reason, 'extra_nameservers');
  assert.match(r.kind === 'differs' ? r.message : '', /remove "cdp\.shop\.test\. IN NS ns\.other\.test\."$/);
});

test('a subset of ours is missing nameservers and names only those to add', () => {
  const r = compare(['ns1.firstparty.test']);
  assert.equal(r.kind === 'differs' && r.reason, 'missing_nameservers');
  assert.match(r.kind === 'differs' ? r.message : '', /add "cdp\.shop\.test\. IN NS ns2\.firstparty\.test\."$/);
});

test('some of ours plus others is wrong and names both changes', () => {
  const r = compare(['ns1.firstparty.test', 'ns.other.test']);
  assert.equal(r.kind === 'differs' && r.reason, 'wrong_nameservers');
  assert.match(r.kind === 'differs' ? r.message : '', /remove .*ns\.other\.test.* and add .*ns2\.firstparty\.test/);
});
