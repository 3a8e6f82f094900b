import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import {
  createTestCa,
  digShort,
  freePort,
  httpsGet,
  issueTestLeaf,
  launchChromium,
  missingBinaries,
  startNsd,
  startPebble,
  startUnbound,
  zoneText,
} from './index.ts';

// Free ports on their own loopback addresses, so these tests never collide with tests that bind :53.
const NSD_ADDRESS = '127.0.0.11';
const UNBOUND_ADDRESS = '127.0.0.12';

test('missingBinaries names each absent binary and how to install it', () => {
  assert.equal(missingBinaries(['sh']), null);
  assert.equal(
    missingBinaries(['sh', 'no-such-binary-a', 'no-such-binary-b']),
    'missing: no-such-binary-a, no-such-binary-b (run scripts/install-peers.sh)',
  );
});

test('zoneText writes a SOA with the given serial and an apex NS only when none is given', () => {
  const plain = zoneText('shop.test.', ['www IN A 192.0.2.1'], 7);
  assert.match(plain, /^@ IN SOA ns\.shop\.test\. hostmaster\.shop\.test\. 7 /m);
  assert.match(plain, /^@ IN NS ns\.shop\.test\.$/m);
  const own = zoneText('shop.test', ['@ IN NS a.example.'], 8);
  assert.doesNotMatch(own, /ns\.shop\.test\.$/m);
});

test('nsd answers a record from its zone, queried with dig', async (t) => {
  const missing = missingBinaries(['nsd', 'dig']);
  if (missing) return t.skip(missing);
  const port = await freePort(NSD_ADDRESS);
  const nsd = await startNsd({ address: NSD_ADDRESS, port, zones: [{ name: 'shop.test', text: zoneText('shop.test', ['www IN A 192.0.2.1']) }] });
  try {
    assert.deepEqual(await digShort(NSD_ADDRESS, port, 'www.shop.test', 'A'), ['192.0.2.1']);
    assert.deepEqual(await digShort(NSD_ADDRESS, port, 'shop.test', 'NS'), ['ns.shop.test.']);
  } finally {
    await nsd.stop();
  }
});

test('nsd serves the changed zone once setZone resolves, and a zone added later', async (t) => {
  const missing = missingBinaries(['nsd', 'dig']);
  if (missing) return t.skip(missing);
  const port = await freePort(NSD_ADDRESS);
  const nsd = await startNsd({ address: NSD_ADDRESS, port, zones: [{ name: 'shop.test', text: zoneText('shop.test', ['www IN A 192.0.2.1']) }] });
  try {
    await nsd.setZone('shop.test', zoneText('shop.test', ['www IN A 192.0.2.2', 'cdp IN NS ns1.firstparty.test.']));
    assert.deepEqual(await digShort(NSD_ADDRESS, port, 'www.shop.test', 'A'), ['192.0.2.2']);
    await nsd.setZone('firstparty.test', zoneText('firstparty.test', ['ns1 IN A 127.0.0.2']));
    assert.deepEqual(await digShort(NSD_ADDRESS, port, 'ns1.firstparty.test', 'A'), ['127.0.0.2']);
    assert.deepEqual(await digShort(NSD_ADDRESS, port, 'www.shop.test', 'A'), ['192.0.2.2']);
  } finally {
    await nsd.stop();
  }
});

test('unbound resolves a name through a stub zone to nsd and sees zone changes at once', async (t) => {
  const missing = missingBinaries(['nsd', 'unbound', 'dig']);
  if (missing) return t.skip(missing);
  const nsdPort = await freePort(NSD_ADDRESS);
  const nsd = await startNsd({ address: NSD_ADDRESS, port: nsdPort, zones: [{ name: 'shop.test', text: zoneText('shop.test', ['www IN A 192.0.2.1']) }] });
  try {
    const port = await freePort(UNBOUND_ADDRESS);
    const unbound = await startUnbound({ address: UNBOUND_ADDRESS, port, stubZones: [{ name: 'shop.test', addrs: [`${NSD_ADDRESS}@${nsdPort}`] }] });
    try {
      assert.deepEqual(await digShort(UNBOUND_ADDRESS, port, 'www.shop.test', 'A', { recurse: true }), ['192.0.2.1']);
      await nsd.setZone('shop.test', zoneText('shop.test', ['www IN A 192.0.2.3']));
      assert.deepEqual(await digShort(UNBOUND_ADDRESS, port, 'www.shop.test', 'A', { recurse: true }), ['192.0.2.3']);
    } finally {
      await unbound.stop();
    }
  } finally {
    await nsd.stop();
  }
});

test('pebble serves its ACME directory over HTTPS signed by tlsCaPem, and an issuing root', async (t) => {
  const missing = missingBinaries(['pebble']);
  if (missing) return t.skip(missing);
  const pebble = await startPebble({ dnsServer: '127.0.0.1:1' });
  try {
    const dir = await httpsGet(pebble.directoryUrl, pebble.tlsCaPem);
    assert.equal(dir.status, 200);
    const directory = JSON.parse(dir.body) as Record<string, unknown>;
    for (const key of ['newNonce', 'newAccount', 'newOrder', 'revokeCert']) assert.equal(typeof directory[key], 'string', key);
    const otherCa = await createTestCa('unrelated');
    await assert.rejects(httpsGet(pebble.directoryUrl, otherCa.certPem), /self.signed|unable to verify|certificate/i);

    const root = new X509Certificate(await pebble.fetchRootPem());
    assert.equal(root.ca, true);
    assert.ok(root.verify(root.publicKey), 'root is self-signed');
    const intermediate = new X509Certificate(await pebble.fetchIntermediatePem());
    assert.equal(intermediate.ca, true);
    assert.ok(intermediate.checkIssued(root) && intermediate.verify(root.publicKey), 'intermediate is signed by the root');
    assert.equal(await pebble.certStatusBySerial('0123456789abcdef'), null);
  } finally {
    await pebble.stop();
  }
});

test('chromium loads an https page whose certificate chains to a root trusted via the NSS DB, and refuses it otherwise', async (t) => {
  const missing = missingBinaries(['chromium', 'certutil']);
  if (missing) return t.skip(missing);
  const ca = await createTestCa('firstparty test root');
  const leaf = await issueTestLeaf(ca, ['app.shop.test']);
  const server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<title>served ${req.headers.host}</title>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const trusting = await launchChromium({ mapAllHostsTo: target, trustRootPems: [ca.certPem] });
    try {
      const page = await trusting.browser.newPage();
      const response = await page.goto('https://app.shop.test/', { timeout: 10_000 });
      assert.equal(response?.status(), 200);
      assert.equal(await page.title(), 'served app.shop.test');
    } finally {
      await trusting.close();
    }
    const untrusting = await launchChromium({ mapAllHostsTo: target, trustRootPems: [] });
    try {
      const page = await untrusting.browser.newPage();
      await assert.rejects(page.goto('https://app.shop.test/', { timeout: 10_000 }), /ERR_CERT_AUTHORITY_INVALID/);
    } finally {
      await untrusting.close();
    }
  } finally {
    server.close();
    server.closeAllConnections();
  }
});
