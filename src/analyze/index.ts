// Public surface of the analysis layer (torchsave/analyze): diff two checkpoints, statistics of a
// tensor, statistics over a run of training dumps. Browser-safe; works on lazy sources.
export { diffCheckpoints, diffCheckpointsSync, DEFAULT_DIFF_TOLERANCE } from "./diff.js";
export type { DiffOptions, DiffReport, DiffEntry, DiffValue, DiffPrefix } from "./diff.js";
export { tensorStats, tensorStatsSync, statsOfBytes, histogramOfBytes } from "./tensor-stats.js";
export type { TensorStats, Histogram } from "./tensor-stats.js";
export { runStats, numberInName } from "./run-stats.js";
export { DEFAULT_SPIKE_Z, DEFAULT_RATIO_BAND } from "./run-types.js";
export type {
  RunSource, RunStatsOptions, RunRecord, RunStep, RunSummary, RunFinding, FindingKind, TensorStepStats, GroupStepStats,
} from "./run-types.js";
export { groupDump, stepOf, TENSOR_GROUPS } from "./groups.js";
export type { TensorGroup, GroupedArray, DumpContents } from "./groups.js";
export { leavesOf } from "./leaves.js";
export type { Leaf, PlainValue } from "./leaves.js";
export { nameOptimizerState, stripWrappers, WRAPPER_PREFIXES } from "./names.js";
export type { OptimizerNames, ParamInfo } from "./names.js";
export { compareArrays } from "./compare-arrays.js";
export type { ArrayComparison, Tolerance } from "./compare-arrays.js";
export { robustZ } from "./findings.js";
export { runSourceFromBytes } from "./sources.js";
