/**
 * A validating JSON scanner over UTF-8 bytes (RFC 8259 grammar) that records where things are
 * instead of building values: the members of chosen objects and the elements of chosen arrays.
 * The ingest fast path uses it to find a request's events and the few fields normalisation
 * reads, and stores each event's bytes as sent. Input must already be valid UTF-8 (checked by
 * the caller); string contents are checked for raw control characters and escapes.
 *
 * Not a parser: values are never materialised here. Anything invalid, or nested deeper than
 * {@link MAX_SCAN_DEPTH}, throws {@link ScanAbort}, and the caller takes the general path
 * (`JSON.parse`), which decides the outcome.
 */

/** Nesting deeper than this aborts the scan (the general path handles such bodies). */
export const MAX_SCAN_DEPTH = 200;

/** Thrown when the bytes are not valid JSON, or not worth scanning; never reaches a client. */
export class ScanAbort extends Error {}

/** A member of a scanned object; offsets index the scanned bytes. */
export interface JsonMember {
  /** Offset of the key's opening quote. */
  readonly start: number;
  /** Offsets of the key's text, quotes excluded. */
  readonly keyStart: number;
  readonly keyEnd: number;
  /** Whether the key holds a backslash escape (its bytes are then not its name). */
  readonly keyEscaped: boolean;
  readonly valueStart: number;
  /** Offset just after the value. */
  readonly valueEnd: number;
  /** Members of the value when it is an object the visitor asked to descend into. */
  readonly inner: ScannedObject | undefined;
  /** Elements of the value when it is an array the visitor asked to descend into. */
  readonly elements: JsonElement[] | undefined;
}

/** An object: its members in order, and the offsets of its braces. */
export interface ScannedObject {
  readonly open: number;
  /** Offset of the closing brace. */
  readonly close: number;
  readonly members: JsonMember[];
}

/** An element of a scanned array. */
export interface JsonElement {
  readonly start: number;
  readonly end: number;
  /** Set when the element is an object (members recorded). */
  readonly object: ScannedObject | undefined;
}

const Q = 0x22; // "
const BS = 0x5c; // \
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACK = 0x5b;
const RBRACK = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

const WHITESPACE = new Uint8Array(256);
for (const c of [0x20, 0x09, 0x0a, 0x0d]) WHITESPACE[c] = 1;
/** Bytes a string may hold as they are: not a quote, not a backslash, not a control character. */
const PLAIN = new Uint8Array(256).fill(1);
for (let c = 0; c < 0x20; c++) PLAIN[c] = 0;
PLAIN[Q] = 0;
PLAIN[BS] = 0;
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;

/**
 * Decides which members of an object to descend into: `false` scans the value only; otherwise an
 * object value gets its members recorded and an array value its elements, and a returned
 * function decides in turn for the members of that object (or of the array's objects).
 */
export type Descend = (scan: JsonScanner, keyStart: number, keyEnd: number) => boolean | Descend;

export class JsonScanner {
  constructor(readonly b: Buffer) {}

  /** The offset of the first non-whitespace byte at or after `p`. */
  ws(p: number): number {
    const b = this.b;
    const n = b.length;
    while (p < n && WHITESPACE[b[p]!] === 1) p++;
    return p;
  }

  /** Whether the key bytes `[keyStart, keyEnd)` are exactly the ASCII `name`. */
  keyIs(keyStart: number, keyEnd: number, name: string): boolean {
    if (keyEnd - keyStart !== name.length) return false;
    const b = this.b;
    for (let i = 0; i < name.length; i++) if (b[keyStart + i] !== name.charCodeAt(i)) return false;
    return true;
  }

  /**
   * Validates the value at `p` (no leading whitespace) without recording anything; returns the
   * offset after it. Iterative: nested objects and arrays cost no calls, only a stack entry each
   * (a container `depth` levels down aborts past {@link MAX_SCAN_DEPTH}, as {@link object} does).
   */
  value(p: number, depth: number): number {
    const b = this.b;
    const open = this.open;
    let top = 0;
    let q = p;
    for (;;) {
      // A value starts at q.
      const c = b[q];
      if (c === LBRACE || c === LBRACK) {
        if (depth + top > MAX_SCAN_DEPTH) throw new ScanAbort('too deep');
        open[top++] = c;
        q = this.ws(q + 1);
        if (b[q] === (c === LBRACE ? RBRACE : RBRACK)) {
          q += 1;
          top -= 1;
        } else {
          if (c === LBRACE) q = this.key(q);
          continue;
        }
      } else if (c === Q) {
        q = this.string(q);
      } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
        q = this.literal(q, c);
      } else {
        q = this.number(q);
      }
      // After a value: close containers, or go on to the next member or element.
      for (;;) {
        if (top === 0) return q;
        q = this.ws(q);
        const d = b[q];
        const container = open[top - 1];
        if (d === COMMA) {
          q = this.ws(q + 1);
          if (container === LBRACE) q = this.key(q);
          break;
        }
        if (d !== (container === LBRACE ? RBRACE : RBRACK)) throw new ScanAbort('expected a comma or a closing bracket');
        q += 1;
        top -= 1;
      }
    }
  }

  /** Open containers of {@link value}: their opening bytes. */
  private readonly open = new Uint8Array(MAX_SCAN_DEPTH + 2);

  /** A member's key and colon at `q`; returns where its value starts. */
  private key(q: number): number {
    const b = this.b;
    if (b[q] !== Q) throw new ScanAbort('expected a key');
    q = this.ws(this.string(q));
    if (b[q] !== COLON) throw new ScanAbort('expected a colon');
    return this.ws(q + 1);
  }

  /**
   * Scans the object at `p` (its `{`), recording its members; members whose key `descend`
   * accepts and whose value is an object get their own members recorded in `inner`.
   */
  object(p: number, depth: number, descend?: Descend): ScannedObject {
    if (depth > MAX_SCAN_DEPTH) throw new ScanAbort('too deep');
    const b = this.b;
    const members: JsonMember[] = [];
    let q = this.ws(p + 1);
    if (b[q] === RBRACE) return { open: p, close: q, members };
    for (;;) {
      if (b[q] !== Q) throw new ScanAbort('expected a key');
      const keyEnd = this.string(q);
      const keyEscaped = this.escaped;
      let v = this.ws(keyEnd);
      if (b[v] !== COLON) throw new ScanAbort('expected a colon');
      v = this.ws(v + 1);
      const member = this.member(q, keyEnd, keyEscaped, v, depth, descend);
      members.push(member);
      const end = member.valueEnd;
      q = this.ws(end);
      if (b[q] === COMMA) {
        q = this.ws(q + 1);
        continue;
      }
      if (b[q] === RBRACE) return { open: p, close: q, members };
      throw new ScanAbort('expected a comma or a closing brace');
    }
  }

  /** One member whose key ends at `keyEnd` (after its quote) and whose value starts at `v`. */
  private member(q: number, keyEnd: number, keyEscaped: boolean, v: number, depth: number, descend: Descend | undefined): JsonMember {
    const c = this.b[v];
    const into = descend !== undefined && (c === LBRACE || c === LBRACK) ? descend(this, q + 1, keyEnd - 1) : false;
    // Every member has the same shape (inner and elements present, maybe undefined): reads of
    // members stay monomorphic.
    if (into === false) return { start: q, keyStart: q + 1, keyEnd: keyEnd - 1, keyEscaped, valueStart: v, valueEnd: this.value(v, depth + 1), inner: undefined, elements: undefined };
    const next = typeof into === 'function' ? into : undefined;
    if (c === LBRACE) {
      const inner = this.object(v, depth + 1, next);
      return { start: q, keyStart: q + 1, keyEnd: keyEnd - 1, keyEscaped, valueStart: v, valueEnd: inner.close + 1, inner, elements: undefined };
    }
    const { end, elements } = this.array(v, depth + 1, true, next);
    return { start: q, keyStart: q + 1, keyEnd: keyEnd - 1, keyEscaped, valueStart: v, valueEnd: end, inner: undefined, elements };
  }

  /**
   * Scans the array at `p` (its `[`); with `record`, returns its elements, objects among them
   * with their members (descending per `descend`).
   */
  array(p: number, depth: number, record: boolean, descend?: Descend): { end: number; elements: JsonElement[] } {
    if (depth > MAX_SCAN_DEPTH) throw new ScanAbort('too deep');
    const b = this.b;
    const elements: JsonElement[] = [];
    let q = this.ws(p + 1);
    if (b[q] === RBRACK) return { end: q + 1, elements };
    for (;;) {
      let end: number;
      if (record && b[q] === LBRACE) {
        const object = this.object(q, depth + 1, descend);
        end = object.close + 1;
        elements.push({ start: q, end, object });
      } else {
        end = this.value(q, depth + 1);
        if (record) elements.push({ start: q, end, object: undefined });
      }
      q = this.ws(end);
      if (b[q] === COMMA) {
        q = this.ws(q + 1);
        continue;
      }
      if (b[q] === RBRACK) return { end: q + 1, elements };
      throw new ScanAbort('expected a comma or a closing bracket');
    }
  }

  /** Whether the last string {@link string} scanned held an escape. */
  escaped = false;

  /** Scans the string at `p` (its opening quote); returns the offset after its closing quote. */
  string(p: number): number {
    const b = this.b;
    const n = b.length;
    let q = p + 1;
    let escaped = false;
    for (;;) {
      while (q < n && PLAIN[b[q]!] === 1) q++;
      if (q >= n) throw new ScanAbort('unterminated string');
      const c = b[q];
      if (c === Q) {
        this.escaped = escaped;
        return q + 1;
      }
      if (c !== BS) throw new ScanAbort('control character in a string');
      escaped = true;
      const e = b[q + 1]!;
      if (e === 0x75) {
        if (HEX[b[q + 2]!] !== 1 || HEX[b[q + 3]!] !== 1 || HEX[b[q + 4]!] !== 1 || HEX[b[q + 5]!] !== 1) throw new ScanAbort('bad \\u escape');
        q += 6;
      } else if (SIMPLE_ESCAPE[e] === 1) {
        q += 2;
      } else {
        throw new ScanAbort('bad escape');
      }
    }
  }

  private literal(p: number, c: number): number {
    const b = this.b;
    if (c === 0x74 && b[p + 1] === 0x72 && b[p + 2] === 0x75 && b[p + 3] === 0x65) return p + 4;
    if (c === 0x66 && b[p + 1] === 0x61 && b[p + 2] === 0x6c && b[p + 3] === 0x73 && b[p + 4] === 0x65) return p + 5;
    if (c === 0x6e && b[p + 1] === 0x75 && b[p + 2] === 0x6c && b[p + 3] === 0x6c) return p + 4;
    throw new ScanAbort('bad literal');
  }

  /** `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` */
  private number(p: number): number {
    const b = this.b;
    let q = p;
    if (b[q] === 0x2d) q++;
    let c = b[q]!;
    if (c === 0x30) q++;
    else if (c >= 0x31 && c <= 0x39) q = this.digits(q + 1);
    else throw new ScanAbort('bad number');
    c = b[q]!;
    if (c === 0x2e) {
      c = b[q + 1]!;
      if (!(c >= 0x30 && c <= 0x39)) throw new ScanAbort('bad fraction');
      q = this.digits(q + 2);
      c = b[q]!;
    }
    if (c === 0x65 || c === 0x45) {
      q++;
      if (b[q] === 0x2b || b[q] === 0x2d) q++;
      c = b[q]!;
      if (!(c >= 0x30 && c <= 0x39)) throw new ScanAbort('bad exponent');
      q = this.digits(q + 1);
    }
    return q;
  }

  private digits(q: number): number {
    const b = this.b;
    const n = b.length;
    while (q < n) {
      const c = b[q]!;
      if (c < 0x30 || c > 0x39) break;
      q++;
    }
    return q;
  }
}

