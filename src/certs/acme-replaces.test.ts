import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { Agent, createServer, request, type Server } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestCa, httpsGet, issueTestLeaf, missingBinaries, type Pebble } from '../../test/peers/index.ts';
import { ariCertId, createAcmeIssuer, type AcmeProblem, type Issuer } from './index.ts';
import { host, MemoryAccountStore, pebbleFixture, type PebbleFixture } from './test-support.ts';

const PEBBLE_MISSING = missingBinaries(['pebble']);

// Problem documents as Let's Encrypt (Boulder) answers a newOrder whose `replaces` it refuses
// (RFC 9773 §5), wording taken from client logs of its production and staging CAs.
const ALREADY_REPLACED = {
  status: 409,
  body: {
    type: 'urn:ietf:params:acme:error:alreadyReplaced',
    detail: 'Could not validate ARI \'replaces\' field :: cannot indicate an order replaces certificate with serial "04a1b2", which already has a replacement order',
    status: 409,
  },
};
const REPLACES_OTHER_ISSUER = {
  status: 404,
  body: {
    type: 'urn:ietf:params:acme:error:malformed',
    detail: 'Could not validate ARI \'replaces\' field :: path contained an Authority Key Identifier that did not match a known issuer',
    status: 404,
  },
};

/** A problem the proxy answers instead of the CA: HTTP status and problem document. */
interface RecordedProblem {
  readonly status: number;
  readonly body: AcmeProblem;
}

/** The JWS payload of one newOrder POST the proxy saw (RFC 8555 §7.4). */
interface NewOrderPayload {
  readonly identifiers: ReadonlyArray<{ type: string; value: string }>;
  readonly replaces?: string;
}

/**
 * A loopback HTTPS proxy in front of Pebble. It forwards every request unchanged (the Host header
 * too: Pebble checks each JWS `url` against it, RFC 8555 §6.4) and answers only the first
 * newOrder carrying `replaces` after {@link refuseNextReplaces} with the recorded problem and a
 * fresh nonce from Pebble, as a CA refusing the renewal would.
 */
interface ReplacesProxy {
  /** The proxy's directory URL: every URL in it, and in what Pebble answers, names the proxy. */
  readonly directoryUrl: string;
  /** PEM of the CA that signed the proxy's HTTPS certificate (the issuer's `caBundlePem`). */
  readonly caPem: string;
  /** Payloads of every newOrder POST, forwarded or refused, in order. */
  readonly newOrders: NewOrderPayload[];
  refuseNextReplaces(problem: RecordedProblem): void;
  close(): Promise<void>;
}

async function startReplacesProxy(pebble: Pebble): Promise<ReplacesProxy> {
  const upstream = new URL(pebble.directoryUrl);
  const directory = JSON.parse((await httpsGet(pebble.directoryUrl, pebble.tlsCaPem)).body) as Record<string, string>;
  const newOrderPath = new URL(directory['newOrder']!).pathname;
  const newNoncePath = new URL(directory['newNonce']!).pathname;
  const agent = new Agent({ ca: pebble.tlsCaPem, keepAlive: true });
  const ca = await createTestCa('firstparty test ACME proxy CA');
  const leaf = await issueTestLeaf(ca, ['127.0.0.1']);
  const newOrders: NewOrderPayload[] = [];
  let refusal: RecordedProblem | null = null;
  let origin = '';

  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse): void => {
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent }, (up) => {
      readBody(up).then((raw) => {
        // Pebble derives its URLs from the Host header, so they already name the proxy; a CA
        // configured with its own base URL would not, and every request must come back here.
        const text = /json/.test(up.headers['content-type'] ?? '') ? Buffer.from(raw.toString('utf8').replaceAll(upstream.origin, origin)) : raw;
        res.writeHead(up.statusCode ?? 502, { ...rewriteHeaders(up.headers, upstream.origin, origin), 'content-length': String(text.length) }).end(text);
      }, (err: unknown) => res.destroy(err as Error));
    });
    out.on('error', (err) => res.destroy(err));
    out.end(body);
  };

  const refuse = async (problem: RecordedProblem, res: ServerResponse): Promise<void> => {
    const nonce = await upstreamNonce(upstream, newNoncePath, agent);
    res.writeHead(problem.status, { 'content-type': 'application/problem+json', 'replay-nonce': nonce, 'cache-control': 'no-store' }).end(JSON.stringify(problem.body));
  };

  const server: Server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    readBody(req).then(async (body) => {
      if (req.method === 'POST' && req.url === newOrderPath) {
        const payload = jwsPayload(body) as NewOrderPayload;
        newOrders.push(payload);
        if (refusal !== null && payload.replaces !== undefined) {
          const problem = refusal;
          refusal = null;
          return refuse(problem, res);
        }
      }
      forward(req, body, res);
    }).catch((err: unknown) => res.destroy(err as Error));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    directoryUrl: `${origin}${upstream.pathname}`,
    caPem: ca.certPem,
    newOrders,
    refuseNextReplaces: (problem) => {
      refusal = problem;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

/** A fresh nonce from the CA's newNonce resource (RFC 8555 §7.2), valid for the account's next request. */
function upstreamNonce(upstream: URL, path: string, agent: Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: upstream.hostname, port: upstream.port, method: 'HEAD', path, agent }, (res) => {
      res.resume();
      const nonce = res.headers['replay-nonce'];
      if (typeof nonce === 'string') resolve(nonce);
      else reject(new Error(`newNonce answered HTTP ${res.statusCode} without Replay-Nonce`));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The decoded `payload` of a flattened JWS (RFC 7515 §7.2.2): base64url JSON. */
function jwsPayload(body: Buffer): unknown {
  const jws = JSON.parse(body.toString('utf8')) as { payload: string };
  return JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8'));
}

function rewriteHeaders(headers: IncomingHttpHeaders, from: string, to: string): IncomingHttpHeaders {
  const swap = (v: string): string => v.replaceAll(from, to);
  const rewritten: IncomingHttpHeaders = { ...headers };
  delete rewritten['content-length'];
  delete rewritten['transfer-encoding'];
  delete rewritten['connection'];
  if (typeof headers.location === 'string') rewritten.location = swap(headers.location);
  const link = headers['link'];
  if (link !== undefined) rewritten['link'] = Array.isArray(link) ? link.map(swap) : swap(link);
  return rewritten;
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

describe('ACME renewal with replaces (RFC 9773 §5) against Pebble behind a replaying proxy', { skip: PEBBLE_MISSING ?? false }, () => {
  const fx: PebbleFixture = pebbleFixture({ skip: PEBBLE_MISSING !== null });

  async function withProxy(fn: (proxy: ReplacesProxy, issuer: Issuer) => Promise<void>): Promise<void> {
    const proxy = await startReplacesProxy(fx.pebble!);
    try {
      const issuer = createAcmeIssuer({ directoryUrl: proxy.directoryUrl, caBundlePem: proxy.caPem, accounts: new MemoryAccountStore(), dns01: fx.publisher, requestTimeoutMs: 5_000, orderTimeoutMs: 10_000 });
      await fn(proxy, issuer);
    } finally {
      await proxy.close();
    }
  }

  test('orders once more without replaces when the CA answers alreadyReplaced, and issues for every name', async () => {
    await withProxy(async (proxy, issuer) => {
      const names = [host('cdn.replaced.test'), host('api.replaced.test')];
      const old = await issuer.issue(names);
      const replaces = ariCertId(old.certPem);
      assert.ok(replaces !== null, 'Pebble certificates carry an authority key identifier');
      assert.deepEqual(proxy.newOrders.map((o) => o.replaces), [undefined], 'the first certificate went through the proxy');

      proxy.refuseNextReplaces(ALREADY_REPLACED);
      const journaled: string[] = [];
      const renewed = await issuer.issue(names, { replaces, journal: { orderCreated: async (url) => void journaled.push(url), keyCreated: async () => {} } });

      const renewal = proxy.newOrders.slice(1);
      assert.equal(renewal.length, 2, 'exactly two newOrder requests for the renewal');
      assert.equal(renewal[0]!.replaces, replaces);
      assert.ok(!('replaces' in renewal[1]!), 'the second order carries no replaces field');
      assert.deepEqual(renewal.map((o) => o.identifiers.map((i) => i.value)), [names, names]);
      assert.equal(journaled.length, 1, 'only the order the CA created is journaled');
      assert.ok(journaled[0]!.startsWith(new URL(proxy.directoryUrl).origin));

      const leaf = new X509Certificate(renewed.certPem);
      for (const name of names) assert.equal(leaf.checkHost(name), name);
      assert.notEqual(renewed.serialHex, old.serialHex);
      assert.equal(fx.publisher.live.size, 0);
    });
  });

  test('orders once more without replaces when the CA refuses replaces as malformed (another CA\'s certificate)', async () => {
    await withProxy(async (proxy, issuer) => {
      const names = [host('cdn.malformed.test')];
      const old = await issuer.issue(names);
      proxy.refuseNextReplaces(REPLACES_OTHER_ISSUER);

      const renewed = await issuer.issue(names, { replaces: ariCertId(old.certPem)! });

      assert.equal(proxy.newOrders.length, 3, 'the first certificate, the refused order and the order without replaces');
      assert.ok(proxy.newOrders[1]!.replaces, 'the refused order carried replaces');
      assert.equal(proxy.newOrders[2]!.replaces, undefined, 'the retry carries no replaces');
      assert.notEqual(renewed.serialHex, old.serialHex);
      assert.equal(fx.publisher.live.size, 0);
    });
  });
});
