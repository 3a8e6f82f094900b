import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, type Clock } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import { actorOf, authenticate, authorize, createTokenAdmin, type Principal } from './access.ts';
import { ControlErrors } from './errors.ts';
import { openApiDocument } from './openapi.ts';
import type { Control } from './service.ts';
import { createWebhookAdmin } from './webhooks.ts';

/** Dependencies of {@link createAdminHandler}. */
export interface AdminApiDeps {
  readonly control: Control;
  readonly store: Store;
  readonly clock: Clock;
  /** The operator's bearer token (every action); workspace tokens come from the store. */
  readonly adminToken: string;
  readonly logger?: { error(obj: object, msg?: string): void };
  /** Whether webhooks may target loopback/private addresses (default false). */
  readonly allowPrivateWebhookTargets?: boolean;
}

type Params = Record<string, string>;
type Handler = (p: Params, body: Record<string, unknown>, url: URL, who: Principal) => Promise<{ status: number; body: unknown }>;

/**
 * One admin route. `workspace` routes are open to the operator and to that workspace's tokens;
 * `operator` routes only to the operator. A route with an `action` changes something and is
 * recorded in the audit log when it succeeds.
 */
export interface AdminRoute {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Path template with `:name` parameters, as in the OpenAPI document (`{name}` there). */
  readonly path: string;
  readonly scope: 'operator' | 'workspace';
  readonly action: string | null;
  readonly handler: Handler;
}

interface CompiledRoute extends AdminRoute { readonly pattern: RegExp; readonly keys: string[] }

const MAX_BODY_BYTES = 64 * 1024;
/** Served without a token: liveness and the API description. */
const OPENAPI_PATH = '/api/v1/openapi.json';

/**
 * The admin API (JSON over HTTP, `Authorization: Bearer <token>`), as a Node request handler.
 * The operator token may do everything; a workspace token only reads and changes its workspace
 * (403 otherwise). Every successful change is appended to the audit log with its actor. Every
 * error answers `{error: {code, message, details?}}` with the code's HTTP status; a 500 never
 * leaks internals. Routes are described by `GET /api/v1/openapi.json` and docs/admin-api.md.
 */
export function createAdminHandler(deps: AdminApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const routes = adminRoutes(deps).map(compile);
  const bodyFields = documentedBodyFields();
  return (req, res) => {
    handle(req, res).catch((err: unknown) => sendError(res, err, deps.logger));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const path = url.pathname.replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1');
    if (path === '/healthz') return send(res, 200, { ok: true });
    // HEAD is GET without a body (RFC 9110 §9.3.2); Node drops the body of a HEAD response itself.
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (path === OPENAPI_PATH) {
      if (method === 'GET') return send(res, 200, openApiDocument());
      res.setHeader('Allow', 'GET, HEAD');
      throw new AppError(ControlErrors.METHOD_NOT_ALLOWED, `${req.method} is not allowed on ${path}`);
    }
    const who = await authenticate(req.headers.authorization, deps.adminToken, deps.store);
    const matches = routes.filter((r) => r.pattern.test(path));
    if (matches.length === 0) throw new AppError(ControlErrors.NOT_FOUND, `no route ${path}`);
    const route = matches.find((r) => r.method === method);
    if (!route) {
      res.setHeader('Allow', matches.flatMap((r) => (r.method === 'GET' ? ['GET', 'HEAD'] : [r.method])).join(', '));
      throw new AppError(ControlErrors.METHOD_NOT_ALLOWED, `${req.method} is not allowed on ${path}`);
    }
    const m = route.pattern.exec(path)!;
    const params = Object.fromEntries(route.keys.map((k, i) => [k, decodeURIComponent(m[i + 1]!)]));
    authorize(who, route.scope === 'operator' ? undefined : params.ws);
    const body = req.method === 'POST' ? await readJson(req) : {};
    assertKnownFields(bodyFields, route, body);
    const out = await route.handler(params, body, url, who);
    if (route.action) await audit(route, params, body, out.body, who);
    send(res, out.status, out.body);
  }

  async function audit(route: AdminRoute, params: Params, body: Record<string, unknown>, out: unknown, who: Principal): Promise<void> {
    const outId = typeof out === 'object' && out !== null && typeof (out as { id?: unknown }).id === 'string' ? (out as { id: string }).id : null;
    const detail: Record<string, unknown> = { ...params, ...redact(body) };
    await deps.store.audit.append({ at: deps.clock.now(), actor: actorOf(who), workspaceId: params.ws ?? outId, action: route.action!, target: params.id ?? outId, detail });
  }
}

/**
 * The fields each route's request body may carry, read from the OpenAPI document's request
 * schemas (`METHOD /path/{param}` → names), so the document is the one definition of the input.
 */
function documentedBodyFields(): Map<string, readonly string[]> {
  const doc = openApiDocument() as { paths: Record<string, Record<string, { requestBody?: { content: { 'application/json': { schema: { $ref: string } } } } }>>; components: { schemas: Record<string, { properties?: Record<string, unknown> }> } };
  const fields = new Map<string, readonly string[]>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const ref = op.requestBody?.content['application/json'].schema.$ref;
      if (ref) fields.set(`${method.toUpperCase()} ${path}`, Object.keys(doc.components.schemas[ref.split('/').pop()!]?.properties ?? {}));
    }
  }
  return fields;
}

/** Refuses a body field the route does not know (a misspelt field must not be silently ignored). */
function assertKnownFields(fields: Map<string, readonly string[]>, route: AdminRoute, body: Record<string, unknown>): void {
  const allowed = fields.get(`${route.method} ${route.path.replace(/:(\w+)/g, '{$1}')}`);
  if (!allowed) return;
  const unknown = Object.keys(body).find((k) => !allowed.includes(k));
  if (unknown !== undefined) {
    throw new AppError(ControlErrors.INVALID_INPUT, `unknown field "${unknown}"; this request accepts ${allowed.map((f) => `"${f}"`).join(', ')}`);
  }
}

/** Request fields never copied into the audit log. */
function redact(body: Record<string, unknown>): Record<string, unknown> {
  const { secret: _s, token: _t, ...rest } = body;
  return rest;
}

function compile(r: AdminRoute): CompiledRoute {
  const keys: string[] = [];
  const pattern = new RegExp('^' + r.path.replace(/:(\w+)/g, (_, k: string) => (keys.push(k), '([^/]+)')) + '$');
  return { ...r, pattern, keys };
}

/** Every route of the admin API (the OpenAPI document lists exactly these; a test checks it). */
export function adminRoutes(deps: Pick<AdminApiDeps, 'control' | 'store' | 'clock' | 'allowPrivateWebhookTargets'>): AdminRoute[] {
  const c = deps.control;
  const tokens = createTokenAdmin(deps);
  const hooks = createWebhookAdmin({ store: deps.store, clock: deps.clock, allowPrivateTargets: deps.allowPrivateWebhookTargets ?? false });
  const routes: AdminRoute[] = [];
  const add = (method: AdminRoute['method'], path: string, scope: AdminRoute['scope'], action: string | null, handler: Handler) =>
    routes.push({ method, path, scope, action, handler });
  const ok = (body: unknown) => ({ status: 200, body });
  const created = (body: unknown) => ({ status: 201, body });
  const ws = '/api/v1/workspaces/:ws';
  const cd = `${ws}/custom-domains/:id`;
  add('POST', '/api/v1/workspaces', 'operator', 'workspace.create', async (_p, b) => created(await c.createWorkspace(b)));
  add('GET', '/api/v1/audit', 'operator', null, async (_p, _b, u) => ok({ entries: await auditView(deps.store, undefined, intParam(u, 'limit', 100, 1, 1000)) }));
  add('GET', ws, 'workspace', null, async (p) => ok(await c.getWorkspace(p.ws!)));
  add('GET', `${ws}/audit`, 'workspace', null, async (p, _b, u) => ok({ entries: await auditView(deps.store, (await c.getWorkspace(p.ws!)).id, intParam(u, 'limit', 100, 1, 1000)) }));
  add('POST', `${ws}/tokens`, 'operator', 'token.create', async (p, b) => created(await tokens.create((await c.getWorkspace(p.ws!)).id, nameOf(b))));
  add('GET', `${ws}/tokens`, 'operator', null, async (p) => ok({ tokens: await tokens.list((await c.getWorkspace(p.ws!)).id) }));
  add('DELETE', `${ws}/tokens/:id`, 'operator', 'token.revoke', async (p) => ok(await tokens.revoke(p.ws!, p.id!)));
  add('POST', `${ws}/sources`, 'workspace', 'source.create', async (p, b) => created(await c.createSource(p.ws!, b)));
  add('GET', `${ws}/sources`, 'workspace', null, async (p) => ok({ sources: await c.listSources(p.ws!) }));
  add('GET', `${ws}/sources/:id`, 'workspace', null, async (p) => ok(await c.getSource(p.ws!, p.id!)));
  add('GET', `${ws}/sources/:id/snippet`, 'workspace', null, async (p, _b, u) => {
    const globalName = u.searchParams.get('globalName') ?? undefined;
    const aliasPath = boolParam(u, 'aliasPath');
    return ok(await c.snippet(p.ws!, p.id!, { ...(globalName ? { globalName } : {}), aliasPath }));
  });
  add('GET', `${ws}/sources/:id/events`, 'workspace', null, async (p, _b, u) => {
    const limit = intParam(u, 'limit', 50, 1, 1000);
    const before = u.searchParams.has('before') ? intParam(u, 'before', 0, 1, Number.MAX_SAFE_INTEGER) : undefined;
    const events = await c.recentEvents(p.ws!, p.id!, limit, before);
    return ok({ events, nextBefore: events.length === limit ? events[events.length - 1]!.seq : null });
  });
  add('POST', `${ws}/custom-domains`, 'workspace', 'domain.request', async (p, b) => created(await c.requestDomain(p.ws!, b)));
  add('GET', `${ws}/custom-domains`, 'workspace', null, async (p) => ok({ customDomains: await c.listDomains(p.ws!) }));
  add('GET', cd, 'workspace', null, async (p) => ok(await c.getDomain(p.ws!, p.id!)));
  add('DELETE', cd, 'workspace', 'domain.remove', async (p) => ok(await c.removeDomain(p.ws!, p.id!)));
  add('POST', `${cd}/check`, 'workspace', 'domain.check_now', async (p) => ok(await c.checkNow(p.ws!, p.id!)));
  add('GET', `${cd}/diagnose`, 'workspace', null, async (p) => ok(await c.diagnose(p.ws!, p.id!)));
  add('POST', `${cd}/replace`, 'workspace', 'domain.replace', async (p, b) => created(await c.replaceDomain(p.ws!, p.id!, b)));
  add('POST', `${ws}/webhooks`, 'workspace', 'webhook.create', async (p, b) => created(await hooks.create((await c.getWorkspace(p.ws!)).id, b)));
  add('GET', `${ws}/webhooks`, 'workspace', null, async (p) => ok({ webhooks: await hooks.list((await c.getWorkspace(p.ws!)).id) }));
  add('DELETE', `${ws}/webhooks/:id`, 'workspace', 'webhook.delete', async (p) => ok(await hooks.remove(p.ws!, p.id!)));
  add('GET', `${ws}/webhooks/:id/deliveries`, 'workspace', null, async (p, _b, u) => ok({ deliveries: await hooks.deliveries(p.ws!, p.id!, intParam(u, 'limit', 50, 1, 500)) }));
  return routes;
}

async function auditView(store: Store, workspaceId: string | undefined, limit: number) {
  return (await store.audit.list(workspaceId, limit)).map((e) => ({ ...e, at: new Date(e.at).toISOString() }));
}

function nameOf(b: Record<string, unknown>): string {
  const v = b.name;
  if (typeof v !== 'string' || v.trim() === '' || v.length > 100) throw new AppError(ControlErrors.INVALID_INPUT, '"name" is required (at most 100 characters)');
  return v.trim();
}

function boolParam(u: URL, key: string): boolean {
  const raw = u.searchParams.get(key);
  if (raw === null || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1' || raw === '') return true;
  throw new AppError(ControlErrors.INVALID_INPUT, `"${key}" must be true or false`);
}

function intParam(u: URL, key: string, dflt: number, min: number, max: number): number {
  const raw = u.searchParams.get(key);
  if (raw === null) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new AppError(ControlErrors.INVALID_INPUT, `"${key}" must be an integer from ${min} to ${max}`);
  return n;
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
  // RFC 9110 §10.2.3: tell a rate-limited caller when to come back.
  const retryAfter = appErr.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') res.setHeader('Retry-After', String(retryAfter));
  const error: Record<string, unknown> = { code: appErr.code, message: appErr.message };
  if (appErr.details) error.details = appErr.details;
  send(res, appErr.httpStatus, { error });
}
