/**
 * The interactive path as a user takes it: Debian's jupyter-notebook server
 * with the committed tslab kernel spec, started on a free port; notebook 00's
 * cells run one by one through the kernel's WebSocket channel (what the
 * browser does); the server is stopped. Needs `apt-get install
 * jupyter-notebook` (.ci/run installs it); a missing server is a failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServerKernel, startNotebookServer } from '../../src/notebook/server.js';

test('jupyter-notebook serves the tslab kernel and runs notebook 00 through it, then stops', { timeout: 400_000 }, async () => {
  const server = await startNotebookServer({ root: process.cwd() });
  try {
    const specs = (await (await fetch(`${server.url}/api/kernelspecs?token=${server.token}`)).json()) as { kernelspecs: Record<string, unknown> };
    assert.ok('tslab' in specs.kernelspecs, `the server found the committed kernel spec (has ${Object.keys(specs.kernelspecs).join(', ')})`);
    // The executed copies' folder is listed by the contents API (a dot-folder would be refused).
    const listing = await fetch(`${server.url}/api/contents/notebooks?token=${server.token}`);
    assert.equal(listing.status, 200);
    const kernel = await ServerKernel.start(server);
    try {
      const nb = JSON.parse(readFileSync(join(process.cwd(), 'notebooks', '00-video.ipynb'), 'utf8')) as { cells: { cell_type: string; source: string[] | string }[] };
      const code = nb.cells.filter((c) => c.cell_type === 'code').map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source));
      let charts = 0;
      for (const [i, src] of code.entries()) {
        const r = await kernel.execute(src);
        assert.equal(r.status, 'ok', `code cell ${i}: ${r.error}`);
        charts += r.html.filter((h) => h.includes('class="reshoot-plot"')).length;
      }
      assert.ok(charts >= 1, 'the notebook displayed at least one chart');
      // A deliberate type error fails the cell: the kernel really type-checks.
      const bad = await kernel.execute("const n: number = 'text';");
      assert.equal(bad.status, 'error');
    } finally {
      await kernel.shutdown();
    }
  } finally {
    await server.stop();
  }
  assert.notEqual(server.process.exitCode ?? server.process.signalCode, null, 'the server process ended');
});
