import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import https from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import { axios as acmeAxios } from 'acme-client';
import type { AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { parseAcmeProblem, parseRetryAfterMs, type AcmeProblem } from './acme-problem.ts';

/**
 * What happened to the latest HTTP exchange of one ACME call: acme-client turns failures into
 * bare strings (or, for network errors, a TypeError of its own), so the transport records the
 * real outcome here for the caller to classify.
 */
export type AcmeExchange =
  | { readonly kind: 'none' }
  | { readonly kind: 'sent'; readonly url: string }
  | { readonly kind: 'transport_error'; readonly url: string; readonly error: NodeJS.ErrnoException }
  | { readonly kind: 'response'; readonly url: string; readonly status: number; readonly problem: AcmeProblem | null };

/** Per-issuance transport settings and the record of the latest exchange. */
export interface AcmeRequestContext {
  /** Agent for HTTPS to the CA (extra trusted roots); undefined means Node's global agent. */
  readonly agent: https.Agent | undefined;
  readonly signal: AbortSignal | undefined;
  /** Per-request timeout. */
  readonly requestTimeoutMs: number;
  last: AcmeExchange;
  /** The latest `Retry-After` seen on any response (RFC 8555 §7.4 polling hint), in ms. */
  retryAfterMs: number | null;
}

/**
 * An HTTPS agent trusting `caBundlePem` in addition to Node's bundled roots (`ca` replaces the
 * defaults, so both are passed). Keep-alive sockets are unref'd while idle, so they never hold
 * the process open.
 */
export function createAcmeAgent(caBundlePem: string | undefined): https.Agent | undefined {
  if (caBundlePem === undefined) return undefined;
  // One secure context built once: passing `ca` instead would parse every root certificate again
  // for each new connection (and put the whole bundle in the agent's pool key), which made
  // hundreds of concurrent orders CPU-bound.
  const secureContext = createSecureContext({ ca: [...rootCertificates, caBundlePem] });
  return new https.Agent({ secureContext, keepAlive: true, noDelay: true });
}

// acme-client sends every request through one process-wide axios instance, so per-issuance
// settings cannot be passed down its call chain. Instead each issuance runs inside this
// AsyncLocalStorage context, and two interceptors, installed once, apply the context to the
// requests made inside it. Requests outside any context (other acme-client users) are untouched.
const contexts = new AsyncLocalStorage<AcmeRequestContext>();
let interceptorsInstalled = false;

/** Runs `fn` with `ctx` applied to every acme-client request it makes. */
export function runWithAcmeContext<T>(ctx: AcmeRequestContext, fn: () => Promise<T>): Promise<T> {
  installInterceptors();
  return contexts.run(ctx, fn);
}

function installInterceptors(): void {
  if (interceptorsInstalled) return;
  interceptorsInstalled = true;
  acmeAxios.interceptors.request.use((config) => {
    const ctx = contexts.getStore();
    return ctx === undefined ? config : applyContext(config, ctx);
  });
  acmeAxios.interceptors.response.use((response: AxiosResponse) => {
    const ctx = contexts.getStore();
    if (ctx !== undefined) recordResponse(ctx, response);
    return response;
  });
}

function applyContext(config: InternalAxiosRequestConfig, ctx: AcmeRequestContext): InternalAxiosRequestConfig {
  const url = config.url ?? '';
  ctx.last = { kind: 'sent', url };
  if (ctx.agent !== undefined) config.httpsAgent = ctx.agent;
  if (ctx.signal !== undefined) config.signal = ctx.signal;
  config.timeout = ctx.requestTimeoutMs;
  // acme-client retries 429/5xx/network errors itself, sleeping up to Retry-After (hours for a
  // rate limit) without honouring cancellation; its retry counter starts past the maximum so
  // the failure comes back at once and the caller's scheduler decides when to try again.
  (config as { retryAttempt?: number }).retryAttempt = Number.POSITIVE_INFINITY;
  config.transport = recordingTransport(ctx, url);
  return config;
}

/**
 * Node's http/https transport, plus a record of the socket-level error (acme-client drops it).
 * Redirects are not followed: ACME resources are addressed by the URLs the CA hands out.
 */
function recordingTransport(ctx: AcmeRequestContext, url: string): { request: typeof https.request } {
  return {
    request: ((options: https.RequestOptions, callback?: (res: http.IncomingMessage) => void) => {
      const mod = options.protocol === 'http:' ? http : https;
      const req = mod.request(options, callback);
      req.once('error', (error: NodeJS.ErrnoException) => {
        ctx.last = { kind: 'transport_error', url, error };
      });
      return req;
    }) as typeof https.request,
  };
}

function recordResponse(ctx: AcmeRequestContext, response: AxiosResponse): void {
  const retryAfter = headerValue(response.headers['retry-after']);
  const problem = response.status >= 400 ? parseAcmeProblem(response.data, { status: response.status, ...(retryAfter === undefined ? {} : { retryAfter }) }) : null;
  ctx.last = { kind: 'response', url: response.config.url ?? '', status: response.status, problem };
  ctx.retryAfterMs = retryAfter === undefined ? null : parseRetryAfterMs(retryAfter, Date.now());
}

function headerValue(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
