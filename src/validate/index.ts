// Public surface of the validator: integrity, security, weights_only emulation, training-state
// sanity, and sanitize. The validator returns reports; it never throws.

// Entry points.
export { validateCheckpoint, validateCheckpointAsync, MAX_ASYNC_BUFFER } from "./validate.js";
export type { ValidationReport } from "./validate.js";
export { DEFAULT_VALIDATE_MAX_INFLATED, DEFAULT_MAX_NESTED_DEPTH, DEFAULT_MAX_GATHER_BYTES } from "./context.js";
export type { ValidateOptions, ImportedGlobal, TensorValueStats } from "./context.js";

// Findings and the rules table.
export { SEVERITY_RANK, DEFAULT_MAX_FINDINGS_PER_CODE, countSeverities, createFindingSink, hasFindingsAtOrAbove } from "./finding.js";
export type { FindingSink } from "./finding.js";
export type { Finding, FindingLocation, Severity, SeverityCounts } from "./finding.js";
export { RULES, RULES_BY_CODE } from "./rules.js";
export type { FindingCode, RuleInfo, RuleCategory } from "./rules.js";
export { QUIRK_FINDINGS } from "./validate-zip.js";

// Classifying imports.
export { classifyGlobal, TORCH_LOAD_FROM_BYTES } from "./classify-global.js";
export type { GlobalClass, GlobalVerdict } from "./classify-global.js";
export { DANGEROUS_GLOBALS, findDangerous } from "./dangerous-globals.js";
export type { DangerousGlobal, DangerKind, ScannerSource } from "./dangerous-globals.js";
export { PLAIN_DATA_GLOBALS, SAFE_BUILTINS, VALUE_BUILTINS } from "./plain-data-globals.js";
export type { PlainDataGlobal } from "./plain-data-globals.js";
export { python3Name } from "./compat-names.js";
export { admittedBy, parseAllowFile, parseAllowRule, DEFAULT_ALLOW_LIST } from "./allow-list.js";
export type { AllowList, AllowRule, AllowTarget } from "./allow-list.js";
export { resolveGlobal, MODULE_ALIASES } from "./resolve-name.js";
export type { ResolvedGlobal } from "./resolve-name.js";

// weights_only emulation.
export {
  WEIGHTS_ONLY_POLICIES, WEIGHTS_ONLY_ALLOWED, TORCH_TARGETS, DEFAULT_TORCH_TARGET, isTorchTarget, weightsOnlyAllows, torchHasDtype, withSafeGlobals,
} from "./weights-only-policy.js";
export type { WeightsOnlyPolicy, WeightsOnlyVersion, TorchTarget } from "./weights-only-policy.js";
export type { WeightsOnlyVerdict, WeightsOnlyBlocker } from "./weights-only.js";

// The pickle scanner (usable alone: every import of a pickle, without decoding it).
export { scanPickle, DEFAULT_MAX_SCAN_OPS, looksLikePickle } from "./scan-pickle.js";
export type { PickleScan, ScanPickleOptions, GlobalUse, GlobalSpelling, GlobalMutation, StorageRef, NestedBytes, ScanError } from "./scan-pickle.js";

// Values.
export { countNonFinite, nonFiniteCounter } from "./nonfinite.js";
export type { NonFiniteCounts } from "./nonfinite.js";

// Sanitize.
export { sanitize, DEFAULT_SANITIZE_MAX_DEPTH } from "./sanitize.js";
export type { SanitizeResult, SanitizeChange, SanitizeRefusal, SanitizeOptions } from "./sanitize.js";
