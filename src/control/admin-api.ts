import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../core/index.ts';
import { ControlErrors } from './errors.ts';
import type { Control } from './service.ts';

/** Dependencies of {@link createAdminHandler}. */
export interface AdminApiDeps {
  readonly control: Control;
  /** The operator's bearer token. */
  readonly adminToken: string;
  readonly logger?: { error(obj: object, msg?: string): void };
}

type Params = Record<string, string>;
type Handler = (p: Params, body: Record<string, unknown>, url: URL) => Promise<{ status: number; body: unknown }>;
interface Route { method: string; pattern: RegExp; keys: string[]; handler: Handler }

const MAX_BODY_BYTES = 64 * 1024;

/**
 * The admin API (JSON over HTTP, `Authorization: Bearer <token>`), as a Node request handler.
 * Every error answers `{error: {code, message}}` with the code's HTTP status; a 500 never leaks
 * internals. Routes are listed in docs/admin-api.md.
 */
export function createAdminHandler(deps: AdminApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const routes = buildRoutes(deps.control);
  const expected = digest(deps.adminToken);
  return (req, res) => {
    handle(req, res).catch((err: unknown) => sendError(res, err, deps.logger));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const path = url.pathname.replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1');
    if (path === '/healthz') return send(res, 200, { ok: true });
    if (!authorized(req.headers.authorization, expected)) throw new AppError(ControlErrors.UNAUTHORIZED);
    const matches = routes.filter((r) => r.pattern.test(path));
    if (matches.length === 0) throw new AppError(ControlErrors.NOT_FOUND, `no route ${path}`);
    const route = matches.find((r) => r.method === req.method);
    if (!route) {
      res.setHeader('Allow', matches.map((r) => r.method).join(', '));
      throw new AppError(ControlErrors.METHOD_NOT_ALLOWED, `${req.method} is not allowed on ${path}`);
    }
    const m = route.pattern.exec(path)!;
    const params = Object.fromEntries(route.keys.map((k, i) => [k, decodeURIComponent(m[i + 1]!)]));
    const body = req.method === 'POST' || req.method === 'PATCH' ? await readJson(req) : {};
    const out = await route.handler(params, body, url);
    send(res, out.status, out.body);
  }
}

function buildRoutes(c: Control): Route[] {
  const routes: Route[] = [];
  const add = (method: string, path: string, handler: Handler) => {
    const keys: string[] = [];
    const pattern = new RegExp('^' + path.replace(/:(\w+)/g, (_, k: string) => (keys.push(k), '([^/]+)')) + '$');
    routes.push({ method, pattern, keys, handler });
  };
  const ws = '/api/v1/workspaces/:ws';
  add('POST', '/api/v1/workspaces', async (_p, b) => ({ status: 201, body: await c.createWorkspace(b) }));
  add('GET', ws, async (p) => ({ status: 200, body: await c.getWorkspace(p.ws!) }));
  add('POST', `${ws}/sources`, async (p, b) => ({ status: 201, body: await c.createSource(p.ws!, b) }));
  add('GET', `${ws}/sources`, async (p) => ({ status: 200, body: { sources: await c.listSources(p.ws!) } }));
  add('GET', `${ws}/sources/:id`, async (p) => ({ status: 200, body: await c.getSource(p.ws!, p.id!) }));
  add('GET', `${ws}/sources/:id/snippet`, async (p, _b, u) => {
    const globalName = u.searchParams.get('globalName') ?? undefined;
    return { status: 200, body: await c.snippet(p.ws!, p.id!, globalName ? { globalName } : {}) };
  });
  add('GET', `${ws}/sources/:id/events`, async (p, _b, u) => {
    const limit = intParam(u, 'limit', 50, 1, 1000);
    const before = u.searchParams.has('before') ? intParam(u, 'before', 0, 1, Number.MAX_SAFE_INTEGER) : undefined;
    const events = await c.recentEvents(p.ws!, p.id!, limit, before);
    return { status: 200, body: { events, nextBefore: events.length === limit ? events[events.length - 1]!.seq : null } };
  });
  add('POST', `${ws}/custom-domains`, async (p, b) => ({ status: 201, body: await c.requestDomain(p.ws!, b) }));
  add('GET', `${ws}/custom-domains`, async (p) => ({ status: 200, body: { customDomains: await c.listDomains(p.ws!) } }));
  add('GET', `${ws}/custom-domains/:id`, async (p) => ({ status: 200, body: await c.getDomain(p.ws!, p.id!) }));
  add('DELETE', `${ws}/custom-domains/:id`, async (p) => ({ status: 200, body: await c.removeDomain(p.ws!, p.id!) }));
  return routes;
}

function intParam(u: URL, key: string, dflt: number, min: number, max: number): number {
  const raw = u.searchParams.get(key);
  if (raw === null) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new AppError(ControlErrors.INVALID_INPUT, `"${key}" must be an integer from ${min} to ${max}`);
  return n;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function authorized(header: string | undefined, expected: Buffer): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m !== null && timingSafeEqual(digest(m[1]!), expected);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new AppError(ControlErrors.BODY_TOO_LARGE, `request body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)));
  } catch {
    throw new AppError(ControlErrors.INVALID_JSON);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new AppError(ControlErrors.INVALID_INPUT, 'request body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(json), 'Cache-Control': 'no-store' });
  res.end(json);
}

function sendError(res: ServerResponse, err: unknown, logger?: AdminApiDeps['logger']): void {
  const appErr = err instanceof AppError ? err : new AppError(ControlErrors.INTERNAL);
  if (!(err instanceof AppError) || appErr.httpStatus >= 500) logger?.error({ err }, 'admin API error');
  if (res.headersSent) return void res.destroy();
  const error: Record<string, unknown> = { code: appErr.code, message: appErr.message };
  if (appErr.details) error.details = appErr.details;
  send(res, appErr.httpStatus, { error });
}
