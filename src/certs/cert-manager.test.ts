import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError, EventBus, FakeClock, hostnameUnchecked, type AppEventMap, type CustomDomain, type Hostname } from '../core/index.ts';
import { openSqliteStore, type Store } from '../store/index.ts';
import {
  acmeProblemError, CaBudget, CertManager, createLocalCaIssuer, loadKeyCipher, parseAcmeProblem, reasonInfo,
  type IssuedCertificate, type Issuer, type IssueOptions, type KeyCipher, type LocalCaIssuer,
} from './index.ts';

// Problem documents as ACME CAs return them (Boulder's wording), replayed against the order logic.
const PROBLEMS = {
  rateLimited: { body: { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many new orders (300) from this account in the last 3h0m0s, retry after 2026-08-05 21:06:28 UTC', status: 429 }, retryAfter: '1800' },
  caa: { body: { type: 'urn:ietf:params:acme:error:caa', detail: 'CAA record for cdn.cdp.shop.test prevents issuance', status: 403 } },
  dns: { body: { type: 'urn:ietf:params:acme:error:dns', detail: 'DNS problem: SERVFAIL looking up TXT for _acme-challenge.cdn.cdp.shop.test - the domain\'s nameservers may be malfunctioning', status: 400 } },
  malformed: { body: { type: 'urn:ietf:params:acme:error:malformed', detail: 'Unable to validate JWS :: Invalid Content-Type header on POST', status: 400 } },
  connection: { body: { type: 'urn:ietf:params:acme:error:connection', detail: 'Fetching https://ca: connection refused', status: 400 } },
} as const;

function recorded(name: keyof typeof PROBLEMS): AppError {
  const p = PROBLEMS[name];
  const problem = parseAcmeProblem(p.body, 'retryAfter' in p ? { status: p.body.status, retryAfter: p.retryAfter } : { status: p.body.status });
  return acmeProblemError(problem!, 'create order');
}

/** An ACME-looking issuer that signs with the local CA, or throws the next scripted error. */
class ScriptedIssuer implements Issuer {
  readonly kind = 'acme' as const;
  readonly failures: AppError[] = [];
  readonly calls: IssueOptions[] = [];
  revoked: Array<{ serial: string; reasonCode: number }> = [];
  constructor(readonly id: string, private readonly ca: LocalCaIssuer) {}
  caaIdentities(): string[] {
    return [];
  }
  async issue(names: readonly Hostname[], opts: IssueOptions = {}): Promise<IssuedCertificate> {
    this.calls.push(opts);
    const failure = this.failures.shift();
    if (failure) throw failure;
    await opts.journal?.orderCreated(`${this.id}/order/${this.calls.length}`);
    const cert = await this.ca.issue(names);
    await opts.journal?.keyCreated(cert.keyPem);
    return { ...cert, issuerKind: 'acme', directoryUrl: this.id };
  }
  async revoke(certPem: string, reasonCode: number): Promise<void> {
    const { certificateInfo } = await import('./cert-info.ts');
    this.revoked.push({ serial: certificateInfo(certPem).serialHex, reasonCode });
  }
}

describe('certificate lifecycle against recorded CA answers, with a fake clock', () => {
  let dir: string;
  let ca: LocalCaIssuer;
  let store: Store;
  let clock: FakeClock;
  let events: EventBus<AppEventMap>;
  let cipher: KeyCipher;
  let primary: ScriptedIssuer;
  let fallback: ScriptedIssuer;
  let manager: CertManager;
  let domain: CustomDomain;
  const seen: Array<{ event: string; payload: unknown }> = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fp-certmgr-'));
    ca = await createLocalCaIssuer({ dataDir: dir });
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  beforeEach(async () => {
    store = openSqliteStore(':memory:');
    clock = new FakeClock(Date.now());
    events = new EventBus<AppEventMap>();
    seen.length = 0;
    for (const e of ['cert.renewed', 'cert.failed', 'cert.revoked'] as const) events.on(e, (payload) => seen.push({ event: e, payload }));
    cipher = loadKeyCipher({ dataDir: dir, masterKey: randomBytes(32).toString('base64') });
    primary = new ScriptedIssuer('https://ca-one.test/dir', ca);
    fallback = new ScriptedIssuer('https://ca-two.test/dir', ca);
    manager = new CertManager({ store, clock, events, cipher, issuer: primary, fallbackIssuer: primary === fallback ? undefined : fallback, random: () => 0.5 });
    const now = clock.now();
    await store.workspaces.create({ id: 'ws1', name: 'Shop', plan: 'business', createdAt: now });
    domain = {
      id: 'cd1', workspaceId: 'ws1', domain: hostnameUnchecked('cdp.shop.test'),
      hosts: { cdn: hostnameUnchecked('cdn.cdp.shop.test'), api: hostnameUnchecked('api.cdp.shop.test') },
      state: { kind: 'active' }, version: 1, zoneSerial: 1, nextCheckAt: null, checkAttempts: 0, sourceIds: [], createdAt: now, updatedAt: now,
    };
    assert.deepEqual(await store.domains.create(domain, { at: now, from: null, to: 'active', reason: 'test', message: 'test' }), { ok: true });
  });

  test('schedules renewal when a third of a 90-day lifetime remains, keyed by the certificate', async () => {
    const cert = await manager.obtain(domain, primary, null);
    const s = await store.renewals.get(domain.id);
    assert.equal(s?.certificateId, cert.id);
    assert.equal(s?.basis, 'lifetime');
    const lifetime = cert.notAfter - cert.notBefore;
    const backstop = cert.notAfter - lifetime / 3;
    assert.ok(s!.renewAt <= backstop && s!.renewAt >= backstop - lifetime * 0.05, `renewAt ${s!.renewAt} near ${backstop}`);
  });

  test('renews a due certificate: the new one supersedes the old, cert.renewed is emitted and the schedule follows it', async () => {
    const old = await manager.obtain(domain, primary, null);
    clock.advance(70 * 86_400_000);
    const [due] = await store.renewals.listDue(clock.now(), 10);
    assert.equal(due?.certificateId, old.id);
    await manager.renew(due!);
    const current = await store.certificates.currentFor(domain.id);
    assert.notEqual(current?.id, old.id);
    assert.equal((await store.certRecords.listForDomain(domain.id)).find((c) => c.id === old.id)?.status, 'superseded');
    assert.equal(seen[0]?.event, 'cert.renewed');
    assert.equal((await store.renewals.get(domain.id))?.certificateId, current?.id);
    assert.equal((await store.renewals.get(domain.id))?.attempts, 0);
  });

  test('a rateLimited renewal waits exactly for Retry-After and the old certificate stays current', async () => {
    const old = await manager.obtain(domain, primary, null);
    clock.advance(70 * 86_400_000);
    primary.failures.push(recorded('rateLimited'));
    await manager.renew((await store.renewals.listDue(clock.now(), 10))[0]!);
    const s = await store.renewals.get(domain.id);
    assert.equal(s?.renewAt, clock.now() + 1_800_000);
    assert.equal(s?.lastError?.reason, 'ca_rate_limited');
    assert.equal(s?.lastError?.retryable, true);
    assert.equal((await store.certificates.currentFor(domain.id))?.id, old.id);
    assert.deepEqual((seen[0]?.payload as { phase: string }).phase, 'renewal');
    clock.advance(1_799_999);
    assert.equal((await store.renewals.listDue(clock.now(), 10)).length, 0, 'not due one millisecond early');
  });

  for (const [name, reason, actor] of [['caa', 'caa_forbids', 'customer'], ['dns', 'dns_validation_failed', 'customer'], ['malformed', 'issuance_failed', 'operator'], ['connection', 'ca_unreachable', 'operator']] as const) {
    test(`a recorded ${name} problem becomes reason ${reason}, for the ${actor} to act on`, async () => {
      await manager.obtain(domain, primary, null);
      clock.advance(70 * 86_400_000);
      primary.failures.push(recorded(name));
      await manager.renew((await store.renewals.listDue(clock.now(), 10))[0]!);
      const s = await store.renewals.get(domain.id);
      assert.equal(s?.lastError?.reason, reason);
      assert.equal(reasonInfo(s!.lastError!.reason as never).actor, actor);
      assert.ok(s!.renewAt > clock.now() && s!.renewAt <= clock.now() + 60_000, 'first retry within a minute');
    });
  }

  test('switches to the fallback CA after two failures the customer cannot fix, and sends no replaces there', async () => {
    await manager.obtain(domain, primary, null);
    clock.advance(70 * 86_400_000);
    primary.failures.push(recorded('connection'), recorded('connection'));
    for (let i = 0; i < 3; i++) {
      const due = (await store.renewals.listDue(clock.now() + 86_400_000, 10))[0]!;
      clock.advance(Math.max(0, due.renewAt - clock.now()));
      await manager.renew(due);
    }
    assert.equal(primary.calls.length, 3, 'the first certificate and two failed renewals');
    assert.equal(fallback.calls.length, 1);
    assert.equal(fallback.calls[0]?.replaces, undefined);
    assert.equal((await store.certificates.currentFor(domain.id))?.directoryUrl, 'https://ca-two.test/dir');
  });

  test('stays on the primary CA when the customer must act (CAA): another CA would be refused too', () => {
    assert.equal(manager.issuerFor(5, 'caa_forbids'), primary);
    assert.equal(manager.issuerFor(5, 'ca_unreachable'), fallback);
    assert.equal(manager.issuerFor(1, 'ca_unreachable'), primary);
  });

  test('refuses a sixth certificate for the same names within a week before asking the CA', async () => {
    const budget = new CaBudget(store.acmeOrders);
    const limited = new CertManager({ store, clock, events, cipher, issuer: primary, budget });
    for (let i = 0; i < 5; i++) await limited.obtain(domain, primary, null);
    const callsBefore = primary.calls.length;
    await assert.rejects(limited.obtain(domain, primary, null), (err: AppError) => {
      assert.equal(err.code, 'ERR_CERTS_BUDGET_EXHAUSTED');
      assert.equal(err.details?.['limit'], 'duplicate_certificates');
      assert.ok((err.details?.['retryAfterMs'] as number) > 0);
      return true;
    });
    assert.equal(primary.calls.length, callsBefore, 'no order reached the CA');
    clock.advance(7 * 86_400_000 + 1);
    await limited.obtain(domain, primary, null);
  });

  test('resumes an order left open by a stopped process with its journaled key instead of opening another', async () => {
    const stuck = new ScriptedIssuer(primary.id, ca);
    stuck.issue = async (names, opts = {}) => {
      stuck.calls.push(opts);
      await opts.journal?.orderCreated('https://ca-one.test/order/7');
      await opts.journal?.keyCreated('-----BEGIN PRIVATE KEY-----\nresume-me\n-----END PRIVATE KEY-----\n');
      throw new Error('process killed');
    };
    // Simulate the crash: the order stays open in the journal (finish never ran).
    const crashing = new CertManager({ store, clock, events, cipher, issuer: stuck });
    const finish = store.acmeOrders.finish;
    store.acmeOrders.finish = async () => {};
    await assert.rejects(crashing.obtain(domain, stuck, null));
    store.acmeOrders.finish = finish;
    assert.equal((await store.acmeOrders.listOpen()).length, 1);
    await manager.obtain(domain, primary, null);
    assert.deepEqual(primary.calls[0]?.resume, { orderUrl: 'https://ca-one.test/order/7', keyPem: '-----BEGIN PRIVATE KEY-----\nresume-me\n-----END PRIVATE KEY-----\n' });
    assert.equal((await store.acmeOrders.listOpen()).length, 0);
    assert.equal((await store.acmeOrders.countCreatedSince(primary.id, 0)), 1, 'one order in the journal, not two');
  });

  test('revokes the certificates of a removed domain with reason cessationOfOperation and deletes their keys', async () => {
    const first = await manager.obtain(domain, primary, null);
    const second = await manager.obtain(domain, primary, first);
    await store.domains.transition(domain.id, 1, { kind: 'removed' }, { at: clock.now(), from: 'active', to: 'removed', reason: 'removed', message: '' }, { nextCheckAt: null, checkAttempts: 0 });
    assert.equal(await manager.revokeOrphans(), 2);
    assert.deepEqual(primary.revoked.map((r) => r.reasonCode), [5, 5]);
    assert.deepEqual(new Set(primary.revoked.map((r) => r.serial)), new Set([first.serialHex, second.serialHex]));
    for (const c of await store.certRecords.listForDomain(domain.id)) {
      assert.equal(c.status, 'revoked');
      assert.equal(c.keySealed, '');
    }
    assert.equal(await store.renewals.get(domain.id), undefined);
    assert.equal(seen.filter((e) => e.event === 'cert.revoked').length, 2);
    assert.equal(await manager.revokeOrphans(), 0, 'nothing left to revoke');
  });
});
