/** The shapes `runStats` yields: one record per step, then a summary with the findings. */
import type { KeyPath } from "../errors.js";
import type { TorchValue } from "../torch/index.js";
import type { TensorGroup } from "./groups.js";
import type { Histogram, TensorStats } from "./tensor-stats.js";

/** One dump of a run, opened on demand. */
export interface RunSource {
  /** The file name (its number orders the run when the dumps hold no step value). */
  readonly name: string;
  /** Reads the dump (lazily where the format allows). `close` is called when its tensors are no longer needed. */
  open(): Promise<{ readonly root: TorchValue; close?(): void }>;
}

/** Options of `runStats`. */
export interface RunStatsOptions {
  /**
   * How steps are ordered. "auto" (default): by the step value inside each dump
   * (`step`/`global_step`/…/`epoch`) when every dump has one, else by the number in the file name,
   * else as given; it opens each dump once beforehand to read the step (cheap for torch zip files,
   * a second parse for pickle and JSON dumps). "name": by the number in the file name, no pre-pass.
   * "given": as the sources come.
   */
  readonly order?: "auto" | "name" | "given";
  /** Bins of a histogram of each tensor at each step (0, the default: none). */
  readonly histogramBins?: number;
  /** Robust z-score above which a global grad norm is a spike. Default {@link DEFAULT_SPIKE_Z}. */
  readonly spikeZ?: number;
  /** update/norm ratios outside [lo, hi] (median over the run, per parameter) are reported. Default {@link DEFAULT_RATIO_BAND}. */
  readonly ratioBand?: readonly [number, number];
}

/** A robust z-score of 3.5 (Iglewicz and Hoaglin's outlier cut). */
export const DEFAULT_SPIKE_Z = 3.5;
/** Two decades either side of the usual 1e-3 update/parameter ratio. */
export const DEFAULT_RATIO_BAND: readonly [number, number] = [1e-5, 1e-1];

/** One tensor at one step. */
export interface TensorStepStats extends TensorStats {
  /** The key path in the dump, as `torchsave tensors --json` spells it. */
  readonly path: KeyPath;
  readonly group: TensorGroup;
  /** The series name: `fc1.weight`, or `fc1.weight.exp_avg` for named optimizer state. */
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  /** ‖xₜ − xₜ₋₁‖₂ against the previous step (null at the first step or when the shape changed; NaN when either step holds NaN/Inf here). */
  readonly update: number | null;
  /** update / ‖xₜ₋₁‖₂ (null when undefined). */
  readonly ratio: number | null;
  readonly histogram?: Histogram;
  /** Why there are no statistics (complex, quantized, sparse…): the numbers are then null/0. */
  readonly unsupported?: string;
}

/** Per group at one step. */
export interface GroupStepStats {
  readonly tensors: number;
  readonly numel: number;
  /** √Σ‖x‖₂² over the group's tensors. */
  readonly norm: number;
  /** √Σ update² over the tensors with an update (null at the first step). */
  readonly update: number | null;
  readonly nan: number;
  readonly inf: number;
}

export interface RunStep {
  readonly kind: "step";
  /** Position in the run, from 0. */
  readonly index: number;
  readonly file: string;
  /** The dump's step value, else the number in its file name, else the index. */
  readonly step: number;
  readonly loss: number | null;
  /** √Σ‖g‖₂² over the gradients (null when the dump has none). */
  readonly gradNorm: number | null;
  readonly groups: Readonly<Partial<Record<TensorGroup, GroupStepStats>>>;
  readonly tensors: TensorStepStats[];
}

export type FindingKind = "non-finite" | "grad-norm-spike" | "zero-grad" | "frozen-param" | "update-ratio" | "order";

export interface RunFinding {
  readonly kind: FindingKind;
  readonly severity: "error" | "warning" | "info";
  readonly message: string;
  readonly step?: number;
  /** Series names involved (`fc1.weight`, …), group-qualified for grads (`grad:fc1.weight`). */
  readonly names?: string[];
  readonly value?: number;
}

export interface RunSummary {
  readonly kind: "summary";
  readonly steps: number;
  /** The first step holding NaN/Inf (in any tensor or the loss) and the tensors that hold it. */
  readonly firstNonFinite: { readonly step: number; readonly paths: KeyPath[] } | null;
  /** The last step before the first non-finite one (the last step when all are finite). */
  readonly lastHealthyStep: number | null;
  readonly findings: RunFinding[];
  /** How the run was ordered and named, for people. */
  readonly notes: string[];
}

export type RunRecord = RunStep | RunSummary;
