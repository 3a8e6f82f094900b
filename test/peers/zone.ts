/** Serial handed out when the caller gives none: starts from the clock and only grows, so each call differs. */
let lastSerial = Math.floor(Date.now() / 1000) % 2_000_000_000;

function nextSerial(): number {
  lastSerial += 1;
  return lastSerial;
}

const APEX_NS = /^(@|\S+\.)?\s+(?:\d+\s+)?(?:IN\s+)?NS\s/i;

/**
 * A master-file zone (RFC 1035 §5) for `origin`: `$ORIGIN`, `$TTL 60`, a one-line SOA whose serial
 * is `serial` (default: a fresh, increasing value per call), an apex NS `ns.<origin>.` unless
 * `records` already hold apex NS lines (lines starting with `@` or the absolute origin), then
 * `records` verbatim, one per line, relative to the origin (e.g. `'cdp IN NS ns1.firstparty.test.'`).
 */
export function zoneText(origin: string, records: string[], serial?: number): string {
  const o = origin.replace(/\.$/, '').toLowerCase();
  const s = serial ?? nextSerial();
  const hasApexNs = records.some((r) => APEX_NS.test(r) && (r.startsWith('@') || r.toLowerCase().startsWith(`${o}.`)));
  const lines = [
    `$ORIGIN ${o}.`,
    '$TTL 60',
    `@ IN SOA ns.${o}. hostmaster.${o}. ${s} 3600 600 86400 60`,
    ...(hasApexNs ? [] : [`@ IN NS ns.${o}.`]),
    ...records,
  ];
  return `${lines.join('\n')}\n`;
}

/** The SOA serial of a zone written by {@link zoneText} (or any zone with a one-line SOA), or null. */
export function serialOf(zoneTextValue: string): number | null {
  const m = /\bSOA\s+\S+\s+\S+\s+\(?\s*(\d+)/i.exec(zoneTextValue);
  return m ? Number(m[1]) : null;
}
