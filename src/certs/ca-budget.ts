import { AppError } from '../core/index.ts';
import { CertsErrors } from './errors.ts';

/** The counts a {@link CaBudget} needs; the store's ACME order journal provides them. */
export interface OrderLedger {
  countCreatedSince(directoryUrl: string, since: number): Promise<number>;
  countDuplicatesSince(namesKey: string, since: number): Promise<number>;
}

/**
 * Limits firstparty keeps below a CA's published ones. Defaults are Let's Encrypt's (2026):
 * 300 new orders per account per 3 h, 5 duplicate certificates per exact name set per 7 days.
 */
export interface CaBudgetLimits {
  readonly ordersPerWindow: number;
  readonly orderWindowMs: number;
  readonly duplicatesPerWindow: number;
  readonly duplicateWindowMs: number;
}

/** Let's Encrypt's limits, minus nothing: the ledger counts every order we make. */
export const LETS_ENCRYPT_LIMITS: CaBudgetLimits = {
  ordersPerWindow: 300, orderWindowMs: 3 * 3_600_000, duplicatesPerWindow: 5, duplicateWindowMs: 7 * 86_400_000,
};

/** The sorted, comma-joined name set of an order: the key of the duplicate-certificate limit. */
export function namesKey(names: readonly string[]): string {
  return [...names].sort().join(',');
}

/**
 * Decides, before an order is created, whether it fits the CA budget. `check` throws
 * `ERR_CERTS_BUDGET_EXHAUSTED` with `details.retryAfterMs` (when one slot frees up, as a token
 * bucket refilling `limit / window`) when it does not. Renewals with `replaces` (RFC 9773 §5)
 * skip the duplicate limit, as the CA exempts them; they still count as orders, so a loop of
 * renewals can never run away.
 */
export class CaBudget {
  constructor(private readonly ledger: OrderLedger, private readonly limits: CaBudgetLimits = LETS_ENCRYPT_LIMITS) {}

  async check(directoryUrl: string, names: readonly string[], now: number, opts: { replacing: boolean }): Promise<void> {
    const { ordersPerWindow, orderWindowMs, duplicatesPerWindow, duplicateWindowMs } = this.limits;
    const orders = await this.ledger.countCreatedSince(directoryUrl, now - orderWindowMs);
    if (orders >= ordersPerWindow) {
      throw exhausted(`${orders} orders in the last ${orderWindowMs / 60_000} min on ${directoryUrl} (limit ${ordersPerWindow})`, orderWindowMs / ordersPerWindow, 'orders_per_account');
    }
    if (opts.replacing) return;
    const duplicates = await this.ledger.countDuplicatesSince(namesKey(names), now - duplicateWindowMs);
    if (duplicates >= duplicatesPerWindow) {
      throw exhausted(`${duplicates} certificates for ${namesKey(names)} in the last ${duplicateWindowMs / 3_600_000} h (limit ${duplicatesPerWindow})`,
        duplicateWindowMs / duplicatesPerWindow, 'duplicate_certificates');
    }
  }
}

function exhausted(what: string, retryAfterMs: number, limit: string): AppError {
  return new AppError(CertsErrors.BUDGET_EXHAUSTED, `CA budget spent: ${what}`, { details: { limit, retryAfterMs: Math.ceil(retryAfterMs) } });
}
