import { BlockList, isIP } from 'node:net';

/**
 * Decides the client address of a request from the socket peer and `X-Forwarded-For`. Built
 * once from the trusted proxies (IPs or CIDR blocks, already validated).
 */
export interface ClientIpResolver {
  /**
   * The client's address: the socket peer unless the peer is a trusted proxy, in which case
   * `X-Forwarded-For` is read right to left and the first address that is not a trusted proxy
   * wins (entries further left are client-supplied and cannot be believed). A malformed entry
   * stops the walk at the last trusted hop. IPv4-mapped IPv6 peers are reported as IPv4.
   */
  resolve(peer: string | undefined, forwardedFor: string | string[] | undefined): string | undefined;
}

/** Builds a {@link ClientIpResolver} for `trustedProxies`. */
export function createClientIpResolver(trustedProxies: readonly string[]): ClientIpResolver {
  const trusted = new BlockList();
  for (const entry of trustedProxies) {
    const [ip, bits] = entry.split('/') as [string, string | undefined];
    const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) trusted.addAddress(ip, type);
    else trusted.addSubnet(ip, Number(bits), type);
  }
  const isTrusted = (ip: string): boolean => trusted.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
  const none = trustedProxies.length === 0;

  return {
    resolve(peer, forwardedFor) {
      const client = peer === undefined ? undefined : unmapV4(peer);
      if (none || client === undefined || forwardedFor === undefined || !isTrusted(client)) return client;
      const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
      let last = client;
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = unmapV4(hops[i]!.trim());
        if (isIP(hop) === 0) return last;
        if (!isTrusted(hop)) return hop;
        last = hop;
      }
      return last;
    },
  };
}

/** `::ffff:192.0.2.1` → `192.0.2.1` (RFC 4291 §2.5.5.2). */
function unmapV4(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}
