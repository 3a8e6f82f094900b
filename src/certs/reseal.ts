import type { KeyCipher } from './key-cipher.ts';

/** Where sealed secrets live: the store's certificate-record repository provides it. */
export interface ResealableStore {
  resealAll(reseal: (sealed: string) => string): Promise<number>;
}

/**
 * Master-key rotation, second step: re-seals every stored secret (certificate keys, ACME account
 * keys, journaled order keys) that is not sealed with `cipher`'s current key. The first step is
 * configuring the new key as `FIRSTPARTY_MASTER_KEY` and the old one in
 * `FIRSTPARTY_PREVIOUS_MASTER_KEYS`; after this has run (at every start), the old key can be
 * dropped from the configuration. Returns how many secrets were re-sealed; one transaction, so a
 * crash leaves every secret readable with the configured keys.
 */
export async function resealSecrets(store: ResealableStore, cipher: KeyCipher): Promise<number> {
  const prefix = `v1:${cipher.keyId}:`;
  return store.resealAll((sealed) => (sealed.startsWith(prefix) ? sealed : cipher.encrypt(cipher.decrypt(sealed))));
}
