import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A random identifier `<prefix>_<n chars>` from a lowercase alphanumeric alphabet (unbiased). */
export function newId(prefix: string, length = 16): string {
  return `${prefix}_${randomToken(length)}`;
}

/** A random write key: 32 mixed-case alphanumeric characters (~190 bits). */
export function newWriteKey(): string {
  return randomToken(32, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789');
}

function randomToken(length: number, alphabet = ALPHABET): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      // Rejection sampling keeps every character equally likely.
      if (b < 256 - (256 % alphabet.length) && out.length < length) out += alphabet[b % alphabet.length];
    }
  }
  return out;
}
