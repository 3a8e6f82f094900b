import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../core/index.ts';
import { CertsErrors } from './errors.ts';

/**
 * Seals secrets (certificate and account private keys) for storage. `encrypt` returns
 * `v1:<keyId>:<b64 iv>:<b64 tag>:<b64 ciphertext>` (AES-256-GCM, 96-bit random IV, the
 * `v1:<keyId>` prefix authenticated as additional data); `decrypt` accepts values sealed with
 * the current key or any previous key, and throws `ERR_CERTS_KEY_DECRYPT` for an unknown key
 * id, a wrong key, a malformed value or tampered data. `keyId` names the current key.
 */
export interface KeyCipher {
  encrypt(plaintext: string): string;
  decrypt(sealed: string): string;
  readonly keyId: string;
}

/** Options of {@link loadKeyCipher}. */
export interface KeyCipherOptions {
  /** Directory holding `master.key` when no `masterKey` is configured. */
  readonly dataDir: string;
  /** Base64 of 32 random bytes (from config). Default: `<dataDir>/master.key`, generated once. */
  readonly masterKey?: string;
  /** Earlier master keys (base64), accepted by `decrypt` only, so rotation needs no re-sealing first. */
  readonly previousKeys?: readonly string[];
}

const VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_FILE = 'master.key';

/**
 * Loads the key-encryption key and returns a {@link KeyCipher}. Without `masterKey`, reads
 * `<dataDir>/master.key` or, on first use, creates it (32 random bytes, base64, mode 0600,
 * appearing atomically so that two processes starting together share one key). With
 * `masterKey`, an existing `master.key` still decrypts (a deployment that later configured a
 * key keeps reading what it sealed before). Throws `ERR_CERTS_MASTER_KEY_INVALID` when a key
 * is not 32 bytes of base64.
 */
export function loadKeyCipher(opts: KeyCipherOptions): KeyCipher {
  const current = opts.masterKey === undefined ? loadOrCreateKeyFile(opts.dataDir) : decodeKey(opts.masterKey, 'masterKey');
  const decryptKeys = new Map<string, Buffer>([[keyIdOf(current), current]]);
  const fileKey = opts.masterKey === undefined ? null : readKeyFile(opts.dataDir);
  for (const key of [...(opts.previousKeys ?? []).map((k) => decodeKey(k, 'previousKeys')), ...(fileKey ? [fileKey] : [])]) {
    if (!decryptKeys.has(keyIdOf(key))) decryptKeys.set(keyIdOf(key), key);
  }
  const keyId = keyIdOf(current);
  return {
    keyId,
    encrypt: (plaintext) => seal(current, keyId, plaintext),
    decrypt: (sealed) => open(decryptKeys, sealed),
  };
}

/** First 8 hex digits of SHA-256 of the raw key: names a key without revealing it. */
function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

function seal(key: Buffer, keyId: string, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(`${VERSION}:${keyId}`));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, keyId, iv.toString('base64'), cipher.getAuthTag().toString('base64'), ciphertext.toString('base64')].join(':');
}

function open(keys: ReadonlyMap<string, Buffer>, sealed: string): string {
  const parts = sealed.split(':');
  const [version, keyId, ivB64, tagB64, ctB64] = parts;
  if (parts.length !== 5 || version !== VERSION || keyId === undefined || ivB64 === undefined || tagB64 === undefined || ctB64 === undefined) {
    throw decryptError('sealed value is not in v1 format', { keyId: null });
  }
  const key = keys.get(keyId);
  if (key === undefined) throw decryptError(`no key with id ${keyId} is configured`, { keyId });
  const iv = strictBase64(ivB64);
  const tag = strictBase64(tagB64);
  const ciphertext = strictBase64(ctB64);
  if (iv?.length !== IV_BYTES || tag?.length !== TAG_BYTES || ciphertext === null) {
    throw decryptError('sealed value has a malformed IV, tag or ciphertext', { keyId });
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(`${VERSION}:${keyId}`));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch (err) {
    throw decryptError('authentication failed: wrong key or tampered data', { keyId }, err);
  }
}

function decryptError(message: string, details: Record<string, unknown>, cause?: unknown): AppError {
  return new AppError(CertsErrors.KEY_DECRYPT, `cannot decrypt sealed key: ${message}`, { details, cause });
}

/** Decodes base64 only when it is canonical (Node's decoder silently skips bad characters). */
function strictBase64(s: string): Buffer | null {
  const buf = Buffer.from(s, 'base64');
  return buf.toString('base64') === s ? buf : null;
}

function decodeKey(b64: string, option: string): Buffer {
  const key = strictBase64(b64.trim());
  if (key?.length !== KEY_BYTES) {
    throw new AppError(CertsErrors.MASTER_KEY_INVALID, `${option}: expected base64 of ${KEY_BYTES} bytes`, { details: { option } });
  }
  return key;
}

function readKeyFile(dataDir: string): Buffer | null {
  try {
    return decodeKey(readFileSync(join(dataDir, KEY_FILE), 'utf8'), join(dataDir, KEY_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function loadOrCreateKeyFile(dataDir: string): Buffer {
  const existing = readKeyFile(dataDir);
  if (existing !== null) return existing;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Write a complete temporary file, then link it into place: link() fails if the name exists,
  // so a concurrent starter never reads a half-written key and exactly one key wins.
  const tmp = join(dataDir, `${KEY_FILE}.${randomBytes(6).toString('hex')}.tmp`);
  writeFileSync(tmp, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, join(dataDir, KEY_FILE));
  } catch (err) {
    // EEXIST: another process created the key first; theirs is read below.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  const created = readKeyFile(dataDir);
  if (created === null) throw new Error(`${join(dataDir, KEY_FILE)} vanished right after it was created`);
  return created;
}
