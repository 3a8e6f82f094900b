/**
 * The pino-like logger every capability writes to: structured fields first, then the message.
 * A pino logger satisfies it; tests pass {@link silentLogger} or a recording fake.
 */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** A logger that drops everything; the default when none is injected. */
export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };
