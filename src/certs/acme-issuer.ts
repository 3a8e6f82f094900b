import type { Client } from 'acme-client';
import { AppError, type Hostname } from '../core/index.ts';
import { ariCertId, parseRenewalInfo, type RenewalWindow } from './renewal-info.ts';
import { createAcmeAccountSession, type AcmeAccountSession } from './acme-account.ts';
import { abortedError, acmeCall, hasProblemType } from './acme-call.ts';
import { runOrder, type OrderEnv } from './acme-order.ts';
import { createAcmeAgent, runWithAcmeContext, type AcmeRequestContext } from './acme-transport.ts';
import { silentLogger, type AcmeAccountStore, type Dns01Publisher, type IssuedCertificate, type Issuer, type IssueOptions, type Logger } from './types.ts';

/** Dependencies and options of {@link createAcmeIssuer}. */
export interface AcmeIssuerDeps {
  /** The CA's directory URL (RFC 8555 §7.1.1), e.g. Let's Encrypt staging. Also the issuer's `id`. */
  readonly directoryUrl: string;
  /** Extra CA certificates (PEM) trusted for the directory's HTTPS, on top of Node's roots (Pebble). */
  readonly caBundlePem?: string;
  readonly accounts: AcmeAccountStore;
  readonly dns01: Dns01Publisher;
  /** Registered as `mailto:` contact of a new account (default: none). */
  readonly contactEmail?: string;
  /** CAA `issue` values for our zones (default: known for well-known CAs, else `[]`). */
  readonly caaIdentities?: readonly string[];
  readonly logger?: Logger;
  /** An order not `valid` this long after creation fails with `ERR_CERTS_ACME_TIMEOUT` (default 180 000). */
  readonly orderTimeoutMs?: number;
  /** Timeout of one HTTP request to the CA (default 30 000). */
  readonly requestTimeoutMs?: number;
}

/** CAA identities of public ACME CAs (RFC 8659 §4.2), by directory host. */
const KNOWN_CAA_IDENTITIES: ReadonlyArray<readonly [RegExp, string]> = [
  [/(^|\.)letsencrypt\.org$/, 'letsencrypt.org'],
  [/(^|\.)pki\.goog$/, 'pki.goog'],
  [/(^|\.)zerossl\.com$/, 'sectigo.com'],
  [/(^|\.)buypass\.(no|com)$/, 'buypass.com'],
];

/**
 * An {@link Issuer} backed by an ACME CA through acme-client, validating every name over DNS-01
 * published with `dns01`. One account per directory, registered on first use and kept in
 * `accounts`; registered again if the CA reports it unknown (`accountDoesNotExist`).
 *
 * `issue` throws catalogue errors carrying the CA's problem document in `details.problem`:
 * `ERR_CERTS_ACME_RATE_LIMITED` (with `details.retryAfterMs` when the CA sent one), `_CAA`, `_DNS`, `_UNAUTHORIZED`,
 * `_REJECTED_IDENTIFIER`, `_CONNECTION`, `_SERVER`, `_BAD_NONCE` (after bounded retries),
 * `_TIMEOUT`, `_FAILED`, and `ERR_CERTS_ISSUE_ABORTED` on cancellation. It never sleeps on a
 * rate limit itself: the caller's scheduler decides when to retry.
 */
export function createAcmeIssuer(deps: AcmeIssuerDeps): Issuer {
  const logger = deps.logger ?? silentLogger;
  const agent = createAcmeAgent(deps.caBundlePem);
  const requestTimeoutMs = deps.requestTimeoutMs ?? 30_000;
  const caa = deps.caaIdentities ?? defaultCaaIdentities(deps.directoryUrl);
  const newContext = (signal?: AbortSignal): AcmeRequestContext => ({ agent, signal, requestTimeoutMs, last: { kind: 'none' }, retryAfterMs: null });
  const contact = deps.contactEmail === undefined ? {} : { contactEmail: deps.contactEmail };
  const session = createAcmeAccountSession({ directoryUrl: deps.directoryUrl, accounts: deps.accounts, logger, newContext: () => newContext(), ...contact });
  const env: OrderEnv = { directoryUrl: deps.directoryUrl, dns01: deps.dns01, logger, orderTimeoutMs: deps.orderTimeoutMs ?? 180_000 };
  return {
    kind: 'acme',
    id: deps.directoryUrl,
    caaIdentities: () => [...caa],
    issue: (names, opts = {}) => {
      if (names.length === 0) return Promise.reject(new TypeError('issue() needs at least one name'));
      const ctx = newContext(opts.signal);
      return runWithAcmeContext(ctx, () => issueReplacing(env, session, ctx, names, opts));
    },
    revoke: (certPem, reasonCode) => {
      const ctx = newContext();
      return runWithAcmeContext(ctx, () => revokeWithAccount(env, session, ctx, certPem, reasonCode));
    },
    renewalInfo: (certPem) => {
      const ctx = newContext();
      return runWithAcmeContext(ctx, async () => fetchRenewalInfo(ctx, await session.client(), certPem));
    },
  };
}

/**
 * Issues with `replaces` when asked, and once more without it when the CA refuses the order
 * because of that field: `alreadyReplaced` (RFC 9773 §5: the old certificate was already renewed,
 * e.g. by an order lost in a crash), or `malformed` / `unauthorized` at order creation (the
 * certificate is another CA's, or another account's after a re-registration). `replaces` only
 * buys rate-limit exemption; repeating it would fail every renewal until the certificate expires.
 */
async function issueReplacing(env: OrderEnv, session: AcmeAccountSession, ctx: AcmeRequestContext, names: readonly Hostname[], opts: IssueOptions): Promise<IssuedCertificate> {
  try {
    return await issueWithAccount(env, session, ctx, names, opts);
  } catch (err) {
    if (opts.replaces === undefined || !refusesReplaces(err)) throw err;
    env.logger.warn({ names, replaces: opts.replaces }, 'certificate already replaced; ordering without replaces');
    const { replaces: _dropped, resume: _stale, ...rest } = opts;
    return issueWithAccount(env, session, ctx, names, rest);
  }
}

function refusesReplaces(err: unknown): boolean {
  if (hasProblemType(err, 'alreadyReplaced')) return true;
  const atOrder = err instanceof AppError && err.details?.['step'] === 'create order';
  return atOrder && (hasProblemType(err, 'malformed') || hasProblemType(err, 'unauthorized'));
}

/** RFC 8555 §7.6 revocation signed by our account key; `alreadyRevoked` counts as done. */
async function revokeWithAccount(env: OrderEnv, session: AcmeAccountSession, ctx: AcmeRequestContext, certPem: string, reasonCode: number): Promise<void> {
  const client = await session.client();
  try {
    await acmeCall(ctx, 'revoke certificate', () => client.revokeCertificate(certPem, { reason: reasonCode }));
  } catch (err) {
    if (!hasProblemType(err, 'alreadyRevoked')) throw err;
  }
  env.logger.info({ directoryUrl: env.directoryUrl, reasonCode }, 'certificate revoked');
}

/** GET `<renewalInfo>/<certID>` (RFC 9773 §4.1, unauthenticated); null without ARI or for an unknown certificate. */
async function fetchRenewalInfo(ctx: AcmeRequestContext, client: Client, certPem: string): Promise<RenewalWindow | null> {
  const http = (client as unknown as { http: AcmeHttp }).http;
  const directory = await acmeCall(ctx, 'fetch directory', () => http.getDirectory());
  const base = directory['renewalInfo'];
  const certId = ariCertId(certPem);
  if (typeof base !== 'string' || certId === null) return null;
  ctx.retryAfterMs = null;
  try {
    const res = await acmeCall(ctx, 'fetch renewal info', () => http.request(`${base.replace(/\/$/, '')}/${certId}`, 'get'));
    return parseRenewalInfo(res.data, ctx.retryAfterMs);
  } catch (err) {
    // 404: the CA has no renewal information for this certificate; the lifetime rule applies.
    if (ctx.last.kind === 'response' && ctx.last.status === 404) return null;
    throw err;
  }
}

/** The part of acme-client's internal HTTP client used for ARI (it has no ARI API of its own). */
interface AcmeHttp {
  getDirectory(): Promise<Record<string, unknown>>;
  request(url: string, method: 'get'): Promise<{ status: number; data: unknown }>;
}

async function issueWithAccount(env: OrderEnv, session: AcmeAccountSession, ctx: AcmeRequestContext, names: readonly Hostname[], opts: IssueOptions): Promise<IssuedCertificate> {
  if (opts.signal?.aborted) throw abortedError(opts.signal, 'issuance');
  const client = await session.client();
  try {
    return await runOrder(env, client, ctx, names, opts);
  } catch (err) {
    // RFC 8555 §6.7 accountDoesNotExist: the stored account is gone; nothing was published yet.
    if (!hasProblemType(err, 'accountDoesNotExist')) throw err;
    env.logger.warn({ directoryUrl: env.directoryUrl }, 'ACME account unknown to the CA; registering a new one');
    return runOrder(env, await session.replace(client), ctx, names, opts);
  }
}

/** The CAA identity of a well-known public CA serving `directoryUrl`, else none. */
export function defaultCaaIdentities(directoryUrl: string): string[] {
  const host = URL.canParse(directoryUrl) ? new URL(directoryUrl).hostname : '';
  return KNOWN_CAA_IDENTITIES.filter(([pattern]) => pattern.test(host)).map(([, identity]) => identity);
}
