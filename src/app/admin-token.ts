import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The operator's admin token: the configured one, or the one stored in `<dataDir>/admin-token`,
 * generated (32 random bytes, base64url, file mode 0600) on first start.
 */
export function resolveAdminToken(configured: string | null, dataDir: string): { token: string; path: string | null; generated: boolean } {
  if (configured) return { token: configured, path: null, generated: false };
  const path = join(dataDir, 'admin-token');
  if (existsSync(path)) return { token: readFileSync(path, 'utf8').trim(), path, generated: false };
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(32).toString('base64url');
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  return { token, path, generated: true };
}
