/** The pipeline: the one place that knows the order of the stages (see docs/ARCHITECTURE.md). */
export { processVideo, plateSamples, type ProcessOptions, type ProcessResult } from './process.js';
export { resolveConfig, presetConfig, PipelineConfigSchema, PRESETS, type PipelineConfig, type PipelineOverrides, type PresetName } from './config.js';
export { stageReporter, type PipelineEvent, type PipelineListener, type ProgressEvent, type StageEvent, type StageName } from './events.js';
export { RunFolder, RUN_SCHEMA, type RunManifest, type SegmentRecord, type StepRecord } from './run-folder.js';
export { collectVersions } from './versions.js';
