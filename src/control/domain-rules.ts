import { isIP } from 'node:net';
import { AppError, hostnameParts, isAtOrBelow, parseHostname, type Hostname } from '../core/index.ts';
import { ControlErrors } from './errors.ts';

/** Names the operator itself uses; a custom domain may not equal or sit above/below them. */
export interface ReservedNames {
  readonly nameservers: readonly Hostname[];
  readonly defaultHosts: readonly Hostname[];
}

/**
 * Normalises a requested custom domain (case, trailing dot, IDN → punycode) and checks that it is
 * a proper subdomain of a registrable domain (public suffix list): `cdp.shop.com` is accepted,
 * `shop.com` (registrable) and `co.uk` (public suffix) are not, nor any name overlapping the
 * operator's nameservers or default hosts. Throws {@link AppError} with a 400 code otherwise.
 */
export function normaliseCustomDomain(input: unknown, reserved: ReservedNames): Hostname {
  if (typeof input !== 'string') throw new AppError(ControlErrors.INVALID_DOMAIN, '"domain" must be a string such as "cdp.shop.com"');
  if (isIP(input.trim().replace(/^\[|\]$/g, '')) !== 0) throw new AppError(ControlErrors.INVALID_DOMAIN, `"${input}" is an IP address; request a subdomain of your site, e.g. cdp.<your-site>`);
  const parsed = parseHostname(input);
  if (!parsed.ok) throw new AppError(ControlErrors.INVALID_DOMAIN, `"domain" is invalid: ${parsed.message}`, { details: { problem: parsed.reason } });
  const name = parsed.value;
  const parts = hostnameParts(name);
  if (parts.registrableDomain === null || name === parts.publicSuffix) {
    throw new AppError(ControlErrors.PUBLIC_SUFFIX, `"${name}" is a public suffix; request a subdomain of your own domain, e.g. cdp.<your-site>`);
  }
  if (name === parts.registrableDomain) {
    throw new AppError(ControlErrors.REGISTRABLE_DOMAIN, `"${name}" is a registrable domain; delegate a subdomain of it instead, e.g. cdp.${name}`);
  }
  for (const own of [...reserved.nameservers, ...reserved.defaultHosts]) {
    if (isAtOrBelow(own, name) || isAtOrBelow(name, own)) {
      throw new AppError(ControlErrors.RESERVED_DOMAIN, `"${name}" overlaps the operator's name ${own}`);
    }
  }
  return name;
}

/** The CDN and API hosts of a custom domain (`cdn.<domain>`, `api.<domain>` by default). */
export function hostsOf(domain: Hostname, labels: { cdnLabel: string; apiLabel: string }): { cdn: Hostname; api: Hostname } {
  const check = (h: string): Hostname => {
    const r = parseHostname(h);
    if (!r.ok) throw new AppError(ControlErrors.INVALID_DOMAIN, `"${h}" would not be a valid hostname: ${r.message}`);
    return r.value;
  };
  return { cdn: check(`${labels.cdnLabel}.${domain}`), api: check(`${labels.apiLabel}.${domain}`) };
}
