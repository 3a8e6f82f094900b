import type { Hostname } from '../core/index.ts';
import { createAcmeAccountSession, type AcmeAccountSession } from './acme-account.ts';
import { abortedError, hasProblemType } from './acme-call.ts';
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
      return runWithAcmeContext(ctx, () => issueWithAccount(env, session, ctx, names, opts));
    },
  };
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
