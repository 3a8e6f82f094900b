import type { AddressInfo, Server } from 'node:net';
import { AppError, type ErrorSpec } from '../core/index.ts';

/** A listening socket handed over by a predecessor process (zero-downtime restart), or a fresh address. */
export interface ListenTarget {
  readonly at: { readonly host: string; readonly port: number };
  /** The predecessor's listening handle; when set, `at` is only used in messages. */
  readonly inherited?: object | undefined;
}

/**
 * Starts `server` listening on the inherited handle, or on `at`. Rejects with `spec` (an
 * `AppError` naming the address and `what` is listening) when the address cannot be bound.
 */
export function listenOn(server: Server, target: ListenTarget, spec: ErrorSpec, what: string): Promise<void> {
  const { at, inherited } = target;
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new AppError(spec, `cannot listen on ${at.host}:${at.port} for ${what}: ${err.message}`, { cause: err })));
    if (inherited) server.listen(inherited, () => resolve());
    else server.listen(at.port, at.host, () => resolve());
  });
}

/** Where `server` is bound (port 0 → the ephemeral port chosen), or `at` before it listens. */
export function boundAddress(server: Server | null, at: { host: string; port: number }): { host: string; port: number } {
  const a = server?.address() as AddressInfo | null | undefined;
  return { host: a?.address ?? at.host, port: a?.port ?? at.port };
}
