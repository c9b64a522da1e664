/**
 * `npm run lab [-- --port=8888 --ip=0.0.0.0]`: starts Debian's classic notebook
 * server (jupyter-notebook) rooted at the project, with the committed tslab
 * kernel spec. Open notebooks/ for the sources, notebooks/executed/ for the
 * copies `npm run notebooks` executed. Extra arguments go to jupyter-notebook.
 */
import { spawn } from 'node:child_process';
import { findNotebookServer, notebookServerArgs } from '../src/notebook/server.js';
import { isReshootError } from '../src/util/errors.js';

try {
  const exe = findNotebookServer();
  const { args, env } = notebookServerArgs({ root: process.cwd(), openBrowser: true });
  const child = spawn(exe, [...args.filter((a) => a !== '--ip=127.0.0.1' || !process.argv.some((x) => x.startsWith('--ip'))), ...process.argv.slice(2)], { env, stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  child.on('exit', (code) => process.exit(code ?? 1));
} catch (err) {
  if (!isReshootError(err)) throw err;
  console.error(`lab: ${err.message}`);
  process.exit(2);
}
