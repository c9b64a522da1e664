/**
 * The pipeline's one config object: a strict zod schema, three presets, and a
 * deep merge of user overrides onto a preset. Every stage can be switched off.
 * The resolved config is printed into the run's manifest.
 */
import * as z from 'zod';
import { smoothers, type SmootherName } from '../stabilize/index.js';
import { BACKGROUND_MODES, PLATE_METHODS } from '../composite/index.js';
import { parseSubjectRule } from '../pose/people.js';
import { ReshootError } from '../util/errors.js';

export const PRESETS = ['fast', 'balanced', 'quality'] as const;
export type PresetName = (typeof PRESETS)[number];

const unit = z.number().min(0).max(1);
// Derived from the registry, so a new smoother is one entry in src/stabilize.
const SMOOTHER_NAMES = Object.keys(smoothers) as [SmootherName, ...SmootherName[]];

export const PipelineConfigSchema = z.strictObject({
  preset: z.enum(PRESETS),
  stabilize: z.strictObject({
    enabled: z.boolean(),
    smoother: z.enum(SMOOTHER_NAMES),
    /** Moving-average window (frames). */
    window: z.int().min(1).max(1000),
    /** Crop budget of the l1 / constrained smoothers, as a zoom. */
    maxCropZoom: z.number().min(1).max(2),
  }),
  pose: z.strictObject({
    enabled: z.boolean(),
    model: z.enum(['movenet-thunder', 'movenet-lightning']),
    /** One Euro smoothing of the keypoints. */
    smoothing: z.boolean(),
    minScore: unit,
    /** Which tracked person is the subject: auto (largest, longest-visible) | largest | center | <x>,<y> (original pixels) | <track id>. */
    subject: z.string().refine(isSubjectRule, { message: 'must be auto, largest, center, <x>,<y> (pixels) or a track id' }),
    /** How decompose finds every person: 'detector' (NanoDet boxes, one call) or 'sweep' (pose-model sweeps). */
    people: z.enum(['detector', 'sweep']),
  }),
  masks: z.strictObject({
    enabled: z.boolean(),
    model: z.enum(['blazepose-full', 'selfie']),
    /** Feather radius of the composite mask, px. */
    feather: z.number().min(0).max(64),
    /** Temporal mask filter: weight of the previous mask moved by flow (0 = per-frame masks). 0.3: steadier edges on vtest (src/person-mask README "Temporal stability"). */
    temporal: z.number().min(0).lt(1),
  }),
  background: z.strictObject({
    /** What the output keeps around the subject (src/composite BACKGROUND_MODES): original (the input scene), plate (a frozen background), generated (the generator's whole frame). */
    mode: z.enum(BACKGROUND_MODES),
    /** How the plate is made: median (temporal median of sample frames, inpainted where never seen) or inpaint (one frame, person inpainted). */
    plate: z.enum(PLATE_METHODS),
    /** Frames sampled for the plate. */
    samples: z.int().min(1).max(500),
    /** Extra pixels around the subject's mask that the generated subject may change (the new subject can be a little larger than the old). */
    grow: z.int().min(0).max(64),
  }),
  segments: z.strictObject({
    count: z.int().min(1).max(64),
    overlap: z.int().min(0).max(120),
    minLength: z.int().min(1),
  }),
  generator: z.strictObject({
    /** passthrough | synthetic | subject-recolor | cmd:<command> | onnx:<model.onnx> | style:<name|folder> */
    spec: z.string().min(1),
    seed: z.int(),
    /** Seconds a cmd: generator may run per segment. */
    timeoutSeconds: z.number().positive(),
    /** Release model sessions between segments (lower peak memory, slower). */
    releaseBetweenSegments: z.boolean(),
    /** Working size (short side, px, multiple of 4) of generators that run below the frame size (style:). */
    size: z.int().min(16).max(4096).multipleOf(4),
    /** What a style: generator restyles: the whole frame, or the subject's crop pasted back through its mask (then it gets whole segments). */
    scope: z.enum(['frame', 'subject']),
    /** comfyui: generators: the workflow in ComfyUI's API format (`--workflow`). */
    workflow: z.string().min(1).optional(),
    /** wan-animate: generators: frames guiding each next clip, 1 or 5 (generate.py --refert_num; `--refert-num`). */
    refertNum: z.union([z.literal(1), z.literal(5)]).optional(),
  }),
  temporal: z.strictObject({
    enabled: z.boolean(),
    /** Weight of the flow-warped previous output where the flow is reliable; below 1 so the generator always contributes. */
    strength: z.number().min(0).lt(1),
    /**
     * Optical flow runs at this fraction of the frame size. 0.25 (fast, balanced) is ~3x faster than 0.5
     * (quality) and still cut E_warp by 60 % vs 67 % on vtest (bench/temporal.ts).
     */
    flowScale: z.number().min(0.1).max(1),
    /** Carry the previous output across segment seams instead of resetting. */
    carry: z.boolean(),
    /**
     * 'style': src/temporal's TEMPORAL_STYLE_PRESET (full-size flow, a two-band detail blend, contrast
     * restoration) for per-frame style generators: E_warp 0.27-0.33 of the raw output at gradient ratio
     * 0.975-0.996 on matta and matilde_perez (bench/temporal.ts --suite style), about 3.5x the CPU; its
     * flowScale replaces temporal.flowScale. 'default': the options above.
     */
    preset: z.enum(['default', 'style']),
  }),
  footlock: z.strictObject({
    enabled: z.boolean(),
    /** Share of the correction applied (0.7 = locked 70 %, unlocked 30 %). */
    strength: unit,
  }),
  blend: z.strictObject({
    ramp: z.enum(['cosine', 'linear', 'triangular']),
    colorMatch: z.boolean(),
  }),
  reshake: z.strictObject({ enabled: z.boolean() }),
  encode: z.strictObject({
    crf: z.int().min(0).max(51),
    preset: z.enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow']),
    audio: z.boolean(),
  }),
});

function isSubjectRule(s: string): boolean {
  try {
    parseSubjectRule(s);
    return true;
  } catch {
    return false;
  }
}

export type PipelineConfig = z.infer<typeof PipelineConfigSchema>;

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };
export type PipelineOverrides = DeepPartial<PipelineConfig>;

const BALANCED: PipelineConfig = {
  preset: 'balanced',
  stabilize: { enabled: true, smoother: 'l1', window: 30, maxCropZoom: 1.2 },
  pose: { enabled: true, model: 'movenet-thunder', smoothing: true, minScore: 0.3, subject: 'auto', people: 'detector' },
  masks: { enabled: true, model: 'blazepose-full', feather: 4, temporal: 0.3 },
  background: { mode: 'original', plate: 'median', samples: 25, grow: 6 },
  segments: { count: 3, overlap: 5, minLength: 10 },
  generator: { spec: 'passthrough', seed: 1, timeoutSeconds: 3600, releaseBetweenSegments: false, size: 384, scope: 'frame' },
  temporal: { enabled: true, strength: 0.6, flowScale: 0.25, carry: false, preset: 'default' },
  footlock: { enabled: true, strength: 0.7 },
  blend: { ramp: 'cosine', colorMatch: true },
  reshake: { enabled: true },
  encode: { crf: 18, preset: 'veryfast', audio: true },
};

/** What each preset changes relative to balanced, and why. */
const PRESET_DELTAS: Record<PresetName, PipelineOverrides> = {
  // Lightning pose (3x faster than thunder), selfie masks, fewer plate samples, fast encode.
  fast: {
    preset: 'fast',
    pose: { model: 'movenet-lightning' },
    masks: { model: 'selfie' },
    background: { samples: 15 },
    encode: { preset: 'superfast', crf: 20 },
  },
  balanced: {},
  // More plate samples, stronger consistency with half-size flow, slower encode.
  quality: {
    preset: 'quality',
    background: { samples: 60 },
    temporal: { strength: 0.7, flowScale: 0.5 },
    encode: { preset: 'slow', crf: 16 },
  },
};

export function presetConfig(name: PresetName): PipelineConfig {
  return deepMerge(structuredClone(BALANCED), PRESET_DELTAS[name]) as PipelineConfig;
}

/** Resolves a preset plus overrides into a validated config; bad values throw one ReshootError listing every problem. */
export function resolveConfig(overrides: PipelineOverrides = {}, preset: PresetName = (overrides.preset as PresetName) ?? 'balanced'): PipelineConfig {
  if (!PRESETS.includes(preset)) throw new ReshootError(`unknown preset "${preset}" (choose ${PRESETS.join(', ')})`);
  const merged = deepMerge(presetConfig(preset), { ...overrides, preset });
  const parsed = PipelineConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new ReshootError(`invalid pipeline config: ${problems.join('; ')}`);
  }
  return parsed.data;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = k in base ? deepMerge(base[k], v) : v;
  }
  return out;
}

