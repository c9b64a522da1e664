/**
 * CSV in and out. Writing uses csv-stringify with the fixed column order of
 * columns.ts. Reading (compare, HTML report, notebook) uses a small RFC 4180
 * parser: csv-parse is not among the installed packages, and the files read
 * here are the ones csv-stringify wrote (quotes doubled, fields with commas,
 * quotes or newlines quoted).
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { writeFileAtomic } from '../util/atomic.js';
import { ReshootError } from '../util/errors.js';
import { COLUMN_NAMES, type ValidationRow } from './columns.js';

/** CSV text of rows in the given column order (default: the validation columns). */
export function toCsv(rows: Record<string, string | number>[], columns: readonly string[] = COLUMN_NAMES): string {
  return stringify(
    rows.map((r) => Object.fromEntries(columns.map((c) => [c, r[c] ?? '']))),
    { header: true, columns: [...columns] },
  );
}

/** Writes the validation CSV atomically (refuses to replace an existing file unless overwrite). */
export async function writeValidationCsv(path: string, rows: ValidationRow[], opts: { overwrite?: boolean } = {}): Promise<void> {
  await writeFileAtomic(path, toCsv(rows), opts);
}

/** Parses CSV text into records keyed by the header. Numbers stay strings. */
export function parseCsv(text: string): Record<string, string>[] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let i = 0;
  let quoted = false;
  const src = text.replace(/^\uFEFF/, '');
  while (i < src.length) {
    const ch = src[i];
    if (quoted) {
      if (ch === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
      i++;
    } else if (ch === ',') {
      record.push(field);
      field = '';
      i++;
    } else if (ch === '\n' || ch === '\r') {
      record.push(field);
      field = '';
      records.push(record);
      record = [];
      i += ch === '\r' && src[i + 1] === '\n' ? 2 : 1;
    } else {
      field += ch;
      i++;
    }
  }
  if (quoted) throw new ReshootError('malformed CSV: unterminated quoted field');
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  const nonEmpty = records.filter((r) => !(r.length === 1 && r[0] === ''));
  if (nonEmpty.length === 0) return [];
  const [header, ...body] = nonEmpty;
  return body.map((r, n) => {
    if (r.length !== header.length) throw new ReshootError(`malformed CSV: row ${n + 2} has ${r.length} fields, the header ${header.length}`);
    return Object.fromEntries(header.map((h, k) => [h, r[k]]));
  });
}

/** Reads a CSV file with a clear error when it is missing or malformed. */
export function readCsv(path: string): Record<string, string>[] {
  if (!existsSync(path)) throw new ReshootError(`CSV file ${path} not found`);
  try {
    return parseCsv(readFileSync(path, 'utf8'));
  } catch (err) {
    if (err instanceof ReshootError) throw new ReshootError(`${path}: ${err.message}`);
    throw err;
  }
}

/** Newest `*-<kind>.csv` in `dir` by name (names start with a sortable UTC timestamp), or undefined. */
export function latestResult(dir: string, kind: 'validation' | 'kernels'): string | undefined {
  if (!existsSync(dir)) return undefined;
  const names = readdirSync(dir)
    .filter((n) => n.endsWith(`-${kind}.csv`) && /^\d{8}T\d{6}Z/.test(n))
    .sort();
  return names.length ? join(dir, names[names.length - 1]) : undefined;
}

/** UTC timestamp for file names: 20261125T131500Z. */
export function fileTimestamp(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}
