import { constants } from 'node:crypto';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';

/** One certificate as the edge holds it: PEMs in memory, keyed by each name it covers. */
export interface EdgeCertificate {
  readonly id: string;
  readonly names: readonly string[];
  readonly certPem: string;
  readonly chainPem: string;
  readonly keyPem: string;
  readonly notAfter: number;
}

/** TLS settings shared by every secure context (RFC 8446 / RFC 5246; modern profile). */
export const TLS_OPTIONS = {
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.3',
  ciphers: [
    'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  honorCipherOrder: true,
  // X25519 first, P-256 for clients without it (RFC 8446 §4.2.7; RFC 8422 §5.1.1).
  ecdhCurve: 'X25519:P-256:P-384',
} as const;

/** Options of {@link CertCache}. */
export interface CertCacheOptions {
  /** Secure contexts kept (default 1000, ~35 KB each); the least recently used is rebuilt on demand. */
  readonly maxContexts?: number;
  /** Whether TLS session tickets are issued (RFC 5077 / RFC 8446 §4.6.1). Default true; off counts full handshakes in benchmarks. */
  readonly sessionTickets?: boolean;
}

/** The secure-context options of every context of the edge, including the server's default one. */
export function edgeTlsOptions(sessionTickets: boolean): SecureContextOptions {
  return sessionTickets ? { ...TLS_OPTIONS } : { ...TLS_OPTIONS, secureOptions: constants.SSL_OP_NO_TICKET };
}

/**
 * The edge's certificates by hostname, answered synchronously from memory: a TLS handshake never
 * waits for I/O and an unknown name gets no certificate (and never triggers issuance). Secure
 * contexts are created lazily on first use and kept in a bounded LRU, so many hostnames need
 * neither a context each at start nor the memory for all of them.
 */
export class CertCache {
  private readonly byName = new Map<string, EdgeCertificate>();
  /**
   * Secure contexts by certificate id (one per certificate, shared by the names it covers), each
   * with the tick of its last use: a hit only stores a number (no map reordering per handshake);
   * the least recently used is looked up when one must go.
   */
  private readonly contexts = new Map<string, { ctx: SecureContext; usedAt: number }>();
  private tick = 0;

  private readonly maxContexts: number;
  private readonly listeners = new Set<(names: readonly string[]) => void>();
  /** Options shared by every secure context built here. */
  readonly tlsOptions: SecureContextOptions;

  constructor(options: CertCacheOptions = {}) {
    this.maxContexts = options.maxContexts ?? 1000;
    this.tlsOptions = edgeTlsOptions(options.sessionTickets ?? true);
  }

  /**
   * Installs `cert` for each of its names, replacing what served them before. Takes effect at the
   * next handshake: connections already open keep the context they negotiated.
   */
  install(cert: EdgeCertificate): void {
    for (const name of cert.names) {
      const old = this.byName.get(name);
      if (old) this.contexts.delete(old.id);
      this.byName.set(name, cert);
    }
    this.contexts.delete(cert.id);
    this.notify(cert.names);
  }

  /** Stops serving these names (next handshake); open connections are left alone. */
  remove(names: readonly string[]): void {
    for (const name of names) {
      const old = this.byName.get(name);
      if (old) this.contexts.delete(old.id);
      this.byName.delete(name);
    }
    this.notify(names);
  }

  /** Calls `listener` with the names of every later install or removal; returns the unsubscribe function. */
  subscribe(listener: (names: readonly string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(names: readonly string[]): void {
    for (const listener of this.listeners) listener(names);
  }

  /** The certificate serving `name`, if any. */
  get(name: string): EdgeCertificate | undefined {
    return this.byName.get(name);
  }

  /** The secure context for an SNI name (lowercased by the caller), or undefined. Never does I/O. */
  contextFor(name: string): SecureContext | undefined {
    const cert = this.byName.get(name);
    if (!cert) return undefined;
    const hit = this.contexts.get(cert.id);
    if (hit) {
      hit.usedAt = ++this.tick;
      return hit.ctx;
    }
    const ctx = createSecureContext({ ...this.tlsOptions, cert: cert.certPem + (cert.chainPem ? `\n${cert.chainPem}` : ''), key: cert.keyPem });
    if (this.contexts.size >= this.maxContexts) this.evictLeastRecentlyUsed();
    this.contexts.set(cert.id, { ctx, usedAt: ++this.tick });
    return ctx;
  }

  /** Drops the context unused for longest (a scan, run only on a miss with a full cache, next to a context build). */
  private evictLeastRecentlyUsed(): void {
    let oldest: string | undefined;
    let oldestAt = Infinity;
    for (const [id, entry] of this.contexts) {
      if (entry.usedAt < oldestAt) {
        oldestAt = entry.usedAt;
        oldest = id;
      }
    }
    if (oldest !== undefined) this.contexts.delete(oldest);
  }

  /** Number of names served. */
  size(): number {
    return this.byName.size;
  }

  /** Number of secure contexts currently held (at most `maxContexts`). */
  contextCount(): number {
    return this.contexts.size;
  }

  /** Every distinct certificate served, once each (for expiry metrics). */
  *certificates(): IterableIterator<EdgeCertificate> {
    const seen = new Set<string>();
    for (const cert of this.byName.values()) {
      if (seen.has(cert.id)) continue;
      seen.add(cert.id);
      yield cert;
    }
  }
}
