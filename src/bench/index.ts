/**
 * The bench harness: GPU memory sampler, validation row columns and budgets,
 * the validation runner with its pluggable RunConfiguration, CSV in/out,
 * comparison of two runs or of a run with a baseline, the HTML report and the environment sidecar.
 */
export * from './columns.js';
export * from './budgets.js';
export * from './gpu-sampler.js';
export { processTree, residentBytes, startRssSampler, type RssPeaks } from '../util/process-tree.js';
export * from './csv.js';
export * from './environment.js';
export * from './runner.js';
export * from './stabilize-run.js';
export { compareRows, noiseBand, formatComparison, COMPARED_METRICS, type MetricChange } from './compare.js';
export {
  BASELINE_SUITES,
  STABILIZATION_SUITE,
  TEMPORAL_SUITE,
  VALIDATION_SUITE,
  bandWidth,
  baselinePath,
  compareWithBaseline,
  formatBaselineReport,
  readBaseline,
  suiteFor,
  type Band,
  type BaselineCheck,
  type BaselineReport,
  type BaselineSuite,
  type BaselineVerdict,
} from './baseline.js';
export {
  reportHtml,
  validationFigures,
  timeFigure,
  gpuFigure,
  flickerFigure,
  feetFigure,
  stabilizationFigure,
  kernelsFigure,
  summaryTable,
  environmentTable,
  metricFigure,
  reportMetrics,
  checkCell,
  type NamedFigure,
  type ReportMetric,
} from './report.js';
export * from './validate.js';
