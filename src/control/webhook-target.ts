import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { AppError } from '../core/index.ts';
import { ControlErrors } from './errors.ts';

/**
 * Addresses a webhook may not reach unless the operator allows private targets: loopback,
 * RFC 1918 private, link-local (cloud metadata at 169.254.169.254), CGNAT, unique-local IPv6,
 * "this network" and multicast. Stops a workspace from probing the operator's internal services.
 */
const PRIVATE = new BlockList();
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [['::', 127], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) PRIVATE.addSubnet(net, bits, 'ipv6');

/** Whether an IP address literal is one a webhook may not reach by default. */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return isPrivateAddress(mapped[1]!);
  const family = isIP(address);
  if (family === 0) return false;
  return PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Checks a webhook URL's host before it is stored: names under `localhost` and private address
 * literals are refused with `ERR_CONTROL_INVALID_INPUT` unless `allowPrivate`.
 */
export function assertPublicTarget(url: URL, allowPrivate: boolean): void {
  if (allowPrivate) return;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || isPrivateAddress(host)) {
    throw new AppError(ControlErrors.INVALID_INPUT, `"url" points at a private or loopback address (${host}); webhooks must reach a public host`);
  }
}

/**
 * Resolves a webhook's host just before a delivery and refuses it when any address is private
 * (a public name may later resolve to an internal address). Resolves to an error message, or null.
 */
export async function privateResolution(url: URL, allowPrivate: boolean): Promise<string | null> {
  if (allowPrivate) return null;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [{ address: host }] : await lookup(host, { all: true });
  const bad = addresses.find((a) => isPrivateAddress(a.address));
  return bad ? `refused: ${host} resolves to the private address ${bad.address}` : null;
}
