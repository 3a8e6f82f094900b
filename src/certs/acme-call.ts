import { AppError } from '../core/index.ts';
import { acmeProblemError, ACME_ERROR_PREFIX } from './acme-problem.ts';
import type { AcmeRequestContext } from './acme-transport.ts';
import { CertsErrors } from './errors.ts';

/**
 * How many times one ACME call is made when the CA keeps answering `badNonce`. acme-client
 * already retries each signed request 5 times with the nonce from the error (RFC 8555 §6.5);
 * a badNonce error means the request was not processed, so repeating the call is always safe.
 */
const BAD_NONCE_CALL_ATTEMPTS = 4;

/**
 * Runs one acme-client call (`what` names it in errors, e.g. `'create order'`) and turns any
 * failure into an `AppError` from the certificate catalogue, using what the transport recorded
 * in `ctx` about the latest exchange. Repeats the call on `badNonce` (bounded).
 */
export async function acmeCall<T>(ctx: AcmeRequestContext, what: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    ctx.last = { kind: 'none' };
    try {
      return await fn();
    } catch (err) {
      const mapped = classifyAcmeFailure(ctx, what, err);
      if (mapped.code !== CertsErrors.ACME_BAD_NONCE.code || attempt >= BAD_NONCE_CALL_ATTEMPTS) throw mapped;
    }
  }
}

/** The catalogue error for a failed call, from the latest exchange recorded in `ctx`. */
export function classifyAcmeFailure(ctx: AcmeRequestContext, what: string, err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (ctx.signal?.aborted) return abortedError(ctx.signal, what);
  const last = ctx.last;
  const reason = err instanceof Error ? err.message : String(err);
  switch (last.kind) {
    case 'response': {
      if (last.problem !== null) return acmeProblemError(last.problem, what);
      const spec = last.status >= 500 ? CertsErrors.ACME_SERVER : CertsErrors.ACME_FAILED;
      return new AppError(spec, `ACME ${what} failed (HTTP ${last.status}): ${reason}`, { cause: err, details: { step: what, status: last.status, url: last.url } });
    }
    case 'transport_error': {
      const transport = last.error.code ?? last.error.message;
      return new AppError(CertsErrors.ACME_CONNECTION, `ACME ${what}: cannot reach ${last.url}: ${transport}`, { cause: last.error, details: { step: what, url: last.url, transport } });
    }
    case 'sent':
      return new AppError(CertsErrors.ACME_CONNECTION, `ACME ${what}: no response from ${last.url}`, { cause: err, details: { step: what, url: last.url, transport: 'no_response' } });
    case 'none':
      return new AppError(CertsErrors.ACME_FAILED, `ACME ${what} failed: ${reason}`, { cause: err, details: { step: what } });
  }
}

/** The error for an issuance cancelled through its `AbortSignal`. */
export function abortedError(signal: AbortSignal, what: string): AppError {
  return new AppError(CertsErrors.ISSUE_ABORTED, `ACME ${what} cancelled`, { cause: signal.reason });
}

/** Whether `err` carries an ACME problem of `type` (short name, e.g. `'accountDoesNotExist'`). */
export function hasProblemType(err: unknown, type: string): boolean {
  if (!(err instanceof AppError)) return false;
  const problem = err.details?.['problem'] as { type?: unknown } | undefined;
  return problem?.type === `${ACME_ERROR_PREFIX}${type}`;
}
