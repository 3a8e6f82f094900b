import { STATUS_CODES, type OutgoingHttpHeaders } from 'node:http';
import type { ReadyAnswer } from './handlers.ts';

/**
 * Writes HTTP/1.1 response heads byte for byte as the edge's `node:http` responses do, for the
 * fast path: the status line, the security headers the answer does not set itself, the answer's
 * headers in their order, `Date`, then `Connection: keep-alive` with `Keep-Alive: timeout=<s>`
 * (or `Connection: close`) and the blank line. What comes before `Date` is computed once per
 * frozen headers object; `Date` (RFC 9110 §6.6.1) once per second.
 */
export class ResponseHeads {
  private readonly fields = new WeakMap<object, string>();
  private readonly statusLines = new Map<number, string>();
  private readonly keepAliveTail: string;
  private date = '';
  private dateUntilMs = 0;

  /** `keepAliveTimeoutMs` is the idle timeout announced in `Keep-Alive` (0 announces none), as Node's `keepAliveTimeout`. */
  constructor(private readonly security: ReadonlyArray<readonly [string, string]>, keepAliveTimeoutMs: number) {
    const seconds = Math.floor(keepAliveTimeoutMs / 1000);
    this.keepAliveTail = `Connection: keep-alive\r\n${keepAliveTimeoutMs > 0 ? `Keep-Alive: timeout=${seconds}\r\n` : ''}\r\n`;
  }

  /** The head of `answer` (latin1) for a connection that stays open, or that closes after it when `close`. */
  render(answer: ReadyAnswer, close: boolean): string {
    const headers = answer.headers;
    let fields = this.fields.get(headers);
    if (fields === undefined) {
      fields = this.fieldLines(headers);
      if (Object.isFrozen(headers)) this.fields.set(headers, fields);
    }
    return `${this.statusLine(answer.status)}${fields}Date: ${this.utcDate()}\r\n${close ? 'Connection: close\r\n\r\n' : this.keepAliveTail}`;
  }

  private statusLine(status: number): string {
    let line = this.statusLines.get(status);
    if (line === undefined) {
      line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`;
      this.statusLines.set(status, line);
    }
    return line;
  }

  /** Security headers absent from `headers` first, then `headers` in order (as the edge's `writeHead` merges them). */
  private fieldLines(headers: Readonly<OutgoingHttpHeaders>): string {
    const names = new Set(Object.keys(headers).map((k) => k.toLowerCase()));
    let out = '';
    for (const [name, value] of this.security) if (!names.has(name)) out += `${name}: ${value}\r\n`;
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) out += `${name}: ${v}\r\n`;
    }
    return out;
  }

  private utcDate(): string {
    const now = Date.now();
    if (now >= this.dateUntilMs) {
      this.date = new Date(now).toUTCString();
      this.dateUntilMs = now - (now % 1000) + 1000;
    }
    return this.date;
  }
}
