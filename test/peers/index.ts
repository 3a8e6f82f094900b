/**
 * Test harness for the real peers of firstparty (testbed.md): nsd, unbound, Pebble, Chromium.
 * Every starter uses its own temp dir, tracks its process by pid, waits (bounded) until the peer
 * answers, and returns a handle whose `stop()`/`close()` kills by pid and removes the temp dir.
 */
export { missingBinaries, isRoot, freePort, findBinary, delay, waitUntil } from './process.ts';
export { startPebble, httpsGet, type Pebble, type PebbleOptions } from './pebble.ts';
export { startNsd, type Nsd, type NsdOptions } from './nsd.ts';
export { startUnbound, type Unbound, type UnboundOptions } from './unbound.ts';
export { launchChromium, type Browser, type ChromiumOptions } from './chromium.ts';
export { zoneText, serialOf } from './zone.ts';
export { createTestCa, issueTestLeaf, type TestCa, type TestLeaf } from './pki.ts';
export { digShort, probeDns, type ProbeResponse } from './dns-probe.ts';
export { startDelegationWorld, type DelegationWorld, type WorldAddresses } from './delegation-world.ts';
