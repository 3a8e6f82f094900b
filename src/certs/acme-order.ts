import { setTimeout as sleep } from 'node:timers/promises';
import { crypto as acmeCrypto, type Authorization, type Client, type Order } from 'acme-client';
import { AppError, hostnameUnchecked, type Hostname } from '../core/index.ts';
import { abortedError, acmeCall } from './acme-call.ts';
import { acmeProblemError, parseAcmeProblem } from './acme-problem.ts';
import type { AcmeRequestContext } from './acme-transport.ts';
import { certificateInfo, splitPemCertificates } from './cert-info.ts';
import { CertsErrors } from './errors.ts';
import type { Dns01Publisher, IssuedCertificate, IssueOptions, Logger } from './types.ts';

/** What one order needs besides the account's client. */
export interface OrderEnv {
  readonly directoryUrl: string;
  readonly dns01: Dns01Publisher;
  readonly logger: Logger;
  /** Give up when the order has not reached `valid` this long after it was created. */
  readonly orderTimeoutMs: number;
}

type Challenge = Authorization['challenges'][number];
type OrderStatus = Order['status'];
interface PublishedRecord {
  readonly name: Hostname;
  readonly value: string;
}

/** First and largest wait between polls of an order (RFC 8555 §7.5.1: clients poll). */
const POLL_FIRST_MS = 50;
const POLL_MAX_MS = 2_000;
/** A CA's `Retry-After` on a poll is honoured up to this much. */
const POLL_RETRY_AFTER_CAP_MS = 10_000;
/** CAB Forum BR §7.1.4.3: a subject CN, when present, is one of the SANs and at most 64 characters. */
const MAX_CN_LENGTH = 64;

/**
 * Runs one ACME order for `names` over DNS-01 (RFC 8555 §7.4, §8.4): create the order (with
 * `replaces`, RFC 9773 §5, when renewing), publish `_acme-challenge.<name>` TXT for each pending
 * authorization, tell the CA to validate, wait for `ready`, withdraw the records, finalize with a
 * CSR from a fresh ECDSA P-256 key, wait for `valid` and download the chain. Every published
 * record is withdrawn, on failure too. The records are not pre-checked through DNS (what
 * acme-client's `skipChallengeVerification` skips): `dns01.publish` resolves once our own
 * servers answer them, and a system-resolver check would only add delay.
 *
 * With `opts.resume`, the journaled order is fetched and continued from its current status
 * (a `valid` one is only downloaded, with the journaled key); an order the CA no longer knows or
 * that became `invalid` is replaced by a new one. `opts.journal` hears of the order URL and the
 * CSR key before they matter.
 */
export async function runOrder(env: OrderEnv, client: Client, ctx: AcmeRequestContext, names: readonly Hostname[], opts: IssueOptions): Promise<IssuedCertificate> {
  const deadline = Date.now() + env.orderTimeoutMs;
  let order = opts.resume ? await resumableOrder(env, client, ctx, opts.resume.orderUrl) : null;
  // An order finalized before a crash whose key was never journaled can give no usable certificate.
  if (order !== null && (order.status === 'processing' || order.status === 'valid') && !opts.resume?.keyPem) order = null;
  order ??= await createOrder(env, client, ctx, names, opts);
  const published: PublishedRecord[] = [];
  try {
    if (order.status === 'pending') {
      const challenges = await publishChallenges(env, client, ctx, order, published, opts);
      for (const challenge of challenges) {
        await acmeCall(ctx, 'respond to challenge', () => client.completeChallenge(challenge));
      }
      order = await waitForOrder(client, ctx, order, 'ready', deadline);
      opts.onProgress?.({ kind: 'validated' });
      await withdrawAll(env, published);
    }
    const keyPem = opts.resume?.keyPem ?? null;
    return await finalizeAndDownload(env, client, ctx, order, names, deadline, opts, order.status === 'ready' ? null : keyPem);
  } finally {
    await withdrawAll(env, published);
  }
}

async function createOrder(env: OrderEnv, client: Client, ctx: AcmeRequestContext, names: readonly Hostname[], opts: IssueOptions): Promise<Order> {
  const replaces = opts.replaces === undefined ? {} : { replaces: opts.replaces };
  const order = await acmeCall(ctx, 'create order', () => client.createOrder({ identifiers: names.map((value) => ({ type: 'dns', value })), ...replaces }));
  await opts.journal?.orderCreated(order.url);
  opts.onProgress?.({ kind: 'order_created' });
  env.logger.info({ orderUrl: order.url, names, ...replaces }, 'ACME order created');
  return order;
}

/** The journaled order if the CA can still complete it; null when a new order is needed. */
async function resumableOrder(env: OrderEnv, client: Client, ctx: AcmeRequestContext, orderUrl: string): Promise<Order | null> {
  try {
    const order = await acmeCall(ctx, 'resume order', () => client.getOrder({ url: orderUrl } as Order));
    if (order.status === 'invalid') return null;
    env.logger.info({ orderUrl, status: order.status }, 'resuming ACME order');
    return order;
  } catch (err) {
    if (err instanceof AppError && err.retryable) throw err;
    env.logger.warn({ err, orderUrl }, 'journaled ACME order is gone; creating a new one');
    return null;
  }
}

/** Publishes the DNS-01 record of every pending authorization; returns the challenges still to answer. */
async function publishChallenges(env: OrderEnv, client: Client, ctx: AcmeRequestContext, order: Order, published: PublishedRecord[], opts: IssueOptions): Promise<Challenge[]> {
  const authorizations = await acmeCall(ctx, 'fetch authorizations', () => client.getAuthorizations(order));
  const challenges: Challenge[] = [];
  for (const authz of authorizations) {
    // A CA may reuse an authorization it validated recently (RFC 8555 §7.1.4): nothing to do.
    if (authz.status === 'valid') continue;
    const challenge = authz.challenges.find((c) => c.type === 'dns-01');
    if (challenge === undefined) {
      throw new AppError(CertsErrors.ACME_FAILED, `the CA offers no dns-01 challenge for ${authz.identifier.value}`, { details: { step: 'select challenge', identifier: authz.identifier } });
    }
    // RFC 8555 §8.4: base64url(SHA-256(key authorization)) at _acme-challenge.<domain>.
    const record = { name: hostnameUnchecked(`_acme-challenge.${authz.identifier.value}`), value: await client.getChallengeKeyAuthorization(challenge) };
    published.push(record);
    await env.dns01.publish(record.name, record.value);
    opts.onProgress?.({ kind: 'challenge_published', name: record.name });
    // A reused pending authorization may already be under validation: asking again is an error.
    if (challenge.status === 'pending') challenges.push(challenge);
  }
  return challenges;
}

/**
 * Finalizes a `ready` order with a fresh key (journaled first), or — resuming an order already
 * `processing`/`valid` — waits for it and downloads it with the journaled `resumedKeyPem`.
 */
async function finalizeAndDownload(env: OrderEnv, client: Client, ctx: AcmeRequestContext, order: Order, names: readonly Hostname[], deadline: number, opts: IssueOptions, resumedKeyPem: string | null): Promise<IssuedCertificate> {
  let keyPem = resumedKeyPem;
  let valid = order;
  if (order.status === 'ready') {
    keyPem = (await acmeCrypto.createPrivateEcdsaKey('P-256')).toString();
    await opts.journal?.keyCreated(keyPem);
    const commonName = names[0]!.length <= MAX_CN_LENGTH ? { commonName: names[0]! } : {};
    const [, csr] = await acmeCrypto.createCsr({ ...commonName, altNames: [...names] }, keyPem);
    valid = await acmeCall(ctx, 'finalize order', () => client.finalizeOrder(order, csr));
  }
  if (keyPem === null) {
    throw new AppError(CertsErrors.ACME_FAILED, `cannot resume an order that is ${order.status} without its key`, { details: { step: 'resume order', orderUrl: order.url } });
  }
  if (valid.status !== 'valid') valid = await waitForOrder(client, ctx, valid, 'valid', deadline);
  opts.onProgress?.({ kind: 'finalized' });
  const chain = await acmeCall(ctx, 'download certificate', () => client.getCertificate(valid));
  opts.onProgress?.({ kind: 'downloaded' });
  const issued = toIssuedCertificate(chain, keyPem, names, valid.certificate, env.directoryUrl);
  env.logger.info({ names, serialHex: issued.serialHex, notAfter: issued.notAfter }, 'ACME certificate issued');
  return issued;
}

/**
 * Polls the order until it reaches `target` (`ready` after validation, `valid` after
 * finalization; RFC 8555 §7.1.6). `invalid` throws the failing authorization's problem; the
 * deadline throws `ERR_CERTS_ACME_TIMEOUT`.
 */
async function waitForOrder(client: Client, ctx: AcmeRequestContext, order: Order, target: 'ready' | 'valid', deadline: number): Promise<Order> {
  const stillWorking: readonly OrderStatus[] = target === 'ready' ? ['pending'] : ['ready', 'processing'];
  let delayMs = POLL_FIRST_MS;
  for (;;) {
    ctx.retryAfterMs = null;
    const current = await acmeCall(ctx, 'poll order', () => client.getOrder(order));
    if (current.status === target) return current;
    if (current.status === 'invalid') throw await invalidOrderError(client, ctx, current);
    if (!stillWorking.includes(current.status)) {
      throw new AppError(CertsErrors.ACME_FAILED, `ACME order is ${current.status}, expected ${target}`, { details: { step: 'poll order', status: current.status } });
    }
    const waitMs = Math.max(delayMs, Math.min(ctx.retryAfterMs ?? 0, POLL_RETRY_AFTER_CAP_MS));
    if (Date.now() + waitMs > deadline) {
      throw new AppError(CertsErrors.ACME_TIMEOUT, `ACME order still ${current.status} at the deadline`, { details: { step: 'poll order', status: current.status, orderUrl: order.url } });
    }
    await pause(ctx, waitMs);
    delayMs = Math.min(POLL_MAX_MS, delayMs * 2);
  }
}

/** The error of an invalid order: the first invalid authorization's challenge problem, else the order's. */
async function invalidOrderError(client: Client, ctx: AcmeRequestContext, order: Order): Promise<AppError> {
  const authorizations = await acmeCall(ctx, 'fetch authorizations', () => client.getAuthorizations(order));
  for (const authz of authorizations.filter((a) => a.status === 'invalid')) {
    const failed = authz.challenges.find((c) => c.status === 'invalid' && c.error !== undefined);
    const problem = parseAcmeProblem(failed?.error);
    if (problem !== null) return acmeProblemError({ identifier: authz.identifier, ...problem }, `validate ${authz.identifier.value}`);
  }
  const problem = parseAcmeProblem(order.error);
  if (problem !== null) return acmeProblemError(problem, 'order');
  return new AppError(CertsErrors.ACME_FAILED, 'ACME order became invalid without a stated reason', { details: { step: 'poll order', orderUrl: order.url } });
}

async function pause(ctx: AcmeRequestContext, ms: number): Promise<void> {
  try {
    await sleep(ms, undefined, ctx.signal === undefined ? {} : { signal: ctx.signal });
  } catch (err) {
    if (ctx.signal?.aborted) throw abortedError(ctx.signal, 'poll order');
    throw err;
  }
}

async function withdrawAll(env: OrderEnv, published: PublishedRecord[]): Promise<void> {
  for (const record of published.splice(0)) {
    try {
      await env.dns01.withdraw(record.name, record.value);
    } catch (err) {
      // The certificate outcome does not depend on cleanup; a leftover TXT record is harmless
      // and is reported so that it can be removed.
      env.logger.error({ err, name: record.name }, 'could not withdraw DNS-01 record');
    }
  }
}

/** Splits the downloaded chain into leaf and intermediates and reads the leaf's facts. */
function toIssuedCertificate(chainPem: string, keyPem: string, names: readonly Hostname[], certUrl: string | undefined, directoryUrl: string): IssuedCertificate {
  const [leaf, ...intermediates] = splitPemCertificates(chainPem);
  if (leaf === undefined) throw new AppError(CertsErrors.ACME_FAILED, 'the CA returned no certificate', { details: { step: 'download certificate' } });
  const info = certificateInfo(leaf);
  const missing = names.filter((n) => !info.names.includes(n));
  if (missing.length > 0) {
    throw new AppError(CertsErrors.ACME_FAILED, `the issued certificate lacks ${missing.join(', ')}`, { details: { step: 'download certificate', missing } });
  }
  return {
    certPem: leaf,
    chainPem: intermediates.join(''),
    keyPem,
    names: [...names],
    serialHex: info.serialHex,
    issuer: info.issuer,
    notBefore: info.notBefore,
    notAfter: info.notAfter,
    issuerKind: 'acme',
    ...(certUrl === undefined ? {} : { acmeCertUrl: certUrl }),
    directoryUrl,
  };
}
