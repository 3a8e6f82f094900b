/**
 * Shared fixtures of the ACME tests: a DNS-01 publisher that a loopback TXT responder serves to
 * Pebble's validation authority, an in-memory account store, and a Pebble started per suite.
 * Not part of the capability's surface.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import { AppError, parseHostname, type Hostname } from '../core/index.ts';
import { startPebble, type Pebble } from '../../test/peers/index.ts';
import type { AcmeAccountStore, Dns01Publisher } from './types.ts';

/** A parsed hostname; throws on an invalid one (test input only). */
export function host(s: string): Hostname {
  const r = parseHostname(s);
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

/** The `AppError` `p` rejects with; fails the test when it resolves or rejects with anything else. */
export async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the promise to reject');
}

/** The TXT values currently published, by record name: what the DNS responder serves. */
export class RecordingPublisher implements Dns01Publisher {
  readonly live = new Map<string, Set<string>>();
  readonly published: string[] = [];
  /** Names whose records the responder answers with a wrong value, to make validation fail. */
  readonly corrupt = new Set<string>();

  async publish(name: Hostname, value: string): Promise<void> {
    const values = this.live.get(name) ?? new Set<string>();
    values.add(value);
    this.live.set(name, values);
    this.published.push(name);
  }

  async withdraw(name: Hostname, value: string): Promise<void> {
    this.live.get(name)?.delete(value);
    if (this.live.get(name)?.size === 0) this.live.delete(name);
  }

  answer(name: string): string[] {
    if (this.corrupt.has(name)) return ['not-the-key-authorization'];
    return [...(this.live.get(name) ?? [])];
  }
}

/** An {@link AcmeAccountStore} in memory that also lists every save. */
export class MemoryAccountStore implements AcmeAccountStore {
  readonly saved: Array<{ directoryUrl: string; accountUrl: string }> = [];
  private readonly accounts = new Map<string, { accountKeyPem: string; accountUrl: string }>();

  async load(directoryUrl: string) {
    return this.accounts.get(directoryUrl) ?? null;
  }

  async save(directoryUrl: string, v: { accountKeyPem: string; accountUrl: string }): Promise<void> {
    this.accounts.set(directoryUrl, v);
    this.saved.push({ directoryUrl, accountUrl: v.accountUrl });
  }
}

/**
 * A UDP DNS server on loopback answering TXT queries with exactly what `publisher` holds
 * (NXDOMAIN when it holds nothing) and every other type with an empty NOERROR.
 */
export async function startTxtResponder(publisher: RecordingPublisher): Promise<{ address: string; close(): Promise<void> }> {
  const socket: Socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return; // Not DNS: nothing to answer.
    }
    const question = query.questions?.[0];
    if (question === undefined) return;
    const values = question.type === 'TXT' ? publisher.answer(question.name.toLowerCase()) : [];
    const nxdomain = question.type === 'TXT' && values.length === 0;
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id ?? 0,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (nxdomain ? 3 : 0),
      questions: [question],
      answers: values.map((data) => ({ type: 'TXT' as const, name: question.name, ttl: 0, data })),
    });
    socket.send(response, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${socket.address().port}`,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** What {@link pebbleFixture} holds once its `before` hook ran. */
export interface PebbleFixture {
  readonly publisher: RecordingPublisher;
  pebble: Pebble | null;
  closeDns(): Promise<void>;
}

/**
 * A Pebble (no nonce rejection, no authorization reuse unless `env` says otherwise) answered by
 * its own TXT responder, started in `before` unless `skip` and stopped in `after` of the
 * enclosing suite.
 */
export function pebbleFixture(opts: { skip?: boolean; env?: Record<string, string>; domainBlocklist?: string[] } = {}): PebbleFixture {
  const fx: PebbleFixture = { publisher: new RecordingPublisher(), pebble: null, closeDns: async () => {} };
  before(async () => {
    if (opts.skip) return;
    const dns = await startTxtResponder(fx.publisher);
    fx.closeDns = dns.close;
    fx.pebble = await startPebble({
      dnsServer: dns.address,
      env: { PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0', ...opts.env },
      ...(opts.domainBlocklist ? { domainBlocklist: opts.domainBlocklist } : {}),
    });
  });
  after(async () => {
    await fx.pebble?.stop();
    await fx.closeDns();
  });
  return fx;
}
