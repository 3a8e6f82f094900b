import { connect } from 'node:tls';
import type { Running } from '../../src/app/index.ts';
import { waitUntil } from '../peers/index.ts';

/** Marks each new custom domain delegated as soon as it is created: these tests have no parent zone. */
export function assumeDelegated(fp: Running): void {
  fp.events.on('domain.created', ({ domain }) => {
    void fp.store.domains.get(domain.id).then((d) => d && fp.control.apply(d, { type: 'delegation_confirmed' }, { nextCheckAt: Date.now(), checkAttempts: 0 }));
  });
}

/** Creates a workspace, an analytics.js source and the custom domain `name`; resolves to the domain id. */
export async function requestDomain(fp: Running, name: string): Promise<string> {
  const ws = await fp.control.createWorkspace({ name: `ws ${name}`, plan: 'business' });
  const src = await fp.control.createSource(ws.id, { name: 'site', type: 'analytics.js' });
  return (await fp.control.requestDomain(ws.id, { domain: name, sourceIds: [src.id] })).id;
}

/** Waits until the domain is active; fails fast when it fails. */
export async function waitActive(fp: Running, id: string, timeoutMs = 20_000): Promise<void> {
  await waitUntil(`domain ${id} active`, async () => {
    const d = await fp.store.domains.get(id);
    if (d?.state.kind === 'failed') throw new Error(`issuance failed: ${JSON.stringify(d.state)}`);
    return d?.state.kind === 'active';
  }, { timeoutMs, intervalMs: 50 });
}

/** One TLS handshake with the edge for `servername`: the served certificate's serial and validity. */
export function handshake(port: number, servername: string, rootPem: string): Promise<{ authorized: boolean; serialHex: string; notAfter: number; error: string | null }> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port, servername, ca: [rootPem], ALPNProtocols: ['http/1.1'] }, () => {
      const peer = sock.getPeerCertificate();
      resolve({ authorized: sock.authorized, serialHex: peer.serialNumber.toLowerCase(), notAfter: Date.parse(peer.valid_to), error: sock.authorizationError?.toString() ?? null });
      sock.end();
    });
    sock.setTimeout(5_000, () => sock.destroy(new Error('TLS handshake timeout')));
    sock.on('error', reject);
  });
}
