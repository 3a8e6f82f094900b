import type { TsigKey } from './tsig.ts';
import type { DnsListen } from './types.ts';

/** Options of {@link renderNsdSecondaryConfig}. */
export interface NsdSecondaryConfigInput {
  /** Apexes of the zones to take as secondary (e.g. `[...table.apexes()]`). */
  readonly zones: Iterable<string>;
  /** Our primary nameserver's addresses, transferred from and accepted NOTIFY from. */
  readonly primaries: readonly DnsListen[];
  /** TSIG key shared with the primary; default none (`NOKEY`). */
  readonly tsigKey?: TsigKey;
  /** Name of the nsd `pattern:` every zone includes (default `firstparty`). */
  readonly patternName?: string;
}

const q = (s: string): string => JSON.stringify(s);

/**
 * Renders the nsd.conf(5) clauses an operator appends to an nsd secondary's configuration: the
 * `key:` (hmac-sha256), one `pattern:` with `request-xfr: AXFR` (we serve whole zones only,
 * RFC 5936) and `allow-notify` for every primary address, then one `zone:` per apex. nsd 4.6 has
 * no catalog zones (RFC 9432 needs nsd 4.9+), so the list is regenerated when zones are added or
 * removed; changes inside a zone reach nsd by NOTIFY. Secondary zone files are named
 * `<apex>.zone`, relative to nsd's `zonesdir`.
 */
export function renderNsdSecondaryConfig(input: NsdSecondaryConfigInput): string {
  const pattern = input.patternName ?? 'firstparty';
  const keyName = input.tsigKey?.name ?? 'NOKEY';
  const lines: string[] = [];
  if (input.tsigKey) {
    lines.push('key:', `  name: ${q(input.tsigKey.name)}`, '  algorithm: hmac-sha256', `  secret: ${q(input.tsigKey.secret.toString('base64'))}`, '');
  }
  lines.push('pattern:', `  name: ${q(pattern)}`);
  for (const p of input.primaries) {
    const at = `${p.host}@${p.port}`;
    lines.push(`  request-xfr: AXFR ${at} ${keyName}`, `  allow-notify: ${p.host} ${keyName}`);
  }
  lines.push('');
  for (const apex of input.zones) {
    lines.push('zone:', `  name: ${q(apex)}`, `  zonefile: ${q(`${apex}.zone`)}`, `  include-pattern: ${q(pattern)}`);
  }
  return `${lines.join('\n')}\n`;
}
