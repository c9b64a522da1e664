/**
 * Executes every notebook under notebooks/ headless with the committed tslab
 * kernel spec (jupyter/kernels/tslab) and exports an HTML copy of each.
 * Executed copies go to notebooks/executed/ (git-ignored; not a dot-folder, so
 * a notebook server can open them). Each exported HTML is then opened in
 * headless Chromium: every chart must render with a title and titled axes
 * (src/notebook/html-check.ts), and a screenshot of the page top lands next to
 * it (NAME.png). RESHOOT_NOTEBOOK_CHECK=0 skips the browser check. Runs all
 * notebooks even when one fails (nbconvert alone stops at the first), then
 * exits 1 if any cell of any notebook failed.
 *
 *   npm run notebooks [-- name-filter]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { chartProblems, renderedCharts, renderedDom, screenshot } from '../src/notebook/html-check.js';

const root = process.cwd();
const notebooksDir = join(root, 'notebooks');
const outDir = join(notebooksDir, 'executed');
const browserCheck = process.env.RESHOOT_NOTEBOOK_CHECK !== '0';
const jupyter = process.env.JUPYTER ?? (existsSync('/usr/bin/jupyter') ? '/usr/bin/jupyter' : 'jupyter');
const filter = process.argv[2];

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
for (const nb of notebooks) {
  const started = Date.now();
  const run = spawnSync(
    jupyter,
    [
      'nbconvert', '--to', 'notebook', '--execute',
      '--ExecutePreprocessor.kernel_name=tslab',
      '--ExecutePreprocessor.timeout=600',
      '--output-dir', outDir,
      join(notebooksDir, nb),
    ],
    { env, encoding: 'utf8' },
  );
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (run.status !== 0) {
    failed.push(nb);
    console.error(`FAIL ${nb} (${seconds} s)\n${run.stderr.split('\n').slice(-40).join('\n')}`);
    continue;
  }
  const html = spawnSync(jupyter, ['nbconvert', '--to', 'html', '--output-dir', outDir, join(outDir, nb)], { env, encoding: 'utf8' });
  if (html.status !== 0) {
    failed.push(`${nb} (html export)`);
    console.error(`FAIL ${nb} html export\n${html.stderr}`);
    continue;
  }
  const htmlFile = join(outDir, nb.replace(/\.ipynb$/, '.html'));
  if (browserCheck) {
    const charts = renderedCharts(renderedDom(htmlFile));
    const problems = chartProblems(charts);
    screenshot(htmlFile, htmlFile.replace(/\.html$/, '.png'));
    if (problems.length) {
      failed.push(`${nb} (charts)`);
      console.error(`FAIL ${nb}: ${problems.length} unreadable chart(s)\n  ${problems.join('\n  ')}`);
      continue;
    }
    console.log(`     ${nb}: ${charts.length} charts rendered, all titled`);
  }
  console.log(`ok   ${nb} (${seconds} s) -> ${join('notebooks/executed', nb.replace(/\.ipynb$/, '.html'))}`);
}

console.log(`notebooks: ${notebooks.length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length === 0 ? 0 : 1);
