import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminRoutes } from '../control/index.ts';
import { startAdminFixture } from '../control/test-fixture.ts';
import { COMMANDS, type Helpers } from './api-commands.ts';

test('every admin API route has a CLI command and every command calls an existing route', async () => {
  const f = await startAdminFixture();
  try {
    const routes = adminRoutes({ control: f.control, store: f.store, clock: f.clock }).map((r) => ({
      key: `${r.method} ${r.path}`, method: r.method, pattern: new RegExp(`^${r.path.replace(/:\w+/g, '[^/]+')}$`),
    }));
    const h: Helpers = { one: (n) => `x-${n}`, opt: (n) => (n === 'workspace' ? 'ws_x' : undefined), all: (n) => [`x-${n}`], ws: () => '/api/v1/workspaces/ws_x', id: () => 'id_x' };
    const covered = new Set<string>();
    for (const [name, build] of Object.entries(COMMANDS)) {
      const r = build(h);
      const path = r.path.split('?')[0]!;
      const route = routes.find((x) => x.method === r.method && x.pattern.test(path));
      assert.ok(route, `${name} → ${r.method} ${path} is no route`);
      covered.add(route.key);
    }
    covered.add('GET /api/v1/audit'); // `audit` without --workspace
    assert.deepEqual(routes.map((r) => r.key).filter((k) => !covered.has(k)), []);
  } finally {
    await f.close();
  }
});

test('command-line mistakes get a one-line error and the usage, exit code 2, no stack trace', async () => {
  const { execFile } = await import('node:child_process');
  const { join } = await import('node:path');
  const bin = join(import.meta.dirname, '..', '..', 'bin', 'firstparty.mjs');
  const run = (args: string[]) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const env = { ...process.env, FIRSTPARTY_ADMIN_LISTEN: '127.0.0.1:9' };
    execFile(process.execPath, [bin, ...args], { env }, (err, _stdout, stderr) => resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stderr }));
  });
  for (const [args, pattern] of [
    [['workspace', 'create'], /--name is required/],
    [['workspace', 'create', '--nmae', 'x'], /--name is required|unknown option --nmae/],
    [['workspace', 'create', '--name', 'x', '--extra', '1'], /unknown option --extra/],
    [['domain', 'wait', '--workspace', 'w', '--id', 'c', '--timeout', 'abc'], /--timeout must be a positive number/],
    [['source', 'create', '--workspace'], /--workspace needs a value/],
  ] as const) {
    const r = await run([...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.match(r.stderr, /usage:/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  const down = await run(['workspace', 'create', '--name', 'x']);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot reach the admin API at http:\/\/127\.0\.0\.1:9/);
});
