import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError, type Clock } from '../core/index.ts';
import type { Store, TokenRecord } from '../store/index.ts';
import { ControlErrors } from './errors.ts';
import { newId } from './ids.ts';

/** Who is calling: the operator (everything) or a token scoped to one workspace. */
export type Principal =
  | { readonly kind: 'operator' }
  | { readonly kind: 'workspace'; readonly tokenId: string; readonly workspaceId: string };

/** The audit log's name for a principal: `operator` or `token:<id>`. */
export function actorOf(p: Principal): string {
  return p.kind === 'operator' ? 'operator' : `token:${p.tokenId}`;
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * Resolves an `Authorization: Bearer <token>` header to a {@link Principal}: the operator's token
 * (compared in constant time) or a live workspace token (looked up by its SHA-256; the token
 * itself is never stored). Throws `ERR_CONTROL_UNAUTHORIZED` (401) otherwise.
 */
export async function authenticate(header: string | undefined, operatorToken: string, store: Store): Promise<Principal> {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!m) throw new AppError(ControlErrors.UNAUTHORIZED);
  const token = m[1]!;
  if (timingSafeEqual(sha256(token), sha256(operatorToken))) return { kind: 'operator' };
  const rec = await store.tokens.byHash(sha256(token).toString('hex'));
  if (!rec || rec.revokedAt !== null || rec.workspaceId === null) throw new AppError(ControlErrors.UNAUTHORIZED);
  return { kind: 'workspace', tokenId: rec.id, workspaceId: rec.workspaceId };
}

/**
 * Throws `ERR_CONTROL_FORBIDDEN` (403) unless `p` may act on `workspaceId` (undefined: an
 * operator-only resource). A workspace token sees and changes only its own workspace.
 */
export function authorize(p: Principal, workspaceId: string | undefined): void {
  if (p.kind === 'operator') return;
  if (workspaceId === undefined || workspaceId !== p.workspaceId) {
    throw new AppError(ControlErrors.FORBIDDEN, workspaceId === undefined ? 'this action needs the operator token' : 'this token is scoped to another workspace');
  }
}

/** A token as listed (never the secret). */
export interface TokenView {
  readonly id: string;
  readonly workspaceId: string | null;
  readonly name: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

function toView(t: TokenRecord): TokenView {
  return { id: t.id, workspaceId: t.workspaceId, name: t.name, createdAt: new Date(t.createdAt).toISOString(), revokedAt: t.revokedAt === null ? null : new Date(t.revokedAt).toISOString() };
}

/** Creates, lists and revokes workspace-scoped tokens. */
export function createTokenAdmin(deps: { store: Store; clock: Clock }) {
  return {
    /** Creates a token for `workspaceId`; the token text is returned only here (`fpt_` + 43 base64url chars). */
    async create(workspaceId: string, name: string): Promise<TokenView & { token: string }> {
      const token = `fpt_${randomBytes(32).toString('base64url')}`;
      const rec: TokenRecord = { id: newId('tok'), hash: sha256(token).toString('hex'), workspaceId, name, createdAt: deps.clock.now(), revokedAt: null };
      await deps.store.tokens.create(rec);
      return { ...toView(rec), token };
    },
    async list(workspaceId: string): Promise<TokenView[]> {
      return (await deps.store.tokens.listByWorkspace(workspaceId)).map(toView);
    },
    /** Revokes a token of `workspaceId`; 404 when it is not one of its live tokens. */
    async revoke(workspaceId: string, id: string): Promise<{ id: string; revoked: true }> {
      const mine = (await deps.store.tokens.listByWorkspace(workspaceId)).some((t) => t.id === id);
      if (!mine || !(await deps.store.tokens.revoke(id, deps.clock.now()))) throw new AppError(ControlErrors.NOT_FOUND, `no live token ${id} in workspace ${workspaceId}`);
      return { id, revoked: true };
    },
  };
}
