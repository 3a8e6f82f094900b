import { createSecureContext, type SecureContext } from 'node:tls';

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
} as const;

/**
 * The edge's certificates by hostname, answered synchronously from memory: a TLS handshake never
 * waits for I/O and an unknown name gets no certificate (and never triggers issuance). Secure
 * contexts are created lazily on first use and kept in a bounded LRU, so many hostnames need
 * neither a context each at start nor the memory for all of them.
 */
export class CertCache {
  private readonly byName = new Map<string, EdgeCertificate>();
  private readonly contexts = new Map<string, SecureContext>();

  constructor(private readonly maxContexts = 1000) {}

  /** Installs `cert` for each of its names, replacing what served them before (next handshake). */
  install(cert: EdgeCertificate): void {
    for (const name of cert.names) {
      this.byName.set(name, cert);
      this.contexts.delete(name);
    }
  }

  /** Stops serving these names. */
  remove(names: readonly string[]): void {
    for (const name of names) {
      this.byName.delete(name);
      this.contexts.delete(name);
    }
  }

  /** The certificate serving `name`, if any. */
  get(name: string): EdgeCertificate | undefined {
    return this.byName.get(name);
  }

  /** The secure context for an SNI name (lowercased by the caller), or undefined. Never does I/O. */
  contextFor(name: string): SecureContext | undefined {
    const hit = this.contexts.get(name);
    if (hit) {
      this.contexts.delete(name);
      this.contexts.set(name, hit);
      return hit;
    }
    const cert = this.byName.get(name);
    if (!cert) return undefined;
    const ctx = createSecureContext({ ...TLS_OPTIONS, cert: cert.certPem + (cert.chainPem ? `\n${cert.chainPem}` : ''), key: cert.keyPem });
    this.contexts.set(name, ctx);
    if (this.contexts.size > this.maxContexts) this.contexts.delete(this.contexts.keys().next().value!);
    return ctx;
  }

  /** Number of names served. */
  size(): number {
    return this.byName.size;
  }
}
