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
