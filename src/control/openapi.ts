/**
 * The OpenAPI 3.1 description of the admin API, served at `GET /api/v1/openapi.json`. A test
 * checks that its paths and methods are exactly the router's routes.
 */

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const pathParam = (name: string, description: string): Json => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const queryParam = (name: string, description: string, schema: Json): Json => ({ name, in: 'query', required: false, description, schema });
const WS = pathParam('ws', 'workspace id (`ws_…`)');
const ID = (what: string) => pathParam('id', what);
const LIMIT = queryParam('limit', 'maximum number of items', { type: 'integer', minimum: 1 });

function op(summary: string, opts: { params?: Json[]; body?: string; ok?: [number, string]; errors?: number[]; security?: 'operator' | 'workspace' | 'none' }): Json {
  const [status, schema] = opts.ok ?? [200, 'Object'];
  const responses: Json = { [status]: { description: 'success', content: { 'application/json': { schema: ref(schema) } } } };
  for (const e of [401, 403, 404, ...(opts.errors ?? [])]) responses[e] = { $ref: `#/components/responses/Error` };
  return {
    summary,
    ...(opts.params ? { parameters: opts.params } : {}),
    ...(opts.body ? { requestBody: { required: true, content: { 'application/json': { schema: ref(opts.body) } } } } : {}),
    responses,
    ...(opts.security === 'none' ? { security: [] } : {}),
    'x-firstparty-scope': opts.security ?? 'workspace',
  };
}

const base = '/api/v1/workspaces/{ws}';
const domain = `${base}/custom-domains/{id}`;

/** The document (a fresh object each call). */
export function openApiDocument(): Json {
  return {
    openapi: '3.1.0',
    info: { title: 'firstparty admin API', version: '1', description: 'Self-service custom domains for first-party event collection. Operator token: everything; workspace tokens: their workspace only. Every change is audited.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      responses: { Error: { description: 'error', content: { 'application/json': { schema: ref('Error') } } } },
      schemas: SCHEMAS,
    },
    security: [{ bearer: [] }],
    paths: {
      '/api/v1/openapi.json': { get: op('This document', { ok: [200, 'Object'], security: 'none' }) },
      '/api/v1/workspaces': { post: op('Create a workspace', { body: 'WorkspaceInput', ok: [201, 'Workspace'], errors: [400], security: 'operator' }) },
      '/api/v1/audit': { get: op('Audit log of every workspace, newest first', { params: [LIMIT], ok: [200, 'AuditList'], security: 'operator' }) },
      [base]: { get: op('Get a workspace', { params: [WS], ok: [200, 'Workspace'] }) },
      [`${base}/audit`]: { get: op('Audit log of the workspace, newest first', { params: [WS, LIMIT], ok: [200, 'AuditList'] }) },
      [`${base}/tokens`]: {
        post: op('Create a workspace-scoped token (shown once)', { params: [WS], body: 'NameInput', ok: [201, 'Token'], errors: [400], security: 'operator' }),
        get: op('List the workspace tokens', { params: [WS], ok: [200, 'Object'], security: 'operator' }),
      },
      [`${base}/tokens/{id}`]: { delete: op('Revoke a token', { params: [WS, ID('token id')], ok: [200, 'Object'], security: 'operator' }) },
      [`${base}/sources`]: {
        post: op('Create a source with a write key', { params: [WS], body: 'SourceInput', ok: [201, 'Source'], errors: [400] }),
        get: op('List sources', { params: [WS], ok: [200, 'Object'] }),
      },
      [`${base}/sources/{id}`]: { get: op('Get a source', { params: [WS, ID('source id')], ok: [200, 'Source'] }) },
      [`${base}/sources/{id}/snippet`]: {
        get: op('The analytics.js snippet and its CSP directives', {
          params: [WS, ID('source id'), queryParam('globalName', 'rename window.analytics (a JavaScript identifier)', { type: 'string' }),
            queryParam('aliasPath', 'load from /<workspaceId>/<sourceId>.js', { type: 'boolean' })],
          ok: [200, 'Snippet'], errors: [400],
        }),
      },
      [`${base}/sources/{id}/events`]: { get: op('Recent stored events of a source', { params: [WS, ID('source id'), LIMIT, queryParam('before', 'page before this sequence number', { type: 'integer' })], ok: [200, 'Object'] }) },
      [`${base}/sources/{id}/events/stream`]: { get: { ...op('Live tail of stored events (Server-Sent Events: one `event` per stored event with status and reason, heartbeats)', { params: [WS, ID('source id')] }), responses: { 200: { description: 'an event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, 401: { $ref: '#/components/responses/Error' }, 403: { $ref: '#/components/responses/Error' }, 404: { $ref: '#/components/responses/Error' }, 429: { $ref: '#/components/responses/Error' } } } },
      [`${base}/custom-domains`]: {
        post: op('Request a custom domain (the request form)', { params: [WS], body: 'DomainRequest', ok: [201, 'CustomDomain'], errors: [400, 409, 422] }),
        get: op('List custom domains', { params: [WS], ok: [200, 'Object'] }),
      },
      [domain]: {
        get: op('Get a custom domain with its history', { params: [WS, ID('custom domain id')], ok: [200, 'CustomDomain'] }),
        delete: op('Remove a custom domain: revoke and stop serving', { params: [WS, ID('custom domain id')], ok: [200, 'CustomDomain'], errors: [409] }),
      },
      [`${domain}/check`]: { post: op('Check now (rate-limited)', { params: [WS, ID('custom domain id')], ok: [200, 'CustomDomain'], errors: [409, 429] }) },
      [`${domain}/diagnose`]: { get: op('Diagnose: delegation, nameservers, CAA, DS, certificate, live HTTPS; who must act', { params: [WS, ID('custom domain id')], ok: [200, 'Diagnosis'], errors: [503] }) },
      [`${domain}/replace`]: { post: op('Change the subdomain (new one alongside, old serves until the new is active)', { params: [WS, ID('custom domain id')], body: 'ReplaceInput', ok: [201, 'CustomDomain'], errors: [400, 409] }) },
      [`${base}/webhooks`]: {
        post: op('Register a webhook (secret shown once)', { params: [WS], body: 'WebhookInput', ok: [201, 'Webhook'], errors: [400] }),
        get: op('List webhooks', { params: [WS], ok: [200, 'Object'] }),
      },
      [`${base}/webhooks/{id}`]: { delete: op('Delete a webhook', { params: [WS, ID('webhook id')], ok: [200, 'Object'] }) },
      [`${base}/webhooks/{id}/deliveries`]: { get: op('Delivery log of a webhook, newest first', { params: [WS, ID('webhook id'), LIMIT], ok: [200, 'Object'] }) },
    },
  };
}

const str = { type: 'string' };
const SCHEMAS: Json = {
  Object: { type: 'object' },
  Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: str, message: str, details: { type: 'object' } } } } },
  WorkspaceInput: { type: 'object', required: ['name'], properties: { name: str, plan: { type: 'string', default: 'business' } } },
  Workspace: { type: 'object', properties: { id: str, name: str, plan: str, createdAt: { type: 'integer' } } },
  NameInput: { type: 'object', required: ['name'], properties: { name: str } },
  Token: { type: 'object', properties: { id: str, workspaceId: str, name: str, token: { type: 'string', description: 'shown only once' } } },
  SourceInput: { type: 'object', required: ['name', 'type'], properties: { name: str, type: { type: 'string', examples: ['analytics.js', 'node'] } } },
  Source: { type: 'object', properties: { id: str, workspaceId: str, name: str, type: str, writeKey: str, enabled: { type: 'boolean' } } },
  Snippet: { type: 'object', properties: { snippet: str, scriptUrl: str, cdnHost: str, apiHost: str, globalName: str, csp: ref('Csp') } },
  Csp: { type: 'object', properties: { directives: { type: 'object', additionalProperties: { type: 'array', items: str } }, policy: str } },
  DomainRequest: {
    type: 'object', required: ['domain', 'sourceIds'],
    properties: {
      subject: str, domain: { type: 'string', examples: ['cdp.shop.com'] }, additionalDomain: str,
      sourceIds: { type: 'array', items: str, minItems: 1 }, additionalSourceIds: { type: 'array', items: str },
      usesCsp: { type: 'boolean', default: false }, description: str,
    },
  },
  ReplaceInput: { type: 'object', required: ['domain'], properties: { domain: str } },
  CustomDomain: {
    type: 'object',
    properties: {
      id: str, domain: str, state: { enum: ['awaiting_delegation', 'delegated', 'issuing', 'active', 'failed', 'removed', 'replaced'] },
      reason: { type: ['string', 'null'] }, message: { type: ['string', 'null'] }, nsRecords: { type: 'array', items: str },
      hosts: { type: 'object', properties: { cdn: str, api: str } }, sourceIds: { type: 'array', items: str },
      csp: { oneOf: [ref('Csp'), { type: 'null' }] }, history: { type: 'array', items: { type: 'object' } },
    },
  },
  Diagnosis: { type: 'object', properties: { delegation: { type: 'object' }, ourNameservers: { type: 'array' }, caa: { type: 'object' }, ds: { type: 'object' }, certificate: { type: 'object' }, https: { type: 'array' }, verdict: { type: 'object', properties: { whoMustAct: { enum: ['workspace', 'operator', 'certificate_authority', 'nobody'] }, summary: str, actions: { type: 'array', items: str } } } } },
  WebhookInput: { type: 'object', required: ['url'], properties: { url: { type: 'string', format: 'uri' } } },
  Webhook: { type: 'object', properties: { id: str, url: str, secret: { type: 'string', description: 'HMAC-SHA256 key, shown only once' } } },
  AuditList: { type: 'object', properties: { entries: { type: 'array', items: { type: 'object', properties: { seq: { type: 'integer' }, at: str, actor: str, workspaceId: str, action: str, target: str, detail: { type: 'object' } } } } } },
};
