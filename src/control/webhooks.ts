import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError, type AppEvents, type Clock, type CustomDomain, type StoredCertificate } from '../core/index.ts';
import type { DeliveryRecord, Store, WebhookRecord } from '../store/index.ts';
import { ControlErrors } from './errors.ts';
import { newId } from './ids.ts';
import { assertPublicTarget, privateResolution } from './webhook-target.ts';

/** The header carrying a delivery's signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'Firstparty-Signature';

/** Signs `body` as sent at `timestampSeconds`: HMAC-SHA256 with `secret` over `<timestamp>.<body>`. */
export function signWebhook(secret: string, body: string, timestampSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return `t=${timestampSeconds},v1=${mac}`;
}

/**
 * Checks a {@link SIGNATURE_HEADER} value the way a receiver should: a `v1` signature matches
 * (constant-time) and the timestamp is within `toleranceSeconds` (default 300) of `nowSeconds`,
 * which bounds replays.
 */
export function verifyWebhookSignature(secret: string, header: string, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const parts = new Map(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds || !/^[0-9a-f]{64}$/.test(v1)) return false;
  const expected = Buffer.from(signWebhook(secret, body, t).split('v1=')[1]!, 'hex');
  return timingSafeEqual(expected, Buffer.from(v1, 'hex'));
}

/** A webhook as listed (the secret is shown only when it is created). */
export interface WebhookView {
  readonly id: string;
  readonly workspaceId: string;
  readonly url: string;
  readonly createdAt: string;
}

const toView = (w: WebhookRecord): WebhookView => ({ id: w.id, workspaceId: w.workspaceId, url: w.url, createdAt: new Date(w.createdAt).toISOString() });

/** Registers, lists and deletes a workspace's webhooks, and reads their delivery log. */
export function createWebhookAdmin(deps: { store: Store; clock: Clock; allowPrivateTargets?: boolean }) {
  async function own(workspaceId: string, id: string): Promise<WebhookRecord> {
    const w = await deps.store.webhooks.get(id);
    if (!w || w.workspaceId !== workspaceId) throw new AppError(ControlErrors.NOT_FOUND, `no webhook ${id} in workspace ${workspaceId}`);
    return w;
  }
  return {
    /** Registers `url` (http or https, no credentials); returns the signing secret once. */
    async create(workspaceId: string, input: Record<string, unknown>): Promise<WebhookView & { secret: string }> {
      const url = parseUrl(input.url, deps.allowPrivateTargets ?? false);
      const w: WebhookRecord = { id: newId('wh'), workspaceId, url, secret: `whsec_${randomBytes(24).toString('base64url')}`, createdAt: deps.clock.now() };
      await deps.store.webhooks.create(w);
      return { ...toView(w), secret: w.secret };
    },
    async list(workspaceId: string): Promise<WebhookView[]> {
      return (await deps.store.webhooks.listByWorkspace(workspaceId)).map(toView);
    },
    async remove(workspaceId: string, id: string): Promise<{ id: string; deleted: true }> {
      await own(workspaceId, id);
      await deps.store.webhooks.remove(id, deps.clock.now());
      return { id, deleted: true };
    },
    async deliveries(workspaceId: string, id: string, limit: number) {
      await own(workspaceId, id);
      return (await deps.store.webhooks.deliveries(id, limit)).map((d) => ({
        id: d.id, event: d.event, status: d.status, attempts: d.attempts, lastStatusCode: d.lastStatusCode, lastError: d.lastError,
        nextAttemptAt: d.nextAttemptAt === null ? null : new Date(d.nextAttemptAt).toISOString(),
        createdAt: new Date(d.createdAt).toISOString(), updatedAt: new Date(d.updatedAt).toISOString(), body: JSON.parse(d.body) as unknown,
      }));
    },
  };
}

function parseUrl(v: unknown, allowPrivate: boolean): string {
  let u: URL;
  try {
    u = new URL(String(v));
  } catch {
    throw new AppError(ControlErrors.INVALID_INPUT, '"url" must be an absolute http(s) URL');
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password) {
    throw new AppError(ControlErrors.INVALID_INPUT, '"url" must be an http(s) URL without credentials');
  }
  assertPublicTarget(u, allowPrivate);
  return u.toString();
}

/** What a webhook body shows of a certificate (no key material). */
function certSummary(c: StoredCertificate) {
  return { id: c.id, serial: c.serialHex, issuer: c.issuer, names: c.names, notAfter: new Date(c.notAfter).toISOString() };
}

/** Settings of {@link WebhookDispatcher}; durations in ms. */
export interface WebhookDispatcherDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly events: AppEvents;
  readonly logger?: { warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  /** Delays before each retry (default 10 s, 1 min, 5 min, 30 min, 2 h, 6 h); attempts are bounded by its length + 1. */
  readonly retryDelaysMs?: readonly number[];
  /** Timeout of one delivery attempt (default 5 000). */
  readonly timeoutMs?: number;
  /** How often due deliveries are looked for (default 500). */
  readonly tickMs?: number;
  /** Whether deliveries may go to loopback/private addresses (default false). */
  readonly allowPrivateTargets?: boolean;
}

const DEFAULT_RETRY_MS = [10_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000];

/**
 * Delivers signed JSON to every webhook of a domain's workspace on each state change and
 * certificate event. Each (event, webhook) pair is first written to the persistent delivery log
 * with a due time; a timer sends what is due (so retries survive restarts), retrying non-2xx
 * answers and network errors with the backoff of `retryDelaysMs`, then marks the delivery failed.
 */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private readonly unsubscribe: Array<() => void> = [];
  private busy: Promise<void> | null = null;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly deps: WebhookDispatcherDeps) {}

  /** Subscribes to the events and starts sending due deliveries. */
  start(): void {
    const { events } = this.deps;
    const summary = (d: CustomDomain) => ({ id: d.id, workspaceId: d.workspaceId, domain: d.domain, state: d.state.kind, hosts: d.hosts });
    this.unsubscribe.push(
      events.on('domain.created', ({ domain }) => this.publish(domain, 'domain.created', { domain: summary(domain) })),
      events.on('domain.changed', ({ domain, from }) => this.publish(domain, 'domain.state_changed', { domain: summary(domain), from, to: domain.state.kind, state: domain.state })),
      events.on('cert.obtained', ({ domain, certificate: c }) => this.publish(domain, 'certificate.obtained', {
        domain: summary(domain), certificate: certSummary(c),
      })),
      events.on('cert.failed', ({ domain, reason, message, retryAt, phase }) => this.publish(domain, 'certificate.failed', {
        domain: summary(domain), phase: phase ?? 'issuance', reason, message, retryAt: new Date(retryAt).toISOString(),
      })),
      events.on('cert.renewed', ({ domain, certificate: c, previous }) => this.publish(domain, 'certificate.renewed', {
        domain: summary(domain), certificate: certSummary(c), previousSerial: previous.serialHex,
      })),
      events.on('cert.revoked', ({ domainId, certificate: c, reasonCode }) => {
        // The domain is usually removed by now; its record still names the workspace.
        void this.deps.store.domains.get(domainId).then((domain) => domain && this.publish(domain, 'certificate.revoked', {
          domain: summary(domain), certificate: certSummary(c), reasonCode,
        }));
      }),
    );
    this.timer = setInterval(() => void this.runDue(), this.deps.tickMs ?? 500);
    this.timer.unref();
  }

  /** Stops listening and sending; waits for attempts in flight. */
  async close(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.pending, this.busy]);
  }

  /** Waits until every event published so far is in the delivery log. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  /** Sends every delivery due now; one run at a time. */
  runDue(): Promise<void> {
    this.busy ??= this.sendDue().finally(() => (this.busy = null));
    return this.busy;
  }

  private publish(d: CustomDomain, type: string, data: Record<string, unknown>): void {
    const p = this.enqueue(d.workspaceId, type, data)
      .catch((err: unknown) => this.deps.logger?.error({ err, type }, 'cannot record webhook deliveries'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  private async enqueue(workspaceId: string, type: string, data: Record<string, unknown>): Promise<void> {
    const now = this.deps.clock.now();
    const body = JSON.stringify({ id: newId('evt'), type, createdAt: new Date(now).toISOString(), workspaceId, data });
    for (const w of await this.deps.store.webhooks.listByWorkspace(workspaceId)) {
      await this.deps.store.webhooks.enqueue({
        id: newId('dlv'), webhookId: w.id, event: type, body, status: 'pending', attempts: 0, nextAttemptAt: now,
        lastStatusCode: null, lastError: null, createdAt: now, updatedAt: now,
      });
    }
  }

  private async sendDue(): Promise<void> {
    const due = await this.deps.store.webhooks.due(this.deps.clock.now(), 32);
    await Promise.all(due.map((d) => this.attempt(d).catch((err: unknown) => this.deps.logger?.error({ err, delivery: d.id }, 'webhook attempt failed'))));
  }

  private async attempt(d: DeliveryRecord): Promise<void> {
    const hook = await this.deps.store.webhooks.get(d.webhookId);
    if (!hook) return;
    const { statusCode, error } = await this.post(hook, d);
    const now = this.deps.clock.now();
    const attempts = d.attempts + 1;
    const delays = this.deps.retryDelaysMs ?? DEFAULT_RETRY_MS;
    const delivered = error === null;
    const giveUp = !delivered && attempts > delays.length;
    if (!delivered) this.deps.logger?.warn({ delivery: d.id, url: hook.url, statusCode, error, attempts }, 'webhook delivery failed');
    await this.deps.store.webhooks.recordAttempt(d.id, {
      status: delivered ? 'delivered' : giveUp ? 'failed' : 'pending', attempts,
      nextAttemptAt: delivered || giveUp ? null : now + delays[attempts - 1]!, lastStatusCode: statusCode, lastError: error, updatedAt: now,
    });
  }

  private async post(hook: WebhookRecord, d: DeliveryRecord): Promise<{ statusCode: number | null; error: string | null }> {
    const t = Math.floor(this.deps.clock.now() / 1000);
    try {
      const refused = await privateResolution(new URL(hook.url), this.deps.allowPrivateTargets ?? false);
      if (refused) return { statusCode: null, error: refused };
      const res = await fetch(hook.url, {
        method: 'POST', redirect: 'manual', signal: AbortSignal.timeout(this.deps.timeoutMs ?? 5000), body: d.body,
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhook(hook.secret, d.body, t), 'Firstparty-Event': d.event, 'Firstparty-Delivery': d.id, 'user-agent': 'firstparty-webhooks/1' },
      });
      await res.arrayBuffer().catch(() => undefined);
      return { statusCode: res.status, error: res.status >= 200 && res.status < 300 ? null : `answered ${res.status}` };
    } catch (err) {
      return { statusCode: null, error: err instanceof Error ? err.message : String(err) };
    }
  }
}
