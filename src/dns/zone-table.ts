import { compileZone, type CompiledZone } from './zone-compile.ts';
import type { ZoneSpec } from './types.ts';

/** Freezes the spec in place: the compiled zone keeps references into it. */
function freezeSpec(spec: ZoneSpec): ZoneSpec {
  Object.freeze(spec.soa);
  for (const r of spec.records) Object.freeze(r);
  Object.freeze(spec.records);
  return Object.freeze(spec);
}

/** What changed in a {@link ZoneTable}: a zone set (added or replaced) or deleted. */
export type ZoneChange =
  | { readonly kind: 'set'; readonly spec: ZoneSpec; readonly previousSerial: number | undefined }
  | { readonly kind: 'deleted'; readonly apex: string };

/**
 * The in-memory set of zones the DNS server answers from; synchronous and not persisted.
 *
 * Contract: {@link ZoneTable.setZone} validates and compiles the zone before swapping it in, so a
 * bad zone throws `ERR_DNS_INVALID_ZONE` and leaves the previous version serving; a successful
 * call is visible to the very next query. Lookups walk up the labels of the query name with one
 * map lookup per label, so the table scales to 100,000+ zones. Nested zones are allowed: the
 * closest enclosing apex answers.
 */
export class ZoneTable {
  readonly #zones = new Map<string, CompiledZone>();
  readonly #listeners = new Set<(change: ZoneChange) => void>();

  /**
   * Calls `listener` synchronously after every successful `setZone` and every `deleteZone` of a
   * zone that existed (e.g. to send NOTIFY, RFC 1996). Listeners must not throw. Returns the
   * unsubscribe function.
   */
  onChange(listener: (change: ZoneChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Apexes of every zone served, in insertion order. */
  apexes(): IterableIterator<string> {
    return this.#zones.keys();
  }

  /**
   * Adds or atomically replaces the zone at `spec.apex`. Throws `ERR_DNS_INVALID_ZONE`. The table
   * keeps `spec` (no copy, to stay small at 100,000 zones) and deep-freezes it.
   */
  setZone(spec: ZoneSpec): void {
    const frozen = freezeSpec(spec);
    const compiled = compileZone(frozen);
    const previousSerial = this.#zones.get(frozen.apex)?.spec.serial;
    this.#zones.set(frozen.apex, compiled);
    for (const l of this.#listeners) l({ kind: 'set', spec: frozen, previousSerial });
  }

  /** Removes the zone at `apex` (no-op when absent); its names are REFUSED from the next query on. */
  deleteZone(apex: string): void {
    if (this.#zones.delete(apex)) for (const l of this.#listeners) l({ kind: 'deleted', apex });
  }

  /** The zone as last set (the same, frozen object), or undefined. */
  getZone(apex: string): ZoneSpec | undefined {
    return this.#zones.get(apex)?.spec;
  }

  /** Number of zones served. */
  zoneCount(): number {
    return this.#zones.size;
  }

  /**
   * The closest enclosing zone of a lowercase, dot-separated name, or undefined.
   * For the responder; `name` must not contain a `.` inside a label.
   */
  findZone(name: string): CompiledZone | undefined {
    let zone = this.#zones.get(name);
    let dot = name.indexOf('.');
    while (zone === undefined && dot >= 0) {
      zone = this.#zones.get(name.slice(dot + 1));
      dot = name.indexOf('.', dot + 1);
    }
    return zone;
  }
}
