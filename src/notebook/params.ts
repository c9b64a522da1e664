/**
 * Runs a notebook with other parameter values (as papermill does for Python,
 * which has no TypeScript kernel): the values replace the initialisers of the
 * names declared in the cell tagged `parameters`, so the notebook's own code
 * runs unchanged on, e.g., a user's clip. `scripts/run-notebooks.ts --set`.
 */
import { ReshootError } from '../util/errors.js';

/** The parts of an .ipynb this touches. */
export interface NotebookJson {
  cells: { cell_type: string; metadata?: { tags?: string[] }; source: string[] | string }[];
  [key: string]: unknown;
}

/**
 * `NAME=VALUE` -> [name, TypeScript literal]. A VALUE that parses as JSON (a
 * number, true, an array, an object, "a string") is used as written; anything
 * else is a string (`CLIP_PATH=/tmp/a.mp4` -> "/tmp/a.mp4").
 */
export function parseAssignment(arg: string): [string, string] {
  const m = /^([A-Za-z_$][\w$]*)=(.*)$/s.exec(arg);
  if (!m) throw new ReshootError(`--set expects NAME=VALUE, got "${arg}"`);
  let literal: string;
  try {
    JSON.parse(m[2]);
    literal = m[2];
  } catch {
    literal = JSON.stringify(m[2]);
  }
  return [m[1], literal];
}

/** End of the initialiser that starts at `from`: the first `,` or `;` (or line end) outside brackets and strings. */
function initialiserEnd(s: string, from: number): number {
  let depth = 0;
  let quote = '';
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (depth === 0 && (c === ',' || c === ';' || c === '\n')) return i;
    else if (depth === 0 && c === '/' && s[i + 1] === '/') return i;
  }
  return s.length;
}

/**
 * Source of a parameters cell with `name`'s initialiser replaced by `literal`. The name must be declared
 * there (`const NAME = ...` or `, NAME = ...` in a const list, with or without a type annotation).
 */
export function setParameter(source: string, name: string, literal: string): string {
  const decl = new RegExp(`(\\bconst\\s+|,\\s*)${name.replace(/\$/g, '\\$')}\\s*(:[^=\\n]+)?=\\s*`);
  const m = decl.exec(source);
  if (!m) throw new ReshootError(`the parameters cell declares no "${name}"`);
  const start = m.index + m[0].length;
  const end = initialiserEnd(source, start);
  return source.slice(0, start) + literal + (source[end - 1] === ' ' ? ' ' : '') + source.slice(end);
}

/** A copy of `nb` whose parameters cell has the given values (name -> TypeScript literal). */
export function withParameters(nb: NotebookJson, values: [string, string][]): NotebookJson {
  const copy = JSON.parse(JSON.stringify(nb)) as NotebookJson;
  const cell = copy.cells.find((c) => c.cell_type === 'code' && c.metadata?.tags?.includes('parameters'));
  if (!cell) throw new ReshootError('the notebook has no code cell tagged "parameters"');
  let source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
  for (const [name, literal] of values) source = setParameter(source, name, literal);
  cell.source = source.split(/(?<=\n)/);
  return copy;
}
