/** contacts.json: what `reshoot contacts` writes and `reshoot footlock --contacts` reads (format in README.md). */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeJsonAtomic } from '../util/atomic.js';
import { ReshootError } from '../util/errors.js';
import type { Contacts } from './contacts.js';

export async function writeContacts(path: string, contacts: Contacts, opts: { overwrite?: boolean } = {}): Promise<void> {
  await writeJsonAtomic(path, contacts, opts);
}

export async function readContacts(path: string): Promise<Contacts> {
  if (!existsSync(path)) throw new ReshootError(`contacts file ${path} not found`);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ReshootError(`contacts file ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const c = value as Partial<Contacts>;
  if (c?.schema !== 'reshoot.contacts/1') throw new ReshootError(`${path} is not a reshoot contacts file (schema reshoot.contacts/1)`);
  for (const side of ['left', 'right'] as const) {
    const f = c.feet?.[side];
    if (!f || !Array.isArray(f.contact) || f.contact.length !== c.frames || !Array.isArray(f.spans)) {
      throw new ReshootError(`contacts file ${path} is malformed: feet.${side} needs one contact entry per frame and a spans list`);
    }
  }
  return c as Contacts;
}
