/**
 * Executes every notebook under notebooks/ headless with the committed tslab
 * kernel spec (jupyter/kernels/tslab) and exports an HTML copy of each.
 * Executed copies go to notebooks/executed/ (git-ignored; not a dot-folder, so
 * a notebook server can open them). Each exported HTML is then opened in
 * headless Chromium: every chart must render with a title and titled axes
 * (src/notebook/html-check.ts), and a screenshot of the page top lands next to
 * it (NAME.png). RESHOOT_NOTEBOOK_CHECK=0 skips the browser check. Runs all
 * notebooks even when one fails (nbconvert alone stops at the first), then
 * exits 1 if any cell of any notebook failed. A notebook's HTML export and browser check run while the
 * next notebook executes.
 *
 *   npm run notebooks [-- name-filter] [--set NAME=VALUE ...] [--out DIR]
 *
 * --set runs the notebooks with another value for a name of their parameters
 * cell (src/notebook/params.ts), e.g. a clip of yours:
 *   npm run notebooks -- 04 --set CLIP_PATH=/tmp/mine.mp4 --set FRAMES=24
 * (a value that is not JSON is a string). --out writes the executed copies,
 * HTML and screenshots to DIR instead of notebooks/executed/.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chartProblems, renderedCharts, PageInspector } from '../src/notebook/html-check.js';
import { parseAssignment, withParameters, type NotebookJson } from '../src/notebook/params.js';

const root = process.cwd();
const notebooksDir = join(root, 'notebooks');
const browserCheck = process.env.RESHOOT_NOTEBOOK_CHECK !== '0';
const jupyter = process.env.JUPYTER ?? (existsSync('/usr/bin/jupyter') ? '/usr/bin/jupyter' : 'jupyter');
let filter: string | undefined;
let outDir = join(notebooksDir, 'executed');
const overrides: [string, string][] = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--set' || a === '--out') {
    const v = args[++i];
    if (v === undefined) {
      console.error(`run-notebooks: ${a} needs a value`);
      process.exit(2);
    }
    if (a === '--out') outDir = resolve(v);
    else {
      try {
        overrides.push(parseAssignment(v));
      } catch (e) {
        console.error(`run-notebooks: ${(e as Error).message}`);
        process.exit(2);
      }
    }
  } else if (a.startsWith('--')) {
    console.error(`run-notebooks: unknown option ${a} (known: --set NAME=VALUE, --out DIR)`);
    process.exit(2);
  } else filter = a;
}

const probe = spawnSync(jupyter, ['nbconvert', '--version'], { encoding: 'utf8' });
if (probe.status !== 0) {
  console.error(
    `run-notebooks: jupyter nbconvert not found (${jupyter}). Install it with: apt-get install -y --no-install-recommends jupyter-nbconvert jupyter-client`,
  );
  process.exit(2);
}

const notebooks = readdirSync(notebooksDir)
  .filter((f) => f.endsWith('.ipynb') && (!filter || f.includes(filter)))
  .sort();
if (notebooks.length === 0) {
  console.error('run-notebooks: no notebooks found');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

const env = { ...process.env, JUPYTER_PATH: join(root, 'jupyter') };
const failed: string[] = [];
let inspector: PageInspector | undefined;
let checks: Promise<void> = Promise.resolve();
// With --set, each notebook runs from a copy whose parameters cell carries the values (the kernel starts in the
// project root whatever the notebook's folder, so the copy's imports resolve as the original's).
const paramDir = overrides.length ? mkdtempSync(join(tmpdir(), 'reshoot-notebook-params-')) : null;
process.on('exit', () => {
  if (paramDir) rmSync(paramDir, { recursive: true, force: true });
});
for (const nb of notebooks) {
  const started = Date.now();
  let source = join(notebooksDir, nb);
  if (paramDir) {
    try {
      const json = withParameters(JSON.parse(readFileSync(source, 'utf8')) as NotebookJson, overrides);
      source = join(paramDir, nb);
      writeFileSync(source, JSON.stringify(json, null, 1));
    } catch (e) {
      failed.push(nb);
      console.error(`FAIL ${nb}: ${(e as Error).message}`);
      continue;
    }
    console.log(`     ${nb} with ${overrides.map(([k, v]) => `${k} = ${v}`).join(', ')}`);
  }
  const run = await runAsync(
    jupyter,
    [
      'nbconvert', '--to', 'notebook', '--execute',
      '--ExecutePreprocessor.kernel_name=tslab',
      '--ExecutePreprocessor.timeout=600',
      '--output-dir', outDir,
      source,
    ],
  );
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (run.status !== 0) {
    failed.push(nb);
    console.error(`FAIL ${nb} (${seconds} s)\n${run.stderr.split('\n').slice(-40).join('\n')}`);
    continue;
  }
  // The HTML export and the browser check of this notebook run while the next one executes (one after another
  // among themselves): the kernel keeps about one core busy, and they are ~10 s per notebook.
  checks = checks.then(() => exportAndCheck(nb, seconds));
}
await checks;

async function exportAndCheck(nb: string, seconds: string): Promise<void> {
  const html = await runAsync(jupyter, ['nbconvert', '--to', 'html', '--output-dir', outDir, join(outDir, nb)]);
  if (html.status !== 0) {
    failed.push(`${nb} (html export)`);
    console.error(`FAIL ${nb} html export\n${html.stderr}`);
    return;
  }
  const htmlFile = join(outDir, nb.replace(/\.ipynb$/, '.html'));
  if (browserCheck) {
    // One Chromium for the whole run; each page loads once for its DOM and its screenshot.
    let dom: string;
    try {
      inspector ??= await PageInspector.open();
      dom = await inspector.inspect(htmlFile, htmlFile.replace(/\.html$/, '.png'));
    } catch (e) {
      failed.push(`${nb} (browser check)`);
      console.error(`FAIL ${nb}: the browser check failed: ${(e as Error).message}`);
      return;
    }
    const charts = renderedCharts(dom);
    const problems = chartProblems(charts);
    if (problems.length) {
      failed.push(`${nb} (charts)`);
      console.error(`FAIL ${nb}: ${problems.length} unreadable chart(s)\n  ${problems.join('\n  ')}`);
      return;
    }
    console.log(`     ${nb}: ${charts.length} charts rendered, all titled`);
  }
  console.log(`ok   ${nb} (${seconds} s) -> ${join(outDir, nb.replace(/\.ipynb$/, '.html'))}`);
}

/** spawnSync's result, without blocking the event loop (the previous notebook's check runs meanwhile). */
function runAsync(cmd: string, args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr += d;
      if (stderr.length > 1_000_000) stderr = stderr.slice(-500_000);
    });
    child.on('error', (e) => resolvePromise({ status: null, stderr: `${stderr}\n${e.message}` }));
    child.on('close', (status) => resolvePromise({ status, stderr }));
  });
}

await inspector?.close();
console.log(`notebooks: ${notebooks.length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length === 0 ? 0 : 1);
