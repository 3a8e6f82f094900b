/**
 * The one error base of firstparty.
 *
 * Every error that crosses a capability boundary is an {@link AppError} with a stable `code`
 * (`ERR_<CAPABILITY>_<WHAT>`), whether retrying can help, the HTTP status it maps to where it
 * reaches HTTP, and an optional `cause`. Each capability declares its codes in one catalogue file
 * with {@link defineErrors}; `docs/errors.md` lists every code and a test keeps the two in step.
 */
export class AppError extends Error {
  override readonly name = 'AppError';
  /** Stable machine-readable code, e.g. `ERR_CONTROL_DOMAIN_TAKEN`. */
  readonly code: string;
  /** HTTP status this error maps to when it reaches an HTTP surface (500 when unset). */
  readonly httpStatus: number;
  /** Whether the same operation may succeed later without any change of input. */
  readonly retryable: boolean;
  /** Extra machine-readable detail safe to show to the caller. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(spec: ErrorSpec, message?: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message ?? spec.message, { cause: options?.cause });
    this.code = spec.code;
    this.httpStatus = spec.httpStatus ?? 500;
    this.retryable = spec.retryable ?? false;
    this.details = options?.details;
  }
}

/** Declaration of one error code in a capability's catalogue. */
export interface ErrorSpec {
  readonly code: string;
  /** Default message; callers may pass a more specific one. */
  readonly message: string;
  readonly httpStatus?: number;
  readonly retryable?: boolean;
}

/** Every catalogue registered with {@link defineErrors}, keyed by code (used by the docs test). */
export const errorRegistry = new Map<string, ErrorSpec>();

/**
 * Declares a capability's error catalogue. Throws at module load if a code is declared twice or
 * does not follow `ERR_<CAPABILITY>_<WHAT>`.
 */
export function defineErrors<K extends string>(specs: Record<K, ErrorSpec>): Readonly<Record<K, ErrorSpec>> {
  for (const spec of Object.values<ErrorSpec>(specs)) {
    if (!/^ERR_[A-Z0-9]+_[A-Z0-9_]+$/.test(spec.code)) throw new Error(`bad error code ${spec.code}`);
    if (errorRegistry.has(spec.code) && errorRegistry.get(spec.code) !== spec) throw new Error(`duplicate error code ${spec.code}`);
    errorRegistry.set(spec.code, spec);
  }
  return Object.freeze(specs);
}

/** Whether `err` is an {@link AppError} with the given spec's code. */
export function isAppError(err: unknown, spec?: ErrorSpec): err is AppError {
  return err instanceof AppError && (spec === undefined || err.code === spec.code);
}

/** An expected outcome as a value: `{ ok: true, value }` or `{ ok: false, reason }`. */
export type Result<T, R extends string = string> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: R; readonly message: string };

/** Builds a successful {@link Result}. */
export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
/** Builds a failed {@link Result}. */
export const fail = <R extends string>(reason: R, message: string): Result<never, R> => ({ ok: false, reason, message });
