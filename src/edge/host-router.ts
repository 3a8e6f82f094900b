import type { HostScope } from '../core/index.ts';

/** What a hostname serves on the edge. */
export interface HostRoute {
  readonly kind: 'cdn' | 'api';
  readonly scope: HostScope;
}

/**
 * Hostname → route, in memory. A custom domain's two hosts are routed only while it has a valid
 * certificate; the operator's default hosts always.
 */
export class HostRouter {
  private readonly routes = new Map<string, HostRoute>();

  /** Routes both hosts of a scope. */
  add(scope: HostScope): void {
    this.routes.set(scope.cdnHost, { kind: 'cdn', scope });
    this.routes.set(scope.apiHost, { kind: 'api', scope });
  }

  /** Removes both hosts of a scope. */
  remove(scope: { cdnHost: string; apiHost: string }): void {
    this.routes.delete(scope.cdnHost);
    this.routes.delete(scope.apiHost);
  }

  /** The route of a normalised hostname (lowercase, no port, no trailing dot). */
  get(host: string): HostRoute | undefined {
    return this.routes.get(host);
  }
}

/** Normalises a Host / :authority value: drops the port and a trailing dot, lowercases. */
export function normaliseHostHeader(value: string | undefined): string {
  if (!value) return '';
  let h = value.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}
