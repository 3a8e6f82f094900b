import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../core/index.ts';
import { authenticate, authorize, type Control } from '../control/index.ts';
import type { EventTail } from '../ingest/index.ts';
import type { Store } from '../store/index.ts';

type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Path of the live tail: `GET /api/v1/workspaces/{ws}/sources/{id}/events/stream`. */
const STREAM_PATH = /^\/api\/v1\/workspaces\/([^/]+)\/sources\/([^/]+)\/events\/stream\/?$/;

/**
 * Serves the event inspector's live tail (Server-Sent Events of every event stored for a source,
 * accepted or rejected with its reason) beside the admin API, and hands every other request to
 * `admin`. Same credentials as the admin API: the operator token or a token of the workspace
 * (`Authorization: Bearer`); the source must belong to the workspace. Errors answer the admin
 * API's `{error: {code, message}}` with the code's status.
 */
export function withEventStream(admin: NodeHandler, deps: { control: Control; store: Store; adminToken: string; tail: EventTail }): NodeHandler {
  return (req, res) => {
    const m = req.method === 'GET' ? STREAM_PATH.exec(new URL(req.url ?? '/', 'http://admin.invalid').pathname) : null;
    if (m === null) return admin(req, res);
    openStream(req, res, decodeURIComponent(m[1]!), decodeURIComponent(m[2]!), deps).catch((err: unknown) => {
      const app = err instanceof AppError ? err : undefined;
      if (res.headersSent) return void res.end();
      const body = JSON.stringify({ error: { code: app?.code ?? 'ERR_CONTROL_INTERNAL', message: app?.message ?? 'internal error' } });
      res.writeHead(app?.httpStatus ?? 500, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
      res.end(body);
    });
  };
}

async function openStream(req: IncomingMessage, res: ServerResponse, wsId: string, sourceId: string, deps: Parameters<typeof withEventStream>[1]): Promise<void> {
  const who = await authenticate(req.headers.authorization, deps.adminToken, deps.store);
  authorize(who, wsId);
  const source = await deps.control.getSource(wsId, sourceId);
  deps.tail.handleSse(res, source.id);
}
