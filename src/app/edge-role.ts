import type { Logger } from 'pino';
import type { Clock } from '../core/index.ts';
import type { Config } from '../config/index.ts';
import type { Store } from '../store/index.ts';
import { CertCache, EdgeServer, HostRouter, PlainHttpServer } from '../edge/index.ts';
import { createCdnHandler, loadAnalyticsBundle, type CdnSourceLookup } from '../cdn/index.ts';
import { createEventTail, createIngestHandler } from '../ingest/index.ts';
import type { SuccessorStart } from './handover.ts';

/** The HTTPS edge (and the optional plain-HTTP listener) with the live event tail fed by ingest. */
export interface EdgeRole {
  readonly edge: EdgeServer;
  readonly plain: PlainHttpServer | null;
  readonly tail: ReturnType<typeof createEventTail>;
}

/**
 * Starts the HTTPS edge over `certs` and `router` (kept current by EdgeSync) with the CDN and
 * Tracking API handlers, and the plain-HTTP listener when configured; a successor serves on the
 * inherited sockets. Registers what it starts in `closers`.
 */
export async function startEdgeRole(deps: { config: Config; store: Store; clock: Clock; logger: Logger; sources: CdnSourceLookup;
  certs: CertCache; router: HostRouter; successor: SuccessorStart | undefined; closers: Array<() => Promise<void>> }): Promise<EdgeRole> {
  const { config, store, clock, logger, sources, certs, router, successor, closers } = deps;
  const bundle = await loadAnalyticsBundle();
  const tail = createEventTail();
  const api = createIngestHandler({ sources, log: store.events, clock, logger, onStored: { wants: (id) => tail.subscribers(id) > 0, stored: (e) => tail.publish(e) } },
    { trustedProxies: config.trustedProxies, ...config.ingest });
  const limits = { maxConnectionsPerAddress: config.edge.maxConnectionsPerAddress, requestTimeoutMs: config.edge.requestTimeoutMs };
  const edge = new EdgeServer({
    certs, router, listen: config.edge.listen, logger, limits, api,
    cdn: createCdnHandler({ sources, bundle, logger }),
    logClientAddress: config.edge.logClientAddress,
    ...(config.edge.accessLog ? { accessLog: logger.child({ component: 'edge-access' }) } : {}),
    ...(config.edge.noSniHost ? { fallbackHost: config.edge.noSniHost } : {}),
  });
  await edge.start(successor?.listeners.edge ? { handle: successor.listeners.edge } : undefined);
  closers.push(() => edge.close());
  if (!config.edge.httpListen) {
    successor?.listeners.http?.close();
    return { edge, plain: null, tail };
  }
  const plain = new PlainHttpServer({
    router, api, listen: config.edge.httpListen, limits, allowPlainHttpApi: config.edge.plainHttpApi, httpsPort: config.edge.publicHttpsPort,
  });
  await plain.start(successor?.listeners.http ? { handle: successor.listeners.http } : undefined);
  closers.push(() => plain.close());
  return { edge, plain, tail };
}
