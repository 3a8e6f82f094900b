import { Client, crypto as acmeCrypto } from 'acme-client';
import { acmeCall } from './acme-call.ts';
import { runWithAcmeContext, type AcmeRequestContext } from './acme-transport.ts';
import type { AcmeAccountStore, Logger } from './types.ts';

/** What an {@link AcmeAccountSession} needs. */
export interface AcmeAccountDeps {
  readonly directoryUrl: string;
  readonly accounts: AcmeAccountStore;
  readonly contactEmail?: string;
  readonly logger: Logger;
  /**
   * A fresh transport context for a registration. Registrations run in their own context, not
   * the issuance that triggered them: they are shared, so one caller's cancellation must not
   * fail the others waiting on them.
   */
  readonly newContext: () => AcmeRequestContext;
}

/**
 * The one ACME account an issuer uses for its directory. `client()` loads the stored account or,
 * the first time, registers a new one (ECDSA P-256 key, terms of service agreed, RFC 8555 §7.3)
 * and saves it before resolving; concurrent callers share one registration. `replace(stale)`
 * registers a fresh account when the CA no longer knows the stored one (a test CA restarted, an
 * account deactivated) — unless another caller already replaced it. Two processes sharing one
 * store may each register once; the last save wins (callers that care hold a lock).
 */
export interface AcmeAccountSession {
  client(): Promise<Client>;
  replace(stale: Client): Promise<Client>;
}

/** Creates the {@link AcmeAccountSession} of one issuer. */
export function createAcmeAccountSession(deps: AcmeAccountDeps): AcmeAccountSession {
  let current: Promise<Client> | null = null;
  const remember = (p: Promise<Client>): Promise<Client> => {
    current = p;
    // A failed load or registration is forgotten so that the next issuance tries again.
    p.catch(() => {
      if (current === p) current = null;
    });
    return p;
  };
  return {
    client: () => current ?? remember(loadOrRegister(deps)),
    replace: async (stale) => {
      const now = current === null ? null : await current.catch(() => null);
      if (now !== null && now !== stale) return now;
      return remember(register(deps));
    },
  };
}

async function loadOrRegister(deps: AcmeAccountDeps): Promise<Client> {
  const stored = await deps.accounts.load(deps.directoryUrl);
  if (stored === null) return register(deps);
  return new Client({ directoryUrl: deps.directoryUrl, accountKey: stored.accountKeyPem, accountUrl: stored.accountUrl });
}

async function register(deps: AcmeAccountDeps): Promise<Client> {
  const ctx = deps.newContext();
  const accountKey = await acmeCrypto.createPrivateEcdsaKey('P-256');
  const client = new Client({ directoryUrl: deps.directoryUrl, accountKey });
  const contact = deps.contactEmail === undefined ? {} : { contact: [`mailto:${deps.contactEmail}`] };
  // RFC 8555 §7.3 termsOfServiceAgreed: configuring this directory is the operator's agreement.
  await runWithAcmeContext(ctx, () => acmeCall(ctx, 'create account', () => client.createAccount({ termsOfServiceAgreed: true, ...contact })));
  const accountUrl = client.getAccountUrl();
  await deps.accounts.save(deps.directoryUrl, { accountKeyPem: accountKey.toString(), accountUrl });
  deps.logger.info({ directoryUrl: deps.directoryUrl, accountUrl }, 'registered ACME account');
  return client;
}
