import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../core/index.ts';
import { loadKeyCipher } from './index.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'firstparty-key-cipher-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const SECRET = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';
const newKey = (): string => randomBytes(32).toString('base64');
const isDecryptError = (err: unknown): boolean => err instanceof AppError && err.code === 'ERR_CERTS_KEY_DECRYPT' && !err.retryable;

test('round-trips a secret through the v1 sealed format with a fresh IV each time', async () => {
  const masterKey = newKey();
  const cipher = loadKeyCipher({ dataDir: await tempDir(), masterKey });
  const a = cipher.encrypt(SECRET);
  const b = cipher.encrypt(SECRET);
  assert.match(a, /^v1:[0-9a-f]{8}:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
  assert.notEqual(a, b);
  assert.ok(!a.includes('PRIVATE KEY'));
  assert.equal(cipher.decrypt(a), SECRET);
  assert.equal(cipher.decrypt(b), SECRET);
  assert.equal(cipher.keyId, createHash('sha256').update(Buffer.from(masterKey, 'base64')).digest('hex').slice(0, 8));
  assert.equal(a.split(':')[1], cipher.keyId);
});

test('detects a tampered ciphertext, tag, IV or key id', async () => {
  const cipher = loadKeyCipher({ dataDir: await tempDir(), masterKey: newKey() });
  const sealed = cipher.encrypt(SECRET);
  const parts = sealed.split(':');
  const flip = (b64: string): string => {
    const buf = Buffer.from(b64, 'base64');
    buf[0] = buf[0]! ^ 0x01;
    return buf.toString('base64');
  };
  for (const i of [2, 3, 4]) {
    const tampered = parts.map((p, j) => (j === i ? flip(p) : p)).join(':');
    assert.throws(() => cipher.decrypt(tampered), isDecryptError, `part ${i}`);
  }
  assert.throws(() => cipher.decrypt(sealed.replace(/^v1:[0-9a-f]{8}/, 'v1:00000000')), isDecryptError);
  assert.throws(() => cipher.decrypt('not sealed at all'), isDecryptError);
});

test('refuses a value sealed under another key', async () => {
  const dataDir = await tempDir();
  const sealed = loadKeyCipher({ dataDir, masterKey: newKey() }).encrypt(SECRET);
  assert.throws(() => loadKeyCipher({ dataDir, masterKey: newKey() }).decrypt(sealed), isDecryptError);
});

test('decrypts values sealed under a previous key after rotation, and seals with the new one', async () => {
  const dataDir = await tempDir();
  const oldKey = newKey();
  const sealedOld = loadKeyCipher({ dataDir, masterKey: oldKey }).encrypt(SECRET);
  const rotated = loadKeyCipher({ dataDir, masterKey: newKey(), previousKeys: [oldKey] });
  assert.equal(rotated.decrypt(sealedOld), SECRET);
  const sealedNew = rotated.encrypt(SECRET);
  assert.equal(sealedNew.split(':')[1], rotated.keyId);
  assert.notEqual(rotated.keyId, sealedOld.split(':')[1]);
  assert.throws(() => loadKeyCipher({ dataDir, masterKey: oldKey }).decrypt(sealedNew), isDecryptError);
});

test('without a configured key, creates master.key with mode 0600 once and reuses it', async () => {
  const dataDir = join(await tempDir(), 'data');
  const first = loadKeyCipher({ dataDir });
  const path = join(dataDir, 'master.key');
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  const content = await readFile(path, 'utf8');
  assert.equal(Buffer.from(content.trim(), 'base64').length, 32);
  const sealed = first.encrypt(SECRET);
  const second = loadKeyCipher({ dataDir });
  assert.equal(second.keyId, first.keyId);
  assert.equal(second.decrypt(sealed), SECRET);
  assert.equal(await readFile(path, 'utf8'), content);
});

test('still decrypts what the generated key sealed after a master key is configured', async () => {
  const dataDir = await tempDir();
  const sealed = loadKeyCipher({ dataDir }).encrypt(SECRET);
  const configured = loadKeyCipher({ dataDir, masterKey: newKey() });
  assert.equal(configured.decrypt(sealed), SECRET);
});

test('rejects a master key that is not 32 bytes of base64', async () => {
  const dataDir = await tempDir();
  const invalid = (err: unknown): boolean => err instanceof AppError && err.code === 'ERR_CERTS_MASTER_KEY_INVALID';
  assert.throws(() => loadKeyCipher({ dataDir, masterKey: randomBytes(16).toString('base64') }), invalid);
  assert.throws(() => loadKeyCipher({ dataDir, masterKey: 'not base64!' }), invalid);
  assert.throws(() => loadKeyCipher({ dataDir, masterKey: newKey(), previousKeys: ['short'] }), invalid);
  await writeFile(join(dataDir, 'master.key'), 'garbage\n', { mode: 0o600 });
  assert.throws(() => loadKeyCipher({ dataDir }), invalid);
});
