import { resolve } from 'node:path';
import {
  detectContacts,
  footLockVideo,
  readContacts,
  writeContacts,
  type AnkleSource,
  type ContactOptions,
  type Contacts,
} from '../../footlock/index.js';
import { readImageFrame, readPoseTrack } from '../../pose/index.js';
import { ReshootError } from '../../util/errors.js';
import { assertCanWrite, writeJsonAtomic } from '../../util/atomic.js';
import { withProgress } from '../progress.js';

export interface ContactsCliOptions {
  out: string;
  speedOn?: number;
  speedOff?: number;
  heightOn?: number;
  heightOff?: number;
  minContact?: number;
  fillGap?: number;
  maxInterpolate?: number;
  overwrite?: boolean;
}

function contactOptions(o: ContactsCliOptions | FootlockCliOptions): ContactOptions {
  return {
    speedOn: o.speedOn,
    speedOff: o.speedOff,
    heightOn: o.heightOn,
    heightOff: o.heightOff,
    minContact: o.minContact,
    fillGap: o.fillGap,
    maxInterpolate: o.maxInterpolate,
  };
}

function summary(c: Contacts): string[] {
  const fps = c.fps.num / c.fps.den;
  return (['left', 'right'] as const).map((side) => {
    const f = c.feet[side];
    const on = f.contact.filter((v) => v === true).length;
    const none = f.contact.filter((v) => v === null).length;
    return `${side.padEnd(5)} ${f.spans.length} contacts, ${on}/${c.frames} frames planted (${((on / fps) || 0).toFixed(2)} s)${none ? `, ${none} frames undecided (ankle unknown)` : ''}`;
  });
}

export async function contactsCommand(poses: string, opts: ContactsCliOptions): Promise<void> {
  const out = resolve(opts.out);
  assertCanWrite(out, { overwrite: opts.overwrite });
  const track = await readPoseTrack(resolve(poses));
  const contacts = detectContacts(track, contactOptions(opts));
  await writeContacts(out, contacts, { overwrite: opts.overwrite });
  process.stdout.write(`${[`contacts of ${contacts.frames} frames -> ${out}`, ...summary(contacts)].join('\n')}\n`);
}

export interface FootlockCliOptions extends Omit<ContactsCliOptions, 'out'> {
  out: string;
  poses: string;
  mask?: string;
  plate?: string;
  contacts?: string;
  strength: number;
  ankles: string;
  redetected?: string;
  similarity?: boolean;
  method?: string;
  stiffness?: number;
  plan?: string;
}

export async function footlockCommand(video: string, opts: FootlockCliOptions): Promise<void> {
  if (!(opts.strength >= 0 && opts.strength <= 1)) throw new ReshootError(`--strength must be between 0 and 1; got ${opts.strength}`);
  if (opts.method !== undefined && opts.method !== 'global' && opts.method !== 'chain') throw new ReshootError(`--method must be global or chain; got "${opts.method}"`);
  if (opts.ankles !== 'driving' && opts.ankles !== 'redetect') throw new ReshootError(`--ankles must be driving or redetect; got "${opts.ankles}"`);
  const out = resolve(opts.out);
  assertCanWrite(out, { overwrite: opts.overwrite });
  if (opts.plan) assertCanWrite(resolve(opts.plan), { overwrite: opts.overwrite });
  const poses = await readPoseTrack(resolve(opts.poses));
  const contacts = opts.contacts ? await readContacts(resolve(opts.contacts)) : undefined;
  if (opts.plate && !opts.mask) throw new ReshootError('--plate needs --mask (without a mask the whole frame moves)');
  const plate = opts.plate ? await readImageFrame(resolve(opts.plate)) : undefined;
  if (opts.redetected && opts.ankles !== 'redetect') throw new ReshootError('--redetected is the pose track of <video> for --ankles redetect');
  const redetected = opts.redetected ? await readPoseTrack(resolve(opts.redetected)) : undefined;
  const result = await withProgress('footlock', (onProgress) =>
    footLockVideo(resolve(video), out, {
      poses,
      contacts,
      contactOptions: contactOptions(opts),
      lock: { strength: opts.strength, similarity: opts.similarity ?? false, method: opts.method as 'global' | 'chain' | undefined, stiffness: opts.stiffness },
      ankles: opts.ankles as AnkleSource,
      redetected,
      maskPath: opts.mask ? resolve(opts.mask) : undefined,
      plate,
      overwrite: opts.overwrite,
      onProgress,
    }),
  );
  if (opts.plan) {
    await writeJsonAtomic(
      resolve(opts.plan),
      {
        schema: 'reshoot.footlock-plan/1',
        source: resolve(video),
        ankles: opts.ankles,
        params: result.plan.params,
        frames: result.plan.matrices.map((m, t) => ({
          index: t,
          matrix: m,
          weights: [result.plan.weights.left[t], result.plan.weights.right[t]],
          anchors: [result.plan.anchors.left[t], result.plan.anchors.right[t]],
        })),
      },
      { overwrite: opts.overwrite },
    );
  }
  const maxShift = Math.max(0, ...result.plan.matrices.map((m) => Math.hypot(m[2], m[5])));
  const lines = [
    `foot-locked ${result.frames} frames -> ${out}`,
    ...summary(result.contacts),
    `ankles   ${opts.ankles}; strength ${opts.strength}; method ${result.plan.params.method}; ${opts.mask ? `person layer from the mask${opts.plate ? ', plate behind it' : ' (no plate: the old outline can show)'}` : 'no mask: the whole frame moves'}`,
    `largest translation ${maxShift.toFixed(2)} px`,
    `time     contacts+plan ${(result.planSeconds * 1000).toFixed(1)} ms, warp ${((result.warpSeconds * 1000) / Math.max(1, result.frames)).toFixed(2)} ms/frame`,
  ];
  if (opts.plan) lines.push(`plan     ${resolve(opts.plan)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
