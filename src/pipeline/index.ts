/** The pipeline: the one place that knows the order of the stages (see docs/ARCHITECTURE.md). */
export { processVideo, mapTrack, type ProcessOptions, type ProcessResult } from './process.js';
export { plateSamples } from '../decompose/index.js';
export { StepRunner, keyOf, type Step, type StepContext } from './steps.js';
export { runChain, perFrame, type ChainFrame, type FrameStage } from './chain.js';
export { resolveConfig, presetConfig, PipelineConfigSchema, PRESETS, type PipelineConfig, type PipelineOverrides, type PresetName } from './config.js';
export { STAGES, SEGMENT_STAGES, STEP_NAMES, stageReporter, type PipelineEvent, type PipelineListener, type ProgressEvent, type StageEvent, type StageName } from './events.js';
export { defaultRunDir, segmentWorkDir, RunFolder, RUN_FILES, RUN_SCHEMA, type RunManifest, type SegmentRecord, type StepRecord } from './run-folder.js';
export { collectVersions } from './versions.js';
