import { domainToASCII } from 'node:url';
import { parse as parseDomain } from 'tldts';
import { fail, ok, type Result } from './errors.ts';

declare const hostnameBrand: unique symbol;
/**
 * A normalised DNS hostname: lowercase ASCII (IDNA/punycode), no trailing dot, 1..63-octet LDH
 * labels, at most 253 octets. Only {@link parseHostname} and {@link hostnameUnchecked} make one.
 */
export type Hostname = string & { readonly [hostnameBrand]: true };

/** Why a string is not an acceptable hostname. */
export type HostnameProblem = 'empty' | 'invalid_characters' | 'label_length' | 'too_long' | 'single_label';

/**
 * Parses user input into a {@link Hostname}: trims, drops one trailing dot, lowercases, converts
 * IDN to punycode (UTS #46 via WHATWG URL) and checks LDH label rules (RFC 1123 §2.1, RFC 5891).
 */
export function parseHostname(input: string): Result<Hostname, HostnameProblem> {
  // UTS #46 treats the ideographic and fullwidth full stops as label separators.
  let s = input.trim().replace(/[\u3002\uff0e\uff61]/g, '.');
  if (s.endsWith('.')) s = s.slice(0, -1);
  if (s === '') return fail('empty', 'hostname is empty');
  if (/[\s/:@?#\\%]/.test(s) || s.includes('..')) return fail('invalid_characters', `"${input}" is not a hostname`);
  const ascii = domainToASCII(s);
  if (ascii === '') return fail('invalid_characters', `"${input}" is not a valid (IDNA) hostname`);
  if (ascii.length > 253) return fail('too_long', 'hostname is longer than 253 characters');
  const labels = ascii.split('.');
  for (const label of labels) {
    if (label.length < 1 || label.length > 63) return fail('label_length', `label "${label}" must be 1 to 63 characters`);
    if (!/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(label)) return fail('invalid_characters', `label "${label}" may hold only letters, digits and inner hyphens`);
  }
  if (labels.length < 2) return fail('single_label', 'hostname needs at least two labels');
  return ok(ascii as Hostname);
}

/** Brands a string already known to be normalised (from the store or config). */
export function hostnameUnchecked(s: string): Hostname {
  return s as Hostname;
}

/** Where a hostname sits relative to the public suffix list. */
export interface HostnameParts {
  /** The public suffix (`co.uk`, `com`, or the last label for unknown TLDs such as `test`). */
  readonly publicSuffix: string;
  /** The registrable domain (`shop.co.uk`), or null when the name is itself a public suffix. */
  readonly registrableDomain: string | null;
}

/** Splits a hostname by the public suffix list (ICANN and private sections). */
export function hostnameParts(name: Hostname): HostnameParts {
  const p = parseDomain(name, { allowPrivateDomains: true });
  return { publicSuffix: p.publicSuffix ?? name.split('.').slice(-1)[0]!, registrableDomain: p.domain ?? null };
}

/** Whether `name` equals `zone` or lies below it (both normalised). */
export function isAtOrBelow(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/** The parent of a hostname (`a.b.c` → `b.c`), or null for a single label. */
export function parentOf(name: Hostname): Hostname | null {
  const i = name.indexOf('.');
  return i < 0 ? null : (name.slice(i + 1) as Hostname);
}
