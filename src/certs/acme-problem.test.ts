import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError, hostnameUnchecked } from '../core/index.ts';
import { acmeProblemError, createAcmeIssuer, parseAcmeProblem, parseRetryAfterMs, problemSpec, type AcmeProblem } from './index.ts';

// Problem documents as Let's Encrypt (Boulder) returns them, from its documentation and logs.
const RATE_LIMITED_BODY = JSON.stringify({
  type: 'urn:ietf:params:acme:error:rateLimited',
  detail: 'too many certificates (5) already issued for this exact set of identifiers in the last 168h0m0s, retry after 2026-08-05 21:06:28 UTC: see https://letsencrypt.org/docs/rate-limits/#new-certificates-per-exact-set-of-identifiers',
  status: 429,
});
const COMPOUND_CAA = {
  type: 'urn:ietf:params:acme:error:compound',
  detail: 'Error finalizing order :: Rechecking CAA for "cdn.cdp.shop.com" and 1 more identifiers failed.',
  status: 403,
  subproblems: [
    { type: 'urn:ietf:params:acme:error:caa', detail: 'CAA record for cdn.cdp.shop.com prevents issuance', status: 403, identifier: { type: 'dns', value: 'cdn.cdp.shop.com' } },
    { type: 'urn:ietf:params:acme:error:caa', detail: 'CAA record for api.cdp.shop.com prevents issuance', status: 403, identifier: { type: 'dns', value: 'api.cdp.shop.com' } },
  ],
};

test('parses a rate-limit problem with its Retry-After in milliseconds', () => {
  const problem = parseAcmeProblem(RATE_LIMITED_BODY, { status: 429, retryAfter: '3600' });
  assert.equal(problem?.type, 'urn:ietf:params:acme:error:rateLimited');
  assert.equal(problem?.status, 429);
  assert.equal(problem?.retryAfterMs, 3_600_000);
  const err = acmeProblemError(problem!, 'create order');
  assert.equal(err.code, 'ERR_CERTS_ACME_RATE_LIMITED');
  assert.equal(err.retryable, true);
  assert.deepEqual(err.details?.['problem'], problem);
  assert.equal(err.details?.['retryAfterMs'], 3_600_000);
});

test('reads Retry-After as delay-seconds or HTTP-date, and rejects anything else', () => {
  const now = Date.parse('2026-08-05T21:00:00Z');
  assert.equal(parseRetryAfterMs('120', now), 120_000);
  assert.equal(parseRetryAfterMs('Wed, 05 Aug 2026 21:06:28 GMT', now), 388_000);
  assert.equal(parseRetryAfterMs('Wed, 05 Aug 2026 20:00:00 GMT', now), 0);
  assert.equal(parseRetryAfterMs('soon', now), null);
});

test('keeps the subproblems of a compound problem and classifies it by them', () => {
  const problem = parseAcmeProblem(COMPOUND_CAA)!;
  assert.equal(problem.subproblems?.length, 2);
  assert.deepEqual(problem.subproblems?.[1]?.identifier, { type: 'dns', value: 'api.cdp.shop.com' });
  assert.equal(problemSpec(problem).code, 'ERR_CERTS_ACME_CAA');
});

test('maps each RFC 8555 error type to its catalogue code', () => {
  const codeOf = (type: string, status?: number): string =>
    problemSpec({ type: `urn:ietf:params:acme:error:${type}`, detail: '', ...(status === undefined ? {} : { status }) }).code;
  assert.equal(codeOf('dns'), 'ERR_CERTS_ACME_DNS');
  assert.equal(codeOf('unauthorized'), 'ERR_CERTS_ACME_UNAUTHORIZED');
  assert.equal(codeOf('incorrectResponse'), 'ERR_CERTS_ACME_UNAUTHORIZED');
  assert.equal(codeOf('rejectedIdentifier'), 'ERR_CERTS_ACME_REJECTED_IDENTIFIER');
  assert.equal(codeOf('connection'), 'ERR_CERTS_ACME_CONNECTION');
  assert.equal(codeOf('badNonce'), 'ERR_CERTS_ACME_BAD_NONCE');
  assert.equal(codeOf('serverInternal'), 'ERR_CERTS_ACME_SERVER');
  assert.equal(codeOf('malformed', 400), 'ERR_CERTS_ACME_FAILED');
  assert.equal(codeOf('somethingNew', 503), 'ERR_CERTS_ACME_SERVER');
});

test('finds no problem in a body without a type', () => {
  assert.equal(parseAcmeProblem('<html>bad gateway</html>'), null);
  assert.equal(parseAcmeProblem({ detail: 'no type' }), null);
});

/**
 * An ACME server on loopback HTTP that serves a directory and nonces like any CA and answers
 * `newAccount` with whatever `reply` says: a replayed recorded response, or silence.
 */
function replayingCa(): { url: () => string; reply: (res: ServerResponse) => void } {
  let server: Server;
  const ca = {
    url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/dir`,
    reply: (res: ServerResponse) => void res.writeHead(500).end(),
  };
  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      if (req.url === '/dir') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ newNonce: `${origin}/nonce`, newAccount: `${origin}/account`, newOrder: `${origin}/order` }));
      if (req.url === '/nonce') return void res.writeHead(200, { 'replay-nonce': `n${Date.now()}` }).end();
      req.resume();
      req.on('end', () => ca.reply(res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return ca;
}

describe('ACME issuer against a CA replaying recorded failures', () => {
  const ca = replayingCa();
  const issuer = (requestTimeoutMs = 5_000) =>
    createAcmeIssuer({
      directoryUrl: ca.url(),
      accounts: { load: async () => null, save: async () => assert.fail('no account may be saved') },
      dns01: { publish: async () => assert.fail('nothing may be published'), withdraw: async () => {} },
      requestTimeoutMs,
    });
  const failure = async (p: Promise<unknown>): Promise<AppError> => {
    const err = await p.then(() => assert.fail('expected a failure'), (e: unknown) => e);
    assert.ok(err instanceof AppError, String(err));
    return err;
  };

  test('fails at once on a rate limit instead of sleeping through Retry-After, keeping the problem', { timeout: 10_000 }, async () => {
    ca.reply = (res) => void res.writeHead(429, { 'content-type': 'application/problem+json', 'retry-after': '86400', 'replay-nonce': 'x' }).end(RATE_LIMITED_BODY);
    const started = Date.now();
    const err = await failure(issuer().issue([hostnameUnchecked('cdn.cdp.shop.test')]));
    assert.ok(Date.now() - started < 3_000, 'must not wait for Retry-After');
    assert.equal(err.code, 'ERR_CERTS_ACME_RATE_LIMITED');
    assert.equal(err.retryable, true);
    const problem = err.details?.['problem'] as AcmeProblem;
    assert.equal(problem.retryAfterMs, 86_400_000);
    assert.equal(err.details?.['retryAfterMs'], 86_400_000);
    assert.match(problem.detail, /exact set of identifiers/);
  });

  test('reports a server error without a problem document as retryable ERR_CERTS_ACME_SERVER', async () => {
    ca.reply = (res) => void res.writeHead(503, { 'content-type': 'text/html' }).end('<h1>maintenance</h1>');
    const err = await failure(issuer().issue([hostnameUnchecked('cdn.cdp.shop.test')]));
    assert.equal(err.code, 'ERR_CERTS_ACME_SERVER');
    assert.equal(err.details?.['status'], 503);
    assert.equal(err.retryable, true);
  });

  test('gives up on a CA that never answers after the request timeout', async () => {
    ca.reply = () => {}; // Hold the request open.
    const err = await failure(issuer(300).issue([hostnameUnchecked('cdn.cdp.shop.test')]));
    assert.equal(err.code, 'ERR_CERTS_ACME_CONNECTION');
    assert.equal(err.retryable, true);
  });

  test('reports a refused connection as retryable ERR_CERTS_ACME_CONNECTION', async () => {
    const closed = createAcmeIssuer({ directoryUrl: 'http://127.0.0.1:1/dir', accounts: { load: async () => null, save: async () => {} }, dns01: { publish: async () => {}, withdraw: async () => {} } });
    const err = await failure(closed.issue([hostnameUnchecked('cdn.cdp.shop.test')]));
    assert.equal(err.code, 'ERR_CERTS_ACME_CONNECTION');
    assert.equal(err.details?.['transport'], 'ECONNREFUSED');
  });
});
